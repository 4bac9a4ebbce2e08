/* load_alone.h — load one program of a BPF object alone (every other
 * program's autoload off) with its verifier log at LEVEL in log, then close
 * the object: tests/bpf/test_verifier.c and the verifier61 VM's init
 * (tests/verifier61/init.c).  0 or libbpf's negative error. */
#ifndef REMPART_TESTS_LOAD_ALONE_H
#define REMPART_TESTS_LOAD_ALONE_H
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>

static inline int load_alone(struct bpf_object *obj, const char *name, int level, char *log,
			     size_t len)
{
	struct bpf_program *p;
	int err;

	if (!obj)
		return -errno;
	log[0] = 0;
	bpf_object__for_each_program(p, obj) {
		if (strcmp(bpf_program__name(p), name)) {
			bpf_program__set_autoload(p, false);
			continue;
		}
		bpf_program__set_log_level(p, level);
		bpf_program__set_log_buf(p, log, len);
	}
	err = bpf_object__load(obj);
	bpf_object__close(obj);
	return err;
}
#endif
