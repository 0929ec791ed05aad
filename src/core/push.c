/* push.c - replicate committed backups from one store to another; see push.h. */
#include "offsite/push.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/manifest.h"
#include "offsite/progress.h"
#include "offsite/repo.h"
#include "offsite/sweep.h"

#define PUSH_BUFFER (1u << 20)
#define PUSH_KEY_MAX 1100

/* ---- a listing of a store's data/ objects: key -> size ---- */

typedef struct push_object {
    char *key;
    uint64_t size;
} push_object;

typedef struct push_listing {
    push_object *items;
    size_t count, capacity;
} push_listing;

static int push_listing_add(void *ctx, const char *key, const ofs_object_info *info)
{
    push_listing *l = ctx;
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 256;
        push_object *bigger = realloc(l->items, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        l->items = bigger;
        l->capacity = capacity;
    }
    if (!(l->items[l->count].key = strdup(key)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    l->items[l->count].size = info->size;
    l->count++;
    return 0;
}

static int push_object_compare(const void *a, const void *b)
{
    return strcmp(((const push_object *)a)->key, ((const push_object *)b)->key);
}

static void push_listing_free(push_listing *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i].key);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* push_listing_load(store, &l): every object under data/ (one paged listing, not a stat per
 * object), sorted for lookups. An empty store is an empty listing. */
static int push_listing_load(ofs_store *store, push_listing *l)
{
    int rc = ofs_store_list(store, "data/", push_listing_add, l);
    if (rc < 0 && rc != OFS_ENOTFOUND)
        return rc; /* the store layer already says "NAME: data/: ..." */
    /* the driver contract promises key order; sorting again costs little and guards lookups */
    if (l->count > 1)
        qsort(l->items, l->count, sizeof(*l->items), push_object_compare);
    return 0;
}

static const push_object *push_listing_find(const push_listing *l, const char *key)
{
    push_object probe = { .key = (char *)key };
    if (l->count == 0)
        return NULL;
    return bsearch(&probe, l->items, l->count, sizeof(*l->items), push_object_compare);
}

/* push_listing_lacks_record(l, m): 1 if l holds a backup.json whose id m does not list. */
static int push_listing_lacks_record(const push_listing *l, const ofs_manifest *m)
{
    const char *tail = "/" OFS_RECORD_NAME;
    size_t tail_len = strlen(tail);
    for (size_t i = 0; i < l->count; i++) {
        const char *key = l->items[i].key;
        size_t n = strlen(key);
        if (n <= tail_len || strcmp(key + n - tail_len, tail) != 0)
            continue;
        const char *end = key + n - tail_len, *start = end;
        while (start > key && start[-1] != '/')
            start--;
        char id[256];
        if ((size_t)(end - start) >= sizeof(id))
            continue;
        memcpy(id, start, (size_t)(end - start));
        id[end - start] = '\0';
        if (!ofs_manifest_find(m, id))
            return 1;
    }
    return 0;
}

/* ---- one run ---- */

/* An object whose bytes are all written, finishing (its last parts, the multipart completion
 * and its check) on a thread of its own while the next object is read and sent, so the link
 * does not idle at every object boundary. One at a time. */
typedef struct push_finisher {
    pthread_t thread;
    int running;        /* on its own thread */
    ofs_writer *w;      /* the object being finished, or NULL */
    uint64_t size;
    int rc;
    char *message;
} push_finisher;

typedef struct push_run {
    ofs_store *from, *to;
    const ofs_keyring *ring;
    ofs_push_stats *stats;
    ofs_progress *progress;
    push_listing target;
    uint8_t *buffer;
    push_finisher finisher;
} push_run;

static void *push_finish_thread(void *arg)
{
    push_finisher *f = arg;
    if ((f->rc = ofs_writer_finish(f->w)) < 0)
        f->message = ofs_error_save();
    return NULL;
}

/* push_finish_join(run): wait for the object finishing (if on a thread), count it, and
 * return its result (its message restored on this thread). */
static int push_finish_join(push_run *run)
{
    push_finisher *f = &run->finisher;
    int rc;

    if (!f->w)
        return 0;
    if (f->running)
        pthread_join(f->thread, NULL);
    f->running = 0;
    if ((rc = f->rc) == 0) {
        run->stats->objects_copied++;
        run->stats->bytes_copied += f->size;
    } else {
        ofs_error_restore(rc, f->message);
    }
    ofs_writer_free(f->w); /* unfinished: aborted */
    f->w = NULL;
    free(f->message);
    f->message = NULL;
    return rc;
}

/* push_finish(run, &w, size): commit w - in the background where the target allows it, after
 * the previous background finish has succeeded. w is taken either way. */
static int push_finish(push_run *run, ofs_writer **w, uint64_t size)
{
    push_finisher *f = &run->finisher;
    int rc = push_finish_join(run);

    if (rc < 0) {
        ofs_writer_free(*w);
        *w = NULL;
        return rc;
    }
    *f = (push_finisher){ .w = *w, .size = size };
    *w = NULL;
    if ((ofs_store_caps(run->to) & OFS_STORE_CAP_CONCURRENT) &&
        pthread_create(&f->thread, NULL, push_finish_thread, f) == 0) {
        f->running = 1;
        return 0;
    }
    push_finish_thread(f); /* the store cannot, or no thread: here */
    return push_finish_join(run);
}

/* push_source_manifest(run, &m): the source's manifest, or one rebuilt from its records when
 * it is missing, damaged, or lacks a committed backup (a manifest update that failed after
 * the commit must not keep that backup from its targets). */
static int push_source_manifest(push_run *run, ofs_manifest **out)
{
    push_listing source = { 0 };
    ofs_manifest *m = NULL;
    int rc = ofs_manifest_load(&m, run->from, run->ring);

    if (rc == OFS_EAUTH || rc == OFS_ECORRUPT)
        ofs_log_warn("%s; rebuilding the list of backups from their records", ofs_error_last());
    else if (rc < 0 && rc != OFS_ENOTFOUND)
        return rc; /* "NAME: manifest.json: ..." from the store layer */
    if (m) {
        if ((rc = push_listing_load(run->from, &source)) < 0)
            goto cleanup;
        if (push_listing_lacks_record(&source, m)) {
            ofs_log_warn("%s: the manifest lacks a committed backup; rebuilding it from the "
                         "records", ofs_store_name(run->from));
            ofs_manifest_free(m);
            m = NULL;
        }
    }
    if (!m && (rc = ofs_manifest_rebuild(&m, run->from, run->ring)) < 0)
        goto cleanup;
    *out = m;
    m = NULL;
    rc = 0;
cleanup:
    push_listing_free(&source);
    ofs_manifest_free(m);
    return rc;
}

/* push_target_manifest(run, &m): the target's manifest; a new one for a new target; rebuilt
 * from the target's records if it is damaged. */
static int push_target_manifest(push_run *run, ofs_manifest **out)
{
    int rc = ofs_manifest_load(out, run->to, run->ring);
    if (rc == OFS_ENOTFOUND) /* new, or lost: what records there are (checked against the key) */
        return ofs_manifest_rebuild(out, run->to, run->ring);
    if (rc == OFS_EAUTH || rc == OFS_ECORRUPT) {
        ofs_log_warn("%s; rebuilding it from the target's records", ofs_error_last());
        return ofs_manifest_rebuild(out, run->to, run->ring);
    }
    return rc; /* errors already read "NAME: manifest.json: ..." */
}

/* push_same_record(to, key, json, size): the record already on the target is ours byte for
 * byte (another push got there first): fine. A different one is another writer's: refuse. */
static int push_same_record(ofs_store *to, const char *key, const char *json, size_t size)
{
    char *there = NULL;
    size_t there_size = 0;
    int rc = ofs_store_get_buffer(to, key, &there, &there_size, OFS_RECORD_MAX);
    if (rc == 0 && (there_size != size || memcmp(there, json, size) != 0))
        rc = ofs_error_set(OFS_EEXISTS, "%s: %s: a different record is already there (another "
                           "host writing to the same prefix?); left as it is",
                           ofs_store_name(to), key);
    free(there);
    return rc;
}

/* push_superseded(tm, e): 1 if the target's manifest has a newer backup of e's set and no
 * longer lists e (its prune removed it). A backup the manifest still lists but the target
 * lacks is damage, and is sent again. */
static int push_superseded(const ofs_manifest *tm, const ofs_manifest_entry *e)
{
    const ofs_manifest_entry *newest = ofs_manifest_latest(tm, e->set);
    if (!newest || ofs_manifest_find(tm, e->id))
        return 0;
    return ofs_manifest_entry_order(newest, e) > 0;
}

/* push_hash_object(store, key, digest, &size): SHA-256 and size of a stored object. */
static int push_hash_object(push_run *run, ofs_store *store, const char *key,
                            uint8_t digest[OFS_SHA256_BYTES], uint64_t *size)
{
    ofs_reader *r = NULL;
    size_t got;
    int rc;

    if ((rc = ofs_store_get(store, key, 0, 0, &r)) < 0 ||
        (rc = ofs_hash_reader_new(&r, r)) < 0)
        goto cleanup;
    do {
        if ((rc = ofs_reader_read(r, run->buffer, PUSH_BUFFER, &got)) < 0)
            goto cleanup;
    } while (got > 0);
    ofs_hash_reader_result(r, digest, size);
cleanup:
    ofs_reader_free(r);
    return rc;
}

/* push_target_has(run, key, o): 1 if the target holds the object as recorded (size from the
 * listing; on local stores also the SHA-256, since re-reading is cheap), else 0. */
static int push_target_has(push_run *run, const char *key, const ofs_record_object *o)
{
    const push_object *have = push_listing_find(&run->target, key);
    uint8_t digest[OFS_SHA256_BYTES];
    uint64_t size = 0;

    if (!have || have->size != o->size)
        return 0;
    if (!(ofs_store_caps(run->to) & OFS_STORE_CAP_LOCAL))
        return 1;
    if (push_hash_object(run, run->to, key, digest, &size) < 0) {
        ofs_log_warn("%s; copying it again", ofs_error_last());
        return 0;
    }
    if (size != o->size || CRYPTO_memcmp(digest, o->sha256, sizeof(digest)) != 0) {
        ofs_log_warn("%s: '%s' differs from the record; copying it again", ofs_store_name(run->to),
                     key);
        return 0;
    }
    return 1;
}

/*
 * push_copy_object(run, key, o, &source_damaged): source get -> SHA-256 -> target put. The
 * hash is checked BEFORE the target's writer is finished, so a damaged source object is never
 * committed on the target. *source_damaged tells the source's fault from the target's.
 */
static int push_copy_object(push_run *run, const char *key, const ofs_record_object *o,
                            int *source_damaged)
{
    ofs_reader *r = NULL;
    ofs_writer *w = NULL;
    uint8_t digest[OFS_SHA256_BYTES];
    uint64_t size = 0;
    size_t got;
    int rc;

    *source_damaged = 0;
    if ((rc = ofs_store_get(run->from, key, 0, 0, &r)) < 0 ||
        (rc = ofs_hash_reader_new(&r, r)) < 0) {
        *source_damaged = rc == OFS_ENOTFOUND;
        goto cleanup;
    }
    if ((rc = ofs_store_put(run->to, key, 0, &w)) < 0)
        goto cleanup;
    for (;;) {
        if ((rc = ofs_reader_read(r, run->buffer, PUSH_BUFFER, &got)) < 0) {
            *source_damaged = rc == OFS_ECORRUPT || rc == OFS_EAUTH;
            goto cleanup;
        }
        if (got == 0)
            break;
        if ((rc = ofs_writer_write(w, run->buffer, got)) < 0)
            goto cleanup;
        ofs_progress_add(run->progress, got);
    }
    ofs_hash_reader_result(r, digest, &size);
    if (size != o->size || CRYPTO_memcmp(digest, o->sha256, sizeof(digest)) != 0) {
        *source_damaged = 1;
        rc = ofs_error_set(OFS_ECORRUPT, "%s: '%s' %s the record (the source copy is damaged)\n"
                           "HINT: 'offsite verify' shows the damage; the target does not get this "
                           "backup's record", ofs_store_name(run->from), key,
                           size != o->size ? "has another size than" : "has another SHA-256 than");
        goto cleanup; /* w is freed unfinished: nothing is committed on the target */
    }
    rc = push_finish(run, &w, size);
cleanup:
    ofs_writer_free(w);
    ofs_reader_free(r);
    return rc;
}

/* push_present(run, tm, e, key): 1 if the target holds e's record with a valid MAC (and then
 * its manifest lists it), 0 if the backup must be pushed, < 0 if the target cannot be read. */
static int push_present(push_run *run, ofs_manifest *tm, const ofs_manifest_entry *e,
                        const char *record_key)
{
    ofs_record *rec = NULL;
    char *json = NULL;
    size_t size = 0;
    int rc;

    if (!push_listing_find(&run->target, record_key))
        return 0;
    if ((rc = ofs_store_get_buffer(run->to, record_key, &json, &size, OFS_RECORD_MAX)) < 0) {
        if (rc == OFS_ENOTFOUND) /* deleted since the listing */
            rc = 0;
        goto cleanup;
    }
    rc = ofs_record_parse(&rec, json, size, run->ring, record_key);
    if (rc == OFS_EAUTH || rc == OFS_ECORRUPT || rc == OFS_ENOTFOUND) {
        ofs_log_warn("%s: %s; pushing backup '%s' again", ofs_store_name(run->to),
                     ofs_error_last(), e->id);
        /* the new record is written only where none is: the damaged one goes first */
        rc = ofs_store_del(run->to, record_key);
        goto cleanup;
    }
    if (rc < 0)
        goto cleanup;
    if (!ofs_manifest_find(tm, e->id)) {
        /* an earlier push stopped between the record and the manifest */
        if ((rc = ofs_manifest_add(tm, rec, json, size)) < 0 ||
            (rc = ofs_manifest_save(tm, run->to, run->ring)) < 0)
            goto cleanup;
    }
    rc = 1;
cleanup:
    ofs_record_free(rec);
    free(json);
    return rc;
}

/* push_source_record(run, e, &rec, &json, &size, &source_damaged): e's record from the
 * source, MAC-checked; a record that is missing or fails is the source's damage. */
static int push_source_record(push_run *run, const ofs_manifest_entry *e, ofs_record **rec,
                              char **json, size_t *size, int *source_damaged)
{
    int rc = ofs_repo_load_record(run->from, run->ring, e->id, rec, json, size);
    *source_damaged = rc == OFS_EAUTH || rc == OFS_ECORRUPT || rc == OFS_ENOTFOUND;
    return rc;
}

/* push_finish_abandon(run, rc): after a failure elsewhere, the object finishing meanwhile is
 * waited for (not in vain), but rc's error stays the one to report. */
static void push_finish_abandon(push_run *run, int rc)
{
    if (!run->finisher.w)
        return;
    char *message = ofs_error_save();
    if (push_finish_join(run) < 0)
        ofs_log_debug("%s", ofs_error_last());
    ofs_error_restore(rc, message);
    free(message);
}

/* push_backup(run, tm, e, &source_damaged): copy one backup's objects, then its record, then
 * update and save the target's manifest. */
static int push_backup(push_run *run, ofs_manifest *tm, const ofs_manifest_entry *e,
                       int *source_damaged)
{
    ofs_record *rec = NULL;
    char *json = NULL;
    size_t size = 0;
    char key[PUSH_KEY_MAX];
    int rc;

    if ((rc = push_source_record(run, e, &rec, &json, &size, source_damaged)) < 0)
        goto cleanup;
    for (size_t i = 0; i < rec->object_count; i++) {
        const ofs_record_object *o = &rec->objects[i];
        if ((rc = ofs_repo_key(key, sizeof(key), rec->class_name, rec->id, o->name)) < 0)
            goto cleanup;
        if (push_target_has(run, key, o)) {
            run->stats->objects_skipped++;
            ofs_progress_add(run->progress, o->size);
            continue;
        }
        if ((rc = push_copy_object(run, key, o, source_damaged)) < 0)
            goto cleanup;
    }
    /* the commit point on the target: the record, byte for byte as in the source, never over
     * a record someone else committed meanwhile (atomic where the store can: caps) - and
     * only once every object has finished */
    if ((rc = push_finish_join(run)) < 0 ||
        (rc = ofs_repo_key(key, sizeof(key), rec->class_name, rec->id, OFS_RECORD_NAME)) < 0)
        goto cleanup;
    if ((rc = ofs_store_put_buffer(run->to, key, OFS_PUT_IF_ABSENT, json, size)) == OFS_EEXISTS)
        rc = push_same_record(run->to, key, json, size);
    if (rc < 0)
        goto cleanup;
    run->stats->backups_pushed++;
    /* saved after every backup, so an interrupted push keeps every finished backup listed */
    if ((rc = ofs_manifest_add(tm, rec, json, size)) < 0 ||
        (rc = ofs_manifest_save(tm, run->to, run->ring)) < 0) {
        rc = ofs_error_wrap(rc, "backup '%s' arrived, but the manifest was not updated", e->id);
        goto cleanup;
    }
    ofs_log_info("pushed backup '%s' to %s", e->id, ofs_store_name(run->to));
cleanup:
    push_finish_abandon(run, rc);
    ofs_record_free(rec);
    free(json);
    return rc;
}

/* push_repair(run, e, &source_damaged): e is on the target already: read back each of its
 * objects and send again from the source every one that is missing or disagrees with the
 * source's record. The target's record stays: it names the same bytes. */
static int push_repair(push_run *run, const ofs_manifest_entry *e, int *source_damaged)
{
    ofs_record *rec = NULL;
    char *json = NULL;
    size_t size = 0;
    char key[PUSH_KEY_MAX];
    int rc;

    if ((rc = push_source_record(run, e, &rec, &json, &size, source_damaged)) < 0)
        goto cleanup;
    for (size_t i = 0; i < rec->object_count; i++) {
        const ofs_record_object *o = &rec->objects[i];
        const push_object *have;
        uint8_t digest[OFS_SHA256_BYTES];
        uint64_t got = 0;
        const char *why = NULL;
        if ((rc = ofs_repo_key(key, sizeof(key), rec->class_name, rec->id, o->name)) < 0)
            goto cleanup;
        run->stats->objects_checked++;
        if (!(have = push_listing_find(&run->target, key)))
            why = "is missing";
        else if (have->size != o->size)
            why = "has another size than the record";
        else if ((rc = push_hash_object(run, run->to, key, digest, &got)) < 0)
            goto cleanup; /* the target cannot be read: stop, as a push does */
        else if (got != o->size || CRYPTO_memcmp(digest, o->sha256, sizeof(digest)) != 0)
            why = "has another SHA-256 than the record";
        if (!why)
            continue;
        ofs_log_warn("%s: '%s' %s; sending it again from %s", ofs_store_name(run->to), key,
                     why, ofs_store_name(run->from));
        if ((rc = push_copy_object(run, key, o, source_damaged)) < 0)
            goto cleanup;
        run->stats->objects_repaired++;
    }
    rc = push_finish_join(run);
cleanup:
    push_finish_abandon(run, rc);
    ofs_record_free(rec);
    free(json);
    return rc;
}

static int push_is_failed(char **failed, size_t count, const char *id)
{
    for (size_t i = 0; id && i < count; i++)
        if (strcmp(failed[i], id) == 0)
            return 1;
    return 0;
}

int ofs_push_run(ofs_store *from, ofs_store *to, const ofs_keyring *ring, unsigned flags,
                 ofs_push_stats *stats)
{
    push_run run = { .from = from, .to = to, .ring = ring, .stats = stats };
    ofs_push_stats local = { 0 };
    ofs_manifest *source = NULL, *tm = NULL;
    char **failed = NULL, *first_message = NULL;
    size_t failed_count = 0;
    int rc, first_code = 0;
    double start = ofs_clock_monotonic();
    int64_t run_start = (int64_t)time(NULL);
    char key[PUSH_KEY_MAX], label[256];

    if (!run.stats)
        run.stats = &local;
    memset(run.stats, 0, sizeof(*run.stats));
    if (!(run.buffer = malloc(PUSH_BUFFER))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = push_source_manifest(&run, &source)) < 0 ||
        (rc = push_target_manifest(&run, &tm)) < 0 ||
        (rc = push_listing_load(to, &run.target)) < 0)
        goto cleanup;
    if (source->count && !(failed = calloc(source->count, sizeof(*failed)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }

    uint64_t total = 0;
    for (size_t i = 0; i < source->count; i++) {
        const ofs_manifest_entry *e = &source->entries[i];
        if (ofs_repo_key(key, sizeof(key), e->class_name, e->id, OFS_RECORD_NAME) == 0 &&
            !push_listing_find(&run.target, key) && !push_superseded(tm, e))
            total += e->stored_bytes;
    }
    snprintf(label, sizeof(label), "push to %s", ofs_store_name(to));
    if ((rc = ofs_progress_new(&run.progress, label, total, (flags & OFS_PUSH_PROGRESS) != 0)) < 0)
        goto cleanup;

    /* oldest first: a differential never reaches a target before its base */
    for (size_t i = 0; i < source->count; i++) {
        const ofs_manifest_entry *e = &source->entries[i];
        int damaged = 0;
        if ((rc = ofs_repo_key(key, sizeof(key), e->class_name, e->id, OFS_RECORD_NAME)) < 0)
            goto cleanup;
        if (push_is_failed(failed, failed_count, e->base)) {
            ofs_error_set(OFS_ECORRUPT, "backup '%s' was not pushed: its base '%s' could not be "
                          "pushed", e->id, e->base);
            ofs_log_error("%s", ofs_error_last());
            failed[failed_count++] = e->id;
            continue;
        }
        if ((rc = push_present(&run, tm, e, key)) < 0)
            goto cleanup;
        if (rc == 1) {
            run.stats->backups_present++;
            if (!(flags & OFS_PUSH_REPAIR) || (rc = push_repair(&run, e, &damaged)) == 0)
                continue;
            rc = ofs_error_wrap(rc, "repairing backup '%s'", e->id);
            if (!damaged)
                goto cleanup;
            ofs_log_error("not repaired: %s", ofs_error_last());
            if (!first_code) {
                first_code = rc;
                first_message = ofs_error_save();
            }
            failed[failed_count++] = e->id;
            continue;
        }
        if (push_superseded(tm, e)) {
            ofs_log_debug("%s: not sending '%s': the target holds a newer backup of set '%s'",
                          ofs_store_name(to), e->id, e->set);
            run.stats->backups_superseded++;
            continue;
        }
        if ((rc = push_backup(&run, tm, e, &damaged)) == 0)
            continue;
        rc = ofs_error_wrap(rc, "backup '%s'", e->id);
        if (!damaged)
            goto cleanup; /* the target or the link failed: stop, the next push resumes */
        /* a damaged source backup must not keep the others from their target */
        ofs_log_error("not pushed: %s", ofs_error_last());
        if (!first_code) {
            first_code = rc;
            first_message = ofs_error_save();
        }
        failed[failed_count++] = e->id;
    }
    rc = 0;
    if (first_code) {
        rc = ofs_error_restore(first_code, first_message);
        if (failed_count > 1)
            rc = ofs_error_wrap(rc, "%zu backups not pushed, the first", failed_count);
    } else {
        /* everything is on the target: no upload of ours is left to resume, so what older
         * runs left unfinished is debris */
        ofs_sweep(to, ofs_sweep_cutoff(ofs_sweep_shared(tm, source, NULL), run_start),
                  &run.stats->swept);
    }
cleanup:
    if (run.progress)
        ofs_progress_done(run.progress);
    ofs_progress_free(run.progress);
    run.stats->seconds = ofs_clock_monotonic() - start;
    push_listing_free(&run.target);
    ofs_manifest_free(source);
    ofs_manifest_free(tm);
    free(failed);
    free(first_message);
    free(run.buffer);
    return rc;
}
