/*
 * prune.h - delete from one store the backups its retention policy does not keep
 * (retention.h decides), and the orphans of interrupted runs.
 *
 * Order of a run, chosen so that a crash at any point (kill -9, power) leaves every backup
 * either whole or an orphan, never a record pointing at missing data and never a manifest entry
 * without a record:
 *   1. list data/ once; load the manifest. A manifest that is missing, unreadable, or disagrees
 *      with the records in the listing is rebuilt from the records (and saved, unless dry run).
 *   2. decide (ofs_retention_decide).
 *   3. save the manifest without the backups to delete (one write for the whole run). A crash
 *      after this leaves whole backups the manifest lacks: `list` rebuilds, the next prune
 *      deletes them again.
 *   4. per backup, oldest first: delete backup.json FIRST (the commit point: from here on the
 *      backup does not exist), then every other object of its folder data/<class>/<id>/. A crash
 *      in between leaves an orphan.
 *   5. delete the orphans: folders data/<class>/<id>/ holding objects but no backup.json.
 *   6. sweep (sweep.h): temporary objects and empty backup folders interrupted runs left, on
 *      a target other hosts push to only those older than a day (orphan_grace > 0 marks a
 *      target; its manifest's hosts tell whether it is shared).
 * Where the store refuses deletes (a write-only target: `delete = no`, or the server's answer
 * to ofs_store_delete_check before step 3), the run stops after step 2: it plans and reports,
 * and writes and deletes nothing - the manifest stays as it is. A record delete refused later
 * (object lock, a policy that changed mid-run) leaves that backup whole and listed again.
 * A backup being written also has no record yet: the caller must hold the lock that `backup`
 * and `push` hold (src/cli/context.c), so an orphan is never a backup in progress on this
 * host; on a target other hosts write to, orphan_grace keeps their pushes in progress.
 * Records whose MAC fails are neither in the manifest nor orphans: they are left alone (verify
 * reports them).
 */
#ifndef OFFSITE_PRUNE_H
#define OFFSITE_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/config.h"
#include "offsite/keyring.h"
#include "offsite/retention.h"
#include "offsite/store.h"

typedef struct ofs_prune_options {
    const ofs_config_retention *policy; /* every set's, when config is NULL */
    const ofs_config *config;  /* else each set's policy is ofs_config_policy(config, target,
                                  set): the target's own, else the set's, else [retention] */
    const ofs_config_target *target; /* with config: the store's target; NULL for staging */
    int64_t now;              /* ofs_clock_now() */
    int dry_run;              /* decide and report; write and delete nothing */
    char *const *held;        /* ids kept whatever the policy says (with their bases) */
    size_t held_count;
    /* a target several hosts push to: backups whose record names another host are kept
     * (OFS_RETAIN_HOST; their own host's prune, or the provider's lifecycle, removes them),
     * and an unfinished folder whose newest object is younger than orphan_grace seconds (by
     * the real clock) is left - another host's push may be writing it. NULL and 0 for this
     * host's own staging, which the lock protects. */
    const char *host;
    int64_t orphan_grace;
    const char *probe_host;   /* names the delete check's probe key (the agent's host) */
} ofs_prune_options;

typedef struct ofs_prune_backup {
    char *id, *set, *kind, *base, *class_name, *host;
    int64_t started;
    uint64_t stored_bytes;
    ofs_retention_decision decision; /* decision.reasons == 0: deleted (or, dry run, would be) */
    const char *needed_by;    /* with OFS_RETAIN_BASE: the id of a kept backup based on it */
    int deleted;              /* its record and data are gone (never in a dry run) */
    char *locked;             /* the store refused to delete its record: object lock (the
                                 driver's message, "object is locked until DATE ...") or the
                                 credentials; the backup stays whole and listed */
} ofs_prune_backup;

typedef struct ofs_prune_orphan {
    char *folder;             /* "data/<class>/<id>/" */
    uint64_t objects, bytes;
    int64_t newest;           /* mtime of its newest object (0 if the store gives none) */
    int young;                /* newer than orphan_grace: left alone this time */
    int deleted;
} ofs_prune_orphan;

typedef struct ofs_prune_result {
    ofs_prune_backup *backups; /* every backup of the store, oldest first */
    size_t count;
    ofs_prune_orphan *orphans;
    size_t orphan_count;
    uint64_t kept, deleted;    /* backups; deleted counts what the policy drops (dry run too) */
    uint64_t objects_deleted, bytes_freed; /* what was (dry run: would be) deleted, orphans
                                              included */
    int manifest_rebuilt;      /* the manifest disagreed with the records and was rebuilt */
    int delete_refused;        /* the credentials may not delete: planned only, nothing
                                  written or deleted (deleted counts what would go) */
    ofs_store_sweep_stats swept; /* step 6: interrupted runs' debris removed (sweep.h) */
} ofs_prune_result;

/*
 * ofs_prune_run(store, ring, opts, &result): one run as above. *result (caller frees with
 * ofs_prune_result_free) is set whenever the store could be listed, also on a later failure,
 * so what was already deleted can be reported. Errors: the store's (listing, delete, the
 * manifest save), OFS_ERROR out of memory. A failure stops the run where it is; whatever it
 * leaves is a state the next run finishes.
 */
int ofs_prune_run(ofs_store *store, const ofs_keyring *ring, const ofs_prune_options *opts,
                  ofs_prune_result **result);

/*
 * ofs_prune_forget(store, ring, opts, id, &result): the same run (and the same delete path:
 * manifest first, then the record, then the data) for one named backup, whatever the policy:
 * every other backup is kept (reason held) and unfinished folders are left alone (no
 * orphans in result). OFS_ENOTFOUND "STORE: no backup 'ID'" when the store lacks it;
 * OFS_ECONFLICT naming the differentials of the store based on it, nothing changed. Of opts
 * only now, dry_run and probe_host are read. A write-only store gives delete_refused, a
 * record the store refuses to delete gives locked, as ofs_prune_run.
 */
int ofs_prune_forget(ofs_store *store, const ofs_keyring *ring, const ofs_prune_options *opts,
                     const char *id, ofs_prune_result **result);

void ofs_prune_result_free(ofs_prune_result *result);

#endif
