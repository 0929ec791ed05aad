/* restore.c - restore a backup into a directory; see restore.h (extraction is extract.c). */
#include "offsite/restore.h"
#include "prefetch.h"
#include "offsite/catalog.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/extract.h"
#include "offsite/log.h"
#include "offsite/progress.h"
#include "offsite/repo.h"
#include "offsite/tarread.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RESTORE_MAX_WORKERS 64
#define RESTORE_ALL 0
#define RESTORE_BASES 1
#define RESTORE_OWN 2

/* One tar entry a volume holds for the catalog: an entry's own (the whole file, or a tail),
 * or the base's copy of a file the catalog stores as a tail (its prefix). */
typedef struct restore_ref {
    size_t index;               /* into restore_job.entries */
    int prefix;
} restore_ref;

/* The entries of one volume, in catalog (= archive) order. */
typedef struct restore_volume {
    const char *backup_id;      /* interned: rec->id or its base's id */
    uint32_t number;
    restore_ref *refs;
    size_t count, capacity;
    int wanted;                 /* holds a selected entry */
} restore_volume;

typedef struct restore_base {
    char *id;
    ofs_record *rec;            /* NULL for the restored backup itself */
} restore_base;

typedef struct restore_job {
    ofs_store *store;
    const ofs_keyring *ring;
    const ofs_record *rec;
    const ofs_restore_options *opts;
    ofs_catalog_entry *entries; /* path, link_target owned; user/group NULL; backup_id interned */
    uint8_t *selected;
    size_t count, capacity;
    restore_base *bases;        /* ids seen in the catalog; [0] is rec itself */
    size_t base_count;
    restore_volume *volumes;
    size_t volume_count;
    int tails;                  /* selected tail entries: bases' volumes go first */
    int phase;                  /* which volumes the workers take (RESTORE_*) */
    char **staged;              /* per entry: the base's part of a tail, waiting */
    ofs_extract *extract;
    atomic_size_t next_volume;
    atomic_int stop;
    pthread_mutex_t lock;
    int error_code;
    char *error_message;
} restore_job;

static double restore_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- catalog ---- */

static const char *restore_intern_id(restore_job *job, const char *id)
{
    if (!id)
        return job->bases[0].id;
    for (size_t i = 0; i < job->base_count; i++)
        if (strcmp(job->bases[i].id, id) == 0)
            return job->bases[i].id;
    restore_base *bigger = realloc(job->bases, (job->base_count + 1) * sizeof(*bigger));
    if (!bigger)
        return NULL;
    job->bases = bigger;
    if (!(job->bases[job->base_count].id = strdup(id)))
        return NULL;
    job->bases[job->base_count].rec = NULL;
    return job->bases[job->base_count++].id;
}

/* A catalog points at this backup and, for a differential, its base: never a third. */
static int restore_check_ids(const restore_job *job, const ofs_catalog_entry *e)
{
    const char *ids[2] = { e->backup_id, e->base_backup };
    for (int i = 0; i < 2; i++) {
        const char *id = ids[i];
        if (!id || id == job->bases[0].id ||
            (job->rec->base && strcmp(id, job->rec->base) == 0))
            continue;
        return ofs_error_set(OFS_ECORRUPT, "catalog: '%s' points at backup '%s', which is "
                             "neither '%s' nor its base", e->path, id, job->rec->id);
    }
    return 0;
}

static int restore_load_catalog(restore_job *job)
{
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e = NULL;
    int rc;

    if (!(job->bases = calloc(1, sizeof(*job->bases))) ||
        !(job->bases[0].id = strdup(job->rec->id)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    job->base_count = 1;
    if ((rc = ofs_repo_open_catalog(job->store, job->ring, job->rec, &cr)) < 0)
        return rc;
    while ((rc = ofs_catalog_reader_next(cr, &e)) == 1) {
        if (job->count == job->capacity) {
            size_t capacity = job->capacity ? job->capacity * 2 : 1024;
            ofs_catalog_entry *bigger = realloc(job->entries, capacity * sizeof(*bigger));
            if (!bigger) {
                rc = ofs_error_set(OFS_ERROR, "out of memory");
                break;
            }
            job->entries = bigger;
            job->capacity = capacity;
        }
        ofs_catalog_entry *copy = &job->entries[job->count];
        if ((rc = ofs_catalog_entry_copy_paths(copy, e)) < 0)
            break;
        copy->user = copy->group = NULL;
        copy->backup_id = (char *)restore_intern_id(job, e->backup_id);
        copy->base_backup = e->base_size > 0 ? (char *)restore_intern_id(job, e->base_backup)
                                              : NULL;
        job->count++;
        if (!copy->backup_id || (e->base_size > 0 && !copy->base_backup)) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            break;
        }
        if ((rc = restore_check_ids(job, copy)) < 0)
            break;
        /* every path is checked before anything is planned: a catalog is authenticated, but
         * a bug that wrote a bad one must not reach the file system */
        if (!ofs_path_is_safe(copy->path)) {
            rc = ofs_error_set(OFS_ECORRUPT, "catalog: unsafe path '%s'", copy->path);
            break;
        }
    }
    ofs_catalog_reader_free(cr);
    if (rc < 0)
        return ofs_error_wrap(rc, "catalog");
    return 0;
}

/* ---- selection ---- */

static int restore_match(char *const *patterns, size_t count, const char *path)
{
    if (count == 0)
        return 1;
    size_t len = strlen(path);
    char *prefix = malloc(len + 1);
    int matched = 0;
    if (!prefix)
        return -1;
    for (size_t i = 0; i < count && !matched; i++) {
        const char *p = patterns[i];
        while (*p == '/')
            p++;
        size_t plen = strlen(p);
        while (plen > 0 && p[plen - 1] == '/')
            plen--;
        if (plen == 0) {
            matched = 1;
            break;
        }
        char *pattern = strndup(p, plen);
        if (!pattern) {
            free(prefix);
            return -1;
        }
        /* the path itself, or one of its ancestors (a pattern naming a directory) */
        for (size_t end = 0; end <= len && !matched; end++) {
            if (end < len && path[end] != '/')
                continue;
            memcpy(prefix, path, end);
            prefix[end] = '\0';
            matched = end > 0 && fnmatch(pattern, prefix, 0) == 0;
        }
        free(pattern);
    }
    free(prefix);
    return matched;
}

static long restore_find(const restore_job *job, const char *path)
{
    size_t lo = 0, hi = job->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ofs_path_compare(job->entries[mid].path, path);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/*
 * Marks the entries to restore: the patterns' matches, the first path of each selected hard
 * link (restored from its own volume so the link has something to point at), and the
 * directories above every selected entry (so they get their recorded metadata).
 */
static int restore_select(restore_job *job)
{
    const ofs_restore_options *o = job->opts;
    size_t *stack = NULL, depth = 0;
    int rc = 0;

    if (!(job->selected = calloc(job->count ? job->count : 1, 1)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < job->count; i++) {
        int m = restore_match(o->patterns, o->patterns ? o->pattern_count : 0,
                              job->entries[i].path);
        if (m < 0)
            return ofs_error_set(OFS_ERROR, "out of memory");
        job->selected[i] = (uint8_t)m;
    }
    for (size_t i = 0; i < job->count; i++) {
        const ofs_catalog_entry *e = &job->entries[i];
        if (!job->selected[i] || e->type != OFS_ENTRY_HARDLINK)
            continue;
        long first = e->link_target ? restore_find(job, e->link_target) : -1;
        if (first < 0 || job->entries[first].type != OFS_ENTRY_FILE)
            return ofs_error_set(OFS_ECORRUPT, "catalog: hard link '%s' points at '%s', which "
                                 "is not a file of the backup", e->path,
                                 e->link_target ? e->link_target : "");
        job->selected[first] = 1;
    }
    if (!(stack = malloc((job->count ? job->count : 1) * sizeof(*stack))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    /* catalog order is a depth-first walk: the open directories form a stack */
    for (size_t i = 0; i < job->count; i++) {
        const char *path = job->entries[i].path;
        while (depth > 0) {
            const char *dir = job->entries[stack[depth - 1]].path;
            size_t n = strlen(dir);
            if (strncmp(path, dir, n) == 0 && path[n] == '/')
                break;
            depth--;
        }
        if (job->selected[i])
            for (size_t d = 0; d < depth; d++)
                job->selected[stack[d]] = 1;
        if (job->entries[i].type == OFS_ENTRY_DIR)
            stack[depth++] = i;
    }
    free(stack);
    return rc;
}

/* The volume (backup_id, number), added if new; *last caches the previous answer. */
static int restore_volume_get(restore_job *job, const char *backup_id, uint32_t number,
                              size_t *last, restore_volume **out)
{
    if (*last < job->volume_count && job->volumes[*last].number == number &&
        job->volumes[*last].backup_id == backup_id) {
        *out = &job->volumes[*last];
        return 0;
    }
    for (size_t v = 0; v < job->volume_count; v++) {
        if (job->volumes[v].number == number && job->volumes[v].backup_id == backup_id) {
            *last = v;
            *out = &job->volumes[v];
            return 0;
        }
    }
    restore_volume *bigger = realloc(job->volumes, (job->volume_count + 1) * sizeof(*bigger));
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    job->volumes = bigger;
    *last = job->volume_count++;
    *out = &job->volumes[*last];
    memset(*out, 0, sizeof(**out));
    (*out)->backup_id = backup_id;
    (*out)->number = number;
    return 0;
}

static int restore_volume_add(restore_volume *v, size_t index, int prefix, int wanted)
{
    if (v->count == v->capacity) {
        size_t capacity = v->capacity ? v->capacity * 2 : 256;
        restore_ref *bigger = realloc(v->refs, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        v->refs = bigger;
        v->capacity = capacity;
    }
    v->refs[v->count++] = (restore_ref){ index, prefix };
    v->wanted |= wanted;
    return 0;
}

/*
 * Groups entries by the volume holding them (a tail's prefix also by the base's volume that
 * holds it); volumes without a selected entry are not read.
 */
static int restore_plan(restore_job *job)
{
    size_t own = 0, base = 0;
    restore_volume *v = NULL;
    int rc;
    for (size_t i = 0; i < job->count; i++) {
        const ofs_catalog_entry *e = &job->entries[i];
        int wanted = job->selected[i] && e->type != OFS_ENTRY_HARDLINK;
        if (e->volume == 0)
            continue;
        if ((rc = restore_volume_get(job, e->backup_id, e->volume, &own, &v)) < 0 ||
            (rc = restore_volume_add(v, i, 0, wanted)) < 0)
            return rc;
        if (e->type != OFS_ENTRY_FILE || e->base_size == 0)
            continue;
        if ((rc = restore_volume_get(job, e->base_backup, e->base_volume, &base, &v)) < 0 ||
            (rc = restore_volume_add(v, i, 1, wanted)) < 0)
            return rc;
        job->tails |= wanted;
    }
    if (job->tails && !(job->staged = calloc(job->count, sizeof(*job->staged))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

/* The record of the backup holding a volume: rec itself, or a base loaded once. */
static int restore_volume_record(restore_job *job, const char *backup_id,
                                 const ofs_record **out)
{
    if (backup_id == job->bases[0].id) {
        *out = job->rec;
        return 0;
    }
    for (size_t i = 1; i < job->base_count; i++) {
        if (job->bases[i].id != backup_id)
            continue;
        if (!job->bases[i].rec) {
            int rc = ofs_repo_load_record(job->store, job->ring, backup_id, &job->bases[i].rec,
                                          NULL, NULL);
            if (rc == OFS_ENOTFOUND)
                return ofs_error_set(rc, "backup '%s' is a differential of '%s', which is not "
                                     "in store '%s' (deleted or not pushed?)", job->rec->id,
                                     backup_id, ofs_store_name(job->store));
            if (rc < 0)
                return ofs_error_wrap(rc, "base backup '%s' of '%s'", backup_id, job->rec->id);
        }
        *out = job->bases[i].rec;
        return 0;
    }
    return ofs_error_set(OFS_ERROR, "backup '%s' was not planned", backup_id);
}

/* Loads the record of every base whose volumes will be read, before anything is written: a
 * differential whose base is gone fails at once, naming it. */
static int restore_load_bases(restore_job *job)
{
    for (size_t i = 0; i < job->volume_count; i++) {
        const ofs_record *rec = NULL;
        int rc;
        if (job->volumes[i].wanted &&
            (rc = restore_volume_record(job, job->volumes[i].backup_id, &rec)) < 0)
            return rc;
    }
    return 0;
}

/* ---- one volume ---- */

/* Feeds the current tar entry's data to the open file, at `shift` plus its offsets. */
static int restore_file_data(ofs_extract_worker *w, ofs_tar_reader *tar, uint64_t shift)
{
    const void *data;
    size_t size;
    uint64_t offset;
    int rc;
    while ((rc = ofs_tar_reader_data(tar, &data, &size, &offset)) == 1)
        if ((rc = ofs_extract_file_write(w, shift + offset, data, size)) < 0)
            return rc;
    return rc;
}

/* A regular file: whole, a base's prefix (staged), or a tail completing its staged prefix. */
static int restore_file(restore_job *job, ofs_extract_worker *w, ofs_tar_reader *tar,
                        const restore_ref *ref, const ofs_tar_entry *te)
{
    const ofs_catalog_entry *e = &job->entries[ref->index];
    int tail = !ref->prefix && e->base_size > 0;
    int rc;
    if (ref->prefix)
        rc = ofs_extract_prefix_begin(w, e);
    else if (tail)
        rc = ofs_extract_tail_begin(w, e, job->staged ? job->staged[ref->index] : NULL);
    else
        rc = ofs_extract_file_begin(w, e);
    if (rc < 0)
        return rc;
    if (tail) { /* the temporary file is the worker's now */
        free(job->staged[ref->index]);
        job->staged[ref->index] = NULL;
    }
    if ((rc = restore_file_data(w, tar, tail ? e->base_size : 0)) < 0) {
        ofs_extract_file_abort(w);
        return rc;
    }
    if (ref->prefix)
        return ofs_extract_prefix_stage(w, &job->staged[ref->index]);
    return ofs_extract_file_commit(w, te->xattrs, te->xattr_count);
}

static int restore_entry(restore_job *job, ofs_extract_worker *w, ofs_tar_reader *tar,
                         const restore_ref *ref, const ofs_tar_entry *te)
{
    const ofs_catalog_entry *e = &job->entries[ref->index];
    switch (e->type) {
    case OFS_ENTRY_FILE:
        return restore_file(job, w, tar, ref, te);
    case OFS_ENTRY_DIR:
        return ofs_extract_dir(w, e, te->xattrs, te->xattr_count);
    case OFS_ENTRY_SYMLINK:
        return ofs_extract_symlink(w, e);
    case OFS_ENTRY_FIFO:
        return ofs_extract_fifo(w, e, te->xattrs, te->xattr_count);
    case OFS_ENTRY_HARDLINK:
        return 0; /* after every volume, when the first path exists */
    }
    return 0;
}

/* What the archive must hold for ref: its name and content size. */
static int restore_ref_expect(const restore_job *job, const restore_ref *ref, char **name,
                              uint64_t *size)
{
    const ofs_catalog_entry *e = &job->entries[ref->index];
    if (ref->prefix) {
        *size = e->base_size;
        return (*name = strdup(e->path)) ? 0 : ofs_error_set(OFS_ERROR, "out of memory");
    }
    *size = ofs_catalog_stored_size(e);
    return ofs_catalog_tar_name(e, name);
}

static int restore_volume_run(restore_job *job, ofs_extract_worker *w, restore_volume *v)
{
    const ofs_record *vrec = NULL;
    ofs_reader *source = NULL;
    ofs_tar_reader *tar = NULL;
    ofs_tar_entry te;
    char name[32], *expected = NULL;
    size_t next = 0;
    /* a base's volume also holds files this backup's catalog no longer lists */
    int strict = v->backup_id == job->bases[0].id;
    int rc;

    ofs_record_volume_name(v->number, name);
    if ((rc = restore_volume_record(job, v->backup_id, &vrec)) < 0 ||
        (rc = ofs_repo_open_object(job->store, job->ring, vrec, name, &source)) < 0)
        goto cleanup;
    rc = prefetch_reader_new(&source, source);
    if (rc < 0)
        goto cleanup; /* source was freed */
    rc = ofs_tar_reader_new(&tar, source, name);
    source = NULL;
    if (rc < 0)
        goto cleanup;
    while ((rc = ofs_tar_reader_next(tar, &te)) == 1) {
        uint64_t size = 0;
        if (atomic_load(&job->stop)) {
            rc = ofs_error_set(OFS_ECANCELED, "restore canceled");
            goto cleanup;
        }
        const restore_ref *ref = next < v->count ? &v->refs[next] : NULL;
        free(expected);
        expected = NULL;
        if (ref && (rc = restore_ref_expect(job, ref, &expected, &size)) < 0)
            goto cleanup;
        if (!strict && !ref) {
            rc = 0;
            break; /* nothing more of this backup's in the base's volume */
        }
        if (!ofs_path_is_safe(te.path) || !ref || strcmp(te.path, expected) != 0) {
            if (!strict && ofs_path_is_safe(te.path) && ofs_path_compare(te.path, expected) < 0)
                continue;
            rc = ofs_error_set(OFS_ECORRUPT, "unexpected entry '%s' in archive", te.path);
            goto cleanup;
        }
        next++;
        const ofs_catalog_entry *e = &job->entries[ref->index];
        if (te.type != e->type || (e->type == OFS_ENTRY_FILE && te.size != size)) {
            rc = ofs_error_set(OFS_ECORRUPT, "'%s' is a %s of %llu bytes in the archive, a %s "
                               "of %llu bytes in the catalog", te.path,
                               ofs_entry_type_name(te.type), (unsigned long long)te.size,
                               ofs_entry_type_name(e->type), (unsigned long long)size);
            goto cleanup;
        }
        if (!job->selected[ref->index])
            continue; /* its data is skipped by the next header read */
        if ((rc = restore_entry(job, w, tar, ref, &te)) < 0)
            goto cleanup;
    }
    if (rc < 0)
        goto cleanup;
    if (next < v->count) {
        rc = ofs_error_set(OFS_ECORRUPT, "entry '%s' is missing from the archive",
                           job->entries[v->refs[next].index].path);
        goto cleanup;
    }
cleanup:
    free(expected);
    ofs_extract_file_abort(w);
    ofs_tar_reader_free(tar);
    ofs_reader_free(source);
    if (rc < 0 && rc != OFS_ECANCELED) {
        if (strict)
            ofs_error_wrap(rc, "volume %u", v->number);
        else
            ofs_error_wrap(rc, "backup '%s' volume %u", v->backup_id, v->number);
    }
    return rc;
}

static void restore_fail(restore_job *job, int rc)
{
    pthread_mutex_lock(&job->lock);
    /* the first failure is the cause; later ones are usually "canceled" because of it */
    if (job->error_code == 0 || (job->error_code == OFS_ECANCELED && rc != OFS_ECANCELED)) {
        free(job->error_message);
        job->error_code = rc;
        job->error_message = ofs_error_save();
    }
    atomic_store(&job->stop, 1);
    pthread_mutex_unlock(&job->lock);
}

static void *restore_worker(void *arg)
{
    restore_job *job = arg;
    ofs_extract_worker *w = NULL;
    int rc = ofs_extract_worker_new(&w, job->extract);
    if (rc < 0) {
        restore_fail(job, rc);
        return NULL;
    }
    while (!atomic_load(&job->stop)) {
        size_t index = atomic_fetch_add(&job->next_volume, 1);
        if (index >= job->volume_count)
            break;
        restore_volume *v = &job->volumes[index];
        int own = v->backup_id == job->bases[0].id;
        if (!v->wanted || (job->phase == RESTORE_BASES && own) ||
            (job->phase == RESTORE_OWN && !own))
            continue;
        if ((rc = restore_volume_run(job, w, &job->volumes[index])) < 0) {
            restore_fail(job, rc);
            break;
        }
    }
    ofs_extract_worker_free(w);
    return NULL;
}

static int restore_volumes(restore_job *job, int parallel, int phase)
{
    pthread_t threads[RESTORE_MAX_WORKERS];
    int started = 0;
    job->phase = phase;
    atomic_store(&job->next_volume, 0);
    if (parallel <= 0)
        parallel = 2;
    if (parallel > RESTORE_MAX_WORKERS)
        parallel = RESTORE_MAX_WORKERS;
    if ((size_t)parallel > job->volume_count)
        parallel = job->volume_count > 0 ? (int)job->volume_count : 1;
    for (int i = 1; i < parallel; i++) {
        int err = pthread_create(&threads[started], NULL, restore_worker, job);
        if (err != 0) {
            restore_fail(job, ofs_error_from_errno(err, "cannot start a restore worker"));
            break;
        }
        started++;
    }
    restore_worker(job); /* the calling thread extracts volumes too */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (job->error_code < 0)
        return ofs_error_restore(job->error_code, job->error_message);
    return 0;
}

/* Entries without content in a volume (none in backups offsite writes today). */
static int restore_loose_entries(restore_job *job, ofs_extract_worker *w)
{
    int rc = 0;
    for (size_t i = 0; i < job->count && rc == 0; i++) {
        const ofs_catalog_entry *e = &job->entries[i];
        if (!job->selected[i] || e->volume != 0)
            continue;
        switch (e->type) {
        case OFS_ENTRY_DIR: rc = ofs_extract_dir(w, e, NULL, 0); break;
        case OFS_ENTRY_SYMLINK: rc = ofs_extract_symlink(w, e); break;
        case OFS_ENTRY_FIFO: rc = ofs_extract_fifo(w, e, NULL, 0); break;
        case OFS_ENTRY_FILE:
            if ((rc = ofs_extract_file_begin(w, e)) == 0)
                rc = ofs_extract_file_commit(w, NULL, 0);
            break;
        case OFS_ENTRY_HARDLINK: break;
        }
    }
    return rc;
}

/* ---- dry run ---- */

static ofs_entry_type restore_type_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return OFS_ENTRY_DIR;
    if (S_ISLNK(mode))
        return OFS_ENTRY_SYMLINK;
    if (S_ISFIFO(mode))
        return OFS_ENTRY_FIFO;
    return OFS_ENTRY_FILE;
}

static int restore_dry_run(restore_job *job)
{
    const ofs_restore_options *o = job->opts;
    ofs_extract_options xo = { .target_dir = o->target_dir };
    ofs_extract *x = NULL;
    ofs_extract_worker *w = NULL;
    int rc = ofs_extract_open(&x, &xo);
    if (rc < 0 && rc != OFS_ENOTFOUND)
        return rc;
    if (x && (rc = ofs_extract_worker_new(&w, x)) < 0)
        goto cleanup;
    rc = 0;
    for (size_t i = 0; i < job->count; i++) {
        const ofs_catalog_entry *e = &job->entries[i];
        const char *action = "create";
        struct stat st;
        if (!job->selected[i])
            continue;
        if (w) {
            int found = ofs_extract_lookup(w, e->path, &st);
            if (found == 0) {
                ofs_entry_type want = e->type == OFS_ENTRY_HARDLINK ? OFS_ENTRY_FILE : e->type;
                int same = restore_type_of(st.st_mode) == want &&
                           (want != OFS_ENTRY_FILE || e->type == OFS_ENTRY_HARDLINK ||
                            (uint64_t)st.st_size == e->size) &&
                           (e->type == OFS_ENTRY_HARDLINK ||
                            ((int64_t)st.st_mtim.tv_sec == e->mtime_sec &&
                             (int32_t)st.st_mtim.tv_nsec == e->mtime_nsec));
                action = same ? "unchanged" : "replace";
            } else if (found != OFS_ENOTFOUND) {
                rc = found;
                goto cleanup;
            }
        }
        if (o->on_entry)
            o->on_entry(o->ctx, e->path, action);
    }
cleanup:
    ofs_extract_worker_free(w);
    ofs_extract_free(x);
    return rc;
}

/* ---- the run ---- */

static void restore_job_free(restore_job *job)
{
    for (size_t i = 0; i < job->count; i++)
        ofs_catalog_entry_free_paths(&job->entries[i]);
    free(job->entries);
    free(job->selected);
    for (size_t i = 0; i < job->base_count; i++) {
        free(job->bases[i].id);
        ofs_record_free(job->bases[i].rec);
    }
    free(job->bases);
    for (size_t i = 0; i < job->volume_count; i++)
        free(job->volumes[i].refs);
    free(job->volumes);
    for (size_t i = 0; job->staged && i < job->count; i++)
        free(job->staged[i]);
    free(job->staged);
    free(job->error_message);
    ofs_extract_free(job->extract);
    pthread_mutex_destroy(&job->lock);
}

int ofs_restore_run(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                    const ofs_restore_options *opts, ofs_restore_stats *stats)
{
    restore_job job = { 0 };
    ofs_progress *progress = NULL;
    ofs_extract_worker *w = NULL;
    ofs_restore_stats local;
    double t0 = restore_monotonic();
    uint64_t total = 0;
    int rc;

    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    job.store = store;
    job.ring = ring;
    job.rec = rec;
    job.opts = opts;
    atomic_init(&job.next_volume, 0);
    atomic_init(&job.stop, 0);
    pthread_mutex_init(&job.lock, NULL);

    if ((rc = restore_load_catalog(&job)) < 0 || (rc = restore_select(&job)) < 0)
        goto cleanup;
    if (opts->dry_run) {
        rc = restore_dry_run(&job);
        goto cleanup;
    }
    if ((rc = restore_plan(&job)) < 0 || (rc = restore_load_bases(&job)) < 0)
        goto cleanup;
    for (size_t i = 0; i < job.count; i++)
        if (job.selected[i] && job.entries[i].type == OFS_ENTRY_FILE)
            total += job.entries[i].size;
    char label[300];
    snprintf(label, sizeof(label), "restore %s", rec->id);
    if ((rc = ofs_progress_new(&progress, label, total, opts->show_progress)) < 0)
        goto cleanup;
    ofs_extract_options xo = { .target_dir = opts->target_dir, .overwrite = opts->overwrite,
                               .started = ofs_clock_now(), .progress = progress };
    if ((rc = ofs_extract_new(&job.extract, &xo)) < 0 ||
        (rc = ofs_extract_worker_new(&w, job.extract)) < 0 ||
        (rc = restore_loose_entries(&job, w)) < 0)
        goto cleanup;
    /* a tail completes a prefix from the base: the bases' volumes go first */
    if (job.tails ? (rc = restore_volumes(&job, opts->parallel, RESTORE_BASES)) < 0 ||
                        (rc = restore_volumes(&job, opts->parallel, RESTORE_OWN)) < 0
                  : (rc = restore_volumes(&job, opts->parallel, RESTORE_ALL)) < 0)
        goto cleanup;
    for (size_t i = 0; i < job.count; i++)
        if (job.selected[i] && job.entries[i].type == OFS_ENTRY_HARDLINK &&
            (rc = ofs_extract_hardlink(w, &job.entries[i])) < 0)
            goto cleanup;
    /* deepest first: reverse catalog order puts every directory after its contents */
    for (size_t i = job.count; i-- > 0;)
        if (job.selected[i] && job.entries[i].type == OFS_ENTRY_DIR &&
            (rc = ofs_extract_dir_metadata(w, &job.entries[i])) < 0)
            goto cleanup;
    if ((rc = ofs_extract_sync(job.extract)) < 0)
        goto cleanup;
    ofs_progress_done(progress);
    ofs_extract_stats xs;
    ofs_extract_get_stats(job.extract, &xs);
    stats->files = xs.files + xs.fifos;
    stats->dirs = xs.dirs;
    stats->symlinks = xs.symlinks;
    stats->hardlinks = xs.hardlinks;
    stats->bytes = xs.bytes;
    stats->backups_kept = xs.backups_kept;
cleanup:
    for (size_t i = 0; job.staged && i < job.count; i++)
        if (job.staged[i] && w)
            ofs_extract_staged_discard(w, &job.entries[i], job.staged[i]);
    ofs_extract_worker_free(w);
    ofs_progress_free(progress);
    restore_job_free(&job);
    stats->seconds = restore_monotonic() - t0;
    return rc;
}
