// SPDX-License-Identifier: GPL-2.0
/* version.c — see version.h; RP_VERSION comes from the build. */
#include "lib/version.h"

#ifndef RP_VERSION
#define RP_VERSION "unknown"
#endif

const char *rp_version(void)
{
	return RP_VERSION;
}
