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
 * ofs_record_serialize(rec, ring, &json, &size): the backup.json text (indented, keys sorted,
 * final newline) with "mac" computed over the canonical form with the key named by
 * rec->key_id (OFS_ENOTFOUND if ring lacks it). stored_bytes is written as the sum of the
 * object sizes. The text is parsed back before it is returned, so a record that
 * ofs_record_parse would refuse is never written (OFS_ERROR naming the member). Caller frees
 * *json.
 */
int ofs_record_serialize(const ofs_record *rec, const ofs_keyring *ring, char **json,
                         size_t *size);

/*
 * ofs_record_parse(&rec, json, size, ring, name): parse and, when ring is not NULL, check the
 * MAC: OFS_EAUTH "NAME: record MAC mismatch (modified, or wrong key)", OFS_EWRONGKEY if the
 * key id is not in ring, OFS_ECORRUPT for malformed JSON or fields. ring NULL skips the check
 * (monitoring without the key).
 */
int ofs_record_parse(ofs_record **out, const char *json, size_t size, const ofs_keyring *ring,
                     const char *name);

/* ofs_record_volume_name(n, buf): "vol-%04u.ofs" into buf[32]. */
void ofs_record_volume_name(uint32_t n, char buf[32]);

/* ---- JSON machinery shared by record.c and manifest.c (docs/format.md section 6) ---- */

struct json_t; /* jansson's json_t */

/* How one member of a JSON object maps to a C struct field (tables in record.c, manifest.c). */
typedef enum ofs_record_json_type {
    OFS_RECORD_JSON_STRING,          /* char *, required */
    OFS_RECORD_JSON_STRING_OPTIONAL, /* char *, omitted when NULL */
    OFS_RECORD_JSON_TIME,            /* int64_t Unix seconds <-> "YYYY-mm-ddTHH:MM:SSZ" */
    OFS_RECORD_JSON_UINT64,          /* uint64_t, at most INT64_MAX (JSON integers are signed) */
    OFS_RECORD_JSON_UINT32,          /* uint32_t */
    OFS_RECORD_JSON_SHA256           /* uint8_t[32] <-> 64 lowercase hex */
} ofs_record_json_type;

typedef struct ofs_record_json_field {
    const char *member;
    ofs_record_json_type type;
    size_t offset; /* offsetof the field in the struct */
} ofs_record_json_field;

/*
 * ofs_record_json_read(obj, fields, count, out, name, where): fill out's fields from obj's
 * members. OFS_ECORRUPT "NAME: member 'WHEREmember' ..." for a missing member or a wrong type
 * or value. Strings are malloc'd into out even on failure (the caller frees out).
 */
int ofs_record_json_read(const struct json_t *obj, const ofs_record_json_field *fields,
                         size_t count, void *out, const char *name, const char *where);

/* ofs_record_json_write(obj, fields, count, in): set obj's members from in's fields. OFS_ECONFIG
 * for a string that is not UTF-8, OFS_ERROR for a number out of range or out of memory. */
int ofs_record_json_write(struct json_t *obj, const ofs_record_json_field *fields, size_t count,
                          const void *in);

/*
 * ofs_record_json_check(name, where, id, set, kind, base, class_name): the rules every record
 * and manifest entry follows: a well-formed id of set, kind "full" or "diff", base present
 * (another id of the set) if and only if kind is "diff", class daily|weekly|monthly.
 * OFS_ECORRUPT naming the member.
 */
int ofs_record_json_check(const char *name, const char *where, const char *id, const char *set,
                          const char *kind, const char *base, const char *class_name);

/*
 * ofs_record_json_load(&obj, text, size, format, name): parse text (duplicate members refused)
 * into a JSON object whose "format" is format and "version" 1; OFS_ECORRUPT otherwise.
 * Caller json_decref()s *obj.
 */
int ofs_record_json_load(struct json_t **out, const char *text, size_t size, const char *format,
                         const char *name);

/*
 * ofs_record_mac_sign(obj, ring, key_id): set obj's "key_id" and its "mac" (section 6.1)
 * keyed from the master key key_id; OFS_ENOTFOUND if ring lacks it.
 * ofs_record_mac_check(obj, ring, name, what): check "key_id" and "mac" are well formed
 * (OFS_ECORRUPT) and, when ring is not NULL, that the MAC matches in constant time:
 * OFS_EWRONGKEY "NAME: key K is not in the key file (it holds key L)", OFS_EAUTH "NAME: WHAT MAC mismatch
 * (modified, or wrong key)".
 */
int ofs_record_mac_sign(struct json_t *obj, const ofs_keyring *ring,
                        const uint8_t key_id[OFS_KEY_ID_BYTES]);
int ofs_record_mac_check(const struct json_t *obj, const ofs_keyring *ring, const char *name,
                         const char *what);

/* ofs_record_json_dump(obj, &text, &size): the file form: indented by 2, keys sorted, a final
 * newline. Caller frees *text. */
int ofs_record_json_dump(const struct json_t *obj, char **text, size_t *size);

#endif
