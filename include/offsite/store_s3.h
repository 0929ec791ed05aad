/*
 * store_s3.h - the s3 store driver: any S3-compatible service (AWS, Ceph RGW, MinIO, ...),
 * signed with AWS Signature Version 4 (sigv4.h) over libcurl (http.h).
 *
 * Objects live under "<prefix>/" in the bucket; keys given to and returned by the store are
 * relative to that prefix. put buffers up to part_size (default 16 MiB, at least 5 MiB): a
 * smaller object is one PUT with Content-MD5 and its real SHA-256 as payload hash; a larger
 * one is a multipart upload with up to `parallel` parts in flight (default 4), each with
 * Content-MD5 and SHA-256, completed by finish and checked with a HEAD (size); free without
 * finish aborts it - unless the writer failed transiently (the link, not the data) with
 * parts stored: those stay for the next run.
 *
 * Resume: a multipart put first looks for an unfinished upload of the same key that an
 * interrupted run left (ListMultipartUploads, ListParts: the server is the record, no local
 * state). It continues the one with the most parts, keeping each listed part whose size and
 * ETag (MD5) match the bytes it is about to send and sending the others again, and aborts
 * any other upload of that key. Logged at info ("resumed an interrupted upload: 2 of 3
 * parts were already there"). Needs s3:ListBucketMultipartUploads and s3:ListMultipartUpload-
 * Parts; without them it uploads afresh.
 *
 * OFS_PUT_IF_ABSENT sends If-None-Match: * (atomic on AWS and Ceph RGW; probed with the
 * If-Match probe below: where the server ignores it, a HEAD first, which is not atomic; for
 * multipart objects always a HEAD before completing). get streams and, if
 * the connection drops mid-body, resumes with a Range request pinned to the object's ETag.
 * stat's version is the ETag. replace (ofs_store_replace, the manifest's compare-and-swap) is
 * one PUT with If-Match: ETAG, or If-None-Match: * for "absent"; the first replace of a store
 * probes how the server takes If-Match with an object of its own ("offsite-probe/if-match-
 * RANDOM", deleted after; see s3_replace.c): quoted (AWS), bare (Ceph RGW), or ignored - then
 * replace is OFS_EUNSUPPORTED and the store layer checks, then writes. The probe runs at the
 * first replace or if-absent put. del_many is
 * ofs_store_s3_delete_many.
 *
 * Every request is retried inside the driver when it fails transiently (5xx, 429, SlowDown,
 * RequestTimeout, resets, timeouts) with exponential backoff and jitter within a time budget
 * (at most 6 attempts, 20 s of sleeping between them and 2 minutes more of attempts; the
 * environment variable OFFSITE_RETRY_BUDGET, in seconds, replaces the 20, "0" = no retries),
 * re-signed each time; a connection that moves no data for 60 s counts as a failed attempt.
 * RequestTimeTooSkewed corrects the clock from the server's Date and re-signs at once.
 * Refusals (403) are not retried and carry a HINT.
 * Server errors read "Code: Message (bucket B, key K)". Secrets never reach a message or log.
 *
 * Credentials: if the target names credentials_file or profile, the AWS shared credentials
 * file (default ~/.aws/credentials, or AWS_SHARED_CREDENTIALS_FILE) and profile (default
 * AWS_PROFILE, else "default"); otherwise AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN from the environment; otherwise the default shared credentials file.
 *
 * Object lock (object_lock = governance|compliance; the bucket must have been created with
 * object lock enabled, checked once at the first put: OFS_ECONFIG with a HINT if not): every
 * object under data/<class>/ is written (PUT or CreateMultipartUpload) with
 * x-amz-object-lock-mode and x-amz-object-lock-retain-until-date = now + the class's age in
 * the target's retention policy (ofs_retention_expiry) + 1 day; manifest.json and anything
 * outside data/ is never locked. Deletes then remove the key's versions (a plain DELETE in a
 * lock-enabled, hence versioned, bucket only adds a delete marker): a locked one is
 * OFS_EDENIED "object is locked until DATE (MODE mode; bucket B, key K)".
 *
 * Caps: RANGE, CONDITIONAL, LIFECYCLE (see ofs_store_s3_lifecycle_sync), RETRIES,
 * CONCURRENT unless a bwlimit is set (each part is paced at bwlimit / parallel, so a second
 * object's parts in flight would exceed the limit), ATOMIC_REPLACE once the probe found the
 * conditions honoured, and OBJECT_LOCK when object_lock is on.
 */
#ifndef OFFSITE_STORE_S3_H
#define OFFSITE_STORE_S3_H

#include "offsite/config.h"
#include "offsite/store.h"

/*
 * ofs_store_s3_new(&store, target): an s3 store for a [target] section with type = s3.
 * Checks the settings and loads credentials; does not touch the network. OFS_ECONFIG naming
 * the target and its line for a bad setting or missing credentials, OFS_ENOTFOUND for a
 * named credentials file that does not exist, OFS_EDENIED if it cannot be read.
 */
int ofs_store_s3_new(ofs_store **out, const ofs_config_target *target);

/*
 * ofs_store_s3_new_with_retention(&store, target, retention): the same, with the retention
 * policy that applies to the target (ofs_config_target_retention) for object_lock; retention
 * may be NULL when object_lock is off (with it on, NULL is OFS_EUNSUPPORTED: no date to lock
 * until). ofs_store_s3_new(out, target) is this with NULL.
 */
int ofs_store_s3_new_with_retention(ofs_store **out, const ofs_config_target *target,
                                    const ofs_config_retention *retention);

/* ofs_lifecycle_rule: see store.h (shared with gcs). */

/* Where offsite writes and deletes probe objects, relative to the target's prefix: `init`'s
 * write check (cmd_init.c) and the s3 driver's If-Match probe (s3_replace.c). In a versioned
 * bucket a target without object_lock (which deletes every version) leaves each behind as a
 * noncurrent version under a delete marker. */
#define OFS_S3_PROBE_PREFIX OFS_STORE_PROBE_PREFIX

/*
 * ofs_store_s3_versioning(store, &versioned): whether deleting an object in the target's
 * bucket leaves its data behind as a noncurrent version: GET ?versioning says Enabled or
 * Suspended, or the target has object_lock on (a lock bucket is always versioned; not asked
 * then). A server without versioning (501) is not versioned. The lifecycle rules of a
 * versioned bucket need noncurrent_days and a delete-marker rule, or an Expiration only
 * hides the data behind a delete marker. OFS_EDENIED without s3:GetBucketVersioning,
 * OFS_EUNSUPPORTED if store is not s3.
 */
int ofs_store_s3_versioning(ofs_store *store, int *versioned);

/*
 * ofs_store_s3_lifecycle_sync(store, rules, count, &changed): make the bucket's lifecycle
 * configuration hold exactly these rules for this target (rule IDs "offsite:PREFIX:RULE-
 * PREFIX", so several hosts' prefixes in one bucket do not clobber each other; the rules'
 * prefixes must differ), keeping every rule offsite did not write verbatim; then read it
 * back and compare every element a rule sets (expiration or delete marker, transition,
 * noncurrent expiration, multipart abort). *changed (may be NULL) says whether a PUT was
 * needed. The caller decides the rules (see ofs_store_s3_versioning); nothing is added
 * here. OFS_ECONFIG for a rule without a prefix or an action, with both expiration_days
 * and expired_delete_marker, or with a prefix given twice, OFS_EUNSUPPORTED if store is not
 * s3 or the server has no lifecycle support, OFS_ECORRUPT naming the rule if the read-back
 * differs, OFS_EDENIED without s3:PutLifecycleConfiguration.
 */
int ofs_store_s3_lifecycle_sync(ofs_store *store, const ofs_lifecycle_rule *rules,
                                size_t count, int *changed);

/*
 * ofs_store_s3_delete_many(store, keys, count): delete these keys (relative to the target's
 * prefix) with multi-object deletes of up to 1000 keys each (POST ?delete, Content-MD5).
 * Absent keys are not an error. With object lock, every version of each key (one listing per
 * key). Returns 0, or the code of the first key not deleted with a message naming it and how
 * many failed: OFS_EDENIED (AccessDenied; "object is locked until DATE" under object lock),
 * OFS_ETRANSIENT (the server's own trouble: deleting again is safe), OFS_ECONFIG for a bad
 * key, OFS_EUNSUPPORTED if store is not s3.
 */
int ofs_store_s3_delete_many(ofs_store *store, const char *const *keys, size_t count);

/* What `doctor` reads of a target's bucket (ofs_store_s3_inspect). -1 in an int: could not
 * tell (the question was refused). */
typedef struct ofs_s3_bucket_facts {
    int versioned;            /* deleting or overwriting leaves the old data as a version */
    int object_lock;          /* the bucket has object lock enabled */
    int lock_objects;         /* the target writes objects locked (object_lock = MODE) */
    const char *lock_mode;    /* "GOVERNANCE", "COMPLIANCE" or NULL (static) */
    int lifecycle_rules;      /* rules in the bucket's lifecycle configuration */
    int probe_rule;           /* one of them expires the current objects under
                                 OFS_STORE_PROBE_PREFIX (what a write-only host leaves) */
    int may_put_lifecycle;    /* OFS_ABLE_*: these credentials may replace the lifecycle rules
                                 (and so expire every backup at once) */
    int may_delete_versions;  /* OFS_ABLE_*: may delete a version (s3:DeleteObjectVersion),
                                 which destroys data a plain delete only hides */
    int clock_known;          /* an answer carried a Date */
    int64_t clock_offset;     /* the server's clock minus this host's, seconds */
} ofs_s3_bucket_facts;

/*
 * ofs_store_s3_inspect(store, host, &facts): versioning, object lock, lifecycle rules and the
 * server's clock, and whether these credentials may replace lifecycle rules or delete
 * versions - asked with requests that cannot take effect (a malformed lifecycle document, a
 * version of a key that does not exist: S3 refuses the unpermitted before it reads the rest),
 * so nothing is changed. OFS_EUNSUPPORTED if store is not s3; other errors are the server's.
 */
int ofs_store_s3_inspect(ofs_store *store, const char *host, ofs_s3_bucket_facts *facts);

#endif
