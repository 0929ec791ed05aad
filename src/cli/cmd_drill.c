/* cmd_drill.c - `offsite drill [--set S] [--from T] [--rpo D] [--rto D] [--target DIR]
 * [--keep]`: the recovery drill DESIGN.md asks for. For each set: find its newest backup the
 * way a clean machine would (staging, else the first target holding it, or --from), restore
 * it whole into a scratch directory (every file checked against its SHA-256), and report the
 * recovery point age and the recovery time against the targets. Exit 0 when every drill
 * restored and met its targets, 17 (OFS_EXIT_MISSED) when an objective was missed, the
 * error's code otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/text.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "offsite/notify.h"
#include "offsite/restore.h"
#include "offsite/runstate.h"

enum { DRILL_OPT_SET = 300, DRILL_OPT_FROM, DRILL_OPT_RPO, DRILL_OPT_RTO, DRILL_OPT_TARGET,
       DRILL_OPT_KEEP };

/* drill_remember(cli, set, o, missed_or_failed): keep the drill's result for status and the
 * Prometheus file, and tell the notifiers when a drill missed (or recovered). */
static void drill_remember(ofs_cli *cli, const char *set, json_t *o, int bad)
{
    char key[128];
    json_t *kept = o ? json_deep_copy(o) : NULL;
    char *saved = ofs_error_save();
    if (kept) {
        json_object_set_new(kept, "time", ofs_json_time(ofs_clock_now()));
        json_object_set_new(kept, "ok", json_boolean(!bad));
        json_object_del(kept, "set");
    }
    if (ofs_runstate_put(cli->cfg->state_dir, "drills", set, kept) < 0)
        ofs_log_warn("%s", ofs_error_last());
    snprintf(key, sizeof(key), "drill_missed:%s", set);
    const char *message = json_string_value(json_object_get(o, "error"));
    ofs_notify_fields fields = { .set = set, .message = message ? message
                                 : "recovery point or time objective missed" };
    if (bad) {
        (void)ofs_notify_problem(cli->cfg, key, "drill_missed", &fields, 1);
    } else {
        fields.message = "drill met its objectives again";
        ofs_notify_clear(cli->cfg, key, &fields);
    }
    ofs_error_restore(0, saved);
    free(saved);
}

/* drill_one(cli, set, from, targets, scratch, keep, ring, &missed): one set's drill. */
static int drill_one(ofs_cli *cli, const char *set, const char *from, const ofs_cli_objectives *t,
                     const char *scratch, int keep, int parallel, const ofs_keyring *ring,
                     int *missed)
{
    ofs_restore_options opts = { 0 };
    ofs_restore_stats stats = { 0 };
    ofs_store *store = NULL;
    ofs_record *rec = NULL;
    char *dir = NULL, *spool = NULL;
    double t0 = ofs_clock_monotonic();
    int rc;

    if ((rc = ofs_cli_find_backup(cli, from, NULL, set, 1, ring, &store, &rec)) < 0)
        goto cleanup;
    if (!(dir = ofs_path_join(scratch, rec->id))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = ofs_rm_rf(dir)) < 0)
        goto cleanup;
    opts.target_dir = dir;
    opts.show_progress = cli->show_progress;
    opts.overwrite = 1; /* a fresh scratch directory: nothing to keep */
    opts.parallel = parallel;
    if (!(spool = ofs_cli_cache_dir(cli->cfg))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    opts.spool_dir = spool;
    double t_find = ofs_clock_monotonic() - t0;
    if ((rc = ofs_restore_run(store, ring, rec, &opts, &stats)) < 0) {
        rc = ofs_error_wrap(rc, "drill of set '%s': restore of '%s' from %s", set, rec->id,
                            ofs_store_name(store));
        goto cleanup;
    }
    /* the recovery time is what a clean machine waits: finding, fetching and restoring */
    ofs_cli_recovery r = { .verb = "drill", .set = set, .store = ofs_store_name(store),
                           .rec = rec, .stats = &stats, .start_label = "backup found",
                           .start = t_find, .elapsed = ofs_clock_monotonic() - t0 };
    int was_missed = 0;
    json_t *o = ofs_cli_recovery_report(cli, &r, t, &was_missed);
    if (was_missed)
        *missed = 1;
    drill_remember(cli, set, o, was_missed);
    json_t *list = json_object_get(ofs_cli_result(cli), "drills");
    if (o && list)
        json_array_append_new(list, o);
    else
        json_decref(o);
    if (keep)
        ofs_cli_out(cli, "  kept in %s\n", dir);
cleanup:
    if (dir && !keep)
        ofs_rm_rf(dir);
    free(dir);
    free(spool);
    ofs_record_free(rec);
    ofs_store_free(store);
    return rc;
}

int ofs_cmd_drill(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "set", required_argument, NULL, DRILL_OPT_SET },
        { "from", required_argument, NULL, DRILL_OPT_FROM },
        { "rpo", required_argument, NULL, DRILL_OPT_RPO },
        { "rto", required_argument, NULL, DRILL_OPT_RTO },
        { "target", required_argument, NULL, DRILL_OPT_TARGET },
        { "keep", no_argument, NULL, DRILL_OPT_KEEP },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *set = NULL, *from = NULL, *target = NULL;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring = NULL;
    ofs_cli_objectives t = { 0, 0, 0 };
    char *scratch = NULL, stamp[32];
    int index = 0, opt, rc, keep = 0, missed = 0, first_code = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        switch (opt) {
        case DRILL_OPT_SET: set = arg; break;
        case DRILL_OPT_FROM: from = arg; break;
        case DRILL_OPT_TARGET: target = arg; break;
        case DRILL_OPT_KEEP: keep = 1; break;
        case DRILL_OPT_RPO:
        case DRILL_OPT_RTO: {
            char *end = NULL;
            long runs = strtol(arg, &end, 10);
            end += strspn(end, " ");
            if (opt == DRILL_OPT_RPO && end != arg && runs > 0 && runs <= 1000 &&
                (strcmp(end, "run") == 0 || strcmp(end, "runs") == 0)) {
                t.rpo_runs = (int)runs;
                break;
            }
            if (ofs_parse_duration(arg, opt == DRILL_OPT_RPO ? &t.rpo : &t.rto) < 0)
                return ofs_cli_usage_error(cli, "--%s: %s", opt == DRILL_OPT_RPO ? "rpo" : "rto",
                                           ofs_error_last());
            break;
        }
        }
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 1, &ring)) < 0)
        return rc;
    if (set && !ofs_config_find_set(cfg, set))
        return ofs_error_set(OFS_ENOTFOUND, "no set '%s' in '%s'", set, cfg->path);
    /* the scratch directory: --target, else a fresh folder under the state directory */
    ofs_time_format_compact(ofs_clock_now(), stamp, sizeof(stamp));
    if (target)
        scratch = strdup(target);
    else {
        char name[64];
        snprintf(name, sizeof(name), "drill-%s", stamp);
        scratch = ofs_path_join(cfg->state_dir, name);
    }
    if (!scratch)
        return ofs_error_set(OFS_ERROR, "out of memory");
    if ((rc = ofs_mkdir_p(scratch, 0700)) < 0)
        goto cleanup;
    json_object_set_new(ofs_cli_result(cli), "drills", json_array());
    for (size_t i = 0; i < cfg->set_count; i++) {
        const char *name = cfg->sets[i].name;
        if (set && strcmp(set, name) != 0)
            continue;
        if ((rc = drill_one(cli, name, from, &t, scratch, keep, cfg->parallel, ring, &missed)) < 0) {
            /* one set's failure must not hide the others' results */
            ofs_log_error("%s", ofs_error_last());
            json_t *list = json_object_get(ofs_cli_result(cli), "drills");
            json_t *o = json_pack("{s:s, s:s, s:s}", "set", name, "error", ofs_error_last(),
                                  "code", ofs_error_name(rc));
            drill_remember(cli, name, o, 1);
            if (o && list)
                json_array_append_new(list, o);
            else
                json_decref(o);
            if (!first_code)
                first_code = rc;
        }
    }
    rc = first_code ? ofs_error_exit_code(first_code) : missed ? OFS_EXIT_MISSED : 0;
    json_object_set_new(ofs_cli_result(cli), "ok", json_boolean(rc == 0));
cleanup:
    if (!keep && !target && scratch)
        rmdir(scratch); /* empty once every drill removed its restore */
    free(scratch);
    return rc;
}
