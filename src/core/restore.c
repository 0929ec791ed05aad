/* restore.c - restore a backup into a directory: the decoder (decode.h) with the file-system
 * sink (extract.h); see restore.h. */
#include "offsite/restore.h"
#include "offsite/clock.h"
#include "offsite/decode.h"
#include "offsite/error.h"
#include "offsite/extract.h"
#include "offsite/progress.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double restore_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- what the backup holds ---- */

/* restore_below(path, dir, n): 1 if path is dir (its n bytes) or below it; "" holds all */
static int restore_below(const char *path, const char *dir, size_t n)
{
    return n == 0 || (strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

/* Catalog form of a set path: no leading or trailing '/'. */
static const char *restore_root(const char *root, size_t *len)
{
    while (*root == '/')
        root++;
    *len = strlen(root);
    while (*len > 0 && root[*len - 1] == '/')
        (*len)--;
    return root;
}

static int restore_below_roots(const ofs_restore_options *o, const char *path)
{
    for (size_t r = 0; r < o->root_count; r++) {
        size_t n;
        const char *root = restore_root(o->roots[r], &n);
        if (restore_below(path, root, n))
            return 1;
    }
    return 0;
}

/* entry i (e) is a directory mirror empties of what the backup lacks */
static int restore_mirrored(const ofs_decode *d, const ofs_restore_options *o, size_t i,
                            const ofs_catalog_entry *e)
{
    return o->mirror && e->type == OFS_ENTRY_DIR && ofs_decode_matched(d, i) &&
           restore_below_roots(o, e->path);
}

/*
 * restore_extras(find, w, dir, fn, ctx): fn(ctx, path) for each name in the target's copy of
 * the catalog's directory dir that the backup does not have (looked up through find, a
 * cursor of its own: dir may be another cursor's). A missing directory has none.
 */
static int restore_extras(ofs_decode_cursor *find, ofs_extract_worker *w, const char *dir,
                          int (*fn)(void *ctx, const char *path), void *ctx)
{
    char **names = NULL;
    size_t count = 0;
    int rc = ofs_extract_names(w, dir, &names, &count);
    if (rc == OFS_ENOTFOUND || (rc == OFS_ERROR && strstr(ofs_error_last(), "not a directory")))
        return 0; /* nothing there yet, or a file the restore moves out of the way */
    for (size_t k = 0; rc == 0 && k < count; k++) {
        size_t n = strlen(dir) + strlen(names[k]) + 2;
        char *path = malloc(n);
        if (!path) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            break;
        }
        snprintf(path, n, "%s/%s", dir, names[k]);
        size_t index = 0;
        rc = ofs_decode_find(find, path, &index);
        if (rc == 0)
            rc = fn(ctx, path);
        else if (rc == 1)
            rc = 0;
        free(path);
    }
    ofs_extract_names_free(names, count);
    return rc;
}

/* ---- checks before anything is written ---- */

/* No pattern matched anything: say which, as `offsite ls` would show the paths. */
static int restore_check_matches(const ofs_decode *d, const ofs_restore_options *o,
                                 const ofs_record *rec)
{
    char list[1024] = "";
    size_t at = 0;
    if (o->pattern_count == 0)
        return 0;
    for (size_t i = 0; i < ofs_decode_count(d); i++)
        if (ofs_decode_matched(d, i))
            return 0;
    for (size_t k = 0; k < o->pattern_count && at < sizeof(list); k++)
        at += (size_t)snprintf(list + at, sizeof(list) - at, "%s'%s'",
                               k == 0 ? "" : k + 1 == o->pattern_count ? " or " : ", ",
                               o->patterns[k]);
    return ofs_error_set(OFS_ENOTFOUND, "no file of backup '%s' matches %s\n"
                         "HINT: a pattern with a '/' matches the whole path without its "
                         "leading '/' ('*' stops at '/'), one without matches file and "
                         "directory names; offsite ls %s lists the paths", rec->id, list,
                         rec->id);
}

/* The safety area must not land where the restored data lives (a reader could take it up). */
static int restore_check_safety(const ofs_decode *d, const ofs_restore_options *o)
{
    char target[PATH_MAX], safety[PATH_MAX];
    ofs_decode_cursor *c = NULL;
    const ofs_catalog_entry *e = NULL;
    int rc;
    if (!o->safety_dir || o->root_count == 0)
        return 0;
    if (!realpath(o->target_dir, target))
        snprintf(target, sizeof(target), "%s", o->target_dir);
    if (!realpath(o->safety_dir, safety))
        snprintf(safety, sizeof(safety), "%s", o->safety_dir);
    size_t n = strlen(target);
    while (n > 1 && target[n - 1] == '/')
        target[--n] = '\0';
    const char *rel = safety;
    if (strcmp(target, "/") != 0) {
        if (strncmp(safety, target, n) != 0 || (safety[n] != '/' && safety[n] != '\0'))
            return 0;
        rel = safety + n;
    }
    while (*rel == '/')
        rel++;
    if ((rc = ofs_decode_cursor_new(d, &c)) < 0)
        return rc;
    for (size_t i = 0; i < ofs_decode_count(d); i++) {
        if (ofs_decode_type(d, i) != OFS_ENTRY_DIR || !ofs_decode_selected(d, i))
            continue;
        if ((rc = ofs_decode_entry(c, i, &e)) < 0)
            break;
        if (restore_below_roots(o, e->path) && restore_below(rel, e->path, strlen(e->path))) {
            rc = ofs_error_set(OFS_ECONFIG, "safety_dir '%s' is inside '%s', which this "
                               "restore writes\nHINT: choose a safety_dir outside the "
                               "restored data (the default is the top of --target)",
                               o->safety_dir, e->path);
            break;
        }
    }
    ofs_decode_cursor_free(c);
    return rc;
}

/* ---- the plan (dry run, confirmation) ---- */

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

typedef struct restore_planner {
    const ofs_restore_options *o;
    ofs_restore_plan *plan;
    int list;                /* call o->on_entry */
} restore_planner;

static int restore_plan_remove(void *ctx, const char *path)
{
    restore_planner *p = ctx;
    p->plan->remove++;
    if (p->list && p->o->on_entry)
        p->o->on_entry(p->o->ctx, path, "remove");
    return 0;
}

/* What the restore would do to each selected entry: create, replace, unchanged or skip;
 * with mirror, what it would remove. */
static int restore_plan_run(ofs_decode *d, const ofs_restore_options *o, ofs_restore_plan *plan,
                            int list)
{
    ofs_extract_options xo = { .target_dir = o->target_dir };
    ofs_extract *x = NULL;
    ofs_extract_worker *w = NULL;
    ofs_decode_cursor *c = NULL, *find = NULL;
    restore_planner planner = { o, plan, list };
    int rc = ofs_extract_open(&x, &xo);
    if (rc < 0 && rc != OFS_ENOTFOUND)
        return rc;
    if ((x && (rc = ofs_extract_worker_new(&w, x)) < 0) ||
        (rc = ofs_decode_cursor_new(d, &c)) < 0 || (rc = ofs_decode_cursor_new(d, &find)) < 0)
        goto cleanup;
    rc = 0;
    memset(plan, 0, sizeof(*plan));
    for (size_t i = 0; i < ofs_decode_count(d); i++) {
        const ofs_catalog_entry *e = NULL;
        const char *action = "create";
        struct stat st;
        if (!ofs_decode_selected(d, i))
            continue;
        if ((rc = ofs_decode_entry(c, i, &e)) < 0)
            goto cleanup;
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
                /* a directory stays (what it holds is listed on its own) */
                action = same || (want == OFS_ENTRY_DIR && S_ISDIR(st.st_mode)) ? "unchanged"
                                                                                 : "replace";
                if (o->skip_existing && !S_ISDIR(st.st_mode))
                    action = "skip";
            } else if (found != OFS_ENOTFOUND) {
                rc = found;
                goto cleanup;
            }
        }
        uint64_t *count = action[0] == 'c' ? &plan->create : action[0] == 'r' ? &plan->replace
                          : action[0] == 'u' ? &plan->unchanged : &plan->skip;
        (*count)++;
        if (list && o->on_entry)
            o->on_entry(o->ctx, e->path, action);
        if (w && restore_mirrored(d, o, i, e) &&
            (rc = restore_extras(find, w, e->path, restore_plan_remove, &planner)) < 0)
            goto cleanup;
    }
cleanup:
    ofs_decode_cursor_free(find);
    ofs_decode_cursor_free(c);
    ofs_extract_worker_free(w);
    ofs_extract_free(x);
    return rc;
}

/* ---- mirror ---- */

typedef struct restore_remover {
    const ofs_restore_options *o;
    ofs_extract_worker *w;
} restore_remover;

static int restore_remove(void *ctx, const char *path)
{
    restore_remover *r = ctx;
    if (r->o->on_entry)
        r->o->on_entry(r->o->ctx, path, "remove");
    return ofs_extract_remove(r->w, path);
}

/* Before anything is written: each mirrored directory loses what the backup lacks. */
static int restore_mirror(ofs_decode *d, const ofs_restore_options *o, ofs_extract *x)
{
    restore_remover r = { o, NULL };
    ofs_decode_cursor *c = NULL, *find = NULL;
    const ofs_catalog_entry *e = NULL;
    int rc;
    if ((rc = ofs_extract_worker_new(&r.w, x)) < 0 || (rc = ofs_decode_cursor_new(d, &c)) < 0 ||
        (rc = ofs_decode_cursor_new(d, &find)) < 0)
        goto cleanup;
    for (size_t i = 0; rc == 0 && i < ofs_decode_count(d); i++) {
        /* only matched directories can be mirrored: the others are not read back */
        if (!ofs_decode_selected(d, i) || !ofs_decode_matched(d, i) ||
            ofs_decode_type(d, i) != OFS_ENTRY_DIR)
            continue;
        if ((rc = ofs_decode_entry(c, i, &e)) == 0 && restore_mirrored(d, o, i, e))
            rc = restore_extras(find, r.w, e->path, restore_remove, &r);
    }
cleanup:
    ofs_decode_cursor_free(find);
    ofs_decode_cursor_free(c);
    ofs_extract_worker_free(r.w);
    return rc;
}

/* ---- the run ---- */

int ofs_restore_run(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                    const ofs_restore_options *opts, ofs_restore_stats *stats)
{
    ofs_decode *d = NULL;
    ofs_extract *x = NULL;
    ofs_progress *progress = NULL;
    ofs_restore_stats local;
    double t0 = restore_monotonic();
    int rc;

    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof(*stats));
    ofs_decode_options dopts = { .patterns = opts->patterns,
                                 .pattern_count = opts->pattern_count,
                                 .parallel = opts->parallel,
                                 .spool_dir = opts->spool_dir };
    /* the catalog is read and checked, and a differential's base found, before anything is
     * written */
    if (opts->mirror && opts->root_count == 0)
        return ofs_error_set(OFS_ECONFIG, "mirror needs the set's paths: below them the "
                             "backup holds whole directories");
    if (opts->mirror && opts->skip_existing)
        return ofs_error_set(OFS_ECONFIG, "mirror and skip_existing exclude each other");
    if ((rc = ofs_decode_open(&d, store, ring, rec, &dopts)) < 0 ||
        (rc = restore_check_matches(d, opts, rec)) < 0 ||
        (rc = restore_check_safety(d, opts)) < 0)
        goto cleanup;
    if (opts->dry_run) {
        rc = restore_plan_run(d, opts, &stats->plan, 1);
        goto cleanup;
    }
    if (opts->confirm) {
        if ((rc = restore_plan_run(d, opts, &stats->plan, 0)) < 0)
            goto cleanup;
        if (!opts->confirm(opts->ctx, &stats->plan)) {
            rc = ofs_error_set(OFS_ECANCELED, "canceled: nothing was written");
            goto cleanup;
        }
    }
    char label[300];
    snprintf(label, sizeof(label), "restore %s", rec->id);
    if ((rc = ofs_progress_new(&progress, label, ofs_decode_selected_bytes(d),
                               opts->show_progress)) < 0)
        goto cleanup;
    ofs_extract_options xo = { .target_dir = opts->target_dir, .overwrite = opts->overwrite,
                               .bak_beside = opts->bak_beside,
                               .skip_existing = opts->skip_existing,
                               .safety_dir = opts->safety_dir, .label = opts->label,
                               .started = ofs_clock_now() };
    ofs_decode_stats ds;
    double t_run = restore_monotonic();
    if ((rc = ofs_extract_new(&x, &xo)) < 0 ||
        (opts->mirror && (rc = restore_mirror(d, opts, x)) < 0) ||
        (rc = ofs_decode_run(d, &ofs_extract_sink, x, progress, &ds)) < 0)
        goto cleanup;
    ofs_progress_done(progress);
    ofs_extract_stats xs;
    ofs_extract_get_stats(x, &xs);
    stats->files = ds.files + ds.fifos;
    stats->dirs = ds.dirs;
    stats->symlinks = ds.symlinks;
    stats->hardlinks = ds.hardlinks;
    stats->bytes = ds.bytes;
    stats->backups_kept = xs.backups_kept;
    stats->skipped = xs.skipped;
    stats->first_byte = ds.first_byte > 0 ? ds.first_byte + (t_run - t0) : 0;
    stats->volumes = ds.volumes + (t_run - t0);
    stats->sync_wait = xs.sync_seconds;
    stats->fetch_busy = ds.fetch_busy;
    stats->write_busy = ds.sink_busy;
cleanup:
    if (x) {
        /* where things were moved, also when the restore failed after moving some */
        ofs_extract_stats xs;
        ofs_extract_get_stats(x, &xs);
        memcpy(stats->safety_path, xs.safety_path, sizeof(stats->safety_path));
    }
    ofs_decode_free(d);
    ofs_extract_free(x);
    ofs_progress_free(progress);
    stats->seconds = restore_monotonic() - t0;
    return rc;
}
