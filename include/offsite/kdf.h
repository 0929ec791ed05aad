/*
 * kdf.h - HKDF-SHA256 and HMAC-SHA256 through OpenSSL's EVP APIs, and the fixed derivations
 * offsite makes from a master key (docs/format.md names each info string).
 */
#ifndef OFFSITE_KDF_H
#define OFFSITE_KDF_H

#include <stddef.h>
#include <stdint.h>

#define OFS_HKDF_INFO_DATA "offsite v1 data"     /* per-object encryption key */
#define OFS_HKDF_INFO_MAC "offsite v1 mac"       /* record and manifest MAC key */
#define OFS_HKDF_INFO_KEY_ID "offsite v1 key id" /* 8-byte public key id */

/*
 * ofs_hkdf_sha256(ikm, ikm_len, salt, salt_len, info, out, out_len): RFC 5869 HKDF
 * (extract then expand) with SHA-256. salt may be NULL/0. Returns 0 or OFS_ERROR.
 */
int ofs_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                    const char *info, uint8_t *out, size_t out_len);

/* ofs_hmac_sha256(key, key_len, data, size, out): RFC 2104 HMAC-SHA256 into out[32]. */
int ofs_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t size,
                    uint8_t out[32]);

#endif
