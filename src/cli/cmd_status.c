/* cmd_status.c - `offsite status [--from T]`: freshness per set; exit 0 ok, 1 warning,
 * 2 critical (or no backup, or the manifest unreadable). Works without the key. */
#include <stdio.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/config.h"
#include "offsite/error.h"

enum { STATUS_OPT_FROM = 300 };

int ofs_cmd_status(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "from", required_argument, NULL, STATUS_OPT_FROM },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *from = NULL;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring;
    ofs_store *store = NULL;
    ofs_manifest *m = NULL;
    int index = 0, opt, rc, worst = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1)
        if (opt == STATUS_OPT_FROM)
            from = arg;
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 0, &ring)) < 0)
        return rc;
    if ((rc = ofs_cli_open_source(cli, from, &store)) < 0 ||
        (rc = ofs_cli_load_manifest(cli, store, ring, &m)) < 0) {
        /* monitoring must see "cannot tell" as critical, not as a generic error */
        ofs_cli_print_error(cli, rc, 2);
        cli->help_shown = 1; /* the JSON answer (with the error) is printed */
        ofs_store_free(store);
        return 2;
    }

    int64_t now = ofs_clock_now();
    json_t *sets = json_array();
    for (size_t i = 0; i < cfg->set_count; i++) {
        const ofs_config_set *set = &cfg->sets[i];
        const ofs_manifest_entry *e = ofs_manifest_latest(m, set->name);
        const char *state;
        int level;
        char age[64] = "";
        int64_t seconds = 0;
        if (!e) {
            state = "critical";
            level = 2;
            ofs_cli_out(cli, "critical %s no backup in %s\n", set->name, ofs_store_name(store));
        } else {
            seconds = now - (e->finished ? e->finished : e->started);
            if (seconds < 0)
                seconds = 0;
            level = seconds >= set->critical_after ? 2 : seconds >= set->warn_after ? 1 : 0;
            state = level == 2 ? "critical" : level == 1 ? "warning" : "ok";
            ofs_format_duration(seconds, age, sizeof(age));
            ofs_cli_out(cli, "%s %s newest %s age %s\n", state, set->name, e->id, age);
        }
        if (level > worst)
            worst = level;
        json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "set", set->name, "state", state,
                              "warn_after", (json_int_t)set->warn_after,
                              "critical_after", (json_int_t)set->critical_after);
        if (!o)
            continue;
        json_object_set_new(o, "newest", e ? json_string(e->id) : json_null());
        json_object_set_new(o, "finished", e ? ofs_json_time(e->finished) : json_null());
        json_object_set_new(o, "age_seconds", e ? json_integer(seconds) : json_null());
        json_array_append_new(sets, o);
    }
    json_t *result = ofs_cli_result(cli);
    json_object_set_new(result, "store", json_string(ofs_store_name(store)));
    json_object_set_new(result, "verified", json_boolean(ring != NULL));
    json_object_set_new(result, "status",
                        json_string(worst == 2 ? "critical" : worst == 1 ? "warning" : "ok"));
    json_object_set_new(result, "sets", sets);
    ofs_manifest_free(m);
    ofs_store_free(store);
    return worst;
}
