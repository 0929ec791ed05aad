/* restore.c - restore a backup into a directory: the decoder (decode.h) with the file-system
 * sink (extract.h); see restore.h. */
#include "offsite/restore.h"
#include "offsite/clock.h"
#include "offsite/decode.h"
#include "offsite/error.h"
#include "offsite/extract.h"
#include "offsite/progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double restore_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static int restore_dry_run(ofs_decode *d, const ofs_restore_options *o)
{
    ofs_extract_options xo = { .target_dir = o->target_dir };
    ofs_extract *x = NULL;
    ofs_extract_worker *w = NULL;
    int rc = ofs_extract_open(&x, &xo);
    if (rc < 0 && rc != OFS_ENOTFOUND)
        return rc;
    if (x && (rc = ofs_extract_worker_new(&w, x)) < 0)
        goto cleanup;
    rc = 0;
    for (size_t i = 0; i < ofs_decode_count(d); i++) {
        const ofs_catalog_entry *e = ofs_decode_entry(d, i);
        const char *action = "create";
        struct stat st;
        if (!ofs_decode_selected(d, i))
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
                                 .parallel = opts->parallel };
    /* the catalog is read and checked, and a differential's base found, before anything is
     * written */
    if ((rc = ofs_decode_open(&d, store, ring, rec, &dopts)) < 0)
        goto cleanup;
    if (opts->dry_run) {
        rc = restore_dry_run(d, opts);
        goto cleanup;
    }
    char label[300];
    snprintf(label, sizeof(label), "restore %s", rec->id);
    if ((rc = ofs_progress_new(&progress, label, ofs_decode_selected_bytes(d),
                               opts->show_progress)) < 0)
        goto cleanup;
    ofs_extract_options xo = { .target_dir = opts->target_dir, .overwrite = opts->overwrite,
                               .started = ofs_clock_now() };
    ofs_decode_stats ds;
    double t_run = restore_monotonic();
    if ((rc = ofs_extract_new(&x, &xo)) < 0 ||
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
    stats->first_byte = ds.first_byte > 0 ? ds.first_byte + (t_run - t0) : 0;
    stats->volumes = ds.volumes + (t_run - t0);
    stats->sync_wait = xs.sync_seconds;
    stats->fetch_busy = ds.fetch_busy;
    stats->write_busy = ds.sink_busy;
cleanup:
    ofs_decode_free(d);
    ofs_extract_free(x);
    ofs_progress_free(progress);
    stats->seconds = restore_monotonic() - t0;
    return rc;
}
