/*
 * record.h - backup.json, a backup's record: written last, it is the commit point (a backup
 * exists if and only if its record exists). JSON readable with standard tools; holds
 * backup-level facts only (no file names) and an HMAC-SHA256 ("mac") keyed from the master key
 * (HKDF info "offsite v1 mac" of the key named by key_id) over the canonical serialisation
 * (docs/format.md "Records and manifest").
 */
#ifndef OFFSITE_RECORD_H
#define OFFSITE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/hash.h"
#include "offsite/keyring.h"

typedef struct ofs_record_object {
    char *name;                       /* "vol-0001.ofs", "catalog.ofs" */
    uint64_t size;                    /* stored (sealed) bytes */
    uint8_t sha256[OFS_SHA256_BYTES]; /* of the stored bytes */
} ofs_record_object;

typedef struct ofs_record {
    char *id;            /* <set>_<YYYYmmdd>_<HHMMSS>[_N] */
    char *set;
    char *kind;          /* "full" or "diff" */
    char *base;          /* id of the base full backup for "diff", else NULL */
    char *class_name;    /* "daily", "weekly", "monthly" */
    char *host;
    char *tool_version;
    char *description;   /* or NULL */
    int64_t started, finished; /* Unix seconds (UTC) */
    uint8_t key_id[OFS_KEY_ID_BYTES];
    uint64_t files;          /* catalog entries */
    uint64_t bytes;          /* source bytes of regular files */
    uint64_t stored_bytes;   /* sum of object sizes */
    uint32_t volumes;        /* number of vol-NNNN.ofs objects */
    ofs_record_object *objects; /* volumes in order, then catalog.ofs */
    size_t object_count;
} ofs_record;

/* ofs_record_new(&rec): an empty record (all zero/NULL). */
int ofs_record_new(ofs_record **out);
void ofs_record_free(ofs_record *rec);
/* ofs_record_add_object(rec, name, size, sha256): append to objects. */
int ofs_record_add_object(ofs_record *rec, const char *name, uint64_t size,
                          const uint8_t sha256[OFS_SHA256_BYTES]);
/* ofs_record_find_object(rec, name): the object or NULL. */
const ofs_record_object *ofs_record_find_object(const ofs_record *rec, const char *name);

/*
 * ofs_record_serialize(rec, ring, &json, &size): canonical JSON with "mac" computed with the
 * key named by rec->key_id (which must be in ring). Caller frees *json.
 */
int ofs_record_serialize(const ofs_record *rec, const ofs_keyring *ring, char **json,
                         size_t *size);

/*
 * ofs_record_parse(&rec, json, size, ring, name): parse and, when ring is not NULL, check the
 * MAC: OFS_EAUTH "NAME: record MAC mismatch (modified, or wrong key)", OFS_ENOTFOUND if the
 * key id is not in ring, OFS_ECORRUPT for malformed JSON or fields. ring NULL skips the check
 * (monitoring without the key).
 */
int ofs_record_parse(ofs_record **out, const char *json, size_t size, const ofs_keyring *ring,
                     const char *name);

/* ofs_record_volume_name(n, buf): "vol-%04u.ofs" into buf[32]. */
void ofs_record_volume_name(uint32_t n, char buf[32]);

#endif
