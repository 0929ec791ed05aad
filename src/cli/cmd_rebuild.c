/* cmd_rebuild.c - `offsite rebuild [--from T] [--before DATE] [--target DIR] [--yes]
 * [--dry-run]`: a clean machine's way back after a server died. The newest backup of every
 * configured set (or each set's newest started before DATE), found as restore finds one
 * (--from T, else staging if it holds the set's backups, else the first target that does),
 * planned first - one plan with what each restore would create or replace, from the restore
 * dry run - confirmed once on a terminal, restored set after set, and summed up with the
 * recovery point and recovery time as `drill` reports them. A wrong key stops everything
 * before anything is written; a set that fails is named and the others are still restored. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/rebuild.h"
#include "offsite/repo.h"
#include "offsite/restore.h"

enum { REBUILD_OPT_FROM = 300, REBUILD_OPT_BEFORE, REBUILD_OPT_TARGET, REBUILD_OPT_YES,
       REBUILD_OPT_DRY_RUN };

/* One configured set in the plan. */
typedef struct rebuild_set {
    const char *name;
    ofs_store *store;          /* where its backup is read from; owned by rebuild_run.stores */
    ofs_record *rec;           /* the backup to restore; NULL if none was found */
    ofs_rebuild_counts counts; /* what restoring it would change */
    int rc;                    /* why it cannot be (or was not) restored; 0 */
    char *error;               /* that message */
} rebuild_set;

typedef struct rebuild_run {
    ofs_cli *cli;
    const ofs_config *cfg;
    const ofs_keyring *ring;
    const char *from, *target, *before_text;
    int64_t before;            /* INT64_MAX: each set's newest */
    rebuild_set *sets;         /* one per configured set, in configuration order */
    ofs_store **stores;        /* the stores some set is read from */
    size_t store_count;
    char *spool_dir;           /* STATE_DIR/cache: restore's catalog spool */
} rebuild_run;

/* rebuild_fail(set, rc): the set cannot be restored; keep the current message. Returns rc. */
static int rebuild_fail(rebuild_set *set, int rc)
{
    free(set->error);
    set->error = ofs_error_save();
    set->rc = rc;
    return rc;
}

/* rebuild_keep_store(run, store): keep store open for the sets read from it. */
static int rebuild_keep_store(rebuild_run *run, ofs_store *store)
{
    ofs_store **bigger = realloc(run->stores, (run->store_count + 1) * sizeof(*bigger));
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    run->stores = bigger;
    run->stores[run->store_count++] = store;
    return 0;
}

/*
 * rebuild_from_store(run, store, &used): give each set not yet found its backup in store's
 * manifest. A key the key file lacks (OFS_EWRONGKEY) is returned at once: the repository is
 * bound to its key and nothing is restored; any other failure is returned for the caller
 * to report and look further.
 */
static int rebuild_from_store(rebuild_run *run, ofs_store *store, int *used)
{
    ofs_manifest *m = NULL;
    int rc;

    *used = 0;
    if ((rc = ofs_cli_load_manifest(run->cli, store, run->ring, &m)) < 0)
        return rc;
    for (size_t i = 0; i < run->cfg->set_count; i++) {
        rebuild_set *set = &run->sets[i];
        if (set->rec || set->rc)
            continue;
        const ofs_manifest_entry *e = ofs_rebuild_choose(m, set->name, run->cfg->host,
                                                         run->before);
        if (!e)
            continue;
        if ((rc = ofs_repo_load_record(store, run->ring, e->id, &set->rec, NULL, NULL)) < 0) {
            if (rc == OFS_EWRONGKEY)
                goto cleanup;
            rebuild_fail(set, ofs_error_wrap(rc, "set '%s': backup '%s' on %s", set->name,
                                             e->id, ofs_store_name(store)));
            rc = 0;
            continue;
        }
        set->store = store;
        *used = 1;
    }
cleanup:
    ofs_manifest_free(m);
    return rc;
}

/* rebuild_find(run): each set's backup: in --from T, else in staging (if this machine has
 * one) and then the targets in configuration order, the first store holding one (as restore
 * finds a backup). A set found nowhere fails with OFS_ENOTFOUND. */
static int rebuild_find(rebuild_run *run)
{
    size_t stores = run->from ? 1 : run->cfg->target_count + 1;
    char *unread = NULL; /* the first store that could not be read, for the not-found sets */
    int rc = 0, unread_code = 0;

    for (size_t i = 0; i < stores; i++) {
        ofs_store *s = NULL;
        int used = 0;
        size_t left = 0;
        for (size_t j = 0; j < run->cfg->set_count; j++)
            left += !run->sets[j].rec && !run->sets[j].rc;
        if (!left)
            break; /* no need to read the remaining targets */
        if (run->from)
            rc = ofs_cli_open_target(run->cli, run->from, &s);
        else if (i == 0)
            rc = ofs_cli_open_staging(run->cli, 0, &s);
        else
            rc = ofs_cli_open_target(run->cli, run->cfg->targets[i - 1].name, &s);
        if (rc == OFS_ENOTFOUND && !run->from && i == 0) {
            ofs_error_clear(); /* a clean machine has no staging */
            continue;
        }
        if (rc == 0)
            rc = rebuild_from_store(run, s, &used);
        if (rc == OFS_EWRONGKEY || (rc < 0 && run->from)) {
            ofs_store_free(s);
            goto cleanup;
        }
        if (rc < 0) {
            /* a damaged or unreachable store: say so, and look further */
            ofs_log_warn("%s", ofs_error_last());
            if (!unread) {
                unread = ofs_error_save();
                unread_code = rc;
            }
            used = 0;
        }
        if (!used)
            ofs_store_free(s);
        else if ((rc = rebuild_keep_store(run, s)) < 0) {
            ofs_store_free(s);
            goto cleanup;
        }
    }
    rc = 0;
    for (size_t i = 0; i < run->cfg->set_count; i++) {
        rebuild_set *set = &run->sets[i];
        if (set->rec || set->rc)
            continue;
        ofs_error_set(OFS_ENOTFOUND, "set '%s': no backup%s%s %s%s%s%s", set->name,
                      run->before_text ? " started before " : "",
                      run->before_text ? run->before_text : "",
                      run->from ? "on " : "in staging or on any target",
                      run->from ? run->from : "", unread ? "; not read: " : "",
                      unread ? unread : "");
        rebuild_fail(set, unread_code && !run->from ? unread_code : OFS_ENOTFOUND);
    }
cleanup:
    free(unread);
    return rc;
}

/* rebuild_counts_text(c, buf, size): "3 to create, 1 to replace, 7 unchanged". */
static void rebuild_counts_text(const ofs_rebuild_counts *c, char *buf, size_t size)
{
    const struct { uint64_t n; const char *what; } parts[] = {
        { c->create, "to create" }, { c->replace, "to replace" },
        { c->remove, "to remove" }, { c->unchanged, "unchanged" }, { c->other, "other" }
    };
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && used < size; i++)
        if (parts[i].n)
            used += (size_t)snprintf(buf + used, size - used, "%s%llu %s", used ? ", " : "",
                                     (unsigned long long)parts[i].n, parts[i].what);
    if (!used)
        snprintf(buf, size, "nothing");
}

static json_t *rebuild_error_json(const rebuild_set *set)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "set", set->name, "error",
                          set->error ? set->error : "", "code", ofs_error_name(set->rc));
    if (o && set->rec)
        json_object_set_new(o, "backup", json_string(set->rec->id));
    return o;
}

/* rebuild_plan(run, &total): preview every set found, print the plan and put it in --json's
 * "plan". A key the key file lacks is returned (nothing is restored); other failures fail
 * their set only. */
static int rebuild_plan(rebuild_run *run, ofs_rebuild_counts *total, size_t *ready)
{
    ofs_cli *cli = run->cli;
    json_t *plan = json_array();
    uint64_t entries = 0, bytes = 0;
    char size[32], counts[200], started[40];
    int rc;

    *ready = 0;
    memset(total, 0, sizeof(*total));
    for (size_t i = 0; i < run->cfg->set_count; i++) {
        rebuild_set *set = &run->sets[i];
        if (!set->rec)
            continue;
        rc = ofs_rebuild_preview(set->store, run->ring, set->rec, run->target,
                                 run->cfg->parallel, run->spool_dir, &set->counts);
        if (rc == OFS_EWRONGKEY) {
            json_decref(plan);
            return rc;
        }
        if (rc < 0)
            rebuild_fail(set, ofs_error_wrap(rc, "set '%s': backup '%s' on %s", set->name,
                                             set->rec->id, ofs_store_name(set->store)));
    }
    ofs_cli_out(cli, "rebuild plan: %zu %s into %s\n", run->cfg->set_count,
                run->cfg->set_count == 1 ? "set" : "sets", run->target);
    for (size_t i = 0; i < run->cfg->set_count; i++) {
        rebuild_set *set = &run->sets[i];
        if (set->rc) {
            ofs_cli_out(cli, "  %s: FAILED: %s\n", set->name, set->error);
            json_array_append_new(plan, rebuild_error_json(set));
            continue;
        }
        const ofs_record *rec = set->rec;
        ofs_format_size(rec->bytes, size, sizeof(size));
        rebuild_counts_text(&set->counts, counts, sizeof(counts));
        ofs_time_format_iso(rec->started, started, sizeof(started));
        ofs_cli_out(cli, "  %s: %s (%s%s), started %s, from %s: %llu %s (%s): %s\n",
                    set->name, rec->id, rec->base ? "differential of " : "full",
                    rec->base ? rec->base : "", started, ofs_store_name(set->store),
                    (unsigned long long)rec->files, rec->files == 1 ? "entry" : "entries",
                    size, counts);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I}",
                              "set", set->name, "backup", rec->id, "kind", rec->kind,
                              "store", ofs_store_name(set->store),
                              "started", ofs_json_time(rec->started),
                              "finished", ofs_json_time(rec->finished),
                              "entries", (json_int_t)rec->files, "bytes", (json_int_t)rec->bytes,
                              "create", (json_int_t)set->counts.create,
                              "replace", (json_int_t)set->counts.replace,
                              "unchanged", (json_int_t)set->counts.unchanged,
                              "remove", (json_int_t)set->counts.remove);
        if (o)
            json_object_set_new(o, "base", rec->base ? json_string(rec->base) : json_null());
        json_array_append_new(plan, o);
        ofs_rebuild_counts_add(total, &set->counts);
        entries += rec->files;
        bytes += rec->bytes;
        (*ready)++;
    }
    ofs_format_size(bytes, size, sizeof(size));
    rebuild_counts_text(total, counts, sizeof(counts));
    ofs_cli_out(cli, "  total: %zu of %zu %s, %llu %s (%s): %s\n", *ready, run->cfg->set_count,
                run->cfg->set_count == 1 ? "set" : "sets", (unsigned long long)entries,
                entries == 1 ? "entry" : "entries", size, counts);
    if (total->replace)
        ofs_cli_out(cli, "  what is replaced is moved into a safety area, "
                         ".offsite-pre-restore-TIME/ (INDEX.txt puts it back)\n");
    json_object_set_new(ofs_cli_result(cli), "plan", plan);
    return 0;
}

/* rebuild_confirm(run, total, ready): on a terminal, ask once; OFS_ECANCELED unless yes. */
static int rebuild_confirm(const rebuild_run *run, const ofs_rebuild_counts *total, size_t ready)
{
    char counts[200], answer[32];
    rebuild_counts_text(total, counts, sizeof(counts));
    fflush(stdout); /* the plan before the question, also through a pipe (| tee) */
    fprintf(stderr, "Restore %zu %s into %s (%s)? [y/N] ", ready, ready == 1 ? "set" : "sets",
            run->target, counts);
    fflush(stderr);
    if (fgets(answer, sizeof(answer), stdin)) {
        size_t n = strlen(answer);
        while (n && isspace((unsigned char)answer[n - 1]))
            answer[--n] = '\0';
        if (strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0)
            return 0;
    }
    return ofs_error_set(OFS_ECANCELED, "rebuild canceled: nothing restored");
}

/* rebuild_restore(run, set, n, ready, done_bytes, total_bytes, t0): restore one set; its
 * report (as drill's) on stdout and in --json's "results". */
static void rebuild_restore(rebuild_run *run, rebuild_set *set, size_t n, size_t ready,
                            uint64_t done_bytes, uint64_t total_bytes, double t0)
{
    ofs_cli *cli = run->cli;
    const ofs_config_set *cset = ofs_config_find_set(run->cfg, set->name);
    char label[300];
    /* what is in the way goes into the safety area, as with restore ([agent] safety_dir) */
    ofs_restore_options opts = { .target_dir = run->target, .parallel = run->cfg->parallel,
                                 .spool_dir = run->spool_dir,
                                 .show_progress = cli->show_progress,
                                 .safety_dir = run->cfg->safety_dir, .label = label,
                                 .roots = cset ? cset->paths : NULL,
                                 .root_count = cset ? cset->path_count : 0 };
    ofs_restore_stats stats = { 0 };
    ofs_cli_objectives none = { 0, 0, 0 };
    json_t *results = json_object_get(ofs_cli_result(cli), "results"), *o;
    char done[32], all[32];
    int missed = 0, rc;

    ofs_format_size(done_bytes, done, sizeof(done));
    ofs_format_size(total_bytes, all, sizeof(all));
    ofs_log_info("rebuild: set %zu of %zu, '%s': restoring %s from %s (%s of %s restored so "
                 "far)", n, ready, set->name, set->rec->id, ofs_store_name(set->store), done,
                 all);
    snprintf(label, sizeof(label), "rebuild, backup %s", set->rec->id);
    double start = ofs_clock_monotonic() - t0;
    if ((rc = ofs_restore_run(set->store, run->ring, set->rec, &opts, &stats)) < 0) {
        rebuild_fail(set, ofs_error_wrap(rc, "set '%s': restore of '%s' from %s", set->name,
                                         set->rec->id, ofs_store_name(set->store)));
        ofs_cli_out(cli, "rebuild %s: FAILED: %s\n", set->name, set->error);
        o = rebuild_error_json(set);
    } else {
        /* each set's recovery time counts from the rebuild's start: when it was back */
        ofs_cli_recovery r = { .verb = "rebuild", .set = set->name,
                               .store = ofs_store_name(set->store), .rec = set->rec,
                               .stats = &stats, .start_label = "restore started",
                               .start = start, .elapsed = ofs_clock_monotonic() - t0 };
        o = ofs_cli_recovery_report(cli, &r, &none, &missed);
        if (stats.safety_path[0]) {
            ofs_cli_out(cli, "rebuild %s: what was in the way is in %s (INDEX.txt puts it "
                        "back)\n", set->name, stats.safety_path);
            if (o)
                json_object_set_new(o, "safety_area", json_string(stats.safety_path));
        }
    }
    if (o && results)
        json_array_append_new(results, o);
    else
        json_decref(o);
}

/* rebuild_failed(run, names, size, &first): how many sets failed, their names ("'a', 'b'")
 * and the first of them. */
static size_t rebuild_failed(const rebuild_run *run, char *names, size_t size,
                             const rebuild_set **first)
{
    size_t failures = 0, used = 0;
    names[0] = '\0';
    *first = NULL;
    for (size_t i = 0; i < run->cfg->set_count; i++) {
        const rebuild_set *set = &run->sets[i];
        if (!set->rc)
            continue;
        if (!*first)
            *first = set;
        failures++;
        if (used < size)
            used += (size_t)snprintf(names + used, size - used, "%s'%s'", used ? ", " : "",
                                     set->name);
    }
    return failures;
}

/* rebuild_failure(run): 0 if every set is fine, else the first failure's code with a
 * message naming every failed set. */
static int rebuild_failure(const rebuild_run *run)
{
    const rebuild_set *first;
    char failed[512];
    size_t failures = rebuild_failed(run, failed, sizeof(failed), &first);
    json_object_set_new(ofs_cli_result(run->cli), "ok", json_boolean(failures == 0));
    if (!failures)
        return 0;
    if (failures == 1)
        return ofs_error_set(first->rc, "%s", first->error);
    return ofs_error_set(first->rc, "%zu of %zu sets failed (%s), the first: %s", failures,
                         run->cfg->set_count, failed, first->error);
}

/* rebuild_finish(run, elapsed): the summary, and rebuild_failure's answer. */
static int rebuild_finish(rebuild_run *run, double elapsed)
{
    ofs_cli *cli = run->cli;
    json_t *result = ofs_cli_result(cli);
    const rebuild_set *oldest = NULL, *first;
    ofs_cli_objectives none = { 0, 0, 0 };
    ofs_cli_verdict v;
    char failed[512];
    size_t restored = 0, failures = rebuild_failed(run, failed, sizeof(failed), &first);
    uint64_t bytes = 0;

    for (size_t i = 0; i < run->cfg->set_count; i++) {
        const rebuild_set *set = &run->sets[i];
        if (set->rc)
            continue;
        restored++;
        bytes += set->rec->bytes;
        if (!oldest || set->rec->finished < oldest->rec->finished)
            oldest = set;
    }
    char size[32];
    ofs_format_size(bytes, size, sizeof(size));
    ofs_cli_out(cli, "rebuild into %s: %zu of %zu %s restored (%s)%s%s\n", run->target,
                restored, run->cfg->set_count, run->cfg->set_count == 1 ? "set" : "sets", size,
                failures ? "; FAILED: " : "", failed);
    json_object_set_new(result, "restored", json_integer((json_int_t)restored));
    json_object_set_new(result, "failed", json_integer((json_int_t)failures));
    json_object_set_new(result, "recovery_time_seconds", json_real(elapsed));
    if (oldest) {
        /* the rebuilt machine is as old as its oldest set */
        int64_t age = ofs_cli_recovery_age(oldest->rec);
        ofs_cli_out(cli, "  oldest backup:  %s (set '%s')\n", oldest->rec->id, oldest->name);
        ofs_cli_recovery_print(cli, oldest->name, oldest->rec->started, age, elapsed, &none, &v);
        json_object_set_new(result, "recovery_point_age_seconds", json_integer(age));
    }
    return rebuild_failure(run);
}

int ofs_cmd_rebuild(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "from", required_argument, NULL, REBUILD_OPT_FROM },
        { "before", required_argument, NULL, REBUILD_OPT_BEFORE },
        { "target", required_argument, NULL, REBUILD_OPT_TARGET },
        { "yes", no_argument, NULL, REBUILD_OPT_YES },
        { "dry-run", no_argument, NULL, REBUILD_OPT_DRY_RUN },
        { NULL, 0, NULL, 0 }
    };
    rebuild_run run = { .cli = cli, .target = "/", .before = INT64_MAX };
    ofs_rebuild_counts total;
    const char *arg;
    size_t ready = 0;
    int index = 0, opt, rc, yes = 0, dry_run = 0;
    double t0 = ofs_clock_monotonic();

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        switch (opt) {
        case REBUILD_OPT_FROM: run.from = arg; break;
        case REBUILD_OPT_BEFORE: run.before_text = arg; break;
        case REBUILD_OPT_TARGET: run.target = arg; break;
        case REBUILD_OPT_YES: yes = 1; break;
        case REBUILD_OPT_DRY_RUN: dry_run = 1; break;
        }
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if (!*run.target)
        return ofs_cli_usage_error(cli, "--target needs a directory");
    if (run.before_text && (rc = ofs_cli_date(cli, "--before", run.before_text, &run.before)))
        return rc;
    if ((rc = ofs_cli_config(cli, &run.cfg)) < 0 || (rc = ofs_cli_key(cli, 1, &run.ring)) < 0)
        return rc;
    if (run.cfg->set_count == 0)
        return ofs_error_set(OFS_ENOTFOUND, "'%s' configures no set: nothing to rebuild",
                             run.cfg->path);
    if (!(run.sets = calloc(run.cfg->set_count, sizeof(*run.sets))) ||
        !(run.spool_dir = ofs_cli_cache_dir(run.cfg))) {
        free(run.sets);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    for (size_t i = 0; i < run.cfg->set_count; i++)
        run.sets[i].name = run.cfg->sets[i].name;
    json_t *result = ofs_cli_result(cli);
    json_object_set_new(result, "target", json_string(run.target));
    json_object_set_new(result, "from", run.from ? json_string(run.from) : json_null());
    json_object_set_new(result, "before", run.before_text ? ofs_json_time(run.before)
                                                          : json_null());
    json_object_set_new(result, "dry_run", json_boolean(dry_run));

    /* everything is found and previewed before anything is written */
    if ((rc = rebuild_find(&run)) < 0 || (rc = rebuild_plan(&run, &total, &ready)) < 0)
        goto cleanup;
    if (dry_run) {
        ofs_cli_out(cli, "dry run: nothing written\n");
        rc = rebuild_failure(&run);
        goto cleanup;
    }
    if (ready && !yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
        double asked = ofs_clock_monotonic();
        if ((rc = rebuild_confirm(&run, &total, ready)) < 0)
            goto cleanup;
        t0 += ofs_clock_monotonic() - asked; /* the operator's pause is no recovery time */
    }
    json_object_set_new(result, "results", json_array());
    uint64_t all = 0, done = 0;
    for (size_t i = 0; i < run.cfg->set_count; i++)
        all += run.sets[i].rc ? 0 : run.sets[i].rec->bytes;
    for (size_t i = 0, n = 0; i < run.cfg->set_count; i++) {
        rebuild_set *set = &run.sets[i];
        if (set->rc)
            continue;
        rebuild_restore(&run, set, ++n, ready, done, all, t0);
        done += set->rec->bytes;
    }
    rc = rebuild_finish(&run, ofs_clock_monotonic() - t0);
cleanup:
    for (size_t i = 0; run.sets && i < run.cfg->set_count; i++) {
        ofs_record_free(run.sets[i].rec);
        free(run.sets[i].error);
    }
    free(run.sets);
    for (size_t i = 0; i < run.store_count; i++)
        ofs_store_free(run.stores[i]);
    free(run.stores);
    free(run.spool_dir);
    return rc;
}
