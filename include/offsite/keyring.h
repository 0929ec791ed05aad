/*
 * keyring.h - master keys: the key file, rotation, and paper export/import.
 *
 * A key file (docs/format.md, "Key file") holds one or more 256-bit master keys, oldest first.
 * The newest key encrypts; every key decrypts; each key is named by an 8-byte id derived from
 * it (HKDF info "offsite v1 key id"), shown as 16 hex digits. The file must be mode 0600 or
 * stricter: a key file readable or writable by group or others is refused, naming the file.
 * Key material is wiped with OPENSSL_cleanse when the ring is freed.
 */
#ifndef OFFSITE_KEYRING_H
#define OFFSITE_KEYRING_H

#include <stdint.h>
#include <stdio.h>

#define OFS_KEY_BYTES 32
#define OFS_KEY_ID_BYTES 8

typedef struct ofs_key {
    uint8_t id[OFS_KEY_ID_BYTES];
    uint8_t key[OFS_KEY_BYTES];
    int64_t created; /* Unix seconds */
} ofs_key;

typedef struct ofs_keyring ofs_keyring;

/*
 * ofs_keyring_load(&ring, path): read a key file. OFS_ENOTFOUND if it does not exist,
 * OFS_EDENIED if its mode lets group or others read or write it (the message names the file
 * and the mode, with a HINT to chmod 600), OFS_ECORRUPT for a malformed line or a key whose
 * id does not match ("PATH:LINE: ...").
 */
int ofs_keyring_load(ofs_keyring **out, const char *path);

/*
 * ofs_keyring_generate(path, &id): add a fresh random key to the key file (creating it with
 * mode 0600 if absent; otherwise appending, which rotates: the new key encrypts from now on).
 * The file is replaced atomically. id (may be NULL) receives the new key's id.
 */
int ofs_keyring_generate(const char *path, uint8_t id[OFS_KEY_ID_BYTES]);

/* ofs_keyring_current(ring): the newest key, used to encrypt and MAC. Never NULL. */
const ofs_key *ofs_keyring_current(const ofs_keyring *ring);

/* ofs_keyring_find(ring, id): the key with that id, or NULL. */
const ofs_key *ofs_keyring_find(const ofs_keyring *ring, const uint8_t id[OFS_KEY_ID_BYTES]);

/* ofs_keyring_count(ring) / ofs_keyring_at(ring, i): the keys, oldest first. */
size_t ofs_keyring_count(const ofs_keyring *ring);
const ofs_key *ofs_keyring_at(const ofs_keyring *ring, size_t i);

/* ofs_keyring_free(ring): wipe and free. NULL is a no-op. */
void ofs_keyring_free(ofs_keyring *ring);

/* ofs_key_id_hex(id, out): 16 lowercase hex digits and a NUL into out[17]. */
void ofs_key_id_hex(const uint8_t id[OFS_KEY_ID_BYTES], char out[17]);

/* ofs_key_id_parse(hex, id): the reverse; OFS_ECORRUPT if not 16 hex digits. */
int ofs_key_id_parse(const char *hex, uint8_t id[OFS_KEY_ID_BYTES]);

/* ofs_key_derive_id(key, id): the id of a key (HKDF-SHA256, info "offsite v1 key id"). */
int ofs_key_derive_id(const uint8_t key[OFS_KEY_BYTES], uint8_t id[OFS_KEY_ID_BYTES]);

/*
 * ofs_keyring_export(ring, out): print a paper copy of every key: the key id, the key as
 * hex in short groups with a check code per line, and a whole-key checksum, so that a typo
 * when typing it back is found and located.
 */
int ofs_keyring_export(const ofs_keyring *ring, FILE *out);

/*
 * ofs_keyring_import(in, in_name, path, &imported): read a paper copy (as printed by
 * export) and add its keys to the key file at path (created 0600 if absent; keys already
 * there are skipped). A bad check code -> OFS_ECORRUPT naming the line ("IN_NAME:LINE:
 * check code mismatch (typo?)"). *imported (may be NULL) gets the number of new keys.
 */
int ofs_keyring_import(FILE *in, const char *in_name, const char *path, int *imported);

#endif
