/* cmd_push.c - `offsite push [--target T]`, and the push step `offsite backup` ends with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/clock.h"
#include "offsite/text.h"
#include "offsite/log.h"
#include "offsite/notify.h"
#include "offsite/push.h"
#include "offsite/runstate.h"

enum { PUSH_OPT_TARGET = 300, PUSH_OPT_REPAIR };

/* push_remember(cli, name, entry, rc): keep the result for `status` (runstate.h) and tell
 * the notifiers: every failed push, and the first success after one ("recovered"). */
static void push_remember(ofs_cli *cli, const char *name, json_t *entry, int rc)
{
    char key[128], *saved = rc < 0 ? ofs_error_save() : NULL;
    ofs_notify_fields fields = { .target = name, .message = saved };
    json_t *kept = entry ? json_deep_copy(entry) : NULL;
    if (kept) {
        json_object_set_new(kept, "time", ofs_json_time(ofs_clock_now()));
        json_object_del(kept, "target");
        if (ofs_runstate_put(cli->cfg->state_dir, "targets", name, kept) < 0)
            ofs_log_warn("%s", ofs_error_last());
    }
    snprintf(key, sizeof(key), "push_failed:%s", name);
    char ok[160];
    snprintf(ok, sizeof(ok), "push to target '%s' succeeded again", name);
    if (rc < 0) {
        cli->notified |= ofs_notify_problem(cli->cfg, key, "push_failed", &fields, 1);
    } else {
        fields.message = ok;
        ofs_notify_clear(cli->cfg, key, &fields);
    }
    ofs_error_restore(rc, saved);
    free(saved);
}

/* push_one(cli, staging, ring, name, repair, pushes): push to one target and report it. */
static int push_one(ofs_cli *cli, ofs_store *staging, const ofs_keyring *ring, const char *name,
                    int repair, json_t *pushes)
{
    ofs_store *target = NULL;
    ofs_push_stats stats = { 0 };
    char copied[32], rate[32], seconds[32];
    int rc;

    if ((rc = ofs_cli_open_target(cli, name, &target)) == 0)
        rc = ofs_push_run(staging, target, ring,
                          (cli->show_progress ? OFS_PUSH_PROGRESS : 0) |
                              (repair ? OFS_PUSH_REPAIR : 0), &stats);
    ofs_store_free(target);
    ofs_format_size(stats.bytes_copied, copied, sizeof(copied));
    ofs_format_rate(stats.bytes_copied, stats.seconds, rate, sizeof(rate));
    ofs_format_seconds(stats.seconds, seconds, sizeof(seconds));
    char superseded[96] = "";
    if (stats.backups_superseded)
        snprintf(superseded, sizeof(superseded), ", %llu older than the target's newest (not "
                 "re-sent)", (unsigned long long)stats.backups_superseded);
    ofs_cli_out(cli, "push %s: %s%llu %s pushed, %llu already there%s; %llu %s copied "
                "(%s), %llu skipped; %s, %s\n", name, rc < 0 ? "FAILED after " : "",
                (unsigned long long)stats.backups_pushed,
                ofs_text_plural(stats.backups_pushed, "backup", "backups"),
                (unsigned long long)stats.backups_present, superseded,
                (unsigned long long)stats.objects_copied,
                ofs_text_plural(stats.objects_copied, "object", "objects"), copied,
                (unsigned long long)stats.objects_skipped, seconds, rate);
    json_t *entry = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:f}", "target", name,
                              "ok", rc == 0, "backups_pushed", (json_int_t)stats.backups_pushed,
                              "backups_present", (json_int_t)stats.backups_present,
                              "objects_copied", (json_int_t)stats.objects_copied,
                              "objects_skipped", (json_int_t)stats.objects_skipped,
                              "bytes_copied", (json_int_t)stats.bytes_copied,
                              "seconds", stats.seconds);
    if (entry)
        json_object_set_new(entry, "backups_superseded",
                            json_integer((json_int_t)stats.backups_superseded));
    if (repair) {
        ofs_cli_out(cli, "push %s: repair: %llu %s read back, %llu sent again\n", name,
                    (unsigned long long)stats.objects_checked,
                    ofs_text_plural(stats.objects_checked, "object", "objects"),
                    (unsigned long long)stats.objects_repaired);
        if (entry) {
            json_object_set_new(entry, "objects_checked",
                                json_integer((json_int_t)stats.objects_checked));
            json_object_set_new(entry, "objects_repaired",
                                json_integer((json_int_t)stats.objects_repaired));
        }
    }
    if (rc < 0 && entry)
        json_object_set_new(entry, "message", json_string(ofs_error_last()));
    if (entry)
        json_array_append_new(pushes, entry);
    if (rc < 0)
        ofs_error_wrap(rc, "push to target '%s'", name);
    push_remember(cli, name, entry, rc);
    return rc;
}

int ofs_cli_push_targets(ofs_cli *cli, ofs_store *staging, const ofs_keyring *ring,
                         const char *only, int repair)
{
    const ofs_config *cfg = NULL;
    json_t *pushes = json_array();
    ofs_error_first first = { 0 };
    int rc;
    size_t attempted = 0;

    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        goto cleanup;
    if (only && !ofs_config_find_target(cfg, only)) {
        ofs_store *none = NULL;
        rc = ofs_cli_open_target(cli, only, &none); /* the error names the configured targets */
        ofs_store_free(none);
        goto cleanup;
    }
    for (size_t i = 0; i < cfg->target_count; i++) {
        const char *name = cfg->targets[i].name;
        if (only && strcmp(only, name) != 0)
            continue;
        attempted++;
        if ((rc = push_one(cli, staging, ring, name, repair, pushes)) == 0)
            continue;
        /* every failure is told once: the first by main (returned), the others here */
        ofs_error_first_add(&first, rc);
    }
    rc = ofs_error_first_end(&first, "%zu of %zu targets failed, the first", first.failures,
                             attempted);
cleanup:
    json_object_set(ofs_cli_result(cli), "pushes", pushes);
    json_decref(pushes);
    ofs_error_first_free(&first);
    return rc;
}

int ofs_cmd_push(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "target", required_argument, NULL, PUSH_OPT_TARGET },
        { "repair", no_argument, NULL, PUSH_OPT_REPAIR },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *only = NULL;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring;
    ofs_store *staging = NULL;
    int index = 0, opt, rc, repair = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == PUSH_OPT_TARGET)
            only = arg;
        else if (opt == PUSH_OPT_REPAIR)
            repair = 1;
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 1, &ring)) < 0 ||
        (rc = ofs_cli_lock(cli)) < 0)
        return rc;
    if (cfg->target_count == 0) {
        ofs_log_warn("'%s' configures no [target]: nothing to push", cfg->path);
        return 0;
    }
    if ((rc = ofs_cli_open_staging(cli, 0, &staging)) < 0)
        return rc;
    rc = ofs_cli_push_targets(cli, staging, ring, only, repair);
    ofs_store_free(staging);
    return rc;
}
