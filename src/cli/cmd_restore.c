/* cmd_restore.c - `offsite restore [BACKUP|--latest] ... --target DIR`. */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/restore.h"
#include "offsite/text.h"

enum {
    RESTORE_OPT_LATEST = 300, RESTORE_OPT_SET, RESTORE_OPT_FROM, RESTORE_OPT_TARGET,
    RESTORE_OPT_FILES, RESTORE_OPT_DRY_RUN, RESTORE_OPT_NO_SAFETY, RESTORE_OPT_BAK_BESIDE,
    RESTORE_OPT_MIRROR, RESTORE_OPT_SKIP_EXISTING, RESTORE_OPT_BEFORE, RESTORE_OPT_YES,
    RESTORE_OPT_SAFETY_DIR
};

typedef struct restore_listing {
    ofs_cli *cli;
    const char *target;
    int yes;              /* --yes: never ask */
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

/* ---- confirmation ---- */

int ofs_cli_restore_asks(const ofs_restore_plan *plan, int interactive, int yes)
{
    return interactive && !yes && (plan->replace > 0 || plan->remove > 0);
}

int ofs_cli_restore_answer(const char *line)
{
    size_t n;
    if (!line)
        return 0;
    while (isspace((unsigned char)*line))
        line++;
    for (n = strlen(line); n > 0 && isspace((unsigned char)line[n - 1]); n--)
        ;
    return (n == 1 && strncasecmp(line, "y", 1) == 0) ||
           (n == 3 && strncasecmp(line, "yes", 3) == 0);
}

/* Shows the plan's counts and asks once; only called with a terminal on stdin and stderr. */
static int restore_ask(void *ctx, const ofs_restore_plan *plan)
{
    restore_listing *c = ctx;
    char line[64];
    if (!ofs_cli_restore_asks(plan, 1, c->yes))
        return 1;
    ofs_cli_err(c->cli, "restore into %s: %llu to create, %llu to replace, %llu to remove, "
                "%llu unchanged, %llu to skip\n", c->target, (unsigned long long)plan->create,
                (unsigned long long)plan->replace, (unsigned long long)plan->remove,
                (unsigned long long)plan->unchanged, (unsigned long long)plan->skip);
    fprintf(stderr, "what is replaced or removed is moved into the safety area; proceed? [y/N] ");
    fflush(stderr);
    return ofs_cli_restore_answer(fgets(line, sizeof(line), stdin));
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
        { "no-safety-copies", no_argument, NULL, RESTORE_OPT_NO_SAFETY },
        { "overwrite", no_argument, NULL, RESTORE_OPT_NO_SAFETY },
        { "bak-beside", no_argument, NULL, RESTORE_OPT_BAK_BESIDE },
        { "safety-dir", required_argument, NULL, RESTORE_OPT_SAFETY_DIR },
        { "mirror", no_argument, NULL, RESTORE_OPT_MIRROR },
        { "skip-existing", no_argument, NULL, RESTORE_OPT_SKIP_EXISTING },
        { "before", required_argument, NULL, RESTORE_OPT_BEFORE },
        { "yes", no_argument, NULL, RESTORE_OPT_YES },
        { NULL, 0, NULL, 0 }
    };
    ofs_restore_options opts = { 0 };
    ofs_restore_stats stats = { 0 };
    restore_listing listing = { .cli = cli, .lock = PTHREAD_MUTEX_INITIALIZER };
    const char *arg, *set = NULL, *from = NULL, *id = NULL, *before_text = NULL;
    const ofs_keyring *ring;
    const ofs_config *cfg = NULL;
    ofs_store *store = NULL;
    ofs_record *rec = NULL;
    int64_t before = INT64_MAX;
    char label[300], *spool = NULL;
    int index = 0, opt, rc, latest = 0, files = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        switch (opt) {
        case RESTORE_OPT_LATEST: latest = 1; break;
        case RESTORE_OPT_SET: set = arg; break;
        case RESTORE_OPT_FROM: from = arg; break;
        case RESTORE_OPT_TARGET: opts.target_dir = arg; break;
        case RESTORE_OPT_FILES: files = 1; break;
        case RESTORE_OPT_DRY_RUN: opts.dry_run = 1; break;
        case RESTORE_OPT_NO_SAFETY: opts.overwrite = 1; break;
        case RESTORE_OPT_BAK_BESIDE: opts.bak_beside = 1; break;
        case RESTORE_OPT_SAFETY_DIR: opts.safety_dir = arg; break;
        case RESTORE_OPT_MIRROR: opts.mirror = 1; break;
        case RESTORE_OPT_SKIP_EXISTING: opts.skip_existing = 1; break;
        case RESTORE_OPT_BEFORE: before_text = arg; latest = 1; break;
        case RESTORE_OPT_YES: listing.yes = 1; break;
        }
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (opts.overwrite + opts.bak_beside + opts.skip_existing > 1)
        return ofs_cli_usage_error(cli, "--no-safety-copies (--overwrite), --bak-beside and "
                                   "--skip-existing exclude each other");
    if (opts.mirror && opts.skip_existing)
        return ofs_cli_usage_error(cli, "--mirror makes directories exactly as backed up; "
                                   "--skip-existing leaves files as they are: choose one");
    if (opts.safety_dir && (opts.overwrite || opts.bak_beside))
        return ofs_cli_usage_error(cli, "--safety-dir goes with the safety area, not with %s",
                                   opts.overwrite ? "--no-safety-copies" : "--bak-beside");
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
    if (before_text && id)
        return ofs_cli_usage_error(cli, "--before picks the newest backup made before a date: "
                                   "it replaces a backup id");
    if (latest && (rc = restore_choose_set(cli, set, &set)) != 0)
        return rc;
    if (before_text && (rc = ofs_cli_date(cli, "--before", before_text, &before)) != 0)
        return rc;

    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 1, &ring)) < 0 ||
        (rc = latest ? ofs_cli_find_before(cli, from, set, before, ring, &store, &rec)
                     : ofs_cli_find_backup(cli, from, id, NULL, 0, ring, &store, &rec)) < 0)
        goto cleanup;
    /* the set's paths say which directories the backup holds whole (mirror, safety_dir) */
    const ofs_config_set *cset = ofs_config_find_set(cfg, rec->set);
    if (cset) {
        opts.roots = cset->paths;
        opts.root_count = cset->path_count;
    } else if (opts.mirror) {
        rc = ofs_error_set(OFS_ECONFIG, "--mirror needs [set %s] in '%s': its paths say which "
                           "directories backup '%s' holds whole", rec->set, cfg->path, rec->id);
        goto cleanup;
    }
    if (!opts.safety_dir && !opts.overwrite && !opts.bak_beside)
        opts.safety_dir = cfg->safety_dir;
    snprintf(label, sizeof(label), "backup %s", rec->id);
    opts.label = label;
    opts.parallel = cfg->parallel; /* volumes extracted at once */
    if (!(spool = ofs_cli_cache_dir(cfg))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    opts.spool_dir = spool;
    listing.entries = json_array();
    opts.show_progress = cli->show_progress;
    if (opts.dry_run || cli->verbose)
        opts.on_entry = restore_on_entry;
    /* a person at a terminal is asked before anything is replaced or removed; scripts and
     * drills (no terminal) go on as before */
    listing.target = opts.target_dir;
    opts.ctx = &listing;
    if (!opts.dry_run && !listing.yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO))
        opts.confirm = restore_ask;
    rc = ofs_restore_run(store, ring, rec, &opts, &stats);
    json_t *result = ofs_cli_result(cli);
    json_object_set_new(result, "backup", json_string(rec->id));
    json_object_set_new(result, "store", json_string(ofs_store_name(store)));
    json_object_set_new(result, "target", json_string(opts.target_dir));
    json_object_set_new(result, "dry_run", json_boolean(opts.dry_run));
    if (opts.on_entry)
        json_object_set(result, "entries", listing.entries);
    json_object_set_new(result, "safety_area", stats.safety_path[0]
                                                   ? json_string(stats.safety_path)
                                                   : json_null());
    if (rc < 0) {
        if (stats.safety_path[0])
            ofs_cli_err(cli, "what this restore moved out of the way is in %s (INDEX.txt there "
                        "says how to put it back)\n", stats.safety_path);
        rc = ofs_error_wrap(rc, "restore of backup '%s' from %s", rec->id, ofs_store_name(store));
        goto cleanup;
    }
    json_object_set_new(result, "files", json_integer((json_int_t)stats.files));
    json_object_set_new(result, "dirs", json_integer((json_int_t)stats.dirs));
    json_object_set_new(result, "symlinks", json_integer((json_int_t)stats.symlinks));
    json_object_set_new(result, "hardlinks", json_integer((json_int_t)stats.hardlinks));
    json_object_set_new(result, "bytes", json_integer((json_int_t)stats.bytes));
    json_object_set_new(result, "backups_kept", json_integer((json_int_t)stats.backups_kept));
    json_object_set_new(result, "skipped", json_integer((json_int_t)stats.skipped));
    if (opts.dry_run)
        json_object_set_new(result, "plan",
                            json_pack("{s:I, s:I, s:I, s:I, s:I}",
                                      "create", (json_int_t)stats.plan.create,
                                      "replace", (json_int_t)stats.plan.replace,
                                      "remove", (json_int_t)stats.plan.remove,
                                      "unchanged", (json_int_t)stats.plan.unchanged,
                                      "skip", (json_int_t)stats.plan.skip));
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
    if (opts.dry_run) {
        ofs_cli_out(cli, "dry run of %s from %s into %s: %llu to create, %llu to replace, "
                    "%llu to remove, %llu unchanged, %llu to skip; nothing written\n", rec->id,
                    ofs_store_name(store), opts.target_dir,
                    (unsigned long long)stats.plan.create, (unsigned long long)stats.plan.replace,
                    (unsigned long long)stats.plan.remove,
                    (unsigned long long)stats.plan.unchanged,
                    (unsigned long long)stats.plan.skip);
        goto cleanup;
    }
    ofs_cli_out(cli, "restored %s from %s into %s: %llu files (%s), %llu directories, "
                "%llu symlinks, %llu hard links; %s, %s\n", rec->id, ofs_store_name(store),
                opts.target_dir, (unsigned long long)stats.files, bytes,
                (unsigned long long)stats.dirs, (unsigned long long)stats.symlinks,
                (unsigned long long)stats.hardlinks, seconds, rate);
    if (stats.skipped)
        ofs_cli_out(cli, "%llu existing %s left as %s\n", (unsigned long long)stats.skipped,
                    ofs_text_plural(stats.skipped, "entry", "entries"),
                    ofs_text_plural(stats.skipped, "it was", "they were"));
    if (stats.backups_kept && stats.safety_path[0])
        ofs_cli_out(cli, "%llu replaced or removed %s moved into %s (INDEX.txt there says how "
                    "to put each back)\n", (unsigned long long)stats.backups_kept,
                    ofs_text_plural(stats.backups_kept, "entry", "entries"), stats.safety_path);
    else if (stats.backups_kept)
        ofs_cli_out(cli, "%llu .bak %s kept beside the replaced files\n",
                    (unsigned long long)stats.backups_kept,
                    ofs_text_plural(stats.backups_kept, "copy", "copies"));
cleanup:
    free(spool);
    ofs_text_buf_free(&listing.name);
    json_decref(listing.entries);
    ofs_record_free(rec);
    ofs_store_free(store);
    return rc;
}
