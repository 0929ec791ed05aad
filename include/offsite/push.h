/*
 * push.h - replicate committed backups from one store (staging) to another (a target).
 *
 * Backups are pushed oldest first (a differential never arrives before its base). For each
 * backup the target lacks: every data object (volumes, catalog) is copied unless already
 * present with the recorded size (and, on stores with cheap reads, the recorded SHA-256);
 * then backup.json; then the target's manifest is updated. Idempotent and resumable: an
 * interrupted push leaves at most data objects without a record, and the next push skips what
 * already arrived. A backup older than the target's newest backup of the same set that the
 * target's manifest no longer lists is not sent again (backups_superseded): the target's own
 * prune removed it, and re-sending would undo the target's retention on every push.
 * A push that leaves nothing unsent then sweeps the target (sweep.h): what earlier runs left
 * unfinished there - since this run's start, or a day on a target other hosts push to.
 */
#ifndef OFFSITE_PUSH_H
#define OFFSITE_PUSH_H

#include "offsite/keyring.h"
#include "offsite/store.h"

typedef struct ofs_push_stats {
    uint64_t backups_pushed, backups_present, backups_superseded, objects_copied,
        objects_skipped, bytes_copied;
    uint64_t objects_checked, objects_repaired; /* OFS_PUSH_REPAIR: read back, sent again */
    ofs_store_sweep_stats swept; /* debris of interrupted runs removed after a full push */
    double seconds;
} ofs_push_stats;

enum {
    OFS_PUSH_PROGRESS = 1 << 0, /* a progress bar on stderr */
    /* also read back every object of the backups the target holds already, and send again
     * from `from` each one missing or whose size or SHA-256 disagrees with from's record
     * (a volume replaced by garbage, a truncated copy): objects_checked, objects_repaired */
    OFS_PUSH_REPAIR = 1 << 1
};

/* ofs_push_run(from, to, ring, flags, &stats): flags OFS_PUSH_* */
int ofs_push_run(ofs_store *from, ofs_store *to, const ofs_keyring *ring, unsigned flags,
                 ofs_push_stats *stats);

#endif
