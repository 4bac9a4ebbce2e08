/* BPF objects by their kernel ID, with or without CAP_SYS_ADMIN. */
#ifndef RP_LIB_BPFOBJ_H
#define RP_LIB_BPFOBJ_H

#include <stdint.h>

/* The kernel's ID of the BPF map or program behind fd, 0 if it cannot be
 * read. */
uint32_t bpfobj_id(int fd);

/* A descriptor of the map with this ID (the caller closes it), or -errno.
 * Opening by ID needs CAP_SYS_ADMIN, which the daemon's sandbox lacks; a
 * pin opens with CAP_BPF.  So when the ID is refused with EPERM and pin is
 * not NULL, the pin is opened instead, and used only if the kernel says it
 * holds that very map (a pin's name proves nothing). */
int bpfobj_map_by_id(uint32_t id, const char *pin);

#endif
