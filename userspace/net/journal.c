// SPDX-License-Identifier: GPL-2.0
/* journal.c — the undo journal of an apply: every change is recorded as
 * it is made; if a later step fails, net_rollback() undoes them in reverse,
 * so the system is left as it was.  And the intent record: what an apply is
 * about to create is written into net.state before it is made, so that an
 * apply killed half-way leaves nothing `down` does not know about. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/netlink.h"
#include "kernel/wg/wg.h"
#include "lib/fileutil.h"
#include "lib/statedir.h"
#include "net/net_priv.h"
#include "net/reconcile.h"

struct undo *net_journal(struct apply *a, enum undo_kind kind)
{
	if (a->n_undo == a->cap_undo) {
		size_t cap = a->cap_undo ? a->cap_undo * 2 : 64;
		struct undo *v = realloc(a->undo, cap * sizeof(*v));

		if (!v)
			return NULL;
		a->undo = v;
		a->cap_undo = cap;
	}
	memset(&a->undo[a->n_undo], 0, sizeof(a->undo[0]));
	a->undo[a->n_undo].kind = kind;
	return &a->undo[a->n_undo++];
}

void net_rollback(struct apply *a)
{
	/* Tell every supervisor we started to stop first: they exit in
	 * parallel instead of one after the other. */
	for (size_t i = 0; a->wg->stop_async && i < a->n_undo; i++)
		if (a->undo[i].kind == U_WG_STOP || a->undo[i].kind == U_WG_DESTROY)
			a->wg->stop_async(a->undo[i].ifname, a->cfg->state_dir);
	while (a->n_undo) {
		struct undo *u = &a->undo[--a->n_undo];

		switch (u->kind) {
		case U_LINK_DEL:
			nl_link_del(&a->nl, u->ifindex);
			break;
		case U_LINK_DOWN:
			nl_link_set_down(&a->nl, u->ifindex);
			break;
		case U_WG_DESTROY:
			a->wg->destroy(u->ifname, a->cfg->state_dir);
			break;
		case U_WG_STOP:
			a->wg->stop(u->ifname, a->cfg->state_dir);
			break;
		case U_WG_RESTORE:
			wg_device_make_restore(u->dev);
			a->wg->set(u->dev);
			break;
		case U_ADDR_DEL:
			nl_addr_del(&a->nl, u->ifindex, &u->p);
			break;
		case U_ADDR_ADD:
			nl_addr_add(&a->nl, u->ifindex, &u->p);
			break;
		case U_ROUTE_DEL:
			nl_route_del(&a->nl, &u->route);
			break;
		case U_ROUTE_ADD:
			nl_route_add(&a->nl, &u->route);
			break;
		case U_RULE_DEL:
			nl_rule_del(&a->nl, &u->rule);
			break;
		case U_RULE_ADD:
			nl_rule_add(&a->nl, &u->rule);
			break;
		case U_SYSCTL:
			file_write_all(u->path, u->val, strlen(u->val), 0644);
			break;
		}
	}
}

void net_journal_free(struct apply *a)
{
	for (size_t i = 0; i < a->n_undo; i++)
		wg_device_wipe_free(a->undo[i].dev);
	free(a->undo);
	a->undo = NULL;
	a->n_undo = a->cap_undo = 0;
}

int net_intend(struct apply *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (net_state_has(&a->old, "%s", buf))
		return 0;
	a->intent_dirty = true;
	return net_state_add(&a->old, "%s", buf);
}

int net_intent_flush(struct apply *a)
{
	char path[PATH_MAX];
	int err;

	if (!a->intent_dirty)
		return 0;
	err = net_state_save(&a->old, a->cfg->state_dir);
	if (err) {
		statedir_path(path, a->cfg->state_dir, SD_NET_STATE);
		diag_add(a->d, "cannot write %s before changing the system: %s", path,
			 strerror(-err));
		return err;
	}
	a->intent_dirty = false;
	return 0;
}
