/* backup.c - one full backup of one set, committed to staging; see backup.h. */
#include "offsite/backup.h"
#include "offsite/catalog.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/manifest.h"
#include "offsite/progress.h"
#include "offsite/repo.h"
#include "offsite/scan.h"
#include "offsite/seal.h"
#include "offsite/tarwrite.h"
#include "offsite/zstdstream.h"

#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef OFS_VERSION
#define OFS_VERSION "0"
#endif

#define BACKUP_ID_MAX 256
#define BACKUP_KEY_MAX 1100

extern char **environ;

/* ---- hooks ---- */

/* Runs command with /bin/sh -c and OFFSITE_* variables added to the environment. */
static int backup_hook(const char *command, const char *which, const char *set_name,
                       const char *id, const char *status)
{
    char *vars[3] = { NULL, NULL, NULL };
    char **envp = NULL;
    size_t count = 0, n = 0;
    pid_t pid;
    int rc = 0, wstatus = 0;

    if (!command || !command[0])
        return 0;
    if (asprintf(&vars[0], "OFFSITE_SET=%s", set_name) < 0 ||
        (id && asprintf(&vars[1], "OFFSITE_BACKUP_ID=%s", id) < 0) ||
        (status && asprintf(&vars[2], "OFFSITE_STATUS=%s", status) < 0)) {
        vars[0] = vars[1] = vars[2] = NULL; /* asprintf leaves them undefined on failure */
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    while (environ && environ[count])
        count++;
    if (!(envp = calloc(count + 4, sizeof(*envp)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "OFFSITE_SET=", 12) != 0 &&
            strncmp(environ[i], "OFFSITE_BACKUP_ID=", 18) != 0 &&
            strncmp(environ[i], "OFFSITE_STATUS=", 15) != 0)
            envp[n++] = environ[i];
    for (int i = 0; i < 3; i++)
        if (vars[i])
            envp[n++] = vars[i];
    char *argv[] = { "sh", "-c", (char *)command, NULL };
    int err = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, envp);
    if (err != 0) {
        rc = ofs_error_from_errno(err, "cannot run the %s of set '%s'", which, set_name);
        goto cleanup;
    }
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR) {
            rc = ofs_error_from_errno(errno, "cannot wait for the %s of set '%s'", which,
                                      set_name);
            goto cleanup;
        }
    }
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
        rc = ofs_error_set(OFS_ERROR, "%s of set '%s' failed with exit status %d", which,
                           set_name, WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        rc = ofs_error_set(OFS_ERROR, "%s of set '%s' was killed by signal %d", which, set_name,
                           WTERMSIG(wstatus));
cleanup:
    for (int i = 0; i < 3; i++)
        free(vars[i]);
    free(envp);
    return rc;
}

/* ---- orphans of crashed runs: data/<class>/<id>/ folders without backup.json ---- */

typedef struct backup_orphans {
    char *folder;            /* "data/<class>/<id>/" being listed */
    int has_record;
    char **keys;             /* keys of the current folder, then every orphan's keys */
    size_t group_start, count, capacity;
    size_t folders;
} backup_orphans;

/* Ends the current folder: its keys stay (orphans) or are dropped (committed backup). */
static void backup_orphans_close(backup_orphans *o)
{
    if (o->folder && o->has_record) {
        for (size_t i = o->group_start; i < o->count; i++)
            free(o->keys[i]);
        o->count = o->group_start;
    } else if (o->folder && o->count > o->group_start) {
        o->folders++;
        ofs_log_warn("removing %zu objects of the unfinished backup '%s'",
                     o->count - o->group_start, o->folder);
    }
    free(o->folder);
    o->folder = NULL;
    o->has_record = 0;
    o->group_start = o->count;
}

static int backup_orphans_list(void *ctx, const char *key, const ofs_object_info *info)
{
    backup_orphans *o = ctx;
    (void)info;
    const char *slash = strrchr(key, '/');
    if (!slash)
        return 0;
    size_t folder_len = (size_t)(slash - key) + 1;
    if (!o->folder || strlen(o->folder) != folder_len || strncmp(o->folder, key, folder_len) != 0) {
        backup_orphans_close(o);
        if (!(o->folder = strndup(key, folder_len)))
            return ofs_error_set(OFS_ERROR, "out of memory");
    }
    if (strcmp(slash + 1, OFS_RECORD_NAME) == 0)
        o->has_record = 1;
    if (o->count == o->capacity) {
        size_t capacity = o->capacity ? o->capacity * 2 : 64;
        char **bigger = realloc(o->keys, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        o->keys = bigger;
        o->capacity = capacity;
    }
    if (!(o->keys[o->count] = strdup(key)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    o->count++;
    return 0;
}

/* Deletes the objects of backups that never got their record (the caller holds the state
 * dir lock, so none of them belongs to a backup still running). */
static int backup_remove_orphans(ofs_store *staging)
{
    backup_orphans o = { 0 };
    int rc = ofs_store_list(staging, "data/", backup_orphans_list, &o);
    if (rc == OFS_ENOTFOUND)
        rc = 0;
    if (rc == 0)
        backup_orphans_close(&o);
    for (size_t i = 0; rc == 0 && i < o.count; i++)
        rc = ofs_store_del(staging, o.keys[i]);
    if (rc < 0)
        ofs_error_wrap(rc, "cannot remove the objects of unfinished backups");
    for (size_t i = 0; i < o.count; i++)
        free(o.keys[i]);
    free(o.keys);
    free(o.folder);
    return rc;
}

/* ---- id and retention class ---- */

static int backup_choose_id(ofs_store *staging, const char *set_name, int64_t started,
                            char id[BACKUP_ID_MAX])
{
    char stamp[32];
    ofs_time_format_compact(started, stamp, sizeof(stamp));
    if (snprintf(id, BACKUP_ID_MAX, "%s_%s", set_name, stamp) >= BACKUP_ID_MAX)
        return ofs_error_set(OFS_ECONFIG, "set name '%s' is too long", set_name);
    for (int suffix = 2;; suffix++) {
        char *class_name = NULL;
        int rc = ofs_repo_find_record(staging, id, &class_name);
        free(class_name);
        if (rc == OFS_ENOTFOUND)
            return 0;
        if (rc < 0)
            return rc;
        snprintf(id, BACKUP_ID_MAX, "%s_%s_%d", set_name, stamp, suffix);
    }
}

/* The manifest of staging: empty if there is none, rebuilt from the records if unreadable. */
static int backup_load_manifest(ofs_store *staging, const ofs_keyring *ring, ofs_manifest **m)
{
    int rc = ofs_manifest_load(m, staging, ring);
    if (rc == OFS_ENOTFOUND)
        return ofs_manifest_new(m);
    if (rc < 0) {
        ofs_log_warn("%s; rebuilding the manifest from the backup records", ofs_error_last());
        rc = ofs_manifest_rebuild(m, staging, ring);
    }
    return rc;
}

/* "monthly" for the set's first backup of a calendar month, "weekly" for its first of an ISO
 * week, else "daily", in the agent's time zone. */
static const char *backup_choose_class(const char *time_zone, const ofs_manifest *m,
                                       const char *set_name, int64_t started)
{
    const char *current = getenv("TZ");
    struct tm now, then;
    char now_week[16], then_week[16];
    int first_of_month = 1, first_of_week = 1;

    if (!time_zone)
        time_zone = "UTC";
    if (!current || strcmp(current, time_zone) != 0)
        setenv("TZ", time_zone, 1); /* before any worker thread exists */
    tzset();
    time_t t = (time_t)started;
    localtime_r(&t, &now);
    strftime(now_week, sizeof(now_week), "%G-%V", &now);
    for (size_t i = 0; i < m->count; i++) {
        const ofs_manifest_entry *e = &m->entries[i];
        if (!e->set || strcmp(e->set, set_name) != 0)
            continue;
        t = (time_t)e->started;
        localtime_r(&t, &then);
        strftime(then_week, sizeof(then_week), "%G-%V", &then);
        if (then.tm_year == now.tm_year && then.tm_mon == now.tm_mon)
            first_of_month = 0;
        if (strcmp(then_week, now_week) == 0)
            first_of_week = 0;
    }
    return first_of_month ? "monthly" : first_of_week ? "weekly" : "daily";
}

/* ---- volumes ---- */

typedef struct backup_volume {
    size_t first, end;          /* entries [first, end) */
    uint64_t content;           /* file bytes in it */
    uint64_t stored_size;
    uint8_t sha256[OFS_SHA256_BYTES];
} backup_volume;

typedef struct backup_job {
    const ofs_config_set *set;
    ofs_store *staging;
    const ofs_key *key;
    const char *id, *class_name;
    ofs_scan *scan;
    uint8_t *skipped;           /* per entry: vanished before it was read */
    backup_volume *volumes;
    uint32_t volume_count;
    int zstd_threads;
    ofs_progress *progress;
    atomic_uint next_volume;
    atomic_int stop;
    pthread_mutex_t lock;
    int error_code;             /* the first worker failure */
    char *error_message;
} backup_job;

/* Cuts the entries at file boundaries: a file that would take a volume past volume_size
 * starts the next one (so a file larger than volume_size gets one of its own). */
static int backup_plan(backup_job *job, uint64_t volume_size)
{
    ofs_scan *scan = job->scan;
    size_t capacity = 0;
    uint64_t content = 0;
    size_t first = 0;

    if (volume_size == 0)
        volume_size = 128u << 20;
    for (size_t i = 0; i <= scan->count; i++) {
        const ofs_catalog_entry *e = i < scan->count ? &scan->entries[i] : NULL;
        uint64_t size = e && e->type == OFS_ENTRY_FILE ? e->size : 0;
        int cut = e ? (size > 0 && content > 0 && content + size > volume_size) : i > first;
        if (cut) {
            if (job->volume_count == capacity) {
                capacity = capacity ? capacity * 2 : 16;
                backup_volume *bigger = realloc(job->volumes, capacity * sizeof(*bigger));
                if (!bigger)
                    return ofs_error_set(OFS_ERROR, "out of memory");
                job->volumes = bigger;
            }
            backup_volume *v = &job->volumes[job->volume_count++];
            memset(v, 0, sizeof(*v));
            v->first = first;
            v->end = i;
            v->content = content;
            first = i;
            content = 0;
        }
        content += size;
    }
    return 0;
}

static int backup_object_key(const backup_job *job, const char *name, char *key, char *seal_name)
{
    int rc = ofs_repo_key(key, BACKUP_KEY_MAX, job->class_name, job->id, name);
    if (rc == 0)
        rc = ofs_repo_seal_name(seal_name, OFS_SEAL_NAME_MAX + 1, job->id, name);
    return rc;
}

/* One volume: store put <- SHA-256 <- seal <- zstd <- tar. */
static int backup_pack_volume(backup_job *job, uint32_t index)
{
    backup_volume *v = &job->volumes[index];
    char name[32], key[BACKUP_KEY_MAX], seal_name[OFS_SEAL_NAME_MAX + 1];
    ofs_writer *w = NULL, *hash = NULL;
    ofs_tar_writer *tar = NULL;
    int rc;

    ofs_record_volume_name(index + 1, name);
    if ((rc = backup_object_key(job, name, key, seal_name)) < 0 ||
        (rc = ofs_store_put(job->staging, key, 0, &w)) < 0 ||
        (rc = ofs_hash_writer_new(&w, w)) < 0)
        goto cleanup;
    hash = w;
    if ((rc = ofs_seal_writer_new(&w, w, job->key, seal_name, 0)) < 0 ||
        (rc = ofs_zstd_writer_new(&w, w, job->set->compression_level, job->zstd_threads)) < 0)
        goto cleanup;
    rc = ofs_tar_writer_new(&tar, w, job->progress, &job->stop);
    w = NULL; /* owned by the tar writer now, even on failure */
    if (rc < 0)
        goto cleanup;
    for (size_t i = v->first; i < v->end; i++) {
        ofs_catalog_entry *e = &job->scan->entries[i];
        e->volume = index + 1;
        e->backup_id = (char *)job->id;
        rc = ofs_tar_writer_add(tar, NULL, e);
        if (rc == OFS_ENOTFOUND) {
            ofs_log_warn("%s, skipped", ofs_error_last());
            job->skipped[i] = 1;
            rc = 0;
            continue;
        }
        if (rc < 0)
            goto cleanup;
    }
    if ((rc = ofs_tar_writer_finish(tar)) < 0)
        goto cleanup;
    ofs_hash_writer_result(hash, v->sha256, &v->stored_size);
    ofs_log_debug("volume %s of '%s' written: %llu bytes", name, job->id,
                  (unsigned long long)v->stored_size);
cleanup:
    ofs_tar_writer_free(tar);
    ofs_writer_free(w);
    if (rc < 0 && rc != OFS_ECANCELED)
        ofs_error_wrap(rc, "volume %u", index + 1);
    return rc;
}

static void backup_fail(backup_job *job, int rc)
{
    pthread_mutex_lock(&job->lock);
    /* The first failure is the cause; the others are usually "canceled" because of it. */
    if (job->error_code == 0 || (job->error_code == OFS_ECANCELED && rc != OFS_ECANCELED)) {
        free(job->error_message);
        job->error_code = rc;
        job->error_message = ofs_error_save();
    }
    atomic_store(&job->stop, 1);
    pthread_mutex_unlock(&job->lock);
}

static void *backup_worker(void *arg)
{
    backup_job *job = arg;
    while (!atomic_load(&job->stop)) {
        unsigned index = atomic_fetch_add(&job->next_volume, 1);
        if (index >= job->volume_count)
            break;
        int rc = backup_pack_volume(job, index);
        if (rc < 0) {
            backup_fail(job, rc);
            break;
        }
    }
    return NULL;
}

static int backup_pack_all(backup_job *job, int parallel)
{
    pthread_t threads[64];
    int started = 0;
    uint32_t workers = (uint32_t)parallel;

    if (workers > job->volume_count)
        workers = job->volume_count;
    if (workers > 64)
        workers = 64;
    /* Cores that no volume would keep busy go to zstd's own workers instead. */
    job->zstd_threads = job->volume_count > 0 && job->volume_count < (uint32_t)parallel
                            ? parallel / (int)job->volume_count : 0;
    if (job->zstd_threads == 1)
        job->zstd_threads = 0;
    for (uint32_t i = 1; i < workers; i++) {
        int err = pthread_create(&threads[started], NULL, backup_worker, job);
        if (err != 0) {
            ofs_error_from_errno(err, "cannot start a backup worker");
            backup_fail(job, OFS_ERROR);
            break;
        }
        started++;
    }
    backup_worker(job); /* the calling thread packs volumes too */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (job->error_code < 0)
        return ofs_error_restore(job->error_code, job->error_message);
    return 0;
}

/* ---- catalog and record ---- */

static int backup_write_catalog(backup_job *job, ofs_record *rec, ofs_backup_stats *stats)
{
    char key[BACKUP_KEY_MAX], seal_name[OFS_SEAL_NAME_MAX + 1];
    ofs_writer *w = NULL, *hash = NULL;
    ofs_catalog_writer *cw = NULL;
    uint8_t digest[OFS_SHA256_BYTES];
    uint64_t size = 0;
    int rc;

    if ((rc = backup_object_key(job, OFS_CATALOG_NAME, key, seal_name)) < 0 ||
        (rc = ofs_store_put(job->staging, key, 0, &w)) < 0 ||
        (rc = ofs_hash_writer_new(&w, w)) < 0)
        goto cleanup;
    hash = w;
    if ((rc = ofs_seal_writer_new(&w, w, job->key, seal_name, 0)) < 0 ||
        (rc = ofs_zstd_writer_new(&w, w, job->set->compression_level, 0)) < 0)
        goto cleanup;
    rc = ofs_catalog_writer_new(&cw, w);
    w = NULL;
    if (rc < 0)
        goto cleanup;
    for (size_t i = 0; i < job->scan->count; i++) {
        const ofs_catalog_entry *e = &job->scan->entries[i];
        if (job->skipped[i])
            continue;
        if ((rc = ofs_catalog_writer_add(cw, e)) < 0)
            goto cleanup;
        rec->files++;
        switch (e->type) {
        case OFS_ENTRY_FILE:
            stats->files++;
            stats->bytes += e->size;
            break;
        case OFS_ENTRY_DIR: stats->dirs++; break;
        case OFS_ENTRY_SYMLINK: stats->symlinks++; break;
        case OFS_ENTRY_HARDLINK: stats->hardlinks++; break;
        case OFS_ENTRY_FIFO: break;
        }
        if (e->changed)
            stats->changed_while_read++;
    }
    if ((rc = ofs_catalog_writer_finish(cw)) < 0)
        goto cleanup;
    ofs_hash_writer_result(hash, digest, &size);
    for (uint32_t i = 0; i < job->volume_count; i++) {
        char name[32];
        ofs_record_volume_name(i + 1, name);
        if ((rc = ofs_record_add_object(rec, name, job->volumes[i].stored_size,
                                        job->volumes[i].sha256)) < 0)
            goto cleanup;
    }
    rc = ofs_record_add_object(rec, OFS_CATALOG_NAME, size, digest);
cleanup:
    ofs_catalog_writer_free(cw);
    ofs_writer_free(w);
    if (rc < 0)
        ofs_error_wrap(rc, "catalog");
    return rc;
}

static int backup_strdup(char **dst, const char *src)
{
    if (src && !(*dst = strdup(src)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

static int backup_fill_record(ofs_record *rec, const ofs_config *cfg, const backup_job *job,
                              const ofs_backup_options *opts, const ofs_keyring *ring,
                              int64_t started)
{
    char host[256] = "unknown";
    const char *host_name = cfg->host;
    if (!host_name) {
        if (gethostname(host, sizeof(host) - 1) < 0)
            strcpy(host, "unknown");
        host_name = host;
    }
    int rc;
    if ((rc = backup_strdup(&rec->id, job->id)) < 0 ||
        (rc = backup_strdup(&rec->set, job->set->name)) < 0 ||
        (rc = backup_strdup(&rec->kind, "full")) < 0 ||
        (rc = backup_strdup(&rec->class_name, job->class_name)) < 0 ||
        (rc = backup_strdup(&rec->host, host_name)) < 0 ||
        (rc = backup_strdup(&rec->tool_version, OFS_VERSION)) < 0 ||
        (rc = backup_strdup(&rec->description, opts ? opts->description : NULL)) < 0)
        return rc;
    rec->started = started;
    rec->finished = ofs_clock_now();
    memcpy(rec->key_id, ofs_keyring_current(ring)->id, OFS_KEY_ID_BYTES);
    rec->volumes = job->volume_count;
    for (size_t i = 0; i < rec->object_count; i++)
        rec->stored_bytes += rec->objects[i].size;
    for (size_t i = 0; i < job->scan->count; i++)
        if (!job->skipped[i] && job->scan->entries[i].type == OFS_ENTRY_FILE)
            rec->bytes += job->scan->entries[i].size;
    return 0;
}

/* Deletes every object this backup may have written (deleting an absent key is fine). */
static void backup_remove_objects(backup_job *job)
{
    char key[BACKUP_KEY_MAX], name[32];
    char *saved = ofs_error_save();
    for (uint32_t i = 0; i < job->volume_count; i++) {
        ofs_record_volume_name(i + 1, name);
        if (ofs_repo_key(key, sizeof(key), job->class_name, job->id, name) == 0 &&
            ofs_store_del(job->staging, key) < 0)
            ofs_log_warn("cannot remove '%s': %s", key, ofs_error_last());
    }
    const char *others[] = { OFS_CATALOG_NAME, OFS_RECORD_NAME };
    for (size_t i = 0; i < 2; i++)
        if (ofs_repo_key(key, sizeof(key), job->class_name, job->id, others[i]) == 0 &&
            ofs_store_del(job->staging, key) < 0)
            ofs_log_warn("cannot remove '%s': %s", key, ofs_error_last());
    ofs_error_restore(OFS_ERROR, saved ? saved : "");
    free(saved);
}

/* Writes backup.json (the commit point) and then updates the manifest. */
static int backup_commit(backup_job *job, ofs_record *rec, const ofs_keyring *ring,
                         ofs_manifest *manifest, int *committed)
{
    char key[BACKUP_KEY_MAX];
    char *json = NULL;
    size_t size = 0;
    int rc;

    if ((rc = ofs_record_serialize(rec, ring, &json, &size)) < 0 ||
        (rc = ofs_repo_key(key, sizeof(key), job->class_name, job->id, OFS_RECORD_NAME)) < 0 ||
        (rc = ofs_store_put_buffer(job->staging, key, OFS_PUT_IF_ABSENT, json, size)) < 0)
        goto cleanup;
    *committed = 1;
    if ((rc = ofs_manifest_add(manifest, rec, json, size)) < 0 ||
        (rc = ofs_manifest_save(manifest, job->staging, ring)) < 0) {
        ofs_log_warn("backup '%s' is committed, but the manifest was not updated: %s\n"
                     "HINT: the next backup or `offsite verify` rebuilds it from the records",
                     job->id, ofs_error_last());
        rc = 0;
    }
cleanup:
    free(json);
    return rc;
}

int ofs_backup_run(const ofs_config *cfg, const ofs_config_set *set, ofs_store *staging,
                   const ofs_keyring *ring, const ofs_backup_options *opts, ofs_record **rec,
                   ofs_backup_stats *stats)
{
    backup_job job = { 0 };
    ofs_manifest *manifest = NULL;
    ofs_record *record = NULL;
    char id[BACKUP_ID_MAX] = "";
    double t0 = ofs_clock_monotonic();
    int64_t started = ofs_clock_now();
    int rc, written = 0, committed = 0;
    int parallel = opts && opts->parallel > 0 ? opts->parallel : cfg->parallel;
    ofs_backup_stats local_stats;

    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof(*stats));
    *rec = NULL;
    if (parallel < 1)
        parallel = 1;
    job.set = set;
    job.staging = staging;
    job.key = ofs_keyring_current(ring);
    job.id = id;
    atomic_init(&job.next_volume, 0);
    atomic_init(&job.stop, 0);
    pthread_mutex_init(&job.lock, NULL);

    if ((rc = backup_hook(set->pre_hook, "pre_hook", set->name, NULL, NULL)) < 0 ||
        (rc = backup_remove_orphans(staging)) < 0 ||
        (rc = ofs_scan_run(&job.scan, set->paths, set->path_count, set->excludes,
                           set->exclude_count)) < 0 ||
        (rc = backup_load_manifest(staging, ring, &manifest)) < 0 ||
        (rc = backup_choose_id(staging, set->name, started, id)) < 0)
        goto cleanup;
    job.class_name = backup_choose_class(cfg->time_zone, manifest, set->name, started);
    if (!(job.skipped = calloc(job.scan->count ? job.scan->count : 1, 1))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = backup_plan(&job, set->volume_size)) < 0)
        goto cleanup;
    ofs_log_info("backup '%s' (%s, full): %llu entries, %llu bytes in %u volumes", id,
                 job.class_name, (unsigned long long)job.scan->count,
                 (unsigned long long)job.scan->bytes, job.volume_count);
    char label[BACKUP_ID_MAX + 16];
    snprintf(label, sizeof(label), "backup %s", set->name);
    if ((rc = ofs_progress_new(&job.progress, label, job.scan->bytes,
                               opts ? opts->show_progress : 0)) < 0)
        goto cleanup;

    written = 1; /* from here on, objects of this id may exist */
    if ((rc = backup_pack_all(&job, parallel)) < 0 || (rc = ofs_record_new(&record)) < 0 ||
        (rc = backup_write_catalog(&job, record, stats)) < 0 ||
        (rc = backup_fill_record(record, cfg, &job, opts, ring, started)) < 0 ||
        (rc = backup_commit(&job, record, ring, manifest, &committed)) < 0)
        goto cleanup;
    ofs_progress_done(job.progress);
    stats->stored_bytes = record->stored_bytes;
    stats->volumes = record->volumes;
    stats->seconds = ofs_clock_monotonic() - t0;
    ofs_log_info("backup '%s' committed: %llu files, %llu bytes, %llu stored, %u volumes, "
                 "%.1f s", id, (unsigned long long)stats->files,
                 (unsigned long long)stats->bytes, (unsigned long long)stats->stored_bytes,
                 stats->volumes, stats->seconds);
    if (stats->changed_while_read > 0)
        ofs_log_warn("%llu files changed while they were read (stored as read, flagged in the "
                     "catalog)", (unsigned long long)stats->changed_while_read);
    *rec = record;
    record = NULL;
cleanup:
    if (rc < 0 && written && !committed)
        backup_remove_objects(&job);
    {
        char *saved = rc < 0 ? ofs_error_save() : NULL;
        if (backup_hook(set->post_hook, "post_hook", set->name, id[0] ? id : NULL,
                        rc < 0 ? "failed" : "ok") < 0)
            ofs_log_warn("%s", ofs_error_last());
        if (saved) {
            ofs_error_restore(rc, saved);
            free(saved);
        }
    }
    stats->seconds = ofs_clock_monotonic() - t0;
    ofs_progress_free(job.progress);
    ofs_record_free(record);
    ofs_manifest_free(manifest);
    ofs_scan_free(job.scan);
    free(job.skipped);
    free(job.volumes);
    free(job.error_message);
    pthread_mutex_destroy(&job.lock);
    return rc;
}
