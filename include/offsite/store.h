/*
 * store.h - a store: a flat namespace of immutable objects addressed by key.
 *
 * Five operations - put (streamed), get (whole or a byte range), stat, list (by prefix, paged),
 * delete - plus a capability query. Drivers (file, s3, gcs, rsync) implement struct
 * ofs_store_ops; everything above the store layer calls the ofs_store_* functions, which check
 * keys, add "target NAME: KEY: " context to errors, retry OFS_ETRANSIENT failures within a time
 * budget, and consult caps before optional operations. Nothing outside src/store reads ops.
 *
 * Keys are relative ("manifest.json", "data/daily/ID/vol-0001.ofs"): no leading '/', no empty,
 * "." or ".." component, no component starting with ".tmp", printable UTF-8, at most 1024 bytes.
 *
 * Driver contract for put's writer:
 *   finish  commits: the object appears under its key whole or not at all.
 *           file: temporary file in the same directory, fsync, rename, fsync of the directory.
 *           (s3: PUT or complete multipart; gcs: final chunk + MD5/size check; rsync: upload to
 *           a temporary name, then rename.)
 *   free    without finish aborts: the temporary file is unlinked / upload aborted. Readers
 *           never see a partial object under its key.
 *   With OFS_PUT_IF_ABSENT, finish fails with OFS_EEXISTS if the key exists (atomically where
 *   the store supports it: caps & OFS_STORE_CAP_CONDITIONAL).
 * Driver contract for get: OFS_ENOTFOUND if absent (checked when get is called, not at the
 * first read); length 0 means "to the end".
 * Driver contract for list: calls fn for every object whose key starts with prefix, in
 * lexicographic key order, never for temporary objects; fn returning non-zero stops the
 * listing and list returns that value.
 * Driver contract for del: deleting an absent key is not an error (idempotent).
 * Optional ops (NULL: the store layer does without): replace, a compare-and-swap of a small
 * object (returning OFS_EUNSUPPORTED when the server turns out unable: the layer then falls
 * back as ofs_store_replace says); del_many, a batched delete.
 */
#ifndef OFFSITE_STORE_H
#define OFFSITE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/bwlimit.h"
#include "offsite/config.h"
#include "offsite/stream.h"

enum {
    OFS_STORE_CAP_RANGE = 1 << 0,       /* get with offset/length is served natively */
    OFS_STORE_CAP_CONDITIONAL = 1 << 1, /* OFS_PUT_IF_ABSENT is atomic */
    OFS_STORE_CAP_LIFECYCLE = 1 << 2,   /* provider-side expiry rules */
    OFS_STORE_CAP_OBJECT_LOCK = 1 << 3, /* retain-until dates */
    OFS_STORE_CAP_LOCAL = 1 << 4,       /* reads are cheap (local disk): re-hashing is fine */
    OFS_STORE_CAP_RETRIES = 1 << 5,     /* the driver retries transient failures itself (with
                                           its own budget): the store layer does not again */
    OFS_STORE_CAP_CONCURRENT = 1 << 6,  /* one writer may finish on another thread while the
                                           store is used on this one */
    OFS_STORE_CAP_ATOMIC_REPLACE = 1 << 7, /* ofs_store_replace is a true compare-and-swap (s3:
                                           known once the first replace has probed) */
    OFS_STORE_CAP_DELETE_REFUSED = 1 << 8 /* these credentials may not delete (a write-only
                                           target): `delete = no` in the [target], or learnt
                                           by ofs_store_delete_check; ofs_store_del and
                                           del_many then refuse at once, touching nothing */
};

/* Where offsite writes probe objects (init's checks, the s3 If-Match probe), relative to a
 * target's root. Nothing under it is part of a repository; where delete is refused the
 * probes stay, one fixed key per host and purpose, until a lifecycle rule over this prefix
 * (offsite retention sync writes one) expires them. */
#define OFS_STORE_PROBE_PREFIX "offsite-probe/"


enum {
    OFS_PUT_IF_ABSENT = 1 << 0
};

/*
 * A provider-side rule for the objects under one prefix of the target (a key prefix, not
 * only a folder: "manifest.json" works). It needs at least one action, and not both
 * expiration_days and expired_delete_marker (S3 refuses both in one Expiration, so the
 * delete-marker cleanup goes into a rule without an expiration age). Each driver renders it
 * in its provider's terms (store_s3.h, store_gcs.h say how).
 */
typedef struct ofs_lifecycle_rule {
    const char *prefix;          /* relative to the target's prefix: "data/daily/" */
    int expiration_days;         /* delete objects this many days after they were written */
    int abort_multipart_days;    /* abort unfinished multipart uploads after this; 0 = no */
    int transition_days;         /* move to transition_class after this; 0 = no (S3 wants
                                    it below expiration_days; AWS also wants 30 or more for
                                    STANDARD_IA and ONEZONE_IA: not checked here) */
    const char *transition_class;
    int noncurrent_days;         /* versioned bucket: remove a version this many days after
                                    it stopped being the current one; 0 = no */
    int expired_delete_marker;   /* versioned bucket: remove delete markers no version is
                                    left behind */
} ofs_lifecycle_rule;

#define OFS_STORE_VERSION_MAX 96

typedef struct ofs_object_info {
    uint64_t size;
    int64_t mtime;      /* Unix seconds, or 0 if unknown */
    /* from stat: a token that changes whenever the object is written again (s3: the ETag;
     * file: inode, size and mtime in ns; otherwise size and mtime); "" in listings */
    char version[OFS_STORE_VERSION_MAX];
} ofs_object_info;

typedef struct ofs_store ofs_store;

/* What ofs_store_sweep removed. */
typedef struct ofs_store_sweep_stats {
    uint64_t objects, bytes; /* temporary objects / unfinished uploads removed, their size
                                (bytes: where the store knows it) */
    uint64_t folders;        /* empty backup folders (data/CLASS/ID) removed */
} ofs_store_sweep_stats;

/* fn(ctx, key, info): one listed object; return non-zero to stop. */
typedef int (*ofs_store_list_fn)(void *ctx, const char *key, const ofs_object_info *info);

struct ofs_store_ops {
    int (*put)(ofs_store *s, const char *key, unsigned flags, ofs_writer **out);
    int (*get)(ofs_store *s, const char *key, uint64_t offset, uint64_t length, ofs_reader **out);
    int (*stat)(ofs_store *s, const char *key, ofs_object_info *info);
    int (*list)(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx);
    int (*del)(ofs_store *s, const char *key);
    void (*free)(ofs_store *s);
    /* optional: put data under key only if key is still at version ("" = absent); on
     * success *new_version is the version written. OFS_ECONFLICT if it changed. */
    int (*replace)(ofs_store *s, const char *key, const char *version, const void *data,
                   size_t size, char new_version[OFS_STORE_VERSION_MAX]);
    /* optional: delete these keys, absent ones not an error */
    int (*del_many)(ofs_store *s, const char *const *keys, size_t count);
    /* optional: remove what unfinished writes started before `before` left (see
     * ofs_store_sweep) and add to stats */
    int (*sweep)(ofs_store *s, int64_t before, struct ofs_store_sweep_stats *stats);
    /* optional, with OFS_STORE_CAP_LIFECYCLE: provider retention (ofs_store_versioning,
     * ofs_store_lifecycle_sync) */
    int (*versioning)(ofs_store *s, int *versioned);
    int (*lifecycle_sync)(ofs_store *s, const struct ofs_lifecycle_rule *rules, size_t count,
                          int *changed);
};

/* Drivers embed this as their first member. */
struct ofs_store {
    const struct ofs_store_ops *ops;
    char *name;        /* "staging" or the target's name, for messages */
    char *description; /* "file /var/backups/nas" - for messages and `init` */
    unsigned caps;
    ofs_bwlimit *bwlimit; /* uploads the store layer paces (drivers without a limit of their
                             own: file); NULL = none. Freed by ofs_store_free */
};

/*
 * ofs_store_open(&store, target, retention, cache_dir): open the driver a [target] section
 * names. retention is the policy that applies to the target (ofs_config_target_retention),
 * which an s3 target with object_lock needs for its retain-until dates (NULL otherwise
 * fine). cache_dir is a local directory a driver may spool through (rsync; NULL = $TMPDIR);
 * the CLI passes STATE_DIR/cache. Unknown or not yet built types are OFS_EUNSUPPORTED naming
 * the config file line. Every failure names the target and its line ("target 'nas' (line
 * 12): ..."), whichever driver it came from.
 */
int ofs_store_open(ofs_store **out, const ofs_config_target *target,
                   const ofs_config_retention *retention, const char *cache_dir);

/*
 * ofs_store_check_target(target): what `config check` can learn of a target's driver settings
 * without touching the network or the disk: for gcs, its settings and the service-account key
 * file (OFS_ECONFIG naming the file and the field); for rsync, the url, ssh_command and
 * password_file (a private spool directory is made and removed). 0 for drivers it cannot
 * check so (file, s3: their values are checked when the configuration is loaded).
 */
int ofs_store_check_target(const ofs_config_target *target);

/*
 * ofs_store_file_new(&store, name, root): a file store rooted at root (created if missing,
 * with parents). Used for staging and for `type = file` targets.
 */
int ofs_store_file_new(ofs_store **out, const char *name, const char *root);

/*
 * ofs_store_sweep(store, before, &stats): remove the debris of writes that never finished and
 * were started before `before` (Unix seconds): a file store's ".tmp-*" files and the empty
 * folders of deleted or abandoned backups (file), unfinished multipart uploads under data/
 * (s3). Listings never show these, so nothing that works on objects would ever remove them.
 * The caller picks `before` so that no live writer's debris qualifies: the start of its own
 * run under the lock where the store is this host's alone (staging), a day ago for what
 * another host may be writing on a shared target. Never run it where a put of this run may
 * still resume (s3 continues an unfinished upload of the same key): after a push completed.
 * Stores with nothing to sweep (gcs: sessions expire on their own) return 0. stats is
 * zeroed first. A write-only target's refused delete is not an error: stats stay lower.
 */
int ofs_store_sweep(ofs_store *s, int64_t before, ofs_store_sweep_stats *stats);

int ofs_store_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out);
int ofs_store_get(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                  ofs_reader **out);
int ofs_store_stat(ofs_store *s, const char *key, ofs_object_info *info);
int ofs_store_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx);
int ofs_store_del(ofs_store *s, const char *key);
unsigned ofs_store_caps(const ofs_store *s);
const char *ofs_store_name(const ofs_store *s);
void ofs_store_free(ofs_store *s);

/*
 * ofs_store_put_buffer(s, key, flags, data, size): put a small object in one call.
 * ofs_store_get_buffer(s, key, &data, &size, max): read a whole small object (NUL-terminated;
 * caller frees). Objects over max bytes are OFS_ECORRUPT.
 */
int ofs_store_put_buffer(ofs_store *s, const char *key, unsigned flags, const void *data,
                         size_t size);
int ofs_store_get_buffer(ofs_store *s, const char *key, char **data, size_t *size, size_t max);

/*
 * ofs_store_replace(s, key, version, data, size, new_version): write a small object only if
 * key still holds the version a stat returned (version "" = only if key is absent), so two
 * writers of one object (two hosts updating one manifest) cannot silently overwrite each
 * other: OFS_ECONFLICT if another write came first - read again, merge, retry. On success
 * new_version (may be NULL) is the version now stored, for the next replace. A retried
 * attempt that finds exactly these bytes stored takes them as its own earlier attempt's.
 * Atomic on s3 servers that honour If-Match (probed once per store: AWS, Ceph RGW) and on
 * file stores (an flock of the object's directory around check and rename). Elsewhere (rsync,
 * s3 servers that ignore If-Match) it is check-then-write: a stat, then a put - a window of a
 * round trip in which another writer's update can be lost (logged once at info).
 */
int ofs_store_replace(ofs_store *s, const char *key, const char *version, const void *data,
                      size_t size, char new_version[OFS_STORE_VERSION_MAX]);

/*
 * ofs_store_replace_checked(s, key, version, data, size, new_version): for drivers - the
 * check-then-write through s's own ops (a stat, then a put; messages without the "NAME: KEY: "
 * context). It is ofs_store_replace's fallback; a driver that holds a lock around it (file:
 * an flock of the directory) has its atomic replace.
 */
int ofs_store_replace_checked(ofs_store *s, const char *key, const char *version,
                              const void *data, size_t size,
                              char new_version[OFS_STORE_VERSION_MAX]);

/*
 * ofs_store_del_many(s, keys, count): delete these keys (absent ones are not an error), in
 * batches where the driver can (s3: multi-object delete, up to 1000 keys a request), else one
 * by one. Stops at the first failure, whose message names the key.
 */
int ofs_store_del_many(ofs_store *s, const char *const *keys, size_t count);

/*
 * ofs_store_delete_check(s, host): may these credentials delete? Asks the server to delete a
 * key that does not exist (OFS_STORE_PROBE_PREFIX "HOST/delete-check"): S3 and GCS decide
 * permission before existence, so a refusal is the answer and nothing is written or removed.
 * 1: allowed, 0: refused (and OFS_STORE_CAP_DELETE_REFUSED is set from then on; also at once
 * when the target says `delete = no`), < 0 when the question could not be asked (the
 * server's error).
 */
int ofs_store_delete_check(ofs_store *s, const char *host);

/*
 * ofs_store_versioning(s, &versioned): whether deleting an object leaves its data behind as a
 * noncurrent version (the lifecycle rules then need noncurrent_days to remove it).
 * ofs_store_lifecycle_sync(s, rules, count, &changed): make the provider's lifecycle rules for
 * this target exactly these, keeping every rule offsite did not write, then read them back and
 * compare (OFS_ECORRUPT if they differ); *changed (may be NULL) says whether anything was
 * written. Both are the driver's (store_s3.h, store_gcs.h say how each renders the rules), so
 * a command decides the rules without knowing a provider's documents or HTTP: a store without
 * them (no OFS_STORE_CAP_LIFECYCLE) is OFS_EUNSUPPORTED. Errors are the driver's.
 */
int ofs_store_versioning(ofs_store *s, int *versioned);

/*
 * ofs_store_lock_settings(target, retention, driver, &ages): for drivers - the target's
 * object_lock: OFS_LOCK_OFF, OFS_LOCK_GOVERNANCE or OFS_LOCK_COMPLIANCE, with the policy's
 * class ages (no strings) copied to ages for ofs_retention_lock_until. OFS_ECONFIG for
 * another value, OFS_EUNSUPPORTED if the lock is on and retention is NULL (no date to lock
 * until); messages name the target, its line and driver.
 */
enum { OFS_LOCK_OFF = 0, OFS_LOCK_GOVERNANCE = 1, OFS_LOCK_COMPLIANCE = 2 };
int ofs_store_lock_settings(const ofs_config_target *target,
                            const ofs_config_retention *retention, const char *driver,
                            ofs_config_retention *ages);

/* ofs_lifecycle_rule_check(rules, i): for drivers - OFS_ECONFIG naming rules[i]'s prefix if it
 * breaks the rules of ofs_lifecycle_rule (no prefix, no action, negative days, a transition
 * not before the expiration, a prefix already given in rules[0..i)): said before anything is
 * sent. */
int ofs_lifecycle_rule_check(const ofs_lifecycle_rule *rules, size_t i);
int ofs_store_lifecycle_sync(ofs_store *s, const ofs_lifecycle_rule *rules, size_t count,
                             int *changed);

/* ofs_store_key_check(key): OFS_ECONFIG naming the key if it breaks the rules above. */
int ofs_store_key_check(const char *key);

#endif
