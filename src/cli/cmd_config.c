/* cmd_config.c - `offsite config check`: validate the configuration (every value, as loaded
 * for any command), the key file's permissions and what each target's driver can check
 * without the network (ofs_store_check_target), print a summary. Changes nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "offsite/cli.h"
#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/store.h"

/* config_warn_paths(cfg): a set path that does not exist fails backup; it is a warning here,
 * not an error, since restore on a clean machine loads this configuration before the data
 * exists. */
static void config_warn_paths(const ofs_config *cfg)
{
    struct stat st;
    for (size_t i = 0; i < cfg->set_count; i++)
        for (size_t j = 0; j < cfg->sets[i].path_count; j++)
            if (stat(cfg->sets[i].paths[j], &st) < 0)
                ofs_log_warn("set '%s': path '%s': %s (backup fails until it exists)",
                             cfg->sets[i].name, cfg->sets[i].paths[j], strerror(errno));
}

int ofs_cmd_config(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = { { NULL, 0, NULL, 0 } };
    const char *arg;
    const ofs_config *cfg = NULL;
    ofs_keyring *ring = NULL;
    int index = 0, opt, rc;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1)
        ;
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index >= argc || strcmp(argv[index], "check") != 0)
        return ofs_cli_usage_error(cli, index < argc ? "unknown config command '%s'"
                                                     : "config: which one? (check)%s",
                                   index < argc ? argv[index] : "");
    if (index + 1 < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index + 1]);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;

    config_warn_paths(cfg);
    json_t *result = ofs_cli_result(cli);
    const char *key_state;
    rc = ofs_keyring_load(&ring, cfg->key_file);
    if (rc == OFS_ENOTFOUND) {
        /* before `offsite init` there is no key yet: a note, not a failure */
        key_state = "missing";
        ofs_log_warn("key file '%s' does not exist yet\nHINT: 'offsite init' creates it; on a "
                     "clean machine 'offsite key import' restores it from its paper copy",
                     cfg->key_file);
    } else if (rc < 0) {
        return ofs_error_wrap(rc, "'%s'", cfg->path);
    } else {
        key_state = "ok";
    }
    ofs_cli_out(cli, "%s: ok\n  state_dir   %s\n  staging_dir %s\n  key_file    %s (%s",
                cfg->path, cfg->state_dir, cfg->staging_dir, cfg->key_file, key_state);
    if (ring) {
        char hex[17];
        ofs_key_id_hex(ofs_keyring_current(ring)->id, hex);
        ofs_cli_out(cli, ", %zu key%s, current %s", ofs_keyring_count(ring),
                    ofs_keyring_count(ring) == 1 ? "" : "s", hex);
        json_object_set_new(result, "key_id", json_string(hex));
    }
    ofs_cli_out(cli, ")\n  host        %s\n  time_zone   %s\n  parallel    %d\n", cfg->host,
                cfg->time_zone, cfg->parallel);
    json_object_set_new(result, "config", json_string(cfg->path));
    json_object_set_new(result, "key_file", json_string(cfg->key_file));
    json_object_set_new(result, "key", json_string(key_state));

    json_t *sets = json_array();
    for (size_t i = 0; i < cfg->set_count; i++) {
        const ofs_config_set *s = &cfg->sets[i];
        char full_every[64], warn[64], critical[64], volume[32];
        ofs_format_duration(s->full_every, full_every, sizeof(full_every));
        ofs_format_duration(s->warn_after, warn, sizeof(warn));
        ofs_format_duration(s->critical_after, critical, sizeof(critical));
        ofs_format_size(s->volume_size, volume, sizeof(volume));
        ofs_cli_out(cli, "set %s: %zu path%s, %zu exclude%s, volume_size %s, compression %d, "
                    "full_every %s, warn_after %s, critical_after %s\n", s->name, s->path_count,
                    s->path_count == 1 ? "" : "s", s->exclude_count,
                    s->exclude_count == 1 ? "" : "s", volume, s->compression_level, full_every,
                    warn, critical);
        json_t *paths = json_array();
        for (size_t j = 0; j < s->path_count; j++) {
            ofs_cli_out(cli, "    %s\n", s->paths[j]);
            json_array_append_new(paths, json_string(s->paths[j]));
        }
        if (s->retention)
            ofs_cli_out(cli, "    retention %s (on staging and on targets without their own)\n",
                        s->retention);
        json_array_append_new(sets, json_pack("{s:s, s:o, s:o}", "name", s->name, "paths", paths,
                                              "retention", s->retention
                                                  ? json_string(s->retention) : json_null()));
    }
    json_object_set_new(result, "sets", sets);

    json_t *targets = json_array();
    for (size_t i = 0; i < cfg->target_count; i++) {
        const ofs_config_target *t = &cfg->targets[i];
        const char *where = t->path ? t->path : t->url ? t->url : t->bucket ? t->bucket : "";
        if ((rc = ofs_store_check_target(t)) < 0) {
            json_decref(targets);
            ofs_keyring_free(ring);
            return ofs_error_wrap(rc, "'%s'", cfg->path);
        }
        ofs_cli_out(cli, "target %s: %s %s\n", t->name, t->type, where);
        json_array_append_new(targets, json_pack("{s:s, s:s, s:s}", "name", t->name,
                                                 "type", t->type, "where", where));
    }
    if (cfg->target_count == 0)
        ofs_cli_out(cli, "no targets: backups stay in staging (not off-site)\n");
    json_object_set_new(result, "targets", targets);
    ofs_keyring_free(ring);
    return 0;
}
