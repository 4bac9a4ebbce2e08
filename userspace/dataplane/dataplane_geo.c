// SPDX-License-Identifier: GPL-2.0
/* dataplane_geo.c — is the configured geo database the one already loaded?
 * (dataplane.h: dataplane_geo_unchanged(), dataplane_geo_record()).
 *
 * Reading and parsing the whole Tor database costs far more than the rest
 * of a small change.  When the database is loaded, a fingerprint of its
 * files is written to <state_dir>/dataplane/geo.fp: per file its path,
 * device, inode, size, modification and change times; the format; the BPF
 * object of this build; the rempart executable that parsed them (device,
 * inode, time, size); and the hash of the ranges that went into rp_geo.
 * The next apply skips reading the files when the fingerprint is the same
 * and the pinned rp_geo still holds a database with that hash.  A changed
 * file (any write moves its change time), another format, another build,
 * or a dataplane taken down and rebuilt: the files are read again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dataplane/dataplane.h"
#include "dataplane/dataplane_maps.h"
#include "geo/geo_bpf.h"
#include "lib/fileutil.h"
#include "lib/fnv.h"
#include "lib/log.h"
#include "lib/statedir.h"
#include "rempart.skel.h"

uint64_t dp_obj_tag(void)
{
	static uint64_t tag;
	size_t sz = 0;
	const unsigned char *b;

	if (tag)
		return tag;
	b = rempart__elf_bytes(&sz);
	tag = fnv1a(FNV1A_BASIS, b, sz);
	return tag;
}

static int fp_path(char buf[PATH_MAX], const struct rp_config *cfg)
{
	if (!cfg->state_dir)
		return -ENOENT;
	return statedir_path(buf, cfg->state_dir, SD_GEO_FP);
}

static int fp_file(char *buf, size_t len, const char *path)
{
	struct stat st;

	if (!path) {
		snprintf(buf, len, "-\n");
		return 0;
	}
	if (stat(path, &st))
		return -errno;
	snprintf(buf, len, "%s %llu %llu %lld %lld.%09ld %lld.%09ld\n", path, (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return 0;
}

/* The fingerprint taken before the files were read (dataplane_geo_unchanged()
 * runs before geo_load()): a file changed while being read then fails the
 * next comparison, never passes it. */
static char fp_before[8800];

/* The fingerprint text of cfg's database files, without the hash line. */
static int fingerprint(const struct rp_config *cfg, char *buf, size_t len)
{
	char a[4200], b[4200];
	struct stat exe;
	int err = fp_file(a, sizeof(a), cfg->geo_ipv4);

	if (!err)
		err = fp_file(b, sizeof(b), cfg->geo_ipv6);
	if (err)
		return err;
	/* the program that parsed the files: a new parser reads them again */
	if (stat("/proc/self/exe", &exe))
		memset(&exe, 0, sizeof(exe));
	snprintf(buf, len, "rempart geo fingerprint 2\nobject %016llx\nparser %llu %llu %lld.%09ld %lld\n"
		 "format %d\n%s%s", (unsigned long long)dp_obj_tag(), (unsigned long long)exe.st_dev,
		 (unsigned long long)exe.st_ino, (long long)exe.st_mtim.tv_sec, exe.st_mtim.tv_nsec,
		 (long long)exe.st_size, (int)cfg->geo_format, a, b);
	return 0;
}

bool dataplane_geo_unchanged(const struct rp_config *cfg)
{
	char path[PATH_MAX], want[8800], have[9000], *h;
	struct geo_bpf_view v;
	unsigned long long hash;
	bool same = false;
	ssize_t n;
	int fd, outer;

	fp_before[0] = 0;
	if ((!cfg->geo_ipv4 && !cfg->geo_ipv6) || fp_path(path, cfg) ||
	    fingerprint(cfg, want, sizeof(want)))
		return false;
	memcpy(fp_before, want, sizeof(fp_before));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, have, sizeof(have) - 1);
	close(fd);
	if (n <= 0)
		return false;
	have[n] = 0;
	if (strncmp(have, want, strlen(want)))
		return false;
	h = have + strlen(want);
	if (sscanf(h, "hash %llx", &hash) != 1)
		return false;
	outer = geo_bpf_open_pinned();
	if (outer < 0)
		return false;
	if (!geo_bpf_view_open(outer, &v)) {
		same = v.n > RP_GEO_H_HASH && v.w[RP_GEO_H_HASH] == hash;
		geo_bpf_view_close(&v);
	}
	close(outer);
	return same;
}

void dataplane_geo_record(const struct rp_config *cfg, const struct geo_db *geo)
{
	char path[PATH_MAX], dir[PATH_MAX], text[8900];
	size_t len;
	int err;

	if (fp_path(path, cfg))
		return;
	if (fp_before[0])
		snprintf(text, sizeof(text) - 64, "%s", fp_before);
	else if (fingerprint(cfg, text, sizeof(text) - 64))
		return;
	len = strlen(text);
	snprintf(text + len, sizeof(text) - len, "hash %016llx\n", (unsigned long long)geo_db_hash(geo));
	err = statedir_path(dir, cfg->state_dir, SD_DATAPLANE_DIR);
	if (!err)
		err = mkdir_p(dir, 0700);
	if (!err)
		err = file_replace(path, &(struct iovec){ text, strlen(text) }, 1, 0600, false);
	if (err)
		pr_debug("geo: cannot record the fingerprint in %s: %s (the next apply reads the files)",
			 path, strerror(-err));
}
