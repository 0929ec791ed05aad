/* cmd_verify.c - `offsite verify [BACKUP|--all] [--from T] [--read-data] [--repair]`. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/manifest.h"
#include "offsite/sweep.h"
#include "offsite/text.h"
#include "offsite/verify.h"

enum { VERIFY_OPT_ALL = 300, VERIFY_OPT_FROM, VERIFY_OPT_READ_DATA, VERIFY_OPT_REPAIR };

typedef struct verify_report {
    ofs_cli *cli;
    json_t *problems;
    json_t *changes;        /* --repair */
    const char *store_name;
} verify_report;

/* Each problem on stderr as "offsite: BACKUP: OBJECT: FILE: message" (absent parts left out). */
static void verify_on_problem(void *ctx, const ofs_verify_problem *p)
{
    verify_report *r = ctx;
    ofs_text_buf file = { 0 };
    /* lower layers often name the object or file already: don't say it twice */
    int object = p->object && !strstr(p->message, p->object);
    int named = p->file && !strstr(p->message, p->file);
    ofs_cli_err(r->cli, "offsite: %s%s%s%s%s%s%s\n", p->backup ? p->backup : "",
                p->backup ? ": " : "", object ? p->object : "", object ? ": " : "",
                named ? ofs_text_show(&file, p->file) : "", named ? ": " : "", p->message);
    ofs_text_buf_free(&file);
    json_t *o = json_pack("{s:s}", "code", ofs_error_name(p->code));
    if (!o)
        return;
    ofs_json_set_name(o, "message", p->message);
    ofs_json_set_name(o, "backup", p->backup);
    ofs_json_set_name(o, "object", p->object);
    ofs_json_set_name(o, "file", p->file);
    json_array_append_new(r->problems, o);
}

/* Each repair on stdout as "STORE: manifest: CHANGE ID (why)". */
static void verify_on_change(void *ctx, const ofs_verify_change *c)
{
    verify_report *r = ctx;
    ofs_cli_out(r->cli, "%s: manifest: %s%s%s (%s)\n", r->store_name, c->change, c->id ? " " : "",
                c->id ? c->id : "", c->message);
    json_t *o = json_pack("{s:s, s:s}", "change", c->change, "message", c->message);
    if (!o)
        return;
    json_object_set_new(o, "backup", c->id ? json_string(c->id) : json_null());
    json_array_append_new(r->changes, o);
}

/* verify_repair(cli, store, ring, report): rebuild the manifest from the records, say what
 * changed. */
static int verify_repair(ofs_cli *cli, ofs_store *store, const ofs_keyring *ring,
                         verify_report *report)
{
    size_t changes = 0;
    int rc;
    report->store_name = ofs_store_name(store);
    report->changes = json_array();
    rc = ofs_verify_repair(store, ring, verify_on_change, report, &changes);
    json_t *repair = json_pack("{s:O, s:b}", "changes", report->changes, "saved",
                               rc == 0 && changes > 0);
    json_object_set_new(ofs_cli_result(cli), "repair", repair);
    if (rc < 0)
        return ofs_error_wrap(rc, "%s: manifest repair failed", ofs_store_name(store));
    if (changes == 0)
        ofs_cli_out(cli, "%s: manifest: matches the records, nothing to repair\n",
                    ofs_store_name(store));
    else
        ofs_cli_out(cli, "%s: manifest: rebuilt from the records (%zu change%s)\n",
                    ofs_store_name(store), changes, changes == 1 ? "" : "s");
    return 0;
}

/* verify_sweep(cli, store, ring, is_target, run_start): after a repair, what interrupted runs
 * left that no listing shows (sweep.h): on a target other hosts push to, only a day old. */
static void verify_sweep(ofs_cli *cli, ofs_store *store, const ofs_keyring *ring, int is_target,
                         int64_t run_start)
{
    ofs_manifest *m = NULL;
    ofs_store_sweep_stats swept;
    int shared = 0;
    if (is_target) {
        /* unreadable: as if shared, the cautious cutoff */
        shared = ofs_manifest_load(&m, store, ring) < 0 ||
                 ofs_sweep_shared(m, NULL, cli->cfg ? cli->cfg->host : NULL);
        ofs_error_clear();
    }
    ofs_sweep(store, ofs_sweep_cutoff(shared, run_start), &swept);
    json_object_set_new(ofs_cli_result(cli), "swept",
                        json_pack("{s:I, s:I, s:I}", "objects", (json_int_t)swept.objects,
                                  "bytes", (json_int_t)swept.bytes, "folders",
                                  (json_int_t)swept.folders));
    ofs_manifest_free(m);
}

/* verify_manifest_lacks(store, ring, ids, count): 1 if the store has no manifest, or one that
 * lacks a committed backup and lists nothing without a record (ids): what a manifest save
 * that failed after a commit leaves. Anything else is verify's to report, not to replace. */
static int verify_manifest_lacks(ofs_store *store, const ofs_keyring *ring, char **ids,
                                 size_t count)
{
    ofs_manifest *m = NULL;
    char id[256];
    int rc = ofs_manifest_load(&m, store, ring);
    if (rc == 0)
        rc = ofs_manifest_lacked(m, store, id, sizeof(id));
    for (size_t i = 0; rc == 1 && i < m->count; i++) {
        size_t j = 0;
        while (j < count && strcmp(ids[j], m->entries[i].id) != 0)
            j++;
        if (j == count)
            rc = 0; /* an entry whose record is gone: damage, reported */
    }
    ofs_manifest_free(m);
    return rc == 1 || rc == OFS_ENOTFOUND;
}

int ofs_cmd_verify(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "all", no_argument, NULL, VERIFY_OPT_ALL },
        { "from", required_argument, NULL, VERIFY_OPT_FROM },
        { "read-data", no_argument, NULL, VERIFY_OPT_READ_DATA },
        { "repair", no_argument, NULL, VERIFY_OPT_REPAIR },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *from = NULL, *id = NULL;
    const ofs_keyring *ring;
    ofs_store *store = NULL;
    ofs_verify_stats stats = { 0 };
    verify_report report = { .cli = cli };
    char **ids = NULL, *spool = NULL;
    size_t count = 0;
    int index = 0, opt, rc, all = 0, read_data = 0, repair = 0, first_code = 0;
    int64_t run_start = (int64_t)time(NULL);

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == VERIFY_OPT_ALL)
            all = 1;
        else if (opt == VERIFY_OPT_FROM)
            from = arg;
        else if (opt == VERIFY_OPT_READ_DATA)
            read_data = 1;
        else if (opt == VERIFY_OPT_REPAIR)
            repair = 1;
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        id = argv[index++];
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if (id && all)
        return ofs_cli_usage_error(cli, "a backup id and --all exclude each other");
    if (id && repair)
        return ofs_cli_usage_error(cli, "--repair rebuilds a whole store's manifest: no backup id");
    /* a repair writes the manifest: not while a backup or push may be writing it too */
    if ((rc = ofs_cli_key(cli, 1, &ring)) < 0 || (repair && (rc = ofs_cli_lock(cli)) < 0) ||
        (rc = ofs_cli_open_source(cli, from, &store)) < 0)
        return rc;
    if (read_data && cli->cfg && !(spool = ofs_cli_cache_dir(cli->cfg))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    report.problems = json_array();
    /* repaired first, so what follows verifies the repaired store */
    if (repair) {
        if ((rc = verify_repair(cli, store, ring, &report)) < 0)
            goto cleanup;
        verify_sweep(cli, store, ring, from != NULL, run_start);
    }

    if (id) {
        if ((rc = ofs_verify_backup(store, ring, id, read_data, spool, verify_on_problem,
                                    &report, &stats)) < 0)
            first_code = rc;
    } else {
        ofs_object_info info;
        if ((rc = ofs_cli_record_ids(store, &ids, &count)) < 0)
            goto cleanup;
        /* records the manifest lacks, or no manifest at all (a disk that filled at it, a
         * deleted file): rebuilt from them now, as the backup's error said, when no other run
         * holds the lock; if that fails, the problem is reported below */
        if (!repair && count > 0 && verify_manifest_lacks(store, ring, ids, count) &&
            (ofs_cli_lock(cli) < 0 || verify_repair(cli, store, ring, &report) < 0))
            ofs_log_warn("%s; the manifest is not rebuilt now", ofs_error_last());
        for (size_t i = 0; i < count; i++) {
            if ((rc = ofs_verify_backup(store, ring, ids[i], read_data, spool,
                                        verify_on_problem, &report, &stats)) < 0 && !first_code)
                first_code = rc;
        }
        /* an empty store without a manifest is new, not damaged */
        rc = ofs_store_stat(store, OFS_MANIFEST_KEY, &info);
        if (count > 0 || rc != OFS_ENOTFOUND) {
            if ((rc = ofs_verify_manifest(store, ring, verify_on_problem, &report, &stats)) < 0 &&
                !first_code)
                first_code = rc;
        }
    }

    char bytes[32];
    ofs_format_size(stats.bytes, bytes, sizeof(bytes));
    ofs_cli_out(cli, "verified %llu backup%s in %s: %llu objects%s; %llu problem%s\n",
                (unsigned long long)stats.backups, stats.backups == 1 ? "" : "s",
                ofs_store_name(store), (unsigned long long)stats.objects,
                read_data ? "" : " (sizes and SHA-256; --read-data also decrypts every file)",
                (unsigned long long)stats.problems, stats.problems == 1 ? "" : "s");
    if (read_data)
        ofs_cli_out(cli, "read back %llu %s, %s, each checked against its SHA-256\n",
                    (unsigned long long)stats.files, ofs_text_plural(stats.files, "file", "files"),
                    bytes);
    json_t *result = ofs_cli_result(cli);
    json_object_set_new(result, "store", json_string(ofs_store_name(store)));
    json_object_set_new(result, "backups", json_integer((json_int_t)stats.backups));
    json_object_set_new(result, "objects", json_integer((json_int_t)stats.objects));
    json_object_set_new(result, "files", json_integer((json_int_t)stats.files));
    json_object_set_new(result, "bytes", json_integer((json_int_t)stats.bytes));
    json_object_set(result, "problems", report.problems);
    rc = 0;
    if (first_code)
        rc = ofs_error_set(first_code, "%s: %llu problem%s found (the first: %s)",
                           ofs_store_name(store), (unsigned long long)stats.problems,
                           stats.problems == 1 ? "" : "s", ofs_error_name(first_code));
cleanup:
    free(spool);
    ofs_cli_free_ids(ids, count);
    json_decref(report.problems);
    json_decref(report.changes);
    ofs_store_free(store);
    return rc;
}
