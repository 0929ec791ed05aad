/*
 * store.c - the generic store layer every caller goes through; see include/offsite/store.h.
 *
 * Drivers report bare messages ("not found", "cannot write '...': No space left on device");
 * this layer puts "NAME: KEY: " in front of every failure, including those of the readers and
 * writers it hands out (it wraps them in thin shims), so a message always names the store and
 * the object whatever the driver. It also checks keys and retries OFS_ETRANSIENT failures of
 * the one-shot operations (stat, list, del, opening a get) within a time budget. Puts are not
 * retried here: a streamed body cannot be replayed by this layer; its caller re-runs the put.
 *
 * The retry budget (seconds of sleeping between attempts, default 3) can be lowered with the
 * environment variable OFFSITE_RETRY_BUDGET, e.g. "0" for tests that want a failure at once.
 */
#include "offsite/store.h"
#include "offsite/store_gcs.h"
#include "offsite/store_rsync.h"
#include "offsite/store_s3.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/bwlimit.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "offsite/retry.h"

#define STORE_KEY_MAX 1024
#define STORE_PACE_SLICE (64 * 1024) /* bytes written per pacing step under a bwlimit */
#define RETRY_TRIES 5
#define RETRY_FIRST_DELAY 0.2
#define RETRY_MAX_DELAY 3.0
#define RETRY_DEFAULT_BUDGET 3.0

/* ---- keys ---- */

/* utf8_char(p, end): length of the valid, printable UTF-8 character at p, or 0. Rejects
 * control characters (C0, DEL, C1), overlong forms, surrogates and code points past U+10FFFF. */
static size_t utf8_char(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp;
    size_t n;

    if (c < 0x20 || c == 0x7f)
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
        return 0;
    return n;
}

/* key_printable(key, buf, size): the key for a message, bytes outside printable ASCII as
 * \xNN, cut with "..." - a rejected key may hold anything, and messages reach terminals. */
static const char *key_printable(const char *key, char *buf, size_t size)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (n + 8 >= size) {
            memcpy(buf + n, "...", 4);
            return buf;
        }
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            buf[n++] = (char)*p;
        else
            n += (size_t)snprintf(buf + n, size - n, "\\x%02x", *p);
    }
    buf[n] = '\0';
    return buf;
}

static int key_invalid(const char *key, const char *what, const char *reason)
{
    char shown[160];
    return ofs_error_set(OFS_ECONFIG, "invalid %s '%s': %s", what, key_printable(key, shown,
                         sizeof(shown)), reason);
}

/* key_check(key, is_prefix): a prefix may be empty, end with '/', or end inside a component
 * (whose rules then cannot be checked yet: it only narrows the listing). */
static int key_check(const char *key, int is_prefix)
{
    const char *what = is_prefix ? "prefix" : "key";
    const unsigned char *p, *end;
    size_t len;

    if (!key)
        return ofs_error_set(OFS_ECONFIG, "invalid %s: none given", what);
    len = strlen(key);
    if (len == 0 && !is_prefix)
        return key_invalid(key, what, "empty");
    if (len > STORE_KEY_MAX)
        return key_invalid(key, what, "longer than 1024 bytes");
    if (key[0] == '/')
        return key_invalid(key, what, "must be relative (no leading '/')");
    end = (const unsigned char *)key + len;
    for (p = (const unsigned char *)key; p < end;) {
        size_t n = utf8_char(p, end);
        if (n == 0)
            return key_invalid(key, what, "control character or invalid UTF-8");
        p += n;
    }
    for (const char *c = key; *c;) {
        const char *slash = strchr(c, '/');
        size_t clen = slash ? (size_t)(slash - c) : strlen(c);
        if (!slash && is_prefix)
            break; /* the partial last component of a prefix */
        if (clen == 0)
            return key_invalid(key, what, "empty path component");
        if ((clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
            return key_invalid(key, what, "'.' or '..' path component");
        if (clen >= 4 && strncmp(c, ".tmp", 4) == 0)
            return key_invalid(key, what, "a component starting with '.tmp' is reserved for "
                               "temporary files");
        if (!slash)
            break;
        c = slash + 1;
        if (!*c && !is_prefix)
            return key_invalid(key, what, "empty path component");
    }
    return 0;
}

int ofs_store_key_check(const char *key)
{
    return key_check(key, 0);
}

/* ---- errors and retries ---- */

static int store_fail(const ofs_store *s, const char *key, int rc)
{
    /* a configuration error (no such bucket) is about the target, not the key at hand */
    if (key && *key && rc != OFS_ECONFIG)
        return ofs_error_wrap(rc, "%s: %s", s->name, key);
    return ofs_error_wrap(rc, "%s", s->name);
}

/* retry_again(r, s, key, what, rc): after a failed attempt, 1 if another is worth it (having
 * slept), else 0 with the final message set (retry.h). A driver that retries itself has spent
 * its budget already: retrying here would multiply it. */
static int retry_again(ofs_retry *r, const ofs_store *s, const char *key, const char *what,
                       int rc)
{
    if (s->caps & OFS_STORE_CAP_RETRIES)
        return 0;
    return ofs_retry_again(r, rc, s->name, what, key);
}

static void retry_begin(ofs_retry *r)
{
    ofs_retry_policy policy = { RETRY_TRIES, RETRY_FIRST_DELAY, RETRY_MAX_DELAY,
                                ofs_env_number("OFFSITE_RETRY_BUDGET", RETRY_DEFAULT_BUDGET),
                                0, 0 };
    ofs_retry_begin(r, &policy);
}

/* ---- reader and writer shims: add "NAME: KEY: " to mid-stream failures ---- */

typedef struct {
    ofs_writer parent;
    ofs_writer *inner;
    const ofs_store *store;
    char *key;
} store_writer;

static int store_writer_write(ofs_writer *w, const void *data, size_t size)
{
    store_writer *sw = (store_writer *)w;
    const char *p = data;
    int rc = 0;

    /* under a bwlimit the layer paces what the driver cannot (file): in slices, so the link
     * sees a steady rate rather than bursts of a whole buffer */
    while (size > 0 && rc == 0) {
        size_t n = sw->store->bwlimit && size > STORE_PACE_SLICE ? STORE_PACE_SLICE : size;
        ofs_bwlimit_pace(sw->store->bwlimit, n);
        rc = ofs_writer_write(sw->inner, p, n);
        p += n;
        size -= n;
    }
    return rc < 0 ? store_fail(sw->store, sw->key, rc) : 0;
}

static int store_writer_finish(ofs_writer *w)
{
    store_writer *sw = (store_writer *)w;
    int rc = ofs_writer_finish(sw->inner);
    return rc < 0 ? store_fail(sw->store, sw->key, rc) : 0;
}

static void store_writer_free(ofs_writer *w)
{
    store_writer *sw = (store_writer *)w;
    ofs_writer_free(sw->inner);
    free(sw->key);
    free(sw);
}

static const struct ofs_writer_ops store_writer_ops = { store_writer_write, store_writer_finish,
                                                        store_writer_free };

typedef struct {
    ofs_reader parent;
    ofs_reader *inner;
    const ofs_store *store;
    char *key;
} store_reader;

static int store_reader_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    store_reader *sr = (store_reader *)r;
    int rc = sr->inner->ops->read(sr->inner, buf, size, got);
    return rc < 0 ? store_fail(sr->store, sr->key, rc) : 0;
}

static void store_reader_free(ofs_reader *r)
{
    store_reader *sr = (store_reader *)r;
    ofs_reader_free(sr->inner);
    free(sr->key);
    free(sr);
}

static const struct ofs_reader_ops store_reader_ops = { store_reader_read, store_reader_free };

/* ---- the operations ---- */

int ofs_store_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out)
{
    ofs_writer *inner = NULL;
    store_writer *sw = NULL;
    int rc;

    *out = NULL;
    if ((rc = ofs_store_key_check(key)) < 0)
        return store_fail(s, NULL, rc);
    if ((rc = s->ops->put(s, key, flags, &inner)) < 0)
        return store_fail(s, key, rc);
    if (!(sw = calloc(1, sizeof(*sw))) || !(sw->key = strdup(key))) {
        free(sw);
        ofs_writer_free(inner);
        return store_fail(s, key, ofs_error_set(OFS_ERROR, "out of memory"));
    }
    sw->parent.ops = &store_writer_ops;
    sw->inner = inner;
    sw->store = s;
    *out = &sw->parent;
    return 0;
}

/* get_raw: the driver's reader (no shim), with retries of the open. */
static int get_raw(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                   ofs_reader **out)
{
    ofs_retry r;
    int rc;

    retry_begin(&r);
    do {
        rc = s->ops->get(s, key, offset, length, out);
    } while (rc < 0 && retry_again(&r, s, key, "get", rc));
    ofs_retry_end(&r);
    return rc;
}

int ofs_store_get(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                  ofs_reader **out)
{
    ofs_reader *inner = NULL;
    store_reader *sr = NULL;
    int rc;

    *out = NULL;
    if ((rc = ofs_store_key_check(key)) < 0)
        return store_fail(s, NULL, rc);
    if ((rc = get_raw(s, key, offset, length, &inner)) < 0)
        return store_fail(s, key, rc);
    if (!(sr = calloc(1, sizeof(*sr))) || !(sr->key = strdup(key))) {
        free(sr);
        ofs_reader_free(inner);
        return store_fail(s, key, ofs_error_set(OFS_ERROR, "out of memory"));
    }
    sr->parent.ops = &store_reader_ops;
    sr->inner = inner;
    sr->store = s;
    *out = &sr->parent;
    return 0;
}

/* stat_raw: the driver's stat with retries, a version made up where it has none; bare
 * messages */
static int stat_raw(ofs_store *s, const char *key, ofs_object_info *info)
{
    ofs_retry r;
    int rc;

    memset(info, 0, sizeof(*info));
    retry_begin(&r);
    do {
        rc = s->ops->stat(s, key, info);
    } while (rc < 0 && retry_again(&r, s, key, "stat", rc));
    ofs_retry_end(&r);
    /* a driver without a version of its own: size and mtime are the best there is */
    if (rc == 0 && !info->version[0])
        snprintf(info->version, sizeof(info->version), "%" PRIu64 "@%" PRId64, info->size,
                 info->mtime);
    return rc;
}

int ofs_store_stat(ofs_store *s, const char *key, ofs_object_info *info)
{
    int rc;

    memset(info, 0, sizeof(*info));
    if ((rc = ofs_store_key_check(key)) < 0)
        return store_fail(s, NULL, rc);
    return (rc = stat_raw(s, key, info)) < 0 ? store_fail(s, key, rc) : 0;
}

/* A listing that failed after fn saw some objects is retried from the start only if fn has
 * not been called yet: a callback must never see an object twice. */
typedef struct {
    ofs_store_list_fn fn;
    void *ctx;
    int called;
    int stopped;
} list_guard;

static int list_guard_fn(void *ctx, const char *key, const ofs_object_info *info)
{
    list_guard *g = ctx;
    int rc;

    g->called = 1;
    rc = g->fn(g->ctx, key, info);
    if (rc != 0)
        g->stopped = 1;
    return rc;
}

int ofs_store_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    list_guard g = { fn, ctx, 0, 0 };
    ofs_retry r;
    int rc;

    if (!prefix)
        prefix = "";
    if ((rc = key_check(prefix, 1)) < 0)
        return store_fail(s, NULL, rc);
    retry_begin(&r);
    do {
        rc = s->ops->list(s, prefix, list_guard_fn, &g);
    } while (rc < 0 && !g.called && retry_again(&r, s, prefix, "list", rc));
    ofs_retry_end(&r);
    /* what fn returned is the caller's own value and message: passed through untouched */
    if (rc < 0 && !g.stopped)
        return store_fail(s, prefix, rc);
    return rc;
}

/* store_delete_refused(s, key): the refusal of a delete on a write-only target, at once */
static int store_delete_refused(const ofs_store *s, const char *key)
{
    ofs_error_set(OFS_EDENIED, "delete refused: these credentials may not delete (a "
                  "write-only target)\nHINT: prune from a host whose credentials may delete "
                  "(prune_profile, prune --all-hosts), or let lifecycle rules expire backups");
    return store_fail(s, key, OFS_EDENIED);
}

int ofs_store_delete_check(ofs_store *s, const char *host)
{
    char key[300];
    int rc;

    if (s->caps & OFS_STORE_CAP_DELETE_REFUSED)
        return 0;
    snprintf(key, sizeof(key), OFS_STORE_PROBE_PREFIX "%s/delete-check",
             host && *host ? host : "host");
    if ((rc = ofs_store_del(s, key)) == OFS_EDENIED) {
        ofs_error_clear();
        s->caps |= OFS_STORE_CAP_DELETE_REFUSED;
        return 0;
    }
    return rc < 0 ? rc : 1;
}

int ofs_store_del(ofs_store *s, const char *key)
{
    ofs_retry r;
    int rc;

    if ((rc = ofs_store_key_check(key)) < 0)
        return store_fail(s, NULL, rc);
    if (s->caps & OFS_STORE_CAP_DELETE_REFUSED)
        return store_delete_refused(s, key);
    retry_begin(&r);
    do {
        rc = s->ops->del(s, key);
    } while (rc < 0 && retry_again(&r, s, key, "delete", rc));
    ofs_retry_end(&r);
    return rc < 0 ? store_fail(s, key, rc) : 0;
}

int ofs_store_sweep(ofs_store *s, int64_t before, ofs_store_sweep_stats *stats)
{
    int rc;

    memset(stats, 0, sizeof(*stats));
    /* a write-only target keeps its debris until a lifecycle rule expires it */
    if (!s->ops->sweep || (s->caps & OFS_STORE_CAP_DELETE_REFUSED))
        return 0;
    rc = s->ops->sweep(s, before, stats);
    return rc < 0 ? store_fail(s, NULL, rc) : 0;
}

int ofs_store_del_many(ofs_store *s, const char *const *keys, size_t count)
{
    ofs_retry r;
    int rc = 0;

    for (size_t i = 0; i < count; i++)
        if ((rc = ofs_store_key_check(keys[i])) < 0)
            return store_fail(s, NULL, rc);
    if (count > 0 && (s->caps & OFS_STORE_CAP_DELETE_REFUSED))
        return store_delete_refused(s, keys[0]);
    if (!s->ops->del_many) {
        for (size_t i = 0; i < count && rc == 0; i++)
            rc = ofs_store_del(s, keys[i]);
        return rc;
    }
    retry_begin(&r);
    do {
        rc = s->ops->del_many(s, keys, count);
    } while (rc < 0 && retry_again(&r, s, "", "delete", rc));
    ofs_retry_end(&r);
    /* the driver's message names the key that failed */
    return rc < 0 ? store_fail(s, NULL, rc) : 0;
}

/* what every provider refuses (S3 the most), said before anything is sent */
int ofs_lifecycle_rule_check(const ofs_lifecycle_rule *rules, size_t i)
{
    const ofs_lifecycle_rule *r = &rules[i];
    const char *p = r->prefix ? r->prefix : "";

    if (!r->prefix)
        return ofs_error_set(OFS_ECONFIG, "lifecycle rule for '': needs a prefix");
    if (r->expiration_days < 0 || r->transition_days < 0 || r->noncurrent_days < 0 ||
        r->abort_multipart_days < 0 ||
        (r->transition_days > 0 && (!r->transition_class || !*r->transition_class)))
        return ofs_error_set(OFS_ECONFIG, "lifecycle rule for '%s': bad expiration, transition, "
                             "noncurrent or abort days", p);
    /* S3 refuses a rule without an action, and the delete-marker flag next to Days */
    if (r->expiration_days == 0 && !r->expired_delete_marker && r->noncurrent_days == 0 &&
        r->transition_days == 0 && r->abort_multipart_days == 0)
        return ofs_error_set(OFS_ECONFIG, "lifecycle rule for '%s': needs an action (expiration, "
                             "delete-marker cleanup, noncurrent expiration, transition or "
                             "multipart abort)", p);
    if (r->expiration_days > 0 && r->expired_delete_marker)
        return ofs_error_set(OFS_ECONFIG, "lifecycle rule for '%s': expiration days and the "
                             "delete-marker cleanup cannot share a rule", p);
    if (r->transition_days > 0 && r->expiration_days > 0 &&
        r->transition_days >= r->expiration_days)
        return ofs_error_set(OFS_ECONFIG, "lifecycle rule for '%s': transition after %d days "
                             "is not before the expiration after %d", p, r->transition_days,
                             r->expiration_days);
    for (size_t j = 0; j < i; j++)
        if (strcmp(rules[j].prefix, r->prefix) == 0)
            return ofs_error_set(OFS_ECONFIG, "lifecycle rule for '%s': given twice", p);
    return 0;
}

int ofs_store_lock_settings(const ofs_config_target *t, const ofs_config_retention *retention,
                            const char *driver, ofs_config_retention *ages)
{
    const char *mode = t->object_lock;
    int which;

    memset(ages, 0, sizeof(*ages));
    if (!mode || !*mode || strcmp(mode, "off") == 0)
        return OFS_LOCK_OFF;
    if (strcmp(mode, "governance") == 0)
        which = OFS_LOCK_GOVERNANCE;
    else if (strcmp(mode, "compliance") == 0)
        which = OFS_LOCK_COMPLIANCE;
    else
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): object_lock '%s' is not "
                             "'off', 'governance' or 'compliance'", t->name, t->line, mode);
    /* without the policy there is no date to lock until; guessing one could lock a
     * compliance-mode object for longer than anyone can undo */
    if (!retention)
        return ofs_error_set(OFS_EUNSUPPORTED, "target '%s' (line %d): object_lock = %s needs "
                             "the target's retention policy to date the locks, and none was "
                             "given to the %s driver", t->name, t->line, mode, driver);
    ages->daily = retention->daily;
    ages->weekly = retention->weekly;
    ages->monthly = retention->monthly;
    ages->keep_last = retention->keep_last;
    return which;
}

/* provider retention: the driver's own messages (they name target and bucket) */
int ofs_store_versioning(ofs_store *s, int *versioned)
{
    *versioned = 0;
    if (!s || !s->ops->versioning || !(s->caps & OFS_STORE_CAP_LIFECYCLE))
        return ofs_error_set(OFS_EUNSUPPORTED, "%s: no provider lifecycle rules on this kind "
                             "of store", s ? s->name : "store");
    return s->ops->versioning(s, versioned);
}

int ofs_store_lifecycle_sync(ofs_store *s, const ofs_lifecycle_rule *rules, size_t count,
                             int *changed)
{
    if (changed)
        *changed = 0;
    if (!s || !s->ops->lifecycle_sync || !(s->caps & OFS_STORE_CAP_LIFECYCLE))
        return ofs_error_set(OFS_EUNSUPPORTED, "%s: no provider lifecycle rules on this kind "
                             "of store", s ? s->name : "store");
    return s->ops->lifecycle_sync(s, rules, count, changed);
}

int ofs_store_replace_checked(ofs_store *s, const char *key, const char *version,
                              const void *data, size_t size,
                              char new_version[OFS_STORE_VERSION_MAX])
{
    ofs_object_info info;
    ofs_writer *w = NULL;
    int rc = stat_raw(s, key, &info);

    if (rc == OFS_ENOTFOUND) {
        ofs_error_clear();
        info.version[0] = '\0';
    } else if (rc < 0) {
        return rc;
    }
    if (strcmp(info.version, version) != 0)
        return ofs_error_set(OFS_ECONFLICT, *version ? "changed since it was read (another "
                             "writer)" : "created by another writer since it was read");
    if ((rc = s->ops->put(s, key, *version ? 0 : OFS_PUT_IF_ABSENT, &w)) == 0 &&
        (rc = ofs_writer_write(w, data, size)) == 0)
        rc = ofs_writer_finish(w);
    ofs_writer_free(w);
    if (rc == OFS_EEXISTS) {
        ofs_error_clear();
        return ofs_error_set(OFS_ECONFLICT, "created by another writer since it was read");
    }
    if (rc == 0 && new_version && (rc = stat_raw(s, key, &info)) == 0)
        memcpy(new_version, info.version, OFS_STORE_VERSION_MAX);
    return rc;
}

int ofs_store_replace(ofs_store *s, const char *key, const char *version, const void *data,
                      size_t size, char new_version[OFS_STORE_VERSION_MAX])
{
    static int told;
    int rc;

    if ((rc = ofs_store_key_check(key)) < 0)
        return store_fail(s, NULL, rc);
    if (s->ops->replace) {
        char written[OFS_STORE_VERSION_MAX] = "";
        rc = s->ops->replace(s, key, version, data, size, written);
        if (rc == 0 && new_version)
            memcpy(new_version, written, OFS_STORE_VERSION_MAX);
        if (rc != OFS_EUNSUPPORTED)
            return rc < 0 ? store_fail(s, key, rc) : 0;
        ofs_error_clear();
    }
    if (!told) {
        told = 1;
        ofs_log_info("%s: %s is written check-then-put (the store has no atomic conditional "
                     "write): two hosts writing it at once could lose one's update until the "
                     "next push repairs it", s->name, key);
    }
    rc = ofs_store_replace_checked(s, key, version, data, size, new_version);
    return rc < 0 ? store_fail(s, key, rc) : 0;
}

unsigned ofs_store_caps(const ofs_store *s)
{
    return s->caps;
}

const char *ofs_store_name(const ofs_store *s)
{
    return s->name;
}

void ofs_store_free(ofs_store *s)
{
    if (!s)
        return;
    ofs_bwlimit_free(s->bwlimit);
    s->bwlimit = NULL;
    s->ops->free(s);
}

int ofs_store_open(ofs_store **out, const ofs_config_target *target,
                   const ofs_config_retention *retention, const char *cache_dir)
{
    const char *type = target->type ? target->type : "";
    int rc;

    *out = NULL;
    if (strcmp(type, "file") == 0) {
        if (!target->path || !*target->path)
            return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): type 'file' needs 'path'",
                                 target->name, target->line);
        if ((rc = ofs_store_file_new(out, target->name, target->path)) < 0)
            return ofs_error_wrap(rc, "target '%s' (line %d)", target->name, target->line);
        /* a NAS behind a thin link: the file driver has no limit of its own */
        if ((rc = ofs_bwlimit_parse(target->bwlimit, &(*out)->bwlimit)) < 0) {
            ofs_store_free(*out);
            *out = NULL;
            return ofs_error_wrap(rc, "target '%s' (line %d)", target->name, target->line);
        }
    } else if (strcmp(type, "s3") == 0) {
        rc = ofs_store_s3_new_with_retention(out, target, retention);
    } else if (strcmp(type, "rsync") == 0) {
        rc = ofs_store_rsync_new(out, target, cache_dir);
    } else if (strcmp(type, "gcs") == 0) {
        rc = ofs_store_gcs_new_with_retention(out, target, retention, cache_dir);
    } else {
        return ofs_error_set(OFS_EUNSUPPORTED, "target '%s' (line %d): unknown type '%s'",
                             target->name, target->line, type);
    }
    /* `delete = no`: a write-only target, whatever the credentials could do */
    if (rc == 0 && target->write_only)
        (*out)->caps |= OFS_STORE_CAP_DELETE_REFUSED;
    return rc;
}

int ofs_store_check_target(const ofs_config_target *target)
{
    ofs_store *s = NULL;
    int rc = 0;

    /* only drivers whose constructor has no side effects and needs no environment beyond
     * the config: gcs (parses the key file), rsync (url, ssh_command, password_file; its
     * spool directory made and removed here); file would create its directory, s3 wants its
     * credentials in the environment of the command that uses them */
    if (target->type && strcmp(target->type, "gcs") == 0) {
        /* object_lock only needs a policy to date its locks: any will do for a check */
        const ofs_config_retention any = { 0 };
        rc = ofs_store_gcs_new_with_retention(&s, target, &any, NULL);
    } else if (target->type && strcmp(target->type, "rsync") == 0) {
        const char *tmp = getenv("TMPDIR");
        char spool[4096];
        snprintf(spool, sizeof(spool), "%s/offsite-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(spool))
            return ofs_error_from_errno(errno, "cannot make a directory under '%s'",
                                        tmp && *tmp ? tmp : "/tmp");
        rc = ofs_store_rsync_new(&s, target, spool);
        ofs_store_free(s);
        s = NULL;
        ofs_rm_rf(spool);
    }
    ofs_store_free(s);
    return rc;
}

/* ---- whole small objects ---- */

int ofs_store_put_buffer(ofs_store *s, const char *key, unsigned flags, const void *data,
                         size_t size)
{
    ofs_writer *w = NULL;
    int rc;

    if ((rc = ofs_store_put(s, key, flags, &w)) < 0 ||
        (rc = ofs_writer_write(w, data, size)) < 0 ||
        (rc = ofs_writer_finish(w)) < 0)
        goto cleanup;
cleanup:
    ofs_writer_free(w);
    return rc;
}

int ofs_store_get_buffer(ofs_store *s, const char *key, char **data, size_t *size, size_t max)
{
    ofs_reader *r = NULL;
    int rc;

    *data = NULL;
    *size = 0;
    if ((rc = ofs_store_key_check(key)) < 0)
        return store_fail(s, NULL, rc);
    /* the driver's own reader: every failure below gets the context once, here */
    if ((rc = get_raw(s, key, 0, 0, &r)) < 0 ||
        (rc = ofs_reader_read_all(r, data, size, max)) < 0)
        goto cleanup;
cleanup:
    ofs_reader_free(r);
    return rc < 0 ? store_fail(s, key, rc) : 0;
}
