/*
 * backup.h - make one backup of one set and commit it to a store (staging).
 *
 * Full or differential (DESIGN.md "Backups: full and differential"): a backup is full with
 * --full (opts->full), when its class is weekly or monthly, when staging's manifest holds no
 * full of the set (or its record or catalog cannot be read), when set->full_every is 0, or
 * when the latest full started more than full_every before this backup; otherwise it is a
 * differential whose base is the set's latest full (never a differential). The class is
 * "monthly" for the set's first backup of a calendar month, "weekly" for its first of an ISO
 * week, else "daily", in cfg->time_zone.
 *
 * Pipeline (docs/format.md, backup_pipe.h): walk the set's paths in sorted order with excludes
 * (ofs_scan_walk, streaming) -> for a differential, merge with the base's catalog (diff.h):
 * unchanged entries keep the base's location, grown files are stored as their tail, the rest
 * is stored whole -> batches cut near volume_size, each packed by one of `parallel` workers:
 * pax tar (libarchive) -> zstd -> seal -> SHA-256 -> store put -> the catalog, written in
 * order as volumes finish (JSON lines -> zstd -> seal -> put) -> backup.json (the commit
 * point) -> the manifest. Memory does not grow with the number of files. A failure at any
 * step before the record commits nothing: the writers in flight are aborted and the objects
 * already written for the backup's id are deleted, so staging holds no orphans; objects left
 * by a crashed run (a data/<class>/<id>/ folder without backup.json) are deleted at the start
 * of the next run (the caller holds the state-dir lock). A failure after the record
 * (manifest update) is only a warning: the backup is committed and the manifest can be
 * rebuilt from the records.
 *
 * Hooks: pre_hook runs first (/bin/sh -c, env OFFSITE_SET); a non-zero exit fails the backup
 * ("pre_hook of set 'S' failed with exit status N"). post_hook runs last, also after a
 * failure (env OFFSITE_SET, OFFSITE_BACKUP_ID when an id was chosen, OFFSITE_STATUS=ok|failed);
 * its failure is a warning. Sets TZ to cfg->time_zone (for the retention class) before any
 * thread starts.
 */
#ifndef OFFSITE_BACKUP_H
#define OFFSITE_BACKUP_H

#include "offsite/config.h"
#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/store.h"

typedef struct ofs_backup_options {
    const char *description; /* or NULL */
    int full;                /* --full: never a differential */
    int parallel;            /* volume workers; 0 = cfg->parallel */
    int show_progress;       /* progress bar / periodic log lines */
    int defer_post_hook;     /* the caller runs the post_hook (after the push, so it can tell
                                the push's outcome): ofs_backup_post_hook */
} ofs_backup_options;

typedef struct ofs_backup_stats {
    uint64_t files, dirs, symlinks, hardlinks, bytes, stored_bytes; /* files, bytes: the catalog */
    uint32_t volumes;
    uint64_t stored;    /* catalog entries stored in this backup's volumes */
    uint64_t appended;  /* files stored as their tail (differentials) */
    uint64_t kept;      /* entries kept from the base (differentials) */
    uint64_t deleted;   /* base entries no longer present (differentials) */
    uint64_t changed_while_read; /* files that moved under us (reported, backup fails) */
    double seconds;
    /* committed, but staging's manifest.json could not be updated (a full disk): the error
     * code (0: it was) and its message (caller frees); the next backup or verify rebuilds it */
    int manifest_error;
    char *manifest_message;
} ofs_backup_stats;

/*
 * ofs_backup_run(cfg, set, staging, ring, opts, &rec, &stats): make and commit one backup of
 * set to staging. *rec (caller frees) is the committed record. A file that changes while it is
 * read (size, mtime or ctime moved) is stored as read (padded with zeros if it shrank, so the
 * tar stays valid), flagged "changed" in the catalog, named in a warning and counted in
 * stats->changed_while_read; the CLI then exits 1 as GNU tar does ("file changed as we read
 * it"): reported, never silently torn. A path that vanished between scan and read is skipped
 * with a warning.
 * A manifest that cannot be saved after the commit does not undo the backup: 0 is returned
 * with stats->manifest_error set (the CLI exits with that error's code after the push).
 */
int ofs_backup_run(const ofs_config *cfg, const ofs_config_set *set, ofs_store *staging,
                   const ofs_keyring *ring, const ofs_backup_options *opts, ofs_record **rec,
                   ofs_backup_stats *stats);

/* What a backup of a set would do (backup --dry-run). */
typedef struct ofs_backup_plan {
    const char *class_name;     /* "daily", "weekly" or "monthly" (static) */
    char *base_id;              /* a differential's base, or NULL for a full backup */
    char why[256];              /* why full or differential, in words */
    uint64_t entries, files, bytes;     /* the set now: catalog entries, regular files, bytes */
    uint64_t read_files, read_bytes;    /* what the backup would read: every regular file of a
                                           full; new, changed and grown files of a differential */
    uint64_t new_entries, changed, grown, unchanged, deleted; /* a differential, against its
                                           base's catalog (diff.h) */
} ofs_backup_plan;

/*
 * ofs_backup_dry_run(cfg, set, staging, ring, opts, &plan): choose as ofs_backup_run would (the
 * class; full or differential, with the reason) and walk the set's paths comparing with the
 * base's catalog, reading no file's content and writing nothing: no hook runs, no orphan is
 * removed. staging may be NULL (not created yet: a full backup). Free with
 * ofs_backup_plan_free. Errors: the walk's (a missing path), the base catalog's.
 */
int ofs_backup_dry_run(const ofs_config *cfg, const ofs_config_set *set, ofs_store *staging,
                       const ofs_keyring *ring, const ofs_backup_options *opts,
                       ofs_backup_plan *plan);
void ofs_backup_plan_free(ofs_backup_plan *plan);

/*
 * ofs_backup_post_hook(set, id, status, push): run set's post_hook (if any) with OFFSITE_SET,
 * OFFSITE_BACKUP_ID (id, or unset if NULL), OFFSITE_STATUS ("ok" or "failed": the set's
 * backup) and OFFSITE_PUSH ("ok", "failed", "skipped"; unset if NULL). Returns its failure
 * (OFS_ERROR naming the set and the exit status); callers log it, it fails nothing.
 */
int ofs_backup_post_hook(const ofs_config_set *set, const char *id, const char *status,
                         const char *push);

#endif
