/* status_metrics.c - `status --prometheus FILE`: the status as node_exporter textfile metrics,
 * written atomically so node_exporter never reads half a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"

/* A growing text buffer; on out of memory it stops growing and `failed` is set. */
typedef struct metrics_text {
    char *data;
    size_t len, cap;
    int failed;
} metrics_text;

static void metrics_printf(metrics_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void metrics_printf(metrics_text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        int n = vsnprintf(t->data ? t->data + t->len : NULL, t->data ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0 || t->failed) {
            t->failed = 1;
            return;
        }
        if (t->data && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *bigger = realloc(t->data, cap);
        if (!bigger) {
            t->failed = 1;
            return;
        }
        t->data = bigger;
        t->cap = cap;
    }
}

/* metrics_label(value, buf, size): a label value with \, " and newlines escaped. */
static const char *metrics_label(const char *value, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *p = value ? value : ""; *p && n + 3 < size; p++) {
        if (*p == '\\' || *p == '"' || *p == '\n') {
            buf[n++] = '\\';
            buf[n++] = *p == '\n' ? 'n' : *p;
        } else {
            buf[n++] = *p;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void metrics_help(metrics_text *t, const char *name, const char *help)
{
    metrics_printf(t, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* metrics_time(o, key, &t): an ISO time member as Unix seconds. */
static int metrics_time(json_t *o, const char *key, int64_t *t)
{
    const char *text = json_string_value(json_object_get(o, key));
    return text && ofs_time_parse_iso(text, t) == 0;
}

static int metrics_level(const char *state)
{
    return !state ? 2 : strcmp(state, "ok") == 0 ? 0 : strcmp(state, "warning") == 0 ? 1 : 2;
}

int ofs_cli_status_prometheus(ofs_cli *cli, const char *path, json_t *status, int64_t now)
{
    metrics_text t = { 0 };
    json_t *sets = json_object_get(status, "sets"), *set, *store;
    size_t i, j;
    char a[256], b[256];
    int64_t when;
    int rc;
    (void)cli;

    metrics_help(&t, "offsite_status", "0 ok, 1 warning, 2 critical: the set's worst state "
                 "over staging and every target");
    json_array_foreach(sets, i, set)
        metrics_printf(&t, "offsite_status{set=\"%s\"} %d\n",
                       metrics_label(json_string_value(json_object_get(set, "set")), a,
                                     sizeof(a)),
                       metrics_level(json_string_value(json_object_get(set, "state"))));
    static const struct { const char *name, *help, *key; } per_store[] = {
        { "offsite_backup_last_success_timestamp_seconds",
          "when the newest backup of the set in the store finished", "finished" },
        { "offsite_backup_age_seconds", "age of the newest backup of the set in the store",
          "age_seconds" },
        { "offsite_backup_runs_missed", "scheduled runs since the newest backup, past the grace",
          "runs_missed" },
        { "offsite_backup_size_bytes", "bytes read by the newest backup of the set", "bytes" },
        { "offsite_backup_stored_bytes", "bytes the newest backup stores (compressed, "
          "encrypted)", "stored_bytes" },
    };
    for (size_t k = 0; k < sizeof(per_store) / sizeof(per_store[0]); k++) {
        metrics_help(&t, per_store[k].name, per_store[k].help);
        json_array_foreach(sets, i, set) {
            json_array_foreach(json_object_get(set, "stores"), j, store) {
                json_t *v = json_object_get(store, per_store[k].key);
                long long value;
                if (json_is_integer(v))
                    value = (long long)json_integer_value(v);
                else if (metrics_time(store, per_store[k].key, &when))
                    value = (long long)when;
                else
                    continue; /* no backup there: no sample (offsite_status says critical) */
                metrics_printf(&t, "%s{set=\"%s\",store=\"%s\"} %lld\n", per_store[k].name,
                               metrics_label(json_string_value(json_object_get(set, "set")), a,
                                             sizeof(a)),
                               metrics_label(json_string_value(json_object_get(store, "store")),
                                             b, sizeof(b)), value);
            }
        }
    }
    metrics_help(&t, "offsite_backup_duration_seconds", "how long the set's last backup took");
    json_array_foreach(sets, i, set) {
        json_t *last = json_object_get(set, "last_backup");
        if (json_is_number(json_object_get(last, "seconds")))
            metrics_printf(&t, "offsite_backup_duration_seconds{set=\"%s\"} %.3f\n",
                           metrics_label(json_string_value(json_object_get(set, "set")), a,
                                         sizeof(a)),
                           json_number_value(json_object_get(last, "seconds")));
    }
    metrics_help(&t, "offsite_push_ok", "1 if the last push to the target succeeded, else 0");
    metrics_help(&t, "offsite_push_last_timestamp_seconds", "when the last push to the target "
                 "ended");
    const char *target;
    json_t *push;
    json_object_foreach(json_object_get(status, "targets"), target, push) {
        metrics_printf(&t, "offsite_push_ok{target=\"%s\"} %d\n",
                       metrics_label(target, a, sizeof(a)),
                       json_is_true(json_object_get(push, "ok")));
        if (metrics_time(push, "time", &when))
            metrics_printf(&t, "offsite_push_last_timestamp_seconds{target=\"%s\"} %lld\n",
                           metrics_label(target, a, sizeof(a)), (long long)when);
    }
    static const struct { const char *name, *help, *key; } per_drill[] = {
        { "offsite_drill_ok", "1 if the last drill restored every file and met its objectives",
          "ok" },
        { "offsite_drill_last_timestamp_seconds", "when the last drill ended", "time" },
        { "offsite_drill_recovery_point_seconds", "RPO measured by the last drill: the age of "
          "the backup it restored", "recovery_point_age_seconds" },
        { "offsite_drill_recovery_time_seconds", "RTO measured by the last drill: how long the "
          "restore took", "recovery_time_seconds" },
    };
    for (size_t k = 0; k < sizeof(per_drill) / sizeof(per_drill[0]); k++) {
        metrics_help(&t, per_drill[k].name, per_drill[k].help);
        json_array_foreach(sets, i, set) {
            json_t *drill = json_object_get(set, "last_drill");
            json_t *v = json_object_get(drill, per_drill[k].key);
            double value;
            if (json_is_boolean(v))
                value = json_is_true(v);
            else if (json_is_number(v))
                value = json_number_value(v);
            else if (metrics_time(drill, per_drill[k].key, &when))
                value = (double)when;
            else
                continue;
            metrics_printf(&t, "%s{set=\"%s\"} %.3f\n", per_drill[k].name,
                           metrics_label(json_string_value(json_object_get(set, "set")), a,
                                         sizeof(a)), value);
        }
    }
    metrics_help(&t, "offsite_status_timestamp_seconds", "when this file was written");
    metrics_printf(&t, "offsite_status_timestamp_seconds %lld\n", (long long)now);
    if (t.failed) {
        free(t.data);
        return ofs_error_set(OFS_ERROR, "out of memory writing '%s'", path);
    }
    rc = ofs_write_file_atomic(path, t.data, t.len, 0644);
    free(t.data);
    if (rc < 0)
        return ofs_error_wrap(rc, "--prometheus '%s'", path);
    return 0;
}
