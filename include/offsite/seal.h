/*
 * seal.h - the object container: AES-256-GCM STREAM encryption of one object.
 *
 * Layout (docs/format.md is normative):
 *   header  = "OFS1" | version 0x01 | log2(segment size) | name length (u16 BE)
 *             | key id (8) | salt (32) | name (UTF-8, no NUL)           (48 + name bytes)
 *   body    = segments: AES-256-GCM(ciphertext || 16-byte tag) of up to segment-size bytes;
 *             nonce = 11-byte big-endian segment counter || final flag (0x01 last, else 0x00);
 *             AAD = the whole header. The last segment is the only one with the final flag and
 *             the only one that may be short (or empty, for an empty object).
 *   key     = HKDF-SHA256(master, salt, "offsite v1 data"), 32 bytes.
 * The name binds the object to its place (e.g. "positions_20261121_171500/vol-0001"), so a
 * swapped object is detected even though every object decrypts under the same master key.
 */
#ifndef OFFSITE_SEAL_H
#define OFFSITE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/keyring.h"
#include "offsite/stream.h"

#define OFS_SEAL_SEGMENT_DEFAULT (64 * 1024)
#define OFS_SEAL_NAME_MAX 1024
#define OFS_SEAL_HEADER_FIXED 48
#define OFS_SEAL_TAG_BYTES 16

/*
 * ofs_seal_writer_new(&w, next, key, name, segment_size): encrypt everything written into
 * next (owned). segment_size 0 means OFS_SEAL_SEGMENT_DEFAULT; it must be a power of two
 * between 1 KiB and 16 MiB. finish seals the final segment, then finishes next.
 */
int ofs_seal_writer_new(ofs_writer **out, ofs_writer *next, const ofs_key *key, const char *name,
                        size_t segment_size);

/*
 * ofs_seal_reader_new(&r, source, ring, expected_name): decrypt source (owned). Plaintext of a
 * segment is released only after its tag verified. expected_name NULL accepts any name.
 * Read errors: OFS_EAUTH "authentication failed (wrong key or corrupted data)" for a bad tag,
 * truncation (no final segment), data after the final segment, or a header naming another
 * object ("object is 'X', expected 'Y'"); OFS_ENOTFOUND for a key id the ring lacks
 * ("sealed with key K, which the key file does not hold"); OFS_ECORRUPT for a bad magic or
 * version ("not an offsite object").
 */
int ofs_seal_reader_new(ofs_reader **out, ofs_reader *source, const ofs_keyring *ring,
                        const char *expected_name);

/*
 * ofs_seal_reader_name(r): the object name from the header, after the first read; NULL before.
 */
const char *ofs_seal_reader_name(ofs_reader *r);

/* ofs_seal_sealed_size(plain_size, name_len, segment_size): the exact object size. */
uint64_t ofs_seal_sealed_size(uint64_t plain_size, size_t name_len, size_t segment_size);

#endif
