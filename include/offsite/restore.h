/*
 * restore.h - restore a backup (or the files of it matching patterns) into a directory.
 *
 * The backup is read by the decoder (decode.h), which checks the catalog, every tar entry and
 * every file's SHA-256 exactly as verify --read-data does, with `parallel` volume workers; its
 * file-system sink (extract.h) writes below the target: every directory opened with
 * O_NOFOLLOW so nothing is written through a symlink, each file written to a temporary name
 * beside its final one and renamed into place only once it checked out. What is in the way
 * (and, with mirror, what the backup does not have) is moved into the run's safety area
 * (extract.h: TARGET/.offsite-pre-restore-<STAMP>/PATH, with INDEX.txt saying how to put it
 * back) unless overwrite, bak_beside or skip_existing say otherwise. Each file is
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

/* What a restore would do to the target (a dry run's listing, counted). */
typedef struct ofs_restore_plan {
    uint64_t create, replace, remove, unchanged, skip;
} ofs_restore_plan;

/* Every field's zero value is the plain restore: all entries, safety area, no mirror. */
typedef struct ofs_restore_options {
    const char *target_dir;  /* created if missing */
    char *const *patterns;   /* matched as exclude is (ofs_scan_match) against each catalog
                                path and its ancestors: a pattern with a '/' against the path
                                ('*' stops at '/'), one without against the names in it, so
                                a pattern naming a directory selects everything below it;
                                NULL/0 = all. No entry matching is OFS_ENOTFOUND naming them */
    size_t pattern_count;
    int dry_run;             /* list what would change, write nothing */
    int overwrite;           /* replace (and mirror: delete) keeping nothing: scratch targets */
    int bak_beside;          /* keep what is replaced as NAME.pre_restore_<STAMP>.bak beside it
                                (the old way) instead of in the safety area */
    int skip_existing;       /* leave whatever exists at an entry's path as it is */
    const char *safety_dir;  /* where the run's safety area is made (extract.h); NULL = the
                                top of target_dir. Refused (OFS_ECONFIG) inside a directory
                                below one of roots that the backup holds */
    /* roots: the set's paths as catalog paths (no leading '/'): the directories below them
       were backed up whole, their ancestors were not. NULL/0: unknown */
    char *const *roots;
    size_t root_count;
    /*
     * mirror: each selected directory below (or at) one of roots ends up exactly as backed
     * up: what it holds that the backup does not is moved into the safety area ("remove" in
     * the listing) before anything is written. With patterns, only the directories a pattern
     * matches (or lies below) are mirrored, not those above a match. mirror without roots,
     * or with skip_existing, is OFS_ECONFIG.
     */
    int mirror;
    int parallel;            /* volume workers; 0 = 2 */
    const char *spool_dir;   /* where the catalog spills past 8 MiB (decode.h); NULL = $TMPDIR,
                                else /tmp */
    int show_progress;
    /* dry-run and verbose listing: called for each selected entry with an action
       ("create", "replace", "unchanged", "skip", "remove"); may be NULL */
    void (*on_entry)(void *ctx, const char *path, const char *action);
    void *ctx;
    /* called once the catalog is read, before anything is written, with what the restore
       will do; returning 0 cancels it (OFS_ECANCELED, nothing written). NULL = go on */
    int (*confirm)(void *ctx, const ofs_restore_plan *plan);
    const char *label;       /* the safety area's index names the restore with it, or NULL */
} ofs_restore_options;

typedef struct ofs_restore_stats {
    ofs_restore_plan plan;   /* dry run or confirm: what the restore would do */
    uint64_t skipped;        /* existing entries left alone (skip_existing) */
    char safety_path[4096];  /* the safety area if anything was moved there, else "" */
    uint64_t files, dirs, symlinks, hardlinks, bytes;
    uint64_t backups_kept;   /* entries moved into the safety area (or kept as .bak) */
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
 * finds a differential's base) but no volume; it fills stats->plan.
 */
int ofs_restore_run(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                    const ofs_restore_options *opts, ofs_restore_stats *stats);

/*
 * ofs_path_is_safe(path): 1 if path is relative, non-empty, and has no "", "." or ".."
 * component; else 0. Used for every path taken from a catalog or an archive.
 */
int ofs_path_is_safe(const char *path);

#endif
