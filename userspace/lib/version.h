/* version.h — the build's version: `git describe --always --dirty` when
 * built from a git checkout, the VERSION file of a release tarball, else
 * "unknown" (mk/userspace.mk). */
#ifndef REMPART_VERSION_H
#define REMPART_VERSION_H
const char *rp_version(void);
#endif
