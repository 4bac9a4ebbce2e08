/* geo_mmdb_writer.h — a tiny MaxMind DB writer for the tests (the format is
 * public: "MaxMind DB File Format Specification" 2.0): a binary search tree
 * of 24-bit records, 16 zero bytes, a data section, then the metadata after
 * "\xAB\xCD\xEFMaxMind.com".  Writes an IPv6 tree (IPv4 under ::/96) with a
 * few hand-picked networks (nested, non-/64-aligned, registered_country
 * only, no country at all) and a few hundred random ones. */
#ifndef REMPART_TESTS_GEO_MMDB_WRITER_H
#define REMPART_TESTS_GEO_MMDB_WRITER_H
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xorshift.h"

struct mw_buf { uint8_t *p; size_t n, cap; };

static void mw_put(struct mw_buf *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void mw_byte(struct mw_buf *b, uint8_t c) { mw_put(b, &c, 1); }

static void mw_ctrl(struct mw_buf *b, int type, size_t size)	/* size < 29 */
{
	if (type <= 7) {
		mw_byte(b, (uint8_t)(type << 5 | size));
	} else {
		mw_byte(b, (uint8_t)size);
		mw_byte(b, (uint8_t)(type - 7));
	}
}

static void mw_str(struct mw_buf *b, const char *s)
{
	mw_ctrl(b, 2, strlen(s));
	mw_put(b, s, strlen(s));
}

static void mw_uint(struct mw_buf *b, int type, uint64_t v)
{
	uint8_t be[8];
	int n = 0;

	for (uint64_t x = v; x; x >>= 8)
		n++;
	for (int i = 0; i < n; i++)
		be[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	mw_ctrl(b, type, n);
	mw_put(b, be, n);
}

/* Data records: country code (NULL: none), how it is stored. */
enum { MW_COUNTRY, MW_REGISTERED_ONLY, MW_BOTH, MW_EMPTY };
struct mw_rec { const char *cc, *reg; int kind; };

static void mw_record(struct mw_buf *b, const struct mw_rec *r)
{
	switch (r->kind) {
	case MW_COUNTRY:
		mw_ctrl(b, 7, 2);
		mw_str(b, "continent");
		mw_ctrl(b, 7, 1);
		mw_str(b, "code");
		mw_str(b, "EU");
		mw_str(b, "country");
		mw_ctrl(b, 7, 2);
		mw_str(b, "geoname_id");
		mw_uint(b, 6, 3017382);
		mw_str(b, "iso_code");
		mw_str(b, r->cc);
		break;
	case MW_REGISTERED_ONLY:
		mw_ctrl(b, 7, 1);
		mw_str(b, "registered_country");
		mw_ctrl(b, 7, 1);
		mw_str(b, "iso_code");
		mw_str(b, r->reg);
		break;
	case MW_BOTH:
		mw_ctrl(b, 7, 2);
		mw_str(b, "country");
		mw_ctrl(b, 7, 1);
		mw_str(b, "iso_code");
		mw_str(b, r->cc);
		mw_str(b, "registered_country");
		mw_ctrl(b, 7, 1);
		mw_str(b, "iso_code");
		mw_str(b, r->reg);
		break;
	default:
		mw_ctrl(b, 7, 0);
	}
}

struct mw_node { int32_t rec[2]; };	/* >= 0 node, -1 empty, -2 - d data d */
struct mw_tree { struct mw_node *v; size_t n, cap; };

static int32_t mw_new_node(struct mw_tree *t, int32_t fill)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
	}
	t->v[t->n].rec[0] = t->v[t->n].rec[1] = fill;
	return (int32_t)t->n++;
}

/* Insert a 128-bit prefix; shorter prefixes must come first. */
static void mw_insert(struct mw_tree *t, const uint8_t a[16], int len, int data)
{
	int32_t node = 0;

	for (int depth = 0; depth < len; depth++) {
		int bit = (a[depth / 8] >> (7 - depth % 8)) & 1;
		int32_t r = t->v[node].rec[bit];

		if (depth == len - 1) {
			t->v[node].rec[bit] = -2 - data;
			break;
		}
		if (r < 0) {
			int32_t nn = mw_new_node(t, r);

			t->v[node].rec[bit] = nn;
			r = nn;
		}
		node = r;
	}
}

struct mw_net { uint8_t a[16]; int len; int data; };

static int mw_net_cmp(const void *pa, const void *pb)
{
	const struct mw_net *a = pa, *b = pb;

	return a->len - b->len;
}

static const struct mw_rec mw_recs[] = {
	{ "FR", NULL, MW_COUNTRY }, { "DE", NULL, MW_COUNTRY }, { NULL, "IT", MW_REGISTERED_ONLY },
	{ NULL, NULL, MW_EMPTY }, { "US", "CA", MW_BOTH }, { "EU", NULL, MW_COUNTRY },
	{ "JP", NULL, MW_COUNTRY }, { "GB", NULL, MW_COUNTRY }, { "CH", NULL, MW_COUNTRY },
	{ "ZA", NULL, MW_COUNTRY }, { "AP", NULL, MW_COUNTRY }, { "BR", NULL, MW_COUNTRY },
};
#define MW_NRECS (sizeof(mw_recs) / sizeof(mw_recs[0]))

static void mw_net(struct mw_net *n, const char *s, int len, int data)
{
	memset(n, 0, sizeof(*n));
	if (strchr(s, ':')) {
		inet_pton(AF_INET6, s, n->a);
		n->len = len;
	} else {
		inet_pton(AF_INET, s, n->a + 12);
		n->len = 96 + len;
	}
	n->data = data;
}

/* Write the test database to fd; 0 or -1. */
static int mmdb_write_test_db(int fd)
{
	struct mw_net nets[700];
	struct mw_tree t = { 0 };
	struct mw_buf data = { 0 }, out = { 0 };
	uint32_t offs[MW_NRECS];
	size_t nn = 0;
	uint64_t r = 0x243f6a8885a308d3ULL;
	int ok;

	mw_net(&nets[nn++], "1.0.0.0", 8, 0);
	mw_net(&nets[nn++], "1.2.0.0", 16, 1);
	mw_net(&nets[nn++], "1.2.3.0", 24, 2);
	mw_net(&nets[nn++], "10.0.0.0", 8, 3);
	mw_net(&nets[nn++], "192.0.2.0", 24, 4);
	mw_net(&nets[nn++], "200.0.0.0", 5, 5);
	mw_net(&nets[nn++], "2001:db8::", 32, 0);
	mw_net(&nets[nn++], "2001:db8:1::", 48, 6);
	mw_net(&nets[nn++], "2a00::", 12, 7);
	mw_net(&nets[nn++], "2a00:1:2:3:4::", 80, 8);	/* not /64 aligned */
	mw_net(&nets[nn++], "2c0f::", 16, 9);
	while (nn < sizeof(nets) / sizeof(nets[0])) {
		struct mw_net *n = &nets[nn++];

		xorshift64(&r);
		memset(n, 0, sizeof(*n));
		if (nn % 2) {	/* IPv4 */
			uint32_t a = (uint32_t)r;

			n->len = 96 + 8 + (int)((r >> 32) % 25);
			memcpy(n->a + 12, &a, 4);
		} else {	/* IPv6 in 2000::/4 */
			for (int i = 0; i < 16; i++)
				n->a[i] = (uint8_t)(r >> (i % 8 * 8)) ^ (uint8_t)i * 37;
			n->a[0] = 0x20 | (n->a[0] & 0x0f);
			n->len = 20 + (int)((r >> 40) % 100);
		}
		n->data = (int)((r >> 50) % MW_NRECS);
	}
	qsort(nets, nn, sizeof(nets[0]), mw_net_cmp);
	mw_new_node(&t, -1);
	for (size_t i = 0; i < nn; i++)
		mw_insert(&t, nets[i].a, nets[i].len, nets[i].data);
	for (size_t i = 0; i < MW_NRECS; i++) {
		offs[i] = (uint32_t)data.n;
		mw_record(&data, &mw_recs[i]);
	}
	for (size_t i = 0; i < t.n; i++) {
		for (int s = 0; s < 2; s++) {
			int32_t rec = t.v[i].rec[s];
			uint32_t v = rec >= 0 ? (uint32_t)rec :
				     rec == -1 ? (uint32_t)t.n : (uint32_t)t.n + 16 + offs[-2 - rec];
			uint8_t be[3] = { v >> 16, v >> 8, v };

			mw_put(&out, be, 3);
		}
	}
	for (int i = 0; i < 16; i++)
		mw_byte(&out, 0);
	mw_put(&out, data.p, data.n);
	mw_put(&out, "\xab\xcd\xefMaxMind.com", 14);
	mw_ctrl(&out, 7, 9);
	mw_str(&out, "binary_format_major_version");
	mw_uint(&out, 5, 2);
	mw_str(&out, "binary_format_minor_version");
	mw_uint(&out, 5, 0);
	mw_str(&out, "build_epoch");
	mw_uint(&out, 9, 1700000000);
	mw_str(&out, "database_type");
	mw_str(&out, "rempart-Test-Country");
	mw_str(&out, "description");
	mw_ctrl(&out, 7, 1);
	mw_str(&out, "en");
	mw_str(&out, "rempart test database");
	mw_str(&out, "ip_version");
	mw_uint(&out, 5, 6);
	mw_str(&out, "languages");
	mw_ctrl(&out, 11, 1);
	mw_str(&out, "en");
	mw_str(&out, "node_count");
	mw_uint(&out, 6, t.n);
	mw_str(&out, "record_size");
	mw_uint(&out, 5, 24);
	ok = write(fd, out.p, out.n) == (ssize_t)out.n;
	free(t.v);
	free(data.p);
	free(out.p);
	return ok ? 0 : -1;
}
#endif
