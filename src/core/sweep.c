/*
 * sweep.c - see sweep.h.
 */
#include "offsite/sweep.h"

#include <string.h>
#include <time.h>

#include "offsite/error.h"
#include "offsite/log.h"

static int sweep_host_in(const ofs_manifest *m, const char *host)
{
    for (size_t i = 0; m && i < m->count; i++)
        if (m->entries[i].host && host && strcmp(m->entries[i].host, host) == 0)
            return 1;
    return 0;
}

int ofs_sweep_shared(const ofs_manifest *target, const ofs_manifest *own, const char *host)
{
    for (size_t i = 0; target && i < target->count; i++) {
        const char *h = target->entries[i].host;
        if (h && !(host && strcmp(h, host) == 0) && !sweep_host_in(own, h))
            return 1;
    }
    return 0;
}

int64_t ofs_sweep_cutoff(int shared, int64_t run_start)
{
    int64_t grace = (int64_t)time(NULL) - OFS_SWEEP_SHARED_GRACE;
    /* the whole second the run began: a run killed just before it is no live writer */
    return shared && grace < run_start ? grace : run_start + 1;
}

int ofs_sweep(ofs_store *store, int64_t before, ofs_store_sweep_stats *stats)
{
    ofs_store_sweep_stats local;
    if (!stats)
        stats = &local;
    if (ofs_store_sweep(store, before, stats) < 0) {
        ofs_log_warn("could not remove what interrupted runs left: %s", ofs_error_last());
        ofs_error_clear();
        return 0;
    }
    if (stats->objects || stats->folders)
        ofs_log_info("%s: removed %llu temporary object%s (%llu bytes) and %llu empty backup "
                     "folder%s left by interrupted runs", ofs_store_name(store),
                     (unsigned long long)stats->objects, stats->objects == 1 ? "" : "s",
                     (unsigned long long)stats->bytes, (unsigned long long)stats->folders,
                     stats->folders == 1 ? "" : "s");
    return 0;
}
