/* keys.h — WireGuard keys: base64, key files, derivation, generation.
 * Keys are 32 bytes (RP_KEY_LEN); callers wipe them with explicit_bzero. */
#ifndef REMPART_KEYS_H
#define REMPART_KEYS_H
#include <stddef.h>
#include <stdint.h>

#define RP_KEY_B64_LEN 44	/* without the NUL */

int key_from_base64(const char *b64, uint8_t key[32]);		/* 0 or -EINVAL */
void key_to_base64(const uint8_t key[32], char out[RP_KEY_B64_LEN + 1]);
void key_public_from_private(uint8_t pub[32], const uint8_t priv[32]);
void key_generate_private(uint8_t key[32]);			/* clamped, as wg genkey */
void key_generate_preshared(uint8_t key[32]);

/* Read a key file: a regular file owned by root (or by the user running
 * rempart), no access for group or other (0600 or stricter), holding the
 * base64 of exactly 32 bytes and an optional newline.  0, or -errno with
 * what is wrong in WHY ("is readable by group or other (mode 0644): ..."),
 * a phrase that follows the file name. */
int key_file_read(const char *path, uint8_t key[32], char *why, size_t whylen);

/* Write a key file with mode 0600; -EEXIST if it exists. */
int key_file_write(const char *path, const uint8_t key[32]);
#endif
