// SPDX-License-Identifier: GPL-2.0
/* geo_mmdb.c — a MaxMind DB file through libmaxminddb.  The whole search
 * tree is walked with MMDB_read_node; every data record becomes one range
 * whose country is country.iso_code, else registered_country.iso_code (the
 * same rule as the CSV format), else none.  IPv6 ranges come from the whole
 * tree (the IPv4 aliases ::ffff:0:0/96 and 2002::/16 included, as
 * libmaxminddb answers them); IPv4 ranges from the subtree libmaxminddb uses
 * for IPv4 lookups (::/96 in an IPv6 tree). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <maxminddb.h>
#include "geo/geo_int.h"

#define CACHE_SLOTS 8192

struct walk {
	MMDB_s *db;
	uint64_t visits, max_visits;	/* aliasing bound: a DAG could hide 2^128 paths */
	struct geo_acc *acc;
	const char *path;
	struct diag *d;
	struct { uint32_t off; uint16_t cc; bool used; } cache[CACHE_SLOTS];
};

static int entry_cc(struct walk *w, MMDB_entry_s *e, uint16_t *cc)
{
	static const char *const paths[2][3] = {
		{ "country", "iso_code", NULL },
		{ "registered_country", "iso_code", NULL },
	};
	unsigned h = (e->offset * 2654435761u) % CACHE_SLOTS;
	MMDB_entry_data_s v;
	char code[3];

	for (unsigned i = 0; i < CACHE_SLOTS && w->cache[h].used; i++, h = (h + 1) % CACHE_SLOTS)
		if (w->cache[h].off == e->offset) {
			*cc = w->cache[h].cc;
			return 0;
		}
	*cc = RP_CC_NONE;
	for (int p = 0; p < 2; p++) {
		int st = MMDB_aget_value(e, &v, paths[p]);

		if (st != MMDB_SUCCESS && st != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
			diag_add(w->d, "%s: data record at offset %u: %s", w->path, e->offset,
				 MMDB_strerror(st));
			return -EINVAL;
		}
		if (st != MMDB_SUCCESS || !v.has_data || v.type != MMDB_DATA_TYPE_UTF8_STRING)
			continue;
		if (v.data_size != 2) {
			diag_add(w->d, "%s: data record at offset %u: iso_code of %u bytes", w->path,
				 e->offset, v.data_size);
			return -EINVAL;
		}
		code[0] = v.utf8_string[0];
		code[1] = v.utf8_string[1];
		code[2] = 0;
		if (geo_cc_parse(code, cc)) {
			diag_add(w->d, "%s: data record at offset %u: '%s' is not a country code",
				 w->path, e->offset, code);
			return -EINVAL;
		}
		break;
	}
	if (!w->cache[h].used)
		w->cache[h].used = true, w->cache[h].off = e->offset, w->cache[h].cc = *cc;
	return 0;
}

struct frame {
	uint32_t node;
	uint8_t depth;
	u128 value;	/* the prefix's bits, left-aligned to depth */
};

/* Walk the tree below node (at depth, prefix value), for an address of
 * `bits` bits, emitting ranges into family fam. */
static int walk(struct walk *w, uint32_t node, int depth, u128 value, int bits, int fam)
{
	struct frame *st;
	size_t n = 0;
	int err = 0;

	st = malloc(sizeof(*st) * (bits + 2) * 2);
	if (!st)
		return -ENOMEM;
	st[n++] = (struct frame){ node, depth, value };
	while (n && !err) {
		struct frame f = st[--n];
		MMDB_search_node_s sn;
		int rc;

		if (++w->visits > w->max_visits) {
			diag_add(w->d, "%s: the search tree reaches its %u nodes by more than %llu paths (corrupt or looping aliases)",
				 w->path, w->db->metadata.node_count, (unsigned long long)w->max_visits);
			err = -EINVAL;
			break;
		}
		rc = MMDB_read_node(w->db, f.node, &sn);
		if (rc != MMDB_SUCCESS) {
			diag_add(w->d, "%s: node %u: %s", w->path, f.node, MMDB_strerror(rc));
			err = -EINVAL;
			break;
		}
		for (int side = 1; side >= 0; side--) {
			uint8_t type = side ? sn.right_record_type : sn.left_record_type;
			uint64_t rec = side ? sn.right_record : sn.left_record;
			MMDB_entry_s *e = side ? &sn.right_record_entry : &sn.left_record_entry;
			int d = f.depth + 1;
			u128 v = f.value | ((u128)side << (bits - d));
			u128 span = d >= bits ? 0 : (((u128)1 << (bits - d)) - 1);
			uint16_t cc;

			switch (type) {
			case MMDB_RECORD_TYPE_SEARCH_NODE:
				if (d >= bits) {
					diag_add(w->d, "%s: node %u: tree deeper than %d bits", w->path,
						 f.node, bits);
					err = -EINVAL;
					break;
				}
				st[n++] = (struct frame){ (uint32_t)rec, d, v };
				break;
			case MMDB_RECORD_TYPE_EMPTY:
				break;
			case MMDB_RECORD_TYPE_DATA:
				err = entry_cc(w, e, &cc);
				if (!err)
					err = geo_acc_add(w->acc, fam, v, v | span, cc);
				break;
			default:
				diag_add(w->d, "%s: node %u: invalid record %llu", w->path, f.node,
					 (unsigned long long)rec);
				err = -EINVAL;
			}
			if (err)
				break;
		}
	}
	free(st);
	return err;
}

/* The IPv4 subtree of an IPv6 tree: follow 96 zero bits from the root. */
static int walk_v4_in_v6(struct walk *w)
{
	uint32_t node = 0;

	for (int depth = 0; depth < 96; depth++) {
		MMDB_search_node_s sn;
		int rc = MMDB_read_node(w->db, node, &sn);
		uint16_t cc;
		int err;

		if (rc != MMDB_SUCCESS) {
			diag_add(w->d, "%s: node %u: %s", w->path, node, MMDB_strerror(rc));
			return -EINVAL;
		}
		switch (sn.left_record_type) {
		case MMDB_RECORD_TYPE_SEARCH_NODE:
			node = (uint32_t)sn.left_record;
			continue;
		case MMDB_RECORD_TYPE_EMPTY:
			return 0;
		case MMDB_RECORD_TYPE_DATA:	/* all of IPv4 in one record */
			err = entry_cc(w, &sn.left_record_entry, &cc);
			return err ? err : geo_acc_add(w->acc, AF_INET, 0, UINT32_MAX, cc);
		default:
			diag_add(w->d, "%s: node %u: invalid record", w->path, node);
			return -EINVAL;
		}
	}
	return walk(w, node, 0, 0, 32, AF_INET);
}

int geo_read_mmdb(struct geo_acc *acc, const char *path, struct diag *d)
{
	struct walk *w;
	MMDB_s db;
	int rc, err;

	rc = MMDB_open(path, MMDB_MODE_MMAP, &db);
	if (rc != MMDB_SUCCESS) {
		diag_add(d, "%s: cannot open as a MaxMind DB: %s%s%s", path, MMDB_strerror(rc),
			 rc == MMDB_IO_ERROR ? ": " : "", rc == MMDB_IO_ERROR ? strerror(errno) : "");
		return rc == MMDB_IO_ERROR && errno ? -errno : -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		MMDB_close(&db);
		return -ENOMEM;
	}
	/* MaxMind's IPv6 trees alias the IPv4 subtree twice (::ffff:0:0/96,
	 * 2002::/16): each node is reached a few times, never more than 8. */
	*w = (struct walk){ .db = &db, .acc = acc, .path = path, .d = d,
			    .max_visits = 8ULL * db.metadata.node_count + 1024 };
	if (db.metadata.ip_version == 4) {
		err = walk(w, 0, 0, 0, 32, AF_INET);
	} else if (db.metadata.ip_version == 6) {
		err = walk(w, 0, 0, 0, 128, AF_INET6);
		if (!err)
			err = walk_v4_in_v6(w);
	} else {
		diag_add(d, "%s: ip_version %u is neither 4 nor 6", path, db.metadata.ip_version);
		err = -EINVAL;
	}
	free(w);
	MMDB_close(&db);
	return err;
}
