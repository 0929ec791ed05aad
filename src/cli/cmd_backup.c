/* cmd_backup.c - `offsite backup`: every set (or those named, or with --scheduled those whose
 * run is due) into staging, then push to the targets, then the post_hooks (which learn the
 * push's outcome), verify_after, and (with [retention] auto = true) prune. Results are kept
 * for `status` and problems notified (backup_after.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/backup.h"
#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/text.h"

enum {
    BACKUP_OPT_SET = 300, BACKUP_OPT_FULL, BACKUP_OPT_DESCRIPTION, BACKUP_OPT_NO_PUSH,
    BACKUP_OPT_DRY_RUN, BACKUP_OPT_WAIT, BACKUP_OPT_SCHEDULED
};

/* backup_report(cli, rec, stats, list): the result line and the JSON entry of one backup. */
static void backup_report(ofs_cli *cli, const ofs_record *rec, const ofs_backup_stats *stats,
                          json_t *list)
{
    char bytes[32], stored[32], rate[32], seconds[32];
    ofs_format_size(stats->bytes, bytes, sizeof(bytes));
    ofs_format_size(stats->stored_bytes, stored, sizeof(stored));
    ofs_format_rate(stats->bytes, stats->seconds, rate, sizeof(rate));
    ofs_format_seconds(stats->seconds, seconds, sizeof(seconds));
    const char *volumes = ofs_text_plural(stats->volumes, "volume", "volumes");
    if (rec->base)
        /* a differential: say what travelled, not the size of the whole tree */
        ofs_cli_out(cli, "backup %s (%s of %s, %s): %llu %s of %s; %llu %s stored "
                    "(%llu as appended tails), %llu kept from the base, %llu deleted; %s stored "
                    "in %u %s; %s\n", rec->id, rec->kind, rec->base, rec->class_name,
                    (unsigned long long)stats->files,
                    ofs_text_plural(stats->files, "file", "files"), bytes,
                    (unsigned long long)stats->stored,
                    ofs_text_plural(stats->stored, "entry", "entries"),
                    (unsigned long long)stats->appended, (unsigned long long)stats->kept,
                    (unsigned long long)stats->deleted, stored, stats->volumes, volumes, seconds);
    else
        ofs_cli_out(cli, "backup %s (%s, %s): %llu %s, %s read, %s stored in %u %s; %s, %s\n",
                    rec->id, rec->kind, rec->class_name, (unsigned long long)stats->files,
                    ofs_text_plural(stats->files, "file", "files"), bytes, stored,
                    stats->volumes, volumes, seconds, rate);
    /* "entries" counts catalog entries as list --json does; "files" regular files only */
    json_t *entry = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:I, s:f}",
                              "id", rec->id, "set", rec->set, "kind", rec->kind,
                              "class", rec->class_name,
                              "entries", (json_int_t)rec->files,
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

/* backup_dry_run_report(cli, set, plan, list): what a backup of set would do. */
static void backup_dry_run_report(ofs_cli *cli, const char *set, const ofs_backup_plan *p,
                                  json_t *list)
{
    char bytes[32], read[32];
    ofs_format_size(p->bytes, bytes, sizeof(bytes));
    ofs_format_size(p->read_bytes, read, sizeof(read));
    ofs_cli_out(cli, "set %s: %s backup (%s): %s\n", set, p->base_id ? "differential" : "full",
                p->class_name, p->why);
    ofs_cli_out(cli, "  would read %llu %s, %s, of %llu %s, %s (%llu catalog %s)\n",
                (unsigned long long)p->read_files, ofs_text_plural(p->read_files, "file", "files"),
                read, (unsigned long long)p->files, ofs_text_plural(p->files, "file", "files"),
                bytes, (unsigned long long)p->entries,
                ofs_text_plural(p->entries, "entry", "entries"));
    if (p->base_id)
        ofs_cli_out(cli, "  against '%s': %llu new, %llu changed, %llu grown (stored as "
                    "tails), %llu unchanged, %llu deleted\n", p->base_id,
                    (unsigned long long)p->new_entries, (unsigned long long)p->changed,
                    (unsigned long long)p->grown, (unsigned long long)p->unchanged,
                    (unsigned long long)p->deleted);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "set", set,
                          "kind", p->base_id ? "diff" : "full", "class", p->class_name,
                          "why", p->why, "entries", (json_int_t)p->entries,
                          "files", (json_int_t)p->files, "bytes", (json_int_t)p->bytes,
                          "read_files", (json_int_t)p->read_files,
                          "read_bytes", (json_int_t)p->read_bytes);
    if (!o)
        return;
    json_object_set_new(o, "base", p->base_id ? json_string(p->base_id) : json_null());
    if (p->base_id) {
        json_object_set_new(o, "new", json_integer((json_int_t)p->new_entries));
        json_object_set_new(o, "changed", json_integer((json_int_t)p->changed));
        json_object_set_new(o, "grown", json_integer((json_int_t)p->grown));
        json_object_set_new(o, "unchanged", json_integer((json_int_t)p->unchanged));
        json_object_set_new(o, "deleted", json_integer((json_int_t)p->deleted));
    }
    json_array_append_new(list, o);
}

/* backup_dry_run(cli, cfg, opts, chosen): backup --dry-run: each chosen set's plan; reads no
 * file content, writes nothing, takes no lock, runs no hook. */
static int backup_dry_run(ofs_cli *cli, const ofs_config *cfg, const ofs_backup_options *opts,
                          const uint8_t *chosen)
{
    const ofs_keyring *ring;
    ofs_store *staging = NULL;
    ofs_error_first first = { 0 };
    json_t *sets = json_array();
    int rc = ofs_cli_key(cli, 1, &ring);
    if (rc < 0)
        goto cleanup;
    if ((rc = ofs_cli_open_staging(cli, 0, &staging)) == OFS_ENOTFOUND) {
        ofs_error_clear(); /* nothing backed up on this machine yet: every set is a full */
        rc = 0;
    } else if (rc < 0) {
        goto cleanup;
    }
    for (size_t i = 0; i < cfg->set_count; i++) {
        ofs_backup_plan plan;
        if (!chosen[i])
            continue;
        rc = ofs_backup_dry_run(cfg, &cfg->sets[i], staging, ring, opts, &plan);
        if (rc == 0)
            backup_dry_run_report(cli, cfg->sets[i].name, &plan, sets);
        else
            ofs_error_first_add(&first, ofs_error_wrap(rc, "set '%s'", cfg->sets[i].name));
        ofs_backup_plan_free(&plan);
    }
    json_object_set_new(ofs_cli_result(cli), "dry_run", json_true());
    json_object_set(ofs_cli_result(cli), "sets", sets);
    if (first.code) {
        rc = ofs_error_first_end(&first, "%zu sets failed, the first", first.failures);
        goto cleanup;
    }
    rc = 0;
    ofs_cli_out(cli, "dry run: nothing was read or written, no hook ran\n");
cleanup:
    ofs_error_first_free(&first);
    json_decref(sets);
    ofs_store_free(staging);
    return rc;
}

/* backup_choose_sets(cfg, names, count, chosen): chosen[i] for each set named by --set
 * (every set if none); an unknown name is OFS_ENOTFOUND listing the sets there are. */
static int backup_choose_sets(const ofs_config *cfg, char **names, size_t count,
                              uint8_t *chosen)
{
    for (size_t i = 0; i < cfg->set_count; i++)
        chosen[i] = count == 0;
    for (size_t n = 0; n < count; n++) {
        const ofs_config_set *set = ofs_config_find_set(cfg, names[n]);
        if (!set) {
            char list[512] = "";
            size_t used = 0;
            for (size_t i = 0; i < cfg->set_count && used < sizeof(list); i++)
                used += (size_t)snprintf(list + used, sizeof(list) - used, "%s'%s'",
                                         i ? ", " : "", cfg->sets[i].name);
            return ofs_error_set(OFS_ENOTFOUND, "no set '%s' in '%s'\nHINT: its sets are %s",
                                 names[n], cfg->path, list);
        }
        chosen[set - cfg->sets] = 1;
    }
    return 0;
}

int ofs_cmd_backup(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "set", required_argument, NULL, BACKUP_OPT_SET },
        { "full", no_argument, NULL, BACKUP_OPT_FULL },
        { "description", required_argument, NULL, BACKUP_OPT_DESCRIPTION },
        { "no-push", no_argument, NULL, BACKUP_OPT_NO_PUSH },
        { "dry-run", no_argument, NULL, BACKUP_OPT_DRY_RUN },
        { "wait", required_argument, NULL, BACKUP_OPT_WAIT },
        { "scheduled", no_argument, NULL, BACKUP_OPT_SCHEDULED },
        { NULL, 0, NULL, 0 }
    };
    ofs_backup_options opts = { .defer_post_hook = 1 };
    const char *arg;
    char **names = NULL;
    size_t name_count = 0;
    uint8_t *chosen = NULL;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring;
    ofs_store *staging = NULL;
    ofs_manifest *current = NULL;
    json_t *backups = NULL;
    ofs_error_first first = { 0 };
    int index = 0, opt, rc, no_push = 0, dry_run = 0, scheduled = 0, ran_at_all = 0;
    uint64_t changed = 0;
    int64_t started = ofs_clock_now();
    char **ids = NULL; /* per set: the committed backup's id, for the post_hook */
    int *set_ok = NULL; /* per set: 1 committed, -1 failed, 0 not run */

    /* --set may be repeated: at most one name per argument */
    if (!(names = calloc((size_t)argc + 1, sizeof(*names))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        switch (opt) {
        case BACKUP_OPT_SET: names[name_count++] = (char *)arg; break;
        case BACKUP_OPT_DRY_RUN: dry_run = 1; break;
        case BACKUP_OPT_FULL: opts.full = 1; break;
        case BACKUP_OPT_DESCRIPTION: opts.description = arg; break;
        case BACKUP_OPT_NO_PUSH: no_push = 1; break;
        case BACKUP_OPT_SCHEDULED: scheduled = 1; break;
        case BACKUP_OPT_WAIT:
            if (ofs_parse_duration(arg, &cli->lock_wait) < 0) {
                rc = ofs_cli_usage_error(cli, "--wait: %s", ofs_error_last());
                goto cleanup;
            }
            break;
        }
    }
    if (rc != 0) {
        rc = rc == 2 ? 0 : rc;
        goto cleanup;
    }
    if (index < argc) {
        rc = ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
        goto cleanup;
    }
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        goto cleanup;
    if (!(chosen = calloc(cfg->set_count + 1, 1))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = backup_choose_sets(cfg, names, name_count, chosen)) < 0)
        goto cleanup;
    if (dry_run) {
        rc = backup_dry_run(cli, cfg, &opts, chosen);
        goto cleanup;
    }
    /* the key before the lock and staging: a refused key file must change nothing */
    if ((rc = ofs_cli_key(cli, 1, &ring)) < 0 || (rc = ofs_cli_lock(cli)) < 0 ||
        (rc = ofs_cli_open_staging(cli, 1, &staging)) < 0)
        goto cleanup;
    ran_at_all = 1;
    opts.show_progress = cli->show_progress;
    backups = json_array();
    ids = calloc(cfg->set_count + 1, sizeof(*ids));
    set_ok = calloc(cfg->set_count + 1, sizeof(*set_ok));
    if (!backups || !ids || !set_ok) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    /* staging's manifest first: under a key the repository is not bound to (exit 4) no set
     * runs; --scheduled (the timer) also needs it for which sets are due, holidays skipped */
    if ((rc = ofs_cli_load_manifest(cli, staging, ring, &current)) < 0)
        goto cleanup;

    size_t ran = 0;
    int manifest_rc = 0;
    char *manifest_message = NULL;
    for (size_t i = 0; i < cfg->set_count; i++) {
        const ofs_config_set *set = &cfg->sets[i];
        ofs_backup_stats stats = { 0 };
        ofs_record *rec = NULL;
        char why[256];
        if (!chosen[i])
            continue;
        if (scheduled && !ofs_cli_backup_due(cli, set, current, started, why, sizeof(why))) {
            ofs_cli_out(cli, "set %s: %s\n", set->name, why);
            continue;
        }
        ran++;
        rc = ofs_backup_run(cfg, set, staging, ring, &opts, &rec, &stats);
        ofs_cli_backup_remember(cli, set, rec, &stats, rc);
        if (rc == 0 && stats.manifest_error && manifest_rc) {
            ofs_log_error("%s", stats.manifest_message); /* the first is the one returned */
        } else if (rc == 0 && stats.manifest_error) {
            manifest_rc = stats.manifest_error; /* committed: reported after the push */
            manifest_message = stats.manifest_message;
            stats.manifest_message = NULL;
        }
        free(stats.manifest_message);
        if (rc == 0) {
            backup_report(cli, rec, &stats, backups);
            changed += stats.changed_while_read;
            set_ok[i] = 1;
            ids[i] = strdup(rec->id);
        } else {
            set_ok[i] = -1;
            /* one failed set must not cost the others their nightly backup */
            ofs_error_first_add(&first, ofs_error_wrap(rc, "backup of set '%s' failed",
                                                       set->name));
        }
        ofs_record_free(rec);
    }
    json_object_set(ofs_cli_result(cli), "backups", backups);
    if (scheduled && ran == 0) {
        ofs_cli_out(cli, "no set is due: nothing to do\n");
        rc = 0;
        goto cleanup;
    }

    /* staging may also hold committed backups an earlier push did not deliver */
    int push_rc = 0;
    char *push_message = NULL;
    if (!no_push && cfg->target_count > 0) {
        push_rc = ofs_cli_push_targets(cli, staging, ring, NULL, 0);
        if (push_rc < 0 && first.code) {
            ofs_log_error("%s", ofs_error_last()); /* the backup's failure is the one returned */
        } else if (push_rc < 0) {
            ofs_error_wrap(push_rc, "backup committed in staging, not replicated (the next push "
                           "resumes)");
            push_message = ofs_error_save();
        }
    }
    /* post_hook after the push, so it knows whether the backup left the machine */
    for (size_t i = 0; i < cfg->set_count; i++) {
        if (!set_ok[i])
            continue;
        const char *push = no_push || cfg->target_count == 0 ? "skipped"
                         : push_rc < 0 ? "failed" : "ok";
        char *saved = ofs_error_save();
        if (ofs_backup_post_hook(&cfg->sets[i], ids[i], set_ok[i] > 0 ? "ok" : "failed",
                                 set_ok[i] > 0 ? push : "skipped") < 0)
            ofs_log_warn("%s", ofs_error_last());
        ofs_error_restore(0, saved);
        free(saved);
    }

    /* verify_after: the new backups, where they were written */
    int verify_rc = 0;
    char *verify_message = NULL;
    if (!first.code && !manifest_rc && push_rc == 0) {
        verify_rc = ofs_cli_verify_after(cli, ring, staging, backups);
        ofs_cli_problem(cli, "verify_failed", "verify_failed", verify_rc);
        if (verify_rc < 0)
            verify_message = ofs_error_save();
    }

    /* auto prune only after everything succeeded: a failed backup or push is the night's news,
     * and the stores are left as they are for the next run to look at */
    int prune_rc = 0;
    char *prune_message = NULL;
    if (!first.code && !manifest_rc && push_rc == 0 && verify_rc == 0 &&
        cfg->retention.auto_prune) {
        prune_rc = ofs_cli_prune_stores(cli, ring, NULL, no_push ? 0 : OFS_PRUNE_TARGETS);
        if (prune_rc < 0)
            ofs_error_wrap(prune_rc, "backup committed%s, but", no_push ? "" : " and pushed");
        ofs_cli_problem(cli, "prune_failed", "prune_failed", prune_rc);
        if (prune_rc < 0)
            prune_message = ofs_error_save();
    }

    json_object_set_new(ofs_cli_result(cli), "changed_while_read", json_integer((json_int_t)changed));
    /* one exit code per outcome (error.h); --json's error.code still names the kind */
    if (first.code) {
        rc = ofs_error_first_end(&first, "%zu sets failed, the first", first.failures);
        cli->exit_code = OFS_EXIT_SET_FAILED;
    } else if (manifest_rc < 0) {
        /* the exit code of the error, as a target's manifest failure at push has */
        rc = ofs_error_restore(manifest_rc, manifest_message);
    } else if (push_rc < 0) {
        rc = ofs_error_restore(push_rc, push_message);
        cli->exit_code = OFS_EXIT_PUSH_FAILED;
    } else if (verify_rc < 0) {
        rc = ofs_error_restore(verify_rc, verify_message);
        cli->exit_code = OFS_EXIT_VERIFY_FAILED;
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
    free(push_message);
    free(prune_message);
    free(manifest_message);
    free(verify_message);
cleanup:
    if (ran_at_all) /* a run that got its lock: what `notify --unit-failed` reads */
        ofs_cli_run_remember(cli, started, rc < 0 ? (cli->exit_code ? cli->exit_code
                                                                    : ofs_error_exit_code(rc))
                                                  : rc);
    for (size_t i = 0; ids && i < cfg->set_count; i++)
        free(ids[i]);
    free(ids);
    free(set_ok);
    json_decref(backups);
    ofs_error_first_free(&first);
    ofs_manifest_free(current);
    ofs_store_free(staging);
    free(chosen);
    free(names);
    return rc;
}
