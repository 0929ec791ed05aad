/* cmd_status.c - `offsite status [--from T] [--prometheus FILE] [--notify]`: freshness of each
 * set's newest backup on staging and on every target, in scheduled runs missed (or hours when
 * the set has no schedule), with the last push and drill results; exit 0 ok, 1 warning,
 * 2 critical. Reads manifests only: works without the key. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/notify.h"
#include "offsite/runstate.h"
#include "offsite/schedule.h"

enum { STATUS_OPT_FROM = 300, STATUS_OPT_PROMETHEUS, STATUS_OPT_NOTIFY };

#define STATUS_STORES_MAX 65

/* One store looked at: its manifest, or why it could not be read. */
typedef struct status_store {
    const char *name;
    int is_target;
    ofs_manifest *m;
    char *error;           /* NULL when m was read */
} status_store;

static const char *status_state_name(int level)
{
    return level == 2 ? "critical" : level == 1 ? "warning" : "ok";
}

/* status_open_stores(cli, from, ring, stores, &count): --from T alone, else staging (if this
 * machine has one) and every target. A store that cannot be read is kept with its error. */
static int status_open_stores(ofs_cli *cli, const char *from, const ofs_keyring *ring,
                              status_store *stores, size_t *count)
{
    const ofs_config *cfg = cli->cfg;
    *count = 0;
    for (size_t i = 0; i <= cfg->target_count && *count < STATUS_STORES_MAX; i++) {
        const char *name = i == 0 ? "staging" : cfg->targets[i - 1].name;
        ofs_store *store = NULL;
        int rc;
        if (from && (i == 0 || strcmp(from, name) != 0))
            continue;
        if (i == 0) {
            rc = ofs_cli_open_staging(cli, 0, &store);
            /* a monitoring host has no staging: its targets are what it watches */
            if (rc == OFS_ENOTFOUND && cfg->target_count > 0)
                continue;
        } else {
            rc = ofs_cli_open_target(cli, name, &store);
        }
        status_store *s = &stores[(*count)++];
        s->name = name;
        s->is_target = i > 0;
        if (rc == 0)
            rc = ofs_cli_load_manifest(cli, store, ring, &s->m);
        if (rc < 0 && !(s->error = ofs_error_save()))
            return ofs_error_set(OFS_ERROR, "out of memory");
        ofs_store_free(store);
    }
    if (from && *count == 0) {
        ofs_store *none = NULL;
        int rc = ofs_cli_open_target(cli, from, &none); /* names the configured targets */
        ofs_store_free(none);
        return rc;
    }
    return 0;
}

/* status_freshness(set, schedule, e, now, grace, &missed): 0/1/2 for the newest backup e. */
static int status_freshness(const ofs_config_set *set, const ofs_schedule *schedule,
                            const ofs_manifest_entry *e, int64_t now, int64_t grace,
                            unsigned *missed, int64_t *age)
{
    int64_t done = e->finished ? e->finished : e->started;
    int level = 0;
    *age = now - done < 0 ? 0 : now - done;
    /* a run is covered by a backup that started after its scheduled time */
    *missed = ofs_schedule_count(schedule) ? ofs_schedule_missed(schedule, e->started, now,
                                                                 grace) : 0;
    if (set->warn_runs ? *missed >= (unsigned)set->warn_runs : *age >= set->warn_after)
        level = 1;
    if (set->critical_runs ? *missed >= (unsigned)set->critical_runs
                           : *age >= set->critical_after)
        level = 2;
    return level;
}

/* status_text(o, key, fallback): a string member, or fallback. */
static const char *status_text(json_t *o, const char *key, const char *fallback)
{
    const char *text = json_string_value(json_object_get(o, key));
    return text ? text : fallback;
}

/* status_note(notes, size, fmt, ...): append "; note" to the notes of a line. */
static void status_note(char *notes, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void status_note(char *notes, size_t size, const char *fmt, ...)
{
    size_t used = strlen(notes);
    va_list ap;
    if (used + 3 >= size)
        return;
    if (used)
        used += (size_t)snprintf(notes + used, size - used, "; ");
    va_start(ap, fmt);
    vsnprintf(notes + used, size - used, fmt, ap);
    va_end(ap);
}

/* status_set(...): one set on every store: lines, its JSON object, and its level. */
static int status_set(ofs_cli *cli, const ofs_config_set *set, status_store *stores,
                      size_t count, json_t *state, int64_t now, json_t *out)
{
    const ofs_config *cfg = cli->cfg;
    ofs_schedule *schedule = NULL;
    int worst = 0;
    const ofs_manifest_entry *primary = NULL, *staging_newest = NULL;
    char message[2048] = "";
    json_t *list = json_array();

    if (ofs_config_schedule(cfg, set, &schedule) < 0) {
        ofs_log_warn("set '%s': %s", set->name, ofs_error_last());
        schedule = NULL;
    }
    for (size_t i = 0; i < count; i++) {
        status_store *s = &stores[i];
        const ofs_manifest_entry *e = s->m ? ofs_manifest_latest(s->m, set->name) : NULL;
        char notes[1024] = "", age_text[64] = "";
        unsigned missed = 0;
        int64_t age = 0;
        int level;
        json_t *o = json_pack("{s:s}", "store", s->name);

        if (s->error) {
            level = 2;
            status_note(notes, sizeof(notes), "cannot read %s: %s", s->name, s->error);
        } else if (!e) {
            level = 2;
            status_note(notes, sizeof(notes), "no backup in %s", s->name);
        } else {
            level = status_freshness(set, schedule, e, now, cfg->run_grace, &missed, &age);
            ofs_format_duration(age, age_text, sizeof(age_text));
        }
        if (!s->is_target && e)
            staging_newest = e;
        if (s->is_target && staging_newest && !s->error &&
            !ofs_manifest_find(s->m, staging_newest->id)) {
            status_note(notes, sizeof(notes), "newest backup %s not on %s", staging_newest->id,
                        s->name);
            if (level < 1)
                level = 1;
        }
        json_t *push = s->is_target ? ofs_runstate_get(state, "targets", s->name) : NULL;
        if (push && json_is_false(json_object_get(push, "ok"))) {
            status_note(notes, sizeof(notes), "last push failed at %s: %s",
                        status_text(push, "time", "?"), status_text(push, "message", ""));
            if (level < 1)
                level = 1;
        }
        if (e && !primary)
            primary = e;
        if (e)
            ofs_cli_out(cli, "%s %s %s newest %s age %s, %u run%s missed%s%s\n",
                        status_state_name(level), set->name, s->name, e->id, age_text, missed,
                        missed == 1 ? "" : "s", notes[0] ? "; " : "", notes);
        else
            ofs_cli_out(cli, "%s %s %s\n", status_state_name(level), set->name, notes);
        if (level > 0)
            status_note(message, sizeof(message), "%s: %s", s->name,
                        notes[0] ? notes : missed ? "runs missed" : "too old");
        if (level > worst)
            worst = level;
        if (o) {
            json_object_set_new(o, "state", json_string(status_state_name(level)));
            json_object_set_new(o, "newest", e ? json_string(e->id) : json_null());
            json_object_set_new(o, "started", e ? ofs_json_time(e->started) : json_null());
            json_object_set_new(o, "finished", e ? ofs_json_time(e->finished) : json_null());
            json_object_set_new(o, "age_seconds", e ? json_integer(age) : json_null());
            json_object_set_new(o, "runs_missed", e ? json_integer(missed) : json_null());
            json_object_set_new(o, "bytes", e ? json_integer((json_int_t)e->bytes) : json_null());
            json_object_set_new(o, "stored_bytes",
                                e ? json_integer((json_int_t)e->stored_bytes) : json_null());
            json_object_set_new(o, "problems", notes[0] ? json_string(notes) : json_null());
            if (s->is_target)
                json_object_set(o, "last_push", push ? push : json_null());
            json_array_append_new(list, o);
        }
    }
    int64_t next = 0;
    int has_next = schedule && ofs_schedule_next(schedule, now, &next) == 0;
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:i, s:i}", "set", set->name,
                          "state", status_state_name(worst),
                          "warn_after", (json_int_t)set->warn_after,
                          "critical_after", (json_int_t)set->critical_after,
                          "warn_runs", set->warn_runs, "critical_runs", set->critical_runs);
    if (o) {
        json_t *first = json_array_size(list) ? json_array_get(list, 0) : NULL;
        int64_t done = primary ? (primary->finished ? primary->finished : primary->started) : 0;
        json_object_set_new(o, "newest", primary ? json_string(primary->id) : json_null());
        json_object_set_new(o, "finished", primary ? ofs_json_time(primary->finished)
                                                   : json_null());
        json_object_set_new(o, "age_seconds", primary ? json_integer(now - done < 0 ? 0
                                                                     : now - done)
                                                      : json_null());
        json_object_set(o, "runs_missed", first ? json_object_get(first, "runs_missed")
                                                : json_null());
        json_object_set_new(o, "next_run", has_next ? ofs_json_time(next) : json_null());
        json_t *backup = ofs_runstate_get(state, "backups", set->name);
        json_t *drill = ofs_runstate_get(state, "drills", set->name);
        json_object_set(o, "last_backup", backup ? backup : json_null());
        json_object_set(o, "last_drill", drill ? drill : json_null());
        json_object_set(o, "stores", list);
        json_object_set_new(o, "message", message[0] ? json_string(message) : json_null());
        json_array_append_new(out, o);
    }
    json_decref(list);
    ofs_schedule_free(schedule);
    return worst;
}

/* status_notify(cli, sets): raise or clear each set's status alert (status_warning,
 * status_critical, recovered), told once per change, not at every poll. */
static void status_notify(ofs_cli *cli, json_t *sets)
{
    size_t i;
    json_t *o;
    json_array_foreach(sets, i, o) {
        const char *set = json_string_value(json_object_get(o, "set"));
        const char *state = json_string_value(json_object_get(o, "state"));
        char key[128];
        ofs_notify_fields fields = { .set = set,
                                     .message = json_string_value(json_object_get(o, "message")) };
        snprintf(key, sizeof(key), "status:%s", set);
        char ok[160];
        snprintf(ok, sizeof(ok), "set '%s' is fresh on every store again", set);
        if (strcmp(state, "ok") == 0) {
            fields.message = ok;
            ofs_notify_clear(cli->cfg, key, &fields);
        } else {
            (void)ofs_notify_problem(cli->cfg, key, strcmp(state, "critical") == 0
                                     ? "status_critical" : "status_warning", &fields, 0);
        }
    }
}

/* status_write_only(cli, from, state, result): a note per write-only target - configured with
 * `delete = no`, or whose last prune here found its deletes refused - since this host's prune
 * only plans there and someone else must delete what expires. Tells; changes no state. */
static void status_write_only(ofs_cli *cli, const char *from, json_t *state, json_t *result)
{
    const ofs_config *cfg = cli->cfg;
    json_t *list = json_array();
    for (size_t i = 0; i < cfg->target_count; i++) {
        const ofs_config_target *t = &cfg->targets[i];
        json_t *prune = ofs_runstate_get(state, "prunes", t->name);
        char why[160];
        if (from && strcmp(from, t->name) != 0)
            continue;
        if (t->write_only)
            snprintf(why, sizeof(why), "delete = no");
        else if (prune && json_is_true(json_object_get(prune, "delete_refused")))
            snprintf(why, sizeof(why), "its deletes were refused at the last prune, %s",
                     status_text(prune, "time", "?"));
        else
            continue;
        ofs_cli_out(cli, "note: target %s is write-only (%s): prune on this host only plans; "
                    "expired backups are deleted by a host that may (offsite prune --target %s "
                    "--all-hosts, with prune_profile) or by lifecycle rules (offsite retention "
                    "sync)\n", t->name, why, t->name);
        json_array_append_new(list, json_pack("{s:s, s:s}", "target", t->name, "why", why));
    }
    json_object_set_new(result, "write_only_targets", list);
}

int ofs_cmd_status(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "from", required_argument, NULL, STATUS_OPT_FROM },
        { "prometheus", required_argument, NULL, STATUS_OPT_PROMETHEUS },
        { "notify", no_argument, NULL, STATUS_OPT_NOTIFY },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *from = NULL, *prometheus = NULL;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring;
    status_store stores[STATUS_STORES_MAX];
    size_t count = 0;
    json_t *state = NULL, *sets = NULL;
    int index = 0, opt, rc, worst = 0, notify = 0;

    memset(stores, 0, sizeof(stores));
    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == STATUS_OPT_FROM)
            from = arg;
        else if (opt == STATUS_OPT_PROMETHEUS)
            prometheus = arg;
        else if (opt == STATUS_OPT_NOTIFY)
            notify = 1;
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 0, &ring)) < 0)
        return rc;
    if ((rc = status_open_stores(cli, from, ring, stores, &count)) < 0 ||
        (count == 1 && stores[0].error)) {
        /* monitoring must see "cannot tell" as critical, not as a generic error */
        if (rc == 0)
            rc = ofs_error_restore(OFS_ERROR, stores[0].error);
        ofs_cli_print_error(cli, rc, 2);
        cli->help_shown = 1; /* the JSON answer (with the error) is printed */
        worst = 2;
        goto cleanup;
    }
    if (ofs_runstate_load(cfg->state_dir, &state) < 0) {
        ofs_log_warn("%s", ofs_error_last());
        state = json_object();
    }

    int64_t now = ofs_clock_now();
    sets = json_array();
    for (size_t i = 0; i < cfg->set_count; i++) {
        int level = status_set(cli, &cfg->sets[i], stores, count, state, now, sets);
        if (level > worst)
            worst = level;
    }
    json_t *result = ofs_cli_result(cli);
    json_t *names = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(names, json_string(stores[i].name));
    json_object_set_new(result, "store", json_string(count ? stores[0].name : ""));
    json_object_set_new(result, "stores", names);
    json_object_set_new(result, "verified", json_boolean(ring != NULL));
    json_object_set_new(result, "status", json_string(status_state_name(worst)));
    json_object_set_new(result, "time", ofs_json_time(now));
    json_object_set(result, "sets", sets);
    json_t *pushes = json_object_get(state, "targets");
    json_object_set_new(result, "targets", pushes ? json_incref(pushes) : json_object());
    status_write_only(cli, from, state, result);
    if (notify)
        status_notify(cli, sets);
    if (prometheus && ofs_cli_status_prometheus(cli, prometheus, result, now) < 0) {
        /* the status is still told; the file's failure must be seen too */
        ofs_log_error("%s", ofs_error_last());
        if (worst < 2)
            worst = 2;
    }
cleanup:
    for (size_t i = 0; i < count; i++) {
        ofs_manifest_free(stores[i].m);
        free(stores[i].error);
    }
    json_decref(sets);
    json_decref(state);
    return worst;
}
