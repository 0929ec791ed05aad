/*
 * repo.h - the repository layout, the same on staging and every target:
 *
 *     manifest.json
 *     data/<class>/<backup-id>/vol-NNNN.ofs
 *     data/<class>/<backup-id>/catalog.ofs
 *     data/<class>/<backup-id>/backup.json      (written last: the commit point)
 *
 * and the reads every command shares: find a backup's record, open an object for decryption.
 */
#ifndef OFFSITE_REPO_H
#define OFFSITE_REPO_H

#include "offsite/catalog.h"
#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/store.h"

#define OFS_RECORD_NAME "backup.json"
#define OFS_CATALOG_NAME "catalog.ofs"
#define OFS_RECORD_MAX (16u << 20)

/* ofs_repo_key(buf, size, class, id, name): "data/<class>/<id>/<name>". OFS_ECONFIG if a part
 * is empty, ".", ".." or holds a '/', or if the key does not fit in size bytes. */
int ofs_repo_key(char *buf, size_t size, const char *class_name, const char *id,
                 const char *name);

/* ofs_repo_seal_name(buf, size, id, name): the name sealed into an object's header:
 * "<id>/<name without .ofs>", e.g. "positions_20261121_171500/vol-0001". OFS_ECONFIG as
 * ofs_repo_key. */
int ofs_repo_seal_name(char *buf, size_t size, const char *id, const char *name);

/*
 * ofs_repo_find_record(store, id, &class_name): which class folder holds id's record
 * (checks daily, weekly, monthly). OFS_ENOTFOUND if none. Caller frees *class_name.
 */
int ofs_repo_find_record(ofs_store *store, const char *id, char **class_name);

/*
 * ofs_repo_load_record(store, ring, id, &rec, &json, &size): read and MAC-check a record.
 * json/size may be NULL; otherwise the raw bytes (caller frees).
 */
int ofs_repo_load_record(ofs_store *store, const ofs_keyring *ring, const char *id,
                         ofs_record **rec, char **json, size_t *size);

/*
 * ofs_repo_read_record(store, ring, class_name, id, &rec, &json, &size): load_record for a
 * known class folder (data/<class_name>/<id>/backup.json), as the manifest rebuild needs it.
 * Missing -> OFS_ENOTFOUND (from the store); MAC as ofs_record_parse; a record that authenticates
 * but names another id or class (copied from another backup's place) -> OFS_EAUTH.
 */
int ofs_repo_read_record(ofs_store *store, const ofs_keyring *ring, const char *class_name,
                         const char *id, ofs_record **rec, char **json, size_t *size);

/*
 * ofs_repo_list_records(store, &keys, &count): the keys of every data/<class>/<id>/backup.json
 * in store, in listing (lexicographic) order; a store without data/ gives none. Free with
 * ofs_repo_free_keys(keys, count).
 */
int ofs_repo_list_records(ofs_store *store, char ***keys, size_t *count);
void ofs_repo_free_keys(char **keys, size_t count);

/*
 * ofs_repo_open_object(store, ring, rec, name, &reader): a reader of the plaintext of one of
 * rec's objects: store get -> size and SHA-256 check against the record -> seal open (name
 * checked) -> zstd. Errors carry "OBJECT-KEY: " context; a missing object is OFS_ENOTFOUND,
 * a bad tag OFS_EAUTH, a hash mismatch OFS_ECORRUPT. The hash is checked when the stored bytes
 * end, and the seal releases a segment only after its tag verified, so damage in the last
 * segment of an object shows as OFS_ECORRUPT (the hash), damage before it as OFS_EAUTH (the
 * tag), a truncation as OFS_ECORRUPT (the size), another object under this name as OFS_EAUTH
 * (its sealed name).
 */
int ofs_repo_open_object(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                         const char *name, ofs_reader **out);

/* ofs_repo_open_catalog(store, ring, rec, &cr): the catalog reader of a backup. */
int ofs_repo_open_catalog(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                          ofs_catalog_reader **out);

#endif
