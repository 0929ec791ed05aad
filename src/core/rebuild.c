/* rebuild.c - choosing each set's backup for a rebuild and previewing its restore; see
 * rebuild.h. */
#include "offsite/rebuild.h"
#include "offsite/error.h"
#include "offsite/restore.h"

#include <pthread.h>
#include <string.h>

const ofs_manifest_entry *ofs_rebuild_choose(const ofs_manifest *m, const char *set,
                                             const char *host, int64_t before)
{
    int ours = 0;
    /* a prefix several hosts share: this host's backups, if it has any there */
    for (size_t i = 0; host && i < m->count && !ours; i++)
        ours = strcmp(m->entries[i].set, set) == 0 && m->entries[i].host &&
               strcmp(m->entries[i].host, host) == 0;
    /* entries are sorted by start, oldest first */
    for (size_t i = m->count; i > 0; i--) {
        const ofs_manifest_entry *e = &m->entries[i - 1];
        if (strcmp(e->set, set) != 0 || e->started >= before)
            continue;
        if (ours && (!e->host || strcmp(e->host, host) != 0))
            continue;
        return e;
    }
    return NULL;
}

typedef struct rebuild_tally {
    ofs_rebuild_counts *counts;
    pthread_mutex_t lock; /* the restore may report from its workers' threads */
} rebuild_tally;

static void rebuild_on_entry(void *ctx, const char *path, const char *action)
{
    rebuild_tally *t = ctx;
    (void)path;
    pthread_mutex_lock(&t->lock);
    if (strcmp(action, "create") == 0)
        t->counts->create++;
    else if (strcmp(action, "replace") == 0)
        t->counts->replace++;
    else if (strcmp(action, "unchanged") == 0)
        t->counts->unchanged++;
    else if (strcmp(action, "remove") == 0)
        t->counts->remove++;
    else
        t->counts->other++;
    pthread_mutex_unlock(&t->lock);
}

int ofs_rebuild_preview(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                        const char *target_dir, int parallel, const char *spool_dir,
                        ofs_rebuild_counts *counts)
{
    rebuild_tally tally = { .counts = counts, .lock = PTHREAD_MUTEX_INITIALIZER };
    ofs_restore_options opts = { .target_dir = target_dir, .dry_run = 1, .parallel = parallel,
                                 .spool_dir = spool_dir,
                                 .on_entry = rebuild_on_entry, .ctx = &tally };
    memset(counts, 0, sizeof(*counts));
    return ofs_restore_run(store, ring, rec, &opts, NULL);
}

void ofs_rebuild_counts_add(ofs_rebuild_counts *sum, const ofs_rebuild_counts *c)
{
    sum->create += c->create;
    sum->replace += c->replace;
    sum->unchanged += c->unchanged;
    sum->remove += c->remove;
    sum->other += c->other;
}
