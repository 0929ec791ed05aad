/* cmd_schedule.c - `offsite schedule show [--count N] [--systemd]` and `offsite schedule check
 * TIMER...`: the schedule the agent measures freshness against, its next runs and the
 * OnCalendar= lines of the systemd timer, so the timer and the agent keep one schedule. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/schedule.h"

enum { SCHEDULE_OPT_COUNT = 300, SCHEDULE_OPT_SYSTEMD };

#define SCHEDULE_LINES_MAX 256

/* schedule_local_text(t, zone, buf, size): "Wed 2026-12-02 17:15 EST" in zone. */
static void schedule_local_text(int64_t t, const char *zone, char *buf, size_t size)
{
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    time_t tt = (time_t)t;
    struct tm tm;
    setenv("TZ", zone, 1);
    tzset();
    if (!localtime_r(&tt, &tm) || !strftime(buf, size, "%a %Y-%m-%d %H:%M %Z", &tm))
        snprintf(buf, size, "?");
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

static void schedule_print_timer(ofs_cli *cli, const ofs_schedule *all, const char *indent)
{
    ofs_cli_out(cli, "%s[Timer]\n%sOnCalendar=\n", indent, indent);
    for (size_t i = 0; i < ofs_schedule_count(all); i++)
        ofs_cli_out(cli, "%sOnCalendar=%s\n", indent, ofs_schedule_line(all, i));
}

static int schedule_show(ofs_cli *cli, long count, int systemd)
{
    const ofs_config *cfg = cli->cfg;
    ofs_schedule *all = NULL;
    json_t *lines = json_array(), *runs = json_array();
    int rc;

    if ((rc = ofs_config_schedule(cfg, NULL, &all)) < 0)
        goto cleanup;
    for (size_t i = 0; i < ofs_schedule_count(all); i++)
        json_array_append_new(lines, json_string(ofs_schedule_line(all, i)));
    json_object_set(ofs_cli_result(cli), "on_calendar", lines);
    if (systemd) {
        schedule_print_timer(cli, all, "");
        goto cleanup;
    }
    if (!ofs_schedule_count(all)) {
        ofs_cli_out(cli, "no schedule: [agent] schedule is not set, so status measures "
                    "freshness in hours (warn_after, critical_after)\n");
        goto cleanup;
    }
    ofs_cli_out(cli, "schedule (time zone %s; %zu holidays%s%s):\n", cfg->time_zone,
                ofs_schedule_holiday_count(all), cfg->holidays ? " from " : "",
                cfg->holidays ? cfg->holidays : "");
    for (size_t i = 0; i < cfg->schedule_count; i++)
        ofs_cli_out(cli, "  [agent]  %s\n", cfg->schedule[i]);
    for (size_t i = 0; i < cfg->set_count; i++)
        for (size_t k = 0; k < cfg->sets[i].schedule_count; k++)
            ofs_cli_out(cli, "  set %s  %s\n", cfg->sets[i].name, cfg->sets[i].schedule[k]);
    ofs_cli_out(cli, "next runs:\n");
    int64_t t = ofs_clock_now();
    for (long n = 0; n < count && ofs_schedule_next(all, t, &t) == 0; n++) {
        char iso[32], local[64], sets[1024] = "";
        size_t used = 0;
        json_t *names = json_array();
        ofs_time_format_iso(t, iso, sizeof(iso));
        schedule_local_text(t, cfg->time_zone, local, sizeof(local));
        for (size_t i = 0; i < cfg->set_count; i++) {
            ofs_schedule *own = NULL;
            int64_t at = 0;
            if (ofs_config_schedule(cfg, &cfg->sets[i], &own) == 0 &&
                ofs_schedule_next(own, t - 1, &at) == 0 && at == t) {
                used += (size_t)snprintf(sets + used, used < sizeof(sets) ? sizeof(sets) - used
                                                                          : 0,
                                         "%s%s", used ? ", " : "", cfg->sets[i].name);
                json_array_append_new(names, json_string(cfg->sets[i].name));
            }
            ofs_schedule_free(own);
        }
        ofs_cli_out(cli, "  %s  %s  %s\n", iso, local, sets);
        json_t *o = json_pack("{s:s, s:o}", "time", iso, "sets", names);
        if (o)
            json_array_append_new(runs, o);
    }
    json_object_set(ofs_cli_result(cli), "next_runs", runs);
    ofs_cli_out(cli, "systemd timer (a drop-in for offsite-backup.timer: offsite schedule show "
                "--systemd):\n");
    schedule_print_timer(cli, all, "  ");
cleanup:
    ofs_error_clear();
    json_decref(lines);
    json_decref(runs);
    ofs_schedule_free(all);
    return rc;
}

/* schedule_check(cli, files, n): the OnCalendar= lines of the timer files (in order, with
 * drop-ins after the unit; an empty OnCalendar= resets, as systemd reads them) against the
 * configured schedule. */
static int schedule_check(ofs_cli *cli, char **files, int n)
{
    char *found[SCHEDULE_LINES_MAX];
    size_t count = 0;
    ofs_schedule *all = NULL;
    int rc = 0;

    for (int f = 0; f < n && rc == 0; f++) {
        FILE *in = fopen(files[f], "r");
        char line[1024];
        if (!in) {
            rc = ofs_error_from_errno(errno, "cannot open timer '%s'", files[f]);
            break;
        }
        while (fgets(line, sizeof(line), in)) {
            line[strcspn(line, "\r\n")] = '\0';
            if (strncmp(line, "OnCalendar=", 11) != 0)
                continue;
            if (!line[11]) {
                while (count)
                    free(found[--count]);
            } else if (count < SCHEDULE_LINES_MAX && !(found[count++] = strdup(line + 11))) {
                count--;
                rc = ofs_error_set(OFS_ERROR, "out of memory");
            }
        }
        fclose(in);
    }
    if (rc == 0 && (rc = ofs_config_schedule(cli->cfg, NULL, &all)) == 0) {
        size_t want = ofs_schedule_count(all), missing = 0, extra = 0;
        for (size_t i = 0; i < want; i++) {
            size_t k = 0;
            while (k < count && strcmp(found[k], ofs_schedule_line(all, i)) != 0)
                k++;
            if (k == count) {
                ofs_cli_out(cli, "missing from the timer: OnCalendar=%s\n",
                            ofs_schedule_line(all, i));
                missing++;
            }
        }
        for (size_t k = 0; k < count; k++) {
            size_t i = 0;
            while (i < want && strcmp(found[k], ofs_schedule_line(all, i)) != 0)
                i++;
            if (i == want) {
                ofs_cli_out(cli, "not in the configuration: OnCalendar=%s\n", found[k]);
                extra++;
            }
        }
        if (missing || extra)
            rc = ofs_error_set(OFS_ECONFIG, "the timer fires on another schedule than '%s' "
                               "configures (%zu lines missing, %zu extra)\nHINT: offsite "
                               "schedule show --systemd > /etc/systemd/system/offsite-backup."
                               "timer.d/schedule.conf && systemctl daemon-reload",
                               cli->cfg->path, missing, extra);
        else
            ofs_cli_out(cli, "the timer fires on the configured schedule (%zu lines)\n", want);
    }
    while (count)
        free(found[--count]);
    ofs_schedule_free(all);
    return rc;
}

int ofs_cmd_schedule(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "count", required_argument, NULL, SCHEDULE_OPT_COUNT },
        { "systemd", no_argument, NULL, SCHEDULE_OPT_SYSTEMD },
        { NULL, 0, NULL, 0 }
    };
    const char *arg;
    const ofs_config *cfg = NULL;
    int index = 0, opt, rc, systemd = 0;
    long count = 10;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == SCHEDULE_OPT_SYSTEMD) {
            systemd = 1;
        } else if (opt == SCHEDULE_OPT_COUNT) {
            char *end;
            count = strtol(arg, &end, 10);
            if (*end || count < 1 || count > 1000)
                return ofs_cli_usage_error(cli, "--count: '%s' is not a number from 1 to 1000",
                                           arg);
        }
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index >= argc)
        return ofs_cli_usage_error(cli, "missing subcommand (show or check)");
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (strcmp(argv[index], "show") == 0) {
        if (index + 1 < argc)
            return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index + 1]);
        return schedule_show(cli, count, systemd);
    }
    if (strcmp(argv[index], "check") == 0) {
        if (index + 1 >= argc)
            return ofs_cli_usage_error(cli, "check: name the timer file and its drop-ins");
        return schedule_check(cli, argv + index + 1, argc - index - 1);
    }
    return ofs_cli_usage_error(cli, "unknown subcommand '%s' (show or check)", argv[index]);
}
