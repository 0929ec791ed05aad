/* cmd_ls.c - `offsite ls BACKUP [PATTERN] [--from T]`: the catalog of a backup. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "offsite/catalog.h"
#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/repo.h"
#include "offsite/text.h"

enum { LS_OPT_FROM = 300 };

/* ls_matches(pattern, path): fnmatch, or path lies below the directory pattern names. */
static int ls_matches(const char *pattern, const char *path)
{
    if (!pattern)
        return 1;
    while (*pattern == '/')
        pattern++;
    if (fnmatch(pattern, path, 0) == 0)
        return 1;
    size_t n = strlen(pattern);
    while (n > 0 && pattern[n - 1] == '/')
        n--;
    return n > 0 && strncmp(path, pattern, n) == 0 && path[n] == '/';
}

int ofs_cmd_ls(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "from", required_argument, NULL, LS_OPT_FROM },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *from = NULL, *pattern = NULL;
    const ofs_keyring *ring;
    ofs_store *store = NULL;
    ofs_record *rec = NULL;
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e;
    json_t *entries = NULL;
    ofs_text_buf path = { 0 }, link = { 0 };
    int index = 0, opt, rc;
    uint64_t shown = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1)
        if (opt == LS_OPT_FROM)
            from = arg;
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index >= argc)
        return ofs_cli_usage_error(cli, "ls needs a backup id (see offsite list)");
    if (argc - index > 2)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index + 2]);
    const char *id = argv[index];
    if (argc - index == 2)
        pattern = argv[index + 1];

    if ((rc = ofs_cli_key(cli, 1, &ring)) < 0 ||
        (rc = ofs_cli_find_backup(cli, from, id, NULL, 0, ring, &store, &rec)) < 0 ||
        (rc = ofs_repo_open_catalog(store, ring, rec, &cr)) < 0)
        goto cleanup;
    entries = json_array();
    while ((rc = ofs_catalog_reader_next(cr, &e)) == 1) {
        char mtime[32];
        if (!ls_matches(pattern, e->path))
            continue;
        shown++;
        ofs_time_format_iso(e->mtime_sec, mtime, sizeof(mtime));
        if (cli->json) {
            json_t *o = json_pack("{s:s, s:i, s:I, s:s}", "type", ofs_entry_type_name(e->type),
                                  "mode", (int)e->mode, "size", (json_int_t)e->size,
                                  "mtime", mtime);
            if (!o)
                continue;
            ofs_json_set_name(o, "path", e->path);
            if (e->link_target)
                ofs_json_set_name(o, "link_target", e->link_target);
            json_array_append_new(entries, o);
            continue;
        }
        printf("%-8s %04o %12llu %s %s%s%s\n", ofs_entry_type_name(e->type), e->mode,
               (unsigned long long)e->size, mtime, ofs_text_show(&path, e->path),
               e->link_target ? (e->type == OFS_ENTRY_SYMLINK ? " -> " : " link to ") : "",
               e->link_target ? ofs_text_show(&link, e->link_target) : "");
    }
    if (rc < 0)
        goto cleanup;
    rc = 0;
    json_object_set_new(ofs_cli_result(cli), "backup", json_string(rec->id));
    json_object_set(ofs_cli_result(cli), "entries", entries);
    if (shown == 0 && pattern)
        ofs_cli_out(cli, "no entry of %s matches '%s'\n", rec->id,
                    ofs_text_show(&path, pattern));
cleanup:
    ofs_text_buf_free(&path);
    ofs_text_buf_free(&link);
    json_decref(entries);
    ofs_catalog_reader_free(cr);
    ofs_record_free(rec);
    ofs_store_free(store);
    return rc;
}
