/*
 * restore.h - restore a backup (or the files of it matching patterns) into a directory.
 *
 * The backup is read by the decoder (decode.h), which checks the catalog, every tar entry and
 * every file's SHA-256 exactly as verify --read-data does, with `parallel` volume workers; its
 * file-system sink (extract.h) writes below the target: every directory opened with
 * O_NOFOLLOW so nothing is written through a symlink, each file written to a temporary name
 * beside its final one and renamed into place only once it checked out. An existing file in
 * the way is kept as NAME.pre_restore_<YYYYmmdd_HHMMSS>.bak unless overwrite. Each file is
 * made durable (fsync by a small pool) while later ones are written, each directory once its
 * entries are in place, and success is reported only when everything written is durable.
 * Directory modes and times are applied last.
 */
#ifndef OFFSITE_RESTORE_H
#define OFFSITE_RESTORE_H

#include <stdio.h>

#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/store.h"

typedef struct ofs_restore_options {
    const char *target_dir;  /* created if missing */
    char *const *patterns;   /* fnmatch patterns on catalog paths (a pattern naming a
                                directory selects everything below it); NULL/0 = all */
    size_t pattern_count;
    int dry_run;             /* list what would change, write nothing */
    int overwrite;           /* replace existing files without .bak copies */
    int parallel;            /* volume workers; 0 = 2 */
    int show_progress;
    /* dry-run and verbose listing: called for each selected entry with an action
       ("create", "replace", "unchanged"); may be NULL */
    void (*on_entry)(void *ctx, const char *path, const char *action);
    void *ctx;
} ofs_restore_options;

typedef struct ofs_restore_stats {
    uint64_t files, dirs, symlinks, hardlinks, bytes, backups_kept;
    double seconds;
    /* where the time went (seconds from the start of the run, or spent): */
    double first_byte;       /* the first content byte reached the file system */
    double volumes;          /* every volume read, every file written and checked */
    double sync_wait;        /* the wait at the end for what was not yet durable */
    double fetch_busy;       /* summed over the volume workers: waiting for the store's
                                data to arrive decrypted and decompressed */
    double write_busy;       /* summed over the volume workers: in file-system calls */
} ofs_restore_stats;

/*
 * ofs_restore_run(store, ring, rec, opts, &stats): restore rec from store. Errors name the
 * backup, the volume and the file: "volume 2: authentication failed (wrong key or corrupted
 * data)". On failure, no file that failed its check is left under its final name; files
 * already restored before the failure stay (they verified). A dry run reads the catalog (and
 * finds a differential's base) but no volume.
 */
int ofs_restore_run(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                    const ofs_restore_options *opts, ofs_restore_stats *stats);

/*
 * ofs_path_is_safe(path): 1 if path is relative, non-empty, and has no "", "." or ".."
 * component; else 0. Used for every path taken from a catalog or an archive.
 */
int ofs_path_is_safe(const char *path);

#endif
