// SPDX-License-Identifier: GPL-2.0
/* reason.c — the names of rempart's reason codes, from rempart_abi.h. */
#include <string.h>
#include "eval/reason.h"

#define RP_REASON_NAME(id, name) [id] = name,
static const char *const reason_names[RP_R__COUNT] = { RP_REASONS(RP_REASON_NAME) };

const char *reason_name(enum rp_reason r)
{
	return (unsigned)r < RP_R__COUNT ? reason_names[r] : "?";
}

int reason_from_name(const char *name)
{
	for (int i = 0; i < RP_R__COUNT; i++)
		if (!strcmp(reason_names[i], name))
			return i;
	return -1;
}

const char *verdict_name(enum rp_verdict v)
{
	return v == RP_ALLOW ? "allow" : "drop";
}
