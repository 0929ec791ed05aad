/* cmd_notify.c - `offsite notify [--event E] [--message M]`: send one event to the configured
 * notifiers (a test, or a script's own news), and `offsite notify --unit-failed UNIT`, the
 * OnFailure= handler of the packaged units. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/notify.h"
#include "offsite/runstate.h"

enum { NOTIFY_OPT_EVENT = 300, NOTIFY_OPT_MESSAGE, NOTIFY_OPT_SET, NOTIFY_OPT_TARGET,
       NOTIFY_OPT_UNIT_FAILED };

/*
 * notify_unit_message(cfg, unit, message, size): 0 with the message for a failed unit, or 1
 * if the run already told its own failure: systemd gives the handler the failed unit's
 * INVOCATION_ID as MONITOR_INVOCATION_ID, and `backup` records its own with whether it
 * notified. A run killed (timeout, OOM, kill -9) never recorded its end: that is told here.
 */
static int notify_unit_message(const ofs_config *cfg, const char *unit, char *message,
                               size_t size)
{
    const char *invocation = getenv("MONITOR_INVOCATION_ID");
    const char *result = getenv("MONITOR_SERVICE_RESULT");
    const char *status = getenv("MONITOR_EXIT_STATUS");
    json_t *state = NULL, *run;
    int told = 0;

    if (ofs_runstate_load(cfg->state_dir, &state) < 0)
        ofs_log_warn("%s", ofs_error_last());
    run = ofs_runstate_get(state, "run", "backup");
    const char *recorded = json_string_value(json_object_get(run, "invocation_id"));
    if (invocation && *invocation && recorded && strcmp(invocation, recorded) == 0) {
        told = json_is_true(json_object_get(run, "notified"));
        snprintf(message, size, "%s failed: %s (exit %lld)", unit,
                 json_string_value(json_object_get(run, "outcome")) ? json_string_value(
                     json_object_get(run, "outcome")) : "error",
                 (long long)json_integer_value(json_object_get(run, "exit")));
    } else {
        snprintf(message, size, "%s failed (result %s, exit status %s)%s", unit,
                 result && *result ? result : "unknown", status && *status ? status : "unknown",
                 invocation && *invocation ? "; it did not record its end (killed, timed "
                                             "out, or stopped before it started)" : "");
    }
    json_decref(state);
    return told;
}

int ofs_cmd_notify(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "event", required_argument, NULL, NOTIFY_OPT_EVENT },
        { "message", required_argument, NULL, NOTIFY_OPT_MESSAGE },
        { "set", required_argument, NULL, NOTIFY_OPT_SET },
        { "target", required_argument, NULL, NOTIFY_OPT_TARGET },
        { "unit-failed", required_argument, NULL, NOTIFY_OPT_UNIT_FAILED },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *event = "test", *unit = NULL;
    const ofs_config *cfg = NULL;
    ofs_notify_fields fields = { .message = "a test of offsite's notifiers" };
    char message[1024];
    int index = 0, opt, rc;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        switch (opt) {
        case NOTIFY_OPT_EVENT: event = arg; break;
        case NOTIFY_OPT_MESSAGE: fields.message = arg; break;
        case NOTIFY_OPT_SET: fields.set = arg; break;
        case NOTIFY_OPT_TARGET: fields.target = arg; break;
        case NOTIFY_OPT_UNIT_FAILED: unit = arg; break;
        }
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (!cfg->notify.command && !cfg->notify.webhook)
        return ofs_error_set(OFS_ENOTFOUND, "'%s' configures no notifier\nHINT: add a [notify] "
                             "section with command = ... or webhook = ...", cfg->path);
    if (unit) {
        event = "unit_failed";
        if (notify_unit_message(cfg, unit, message, sizeof(message))) {
            ofs_cli_out(cli, "%s: the run told its failure itself; not sent again\n", unit);
            return 0;
        }
        fields.message = message;
    }
    int failed = ofs_notify_send(cfg, event, &fields);
    json_object_set_new(ofs_cli_result(cli), "event", json_string(event));
    json_object_set_new(ofs_cli_result(cli), "failed", json_integer(failed));
    if (failed)
        return ofs_error_set(OFS_ERROR, "%d notifier%s failed (see the warnings above)", failed,
                             failed == 1 ? "" : "s");
    ofs_cli_out(cli, "sent '%s'\n", event);
    return 0;
}
