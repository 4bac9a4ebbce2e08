// SPDX-License-Identifier: GPL-2.0
/* cmd_keygen.c — `rempart keygen`: print a new private key, as `wg genkey`. */
#include <stdio.h>
#include <string.h>
#include "cli/commands.h"
#include "lib/keys.h"

enum { O_PUBLIC = 256, O_PSK, O_JSON };

static const struct cli_opt opts[] = {
	{ "public", O_PUBLIC, NULL, NULL, "print its public key on a second line" },
	{ "psk", O_PSK, NULL, NULL, "a preshared key instead (as `wg genpsk`)" },
	{ "json", O_JSON, NULL, NULL, "{\"private_key\", \"public_key\"} or {\"preshared_key\"}" },
	{ 0 }
};

static int cmd_keygen(int argc, char **argv, struct globals *g);

const struct cli_cmd def_keygen = {
	.name = "keygen",
	.summary = "Print a new private key",
	.text = "Print a new WireGuard private key (base64, as `wg genkey`).  Redirect it\n"
		"into a file of mode 0600:\n"
		"  (umask 077; rempart keygen > /etc/rempart/keys/TENANT.key)\n",
	.opts = opts,
	.fn = cmd_keygen,
};

static int cmd_keygen(int argc, char **argv, struct globals *g)
{
	char b64[RP_KEY_B64_LEN + 1], pb64[RP_KEY_B64_LEN + 1];
	uint8_t key[32], pub[32];
	bool public = false, psk = false, json = false;
	struct cli_parse p;
	int k;

	cli_begin(&p, argc, argv, g);
	while ((k = cli_next(&p)) > 0)
		switch (k) {
		case O_PUBLIC: public = true; break;
		case O_PSK: psk = true; break;
		case O_JSON: json = true; break;
		}
	if (k < 0)
		return cli_status(k);
	if (cli_args(&p, 0, 0))
		return RP_EXIT_CONFIG;
	if (public && psk) {
		fprintf(stderr, "rempart: keygen: --public and --psk exclude each other\n");
		return RP_EXIT_CONFIG;
	}
	if (psk)
		key_generate_preshared(key);
	else
		key_generate_private(key);
	key_to_base64(key, b64);
	key_public_from_private(pub, key);
	key_to_base64(pub, pb64);
	explicit_bzero(key, sizeof(key));
	if (json) {
		/* printed here and not through print_json(): the key's copy in
		 * json-c's buffer would not be wiped */
		if (psk)
			printf("{ \"preshared_key\": \"%s\" }\n", b64);
		else
			printf("{ \"private_key\": \"%s\", \"public_key\": \"%s\" }\n", b64, pb64);
	} else {
		printf("%s\n", b64);
		if (public)
			printf("%s\n", pb64);
	}
	explicit_bzero(b64, sizeof(b64));
	if (fflush(stdout) || ferror(stdout)) {
		cli_err(g, "stdout: %m");
		return RP_EXIT_RUNTIME;
	}
	return RP_EXIT_OK;
}
