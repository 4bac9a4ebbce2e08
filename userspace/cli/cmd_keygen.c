// SPDX-License-Identifier: GPL-2.0
/* cmd_keygen.c — `rempart keygen`: print a new private key, as `wg genkey`. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "lib/keys.h"

static const char usage[] =
	"Usage: rempart keygen [--public | --psk]\n\n"
	"Print a new WireGuard private key (base64, as `wg genkey`).  With --public,\n"
	"print its public key on a second line; with --psk, print a preshared key\n"
	"instead (as `wg genpsk`).  Redirect it into a file of mode 0600:\n"
	"  (umask 077; rempart keygen > /etc/rempart/keys/TENANT.key)\n";

int cmd_keygen(int argc, char **argv, const struct globals *g)
{
	char b64[RP_KEY_B64_LEN + 1];
	uint8_t key[32], pub[32];
	bool public = false, psk = false;

	if (want_help(argc, argv, usage))
		return RP_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--public")) {
			public = true;
		} else if (!strcmp(argv[i], "--psk")) {
			psk = true;
		} else {
			fprintf(stderr, "rempart: keygen: unknown argument '%s' (try --help)\n", argv[i]);
			return RP_EXIT_CONFIG;
		}
	}
	if (public && psk) {
		fprintf(stderr, "rempart: keygen: --public and --psk exclude each other\n");
		return RP_EXIT_CONFIG;
	}
	if (psk)
		key_generate_preshared(key);
	else
		key_generate_private(key);
	key_to_base64(key, b64);
	printf("%s\n", b64);
	if (public) {
		key_public_from_private(pub, key);
		key_to_base64(pub, b64);
		printf("%s\n", b64);
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(b64, sizeof(b64));
	if (fflush(stdout) || ferror(stdout)) {
		perror("rempart: keygen: stdout");
		return RP_EXIT_RUNTIME;
	}
	return RP_EXIT_OK;
}
