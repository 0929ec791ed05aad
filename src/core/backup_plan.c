/* backup_plan.c - the choices a backup makes first (class; full or differential, and why)
 * and its dry run: what it would read, without reading or writing anything. See backup.h. */
#include "backup_internal.h"
#include "offsite/catalog.h"
#include "offsite/clock.h"
#include "offsite/config.h"
#include "offsite/diff.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/repo.h"
#include "offsite/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- class, and full or differential ---- */

const char *backup_choose_class(const char *time_zone, const ofs_manifest *m,
                                const char *set_name, int64_t started)
{
    const char *current = getenv("TZ");
    struct tm now, then;
    char now_week[16], then_week[16];
    int first_of_month = 1, first_of_week = 1;

    if (!time_zone)
        time_zone = "UTC";
    if (!current || strcmp(current, time_zone) != 0)
        setenv("TZ", time_zone, 1); /* before any worker thread exists */
    tzset();
    time_t t = (time_t)started;
    localtime_r(&t, &now);
    strftime(now_week, sizeof(now_week), "%G-%V", &now);
    for (size_t i = 0; i < m->count; i++) {
        const ofs_manifest_entry *e = &m->entries[i];
        if (!e->set || strcmp(e->set, set_name) != 0)
            continue;
        t = (time_t)e->started;
        localtime_r(&t, &then);
        strftime(then_week, sizeof(then_week), "%G-%V", &then);
        if (then.tm_year == now.tm_year && then.tm_mon == now.tm_mon)
            first_of_month = 0;
        if (strcmp(then_week, now_week) == 0)
            first_of_week = 0;
    }
    return first_of_month ? "monthly" : first_of_week ? "weekly" : "daily";
}

void backup_choose_base(const ofs_config_set *set, const ofs_backup_options *opts,
                        const char *class_name, const ofs_manifest *m, ofs_store *staging,
                        const ofs_keyring *ring, int64_t started, ofs_record **base, char *why,
                        size_t size)
{
    const ofs_manifest_entry *full = NULL;
    char every[32], age[32];
    *base = NULL;
    for (size_t i = 0; i < m->count; i++) /* oldest first: the last full wins */
        if (m->entries[i].set && strcmp(m->entries[i].set, set->name) == 0 &&
            m->entries[i].kind && strcmp(m->entries[i].kind, "full") == 0)
            full = &m->entries[i];
    ofs_format_duration(set->full_every, every, sizeof(every));
    if (full)
        ofs_format_duration(started - full->started, age, sizeof(age));
    if (opts && opts->full) {
        snprintf(why, size, "--full");
    } else if (strcmp(class_name, "daily") != 0) {
        snprintf(why, size, "the first backup of the %s is a %s backup, always full",
                 strcmp(class_name, "monthly") == 0 ? "month" : "week", class_name);
    } else if (!full) {
        snprintf(why, size, "staging holds no full backup of set '%s'", set->name);
    } else if (set->full_every <= 0) {
        snprintf(why, size, "full_every is 0");
    } else if (started - full->started > set->full_every) {
        snprintf(why, size, "the latest full '%s' is %s old, more than full_every (%s)",
                 full->id, age, every);
    } else if (ofs_repo_load_record(staging, ring, full->id, base, NULL, NULL) < 0) {
        snprintf(why, size, "the latest full '%s' cannot be used as a base: %s", full->id,
                 ofs_error_last());
        ofs_log_warn("full backup: %s", why);
        *base = NULL;
    } else {
        snprintf(why, size, "of the latest full '%s' (%s old, within full_every %s)", full->id,
                 age, every);
    }
}

/* ---- the dry run ---- */

typedef struct plan_walk {
    ofs_backup_plan *plan;
    ofs_diff_base *base;     /* NULL for a full backup */
} plan_walk;

static int plan_entry(void *ctx, const ofs_catalog_entry *e)
{
    plan_walk *w = ctx;
    ofs_backup_plan *p = w->plan;
    const ofs_catalog_entry *old = NULL;
    uint64_t passed = 0;
    ofs_diff_action action = OFS_DIFF_NEW;
    int rc;

    p->entries++;
    if (e->type == OFS_ENTRY_FILE) {
        p->files++;
        p->bytes += e->size;
    }
    if (w->base) {
        if ((rc = ofs_diff_base_seek(w->base, e->path, &old, &passed)) < 0)
            return rc;
        p->deleted += passed;
        action = ofs_diff_compare(e, old);
        switch (action) {
        case OFS_DIFF_NEW: p->new_entries++; break;
        case OFS_DIFF_UNCHANGED: p->unchanged++; break;
        case OFS_DIFF_CHANGED: p->changed++; break;
        case OFS_DIFF_GROWN: p->grown++; break;
        }
    }
    /* a grown file is read whole: its first bytes are checked against the base's SHA-256 */
    if (e->type == OFS_ENTRY_FILE && action != OFS_DIFF_UNCHANGED) {
        p->read_files++;
        p->read_bytes += e->size;
    }
    return 0;
}

int ofs_backup_dry_run(const ofs_config *cfg, const ofs_config_set *set, ofs_store *staging,
                       const ofs_keyring *ring, const ofs_backup_options *opts,
                       ofs_backup_plan *plan)
{
    ofs_manifest *manifest = NULL;
    ofs_record *base = NULL;
    ofs_catalog_reader *reader = NULL;
    ofs_scan_names *names = NULL;
    plan_walk walk = { .plan = plan };
    int64_t started = ofs_clock_now();
    int rc;

    memset(plan, 0, sizeof(*plan));
    if (staging)
        rc = backup_load_manifest(staging, ring, &manifest);
    else
        rc = ofs_manifest_new(&manifest); /* no staging yet: the first backup */
    if (rc < 0)
        goto cleanup;
    plan->class_name = backup_choose_class(cfg->time_zone, manifest, set->name, started);
    backup_choose_base(set, opts, plan->class_name, manifest, staging, ring, started, &base,
                       plan->why, sizeof(plan->why));
    if (base) {
        rc = ofs_repo_open_catalog(staging, ring, base, &reader);
        if (rc == 0) {
            rc = ofs_diff_base_new(&walk.base, reader);
            reader = NULL; /* the cursor's, even on failure */
        }
        if (rc < 0) {
            /* as the backup itself would: a base whose catalog cannot be read means a full */
            snprintf(plan->why, sizeof(plan->why), "the catalog of '%s' cannot be read: %s",
                     base->id, ofs_error_last());
            ofs_record_free(base);
            base = NULL;
        }
    }
    if (base && !(plan->base_id = strdup(base->id))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = ofs_scan_names_new(&names)) < 0 ||
        (rc = ofs_scan_walk(set->paths, set->path_count, set->excludes, set->exclude_count,
                            names, plan_entry, &walk, NULL)) < 0)
        goto cleanup;
    if (walk.base) {
        uint64_t passed = 0;
        if ((rc = ofs_diff_base_rest(walk.base, &passed)) < 0)
            goto cleanup;
        plan->deleted += passed;
    }
cleanup:
    if (rc < 0) {
        free(plan->base_id);
        plan->base_id = NULL;
    }
    ofs_diff_base_free(walk.base);
    ofs_catalog_reader_free(reader);
    ofs_scan_names_free(names);
    ofs_record_free(base);
    ofs_manifest_free(manifest);
    return rc;
}

void ofs_backup_plan_free(ofs_backup_plan *plan)
{
    if (!plan)
        return;
    free(plan->base_id);
    plan->base_id = NULL;
}
