/* backup.c - one backup (full or differential) of one set, committed to staging; see
 * backup.h. The streaming middle is backup_pipe.c. */
#include "offsite/backup.h"
#include "backup_internal.h"
#include "backup_pipe.h"
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
#include "offsite/sweep.h"
#include "offsite/text.h"
#include "offsite/zstdstream.h"

#include <errno.h>
#include <spawn.h>
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
                       const char *id, const char *status, const char *push)
{
    static const char *const names[] = { "OFFSITE_SET=", "OFFSITE_BACKUP_ID=", "OFFSITE_STATUS=",
                                         "OFFSITE_PUSH=" };
    const char *values[4] = { set_name, id, status, push };
    char *vars[4] = { NULL, NULL, NULL, NULL };
    char **envp = NULL;
    size_t count = 0, n = 0;
    pid_t pid;
    int rc = 0, wstatus = 0;

    if (!command || !command[0])
        return 0;
    for (int i = 0; i < 4; i++) {
        if (values[i] && asprintf(&vars[i], "%s%s", names[i], values[i]) < 0) {
            vars[i] = NULL; /* asprintf leaves it undefined on failure */
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
    }
    while (environ && environ[count])
        count++;
    if (!(envp = calloc(count + 5, sizeof(*envp)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        int ours = 0;
        for (int k = 0; k < 4; k++)
            ours |= strncmp(environ[i], names[k], strlen(names[k])) == 0;
        if (!ours)
            envp[n++] = environ[i];
    }
    for (int i = 0; i < 4; i++)
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
    for (int i = 0; i < 4; i++)
        free(vars[i]);
    free(envp);
    return rc;
}

int ofs_backup_post_hook(const ofs_config_set *set, const char *id, const char *status,
                         const char *push)
{
    return backup_hook(set->post_hook, "post_hook", set->name, id, status, push);
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

int backup_load_manifest(ofs_store *staging, const ofs_keyring *ring, ofs_manifest **m)
{
    char id[256];
    int rc = ofs_manifest_load(m, staging, ring);
    if (rc == 0 && (rc = ofs_manifest_lacked(*m, staging, id, sizeof(id))) == 1) {
        ofs_log_warn("%s: the manifest lacks backup '%s'; rebuilding it from the backup records",
                     ofs_store_name(staging), id);
        ofs_manifest_free(*m);
        *m = NULL;
        return ofs_manifest_rebuild(m, staging, ring);
    }
    if (rc == OFS_ENOTFOUND) /* new (no records: empty), or lost (the disk filled at it) */
        return ofs_manifest_rebuild(m, staging, ring);
    /* a wrong key is refused (the rebuild would refuse it too); a damaged manifest rebuilt */
    if (rc == OFS_EAUTH || rc == OFS_ECORRUPT) {
        ofs_log_warn("%s; rebuilding the manifest from the backup records", ofs_error_last());
        rc = ofs_manifest_rebuild(m, staging, ring);
    }
    if (rc < 0) {
        ofs_manifest_free(*m);
        *m = NULL;
    }
    return rc;
}

/* Two readers of the base's catalog (the merge and the catalog writer each walk it once). */
static int backup_open_base(ofs_store *staging, const ofs_keyring *ring, const ofs_record *base,
                            ofs_catalog_reader **merge, ofs_catalog_reader **keep)
{
    int rc = ofs_repo_open_catalog(staging, ring, base, merge);
    if (rc == 0 && (rc = ofs_repo_open_catalog(staging, ring, base, keep)) < 0) {
        ofs_catalog_reader_free(*merge);
        *merge = NULL;
    }
    return rc;
}

/* ---- catalog and record ---- */

/* The catalog object: store put <- SHA-256 <- seal <- zstd <- JSON lines. */
static int backup_open_catalog(ofs_store *staging, const ofs_key *key, const char *class_name,
                               const char *id, int level, ofs_catalog_writer **cw,
                               ofs_writer **hash)
{
    char object_key[BACKUP_KEY_MAX], seal_name[OFS_SEAL_NAME_MAX + 1];
    ofs_writer *w = NULL;
    int rc;
    if ((rc = ofs_repo_key(object_key, sizeof(object_key), class_name, id,
                           OFS_CATALOG_NAME)) < 0 ||
        (rc = ofs_repo_seal_name(seal_name, sizeof(seal_name), id, OFS_CATALOG_NAME)) < 0 ||
        (rc = ofs_store_put(staging, object_key, 0, &w)) < 0 ||
        (rc = ofs_hash_writer_new(&w, w)) < 0)
        goto fail;
    *hash = w;
    if ((rc = ofs_seal_writer_new(&w, w, key, seal_name, 0)) < 0 ||
        (rc = ofs_zstd_writer_new(&w, w, level, 0)) < 0)
        goto fail;
    return ofs_catalog_writer_new(cw, w); /* owns w, even on failure */
fail:
    ofs_writer_free(w);
    return ofs_error_wrap(rc, "catalog");
}

static int backup_strdup(char **dst, const char *src)
{
    if (src && !(*dst = strdup(src)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

/* What one run works with. */
typedef struct backup_job {
    const ofs_config_set *set;
    ofs_store *staging;
    const char *id, *class_name;
    ofs_record *base;           /* the base of a differential, or NULL */
    backup_pipe *pipe;
    uint32_t volume_count;      /* volumes that may have been written */
} backup_job;

static int backup_fill_record(ofs_record *rec, const ofs_config *cfg, const backup_job *job,
                              const ofs_backup_options *opts, const ofs_keyring *ring,
                              int64_t started, const uint8_t catalog_sha256[OFS_SHA256_BYTES],
                              uint64_t catalog_size)
{
    const backup_pipe_stats *ps = backup_pipe_get_stats(job->pipe);
    char host[256] = "unknown";
    const char *host_name = cfg->host;
    int rc;
    if (!host_name) {
        if (gethostname(host, sizeof(host) - 1) < 0)
            strcpy(host, "unknown");
        host_name = host;
    }
    if ((rc = backup_strdup(&rec->id, job->id)) < 0 ||
        (rc = backup_strdup(&rec->set, job->set->name)) < 0 ||
        (rc = backup_strdup(&rec->kind, job->base ? "diff" : "full")) < 0 ||
        (rc = backup_strdup(&rec->base, job->base ? job->base->id : NULL)) < 0 ||
        (rc = backup_strdup(&rec->class_name, job->class_name)) < 0 ||
        (rc = backup_strdup(&rec->host, host_name)) < 0 ||
        (rc = backup_strdup(&rec->tool_version, OFS_VERSION)) < 0 ||
        (rc = backup_strdup(&rec->description, opts ? opts->description : NULL)) < 0)
        return rc;
    rec->volumes = backup_pipe_volume_count(job->pipe);
    for (uint32_t i = 0; i < rec->volumes; i++) {
        char name[32];
        uint64_t size = 0;
        uint8_t digest[OFS_SHA256_BYTES];
        ofs_record_volume_name(i + 1, name);
        backup_pipe_volume(job->pipe, i, &size, digest);
        if ((rc = ofs_record_add_object(rec, name, size, digest)) < 0)
            return rc;
    }
    if ((rc = ofs_record_add_object(rec, OFS_CATALOG_NAME, catalog_size, catalog_sha256)) < 0)
        return rc;
    rec->started = started;
    rec->finished = ofs_clock_now();
    memcpy(rec->key_id, ofs_keyring_current(ring)->id, OFS_KEY_ID_BYTES);
    rec->files = ps->entries;
    rec->bytes = ps->bytes;
    for (size_t i = 0; i < rec->object_count; i++)
        rec->stored_bytes += rec->objects[i].size;
    return 0;
}

/* Deletes every object this backup may have written (deleting an absent key is fine). */
static void backup_remove_objects(const backup_job *job)
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

/* Writes backup.json (the commit point) and then updates the manifest; a manifest that
 * cannot be saved lands in stats (the backup stands: it is in the records). */
static int backup_commit(const backup_job *job, ofs_record *rec, const ofs_keyring *ring,
                         ofs_manifest *manifest, int *committed, ofs_backup_stats *stats)
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
        char why[1024];
        snprintf(why, sizeof(why), "%s", ofs_error_last());
        stats->manifest_error = ofs_error_set(rc, "backup '%s' is committed, but staging's "
                                              "manifest was not updated: %s\nHINT: "
                                              "the next backup or `offsite verify` rebuilds it "
                                              "from the records", job->id, why);
        stats->manifest_message = ofs_error_save();
        rc = 0;
    }
cleanup:
    free(json);
    return rc;
}

static void backup_fill_stats(ofs_backup_stats *stats, const backup_pipe_stats *ps,
                              const ofs_record *rec)
{
    stats->files = ps->files;
    stats->dirs = ps->dirs;
    stats->symlinks = ps->symlinks;
    stats->hardlinks = ps->hardlinks;
    stats->bytes = ps->bytes;
    stats->stored = ps->stored;
    stats->appended = ps->appended;
    stats->kept = ps->kept;
    stats->deleted = ps->deleted;
    stats->changed_while_read = ps->changed_while_read;
    if (rec) {
        stats->stored_bytes = rec->stored_bytes;
        stats->volumes = rec->volumes;
    }
}

int ofs_backup_run(const ofs_config *cfg, const ofs_config_set *set, ofs_store *staging,
                   const ofs_keyring *ring, const ofs_backup_options *opts, ofs_record **rec,
                   ofs_backup_stats *stats)
{
    backup_job job = { 0 };
    ofs_manifest *manifest = NULL;
    ofs_record *record = NULL;
    ofs_scan_names *names = NULL;
    ofs_catalog_writer *cw = NULL;
    ofs_writer *catalog_hash = NULL;
    ofs_progress *progress = NULL;
    char id[BACKUP_ID_MAX] = "";
    uint8_t catalog_sha256[OFS_SHA256_BYTES];
    uint64_t catalog_size = 0;
    double t0 = ofs_clock_monotonic();
    int64_t started = ofs_clock_now();
    int rc, written = 0, committed = 0;
    int parallel = opts && opts->parallel > 0 ? opts->parallel : cfg->parallel;
    ofs_backup_stats local_stats;

    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof(*stats));
    *rec = NULL;
    job.set = set;
    job.staging = staging;
    job.id = id;

    if ((rc = backup_hook(set->pre_hook, "pre_hook", set->name, NULL, NULL, NULL)) < 0 ||
        (rc = backup_load_manifest(staging, ring, &manifest)) < 0 ||
        (rc = backup_remove_orphans(staging)) < 0 ||
        /* under the lock no writer of staging is alive but this run, which has none open */
        (rc = ofs_sweep(staging, INT64_MAX, NULL)) < 0 ||
        (rc = backup_choose_id(staging, set->name, started, id)) < 0)
        goto cleanup;
    char why[BACKUP_WHY_MAX];
    job.class_name = backup_choose_class(cfg->time_zone, manifest, set->name, started);
    backup_choose_base(set, opts, job.class_name, manifest, staging, ring, started, &job.base,
                       why, sizeof(why));
    ofs_log_info("%s backup: %s", job.base ? "differential" : "full", why);

    backup_pipe_config pc = {
        .staging = staging, .key = ofs_keyring_current(ring), .id = id,
        .class_name = job.class_name, .compression_level = set->compression_level,
        .volume_size = set->volume_size, .parallel = parallel < 1 ? 1 : parallel,
    };
    if (job.base) {
        if (backup_open_base(staging, ring, job.base, &pc.base_merge, &pc.base_keep) < 0) {
            ofs_log_warn("full backup: the catalog of '%s' cannot be read: %s", job.base->id,
                         ofs_error_last());
            ofs_record_free(job.base);
            job.base = NULL;
        } else {
            pc.base_id = job.base->id;
        }
    }
    ofs_log_info("backup '%s' (%s, %s%s%s)", id, job.class_name, job.base ? "differential of '"
                 : "full", job.base ? job.base->id : "", job.base ? "'" : "");
    char label[BACKUP_ID_MAX + 16];
    snprintf(label, sizeof(label), "backup %s", set->name);
    if ((rc = ofs_progress_new(&progress, label, 0, opts ? opts->show_progress : 0)) < 0) {
        ofs_catalog_reader_free(pc.base_merge);
        ofs_catalog_reader_free(pc.base_keep);
        goto cleanup;
    }
    pc.progress = progress;

    written = 1; /* from here on, objects of this id may exist */
    if ((rc = backup_open_catalog(staging, pc.key, job.class_name, id, set->compression_level,
                                  &cw, &catalog_hash)) < 0) {
        ofs_catalog_reader_free(pc.base_merge);
        ofs_catalog_reader_free(pc.base_keep);
        goto cleanup;
    }
    pc.catalog = cw;
    if ((rc = backup_pipe_new(&job.pipe, &pc)) < 0 || (rc = ofs_scan_names_new(&names)) < 0)
        goto cleanup;
    rc = ofs_scan_walk(set->paths, set->path_count, set->excludes, set->exclude_count, names,
                       backup_pipe_add, job.pipe, NULL);
    job.volume_count = backup_pipe_volume_count(job.pipe);
    if (rc < 0 || (rc = backup_pipe_finish(job.pipe)) < 0)
        goto cleanup;
    if ((rc = ofs_catalog_writer_finish(cw)) < 0) {
        ofs_error_wrap(rc, "catalog");
        goto cleanup;
    }
    ofs_hash_writer_result(catalog_hash, catalog_sha256, &catalog_size);
    if ((rc = ofs_record_new(&record)) < 0 ||
        (rc = backup_fill_record(record, cfg, &job, opts, ring, started, catalog_sha256,
                                 catalog_size)) < 0 ||
        (rc = backup_commit(&job, record, ring, manifest, &committed, stats)) < 0)
        goto cleanup;
    ofs_progress_done(progress);
    backup_fill_stats(stats, backup_pipe_get_stats(job.pipe), record);
    stats->seconds = ofs_clock_monotonic() - t0;
    ofs_log_info("backup '%s' committed: %llu %s, %llu bytes; %llu entries stored (%llu as "
                 "tails), %llu kept, %llu deleted; %llu bytes in %u %s, %.1f s", id,
                 (unsigned long long)stats->files, ofs_text_plural(stats->files, "file", "files"),
                 (unsigned long long)stats->bytes,
                 (unsigned long long)stats->stored, (unsigned long long)stats->appended,
                 (unsigned long long)stats->kept, (unsigned long long)stats->deleted,
                 (unsigned long long)stats->stored_bytes, stats->volumes,
                 ofs_text_plural(stats->volumes, "volume", "volumes"), stats->seconds);
    if (stats->changed_while_read > 0)
        ofs_log_warn("%llu %s while %s read (stored as read, flagged in the catalog)",
                     (unsigned long long)stats->changed_while_read,
                     ofs_text_plural(stats->changed_while_read, "file changed", "files changed"),
                     stats->changed_while_read == 1 ? "it was" : "they were");
    *rec = record;
    record = NULL;
cleanup:
    if (job.pipe) {
        job.volume_count = backup_pipe_volume_count(job.pipe);
        if (rc < 0)
            backup_fill_stats(stats, backup_pipe_get_stats(job.pipe), NULL);
    }
    backup_pipe_free(job.pipe); /* joins the workers before anything is removed */
    ofs_catalog_writer_free(cw);
    if (rc < 0 && written && !committed)
        backup_remove_objects(&job);
    if (!opts || !opts->defer_post_hook) {
        char *saved = rc < 0 ? ofs_error_save() : NULL;
        if (backup_hook(set->post_hook, "post_hook", set->name, id[0] ? id : NULL,
                        rc < 0 ? "failed" : "ok", NULL) < 0)
            ofs_log_warn("%s", ofs_error_last());
        if (saved) {
            ofs_error_restore(rc, saved);
            free(saved);
        }
    }
    stats->seconds = ofs_clock_monotonic() - t0;
    ofs_progress_free(progress);
    ofs_scan_names_free(names);
    ofs_record_free(record);
    ofs_record_free(job.base);
    ofs_manifest_free(manifest);
    return rc;
}
