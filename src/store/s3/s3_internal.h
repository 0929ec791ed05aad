/*
 * s3_internal.h - what the s3 driver's files in src/store/s3/ share (private to the driver).
 */
#ifndef OFFSITE_S3_INTERNAL_H
#define OFFSITE_S3_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "offsite/config.h"
#include "offsite/bwlimit.h"
#include "offsite/http.h"
#include "offsite/s3_xml.h"
#include "offsite/sigv4.h"
#include "offsite/store.h"

#define S3_MIN_PART ((uint64_t)5 << 20)
#define S3_DEFAULT_PART ((uint64_t)16 << 20)
#define S3_MAX_PART ((uint64_t)5 << 30)
#define S3_MAX_PARTS 10000
#define S3_DEFAULT_PARALLEL 4
#define S3_MAX_PARALLEL 16

enum {
    S3_IF_MATCH_UNPROBED = 0,
    S3_IF_MATCH_QUOTED,   /* the ETag as HEAD gives it, quotes and all (AWS) */
    S3_IF_MATCH_BARE,     /* without its quotes (Ceph RGW compares the bare MD5) */
    S3_IF_MATCH_IGNORED   /* the server writes whatever the header says */
};

typedef struct s3_store {
    ofs_store parent;
    char *origin;          /* "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:7480" */
    char *host;            /* the Host header: "127.0.0.1:7480" or "bucket.s3.amazonaws.com" */
    char *base_path;       /* "/bucket" (path style) or "" (virtual hosted style) */
    char *bucket, *region, *prefix; /* prefix: "" or "fleet/host/" */
    char *storage_class;   /* or NULL */
    uint64_t part_size;
    int parallel;
    int list_max_keys;
    double retry_budget;   /* seconds of sleeping between attempts of one request */
    ofs_http_pool *pool;   /* connections, kept alive between requests */
    ofs_bwlimit *bwlimit; /* or NULL */
    char *access_key, *secret_key, *session_token;
    pthread_mutex_t lock;  /* guards skew */
    int64_t skew;          /* server clock minus ours, learnt from RequestTimeTooSkewed */
    const char *lock_mode; /* "GOVERNANCE", "COMPLIANCE", or NULL: no object lock */
    ofs_config_retention retention; /* with lock_mode: the class ages (no strings) */
    pthread_mutex_t lock_check; /* guards lock_checked */
    int lock_checked;      /* the bucket was seen to have object lock enabled */
    int if_match;          /* how the server takes If-Match on PUT: S3_IF_MATCH_* */
    int if_none_match;     /* If-None-Match: * on PUT: 0 not probed, 1 honoured, -1 ignored */
    int64_t date_offset;   /* the server's Date minus this host's clock, at the last answer
                              (guarded by lock; date_seen 0: no answer had a Date) */
    int date_seen;
} s3_store;

typedef struct s3_request {
    const char *method;
    const char *key;                 /* full object key (prefix included), NULL for the bucket */
    const ofs_sigv4_param *params;
    size_t param_count;
    const char *const *headers;      /* extra "name: value" headers, signed too */
    size_t header_count;
    const void *body;
    size_t body_size;
    const char *payload_hash;        /* hex SHA-256 of body; NULL: computed here */
    int stream;                      /* leave a 2xx body unread for the caller */
    int error_in_ok;                 /* a 200 may carry <Error> (CompleteMultipartUpload) */
    int max_tries;                   /* attempts at most; 0 = the driver's default */
} s3_request;

typedef struct s3_response {
    ofs_http *h;                     /* headers via ofs_http_header; body if stream */
    long status;
    char *body;                      /* the 2xx body unless stream */
    size_t body_size;
} s3_response;

/*
 * s3_call(s, req, &resp): sign and send req, retrying transient failures; on success resp
 * holds the handle (return it with s3_response_done). Errors as store_s3.h says.
 */
int s3_call(s3_store *s, const s3_request *req, s3_response *resp);
void s3_response_done(s3_store *s, s3_response *resp);

/* s3_head(s, full_key, &info, &etag): HEAD an object; etag (may be NULL) is malloc'd or NULL. */
int s3_head(s3_store *s, const char *full_key, ofs_object_info *info, char **etag);

/* s3_full_key(s, key): prefix + key, malloc'd (NULL on out of memory). */
char *s3_full_key(const s3_store *s, const char *key);

/* s3_get(s, key, offset, length, &r): the get reader (s3_read.c). */
int s3_get(ofs_store *store, const char *key, uint64_t offset, uint64_t length,
           ofs_reader **out);

/* s3_put(s, key, flags, &w): the put writer (s3_write.c). */
int s3_put(ofs_store *store, const char *key, unsigned flags, ofs_writer **out);

/*
 * s3_put_object(s, full_key, data, size, condition, &etag): one PUT with Content-MD5, the
 * storage class, the object-lock headers a data key gets, and condition ("If-None-Match: *",
 * "If-Match: ...", or NULL). *etag (etag may be NULL) is the answer's ETag, malloc'd, or NULL.
 * A failed condition is OFS_EEXISTS (412).
 */
int s3_put_object(s3_store *s, const char *full_key, const void *data, size_t size,
                  const char *condition, char **etag);

/* s3_object_is(s, full_key, data, size): 1 if the stored object is these bytes (size and MD5
 * ETag), as after a 412 to a retried conditional PUT whose first attempt landed. */
int s3_object_is(s3_store *s, const char *full_key, const void *data, size_t size);

/* s3_conditions_probe(s): how the server takes If-Match and If-None-Match on PUT, found with
 * an object of its own (s3_replace.c); sets s->if_match and s->if_none_match. < 0 only when
 * the probe object cannot be written at all. Called once, from the thread that puts. */
int s3_conditions_probe(s3_store *s);

/* s3_delete_plain(s, key): one DELETE of key (relative to the prefix), absent not an error;
 * no version listing even under object lock (for probes of keys never written). */
int s3_delete_plain(s3_store *s, const char *key);

/* s3_replace: the store's replace op (s3_replace.c), If-Match probed once per store */
int s3_replace(ofs_store *store, const char *key, const char *version, const void *data,
               size_t size, char new_version[OFS_STORE_VERSION_MAX]);

/* s3_content_md5(data, size, out): base64 MD5 for Content-MD5 (out holds 25 bytes). */
int s3_content_md5(const void *data, size_t size, char out[25]);

/* A paged S3 listing (ListMultipartUploads, ListParts, ListObjectVersions). */
typedef struct s3_pages {
    const char *key;                   /* full object key (ListParts), NULL for the bucket */
    const ofs_sigv4_param *params;     /* the first page's parameters (at most 4) */
    size_t param_count;
    const char *const *markers;        /* next pages: these parameters (at most 2)... */
    const char *const *next;           /* ...take the values of these root elements */
    size_t marker_count;
    const char *max_name;              /* "max-parts"...: sent with list_max_keys when lower
                                          than the server's 1000 (a testing aid) */
    const char *root;                  /* as ofs_s3_xml_each */
    const char *const *elements, *const *fields;
    ofs_s3_xml_entry_fn fn;
    void *ctx;
} s3_pages;

/* s3_paged_get(s, pages): GET every page, fn for each entry, while IsTruncated and the
 * server names where to go on (s3_resume.c). */
int s3_paged_get(s3_store *s, const s3_pages *pages);

/* A part an earlier run stored in an unfinished multipart upload. */
typedef struct s3_listed_part {
    char *etag;        /* as listed, quotes included; NULL: no such part */
    uint64_t size;
} s3_listed_part;

typedef struct s3_resume {
    char *upload_id;         /* NULL: nothing to resume */
    s3_listed_part *parts;   /* parts[n - 1] is part n */
    unsigned count;          /* highest part number listed */
    unsigned listed;         /* parts listed */
} s3_resume;

/*
 * s3_resume_find(s, full_key, &r): the unfinished multipart upload of exactly full_key with
 * the most parts (s3_resume.c), and its parts; every other upload of the key is aborted.
 * r->upload_id NULL if there is none. Free with s3_resume_free.
 */
int s3_resume_find(s3_store *s, const char *full_key, s3_resume *r);
void s3_resume_free(s3_resume *r);

/* s3_sweep(store, before, stats): abort every unfinished multipart upload under data/ that
 * was initiated before `before` (this host's time, moved by the server's Date offset):
 * ofs_store_sweep for s3. Uploads whose age the listing does not give are left. */
int s3_sweep(ofs_store *store, int64_t before, ofs_store_sweep_stats *stats);
void s3_listed_parts_free(s3_listed_part *parts, unsigned count);

/* s3_upload_abort(s, full_key, upload_id): AbortMultipartUpload, two attempts; an upload
 * already gone is not an error. */
int s3_upload_abort(s3_store *s, const char *full_key, const char *upload_id);

/* ---- object lock (s3_lock.c) ---- */

#define S3_LOCK_HEADER 96

/* s3_lock_settings(s, target, retention): object_lock from the target; OFS_ECONFIG for a bad
 * value, OFS_EUNSUPPORTED if it is on and retention is NULL. Sets OFS_STORE_CAP_OBJECT_LOCK. */
int s3_lock_settings(s3_store *s, const ofs_config_target *target,
                     const ofs_config_retention *retention);

/* s3_lock_headers(s, full_key, now, mode, until): the two retention headers ("name: value")
 * a data object is written with; returns 2, or 0 when it is not locked (lock off, or a key
 * outside data/<class>/, such as manifest.json); < 0 when out of memory. */
int s3_lock_headers(s3_store *s, const char *full_key, int64_t now, char mode[S3_LOCK_HEADER],
                    char until[S3_LOCK_HEADER]);

/* s3_lock_check(s): with object lock on, that the bucket has it enabled (asked once per
 * store); OFS_ECONFIG with a HINT if not. 0 when the lock is off. */
int s3_lock_check(s3_store *s);

/* s3_lock_enabled(s, &enabled): whether the bucket has object lock enabled (GET
 * ?object-lock; none configured is 0). */
int s3_lock_enabled(s3_store *s, int *enabled);

/* s3_lock_refusal(s, full_key, version_id): OFS_EDENIED "object is locked until DATE ...",
 * read from the version's HEAD, for a delete the server refused. */
int s3_lock_refusal(s3_store *s, const char *full_key, const char *version_id);

/* s3_lifecycle_get(s, &rules, &count): the bucket's lifecycle rules (none: count 0); free
 * with ofs_s3_xml_lifecycle_free (s3_lifecycle.c). */
int s3_lifecycle_get(s3_store *s, ofs_s3_lifecycle_rule **rules, size_t *count);

/* s3_now(s): Unix time on the server's clock (corrected after RequestTimeTooSkewed). */
int64_t s3_now(s3_store *s);

/*
 * s3_aws_settings(target, &region, &endpoint): where the target's requests go, as the AWS CLI
 * decides (store_s3.h): region never NULL, endpoint NULL for AWS itself. Both malloc'd.
 */
int s3_aws_settings(const ofs_config_target *target, char **region, char **endpoint);

/*
 * s3_credentials_load(target, &access, &secret, &token): as store_s3.h says; token may come
 * back NULL. Messages never include the secret.
 */
int s3_credentials_load(const ofs_config_target *target, char **access_key, char **secret_key,
                        char **session_token);

#endif
