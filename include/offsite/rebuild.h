/*
 * rebuild.h - the plan of `offsite rebuild`: which backup of each set a clean machine restores
 * (its newest, or its newest started before a date) and what restoring it would change below
 * the target directory. The stores are chosen and the restores run by the command
 * (src/cli/cmd_rebuild.c) through restore.h; this module holds what does not depend on the
 * command line, so it can be tested alone.
 */
#ifndef OFFSITE_REBUILD_H
#define OFFSITE_REBUILD_H

#include <stdint.h>

#include "offsite/keyring.h"
#include "offsite/manifest.h"
#include "offsite/record.h"
#include "offsite/store.h"

/*
 * ofs_rebuild_choose(m, set, host, before): the entry of set that a rebuild restores: the
 * newest (by start, as ofs_manifest_latest) started before `before` (INT64_MAX: any). When
 * the store holds backups of set from this host (host not NULL) only those count, so a
 * prefix several hosts push to gives each host its own; else any host's. NULL if none.
 */
const ofs_manifest_entry *ofs_rebuild_choose(const ofs_manifest *m, const char *set,
                                             const char *host, int64_t before);

/* What restoring one backup would do to the entries it holds, by the restore dry run's
 * action names: create, replace, unchanged, remove (a mirror restore), anything else. */
typedef struct ofs_rebuild_counts {
    uint64_t create, replace, unchanged, remove, other;
} ofs_rebuild_counts;

/*
 * ofs_rebuild_preview(store, ring, rec, target_dir, parallel, spool_dir, &counts): a dry run
 * of restoring rec into target_dir (ofs_restore_run with dry_run: reads the catalog, spooled
 * in spool_dir as restore.h says, writes nothing else), counting each entry's action. The
 * restore's errors (OFS_EWRONGKEY, OFS_EAUTH, OFS_ENOTFOUND for a missing base ...).
 */
int ofs_rebuild_preview(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                        const char *target_dir, int parallel, const char *spool_dir,
                        ofs_rebuild_counts *counts);

/* ofs_rebuild_counts_add(sum, c): add c's counts to sum. */
void ofs_rebuild_counts_add(ofs_rebuild_counts *sum, const ofs_rebuild_counts *c);

#endif
