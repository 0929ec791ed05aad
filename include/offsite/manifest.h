/*
 * manifest.h - manifest.json: the index of all committed backups in one store, for fast
 * listing from anywhere. Derived from the records (it can always be rebuilt from a listing of
 * data/), JSON with an HMAC-SHA256 like the records. It is the only object a host rewrites.
 */
#ifndef OFFSITE_MANIFEST_H
#define OFFSITE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/store.h"

#define OFS_MANIFEST_KEY "manifest.json"

typedef struct ofs_manifest_entry {
    char *id, *set, *kind, *base, *class_name, *host, *description;
    int64_t started, finished;
    uint64_t files, bytes, stored_bytes;
    uint8_t record_sha256[OFS_SHA256_BYTES]; /* SHA-256 of the backup.json bytes */
} ofs_manifest_entry;

typedef struct ofs_manifest_change ofs_manifest_change;

typedef struct ofs_manifest {
    ofs_manifest_entry *entries; /* sorted by started, then id (oldest first) */
    size_t count;
    int64_t updated;
    uint8_t key_id[OFS_KEY_ID_BYTES];
    /* for ofs_manifest_save's compare-and-swap; only manifest.c touches these */
    const ofs_store *origin;     /* the store it was read from or last saved to, or NULL */
    char version[OFS_STORE_VERSION_MAX]; /* the stored object's version then; "" = absent */
    int rebuilt;                 /* made from the records, not read */
    ofs_manifest_change *changes; /* adds and removes since, replayed after a conflict */
    size_t change_count;
} ofs_manifest;

int ofs_manifest_new(ofs_manifest **out);
void ofs_manifest_free(ofs_manifest *m);

/*
 * ofs_manifest_load(&m, store, ring): read and check manifest.json. OFS_ENOTFOUND if the store
 * has none (a new store), OFS_EAUTH on a MAC mismatch, OFS_EWRONGKEY (with a HINT) if it was
 * written with a key the ring lacks: the repository is bound to its key, and a command
 * holding another key must refuse it, never start it over. ring NULL skips the MAC check.
 */
int ofs_manifest_load(ofs_manifest **out, ofs_store *store, const ofs_keyring *ring);

/*
 * ofs_manifest_save(m, store, ring): MAC with the ring's current key and replace atomically -
 * and only if the stored manifest is still the one m was read from (ofs_store_replace), so
 * two hosts pushing to one prefix never lose each other's entries: when another writer got
 * there first, the stored manifest is read again (rebuilt from the records if m was), the
 * adds and removes made to m since it was read are applied to it, and the write is tried
 * again (up to 8 times, with a short random pause). m then holds the merged manifest.
 * OFS_ECONFLICT if every try lost the race.
 */
int ofs_manifest_save(ofs_manifest *m, ofs_store *store, const ofs_keyring *ring);

/*
 * ofs_manifest_add(m, rec, record_json, record_size): add (or replace, by id) the entry for a
 * record; keeps the order. record_json is the record file as stored (its SHA-256 goes into the
 * entry). OFS_ECORRUPT naming the member if rec breaks the id/kind/base/class rules, so a
 * saved manifest always loads again.
 */
int ofs_manifest_add(ofs_manifest *m, const ofs_record *rec, const char *record_json,
                     size_t record_size);

/* ofs_manifest_remove(m, id): drop an entry; OFS_ENOTFOUND if absent. */
int ofs_manifest_remove(ofs_manifest *m, const char *id);

/* ofs_manifest_find(m, id): the entry or NULL. */
const ofs_manifest_entry *ofs_manifest_find(const ofs_manifest *m, const char *id);

/*
 * ofs_manifest_id_compare(a, b): backup ids in the order they were made: the ids of one
 * second, SET_STAMP, SET_STAMP_2 ... SET_STAMP_10, by their number, not as text (where _10
 * would sort before _9). ofs_manifest_entry_order(x, y): by started, then so by id - the
 * order of m->entries.
 */
int ofs_manifest_id_compare(const char *a, const char *b);
int ofs_manifest_entry_order(const ofs_manifest_entry *x, const ofs_manifest_entry *y);

/* ofs_manifest_latest(m, set): the newest entry of set (any set if NULL), or NULL. */
const ofs_manifest_entry *ofs_manifest_latest(const ofs_manifest *m, const char *set);

/*
 * ofs_manifest_rebuild(&m, store, ring): a manifest built from every data/<class>/<id>/
 * backup.json in store (records whose MAC fails are skipped and reported via ofs_log_warn;
 * a record under a key the ring lacks fails it with OFS_EWRONGKEY, never left out).
 */
int ofs_manifest_rebuild(ofs_manifest **out, ofs_store *store, const ofs_keyring *ring);

/*
 * ofs_manifest_lacked(m, store, id, size): 1 if store holds a backup record m has no entry
 * for (its id copied into id), 0 if none, negative on a listing error. A backup whose
 * manifest update failed after its commit (a full disk) is still a backup.
 */
int ofs_manifest_lacked(const ofs_manifest *m, ofs_store *store, char *id, size_t size);

#endif
