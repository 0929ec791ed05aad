/*
 * backup_internal.h - what a backup (backup.c) and its dry run (backup_plan.c) share: the
 * manifest they start from and the two choices every backup makes first.
 */
#ifndef OFFSITE_BACKUP_INTERNAL_H
#define OFFSITE_BACKUP_INTERNAL_H

#include "offsite/backup.h"
#include "offsite/manifest.h"

#define BACKUP_WHY_MAX 256

/* backup_load_manifest(staging, ring, &m): staging's manifest: empty if there is none, rebuilt
 * from the records (with a warning) if it is damaged; OFS_EWRONGKEY if it or a record was
 * written with a key the ring lacks. */
int backup_load_manifest(ofs_store *staging, const ofs_keyring *ring, ofs_manifest **m);

/* backup_choose_class(time_zone, m, set_name, started): "monthly" for the set's first backup
 * of a calendar month, "weekly" for its first of an ISO week, else "daily", in time_zone
 * (sets TZ: call before any thread starts). */
const char *backup_choose_class(const char *time_zone, const ofs_manifest *m,
                                const char *set_name, int64_t started);

/*
 * backup_choose_base(set, opts, class_name, m, staging, ring, started, &base, why, size): the
 * base of a differential (its record, caller frees), or NULL for a full backup - with --full,
 * a weekly or monthly class, no full of the set in m, full_every 0 or older than it, or a
 * base whose record cannot be read (logged as a warning). why says which, in words ("the
 * latest full 'ID' is older than full_every (7d)").
 */
void backup_choose_base(const ofs_config_set *set, const ofs_backup_options *opts,
                        const char *class_name, const ofs_manifest *m, ofs_store *staging,
                        const ofs_keyring *ring, int64_t started, ofs_record **base, char *why,
                        size_t size);

#endif
