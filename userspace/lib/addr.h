/* addr.h — IPv4/IPv6 addresses and prefixes, ports and port ranges. */
#ifndef REMPART_ADDR_H
#define REMPART_ADDR_H
#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>	/* AF_INET, AF_INET6 */

/* An address: IPv4 in the first 4 bytes of addr, network byte order. */
struct rp_addr {
	uint8_t family;		/* AF_INET | AF_INET6 */
	uint8_t addr[16];
};

/* A prefix.  addr keeps the bits as written (host bits too: "10.20.0.1/24"
 * is both an interface address and its subnet); compare with prefix_contains. */
struct rp_prefix {
	uint8_t family;
	uint8_t len;		/* 0..32 or 0..128 */
	uint8_t addr[16];
};

/* Eight bytes of an address as a number (network order: compares as the
 * address does). */
static inline uint64_t addr_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

struct rp_prefix_list {
	struct rp_prefix *v;
	size_t n;
};

struct rp_port_range {
	uint16_t lo, hi;	/* inclusive */
};

struct rp_port_list {
	struct rp_port_range *v;
	size_t n;		/* 0: all ports */
};

int addr_parse(const char *s, struct rp_addr *out);		/* 0 or -EINVAL */
int prefix_parse(const char *s, struct rp_prefix *out);	/* "a/len"; a bare address is a host prefix */
int port_range_parse(const char *s, struct rp_port_range *out);	/* "n" or "a-b", 1..65535 */
void addr_format(const struct rp_addr *a, char *buf, size_t len);	/* INET6_ADDRSTRLEN is enough */
void prefix_format(const struct rp_prefix *p, char *buf, size_t len);	/* + "/len" */
bool prefix_contains(const struct rp_prefix *p, const struct rp_addr *a);
bool prefix_overlap(const struct rp_prefix *a, const struct rp_prefix *b);
void prefix_host(const struct rp_prefix *p, struct rp_addr *out);	/* the address part */
void prefix_mask(struct rp_prefix *p);	/* host bits cleared: the network */
int prefix_list_longest_match(const struct rp_prefix_list *l, const struct rp_addr *a); /* len, -1 none */
/* Append P (every prefix of FROM) to L. 0 or -ENOMEM (L keeps what it had). */
int prefix_list_push(struct rp_prefix_list *l, const struct rp_prefix *p);
int prefix_list_cat(struct rp_prefix_list *l, const struct rp_prefix_list *from);
bool port_list_contains(const struct rp_port_list *l, uint16_t port);	/* n == 0: true */
#endif
