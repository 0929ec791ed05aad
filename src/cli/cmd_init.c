/* cmd_init.c - `offsite init`: state directories, a key, and a check of every target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "offsite/store_check.h"

/* init_parent_dir(path): create the directory that will hold path (mode 0700). */
static int init_parent_dir(const char *path)
{
    char *copy = strdup(path);
    int rc = 0;
    if (!copy)
        return ofs_error_set(OFS_ERROR, "out of memory");
    char *slash = strrchr(copy, '/');
    if (slash && slash != copy) {
        *slash = '\0';
        rc = ofs_mkdir_p(copy, 0700);
    }
    free(copy);
    return rc;
}

/* init_report(cli, name, store, a, targets): one target's line(s) and JSON. 0 if push can
 * work there (put, get, list and the manifest update allowed), else OFS_EDENIED naming what
 * is refused. A refused delete is fine: a write-only target. */
static int init_report(ofs_cli *cli, const char *name, const ofs_store *store,
                       const ofs_store_abilities *a, json_t *targets)
{
    json_t *may = json_pack("{s:s, s:s, s:s, s:s, s:s}", "put", ofs_store_able_name(a->put),
                            "get", ofs_store_able_name(a->get),
                            "list", ofs_store_able_name(a->list),
                            "delete", ofs_store_able_name(a->del),
                            "replace", ofs_store_able_name(a->replace));
    const char *missing = a->put != OFS_ABLE_YES ? "put" : a->get != OFS_ABLE_YES ? "get"
                          : a->list != OFS_ABLE_YES ? "list"
                          : a->replace != OFS_ABLE_YES ? "replace manifest.json" : NULL;
    int write_only = a->del != OFS_ABLE_YES;

    if (!missing) {
        ofs_cli_out(cli, "target %s: ok (%s; manifest updates %s)\n", name,
                    store->description ? store->description : "",
                    a->atomic ? "atomic" : "check-then-write: see docs/operator-guide.md, "
                    "several hosts on one target");
    }
    ofs_cli_out(cli, "  credentials may: put %s, get %s, list %s, delete %s\n",
                ofs_store_able_name(a->put), ofs_store_able_name(a->get),
                ofs_store_able_name(a->list), ofs_store_able_name(a->del));
    if (write_only && !missing)
        ofs_cli_out(cli, "  write-only target: prune here plans only; pruning is left to a host "
                    "whose credentials may delete (prune_profile, prune --all-hosts) or to "
                    "lifecycle rules\n");
    if (a->probe_kept)
        ofs_cli_out(cli, "  the probe stays as '%s' (delete refused; rewritten by each check): "
                    "%llu probe object%s under %s - a lifecycle rule over that prefix expires "
                    "them (offsite retention sync from a host that may put lifecycle rules)\n",
                    a->probe_key, (unsigned long long)a->probes, a->probes == 1 ? "" : "s",
                    OFS_STORE_PROBE_PREFIX);
    json_array_append_new(targets, json_pack("{s:s, s:b, s:b, s:o, s:b, s:I, s:b}", "name", name,
                                             "ok", !missing, "atomic_manifest", a->atomic,
                                             "may", may, "write_only", write_only,
                                             "probes", (json_int_t)a->probes,
                                             "probe_kept", a->probe_kept));
    if (missing)
        return ofs_error_set(OFS_EDENIED, "these credentials may not %s: push needs put, get, "
                             "list and replacing manifest.json\nHINT: grant s3:PutObject, "
                             "s3:GetObject and s3:ListBucket (the bucket policy or the key's "
                             "permissions)", missing);
    return 0;
}

int ofs_cmd_init(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = { { NULL, 0, NULL, 0 } };
    const ofs_config *cfg = NULL;
    const char *arg;
    int index = 0, opt, rc, first_failure = 0;
    size_t failures = 0;
    json_t *targets = json_array();

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1)
        ;
    if (rc != 0) {
        json_decref(targets);
        return rc == 2 ? 0 : rc;
    }
    if (index < argc) {
        json_decref(targets);
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    }
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        goto cleanup;

    if ((rc = ofs_mkdir_p(cfg->state_dir, 0700)) < 0 ||
        (rc = ofs_mkdir_p(cfg->staging_dir, 0700)) < 0)
        goto cleanup;
    ofs_cli_out(cli, "state directory %s\nstaging directory %s\n", cfg->state_dir,
                cfg->staging_dir);
    json_object_set_new(ofs_cli_result(cli), "state_dir", json_string(cfg->state_dir));
    json_object_set_new(ofs_cli_result(cli), "staging_dir", json_string(cfg->staging_dir));

    struct stat st;
    if (stat(cfg->key_file, &st) == 0) {
        const ofs_keyring *ring;
        char hex[17];
        if ((rc = ofs_cli_key(cli, 1, &ring)) < 0)
            goto cleanup;
        ofs_key_id_hex(ofs_keyring_current(ring)->id, hex);
        ofs_cli_out(cli, "key file %s: key %s (kept)\n", cfg->key_file, hex);
        json_object_set_new(ofs_cli_result(cli), "key_id", json_string(hex));
        json_object_set_new(ofs_cli_result(cli), "key_generated", json_false());
    } else {
        uint8_t id[OFS_KEY_ID_BYTES];
        char hex[17];
        if ((rc = init_parent_dir(cfg->key_file)) < 0 ||
            (rc = ofs_keyring_generate(cfg->key_file, id)) < 0)
            goto cleanup;
        ofs_key_id_hex(id, hex);
        ofs_cli_out(cli, "key file %s: generated key %s\n"
                    "keep a copy: offsite key export (print it and store it off-site)\n",
                    cfg->key_file, hex);
        json_object_set_new(ofs_cli_result(cli), "key_id", json_string(hex));
        json_object_set_new(ofs_cli_result(cli), "key_generated", json_true());
    }

    for (size_t i = 0; i < cfg->target_count; i++) {
        const char *name = cfg->targets[i].name;
        ofs_store *store = NULL;
        ofs_store_abilities a;
        int reported = 0, trc = ofs_cli_open_target(cli, name, &store);
        if (trc == 0)
            trc = ofs_store_check(store, cfg->host, &a);
        if (trc == 0) {
            trc = init_report(cli, name, store, &a, targets);
            reported = 1;
        }
        if (trc < 0) {
            ofs_cli_out(cli, "target %s: failed: %s\n", name, ofs_error_last());
            ofs_log_error("target '%s': %s", name, ofs_error_last());
            if (!reported)
                json_array_append_new(targets, json_pack("{s:s, s:b, s:s}", "name", name, "ok",
                                                         0, "message", ofs_error_last()));
            if (!first_failure)
                first_failure = trc;
            failures++;
        }
        ofs_store_free(store);
    }
    json_object_set(ofs_cli_result(cli), "targets", targets);
    if (first_failure)
        rc = ofs_error_set(first_failure, "%zu of %zu targets failed their check", failures,
                           cfg->target_count);
cleanup:
    json_decref(targets);
    return rc;
}
