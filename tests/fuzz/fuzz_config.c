// SPDX-License-Identifier: GPL-2.0
/* fuzz_config.c — libFuzzer harness for the config loader.
 *
 * The input is rempart.ini, then a line "%%", then one tenant file; both are
 * written into a private temporary directory (with a valid key file at
 * keys/t.key, mode 0600, so the key-reading path runs too, and a geo.csv)
 * and loaded with
 * config_load(), then freed.  ASan/UBSan and the leak checker do the rest.
 * Build: make tests (build/fuzz/fuzz_config); run: tests/fuzz/run.sh. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config/config.h"
#include "lib/diag.h"
#include "lib/fileutil.h"
#include "lib/keys.h"

static char dir[64];
static char main_path[128], tenant_path[128];

static void write_file(const char *path, const uint8_t *data, size_t len)
{
	if (file_write_all(path, data, len, 0600))
		abort();
}

static void setup(void)
{
	char path[128];
	uint8_t key[32];

	snprintf(dir, sizeof(dir), "/tmp/rempart-fuzz.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/tenants.d", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/keys", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/keys/t.key", dir);
	key_generate_private(key);
	unlink(path);
	key_file_write(path, key);
	explicit_bzero(key, sizeof(key));
	snprintf(path, sizeof(path), "%s/geo.csv", dir);	/* the seeds name it */
	write_file(path, (const uint8_t *)"198.18.0.0/24,FR\n", 17);
	snprintf(main_path, sizeof(main_path), "%s/rempart.ini", dir);
	snprintf(tenant_path, sizeof(tenant_path), "%s/tenants.d/t.ini", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n%%\n";
	const uint8_t *tenant = NULL;
	size_t main_len = size;
	struct rp_config cfg;
	struct diag d = { 0 };

	if (!dir[0])
		setup();
	for (size_t i = 0; i + sizeof(sep) - 1 <= size; i++)
		if (!memcmp(data + i, sep, sizeof(sep) - 1)) {
			main_len = i + 1;
			tenant = data + i + sizeof(sep) - 1;
			break;
		}
	write_file(main_path, data, main_len);
	if (tenant)
		write_file(tenant_path, tenant, size - (tenant - data));
	else
		unlink(tenant_path);
	/* The parity of the size picks whether key files are read: both run. */
	if (!config_load(dir, (size & 1) ? RP_CFG_SKIP_KEY_FILES : 0, &cfg, &d))
		config_free(&cfg);
	diag_free(&d);
	return 0;
}
