/* decode_run.c - the decoder of a backup, second half: volumes read by workers, every tar
 * entry matched with the catalog and every file hashed and checked before the sink keeps it;
 * see decode.h (the catalog and the plan are decode.c). */
#include "decode_internal.h"
#include "prefetch.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/repo.h"
#include "offsite/restore.h"

#include <stdlib.h>
#include <string.h>

#define DECODE_MAX_WORKERS 64

/* One thread's state: the sink's worker and the hashes of the file being decoded. */
typedef struct decode_worker {
    ofs_decode *d;
    void *sink;
    ofs_sha256 *sha;            /* the whole file (or a tail's prefix) */
    ofs_sha256 *part;           /* a tail's own bytes */
    ofs_decode_cursor *cursor;  /* this thread's reader of the catalog */
    int check_failed;           /* the last failure was a check of one entry, not the stream */
    double fetch_busy, sink_busy; /* seconds waiting for data, and in the sink */
} decode_worker;

/* ---- failures ---- */

/* Without keep_going: the first failure is the cause and stops every worker (later ones are
 * usually "canceled" because of it). With keep_going: reported, and the decode goes on. */
static void decode_fail(ofs_decode *d, int rc, const char *backup_id, uint32_t volume,
                        const char *path)
{
    pthread_mutex_lock(&d->lock);
    if (d->opts.keep_going) {
        ofs_decode_problem p = { .code = rc, .backup_id = backup_id, .volume = volume,
                                 .path = path, .message = ofs_error_last() };
        if (d->error_code == 0)
            d->error_code = rc;
        if (d->opts.report)
            d->opts.report(d->opts.ctx, &p);
    } else if (d->error_code == 0 || (d->error_code == OFS_ECANCELED && rc != OFS_ECANCELED)) {
        free(d->error_message);
        d->error_code = rc;
        d->error_message = ofs_error_save();
        atomic_store(&d->stop, 1);
    }
    pthread_mutex_unlock(&d->lock);
}

/* ---- one file ---- */

/* Hashes zeros for a hole of `gap` bytes (the sink skips the range). */
static int decode_hash_zeros(decode_worker *w, uint64_t gap, int tail)
{
    static const uint8_t zeros[64 * 1024];
    while (gap > 0) {
        size_t n = gap < sizeof(zeros) ? (size_t)gap : sizeof(zeros);
        int rc = ofs_sha256_update(w->sha, zeros, n);
        if (rc == 0 && tail)
            rc = ofs_sha256_update(w->part, zeros, n);
        if (rc < 0)
            return rc;
        gap -= n;
    }
    return 0;
}

/*
 * Feeds the current tar entry's data to the sink at `shift` plus its offsets, hashing it
 * (into part too for a tail); *end is where the data ended in the whole file. Data beyond
 * `limit` or going back is refused.
 */
static int decode_file_data(decode_worker *w, ofs_tar_reader *tar, const ofs_catalog_entry *e,
                            uint64_t shift, uint64_t limit, int tail, uint64_t *end)
{
    const void *data;
    size_t size;
    uint64_t offset;
    int rc = 0;
    double t = ofs_clock_monotonic(), t1;
    *end = shift;
    while (tar && (rc = ofs_tar_reader_data(tar, &data, &size, &offset)) == 1) {
        uint64_t at = shift + offset;
        t1 = ofs_clock_monotonic();
        w->fetch_busy += t1 - t;
        if (at < *end) {
            w->check_failed = 1;
            return ofs_error_set(OFS_ECORRUPT, "%s: data out of order in the archive", e->path);
        }
        if (at > limit || size > limit - at) {
            w->check_failed = 1;
            return ofs_error_set(OFS_ECORRUPT, "%s: data beyond its size %llu in the archive",
                                 e->path, (unsigned long long)limit);
        }
        if ((rc = decode_hash_zeros(w, at - *end, tail)) < 0 ||
            (rc = ofs_sha256_update(w->sha, data, size)) < 0 ||
            (tail && (rc = ofs_sha256_update(w->part, data, size)) < 0))
            return rc;
        t = ofs_clock_monotonic();
        if (!atomic_exchange(&w->d->first_byte_seen, 1))
            w->d->first_byte = t - w->d->started;
        rc = w->d->ops->file_write(w->sink, at, data, size);
        t1 = ofs_clock_monotonic();
        w->sink_busy += t1 - t;
        t = t1;
        if (rc < 0)
            return rc;
        ofs_progress_add(w->d->progress, (at - *end) + size);
        *end = at + size;
    }
    if (tar)
        w->fetch_busy += ofs_clock_monotonic() - t;
    if (tar && rc < 0)
        return rc;
    if (*end < limit) { /* a hole up to the end */
        if ((rc = decode_hash_zeros(w, limit - *end, tail)) < 0)
            return rc;
        ofs_progress_add(w->d->progress, limit - *end);
    }
    return 0;
}

/* Compares a finished hash with what the catalog says. */
static int decode_digest_check(decode_worker *w, ofs_sha256 *h, const uint8_t *expected,
                               const char *path, const char *what)
{
    uint8_t digest[OFS_SHA256_BYTES];
    int rc = ofs_sha256_final(h, digest);
    if (rc < 0)
        return rc;
    if (memcmp(digest, expected, sizeof(digest)) != 0) {
        w->check_failed = 1;
        return ofs_error_set(OFS_ECORRUPT, "%s: SHA-256 mismatch%s", path, what);
    }
    return 0;
}

/* A regular file, whole (tar may be NULL: no content), or a tail completing its prefix. */
static int decode_file(decode_worker *w, ofs_tar_reader *tar, const ofs_catalog_entry *e,
                       decode_staged *staged, const ofs_tar_entry *te)
{
    ofs_decode *d = w->d;
    int tail = staged != NULL;
    uint64_t end = 0;
    int rc;
    if (!e->has_sha256) {
        w->check_failed = 1;
        return ofs_error_set(OFS_ECORRUPT, "%s: the catalog holds no SHA-256 for it", e->path);
    }
    if (tail) {
        ofs_sha256 *swap = w->sha;
        void *token = staged->token;
        w->sha = staged->sha; /* the prefix's hash goes on with the tail's bytes */
        staged->sha = swap;
        staged->token = NULL;
        staged->ready = 0;
        if ((rc = ofs_sha256_reset(w->part)) < 0) {
            d->ops->staged_discard(w->sink, e, token);
            return rc;
        }
        double t = ofs_clock_monotonic();
        rc = d->ops->tail_begin(w->sink, e, token);
        w->sink_busy += ofs_clock_monotonic() - t;
    } else {
        if ((rc = ofs_sha256_reset(w->sha)) < 0)
            return rc;
        double t = ofs_clock_monotonic();
        rc = d->ops->file_begin(w->sink, e);
        w->sink_busy += ofs_clock_monotonic() - t;
    }
    if (rc < 0)
        return rc;
    if ((rc = decode_file_data(w, tar, e, tail ? e->base_size : 0, e->size, tail, &end)) < 0 ||
        (rc = decode_digest_check(w, w->sha, e->sha256, e->path, "")) < 0 ||
        (tail && (rc = decode_digest_check(w, w->part, e->tail_sha256, e->path,
                                           " in the tail")) < 0)) {
        d->ops->file_abort(w->sink);
        return rc;
    }
    double t = ofs_clock_monotonic();
    rc = d->ops->file_commit(w->sink, te ? te->xattrs : NULL, te ? te->xattr_count : 0);
    w->sink_busy += ofs_clock_monotonic() - t;
    if (rc < 0)
        return rc;
    atomic_fetch_add(&d->files, 1);
    atomic_fetch_add(&d->bytes, e->size);
    return 0;
}

/* The base's copy of a file the catalog stores as a tail: checked against base_sha256, then
 * staged with the whole file's hash so far. */
static int decode_prefix(decode_worker *w, ofs_tar_reader *tar, const ofs_catalog_entry *e,
                         decode_staged *staged)
{
    ofs_decode *d = w->d;
    uint64_t end = 0;
    int rc;
    if (e->base_size == 0 || e->base_size >= e->size) {
        w->check_failed = 1;
        return ofs_error_set(OFS_ECORRUPT, "%s: not stored as a tail", e->path);
    }
    if ((rc = ofs_sha256_reset(w->sha)) < 0 ||
        (!staged->sha && (rc = ofs_sha256_new(&staged->sha)) < 0) ||
        (rc = d->ops->prefix_begin(w->sink, e)) < 0)
        return rc;
    if ((rc = decode_file_data(w, tar, e, 0, e->base_size, 0, &end)) < 0 ||
        (rc = ofs_sha256_copy(staged->sha, w->sha)) < 0 ||
        (rc = decode_digest_check(w, w->sha, e->base_sha256, e->path, " in the base's part")) < 0) {
        d->ops->file_abort(w->sink);
        return rc;
    }
    if ((rc = d->ops->prefix_stage(w->sink, &staged->token)) < 0)
        return rc;
    staged->ready = 1;
    return 0;
}

/* ---- one volume ---- */

static int decode_entry(decode_worker *w, ofs_tar_reader *tar, const ofs_catalog_entry *e,
                        uint32_t ref, const ofs_tar_entry *te)
{
    ofs_decode *d = w->d;
    int rc = 0;
    switch (e->type) {
    case OFS_ENTRY_FILE:
        if (ref & DECODE_PREFIX) {
            decode_staged *s = decode_staged_of(d, ref & ~DECODE_PREFIX);
            if (!s)
                return ofs_error_set(OFS_ERROR, "%s: no place to stage the base's part", e->path);
            return decode_prefix(w, tar, e, s);
        }
        if (e->base_size > 0) {
            decode_staged *s = decode_staged_of(d, ref);
            if (s && s->failed)
                return 0; /* keep_going: its prefix failed, and said so */
            if (!s || !s->ready)
                return ofs_error_set(OFS_ERROR, "%s: the base's part was not restored",
                                     e->path);
            return decode_file(w, tar, e, s, te);
        }
        return decode_file(w, tar, e, NULL, te);
    case OFS_ENTRY_DIR:
        rc = d->ops->dir(w->sink, e, te->xattrs, te->xattr_count);
        if (rc == 0)
            atomic_fetch_add(&d->dirs, 1);
        return rc;
    case OFS_ENTRY_SYMLINK:
        rc = d->ops->symlink(w->sink, e);
        if (rc == 0)
            atomic_fetch_add(&d->symlinks, 1);
        return rc;
    case OFS_ENTRY_FIFO:
        rc = d->ops->fifo(w->sink, e, te->xattrs, te->xattr_count);
        if (rc == 0)
            atomic_fetch_add(&d->fifos, 1);
        return rc;
    case OFS_ENTRY_HARDLINK:
        return 0; /* after every volume, when the first path exists */
    }
    return 0;
}

/* What the archive must hold for e as ref has it: its name and content size. */
static int decode_ref_expect(const ofs_catalog_entry *e, uint32_t ref, char **name,
                             uint64_t *size)
{
    if (ref & DECODE_PREFIX) {
        *size = e->base_size;
        return (*name = strdup(e->path)) ? 0 : ofs_error_set(OFS_ERROR, "out of memory");
    }
    *size = ofs_catalog_stored_size(e);
    return ofs_catalog_tar_name(e, name);
}

/* A tar header against its catalog entry: type, content size, offset (where the catalog says
 * it is: the prefix's at base_offset) and link name. */
static int decode_header_check(const ofs_tar_entry *te, const ofs_catalog_entry *e,
                               uint32_t ref, uint64_t size)
{
    uint64_t offset = (ref & DECODE_PREFIX) ? e->base_offset : e->offset;
    if (te->type != e->type || (e->type == OFS_ENTRY_FILE && te->size != size))
        return ofs_error_set(OFS_ECORRUPT, "'%s' is a %s of %llu bytes in the archive, a %s "
                             "of %llu bytes in the catalog", te->path,
                             ofs_entry_type_name(te->type), (unsigned long long)te->size,
                             ofs_entry_type_name(e->type), (unsigned long long)size);
    if (te->offset != offset)
        return ofs_error_set(OFS_ECORRUPT, "'%s' is at offset %llu in the archive, at %llu in "
                             "the catalog", te->path, (unsigned long long)te->offset,
                             (unsigned long long)offset);
    if ((e->type == OFS_ENTRY_SYMLINK || e->type == OFS_ENTRY_HARDLINK) &&
        (!te->link_target || !e->link_target || strcmp(te->link_target, e->link_target) != 0))
        return ofs_error_set(OFS_ECORRUPT, "'%s' links to '%s' in the archive, to '%s' in the "
                             "catalog", te->path, te->link_target ? te->link_target : "",
                             e->link_target ? e->link_target : "");
    return 0;
}

/* keep_going: the prefixes a failed volume did not stage are failed too (their tails are
 * skipped rather than reported again). */
static void decode_volume_failed(ofs_decode *d, const decode_volume *v, size_t next)
{
    for (size_t i = next; d->staged && i < v->count; i++) {
        decode_staged *s = (v->refs[i] & DECODE_PREFIX)
                               ? decode_staged_of(d, v->refs[i] & ~DECODE_PREFIX) : NULL;
        if (s)
            s->failed = 1;
    }
}

static int decode_volume_run(decode_worker *w, decode_volume *v)
{
    ofs_decode *d = w->d;
    const ofs_record *vrec = NULL;
    ofs_reader *source = NULL;
    ofs_tar_reader *tar = NULL;
    ofs_tar_entry te;
    char name[32], *expected = NULL;
    size_t next = 0;
    /* a base's volume also holds files this backup's catalog no longer lists */
    int strict = v->backup_id == d->bases[0].id;
    int rc;

    ofs_record_volume_name(v->number, name);
    if ((rc = decode_volume_record(d, v->backup_id, &vrec)) < 0 ||
        (rc = ofs_repo_open_object(d->store, d->ring, vrec, name, &source)) < 0)
        goto cleanup;
    rc = prefetch_reader_new(&source, source);
    if (rc < 0)
        goto cleanup; /* source was freed */
    rc = ofs_tar_reader_new(&tar, source, name);
    source = NULL;
    if (rc < 0)
        goto cleanup;
    for (;;) {
        double t = ofs_clock_monotonic();
        rc = ofs_tar_reader_next(tar, &te);
        w->fetch_busy += ofs_clock_monotonic() - t;
        if (rc != 1)
            break;
        uint64_t size = 0;
        if (atomic_load(&d->stop)) {
            rc = ofs_error_set(OFS_ECANCELED, "restore canceled");
            goto cleanup;
        }
        int have = next < v->count;
        uint32_t ref = have ? v->refs[next] : 0;
        const ofs_catalog_entry *e = NULL;
        free(expected);
        expected = NULL;
        /* e stays valid until the cursor's next read: through every sink call for it */
        if (have && ((rc = ofs_decode_entry(w->cursor, ref & ~DECODE_PREFIX, &e)) < 0 ||
                     (rc = decode_ref_expect(e, ref, &expected, &size)) < 0))
            goto cleanup;
        if (!strict && !have) {
            rc = 0;
            break; /* nothing more of this backup's in the base's volume */
        }
        if (!ofs_path_is_safe(te.path) || !have || strcmp(te.path, expected) != 0) {
            if (!strict && ofs_path_is_safe(te.path) && ofs_path_compare(te.path, expected) < 0)
                continue;
            rc = ofs_error_set(OFS_ECORRUPT, "unexpected entry '%s' in archive", te.path);
            goto cleanup;
        }
        next++;
        w->check_failed = 0;
        if ((rc = decode_header_check(&te, e, ref, size)) < 0) {
            w->check_failed = 1;
        } else if (d->flags[ref & ~DECODE_PREFIX] & DECODE_SELECTED) {
            rc = decode_entry(w, tar, e, ref, &te);
        } else {
            continue; /* its data is skipped by the next header read */
        }
        if (rc < 0 && d->opts.keep_going && w->check_failed) {
            decode_staged *s = (ref & DECODE_PREFIX) ? decode_staged_of(d, ref & ~DECODE_PREFIX)
                                                     : NULL;
            decode_fail(d, rc, v->backup_id, v->number, e->path);
            if (s)
                s->failed = 1;
            continue;
        }
        if (rc < 0)
            goto cleanup;
    }
    if (rc < 0)
        goto cleanup;
    if (next < v->count) {
        const ofs_catalog_entry *e = NULL;
        if ((rc = ofs_decode_entry(w->cursor, v->refs[next] & ~DECODE_PREFIX, &e)) == 0)
            rc = ofs_error_set(OFS_ECORRUPT, "entry '%s' is missing from the archive",
                               e->path);
        goto cleanup;
    }
cleanup:
    free(expected);
    d->ops->file_abort(w->sink);
    ofs_tar_reader_free(tar);
    ofs_reader_free(source);
    if (rc < 0 && d->opts.keep_going) {
        decode_volume_failed(d, v, next);
    } else if (rc < 0 && rc != OFS_ECANCELED) {
        if (strict)
            ofs_error_wrap(rc, "volume %u", v->number);
        else
            ofs_error_wrap(rc, "backup '%s' volume %u", v->backup_id, v->number);
    }
    return rc;
}

/* ---- workers ---- */

static int decode_worker_new(ofs_decode *d, decode_worker *w)
{
    int rc;
    memset(w, 0, sizeof(*w));
    w->d = d;
    if ((rc = ofs_sha256_new(&w->sha)) < 0 || (rc = ofs_sha256_new(&w->part)) < 0 ||
        (rc = ofs_decode_cursor_new(d, &w->cursor)) < 0)
        return rc;
    return d->ops->worker_new(d->sink, &w->sink);
}

static void decode_worker_free(decode_worker *w)
{
    if (w->d) {
        pthread_mutex_lock(&w->d->lock);
        w->d->fetch_busy += w->fetch_busy;
        w->d->sink_busy += w->sink_busy;
        pthread_mutex_unlock(&w->d->lock);
    }
    if (w->sink)
        w->d->ops->worker_free(w->sink);
    ofs_sha256_free(w->sha);
    ofs_sha256_free(w->part);
    ofs_decode_cursor_free(w->cursor);
}

static void *decode_thread(void *arg)
{
    ofs_decode *d = arg;
    decode_worker w;
    int rc = decode_worker_new(d, &w);
    if (rc < 0) {
        decode_fail(d, rc, NULL, 0, NULL);
        decode_worker_free(&w);
        return NULL;
    }
    while (!atomic_load(&d->stop)) {
        size_t index = atomic_fetch_add(&d->next_volume, 1);
        if (index >= d->volume_count)
            break;
        decode_volume *v = &d->volumes[index];
        int own = v->backup_id == d->bases[0].id;
        if (!v->wanted || (d->phase == DECODE_BASES && own) ||
            (d->phase == DECODE_OWN && !own))
            continue;
        if ((rc = decode_volume_run(&w, v)) < 0) {
            decode_fail(d, rc, v->backup_id, v->number, NULL);
            if (!d->opts.keep_going)
                break;
        }
    }
    decode_worker_free(&w);
    return NULL;
}

static int decode_volumes(ofs_decode *d, int phase)
{
    pthread_t threads[DECODE_MAX_WORKERS];
    int started = 0, parallel = d->opts.parallel;
    d->phase = phase;
    atomic_store(&d->next_volume, 0);
    if (parallel <= 0)
        parallel = 2;
    if (parallel > DECODE_MAX_WORKERS)
        parallel = DECODE_MAX_WORKERS;
    if ((size_t)parallel > d->volume_count)
        parallel = d->volume_count > 0 ? (int)d->volume_count : 1;
    for (int i = 1; i < parallel; i++) {
        int err = pthread_create(&threads[started], NULL, decode_thread, d);
        if (err != 0) {
            decode_fail(d, ofs_error_from_errno(err, "cannot start a decoding worker"), NULL, 0,
                        NULL);
            break;
        }
        started++;
    }
    decode_thread(d); /* the calling thread decodes volumes too */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    return d->error_code;
}

/* After every volume: hard links (their first path exists now), then directory metadata,
 * deepest first (reverse catalog order puts every directory after its contents). */
static int decode_last(decode_worker *w, double *finish)
{
    ofs_decode *d = w->d;
    const ofs_catalog_entry *e = NULL;
    const uint8_t link = DECODE_SELECTED | (OFS_ENTRY_HARDLINK << DECODE_TYPE_SHIFT);
    const uint8_t dir = DECODE_SELECTED | (OFS_ENTRY_DIR << DECODE_TYPE_SHIFT);
    int rc;
    /* the flags name the few entries to read back; the rest of the spool is not read */
    for (size_t i = 0; i < d->count; i++) {
        if ((d->flags[i] & ~DECODE_MATCHED) != link)
            continue;
        if ((rc = ofs_decode_entry(w->cursor, i, &e)) < 0 ||
            (rc = d->ops->hardlink(w->sink, e)) < 0)
            return rc;
        atomic_fetch_add(&d->hardlinks, 1);
    }
    for (size_t i = d->count; i-- > 0;)
        if ((d->flags[i] & ~DECODE_MATCHED) == dir &&
            ((rc = ofs_decode_entry(w->cursor, i, &e)) < 0 ||
             (rc = d->ops->dir_metadata(w->sink, e)) < 0))
            return rc;
    *finish = ofs_clock_monotonic();
    rc = d->ops->finish(d->sink);
    *finish = ofs_clock_monotonic() - *finish;
    return rc;
}

int ofs_decode_run(ofs_decode *d, const ofs_sink_ops *ops, void *sink, ofs_progress *progress,
                   ofs_decode_stats *stats)
{
    decode_worker w = { 0 };
    double volumes = 0, finish = 0;
    int rc;

    if (d->ran)
        return ofs_error_set(OFS_ERROR, "a decoder runs once");
    d->ran = 1;
    d->started = ofs_clock_monotonic();
    d->ops = ops;
    d->sink = sink;
    d->progress = progress;
    if ((rc = decode_worker_new(d, &w)) < 0)
        goto fail;
    /* a tail completes a prefix from the base: the bases' volumes go first */
    if (d->tails && decode_volumes(d, DECODE_BASES) < 0 && !d->opts.keep_going)
        goto failed;
    if (decode_volumes(d, d->tails ? DECODE_OWN : DECODE_ALL) < 0 && !d->opts.keep_going)
        goto failed;
    volumes = ofs_clock_monotonic() - d->started;
    if ((rc = decode_last(&w, &finish)) < 0)
        goto fail;
    rc = d->error_code; /* keep_going: the first problem reported */
    goto cleanup;
fail: /* this thread's own step failed: stored (or reported) like a worker's failure */
    decode_fail(d, rc, NULL, 0, NULL);
failed:
    rc = d->opts.keep_going ? d->error_code : ofs_error_restore(d->error_code, d->error_message);
cleanup:
    for (size_t k = 0; d->staged && k < d->tail_count; k++) {
        const ofs_catalog_entry *e = NULL;
        /* the entry names the staged part's directory; unreadable, the part stays behind */
        if (d->staged[k].token && w.sink && ofs_decode_entry(w.cursor, d->tail_index[k], &e) == 0)
            ops->staged_discard(w.sink, e, d->staged[k].token);
    }
    decode_worker_free(&w);
    if (stats) {
        stats->files = atomic_load(&d->files);
        stats->fifos = atomic_load(&d->fifos);
        stats->dirs = atomic_load(&d->dirs);
        stats->symlinks = atomic_load(&d->symlinks);
        stats->hardlinks = atomic_load(&d->hardlinks);
        stats->bytes = atomic_load(&d->bytes);
        stats->first_byte = atomic_load(&d->first_byte_seen) ? d->first_byte : 0;
        stats->volumes = volumes;
        stats->finish = finish;
        stats->fetch_busy = d->fetch_busy;
        stats->sink_busy = d->sink_busy;
    }
    return rc;
}
