/* recovery.c - what `drill` and `rebuild` report of a restore: the recovery point and the
 * recovery time against the objectives, and where the time went (see cli.h). One place, so
 * a drill's rehearsal and a real rebuild read the same. */
#include <stdio.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/config.h"
#include "offsite/restore.h"
#include "offsite/schedule.h"
#include "offsite/text.h"

void ofs_cli_recovery_print(ofs_cli *cli, const char *set, int64_t started, int64_t age,
                            double elapsed, const ofs_cli_objectives *t, ofs_cli_verdict *v)
{
    char age_text[64], rpo_text[64] = "-", rto_text[64] = "-", seconds[32];

    v->rpo_ok = !t->rpo || age <= t->rpo;
    v->rto_ok = !t->rto || elapsed <= (double)t->rto;
    v->runs_missed = 0;
    if (t->rpo_runs) {
        /* in scheduled runs: weekends and holidays do not age a backup */
        ofs_schedule *schedule = NULL;
        if (ofs_config_schedule(cli->cfg, ofs_config_find_set(cli->cfg, set), &schedule) == 0)
            v->runs_missed = ofs_schedule_missed(schedule, started, ofs_clock_now(),
                                                 cli->cfg->run_grace);
        ofs_schedule_free(schedule);
        v->rpo_ok = v->runs_missed < (unsigned)t->rpo_runs;
    }
    ofs_format_duration(age, age_text, sizeof(age_text));
    if (t->rpo_runs)
        snprintf(rpo_text, sizeof(rpo_text), "%d run%s; %u run%s missed since", t->rpo_runs,
                 t->rpo_runs == 1 ? "" : "s", v->runs_missed, v->runs_missed == 1 ? "" : "s");
    else if (t->rpo)
        ofs_format_duration(t->rpo, rpo_text, sizeof(rpo_text));
    if (t->rto)
        ofs_format_duration(t->rto, rto_text, sizeof(rto_text));
    ofs_format_seconds(elapsed, seconds, sizeof(seconds));
    ofs_cli_out(cli, "  recovery point: %s old (target %s): %s\n  recovery time:  %s (target "
                "%s): %s\n", age_text, rpo_text,
                t->rpo || t->rpo_runs ? (v->rpo_ok ? "ok" : "MISSED") : "not checked", seconds,
                rto_text, t->rto ? (v->rto_ok ? "ok" : "MISSED") : "not checked");
}

int64_t ofs_cli_recovery_age(const ofs_record *rec)
{
    int64_t age = ofs_clock_now() - (rec->finished ? rec->finished : rec->started);
    return age < 0 ? 0 : age;
}

json_t *ofs_cli_recovery_report(ofs_cli *cli, const ofs_cli_recovery *r,
                                const ofs_cli_objectives *t, int *missed)
{
    const ofs_restore_stats *stats = r->stats;
    ofs_cli_verdict v;
    char bytes[32];
    int64_t age = ofs_cli_recovery_age(r->rec);

    ofs_format_size(stats->bytes, bytes, sizeof(bytes));
    ofs_cli_out(cli, "%s %s: restored %s from %s: %llu %s (%s), every one matched its "
                "SHA-256\n", r->verb, r->set, r->rec->id, r->store,
                (unsigned long long)stats->files,
                ofs_text_plural(stats->files, "file", "files"), bytes);
    ofs_cli_recovery_print(cli, r->set, r->rec->started, age, r->elapsed, t, &v);
    if (!v.rpo_ok || !v.rto_ok)
        *missed = 1;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:b, s:b}", "set", r->set,
                          "backup", r->rec->id, "store", r->store,
                          "files", (json_int_t)stats->files, "bytes", (json_int_t)stats->bytes,
                          "recovery_point_age_seconds", (json_int_t)age,
                          "recovery_time_seconds", r->elapsed, "rpo_ok", v.rpo_ok,
                          "rto_ok", v.rto_ok);
    /* the restore's phases overlap: a timeline from the start, then the volume workers' busy
     * times summed (they wait for data: download, decryption, decompression; or write) */
    double first_byte = stats->first_byte > 0 ? r->start + stats->first_byte : 0;
    double volumes = r->start + stats->volumes, durable = r->start + stats->seconds;
    double dirs = durable - stats->sync_wait;
    ofs_cli_out(cli, "  timeline:       %s %.2f s, first byte written %.2f s, volumes "
                "done %.2f s, directories done %.2f s, durable %.2f s\n  volume workers: "
                "waiting for data %.2f s, writing files %.2f s (summed)\n", r->start_label,
                r->start, first_byte, volumes, dirs, durable, stats->fetch_busy,
                stats->write_busy);
    json_t *phases = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "found_seconds", r->start,
                               "first_byte_seconds", first_byte, "volumes_done_seconds", volumes,
                               "directories_done_seconds", dirs, "durable_seconds", durable,
                               "fetch_busy_seconds", stats->fetch_busy,
                               "write_busy_seconds", stats->write_busy);
    if (o && phases)
        json_object_set_new(o, "phases", phases);
    else
        json_decref(phases);
    if (o && t->rpo_runs)
        json_object_set_new(o, "runs_missed", json_integer(v.runs_missed));
    return o;
}
