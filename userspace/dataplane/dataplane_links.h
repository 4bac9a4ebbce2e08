/* SPDX-License-Identifier: GPL-2.0 */
/* dataplane_links.h — the attachments of the programs (inside the dataplane
 * folder only): pinned bpf_links (XDP, tcx) and, on kernels without tcx,
 * cls_bpf filters on the clsact qdisc. */
#ifndef RP_DATAPLANE_LINKS_H
#define RP_DATAPLANE_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/diag.h"

enum att_kind { ATT_XDP_UPLINK, ATT_XDP_CLOUD, ATT_TC_TUNNEL, ATT_TC_UPLINK_OUT, ATT_TC_CLOUD };

struct att {
	enum att_kind kind;
	const char *ifname;
	unsigned ifindex;
	int prog_fd;
	unsigned prog_id;	/* the link already running it needs no update */
};

/* The BPF filesystem mounted on /sys/fs/bpf, and RP_PIN_DIR in it. */
int dp_ensure_bpffs(struct diag *d);
/* Add an attachment of k on ifname to v (once per kind and interface); an
 * interface not present is an error only if required. */
int dp_add_att(struct att *v, size_t *n, enum att_kind k, const char *ifname, int prog_fd,
	       unsigned prog_id, bool required, struct diag *d);
/* Attach a, or swap the program of its pinned link (keep: leave a live one). */
int dp_attach_one(const struct att *a, bool keep, struct diag *d);
/* Detach the links and filters of interfaces that are not in v. */
void dp_detach_stale(const struct att *v, size_t n);
/* Remove the cls_bpf filter the pin named "cls_<tcin|tcout>_<ifname>" stands for. */
void dp_cls_detach(const char *pin);

#endif
