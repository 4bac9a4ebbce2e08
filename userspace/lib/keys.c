// SPDX-License-Identifier: GPL-2.0
/* keys.c — WireGuard keys, on top of the embeddable-wg-library; see keys.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wireguard.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "lib/keys.h"

_Static_assert(sizeof(wg_key) == 32, "wg_key is 32 bytes");
_Static_assert(sizeof(wg_key_b64_string) == RP_KEY_B64_LEN + 1, "base64 key length");

int key_from_base64(const char *b64, uint8_t key[32])
{
	wg_key k;

	if (strlen(b64) != RP_KEY_B64_LEN || wg_key_from_base64(k, b64)) {
		explicit_bzero(k, sizeof(k));
		return -EINVAL;
	}
	memcpy(key, k, 32);
	explicit_bzero(k, sizeof(k));
	return 0;
}

void key_to_base64(const uint8_t key[32], char out[RP_KEY_B64_LEN + 1])
{
	wg_key_to_base64(out, key);
}

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_init(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

/* OpenSSL's X25519 (RFC 7748, constant time, vetted) gives the same key as
 * the embeddable library's portable wg_generate_public_key() some 20 times
 * faster: 100 tenant keys were half of reading a configuration.  The
 * library stays the fallback. */
void key_public_from_private(uint8_t pub[32], const uint8_t priv[32])
{
	EVP_PKEY *k;
	size_t len = 32;

	/* X25519 of the default provider only: no openssl.cnf read and parsed
	 * (a third of the first call's cost, in every apply) */
	pthread_once(&crypto_once, crypto_init);	/* tenants load in threads */
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	if (!k || EVP_PKEY_get_raw_public_key(k, pub, &len) != 1 || len != 32)
		wg_generate_public_key(pub, priv);
	EVP_PKEY_free(k);	/* OpenSSL clears the private key it held */
}

void key_generate_private(uint8_t key[32])
{
	wg_generate_private_key(key);
}

void key_generate_preshared(uint8_t key[32])
{
	wg_generate_preshared_key(key);
}

int key_file_read(const char *path, uint8_t key[32], char *why, size_t whylen)
{
	char buf[RP_KEY_B64_LEN + 8];
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	/* Never open what is not a regular file (a device may act on open). */
	if (stat(path, &st)) {
		ret = -errno;
		snprintf(why, whylen, "cannot be opened: %s", strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "is not a regular file");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, whylen, "cannot be opened: %s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(why, whylen, "cannot be examined: %s", strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(why, whylen, "is not a regular file");
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		ret = -EPERM;
		snprintf(why, whylen, "is owned by uid %u, not root", (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_mode & 077) {
		ret = -EPERM;
		snprintf(why, whylen, "is accessible by group or other (mode %04o): chmod 600 it",
			 (unsigned)(st.st_mode & 07777));
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		ret = -errno;
		snprintf(why, whylen, "cannot be read: %s", strerror(-ret));
		goto out;
	}
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (key_from_base64(buf, key)) {
		ret = -EINVAL;
		snprintf(why, whylen, "does not hold a key (base64 of 32 bytes, 44 characters)");
	}
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return ret;
}

int key_file_write(const char *path, const uint8_t key[32])
{
	char b64[RP_KEY_B64_LEN + 2];
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	key_to_base64(key, b64);
	strcat(b64, "\n");
	if (write(fd, b64, strlen(b64)) != (ssize_t)strlen(b64))
		ret = -EIO;
	if (fsync(fd) && !ret)
		ret = -errno;
	explicit_bzero(b64, sizeof(b64));
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		unlink(path);
	return ret;
}
