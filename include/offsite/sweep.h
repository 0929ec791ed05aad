/*
 * sweep.h - removing the debris interrupted runs leave where no listing shows it: temporary
 * files, unfinished uploads, empty folders of abandoned backups (ofs_store_sweep). Backup
 * sweeps staging; push, prune and verify --repair sweep the store they worked on.
 *
 * The cutoff says whose debris it can be. On a store only this host writes, under the lock
 * its command holds, nothing a live writer made is older than the run's start. On a target
 * other hosts push to, one of them may be writing right now: only what is older than
 * OFS_SWEEP_SHARED_GRACE goes (the grace prune gives other hosts' unfinished backups).
 */
#ifndef OFFSITE_SWEEP_H
#define OFFSITE_SWEEP_H

#include <stdint.h>

#include "offsite/manifest.h"
#include "offsite/store.h"

#define OFS_SWEEP_SHARED_GRACE (24 * 3600)

/*
 * ofs_sweep_shared(target, own, host): 1 if the target's manifest lists a backup of another
 * host than `host` and the hosts of own's backups (this host's staging manifest), else 0.
 * own and host may be NULL; a NULL target is 0.
 */
int ofs_sweep_shared(const ofs_manifest *target, const ofs_manifest *own, const char *host);

/*
 * ofs_sweep_cutoff(shared, run_start): the `before` for ofs_store_sweep: the end of the
 * second the run started in (run_start: real Unix seconds, time(NULL), not the testing clock:
 * file times and servers are real), or OFS_SWEEP_SHARED_GRACE before now if the store is
 * shared. Only for a run whose own writes are all finished or aborted when it sweeps.
 */
int64_t ofs_sweep_cutoff(int shared, int64_t run_start);

/*
 * ofs_sweep(store, before, &stats): ofs_store_sweep, with one log line naming the store and
 * what went. Debris never fails the run that finds it: a failure is logged as a warning and
 * 0 returned. stats may be NULL.
 */
int ofs_sweep(ofs_store *store, int64_t before, ofs_store_sweep_stats *stats);

#endif
