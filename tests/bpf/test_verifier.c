// SPDX-License-Identifier: GPL-2.0
/* test_verifier.c — the verifier cost of every program of rempart.bpf.o on
 * this kernel, and the one CFG rule older kernels add, so that a change
 * which would break loading on the image's Debian 6.1 kernel shows here:
 *
 *   budget  each program loads alone with BPF_LOG_STATS and its "processed
 *           N insns" is at most RP_VERIFIER_BUDGET.  6.1 prunes fewer
 *           states than this kernel (cloud_in once took 757554 here and
 *           over 1000000 on 6.1), so the budget is half of the 1M limit.
 *   cfg61   the final instructions (subprograms appended, as loaded) pass
 *           6.1's check_cfg(): a back-edge (loop) is only allowed on a
 *           jump; 6.1 rejects one on a fall-through or call edge with
 *           "back-edge from insn X to X+1", which newer kernels accept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "load_alone.h"
#include "rempart.skel.h"
#include "tap.h"

#define RP_VERIFIER_BUDGET 500000
#define LOG_SZ (1 << 20)

static char vlog[LOG_SZ];

static int silent(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	return 0;
}

static struct bpf_object *open_obj(void)
{
	size_t sz;
	const void *elf = rempart__elf_bytes(&sz);

	return bpf_object__open_mem(elf, sz, NULL);
}

/* Load only `name`; *insns gets the verifier's processed count (-1 none). */
static int load_one(const char *name, long *insns)
{
	int err = load_alone(open_obj(), name, 4, vlog, sizeof(vlog));	/* BPF_LOG_STATS */
	const char *s = strstr(vlog, "processed ");

	*insns = s ? strtol(s + 10, NULL, 10) : -1;
	return err;
}

enum { DISC = 0x10, EXPL = 0x20, FT = 1, BR = 2 };

struct cfg {
	const struct bpf_insn *in;
	int n, *st, *stack, sp;
	int bad_from, bad_to;
};

/* 6.1's push_insn(): 1 to go on with w, 0 done, -1 a forbidden back-edge */
static int push(struct cfg *c, int t, int w, int e, int loop_ok)
{
	if (e == FT && c->st[t] >= (DISC | FT))
		return 0;
	if (e == BR && c->st[t] >= (DISC | BR))
		return 0;
	if (w < 0 || w >= c->n) {
		c->bad_from = t;
		c->bad_to = w;
		return -1;
	}
	if (c->st[w] == 0) {
		c->st[t] = DISC | e;
		c->st[w] = DISC;
		c->stack[c->sp++] = w;
		return 1;
	}
	if ((c->st[w] & 0xf0) == DISC) {
		if (loop_ok)
			return 0;
		c->bad_from = t;
		c->bad_to = w;
		return -1;
	}
	if (c->st[w] == EXPL)
		c->st[t] = DISC | e;
	return 0;
}

static int visit(struct cfg *c, int t)
{
	const struct bpf_insn *i = &c->in[t];
	int cls = BPF_CLASS(i->code), op = BPF_OP(i->code), r;

	if (cls != BPF_JMP && cls != BPF_JMP32)
		return push(c, t, t + 1, FT, 0);
	if (op == BPF_EXIT)
		return 0;
	if (op == BPF_CALL) {
		r = push(c, t, t + 1, FT, 0);
		if (r == 0 && i->src_reg == BPF_PSEUDO_CALL)
			r = push(c, t, t + i->imm + 1, BR, 0);
		return r;
	}
	if (op == BPF_JA && cls == BPF_JMP)
		return push(c, t, t + i->off + 1, FT, 1);
	r = push(c, t, t + 1, FT, 1);
	if (r == 0)
		r = push(c, t, t + i->off + 1, BR, 1);
	return r;
}

/* 0 when the 6.1 CFG check accepts the program; else the edge in from, to */
static int cfg61(const struct bpf_insn *in, int n, int *from, int *to)
{
	struct cfg c = { .in = in, .n = n, .bad_from = -1, .bad_to = -1 };
	int err = 0, r;

	c.st = calloc(n, sizeof(int));
	c.stack = calloc(n, sizeof(int));
	if (!c.st || !c.stack) {
		err = -ENOMEM;
		goto out;
	}
	c.st[0] = DISC;
	c.stack[c.sp++] = 0;
	while (c.sp > 0) {
		int t = c.stack[c.sp - 1];

		r = visit(&c, t);
		if (r < 0) {
			err = -EINVAL;
			break;
		}
		if (r == 0) {
			c.st[t] = EXPL;
			c.sp--;
		}
	}
	*from = c.bad_from;
	*to = c.bad_to;
out:
	free(c.st);
	free(c.stack);
	return err;
}

int main(void)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	int n = 0;

	libbpf_set_print(silent);
	obj = open_obj();
	if (!obj || bpf_object__load(obj)) {
		tap_result(0, "load: rempart.bpf.o loads on this kernel (%s)", strerror(errno));
		bpf_object__close(obj);
		tap_exit();
	}
	bpf_object__for_each_program(p, obj) {
		const char *name = bpf_program__name(p);
		int from = -1, to = -1, err;
		long insns;

		n++;
		err = cfg61(bpf_program__insns(p), bpf_program__insn_cnt(p), &from, &to);
		if (err)
			tap_result(0, "cfg61: %s (%zu insns): 6.1 rejects the edge from insn %d to %d (back-edge not on a jump, or out of range)",
				   name, bpf_program__insn_cnt(p), from, to);
		else
			tap_result(1, "cfg61: %s (%zu insns): no edge that 6.1's CFG check rejects",
				   name, bpf_program__insn_cnt(p));
		err = load_one(name, &insns);
		tap_result(!err && insns >= 0 && insns <= RP_VERIFIER_BUDGET,
			   "budget: %s: verifier processed %ld insns (budget %d, 6.1 limit 1000000)%s",
			   name, insns, RP_VERIFIER_BUDGET, err ? ", load failed" : "");
	}
	tap_result(n >= 5, "programs: %d checked", n);
	bpf_object__close(obj);
	tap_exit();
}
