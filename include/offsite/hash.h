/*
 * hash.h - SHA-256 (OpenSSL EVP), incremental and as a pass-through stream stage, and hex.
 */
#ifndef OFFSITE_HASH_H
#define OFFSITE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/stream.h"

#define OFS_SHA256_BYTES 32
#define OFS_SHA256_HEX 65 /* 64 hex digits and a NUL */

typedef struct ofs_sha256 ofs_sha256;

/* Incremental SHA-256: new, update any number of times, final (once), free. */
int ofs_sha256_new(ofs_sha256 **out);
int ofs_sha256_update(ofs_sha256 *h, const void *data, size_t size);
int ofs_sha256_final(ofs_sha256 *h, uint8_t digest[OFS_SHA256_BYTES]);
/* ofs_sha256_reset(h): start over (reuse the context for the next file). */
int ofs_sha256_reset(ofs_sha256 *h);
/* ofs_sha256_copy(dst, src): dst continues from where src is (a hash of a prefix kept while
 * src goes on to its final). */
int ofs_sha256_copy(ofs_sha256 *dst, const ofs_sha256 *src);
void ofs_sha256_free(ofs_sha256 *h);

/* ofs_sha256_buffer(data, size, digest): one-shot. */
int ofs_sha256_buffer(const void *data, size_t size, uint8_t digest[OFS_SHA256_BYTES]);

/*
 * ofs_hash_writer_new(&w, next): a tee that hashes and counts everything written, then passes
 * it on to next (owned). After ofs_writer_finish(w), ofs_hash_writer_result(w, digest, &bytes)
 * reads the SHA-256 and byte count (either output may be NULL).
 */
int ofs_hash_writer_new(ofs_writer **out, ofs_writer *next);
void ofs_hash_writer_result(ofs_writer *w, uint8_t digest[OFS_SHA256_BYTES], uint64_t *bytes);

/*
 * ofs_hash_reader_new(&r, source): hashes and counts everything read through it. At end of
 * stream, ofs_hash_reader_result(r, digest, &bytes) reads the totals.
 */
int ofs_hash_reader_new(ofs_reader **out, ofs_reader *source);
void ofs_hash_reader_result(ofs_reader *r, uint8_t digest[OFS_SHA256_BYTES], uint64_t *bytes);

/*
 * ofs_verify_reader_new(&r, source, size, digest, name): passes the bytes through and, when
 * source ends, checks that exactly size bytes with that SHA-256 were read; otherwise the final
 * read fails with OFS_ECORRUPT ("NAME: size N, expected M" / "NAME: SHA-256 mismatch").
 */
int ofs_verify_reader_new(ofs_reader **out, ofs_reader *source, uint64_t size,
                          const uint8_t digest[OFS_SHA256_BYTES], const char *name);

/* ofs_hex_encode(data, size, out): 2*size lowercase hex digits and a NUL. */
void ofs_hex_encode(const uint8_t *data, size_t size, char *out);

/* ofs_hex_decode(hex, out, size): exactly 2*size hex digits -> bytes; OFS_ECORRUPT otherwise. */
int ofs_hex_decode(const char *hex, uint8_t *out, size_t size);

#endif
