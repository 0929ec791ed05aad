/* backup_after.c - what `offsite backup` does around the backups themselves: which sets are
 * due (--scheduled), remembering results for `status`, notifications, verify_after, and the
 * record of the run that the OnFailure= handler reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/notify.h"
#include "offsite/runstate.h"
#include "offsite/schedule.h"
#include "offsite/verify.h"

int ofs_cli_backup_due(ofs_cli *cli, const ofs_config_set *set, const ofs_manifest *staging,
                       int64_t now, char *why, size_t size)
{
    ofs_schedule *schedule = NULL;
    const ofs_manifest_entry *e = staging ? ofs_manifest_latest(staging, set->name) : NULL;
    int64_t run = 0, next = 0;
    int due;

    if (ofs_config_schedule(cli->cfg, set, &schedule) < 0) {
        snprintf(why, size, "its schedule cannot be read (%s): backing up", ofs_error_last());
        return 1;
    }
    if (!ofs_schedule_count(schedule)) {
        snprintf(why, size, "no schedule: always due");
        due = 1;
    } else if (!e) {
        snprintf(why, size, "no backup yet");
        due = 1;
    } else {
        /* due when a scheduled run fell after the newest backup started (a holiday is none) */
        due = ofs_schedule_next(schedule, e->started, &run) == 0 && run <= now;
        char when[32];
        if (due) {
            ofs_time_format_iso(run, when, sizeof(when));
            snprintf(why, size, "run of %s is due", when);
        } else if (ofs_schedule_next(schedule, now, &next) == 0) {
            ofs_time_format_iso(next, when, sizeof(when));
            snprintf(why, size, "no run due (newest %s; next run %s)", e->id, when);
        } else {
            snprintf(why, size, "no run due (newest %s)", e->id);
        }
    }
    ofs_error_clear();
    ofs_schedule_free(schedule);
    return due;
}

void ofs_cli_backup_remember(ofs_cli *cli, const ofs_config_set *set, const ofs_record *rec,
                             const ofs_backup_stats *stats, int rc)
{
    char key[128], *saved = rc < 0 ? ofs_error_save() : NULL;
    json_t *entry = json_pack("{s:o, s:b, s:I, s:I, s:I, s:f}", "time",
                              ofs_json_time(ofs_clock_now()), "ok", rc == 0,
                              "files", (json_int_t)stats->files, "bytes",
                              (json_int_t)stats->bytes, "stored_bytes",
                              (json_int_t)stats->stored_bytes, "seconds", stats->seconds);
    if (entry) {
        json_object_set_new(entry, "id", rec ? json_string(rec->id) : json_null());
        json_object_set_new(entry, "message", saved ? json_string(saved) : json_null());
        json_object_set_new(entry, "changed_while_read",
                            json_integer((json_int_t)stats->changed_while_read));
    }
    if (ofs_runstate_put(cli->cfg->state_dir, "backups", set->name, entry) < 0)
        ofs_log_warn("%s", ofs_error_last());
    snprintf(key, sizeof(key), "backup_failed:%s", set->name);
    ofs_notify_fields fields = { .set = set->name, .message = saved };
    if (rc < 0) {
        cli->notified |= ofs_notify_problem(cli->cfg, key, "backup_failed", &fields, 1);
    } else {
        char ok[160];
        snprintf(ok, sizeof(ok), "backup of set '%s' succeeded again", set->name);
        fields.message = ok;
        ofs_notify_clear(cli->cfg, key, &fields);
    }
    ofs_error_restore(rc, saved);
    free(saved);
}

void ofs_cli_problem(ofs_cli *cli, const char *key, const char *event, int rc)
{
    char *saved = rc < 0 ? ofs_error_save() : NULL;
    ofs_notify_fields fields = { .message = saved };
    if (rc < 0) {
        cli->notified |= ofs_notify_problem(cli->cfg, key, event, &fields, 1);
    } else {
        fields.message = "succeeded again";
        ofs_notify_clear(cli->cfg, key, &fields);
    }
    ofs_error_restore(rc, saved);
    free(saved);
}

/* backup_verify_problem: verify's problems are logged as they are found. */
static void backup_verify_problem(void *ctx, const ofs_verify_problem *p)
{
    const char *store = ctx;
    ofs_log_error("verify_after: %s: %s%s%s%s%s", store, p->backup ? p->backup : "",
                  p->object ? ": " : "", p->object ? p->object : "", p->backup ? ": " : "",
                  p->message);
}

int ofs_cli_verify_after(ofs_cli *cli, const ofs_keyring *ring, ofs_store *staging,
                         json_t *backups)
{
    const ofs_config *cfg = cli->cfg;
    ofs_error_first first = { 0 };
    int targets = strcmp(cfg->verify_after, "targets") == 0;
    size_t checked = 0;

    if (strcmp(cfg->verify_after, "off") == 0 || json_array_size(backups) == 0)
        return 0;
    for (size_t i = 0; i <= (targets ? cfg->target_count : 0); i++) {
        ofs_store *store = staging;
        int rc = 0;
        if (i > 0 && (rc = ofs_cli_open_target(cli, cfg->targets[i - 1].name, &store)) < 0) {
            ofs_error_first_add(&first, rc);
            continue;
        }
        size_t k;
        json_t *b;
        json_array_foreach(backups, k, b) {
            const char *id = json_string_value(json_object_get(b, "id"));
            ofs_verify_stats stats = { 0 };
            if (!id)
                continue;
            rc = ofs_verify_backup(store, ring, id, 0, NULL, backup_verify_problem,
                                   (void *)ofs_store_name(store), &stats);
            checked++;
            if (rc < 0)
                ofs_error_first_add(&first, ofs_error_wrap(rc, "verify_after: %s: backup '%s'",
                                                           ofs_store_name(store), id));
        }
        if (i > 0)
            ofs_store_free(store);
    }
    int rc = ofs_error_first_end(&first, "%zu problems, the first", first.failures);
    if (rc == 0)
        ofs_cli_out(cli, "verify_after: %zu backup copies checked (%s): ok\n", checked,
                    targets ? "staging and every target" : "staging");
    return rc;
}

void ofs_cli_run_remember(ofs_cli *cli, int64_t started, int exit_code)
{
    const char *invocation = getenv("INVOCATION_ID"); /* set by systemd for the service */
    json_t *run = json_pack("{s:o, s:o, s:i, s:s, s:b}", "started", ofs_json_time(started),
                            "finished", ofs_json_time(ofs_clock_now()), "exit", exit_code,
                            "outcome", ofs_exit_name(exit_code), "notified", cli->notified);
    if (run)
        json_object_set_new(run, "invocation_id",
                            invocation && *invocation ? json_string(invocation) : json_null());
    char *saved = ofs_error_save();
    if (ofs_runstate_put(cli->cfg->state_dir, "run", "backup", run) < 0)
        ofs_log_warn("%s", ofs_error_last());
    ofs_error_restore(0, saved);
    free(saved);
}
