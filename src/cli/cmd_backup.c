/* cmd_backup.c - `offsite backup`: every set (or one) into staging, then push to the targets,
 * then (with [retention] auto = true) prune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/backup.h"
#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/log.h"

enum { BACKUP_OPT_SET = 300, BACKUP_OPT_FULL, BACKUP_OPT_DESCRIPTION, BACKUP_OPT_NO_PUSH };

/* backup_report(cli, rec, stats, list): the result line and the JSON entry of one backup. */
static void backup_report(ofs_cli *cli, const ofs_record *rec, const ofs_backup_stats *stats,
                          json_t *list)
{
    char bytes[32], stored[32], rate[32], seconds[32];
    ofs_format_size(stats->bytes, bytes, sizeof(bytes));
    ofs_format_size(stats->stored_bytes, stored, sizeof(stored));
    ofs_format_rate(stats->bytes, stats->seconds, rate, sizeof(rate));
    ofs_format_seconds(stats->seconds, seconds, sizeof(seconds));
    if (rec->base)
        /* a differential: say what travelled, not the size of the whole tree */
        ofs_cli_out(cli, "backup %s (%s of %s, %s): %llu files of %s; %llu entries stored "
                    "(%llu as appended tails), %llu kept from the base, %llu deleted; %s stored "
                    "in %u volumes; %s\n", rec->id, rec->kind, rec->base, rec->class_name,
                    (unsigned long long)stats->files, bytes, (unsigned long long)stats->stored,
                    (unsigned long long)stats->appended, (unsigned long long)stats->kept,
                    (unsigned long long)stats->deleted, stored, stats->volumes, seconds);
    else
        ofs_cli_out(cli, "backup %s (%s, %s): %llu files, %s read, %s stored in %u volumes; "
                    "%s, %s\n", rec->id, rec->kind, rec->class_name,
                    (unsigned long long)stats->files, bytes, stored, stats->volumes, seconds,
                    rate);
    json_t *entry = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:I, s:f}",
                              "id", rec->id, "set", rec->set, "kind", rec->kind,
                              "class", rec->class_name,
                              "files", (json_int_t)stats->files,
                              "bytes", (json_int_t)stats->bytes,
                              "stored_bytes", (json_int_t)stats->stored_bytes,
                              "volumes", (int)stats->volumes,
                              "changed_while_read", (json_int_t)stats->changed_while_read,
                              "seconds", stats->seconds);
    if (entry) {
        json_object_set_new(entry, "base", rec->base ? json_string(rec->base) : json_null());
        json_object_set_new(entry, "entries_stored", json_integer((json_int_t)stats->stored));
        json_object_set_new(entry, "appended", json_integer((json_int_t)stats->appended));
        json_object_set_new(entry, "kept", json_integer((json_int_t)stats->kept));
        json_object_set_new(entry, "deleted", json_integer((json_int_t)stats->deleted));
        json_array_append_new(list, entry);
    }
}

int ofs_cmd_backup(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "set", required_argument, NULL, BACKUP_OPT_SET },
        { "full", no_argument, NULL, BACKUP_OPT_FULL },
        { "description", required_argument, NULL, BACKUP_OPT_DESCRIPTION },
        { "no-push", no_argument, NULL, BACKUP_OPT_NO_PUSH },
        { NULL, 0, NULL, 0 }
    };
    ofs_backup_options opts = { 0 };
    const char *arg, *only = NULL;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring;
    ofs_store *staging = NULL;
    json_t *backups = NULL;
    ofs_error_first first = { 0 };
    int index = 0, opt, rc, no_push = 0;
    uint64_t changed = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        switch (opt) {
        case BACKUP_OPT_SET: only = arg; break;
        case BACKUP_OPT_FULL: opts.full = 1; break;
        case BACKUP_OPT_DESCRIPTION: opts.description = arg; break;
        case BACKUP_OPT_NO_PUSH: no_push = 1; break;
        }
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (only && !ofs_config_find_set(cfg, only))
        return ofs_error_set(OFS_ENOTFOUND, "no set '%s' in '%s'", only, cfg->path);
    /* the key before the lock and staging: a refused key file must change nothing */
    if ((rc = ofs_cli_key(cli, 1, &ring)) < 0 || (rc = ofs_cli_lock(cli)) < 0 ||
        (rc = ofs_cli_open_staging(cli, 1, &staging)) < 0)
        return rc;
    opts.show_progress = cli->show_progress;
    backups = json_array();

    for (size_t i = 0; i < cfg->set_count; i++) {
        const ofs_config_set *set = &cfg->sets[i];
        ofs_backup_stats stats = { 0 };
        ofs_record *rec = NULL;
        if (only && strcmp(only, set->name) != 0)
            continue;
        rc = ofs_backup_run(cfg, set, staging, ring, &opts, &rec, &stats);
        if (rc == 0) {
            backup_report(cli, rec, &stats, backups);
            changed += stats.changed_while_read;
        } else {
            /* one failed set must not cost the others their nightly backup */
            ofs_error_first_add(&first, ofs_error_wrap(rc, "backup of set '%s' failed",
                                                       set->name));
        }
        ofs_record_free(rec);
    }
    json_object_set(ofs_cli_result(cli), "backups", backups);

    /* staging may also hold committed backups an earlier push did not deliver */
    int push_rc = 0;
    char *push_message = NULL;
    if (!no_push && cfg->target_count > 0) {
        push_rc = ofs_cli_push_targets(cli, staging, ring, NULL);
        if (push_rc < 0 && first.code) {
            ofs_log_error("%s", ofs_error_last()); /* the backup's failure is the one returned */
        } else if (push_rc < 0) {
            ofs_error_wrap(push_rc, "backup committed in staging, not replicated (the next push "
                           "resumes)");
            push_message = ofs_error_save();
        }
    }

    /* auto prune only after everything succeeded: a failed backup or push is the night's news,
     * and the stores are left as they are for the next run to look at */
    int prune_rc = 0;
    char *prune_message = NULL;
    if (!first.code && push_rc == 0 && cfg->retention.auto_prune) {
        prune_rc = ofs_cli_prune_stores(cli, ring, NULL, !no_push, 0, 0);
        if (prune_rc < 0) {
            ofs_error_wrap(prune_rc, "backup committed%s, but", no_push ? "" : " and pushed");
            prune_message = ofs_error_save();
        }
    }

    json_object_set_new(ofs_cli_result(cli), "changed_while_read", json_integer((json_int_t)changed));
    /* one exit code per outcome (error.h); --json's error.code still names the kind */
    if (first.code) {
        rc = ofs_error_first_end(&first, "%zu sets failed, the first", first.failures);
        cli->exit_code = OFS_EXIT_SET_FAILED;
    } else if (push_rc < 0) {
        rc = ofs_error_restore(push_rc, push_message);
        cli->exit_code = OFS_EXIT_PUSH_FAILED;
    } else if (prune_rc < 0) {
        rc = ofs_error_restore(prune_rc, prune_message);
        cli->exit_code = OFS_EXIT_PRUNE_FAILED;
    } else if (changed > 0) {
        /* committed, but not a clean copy of a moment in time (GNU tar exits 1 here; offsite's 1
         * is a generic error, so this outcome has its own code) */
        fprintf(stderr, "offsite: %llu file%s changed while %s read (stored as read and flagged "
                "in the catalog)\n", (unsigned long long)changed, changed == 1 ? "" : "s",
                changed == 1 ? "it was" : "they were");
        json_object_set_new(ofs_cli_result(cli), "warning",
                            json_string("files changed while they were read"));
        rc = OFS_EXIT_WARNINGS;
    } else {
        rc = 0;
    }
    json_decref(backups);
    ofs_error_first_free(&first);
    free(push_message);
    free(prune_message);
    ofs_store_free(staging);
    return rc;
}
