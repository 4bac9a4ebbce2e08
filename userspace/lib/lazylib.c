// SPDX-License-Identifier: GPL-2.0
/* lazylib.c — see lazylib.h. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/lazylib.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *name;
	void *handle;
} libs[8];

void *lazy_sym(const char *lib, const char *name)
{
	void *h = NULL, *sym;
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]) && libs[i].name; i++)
		if (!strcmp(libs[i].name, lib)) {
			h = libs[i].handle;
			break;
		}
	if (!h) {
		h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "rempart: cannot load %s (needed for %s): %s\n", lib, name,
				dlerror());
			exit(1);
		}
		if (i < sizeof(libs) / sizeof(libs[0])) {
			libs[i].name = lib;
			libs[i].handle = h;
		}
	}
	pthread_mutex_unlock(&lock);
	sym = dlsym(h, name);
	if (!sym) {
		fprintf(stderr, "rempart: %s has no %s: %s\n", lib, name, dlerror());
		exit(1);
	}
	return sym;
}
