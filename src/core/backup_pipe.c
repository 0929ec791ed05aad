/* backup_pipe.c - scanned entries -> merge with the base -> volumes and catalog, streaming;
 * see backup_pipe.h. */
#include "backup_pipe.h"
#include "offsite/diff.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/seal.h"
#include "offsite/tarwrite.h"
#include "offsite/zstdstream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_KEY_MAX 1100
#define PIPE_MAX_WORKERS 64

typedef enum pipe_item_kind { PIPE_KEEP, PIPE_SKIP, PIPE_STORE } pipe_item_kind;

/* A run of one kind of decision, in path order. */
typedef struct pipe_item {
    uint32_t kind;
    uint32_t count;
} pipe_item;

typedef enum pipe_state { PIPE_QUEUED, PIPE_PACKING, PIPE_PACKED } pipe_state;

typedef struct pipe_batch {
    pipe_item *items;
    size_t item_count, item_capacity;
    ofs_catalog_entry *entries;  /* to store: path, link_target owned; the rest borrowed */
    uint8_t *vanished;           /* per entry: gone before it was read (left out) */
    size_t count, capacity;
    uint64_t content;            /* bytes it plans to store */
    uint32_t volume;             /* 0: nothing to store */
    int zstd_threads;
    pipe_state state;            /* guarded by the pipe's lock */
    uint64_t stored_size;
    uint8_t sha256[OFS_SHA256_BYTES];
    struct pipe_batch *next;
} pipe_batch;

typedef struct pipe_volume {
    uint64_t size;
    uint8_t sha256[OFS_SHA256_BYTES];
} pipe_volume;

struct backup_pipe {
    backup_pipe_config cfg;
    ofs_diff_base *base;             /* the merge side of a differential */
    pipe_batch *current;             /* being filled by the walk */
    uint64_t planned;                /* content bytes planned so far (progress total) */
    /* batches handed to the workers, oldest first; guarded by lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pipe_batch *head, *tail;
    size_t in_flight;
    int walk_done;
    int error_code;
    char *error_message;
    atomic_int stop;
    pthread_t threads[PIPE_MAX_WORKERS];
    int started;
    /* the calling thread's */
    uint32_t volume_count;           /* volumes assigned */
    pipe_volume *volumes;            /* results of the volumes written, in order */
    uint32_t volumes_written;
    backup_pipe_stats stats;
};

/* ---- batches ---- */

static void pipe_batch_free(pipe_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->count; i++)
        ofs_catalog_entry_free_paths(&b->entries[i]);
    free(b->entries);
    free(b->vanished);
    free(b->items);
    free(b);
}

static int pipe_batch_new(pipe_batch **out)
{
    if (!(*out = calloc(1, sizeof(**out))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

static int pipe_item_add(pipe_batch *b, pipe_item_kind kind, uint64_t count)
{
    while (count > 0) {
        uint32_t n = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
        pipe_item *last = b->item_count ? &b->items[b->item_count - 1] : NULL;
        if (last && last->kind == (uint32_t)kind && last->count <= UINT32_MAX - n) {
            last->count += n;
        } else {
            if (b->item_count == b->item_capacity) {
                size_t capacity = b->item_capacity ? b->item_capacity * 2 : 64;
                pipe_item *bigger = realloc(b->items, capacity * sizeof(*bigger));
                if (!bigger)
                    return ofs_error_set(OFS_ERROR, "out of memory");
                b->items = bigger;
                b->item_capacity = capacity;
            }
            b->items[b->item_count++] = (pipe_item){ (uint32_t)kind, n };
        }
        count -= n;
    }
    return 0;
}

/* Copies e into b's entries to store (path and link_target duplicated). */
static int pipe_batch_store(pipe_batch *b, const ofs_catalog_entry *e, ofs_catalog_entry **out)
{
    if (b->count == b->capacity) {
        size_t capacity = b->capacity ? b->capacity * 2 : 256;
        ofs_catalog_entry *bigger = realloc(b->entries, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        b->entries = bigger;
        uint8_t *flags = realloc(b->vanished, capacity);
        if (!flags)
            return ofs_error_set(OFS_ERROR, "out of memory");
        b->vanished = flags;
        b->capacity = capacity;
    }
    ofs_catalog_entry *copy = &b->entries[b->count];
    int rc = ofs_catalog_entry_copy_paths(copy, e);
    if (rc < 0)
        return rc;
    b->vanished[b->count] = 0;
    b->count++;
    *out = copy;
    return pipe_item_add(b, PIPE_STORE, 1);
}

/* ---- workers ---- */

static void pipe_fail(backup_pipe *p, int rc)
{
    pthread_mutex_lock(&p->lock);
    /* the first failure is the cause; the others are usually "canceled" because of it */
    if (p->error_code == 0 || (p->error_code == OFS_ECANCELED && rc != OFS_ECANCELED)) {
        free(p->error_message);
        p->error_code = rc;
        p->error_message = ofs_error_save();
    }
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* One volume: store put <- SHA-256 <- seal <- zstd <- tar. */
static int pipe_pack(backup_pipe *p, pipe_batch *b)
{
    char name[32], key[PIPE_KEY_MAX], seal_name[OFS_SEAL_NAME_MAX + 1];
    ofs_writer *w = NULL, *hash = NULL;
    ofs_tar_writer *tar = NULL;
    int rc;

    ofs_record_volume_name(b->volume, name);
    if ((rc = ofs_repo_key(key, sizeof(key), p->cfg.class_name, p->cfg.id, name)) < 0 ||
        (rc = ofs_repo_seal_name(seal_name, sizeof(seal_name), p->cfg.id, name)) < 0 ||
        (rc = ofs_store_put(p->cfg.staging, key, 0, &w)) < 0 ||
        (rc = ofs_hash_writer_new(&w, w)) < 0)
        goto cleanup;
    hash = w;
    if ((rc = ofs_seal_writer_new(&w, w, p->cfg.key, seal_name, 0)) < 0 ||
        (rc = ofs_zstd_writer_new(&w, w, p->cfg.compression_level, b->zstd_threads)) < 0)
        goto cleanup;
    rc = ofs_tar_writer_new(&tar, w, p->cfg.progress, &p->stop);
    w = NULL; /* owned by the tar writer now, even on failure */
    if (rc < 0)
        goto cleanup;
    for (size_t i = 0; i < b->count; i++) {
        ofs_catalog_entry *e = &b->entries[i];
        e->volume = b->volume;
        rc = ofs_tar_writer_add(tar, NULL, e);
        if (rc == OFS_ENOTFOUND) {
            ofs_log_warn("%s, skipped", ofs_error_last());
            b->vanished[i] = 1;
            rc = 0;
            continue;
        }
        if (rc < 0)
            goto cleanup;
    }
    if ((rc = ofs_tar_writer_finish(tar)) < 0)
        goto cleanup;
    ofs_hash_writer_result(hash, b->sha256, &b->stored_size);
    ofs_log_debug("volume %s of '%s' written: %llu bytes", name, p->cfg.id,
                  (unsigned long long)b->stored_size);
cleanup:
    ofs_tar_writer_free(tar);
    ofs_writer_free(w);
    if (rc < 0 && rc != OFS_ECANCELED)
        ofs_error_wrap(rc, "volume %u", b->volume);
    return rc;
}

static void *pipe_worker(void *arg)
{
    backup_pipe *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (atomic_load(&p->stop))
            break;
        pipe_batch *b = p->head;
        while (b && b->state != PIPE_QUEUED)
            b = b->next;
        if (!b) {
            if (p->walk_done)
                break;
            pthread_cond_wait(&p->cond, &p->lock);
            continue;
        }
        b->state = PIPE_PACKING;
        pthread_mutex_unlock(&p->lock);
        int rc = pipe_pack(p, b);
        if (rc < 0)
            pipe_fail(p, rc);
        pthread_mutex_lock(&p->lock);
        b->state = PIPE_PACKED;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- the catalog, in order ---- */

static void pipe_count(backup_pipe *p, const ofs_catalog_entry *e)
{
    backup_pipe_stats *s = &p->stats;
    s->entries++;
    switch (e->type) {
    case OFS_ENTRY_FILE:
        s->files++;
        s->bytes += e->size;
        break;
    case OFS_ENTRY_DIR: s->dirs++; break;
    case OFS_ENTRY_SYMLINK: s->symlinks++; break;
    case OFS_ENTRY_HARDLINK: s->hardlinks++; break;
    case OFS_ENTRY_FIFO: s->fifos++; break;
    }
}

/* Reads the next line of the base's second reader (it must be there: the merge saw it). */
static int pipe_base_next(backup_pipe *p, const char **line, size_t *len)
{
    int rc = ofs_catalog_reader_next_raw(p->cfg.base_keep, line, len);
    if (rc == 0)
        rc = ofs_error_set(OFS_ECORRUPT, "base catalog of '%s' ended early", p->cfg.base_id);
    return rc < 0 ? ofs_error_wrap(rc, "base catalog") : 0;
}

static int pipe_write_batch(backup_pipe *p, pipe_batch *b)
{
    size_t next = 0;
    int rc;
    for (size_t i = 0; i < b->item_count; i++) {
        const pipe_item *it = &b->items[i];
        for (uint32_t k = 0; k < it->count; k++) {
            if (it->kind == PIPE_STORE) {
                const ofs_catalog_entry *e = &b->entries[next];
                if (b->vanished[next++]) {
                    p->stats.vanished++;
                    continue;
                }
                if ((rc = ofs_catalog_writer_add(p->cfg.catalog, e)) < 0)
                    return rc;
                p->stats.stored++;
                if (e->base_size > 0)
                    p->stats.appended++;
                if (e->changed)
                    p->stats.changed_while_read++;
                pipe_count(p, e);
                continue;
            }
            /* the base's line as it is: the merge parsed and counted it already */
            const char *line = NULL;
            size_t len = 0;
            if ((rc = pipe_base_next(p, &line, &len)) < 0 ||
                (it->kind == PIPE_KEEP &&
                 (rc = ofs_catalog_writer_add_raw(p->cfg.catalog, line, len)) < 0))
                return rc;
        }
    }
    if (b->volume == 0)
        return 0;
    if (b->volume != p->volumes_written + 1)
        return ofs_error_set(OFS_ERROR, "volume %u finished out of order", b->volume);
    p->volumes[p->volumes_written].size = b->stored_size;
    memcpy(p->volumes[p->volumes_written].sha256, b->sha256, OFS_SHA256_BYTES);
    p->volumes_written++;
    return 0;
}

/* Writes the oldest batches' catalog lines (waiting for their volumes) until at most `keep`
 * batches are in flight. */
static int pipe_drain(backup_pipe *p, size_t keep)
{
    int rc = 0;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->in_flight > keep && p->head->state != PIPE_PACKED && p->error_code == 0)
            pthread_cond_wait(&p->cond, &p->lock);
        pipe_batch *b = NULL;
        if (p->error_code < 0) {
            rc = ofs_error_restore(p->error_code, p->error_message);
        } else if (p->in_flight > keep) {
            b = p->head;
            p->head = b->next;
            if (!p->head)
                p->tail = NULL;
            p->in_flight--;
        }
        pthread_mutex_unlock(&p->lock);
        if (!b)
            return rc;
        rc = pipe_write_batch(p, b);
        pipe_batch_free(b);
        if (rc < 0) {
            pipe_fail(p, rc);
            return rc;
        }
    }
}

/* Hands the current batch to the workers (or straight to the catalog when it stores nothing). */
static int pipe_push(backup_pipe *p, int last)
{
    pipe_batch *b = p->current;
    int rc;
    p->current = NULL;
    if (!b || b->item_count == 0) {
        pipe_batch_free(b);
        return last ? 0 : pipe_batch_new(&p->current);
    }
    if (b->count > 0) {
        pipe_volume *bigger = realloc(p->volumes, (p->volume_count + 1) * sizeof(*bigger));
        if (!bigger) {
            pipe_batch_free(b);
            return ofs_error_set(OFS_ERROR, "out of memory");
        }
        p->volumes = bigger;
        b->volume = ++p->volume_count;
        p->planned += b->content;
        ofs_progress_set_total(p->cfg.progress, p->planned);
    }
    pthread_mutex_lock(&p->lock);
    b->state = b->volume ? PIPE_QUEUED : PIPE_PACKED;
    if (last && b->volume && p->cfg.parallel > 1) {
        /* the last volume, with no other one in the works: zstd takes the idle cores */
        int alone = 1;
        for (pipe_batch *o = p->head; o; o = o->next)
            alone = alone && o->state == PIPE_PACKED;
        b->zstd_threads = alone ? p->cfg.parallel : 0;
    }
    if (p->tail)
        p->tail->next = b;
    else
        p->head = b;
    p->tail = b;
    p->in_flight++;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if ((rc = pipe_drain(p, (size_t)p->cfg.parallel + 1)) < 0)
        return rc;
    return last ? 0 : pipe_batch_new(&p->current);
}

/* ---- the merge ---- */

int backup_pipe_add(void *ctx, const ofs_catalog_entry *e)
{
    backup_pipe *p = ctx;
    const ofs_catalog_entry *base = NULL;
    ofs_catalog_entry *copy = NULL;
    uint64_t passed = 0, content = 0;
    ofs_diff_action action = OFS_DIFF_NEW;
    int rc;

    if (atomic_load(&p->stop)) {
        pthread_mutex_lock(&p->lock);
        rc = p->error_code < 0 ? ofs_error_restore(p->error_code, p->error_message)
                               : ofs_error_set(OFS_ECANCELED, "backup canceled");
        pthread_mutex_unlock(&p->lock);
        return rc;
    }
    if (p->base) {
        if ((rc = ofs_diff_base_seek(p->base, e->path, &base, &passed)) < 0)
            return rc;
        action = ofs_diff_compare(e, base);
        /* a kept line must name where its content is (offsite always writes "backup") */
        if (action == OFS_DIFF_UNCHANGED && base->volume != 0 && !base->backup_id)
            action = OFS_DIFF_CHANGED;
    }
    if (action != OFS_DIFF_UNCHANGED && e->type == OFS_ENTRY_FILE)
        content = action == OFS_DIFF_GROWN ? e->size - base->size : e->size;
    pipe_batch *b = p->current;
    int cut = b->item_count + 3 > BACKUP_PIPE_BATCH_MAX || b->count >= BACKUP_PIPE_BATCH_MAX ||
              (content > 0 && b->content > 0 && b->content + content > p->cfg.volume_size);
    if (cut && ((rc = pipe_push(p, 0)) < 0))
        return rc;
    b = p->current;
    if (passed > 0) {
        p->stats.deleted += passed;
        if ((rc = pipe_item_add(b, PIPE_SKIP, passed)) < 0)
            return rc;
    }
    if (action == OFS_DIFF_UNCHANGED) {
        p->stats.kept++;
        pipe_count(p, base);
        return pipe_item_add(b, PIPE_KEEP, 1);
    }
    if (base && (rc = pipe_item_add(b, PIPE_SKIP, 1)) < 0)
        return rc;
    if ((rc = pipe_batch_store(b, e, &copy)) < 0)
        return rc;
    copy->backup_id = (char *)p->cfg.id;
    if (action == OFS_DIFF_GROWN) {
        /* tarwrite.h stores the tail if these bytes are still the file's prefix */
        copy->base_size = base->size;
        copy->base_backup = (char *)p->cfg.base_id; /* the base is a full: it holds them */
        copy->base_volume = base->volume;
        copy->base_offset = base->offset;
        memcpy(copy->base_sha256, base->sha256, OFS_SHA256_BYTES);
    }
    b->content += content;
    return 0;
}

/* ---- life cycle ---- */

int backup_pipe_new(backup_pipe **out, const backup_pipe_config *cfg)
{
    backup_pipe *p = calloc(1, sizeof(*p));
    int rc;
    *out = NULL;
    if (!p) {
        ofs_catalog_reader_free(cfg->base_merge);
        ofs_catalog_reader_free(cfg->base_keep);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    p->cfg = *cfg;
    p->cfg.base_merge = NULL; /* owned by p->base below */
    if (p->cfg.volume_size == 0)
        p->cfg.volume_size = 128u << 20;
    if (p->cfg.parallel < 1)
        p->cfg.parallel = 1;
    if (p->cfg.parallel > PIPE_MAX_WORKERS)
        p->cfg.parallel = PIPE_MAX_WORKERS;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    atomic_init(&p->stop, 0);
    if (cfg->base_merge && (rc = ofs_diff_base_new(&p->base, cfg->base_merge)) < 0)
        goto fail;
    if ((rc = pipe_batch_new(&p->current)) < 0)
        goto fail;
    for (int i = 0; i < p->cfg.parallel; i++) {
        int err = pthread_create(&p->threads[p->started], NULL, pipe_worker, p);
        if (err != 0) {
            rc = ofs_error_from_errno(err, "cannot start a backup worker");
            goto fail;
        }
        p->started++;
    }
    *out = p;
    return 0;
fail:
    backup_pipe_free(p);
    return rc;
}

int backup_pipe_finish(backup_pipe *p)
{
    uint64_t passed = 0;
    int rc;
    if (p->base) {
        if ((rc = ofs_diff_base_rest(p->base, &passed)) < 0)
            return rc;
        p->stats.deleted += passed; /* the catalog writer need not read them */
    }
    if ((rc = pipe_push(p, 1)) < 0)
        return rc;
    pthread_mutex_lock(&p->lock);
    p->walk_done = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if ((rc = pipe_drain(p, 0)) < 0)
        return rc;
    if (p->volumes_written != p->volume_count)
        return ofs_error_set(OFS_ERROR, "%u of %u volumes written", p->volumes_written,
                             p->volume_count);
    return 0;
}

uint32_t backup_pipe_volume_count(const backup_pipe *p)
{
    return p->volume_count;
}

void backup_pipe_volume(const backup_pipe *p, uint32_t index, uint64_t *size,
                        uint8_t sha256[OFS_SHA256_BYTES])
{
    *size = p->volumes[index].size;
    memcpy(sha256, p->volumes[index].sha256, OFS_SHA256_BYTES);
}

const backup_pipe_stats *backup_pipe_get_stats(const backup_pipe *p)
{
    return &p->stats;
}

void backup_pipe_free(backup_pipe *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    p->walk_done = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    while (p->head) {
        pipe_batch *b = p->head;
        p->head = b->next;
        pipe_batch_free(b);
    }
    pipe_batch_free(p->current);
    ofs_diff_base_free(p->base);
    ofs_catalog_reader_free(p->cfg.base_keep);
    free(p->volumes);
    free(p->error_message);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
