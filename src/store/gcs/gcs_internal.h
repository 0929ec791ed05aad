/*
 * gcs_internal.h - what the gcs driver's files in src/store/gcs/ share (private to the driver).
 */
#ifndef OFFSITE_GCS_INTERNAL_H
#define OFFSITE_GCS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "offsite/config.h"
#include "offsite/bwlimit.h"
#include "offsite/http.h"
#include "offsite/store.h"
#include "offsite/store_gcs.h"

#define GCS_CHUNK_UNIT ((uint64_t)256 << 10)    /* resumable chunks are multiples of this */
#define GCS_DEFAULT_PART ((uint64_t)16 << 20)
#define GCS_MIN_PART ((uint64_t)5 << 20)
#define GCS_MAX_PART ((uint64_t)5 << 30)
#define GCS_SESSION_MAX_AGE (6 * 86400)        /* Google keeps a session a week */

enum { GCS_AUTH_NONE, GCS_AUTH_KEY, GCS_AUTH_ENV, GCS_AUTH_METADATA };

typedef struct gcs_auth {
    int kind;                  /* GCS_AUTH_* */
    char *source;              /* for messages: the key file, "OFFSITE_GCS_TOKEN", the URL */
    char *client_email, *private_key, *private_key_id, *token_uri; /* GCS_AUTH_KEY */
    char *metadata_url;        /* GCS_AUTH_METADATA */
    pthread_mutex_t lock;      /* guards token and expires */
    char *token;               /* "Authorization: Bearer ..." line, or NULL */
    int64_t expires;           /* Unix seconds */
} gcs_auth;

typedef struct gcs_store {
    ofs_store parent;
    char *origin;          /* "https://storage.googleapis.com" or "http://127.0.0.1:9199" */
    char *bucket, *prefix; /* prefix: "" or "fleet/host/" */
    char *bucket_enc;      /* bucket, URL-encoded */
    char *storage_class;   /* or NULL */
    char *session_dir;     /* CACHE/gcs/: resumable-session files */
    uint64_t part_size;
    int parallel;
    int list_max;          /* maxResults of a listing page */
    double retry_budget;
    ofs_http_pool *pool;
    ofs_bwlimit *bwlimit;
    gcs_auth auth;
    const char *lock_mode; /* object retention: "Unlocked", "Locked", or NULL: none */
    ofs_config_retention retention; /* with lock_mode: the class ages (no strings) */
    pthread_mutex_t probe_lock; /* guards preconditions */
    int preconditions;     /* 0 not probed, 1 honoured, -1 ignored */
    int lock_checked;      /* the bucket was seen to have object retention (probe_lock) */
} gcs_store;

typedef struct gcs_request {
    const char *method;
    const char *url;                 /* complete URL (encoded) */
    const char *object;              /* full object name for messages, NULL: the bucket */
    const char *const *headers;      /* extra "Name: value" lines */
    size_t header_count;
    const void *body;
    size_t body_size;
    int stream;                      /* leave a 2xx body unread for the caller */
    int accept_308;                  /* 308 (resumable: more wanted) is an answer, not an error */
    int max_tries;                   /* 0: the driver's default */
} gcs_request;

typedef struct gcs_response {
    ofs_http *h;
    long status;
    char *body;                      /* unless stream */
    size_t body_size;
} gcs_response;

/* gcs_call(s, req, &resp): authorise and send req, retrying transient failures and a 401
 * once with a fresh token; return resp with gcs_response_done. */
int gcs_call(gcs_store *s, const gcs_request *req, gcs_response *resp);
void gcs_response_done(gcs_store *s, gcs_response *resp);

/* gcs_full_name(s, key): prefix + key, malloc'd (NULL when out of memory). */
char *gcs_full_name(const gcs_store *s, const char *key);

/* gcs_object_url(s, api, full_name, query, &url): ORIGIN[/upload]/storage/v1/b/BUCKET/o[/NAME]
 * [?QUERY]; api "" or "/upload"; full_name NULL for the collection; query already encoded. */
int gcs_object_url(const gcs_store *s, const char *api, const char *full_name,
                   const char *query, char **url);

/* gcs_object_meta(json, size, &info, &md5, &crc32c): size, updated, generation (as version)
 * of an object resource; md5/crc32c (may be NULL) get the base64 hashes, malloc'd or NULL. */
int gcs_object_meta(const char *json, size_t size, ofs_object_info *info, char **md5,
                    char **crc32c);

/* gcs_stat_full(s, full_name, &info): the object's metadata (GET without alt=media). */
int gcs_stat_full(gcs_store *s, const char *full_name, ofs_object_info *info);

/* gcs_delete_full(s, full_name): DELETE; absent is not an error. */
int gcs_delete_full(gcs_store *s, const char *full_name);

/* gcs_put/gcs_get/gcs_replace: the store ops (gcs_write.c, gcs_read.c, gcs_replace.c) */
int gcs_put(ofs_store *store, const char *key, unsigned flags, ofs_writer **out);
int gcs_get(ofs_store *store, const char *key, uint64_t offset, uint64_t length,
            ofs_reader **out);
int gcs_replace(ofs_store *store, const char *key, const char *version, const void *data,
                size_t size, char new_version[OFS_STORE_VERSION_MAX]);

/* an object's hashes as GCS reports them: base64 MD5 and big-endian base64 CRC-32C */
typedef struct {
    char md5[25];
    char crc32c[9];
} gcs_hashes;

/* gcs_media_upload(s, full_name, data, size, known, if_generation, &info): one uploadType=media
 * POST; known the body's hashes if the caller has them already (NULL: computed here);
 * if_generation NULL (none), "0" (only if absent) or a generation. Checks the md5 and crc32c
 * reported. A failed condition is OFS_EEXISTS (412). info may be NULL. */
int gcs_media_upload(gcs_store *s, const char *full_name, const void *data, size_t size,
                     const gcs_hashes *known, const char *if_generation, ofs_object_info *info);

/* gcs_preconditions_probe(s): whether ifGenerationMatch is honoured (sets s->preconditions
 * once; gcs_replace.c). */
int gcs_preconditions_probe(gcs_store *s);

/* gcs_bucket_url(s, query, &url): ORIGIN/storage/v1/b/BUCKET[?QUERY] (query encoded). */
int gcs_bucket_url(const gcs_store *s, const char *query, char **url);

/* gcs_bucket_get(s, fields, &doc): GET the bucket resource's fields (?fields=FIELDS) as a
 * JSON object (caller decrefs); OFS_ECORRUPT if the answer is not one. */
int gcs_bucket_get(gcs_store *s, const char *fields, json_t **doc);

/* gcs_versioning, gcs_lifecycle_sync: the store's lifecycle ops (gcs_lifecycle.c), as
 * store_gcs.h says. */
int gcs_versioning(ofs_store *store, int *versioned);
int gcs_lifecycle_sync(ofs_store *store, const ofs_lifecycle_rule *rules, size_t count,
                       int *changed);

/* ---- object retention (gcs_lock.c) ---- */

/* gcs_lock_settings(s, target, retention): object_lock from the target; OFS_ECONFIG for a bad
 * value, OFS_EUNSUPPORTED if it is on and retention is NULL. Sets OFS_STORE_CAP_OBJECT_LOCK. */
int gcs_lock_settings(gcs_store *s, const ofs_config_target *target,
                      const ofs_config_retention *retention);

/* gcs_lock_retention(s, key, now, &retention): the upload metadata's "retention" member for
 * key (relative to the prefix) written at now - {"mode": ..., "retainUntilTime": RFC 3339} -
 * or NULL when it is not locked (lock off, or a key outside data/CLASS/). Caller decrefs. */
int gcs_lock_retention(const gcs_store *s, const char *key, int64_t now, json_t **retention);

/* gcs_lock_check(s): with object retention on, that the bucket has it enabled (asked once
 * per store, at the first locked upload); OFS_ECONFIG with a HINT if not. */
int gcs_lock_check(gcs_store *s);

/* gcs_lock_refusal(s, full_name): after a delete refused with retentionPolicyNotMet, the
 * message that says until when (the object's retention, or the bucket policy's expiry, read
 * from its metadata): OFS_EDENIED. If the metadata says nothing, the refusal's own message
 * stays. */
int gcs_lock_refusal(gcs_store *s, const char *full_name);

/* ---- auth (gcs_auth.c) ---- */

/* gcs_auth_load(s, target): pick and load the credentials (no network). */
int gcs_auth_load(gcs_store *s, const ofs_config_target *target);

/* gcs_auth_header(s, &line): "Authorization: Bearer TOKEN" (malloc'd; caller cleanses and
 * frees), fetching a token when none is cached or it is about to expire; *line NULL for
 * GCS_AUTH_NONE. */
int gcs_auth_header(gcs_store *s, char **line);

/* gcs_auth_invalidate(s): forget the cached token (after a 401). */
void gcs_auth_invalidate(gcs_store *s);

/* gcs_auth_free(a): wipe and free. */
void gcs_auth_free(gcs_auth *a);

/* gcs_md5_base64(data, size, out): base64 MD5 (out holds 25 bytes). */
int gcs_md5_base64(const void *data, size_t size, char out[25]);

/* gcs_crc32c_base64(crc, out): the big-endian CRC in base64, as GCS reports it (9 bytes). */
void gcs_crc32c_base64(uint32_t crc, char out[9]);

#endif
