/* lazylib.h — libraries that only some commands use, opened at their first
 * call instead of at every start: the metrics server (libmicrohttpd, and
 * GnuTLS behind it), the daemon's systemd notifications and journal stream
 * (libsystemd), `site config --qr` (libqrencode).  Loading them cost every
 * invocation, `apply` included, 3.6 ms of its start.
 *
 *   LAZY(LAZY_MHD, MHD_run)(daemon);
 *
 * The library's own header declares the function; its address is looked up
 * once per call site.  A library that cannot be loaded is a broken install:
 * one message naming it, and exit status 1. */
#ifndef REMPART_LAZYLIB_H
#define REMPART_LAZYLIB_H

#define LAZY_MHD "libmicrohttpd.so.12"
#define LAZY_SYSTEMD "libsystemd.so.0"
#define LAZY_QR "libqrencode.so.4"

void *lazy_sym(const char *lib, const char *name);

#define LAZY(lib, fn) ({						\
	static __typeof__(&fn) lazy_p_;					\
	if (!lazy_p_)							\
		lazy_p_ = (__typeof__(&fn))lazy_sym(lib, #fn);		\
	lazy_p_;							\
})
#endif
