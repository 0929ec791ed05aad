/* cmd_restore.c - `offsite restore [BACKUP|--latest] ... --target DIR`. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/restore.h"
#include "offsite/text.h"

enum {
    RESTORE_OPT_LATEST = 300, RESTORE_OPT_SET, RESTORE_OPT_FROM, RESTORE_OPT_TARGET,
    RESTORE_OPT_FILES, RESTORE_OPT_DRY_RUN, RESTORE_OPT_OVERWRITE
};

typedef struct restore_listing {
    ofs_cli *cli;
    json_t *entries;
    ofs_text_buf name;    /* the escaped path being printed */
    pthread_mutex_t lock; /* restore workers may report from several threads */
} restore_listing;

static void restore_on_entry(void *ctx, const char *path, const char *action)
{
    restore_listing *l = ctx;
    pthread_mutex_lock(&l->lock);
    if (l->cli->json) {
        json_t *o = json_pack("{s:s}", "action", action);
        if (o) {
            ofs_json_set_name(o, "path", path);
            json_array_append_new(l->entries, o);
        }
    } else {
        printf("%s %s\n", action, ofs_text_show(&l->name, path));
    }
    pthread_mutex_unlock(&l->lock);
}

/* restore_choose_set(cli, set, &chosen): --latest needs a set when there are several. */
static int restore_choose_set(ofs_cli *cli, const char *set, const char **chosen)
{
    const ofs_config *cfg = NULL;
    int rc;
    *chosen = set;
    if (set)
        return 0;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (cfg->set_count == 1) {
        *chosen = cfg->sets[0].name;
        return 0;
    }
    return ofs_cli_usage_error(cli, "--latest needs --set S: '%s' configures %zu sets",
                               cfg->path, cfg->set_count);
}

int ofs_cmd_restore(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "latest", no_argument, NULL, RESTORE_OPT_LATEST },
        { "set", required_argument, NULL, RESTORE_OPT_SET },
        { "from", required_argument, NULL, RESTORE_OPT_FROM },
        { "target", required_argument, NULL, RESTORE_OPT_TARGET },
        { "files", no_argument, NULL, RESTORE_OPT_FILES },
        { "dry-run", no_argument, NULL, RESTORE_OPT_DRY_RUN },
        { "overwrite", no_argument, NULL, RESTORE_OPT_OVERWRITE },
        { NULL, 0, NULL, 0 }
    };
    ofs_restore_options opts = { 0 };
    ofs_restore_stats stats = { 0 };
    restore_listing listing = { .cli = cli, .lock = PTHREAD_MUTEX_INITIALIZER };
    const char *arg, *set = NULL, *from = NULL, *id = NULL;
    const ofs_keyring *ring;
    const ofs_config *cfg = NULL;
    ofs_store *store = NULL;
    ofs_record *rec = NULL;
    int index = 0, opt, rc, latest = 0, files = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        switch (opt) {
        case RESTORE_OPT_LATEST: latest = 1; break;
        case RESTORE_OPT_SET: set = arg; break;
        case RESTORE_OPT_FROM: from = arg; break;
        case RESTORE_OPT_TARGET: opts.target_dir = arg; break;
        case RESTORE_OPT_FILES: files = 1; break;
        case RESTORE_OPT_DRY_RUN: opts.dry_run = 1; break;
        case RESTORE_OPT_OVERWRITE: opts.overwrite = 1; break;
        }
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    /* operands: BACKUP unless --latest, then (with --files) the patterns */
    if (!latest) {
        if (index >= argc)
            return ofs_cli_usage_error(cli, "name a backup (see offsite list) or pass --latest");
        id = argv[index++];
    }
    if (files) {
        if (index >= argc)
            return ofs_cli_usage_error(cli, "--files needs at least one pattern");
        opts.patterns = argv + index;
        opts.pattern_count = (size_t)(argc - index);
    } else if (index < argc) {
        return ofs_cli_usage_error(cli, "unexpected argument '%s'%s", argv[index],
                                   latest ? " (a backup id and --latest exclude each other)" : "");
    }
    if (!opts.target_dir) {
        /* never guess where thousands of files should go */
        return ofs_cli_usage_error(cli, "restore needs --target DIR\n"
                                   "HINT: --target / puts every file back where it was; "
                                   "--target /srv/restore restores beside the live files for a "
                                   "look first");
    }
    if (latest && (rc = restore_choose_set(cli, set, &set)) != 0)
        return rc;

    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 1, &ring)) < 0 ||
        (rc = ofs_cli_find_backup(cli, from, id, set, latest, ring, &store, &rec)) < 0)
        goto cleanup;
    opts.parallel = cfg->parallel; /* volumes extracted at once */
    listing.entries = json_array();
    opts.show_progress = cli->show_progress;
    if (opts.dry_run || cli->verbose) {
        opts.on_entry = restore_on_entry;
        opts.ctx = &listing;
    }
    rc = ofs_restore_run(store, ring, rec, &opts, &stats);
    json_t *result = ofs_cli_result(cli);
    json_object_set_new(result, "backup", json_string(rec->id));
    json_object_set_new(result, "store", json_string(ofs_store_name(store)));
    json_object_set_new(result, "target", json_string(opts.target_dir));
    json_object_set_new(result, "dry_run", json_boolean(opts.dry_run));
    if (opts.on_entry)
        json_object_set(result, "entries", listing.entries);
    if (rc < 0) {
        rc = ofs_error_wrap(rc, "restore of backup '%s' from %s", rec->id, ofs_store_name(store));
        goto cleanup;
    }
    json_object_set_new(result, "files", json_integer((json_int_t)stats.files));
    json_object_set_new(result, "dirs", json_integer((json_int_t)stats.dirs));
    json_object_set_new(result, "symlinks", json_integer((json_int_t)stats.symlinks));
    json_object_set_new(result, "hardlinks", json_integer((json_int_t)stats.hardlinks));
    json_object_set_new(result, "bytes", json_integer((json_int_t)stats.bytes));
    json_object_set_new(result, "backups_kept", json_integer((json_int_t)stats.backups_kept));
    json_object_set_new(result, "seconds", json_real(stats.seconds));
    if (!opts.dry_run) {
        json_object_set_new(result, "first_byte_seconds", json_real(stats.first_byte));
        json_object_set_new(result, "sync_wait_seconds", json_real(stats.sync_wait));
        ofs_log_debug("restore %s: first byte written after %.2f s, volumes done after %.2f s, "
                     "%.2f s waited at the end for the files to be durable", rec->id,
                     stats.first_byte, stats.volumes, stats.sync_wait);
    }
    char bytes[32], seconds[32], rate[32];
    ofs_format_size(stats.bytes, bytes, sizeof(bytes));
    ofs_format_seconds(stats.seconds, seconds, sizeof(seconds));
    ofs_format_rate(stats.bytes, stats.seconds, rate, sizeof(rate));
    if (opts.dry_run)
        ofs_cli_out(cli, "dry run of %s from %s into %s: nothing written\n", rec->id,
                    ofs_store_name(store), opts.target_dir);
    else
        ofs_cli_out(cli, "restored %s from %s into %s: %llu files (%s), %llu directories, "
                    "%llu symlinks, %llu hard links; %llu .bak copies kept; %s, %s\n", rec->id,
                    ofs_store_name(store), opts.target_dir, (unsigned long long)stats.files,
                    bytes, (unsigned long long)stats.dirs, (unsigned long long)stats.symlinks,
                    (unsigned long long)stats.hardlinks, (unsigned long long)stats.backups_kept,
                    seconds, rate);
cleanup:
    ofs_text_buf_free(&listing.name);
    json_decref(listing.entries);
    ofs_record_free(rec);
    ofs_store_free(store);
    return rc;
}
