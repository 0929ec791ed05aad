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
#include "offsite/schedule.h"

enum { DRILL_OPT_SET = 300, DRILL_OPT_FROM, DRILL_OPT_RPO, DRILL_OPT_RTO, DRILL_OPT_TARGET,
       DRILL_OPT_KEEP };

typedef struct drill_targets {
    int64_t rpo, rto; /* seconds; 0 = not checked */
    int rpo_runs;     /* --rpo 1run: at most this many scheduled runs old (0: rpo is seconds) */
} drill_targets;

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
static int drill_one(ofs_cli *cli, const char *set, const char *from, const drill_targets *t,
                     const char *scratch, int keep, int parallel, const ofs_keyring *ring,
                     int *missed)
{
    ofs_restore_options opts = { 0 };
    ofs_restore_stats stats = { 0 };
    ofs_store *store = NULL;
    ofs_record *rec = NULL;
    char *dir = NULL, age_text[64], rpo_text[64] = "-", rto_text[64] = "-", seconds[32], bytes[32];
    double t0 = ofs_clock_monotonic(), elapsed;
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
    double t_find = ofs_clock_monotonic() - t0;
    if ((rc = ofs_restore_run(store, ring, rec, &opts, &stats)) < 0) {
        rc = ofs_error_wrap(rc, "drill of set '%s': restore of '%s' from %s", set, rec->id,
                            ofs_store_name(store));
        goto cleanup;
    }
    /* the recovery time is what a clean machine waits: finding, fetching and restoring */
    elapsed = ofs_clock_monotonic() - t0;
    int64_t age = ofs_clock_now() - (rec->finished ? rec->finished : rec->started);
    if (age < 0)
        age = 0;
    int rpo_ok = !t->rpo || age <= t->rpo, rto_ok = !t->rto || elapsed <= (double)t->rto;
    unsigned runs_old = 0;
    if (t->rpo_runs) {
        /* in scheduled runs: weekends and holidays do not age a backup */
        ofs_schedule *schedule = NULL;
        if (ofs_config_schedule(cli->cfg, ofs_config_find_set(cli->cfg, set), &schedule) == 0)
            runs_old = ofs_schedule_missed(schedule, rec->started, ofs_clock_now(),
                                           cli->cfg->run_grace);
        ofs_schedule_free(schedule);
        rpo_ok = runs_old < (unsigned)t->rpo_runs;
    }
    if (!rpo_ok || !rto_ok)
        *missed = 1;
    ofs_format_duration(age, age_text, sizeof(age_text));
    if (t->rpo_runs)
        snprintf(rpo_text, sizeof(rpo_text), "%d run%s; %u run%s missed since", t->rpo_runs,
                 t->rpo_runs == 1 ? "" : "s", runs_old, runs_old == 1 ? "" : "s");
    else if (t->rpo)
        ofs_format_duration(t->rpo, rpo_text, sizeof(rpo_text));
    if (t->rto)
        ofs_format_duration(t->rto, rto_text, sizeof(rto_text));
    ofs_format_seconds(elapsed, seconds, sizeof(seconds));
    ofs_format_size(stats.bytes, bytes, sizeof(bytes));
    ofs_cli_out(cli, "drill %s: restored %s from %s: %llu %s (%s), every one matched its "
                "SHA-256\n  recovery point: %s old (target %s): %s\n  recovery time:  %s "
                "(target %s): %s\n", set, rec->id, ofs_store_name(store),
                (unsigned long long)stats.files, ofs_text_plural(stats.files, "file", "files"),
                bytes, age_text, rpo_text,
                t->rpo || t->rpo_runs ? (rpo_ok ? "ok" : "MISSED") : "not checked", seconds,
                rto_text,
                t->rto ? (rto_ok ? "ok" : "MISSED") : "not checked");
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:b, s:b}", "set", set,
                          "backup", rec->id, "store", ofs_store_name(store),
                          "files", (json_int_t)stats.files, "bytes", (json_int_t)stats.bytes,
                          "recovery_point_age_seconds", (json_int_t)age,
                          "recovery_time_seconds", elapsed, "rpo_ok", rpo_ok, "rto_ok", rto_ok);
    /* the restore's phases overlap: a timeline from the start, then the volume workers' busy
     * times summed (they wait for data: download, decryption, decompression; or write) */
    double first_byte = stats.first_byte > 0 ? t_find + stats.first_byte : 0;
    double volumes = t_find + stats.volumes, durable = t_find + stats.seconds;
    double dirs = durable - stats.sync_wait;
    ofs_cli_out(cli, "  timeline:       backup found %.2f s, first byte written %.2f s, volumes "
                "done %.2f s, directories done %.2f s, durable %.2f s\n  volume workers: "
                "waiting for data %.2f s, writing files %.2f s (summed)\n", t_find, first_byte,
                volumes, dirs, durable, stats.fetch_busy, stats.write_busy);
    json_t *phases = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "found_seconds", t_find,
                               "first_byte_seconds", first_byte, "volumes_done_seconds", volumes,
                               "directories_done_seconds", dirs, "durable_seconds", durable,
                               "fetch_busy_seconds", stats.fetch_busy,
                               "write_busy_seconds", stats.write_busy);
    if (o && phases)
        json_object_set_new(o, "phases", phases);
    else
        json_decref(phases);
    if (o && t->rpo_runs)
        json_object_set_new(o, "runs_missed", json_integer(runs_old));
    drill_remember(cli, set, o, !rpo_ok || !rto_ok);
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
    drill_targets t = { 0, 0, 0 };
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
