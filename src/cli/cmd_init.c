/* cmd_init.c - `offsite init`: state directories, a key, and a check of every target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"

#define INIT_PROBE_DATA "offsite probe\n"

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

/* init_probe(store, host): write, read back, rewrite and delete a small object: can we write,
 * read, delete - and update the manifest the way push will (ofs_store_replace, which also
 * tells whether that is atomic: caps afterwards)? */
static int init_probe(ofs_store *store, const char *host)
{
    char key[512];
    ofs_object_info info;
    int rc;

    snprintf(key, sizeof(key), "offsite-probe/%s/probe", host);
    /* a probe an interrupted init left would make "create if absent" fail */
    if ((rc = ofs_store_del(store, key)) < 0)
        return ofs_error_wrap(rc, "delete");
    if ((rc = ofs_store_replace(store, key, "", INIT_PROBE_DATA, strlen(INIT_PROBE_DATA),
                                NULL)) < 0)
        return ofs_error_wrap(rc, "write");
    if ((rc = ofs_store_stat(store, key, &info)) < 0)
        return ofs_error_wrap(rc, "read back");
    if (info.size != strlen(INIT_PROBE_DATA))
        return ofs_error_set(OFS_ECORRUPT, "read back: '%s' has %llu bytes, wrote %zu", key,
                             (unsigned long long)info.size, strlen(INIT_PROBE_DATA));
    if ((rc = ofs_store_replace(store, key, info.version, INIT_PROBE_DATA,
                                strlen(INIT_PROBE_DATA), NULL)) < 0)
        return ofs_error_wrap(rc, "rewrite");
    if ((rc = ofs_store_del(store, key)) < 0)
        return ofs_error_wrap(rc, "delete");
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
        int trc = ofs_cli_open_target(cli, name, &store);
        if (trc == 0)
            trc = init_probe(store, cfg->host);
        if (trc == 0) {
            int atomic = (ofs_store_caps(store) & OFS_STORE_CAP_ATOMIC_REPLACE) != 0;
            ofs_cli_out(cli, "target %s: ok (%s; manifest updates %s)\n", name,
                        store->description ? store->description : cfg->targets[i].type,
                        atomic ? "atomic" : "check-then-write: see docs/operator-guide.md, "
                        "several hosts on one target");
            json_array_append_new(targets, json_pack("{s:s, s:b, s:b}", "name", name, "ok", 1,
                                                     "atomic_manifest", atomic));
        } else {
            ofs_cli_out(cli, "target %s: failed: %s\n", name, ofs_error_last());
            ofs_log_error("target '%s': %s", name, ofs_error_last());
            json_array_append_new(targets, json_pack("{s:s, s:b, s:s}", "name", name, "ok", 0,
                                                     "message", ofs_error_last()));
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
