/* cmd_list.c - `offsite list [--set S] [--from T] [--since DATE] [--until DATE]`: backups,
 * newest first, from a manifest. */
#include <stdio.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/text.h"

enum { LIST_OPT_SET = 300, LIST_OPT_FROM, LIST_OPT_SINCE, LIST_OPT_UNTIL };

static json_t *list_entry_json(const ofs_manifest_entry *e)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I}",
                          "id", e->id, "set", e->set, "kind", e->kind, "class", e->class_name,
                          "started", ofs_json_time(e->started),
                          "finished", ofs_json_time(e->finished),
                          "entries", (json_int_t)e->files, "bytes", (json_int_t)e->bytes,
                          "stored_bytes", (json_int_t)e->stored_bytes);
    if (!o)
        return NULL;
    json_object_set_new(o, "base", e->base ? json_string(e->base) : json_null());
    ofs_json_set_name(o, "host", e->host);
    ofs_json_set_name(o, "description", e->description);
    return o;
}

int ofs_cmd_list(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "set", required_argument, NULL, LIST_OPT_SET },
        { "from", required_argument, NULL, LIST_OPT_FROM },
        { "since", required_argument, NULL, LIST_OPT_SINCE },
        { "until", required_argument, NULL, LIST_OPT_UNTIL },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *set = NULL, *from = NULL, *since_text = NULL, *until_text = NULL;
    int64_t since = INT64_MIN, until = INT64_MAX;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring;
    ofs_store *store = NULL;
    ofs_manifest *m = NULL;
    ofs_text_buf host = { 0 }, description = { 0 };
    int index = 0, opt, rc;
    size_t shown = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == LIST_OPT_SET)
            set = arg;
        else if (opt == LIST_OPT_FROM)
            from = arg;
        else if (opt == LIST_OPT_SINCE)
            since_text = arg;
        else if (opt == LIST_OPT_UNTIL)
            until_text = arg;
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if ((since_text && (rc = ofs_cli_date(cli, "--since", since_text, &since)) != 0) ||
        (until_text && (rc = ofs_cli_date(cli, "--until", until_text, &until)) != 0))
        return rc;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 0, &ring)) < 0 ||
        (rc = ofs_cli_open_source(cli, from, &store)) < 0 ||
        (rc = ofs_cli_load_manifest(cli, store, ring, &m)) < 0)
        goto cleanup;

    json_t *list = json_array();
    /* a target several hosts push to: say whose each backup is */
    int hosts = 0;
    for (size_t i = 1; i < m->count && !hosts; i++)
        hosts = m->entries[i].host && m->entries[0].host &&
                strcmp(m->entries[i].host, m->entries[0].host) != 0;
    json_object_set_new(ofs_cli_result(cli), "store", json_string(ofs_store_name(store)));
    json_object_set_new(ofs_cli_result(cli), "verified", json_boolean(ring != NULL));
    for (size_t i = m->count; i-- > 0;) {
        const ofs_manifest_entry *e = &m->entries[i];
        char started[32], size[32], stored[32];
        if ((set && strcmp(set, e->set) != 0) || e->started < since || e->started >= until)
            continue;
        if (shown++ == 0)
            ofs_cli_out(cli, "%-32s %-4s %-7s %-20s %9s %10s %10s  %s%s\n", "ID", "KIND",
                        "CLASS", "STARTED", "ENTRIES", "SIZE", "STORED", hosts ? "HOST  " : "",
                        "DESCRIPTION");
        ofs_time_format_iso(e->started, started, sizeof(started));
        ofs_format_size(e->bytes, size, sizeof(size));
        ofs_format_size(e->stored_bytes, stored, sizeof(stored));
        ofs_cli_out(cli, "%-32s %-4s %-7s %-20s %9llu %10s %10s  %s%s%s\n", e->id, e->kind,
                    e->class_name, started, (unsigned long long)e->files, size, stored,
                    hosts && e->host ? ofs_text_show(&host, e->host) : "", hosts ? "  " : "",
                    e->description ? ofs_text_show(&description, e->description) : "");
        json_array_append_new(list, list_entry_json(e));
    }
    json_object_set_new(ofs_cli_result(cli), "backups", list);
    if (shown == 0)
        ofs_cli_out(cli, "no backups%s%s%s%s in %s\n", set ? " of set '" : "", set ? set : "",
                    set ? "'" : "", since_text || until_text ? " in that time" : "",
                    ofs_store_name(store));
cleanup:
    ofs_text_buf_free(&host);
    ofs_text_buf_free(&description);
    ofs_manifest_free(m);
    ofs_store_free(store);
    return rc;
}
