/* context.c - what most commands share: the config, the key, the lock, choosing a store. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "offsite/repo.h"

/* context_add_hint(code, hint): append "\nHINT: hint" to this thread's message. */
static int context_add_hint(int code, const char *hint)
{
    char message[2048];
    snprintf(message, sizeof(message), "%s", ofs_error_last());
    return ofs_error_set(code, "%s\nHINT: %s", message, hint);
}

int ofs_cli_config(ofs_cli *cli, const ofs_config **cfg)
{
    int rc;
    if (!cli->cfg && (rc = ofs_config_load(&cli->cfg, cli->config_path)) < 0) {
        if (rc == OFS_ENOTFOUND)
            return context_add_hint(rc, "pass the configuration with -c FILE or set "
                                        "OFFSITE_CONFIG");
        return rc;
    }
    /* local time is the agent's time_zone: bwlimit timetables, backup classes (set here,
     * before any thread exists, so localtime_r never races a change) */
    if (!getenv("TZ") || strcmp(getenv("TZ"), cli->cfg->time_zone) != 0) {
        setenv("TZ", cli->cfg->time_zone, 1);
        tzset();
    }
    *cfg = cli->cfg;
    return 0;
}

int ofs_cli_key(ofs_cli *cli, int required, const ofs_keyring **ring)
{
    const ofs_config *cfg = NULL;
    int rc;

    *ring = NULL;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (cli->ring) {
        *ring = cli->ring;
        return 0;
    }
    rc = ofs_keyring_load(&cli->ring, cfg->key_file);
    if (rc == OFS_ENOTFOUND && !required) {
        ofs_log_warn("key file '%s' not found: manifests and records are read without "
                     "checking their MAC (unverified)", cfg->key_file);
        return 0;
    }
    if (rc == OFS_ENOTFOUND)
        return context_add_hint(rc, "run 'offsite init' to create a key, or 'offsite key import' "
                                    "to restore one from its paper copy");
    if (rc < 0)
        return rc;
    *ring = cli->ring;
    return 0;
}

int ofs_cli_lock(ofs_cli *cli)
{
    const ofs_config *cfg = NULL;
    char *path = NULL;
    int rc;

    if (cli->lock_fd >= 0)
        return 0;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if ((rc = ofs_mkdir_p(cfg->state_dir, 0700)) < 0)
        return ofs_error_wrap(rc, "state directory '%s'", cfg->state_dir);
    if (!(path = ofs_path_join(cfg->state_dir, OFS_CLI_LOCK_NAME)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = ofs_error_from_errno(errno, "cannot open lock file '%s'", path);
        goto cleanup;
    }
    /* flock: released by the kernel when the process ends, even after kill -9. --wait polls
     * (a blocking flock cannot be bounded without a signal) */
    double deadline = ofs_clock_monotonic() + (double)cli->lock_wait;
    int said = 0;
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK && ofs_clock_monotonic() < deadline) {
            if (!said++)
                ofs_log_info("another offsite is running (lock %s): waiting up to %llds",
                             path, (long long)cli->lock_wait);
            struct timespec pause = { 0, 250 * 1000 * 1000 };
            nanosleep(&pause, NULL);
            continue;
        }
        if (errno == EWOULDBLOCK && cli->lock_wait > 0)
            rc = ofs_error_set(OFS_EEXISTS, "another offsite is running (lock %s); waited "
                               "%llds for it", path, (long long)cli->lock_wait);
        else if (errno == EWOULDBLOCK)
            rc = ofs_error_set(OFS_EEXISTS, "another offsite is running (lock %s)", path);
        else
            rc = ofs_error_from_errno(errno, "cannot lock '%s'", path);
        close(fd);
        goto cleanup;
    }
    cli->lock_fd = fd;
cleanup:
    free(path);
    return rc;
}

int ofs_cli_open_staging(ofs_cli *cli, int create, ofs_store **out)
{
    const ofs_config *cfg = NULL;
    struct stat st;
    int rc;

    *out = NULL;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (!create && stat(cfg->staging_dir, &st) < 0) {
        if (errno == ENOENT)
            return ofs_error_set(OFS_ENOTFOUND, "staging directory '%s' does not exist",
                                 cfg->staging_dir);
        return ofs_error_from_errno(errno, "staging directory '%s'", cfg->staging_dir);
    }
    if (create && (rc = ofs_mkdir_p(cfg->staging_dir, 0700)) < 0)
        return ofs_error_wrap(rc, "staging directory '%s'", cfg->staging_dir);
    return ofs_store_file_new(out, "staging", cfg->staging_dir);
}

/* drivers that spool (rsync), and restore's catalog, do it under the state directory: /tmp
 * may be a small tmpfs */
char *ofs_cli_cache_dir(const ofs_config *cfg)
{
    return ofs_path_join(cfg->state_dir, "cache");
}

int ofs_cli_open_target(ofs_cli *cli, const char *name, ofs_store **out)
{
    const ofs_config *cfg = NULL;
    const ofs_config_target *target;
    int rc;

    *out = NULL;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (!(target = ofs_config_find_target(cfg, name))) {
        char names[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < cfg->target_count && used < sizeof(names); i++)
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s'%s'",
                                     i ? ", " : "", cfg->targets[i].name);
        if (cfg->target_count == 0)
            return ofs_error_set(OFS_ENOTFOUND, "no target '%s' in '%s'\nHINT: the "
                                 "configuration has no [target] section", name, cfg->path);
        return ofs_error_set(OFS_ENOTFOUND, "no target '%s' in '%s'\nHINT: configured targets: %s",
                             name, cfg->path, names);
    }
    char *cache = ofs_cli_cache_dir(cfg);
    if (!cache)
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = ofs_store_open(out, target, ofs_config_target_retention(cfg, target), cache);
    free(cache);
    return rc; /* the message names the target (store.h) */
}

int ofs_cli_open_target_for_prune(ofs_cli *cli, const char *name, ofs_store **out, int *admin)
{
    const ofs_config *cfg = NULL;
    const ofs_config_target *target;
    int rc;

    *admin = 0;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    target = ofs_config_find_target(cfg, name);
    if (target && target->prune_profile && *target->prune_profile) {
        ofs_config_target as_admin = *target; /* shallow: borrows every string */
        char *cache = ofs_cli_cache_dir(cfg);
        if (!cache)
            return ofs_error_set(OFS_ERROR, "out of memory");
        as_admin.profile = target->prune_profile;
        as_admin.write_only = 0;
        rc = ofs_store_open(out, &as_admin, ofs_config_target_retention(cfg, target), cache);
        free(cache);
        if (rc == 0) {
            *admin = 1;
            ofs_log_info("target '%s': pruning with credentials profile '%s' (prune_profile)",
                         name, target->prune_profile);
            return 0;
        }
        if (rc != OFS_ENOTFOUND && rc != OFS_ECONFIG)
            return rc;
        ofs_log_info("target '%s': prune_profile '%s' is not available here (%s); pruning with "
                     "the target's own credentials", name, target->prune_profile,
                     ofs_error_last());
        ofs_error_clear();
    }
    return ofs_cli_open_target(cli, name, out);
}

int ofs_cli_open_source(ofs_cli *cli, const char *from, ofs_store **out)
{
    int rc;
    if (from)
        return ofs_cli_open_target(cli, from, out);
    rc = ofs_cli_open_staging(cli, 0, out);
    if (rc == OFS_ENOTFOUND)
        return context_add_hint(rc, "on a machine without staging, name a target: --from TARGET");
    return rc;
}

/* ---- the manifest, checked against the records ---- */

typedef struct context_ids {
    char **ids;
    size_t count, capacity;
} context_ids;

/* Collect the ids of data/<class>/<id>/backup.json keys. */
static int context_list_record(void *ctx, const char *key, const ofs_object_info *info)
{
    context_ids *list = ctx;
    size_t n = strlen(key), tail = strlen("/" OFS_RECORD_NAME);
    (void)info;
    if (n <= tail || strcmp(key + n - tail, "/" OFS_RECORD_NAME) != 0)
        return 0;
    const char *end = key + n - tail, *start = end;
    while (start > key && start[-1] != '/')
        start--;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 32;
        char **bigger = realloc(list->ids, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        list->ids = bigger;
        list->capacity = capacity;
    }
    if (!(list->ids[list->count] = strndup(start, (size_t)(end - start))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    list->count++;
    return 0;
}

static void context_ids_free(context_ids *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->ids[i]);
    free(list->ids);
}

int ofs_cli_load_manifest(ofs_cli *cli, ofs_store *store, const ofs_keyring *ring,
                          ofs_manifest **out)
{
    context_ids records = { 0 };
    ofs_manifest *m = NULL;
    int rc;
    (void)cli;

    *out = NULL;
    rc = ofs_manifest_load(&m, store, ring);
    if (rc == OFS_EAUTH || rc == OFS_ECORRUPT) {
        ofs_log_warn("%s; listing the backup records instead", ofs_error_last());
    } else if (rc < 0 && rc != OFS_ENOTFOUND) {
        return rc;
    }
    if (m) {
        /* a backup whose manifest update failed after its commit is still a backup */
        rc = ofs_store_list(store, "data/", context_list_record, &records);
        if (rc < 0 && rc != OFS_ENOTFOUND)
            goto cleanup;
        rc = 0;
        for (size_t i = 0; i < records.count; i++) {
            if (!ofs_manifest_find(m, records.ids[i])) {
                ofs_log_warn("%s: the manifest lacks backup '%s'; listing the backup records "
                             "instead", ofs_store_name(store), records.ids[i]);
                ofs_manifest_free(m);
                m = NULL;
                break;
            }
        }
    }
    if (!m && (rc = ofs_manifest_rebuild(&m, store, ring)) < 0)
        goto cleanup;
    *out = m;
    m = NULL;
cleanup:
    context_ids_free(&records);
    ofs_manifest_free(m);
    return rc;
}

static int context_compare_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ofs_cli_record_ids(ofs_store *store, char ***ids, size_t *count)
{
    context_ids records = { 0 };
    int rc = ofs_store_list(store, "data/", context_list_record, &records);
    if (rc < 0 && rc != OFS_ENOTFOUND) {
        context_ids_free(&records);
        return rc;
    }
    if (records.count > 1)
        qsort(records.ids, records.count, sizeof(*records.ids), context_compare_ids);
    *ids = records.ids;
    *count = records.count;
    return 0;
}

void ofs_cli_free_ids(char **ids, size_t count)
{
    context_ids list = { .ids = ids, .count = count };
    context_ids_free(&list);
}

/* ---- finding a backup ---- */

/* context_try_store(store, ...): 0 with *rec if the store holds the backup (or, with latest,
 * a backup of set started before `before`), OFS_ENOTFOUND if not, another code if the store
 * could not be read. */
static int context_try_store(ofs_cli *cli, ofs_store *store, const char *id, const char *set,
                             int latest, int64_t before, const ofs_keyring *ring,
                             ofs_record **rec)
{
    ofs_manifest *m = NULL;
    int rc;

    if (latest) {
        if ((rc = ofs_cli_load_manifest(cli, store, ring, &m)) < 0)
            return rc;
        const ofs_manifest_entry *e = NULL;
        for (size_t i = m->count; i > 0 && !e; i--) /* oldest first, as ofs_manifest_latest */
            if ((!set || strcmp(m->entries[i - 1].set, set) == 0) &&
                m->entries[i - 1].started < before)
                e = &m->entries[i - 1];
        if (!e) {
            ofs_manifest_free(m);
            return set ? ofs_error_set(OFS_ENOTFOUND, "%s: no backup of set '%s'",
                                       ofs_store_name(store), set)
                       : ofs_error_set(OFS_ENOTFOUND, "%s: no backup", ofs_store_name(store));
        }
        rc = ofs_repo_load_record(store, ring, e->id, rec, NULL, NULL);
        ofs_manifest_free(m);
        return rc;
    }
    return ofs_repo_load_record(store, ring, id, rec, NULL, NULL);
}

static int context_find(ofs_cli *cli, const char *from, const char *id, const char *set,
                        int latest, int64_t before, const ofs_keyring *ring, ofs_store **store,
                        ofs_record **rec)
{
    const ofs_config *cfg = NULL;
    ofs_store *s = NULL;
    char *first_error = NULL;
    int rc, first_code = 0;

    *store = NULL;
    *rec = NULL;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (from) {
        if ((rc = ofs_cli_open_target(cli, from, &s)) < 0)
            return rc;
        if ((rc = context_try_store(cli, s, id, set, latest, before, ring, rec)) < 0) {
            ofs_store_free(s);
            return rc;
        }
        *store = s;
        return 0;
    }
    /* staging first (if this machine has one), then the targets in configuration order */
    for (size_t i = 0; i <= cfg->target_count; i++) {
        if (i == 0)
            rc = ofs_cli_open_staging(cli, 0, &s);
        else
            rc = ofs_cli_open_target(cli, cfg->targets[i - 1].name, &s);
        if (rc == 0)
            rc = context_try_store(cli, s, id, set, latest, before, ring, rec);
        if (rc == 0) {
            if (i > 0)
                ofs_log_info("reading backup '%s' from target '%s'", (*rec)->id,
                             cfg->targets[i - 1].name);
            *store = s;
            free(first_error);
            return 0;
        }
        ofs_store_free(s);
        s = NULL;
        if (rc != OFS_ENOTFOUND) {
            /* a damaged or unreachable store: say so, and look further */
            ofs_log_warn("%s", ofs_error_last());
            if (!first_code) {
                first_code = rc;
                first_error = ofs_error_save();
            }
        }
    }
    if (first_code) {
        rc = ofs_error_restore(first_code, first_error);
        free(first_error);
        if (latest)
            return ofs_error_wrap(rc, "no readable backup found");
        return ofs_error_wrap(rc, "backup '%s' not found in a readable store", id);
    }
    char when[48] = "";
    if (latest && before != INT64_MAX) {
        char iso[32];
        ofs_time_format_iso(before, iso, sizeof(iso));
        snprintf(when, sizeof(when), " made before %s", iso);
    }
    if (latest)
        return set ? ofs_error_set(OFS_ENOTFOUND, "no backup of set '%s'%s in staging or any "
                                   "target", set, when)
                   : ofs_error_set(OFS_ENOTFOUND, "no backup%s in staging or any target", when);
    return ofs_error_set(OFS_ENOTFOUND, "backup '%s' not found in staging or any target\n"
                         "HINT: offsite list --from TARGET shows a target's backups", id);
}

int ofs_cli_find_backup(ofs_cli *cli, const char *from, const char *id, const char *set,
                        int latest, const ofs_keyring *ring, ofs_store **store,
                        ofs_record **rec)
{
    return context_find(cli, from, id, set, latest, INT64_MAX, ring, store, rec);
}

int ofs_cli_find_before(ofs_cli *cli, const char *from, const char *set, int64_t before,
                        const ofs_keyring *ring, ofs_store **store, ofs_record **rec)
{
    return context_find(cli, from, NULL, set, 1, before, ring, store, rec);
}

void ofs_cli_free(ofs_cli *cli)
{
    ofs_config_free(cli->cfg);
    cli->cfg = NULL;
    ofs_keyring_free(cli->ring);
    cli->ring = NULL;
    if (cli->lock_fd >= 0)
        close(cli->lock_fd);
    cli->lock_fd = -1;
    json_decref(cli->result);
    cli->result = NULL;
}
