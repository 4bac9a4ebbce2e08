/* reason.h — names of the reason codes of rempart_abi.h (one list, there). */
#ifndef REMPART_REASON_H
#define REMPART_REASON_H
#include "rempart_abi.h"

const char *reason_name(enum rp_reason r);	/* "allowed", …; "?" if out of range */
int reason_from_name(const char *name);		/* -1 if unknown */
const char *verdict_name(enum rp_verdict v);	/* "allow" | "drop" */
#endif
