// SPDX-License-Identifier: GPL-2.0
/* geo_bpf.c — build the BPF lookup image of a geo database and swap it into
 * the rp_geo map; see geo_bpf.h and the layout in rempart_abi.h.
 *
 * Why this structure (DXR, Zec/Rizzo/Mikuc 2012, simplified): an LPM trie
 * chases up to 32/128 pointers through ~80 MB per family, a cache miss at
 * almost every step under random sources.  Here the top 16 bits index a
 * 512 KB table per family, which names the country of the whole /16 or a
 * slice of a sorted interval array; a binary search over that slice (IPv4:
 * 4-byte entries, 16 per cache line) ends the lookup.  The Tor database is
 * ~8 MB this way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "geo/geo_bpf.h"
#include "geo/geo_int.h"
#include "lib/bpfobj.h"
#include "lib/fnv.h"

struct ival4 { uint32_t start; uint16_t cc; };
struct ival6 { u128 start; uint16_t cc; };

/* Ranges with gaps filled: intervals covering the whole space. */
static size_t ivals4(const struct geo_db *db, struct ival4 *out)
{
	uint64_t next = 0;	/* first address not yet covered */
	size_t n = 0;

	for (size_t i = 0; i < db->n4; i++) {
		if (db->v4[i].lo > next)
			out[n++] = (struct ival4){ (uint32_t)next, RP_CC_NONE };
		out[n++] = (struct ival4){ db->v4[i].lo, db->v4[i].cc };
		next = (uint64_t)db->v4[i].hi + 1;
	}
	if (next <= UINT32_MAX)
		out[n++] = (struct ival4){ (uint32_t)next, RP_CC_NONE };
	return n;
}

static size_t ivals6(const struct geo_db *db, struct ival6 *out)
{
	u128 next = 0;
	bool full = false;	/* the last range ends at the last address */
	size_t n = 0;

	for (size_t i = 0; i < db->n6; i++) {
		if (db->v6[i].lo > next)
			out[n++] = (struct ival6){ next, RP_CC_NONE };
		out[n++] = (struct ival6){ db->v6[i].lo, db->v6[i].cc };
		next = db->v6[i].hi + 1;
		full = next == 0;
	}
	if (!full)
		out[n++] = (struct ival6){ next, RP_CC_NONE };
	return n;
}

uint64_t geo_db_hash(const struct geo_db *db)
{
	uint64_t h = FNV1A_BASIS;

	for (size_t i = 0; i < db->n4; i++) {
		h = fnv1a(h, &db->v4[i].lo, 4);
		h = fnv1a(h, &db->v4[i].hi, 4);
		h = fnv1a(h, &db->v4[i].cc, 2);
	}
	for (size_t i = 0; i < db->n6; i++) {
		h = fnv1a(h, &db->v6[i].lo, 16);
		h = fnv1a(h, &db->v6[i].hi, 16);
		h = fnv1a(h, &db->v6[i].cc, 2);
	}
	return h;
}

/* The IPv6 B-tree of one /16 (see rempart_abi.h): its levels for c keys,
 * the lines of level l (m_l = c / FAN^(levels - l), rounded up). */
static unsigned v6_levels(size_t c)
{
	unsigned levels = 1;

	for (size_t cap = RP_GEO_FAN; cap < c; cap *= RP_GEO_FAN)
		levels++;
	return levels;
}

static size_t v6_lines(size_t c, unsigned levels, unsigned l)
{
	unsigned sh = RP_GEO_FAN_SHIFT * (levels - l);

	return (c + ((size_t)1 << sh) - 1) >> sh;
}

/* One /16's intervals made into tree keys: a /64 with a boundary inside
 * (or several intervals starting in it) becomes one key whose value says
 * "exception i": its intervals, by the low 64 bits of their starts, are
 * searched apart.  So the keys are bits 111..64 alone, distinct, and the
 * tree compares them without ties. */
struct v6keys {
	uint64_t *key;		/* start bits 111..64 */
	uint16_t *val;		/* RP_GEO_V6_* value */
	size_t n;
	uint32_t *xfirst, *xcount;	/* exception i: its entries in xlo/xcc */
	size_t nx;
	uint64_t *xlo;
	uint16_t *xcc;
	size_t nxe;
};

static uint16_t v6_val(uint16_t cc)
{
	return cc == RP_CC_NONE ? RP_GEO_V6_NONE : cc;
}

static int v6_make_keys(const uint64_t *hi, const uint64_t *lo, const uint16_t *cc, size_t c,
			struct v6keys *k)
{
	k->n = k->nx = k->nxe = 0;
	for (size_t i = 0, e; i < c; i = e) {
		uint64_t x = hi[i];

		for (e = i; e < c && hi[e] == x; e++)
			if (cc[e] != RP_CC_NONE && cc[e] >= RP_GEO_V6_EXC)
				return -EINVAL;
		if (e - i == 1 && lo[i] == 0) {
			k->key[k->n] = x & RP_GEO_M48;
			k->val[k->n++] = v6_val(cc[i]);
			continue;
		}
		if (k->nx >= RP_GEO_V6_XMAX)
			return -E2BIG;
		/* the interval covering the /64's first address (the /16's
		 * first interval starts at its first address: i > 0 here) */
		k->xfirst[k->nx] = k->nxe;
		k->xlo[k->nxe] = 0;
		k->xcc[k->nxe++] = lo[i] == 0 ? cc[i] : cc[i - 1];
		for (size_t t = i; t < e; t++)
			if (lo[t]) {
				k->xlo[k->nxe] = lo[t];
				k->xcc[k->nxe++] = cc[t];
			}
		k->xcount[k->nx] = k->nxe - k->xfirst[k->nx];
		k->key[k->n] = x & RP_GEO_M48;
		k->val[k->n++] = RP_GEO_V6_EXC | k->nx++;
		/* the next /64 starts in the last interval of this one */
		if ((x & RP_GEO_M48) != RP_GEO_M48 && (e == c || hi[e] != x + 1)) {
			k->key[k->n] = (x + 1) & RP_GEO_M48;
			k->val[k->n++] = v6_val(cc[e - 1]);
		}
	}
	return 0;
}

/* Words of the /16: the tree, the exception directory, the exceptions. */
static size_t v6_words(const struct v6keys *k)
{
	unsigned levels = v6_levels(k->n);
	size_t words = k->nx + 2 * k->nxe;

	for (unsigned l = 0; l < levels; l++)
		words += RP_GEO_FAN * v6_lines(k->n, levels, l);
	return words;
}

/* Write the /16's words at w[o] (o: its absolute word number). */
static void v6_write(const struct v6keys *k, uint64_t *w, size_t o)
{
	unsigned levels = v6_levels(k->n);
	size_t dir;

	/* Level l, entry i: the first key of the subtree of child i (the key
	 * itself at the bottom); past the last child or key, a copy of the
	 * last (the lookup clamps the child, the bottom answers the same). */
	for (unsigned l = 0; l < levels; l++) {
		size_t m = v6_lines(k->n, levels, l);
		size_t span = (size_t)1 << (RP_GEO_FAN_SHIFT * (levels - 1 - l));
		size_t last = l + 1 < levels ? v6_lines(k->n, levels, l + 1) - 1 : k->n - 1;

		for (size_t i = 0; i < RP_GEO_FAN * m; i++) {
			size_t src = (i < last ? i : last) * span;

			w[o + i] = k->key[src] << RP_GEO_V6_KSHIFT | k->val[src];
		}
		o += RP_GEO_FAN * m;
	}
	dir = o;
	o += k->nx;
	for (size_t x = 0; x < k->nx; x++) {
		w[dir + x] = (uint64_t)k->xcount[x] << 32 | o;
		for (uint32_t t = 0; t < k->xcount[x]; t++, o += 2) {
			w[o] = k->xlo[k->xfirst[x] + t];
			w[o + 1] = k->xcc[k->xfirst[x] + t];
		}
	}
}

/* Intervals of each /16, before layout. */
struct buckets {
	uint32_t first[65536], count[65536];	/* count 1: direct */
	uint16_t direct[65536];
};

int geo_image_build(const struct geo_db *db, struct geo_image *img, struct diag *d)
{
	struct ival4 *i4 = malloc((2 * db->n4 + 2) * sizeof(*i4));
	struct ival6 *i6 = malloc((2 * db->n6 + 2) * sizeof(*i6));
	struct buckets *b4 = calloc(1, sizeof(*b4)), *b6 = calloc(1, sizeof(*b6));
	uint32_t *e4 = NULL;
	uint64_t *w = NULL, *e6hi = NULL, *e6lo = NULL;
	uint16_t *e6cc = NULL;
	struct v6keys k6 = { 0 };
	size_t n4, n6, m4 = 0, m6 = 0, j, words, pu, pw, ohi, c6max = 0;
	int err = -ENOMEM;

	if (!i4 || !i6 || !b4 || !b6)
		goto out;
	n4 = ivals4(db, i4);
	n6 = ivals6(db, i6);
	e4 = malloc((n4 + 65536) * sizeof(*e4));
	e6hi = malloc((n6 + 65536) * sizeof(*e6hi));
	e6lo = malloc((n6 + 65536) * sizeof(*e6lo));
	e6cc = malloc((n6 + 65536) * sizeof(*e6cc));
	if (!e4 || !e6hi || !e6lo || !e6cc)
		goto out;

	/* IPv4: per /16, the interval covering its start, then those inside. */
	j = 0;
	for (uint32_t b = 0; b < 65536; b++) {
		uint64_t start = (uint64_t)b << 16, end = start + 65536;
		size_t k;

		while (j + 1 < n4 && i4[j + 1].start <= start)
			j++;
		b4->first[b] = m4;
		e4[m4++] = i4[j].cc;	/* offset 0 */
		for (k = j + 1; k < n4 && i4[k].start < end; k++)
			e4[m4++] = (i4[k].start & 0xffff) << 16 | i4[k].cc;
		b4->count[b] = m4 - b4->first[b];
		if (b4->count[b] == 1) {
			m4 = b4->first[b];
			b4->direct[b] = i4[j].cc;
		}
	}
	/* IPv6: the same on the top 16 bits. */
	j = 0;
	for (uint32_t b = 0; b < 65536; b++) {
		u128 start = (u128)b << 112, end = (u128)(b + 1) << 112;
		size_t k;

		while (j + 1 < n6 && i6[j + 1].start <= start)
			j++;
		b6->first[b] = m6;
		e6hi[m6] = (uint64_t)(start >> 64);
		e6lo[m6] = 0;
		e6cc[m6++] = i6[j].cc;
		for (k = j + 1; k < n6 && (b == 65535 || i6[k].start < end); k++) {
			e6hi[m6] = (uint64_t)(i6[k].start >> 64);
			e6lo[m6] = (uint64_t)i6[k].start;
			e6cc[m6++] = i6[k].cc;
		}
		b6->count[b] = m6 - b6->first[b];
		if (b6->count[b] == 1) {
			m6 = b6->first[b];
			b6->direct[b] = i6[j].cc;
		} else if (b6->count[b] > c6max) {
			c6max = b6->count[b];
		}
	}
	/* scratch for one /16: each interval adds at most two keys (its own,
	 * the /64 after an exception) and one exception entry */
	c6max++;
	k6.key = malloc(2 * c6max * sizeof(*k6.key));
	k6.val = malloc(2 * c6max * sizeof(*k6.val));
	k6.xfirst = malloc(c6max * sizeof(*k6.xfirst));
	k6.xcount = malloc(c6max * sizeof(*k6.xcount));
	k6.xlo = malloc(2 * c6max * sizeof(*k6.xlo));
	k6.xcc = malloc(2 * c6max * sizeof(*k6.xcc));
	if (!k6.key || !k6.val || !k6.xfirst || !k6.xcount || !k6.xlo || !k6.xcc)
		goto out;

	/* Layout: no /16's intervals straddle a block. */
	pu = 2 * (size_t)RP_GEO_FIXED_WORDS;	/* IPv4 in __u32 units */
	for (uint32_t b = 0; b < 65536; b++) {
		if (b4->count[b] < 2)
			continue;
		if (pu % (2 * RP_GEO_BLOCK_WORDS) + b4->count[b] > 2 * RP_GEO_BLOCK_WORDS)
			pu = (pu / (2 * RP_GEO_BLOCK_WORDS) + 1) * 2 * RP_GEO_BLOCK_WORDS;
		pu += b4->count[b];
	}
	ohi = pw = ((pu + 1) / 2 + RP_GEO_FAN - 1) & ~(size_t)(RP_GEO_FAN - 1);
	for (uint32_t b = 0; b < 65536; b++) {
		size_t nw;

		if (b6->count[b] < 2)
			continue;
		err = v6_make_keys(e6hi + b6->first[b], e6lo + b6->first[b], e6cc + b6->first[b],
				   b6->count[b], &k6);
		nw = err ? 0 : v6_words(&k6);
		if (err || nw > RP_GEO_BLOCK_WORDS || v6_levels(k6.n) > RP_GEO_V6_LEVELS) {
			diag_add(d, "geo: %u IPv6 intervals in %x::/16, more than the lookup structure holds",
				 b6->count[b], b);
			err = -E2BIG;
			goto out;
		}
		if (pw % RP_GEO_BLOCK_WORDS + nw > RP_GEO_BLOCK_WORDS)
			pw = (pw / RP_GEO_BLOCK_WORDS + 1) * RP_GEO_BLOCK_WORDS;
		pw += (nw + RP_GEO_FAN - 1) & ~(size_t)(RP_GEO_FAN - 1);
	}
	err = -ENOMEM;
	words = pw;
	words = (words + RP_GEO_BLOCK_WORDS - 1) / RP_GEO_BLOCK_WORDS * RP_GEO_BLOCK_WORDS;
	if (words / RP_GEO_BLOCK_WORDS > 64) {
		diag_add(d, "geo: database too large for the BPF map (%zu MB)", words * 8 >> 20);
		err = -E2BIG;
		goto out;
	}
	w = calloc(words, sizeof(*w));
	if (!w)
		goto out;
	w[RP_GEO_H_MAGIC] = RP_GEO_MAGIC;
	w[RP_GEO_H_N4] = m4;
	w[RP_GEO_H_N6] = m6;
	w[RP_GEO_H_OFF4] = RP_GEO_FIXED_WORDS;
	w[RP_GEO_H_OFF6] = ohi;
	w[RP_GEO_H_WORDS] = words;
	w[RP_GEO_H_LOADED_AT] = db->loaded_at ? (uint64_t)db->loaded_at : (uint64_t)time(NULL);
	w[RP_GEO_H_RANGES4] = db->n4;
	w[RP_GEO_H_RANGES6] = db->n6;
	w[RP_GEO_H_FORMAT] = db->format;
	w[RP_GEO_H_HASH] = geo_db_hash(db);
	snprintf((char *)&w[RP_GEO_H_NAMES], RP_GEO_NAMES_BYTES - 1, "%s%c%s",
		 db->source_v4 ? db->source_v4 : "", 0, db->source_v6 ? db->source_v6 : "");
	pu = 2 * (size_t)RP_GEO_FIXED_WORDS;
	for (uint32_t b = 0; b < 65536; b++) {
		uint32_t c = b4->count[b];

		if (c < 2) {
			w[RP_GEO_IDX4 + b] = RP_GEO_DIRECT | b4->direct[b];
			continue;
		}
		if (pu % (2 * RP_GEO_BLOCK_WORDS) + c > 2 * RP_GEO_BLOCK_WORDS)
			pu = (pu / (2 * RP_GEO_BLOCK_WORDS) + 1) * 2 * RP_GEO_BLOCK_WORDS;
		w[RP_GEO_IDX4 + b] = (uint64_t)c << 32 | pu;
		for (uint32_t i = 0; i < c; i++, pu++)
			w[pu / 2] |= (uint64_t)e4[b4->first[b] + i] << ((pu & 1) * 32);
	}
	pw = ohi;
	for (uint32_t b = 0; b < 65536; b++) {
		uint32_t c = b6->count[b];

		if (c < 2) {
			w[RP_GEO_IDX6 + b] = RP_GEO_DIRECT | b6->direct[b];
			continue;
		}
		size_t nw;

		v6_make_keys(e6hi + b6->first[b], e6lo + b6->first[b], e6cc + b6->first[b], c, &k6);
		nw = v6_words(&k6);
		if (pw % RP_GEO_BLOCK_WORDS + nw > RP_GEO_BLOCK_WORDS)
			pw = (pw / RP_GEO_BLOCK_WORDS + 1) * RP_GEO_BLOCK_WORDS;
		w[RP_GEO_IDX6 + b] = (uint64_t)v6_levels(k6.n) << RP_GEO_V6_LSHIFT |
				     (uint64_t)k6.n << 32 | pw;
		v6_write(&k6, w, pw);
		pw += (nw + RP_GEO_FAN - 1) & ~(size_t)(RP_GEO_FAN - 1);
	}
	img->w = w;
	img->n = words;
	w = NULL;
	err = 0;
out:
	if (err == -ENOMEM)
		diag_add(d, "geo: out of memory building the lookup structure");
	free(w);
	free(i4);
	free(i6);
	free(b4);
	free(b6);
	free(e4);
	free(e6hi);
	free(e6lo);
	free(e6cc);
	free(k6.key);
	free(k6.val);
	free(k6.xfirst);
	free(k6.xcount);
	free(k6.xlo);
	free(k6.xcc);
	return err;
}

void geo_image_free(struct geo_image *img)
{
	free(img->w);
	img->w = NULL;
	img->n = 0;
}

/* Mirrors rp_geo_lookup_v4/v6 of bpf/geo.h step by step (block-relative
 * offsets made absolute); out-of-range words (a corrupt map) give
 * RP_CC_NODB as the BPF side does. */
#define WORD(i) ({ size_t i_ = (i); if (i_ >= n) return RP_CC_NODB; w[i_]; })

static uint16_t words_lookup4(const uint64_t *w, size_t n, uint32_t x)
{
	uint64_t ix = WORD(RP_GEO_IDX4 + (x >> 16));
	uint32_t e0, base = 0, cnt;

#define LE4(i) ((uint32_t)(WORD((e0 + (i)) / 2) >> (((e0 + (i)) & 1) * 32)) >> 16 <= x)
	if (ix & RP_GEO_DIRECT)
		return (uint16_t)ix;
	e0 = (uint32_t)ix;
	cnt = (uint32_t)(ix >> 32);
	x &= 0xffff;
	for (int i = 0; i < RP_GEO_KARY_STEPS && cnt > 8; i++) {
		uint32_t s = cnt >> 3, j = 0;

		for (uint32_t k = 1; k < 8; k++)
			j += LE4(base + k * s);
		base += s * j;
		cnt = j == 7 ? cnt - 7 * s : s;
	}
	for (int i = 0; i < 3 && cnt > 1; i++) {
		uint32_t half = cnt >> 1;

		if (LE4(base + half))
			base += half;
		cnt -= half;
	}
	return (uint16_t)(WORD((e0 + base) / 2) >> (((e0 + base) & 1) * 32));
#undef LE4
}

static uint16_t words_lookup6(const uint64_t *w, size_t n, uint64_t xhi, uint64_t xlo)
{
	uint64_t ix = WORD(RP_GEO_IDX6 + (xhi >> 48)), x1, v, dw;
	uint32_t o, cnt, levels, node = 0, base = 0, off;

	if (ix & RP_GEO_DIRECT)
		return (uint16_t)ix;
	o = (uint32_t)ix;
	cnt = (uint32_t)(ix >> 32) & RP_GEO_V6_NMASK;
	levels = (uint32_t)(ix >> RP_GEO_V6_LSHIFT) & 7;
	x1 = (xhi & RP_GEO_M48) << RP_GEO_V6_KSHIFT | RP_GEO_V6_VMASK;
	for (uint32_t l = 0; l < RP_GEO_V6_LEVELS; l++) {
		uint32_t m = v6_lines(cnt, levels, l), line = o + RP_GEO_FAN * node, j = 0;

		for (uint32_t k = 1; k < RP_GEO_FAN; k++)
			j += WORD(line + k) <= x1;
		if (l + 1 >= levels) {
			v = WORD(line + j) & RP_GEO_V6_VMASK;
			if (v == RP_GEO_V6_NONE)
				return RP_CC_NONE;
			if (!(v & RP_GEO_V6_EXC))
				return (uint16_t)v;
			dw = WORD(o + RP_GEO_FAN * m + (v & ~RP_GEO_V6_EXC));
			off = (uint32_t)dw;
			cnt = (uint32_t)(dw >> 32);
			for (int i = 0; i < RP_GEO_V6_XSTEPS && cnt > 1; i++) {
				uint32_t half = cnt >> 1;

				if (WORD(off + 2 * (base + half)) <= xlo)
					base += half;
				cnt -= half;
			}
			return (uint16_t)WORD(off + 2 * base + 1);
		}
		o += RP_GEO_FAN * m;
		node = node * RP_GEO_FAN + j;
		m = v6_lines(cnt, levels, l + 1);
		if (node >= m)
			node = m - 1;
	}
	return RP_CC_NODB;
}
#undef WORD

uint16_t geo_words_lookup(const uint64_t *w, size_t n, const struct rp_addr *a)
{
	u128 v = geo_addr_to_u128(a);

	if (n < RP_GEO_FIXED_WORDS || w[RP_GEO_H_MAGIC] != RP_GEO_MAGIC)
		return RP_CC_NODB;
	if (a->family == AF_INET)
		return words_lookup4(w, n, (uint32_t)v);
	return words_lookup6(w, n, (uint64_t)(v >> 64), (uint64_t)v);
}

/* ---- every answer at once: runs (for `rempart audit`) ---- */

struct grun_acc {
	struct geo_run *v;
	size_t n, cap;
};

static int grun_add(struct grun_acc *a, u128 lo, u128 hi, uint16_t cc)
{
	if (a->n && a->v[a->n - 1].cc == cc && a->v[a->n - 1].hi + 1 == lo) {
		a->v[a->n - 1].hi = hi;
		return 0;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4096;
		struct geo_run *p = realloc(a->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		a->v = p;
		a->cap = cap;
	}
	a->v[a->n++] = (struct geo_run){ lo, hi, cc };
	return 0;
}

#define RWORD(i) ({ size_t i_ = (i); if (i_ >= n) return -EPROTO; w[i_]; })

/* One /16 of IPv4: its intervals (the last whose start <= x answers). */
static int runs4_16(const uint64_t *w, size_t n, uint32_t hi16, struct grun_acc *a)
{
	uint64_t ix = RWORD(RP_GEO_IDX4 + hi16);
	u128 base = (u128)hi16 << 16;
	uint32_t e0, cnt, prev = 0;
	int err = 0;

	if (ix & RP_GEO_DIRECT)
		return grun_add(a, base, base | 0xffff, (uint16_t)ix);
	e0 = (uint32_t)ix;
	cnt = (uint32_t)(ix >> 32) & 0x7fffffffu;
	if (!cnt)
		return -EPROTO;
	for (uint32_t i = 0; i < cnt && !err; i++) {
		uint32_t e = (uint32_t)(RWORD((e0 + i) / 2) >> (((e0 + i) & 1) * 32)), next = 0x10000;
		uint32_t start = i ? e >> 16 : 0;

		if (i && start <= prev)
			return -EPROTO;
		if (i + 1 < cnt)
			next = (uint32_t)(RWORD((e0 + i + 1) / 2) >> (((e0 + i + 1) & 1) * 32)) >> 16;
		if (next <= start)
			return -EPROTO;
		err = grun_add(a, base | start, base | (next - 1), (uint16_t)e);
		prev = start;
	}
	return err;
}

static uint16_t v6_cc(uint64_t v)
{
	return v == RP_GEO_V6_NONE ? RP_CC_NONE : (uint16_t)v;
}

/* One /16 of IPv6: the keys at the tree's bottom level in order, each
 * running to the next; an exception key's intervals within its /64. */
static int runs6_16(const uint64_t *w, size_t n, uint32_t hi16, struct grun_acc *a)
{
	uint64_t ix = RWORD(RP_GEO_IDX6 + hi16);
	u128 base = (u128)hi16 << 112, end16 = base | (((u128)1 << 112) - 1);
	uint32_t o, cnt, levels, m;
	uint64_t prev = 0;
	int err = 0;

	if (ix & RP_GEO_DIRECT)
		return grun_add(a, base, end16, (uint16_t)ix);
	o = (uint32_t)ix;
	cnt = (uint32_t)(ix >> 32) & RP_GEO_V6_NMASK;
	levels = (uint32_t)(ix >> RP_GEO_V6_LSHIFT) & 7;
	if (!cnt || !levels || levels > RP_GEO_V6_LEVELS)
		return -EPROTO;
	for (uint32_t l = 0; l + 1 < levels; l++)
		o += RP_GEO_FAN * v6_lines(cnt, levels, l);
	m = v6_lines(cnt, levels, levels - 1);
	for (uint32_t i = 0; i < cnt && !err; i++) {
		uint64_t kw = RWORD(o + i), key = i ? kw >> RP_GEO_V6_KSHIFT : 0, v = kw & RP_GEO_V6_VMASK;
		u128 lo = base | (u128)key << 64, hi = end16;

		if (i && key <= prev)
			return -EPROTO;
		if (i + 1 < cnt)
			hi = (base | (u128)(RWORD(o + i + 1) >> RP_GEO_V6_KSHIFT) << 64) - 1;
		if (hi < lo)
			return -EPROTO;
		prev = key;
		if (!(v & RP_GEO_V6_EXC) || v == RP_GEO_V6_NONE) {
			err = grun_add(a, lo, hi, v6_cc(v));
			continue;
		}
		/* an exception: the /64's intervals by their low 64 bits; the
		 * builder starts a key at the next /64, which the lookup needs
		 * (it would repeat this /64's pattern across a longer run) */
		uint64_t dw = RWORD(o + RP_GEO_FAN * m + (v & ~RP_GEO_V6_EXC));
		uint32_t off = (uint32_t)dw, xc = (uint32_t)(dw >> 32);

		if (!xc || hi - lo > UINT64_MAX)
			return -EPROTO;
		for (uint32_t k = 0; k < xc && !err; k++) {
			uint64_t s = k ? RWORD(off + 2 * k) : 0, e = UINT64_MAX;

			if (k + 1 < xc) {
				e = RWORD(off + 2 * (k + 1));
				if (e <= s)
					return -EPROTO;
				e--;
			}
			err = grun_add(a, lo | s, lo | e, (uint16_t)RWORD(off + 2 * k + 1));
		}
	}
	return err;
}
#undef RWORD

int geo_words_runs(const uint64_t *w, size_t n, int family, struct geo_run **v, size_t *count)
{
	struct grun_acc a = { 0 };
	int err = 0;

	if (n < RP_GEO_FIXED_WORDS || w[RP_GEO_H_MAGIC] != RP_GEO_MAGIC)
		return -EPROTO;
	for (uint32_t hi16 = 0; hi16 < 65536 && !err; hi16++)
		err = family == AF_INET ? runs4_16(w, n, hi16, &a) : runs6_16(w, n, hi16, &a);
	if (err) {
		free(a.v);
		return err;
	}
	*v = a.v;
	*count = a.n;
	return 0;
}

/* The pin of the active database map: RP_PIN_GEO "_db" beside rp_geo. */
static void db_pin_path(char *buf, size_t len, const char *suffix)
{
	snprintf(buf, len, "%s_db%s", geo_bpf_pin_path(), suffix);
}

/* When outer_fd is the pinned rp_geo, pin its new database map too: a map
 * is opened by its ID only with CAP_SYS_ADMIN, which the daemon's sandbox
 * lacks; a pin opens with CAP_BPF.  Pinned aside, then renamed over the
 * old pin (bpffs replaces it in one step).  Best effort: readers that can
 * open by ID do not need it, and a pin that names another map than the
 * active one is refused by geo_bpf_view_open. */
static void pin_db(int outer_fd, int inner_fd)
{
	int pinned = bpf_obj_get(geo_bpf_pin_path());
	bool ours = pinned >= 0 && bpfobj_id(pinned) == bpfobj_id(outer_fd);
	char tmp[600], path[600];

	if (pinned >= 0)
		close(pinned);
	if (!ours)
		return;
	db_pin_path(tmp, sizeof(tmp), "_new");
	db_pin_path(path, sizeof(path), "");
	unlink(tmp);
	if (bpf_obj_pin(inner_fd, tmp) || rename(tmp, path))
		unlink(tmp);
}

int geo_bpf_swap(int outer_fd, const struct geo_image *img, struct diag *d)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t len = (img->n * sizeof(uint64_t) + getpagesize() - 1) & ~((size_t)getpagesize() - 1);
	__u32 zero = 0;
	void *p;
	int fd, err = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rp_geo_db", sizeof(__u32),
			    sizeof(struct rp_geo_block), img->n / RP_GEO_BLOCK_WORDS, &opts);
	if (fd < 0) {
		err = -errno;
		diag_add(d, "geo: cannot create the database map (%zu words): %s", img->n,
			 strerror(-err));
		return err;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		diag_add(d, "geo: cannot map the database map: %s", strerror(-err));
		goto out;
	}
	memcpy(p, img->w, img->n * sizeof(uint64_t));
	munmap(p, len);
	/* The swap: one update replaces the inner map; BPF programs running
	 * now finish with the old one (freed after an RCU grace period). */
	if (bpf_map_update_elem(outer_fd, &zero, &fd, BPF_ANY)) {
		err = -errno;
		diag_add(d, "geo: cannot install the new database in rp_geo: %s", strerror(-err));
	} else {
		pin_db(outer_fd, fd);
	}
out:
	close(fd);
	return err;
}

int geo_bpf_load(int outer_fd, const struct geo_db *db, struct diag *d)
{
	struct geo_image img = { 0 };
	int err;

	err = geo_image_build(db, &img, d);
	if (!err)
		err = geo_bpf_swap(outer_fd, &img, d);
	geo_image_free(&img);
	return err;
}

const char *geo_bpf_pin_path(void)
{
	static char buf[512];
	const char *dir = getenv("REMPART_PIN_DIR");

	snprintf(buf, sizeof(buf), "%s/%s", dir && *dir ? dir : RP_PIN_DIR, RP_PIN_GEO);
	return buf;
}

int geo_bpf_open_pinned(void)
{
	int fd = bpf_obj_get(geo_bpf_pin_path());

	return fd < 0 ? -errno : fd;
}

int geo_bpf_view_open(int outer_fd, struct geo_bpf_view *v)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), zero = 0, id;
	char path[600];
	int err;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	if (bpf_map_lookup_elem(outer_fd, &zero, &id))
		return errno == ENOENT ? -ENOENT : -errno;
	db_pin_path(path, sizeof(path), "");
	v->fd = bpfobj_map_by_id(id, path);	/* no CAP_SYS_ADMIN: the pin, if it is that map */
	if (v->fd < 0) {
		err = v->fd;
		goto fail;
	}
	if (bpf_obj_get_info_by_fd(v->fd, &info, &len)) {
		err = -errno;
		goto fail;
	}
	if (info.value_size != sizeof(struct rp_geo_block) || info.max_entries < 1) {
		err = -EINVAL;
		goto fail;
	}
	v->n = (size_t)info.max_entries * RP_GEO_BLOCK_WORDS;
	v->map_len = ((size_t)v->n * 8 + getpagesize() - 1) & ~((size_t)getpagesize() - 1);
	v->w = mmap(NULL, v->map_len, PROT_READ, MAP_SHARED, v->fd, 0);
	if (v->w == MAP_FAILED) {
		err = -errno;
		v->w = NULL;
		goto fail;
	}
	if (v->w[RP_GEO_H_MAGIC] != RP_GEO_MAGIC) {
		err = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	geo_bpf_view_close(v);
	return err;
}

int geo_bpf_info(const uint64_t *w, size_t n, struct geo_bpf_info *info)
{
	const char *names = (const char *)&w[RP_GEO_H_NAMES];

	memset(info, 0, sizeof(*info));
	if (n < RP_GEO_FIXED_WORDS || w[RP_GEO_H_MAGIC] != RP_GEO_MAGIC)
		return -EINVAL;
	info->ranges_v4 = w[RP_GEO_H_RANGES4];
	info->ranges_v6 = w[RP_GEO_H_RANGES6];
	info->loaded_at = (time_t)w[RP_GEO_H_LOADED_AT];
	info->format = (enum rp_geo_format)w[RP_GEO_H_FORMAT];
	info->hash = w[RP_GEO_H_HASH];
	info->bytes = n * 8;
	snprintf(info->source_v4, sizeof(info->source_v4), "%.*s", RP_GEO_NAMES_BYTES - 1, names);
	names += strnlen(names, RP_GEO_NAMES_BYTES - 1) + 1;
	if (names < (const char *)&w[RP_GEO_HDR_WORDS])
		snprintf(info->source_v6, sizeof(info->source_v6), "%.*s",
			 (int)((const char *)&w[RP_GEO_HDR_WORDS] - names - 1), names);
	return 0;
}

void geo_bpf_view_close(struct geo_bpf_view *v)
{
	if (v->w)
		munmap((void *)v->w, v->map_len);
	if (v->fd >= 0)
		close(v->fd);
	memset(v, 0, sizeof(*v));
	v->fd = -1;
}
