// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lib/bpfobj.h"

uint32_t bpfobj_id(int fd)
{
	/* bpf_map_info and bpf_prog_info both begin with type, then id; the
	 * kernel fills what fits in the length it is given. */
	__u32 head[2] = { 0, 0 }, len = sizeof(head);

	return bpf_obj_get_info_by_fd(fd, head, &len) ? 0 : head[1];
}

int bpfobj_map_by_id(uint32_t id, const char *pin)
{
	int fd = bpf_map_get_fd_by_id(id);

	if (fd < 0 && errno == EPERM && pin) {
		fd = bpf_obj_get(pin);
		if (fd >= 0 && bpfobj_id(fd) != id) {
			close(fd);
			fd = -1;
			errno = EPERM;
		}
	}
	return fd < 0 ? -errno : fd;
}
