/* cmd_forget.c - `offsite forget BACKUP [--target T] [--dry-run] [--yes]`: delete one backup
 * from staging and every target holding it (or only T), whatever the retention policy says,
 * through prune's delete path (ofs_prune_forget: manifest, then record, then data) under the
 * lock. Every store is planned before anything is deleted, so an unknown id or a base that a
 * differential still needs changes nothing anywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/prune.h"

enum { FORGET_OPT_TARGET = 300, FORGET_OPT_DRY_RUN, FORGET_OPT_YES };

typedef struct forget_store {
    ofs_store *store;
    ofs_prune_result *plan;   /* NULL: the store does not hold the backup */
} forget_store;

/* forget_open(cli, only, &stores, &count): staging (if this machine has one, and no --target)
 * and the targets, opened with prune's credentials; the caller frees stores. */
static int forget_open(ofs_cli *cli, const char *only, forget_store **out, size_t *count)
{
    const ofs_config *cfg = NULL;
    ofs_store *store = NULL;
    forget_store *stores;
    int rc, admin = 0;

    *count = 0;
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    if (!(stores = *out = calloc(cfg->target_count + 1, sizeof(*stores))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    if (only && !ofs_config_find_target(cfg, only))
        return ofs_cli_open_target(cli, only, &store); /* the error names the configured ones */
    if (!only) {
        rc = ofs_cli_open_staging(cli, 0, &store);
        if (rc == 0)
            stores[(*count)++].store = store;
        else if (rc != OFS_ENOTFOUND)
            return rc;
    }
    for (size_t i = 0; i < cfg->target_count; i++) {
        if (only && strcmp(only, cfg->targets[i].name) != 0)
            continue;
        if ((rc = ofs_cli_open_target_for_prune(cli, cfg->targets[i].name, &store, &admin)) < 0)
            return rc;
        stores[(*count)++].store = store;
    }
    return 0;
}

/* forget_ask(cli, id, stores, count, yes): --yes, or the answer on a terminal. */
static int forget_ask(ofs_cli *cli, const char *id, const forget_store *stores, size_t count,
                      int yes)
{
    char answer[16] = "";
    if (yes)
        return 0;
    if (!isatty(STDIN_FILENO) || cli->json)
        return ofs_cli_usage_error(cli, "forget deletes backup '%s' for good: give --yes (no "
                                   "terminal to ask on)", id);
    fprintf(stderr, "delete backup '%s' from", id);
    for (size_t i = 0; i < count; i++)
        if (stores[i].plan)
            fprintf(stderr, " %s", ofs_store_name(stores[i].store));
    fprintf(stderr, "? [y/N] ");
    if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
        return ofs_error_set(OFS_ECANCELED, "forget of '%s' canceled: nothing deleted", id);
    return 0;
}

/* forget_report(cli, s, id, dry_run, list): one store's line and its --json entry. */
static void forget_report(ofs_cli *cli, const forget_store *s, const char *id, int dry_run,
                          json_t *list)
{
    const ofs_prune_result *r = s->plan;
    const char *name = ofs_store_name(s->store);
    const ofs_prune_backup *b = NULL;
    char size[32];

    for (size_t i = 0; r && i < r->count; i++)
        if (strcmp(r->backups[i].id, id) == 0)
            b = &r->backups[i];
    json_t *o = json_pack("{s:s, s:b}", "store", name, "held", b != NULL);
    json_array_append_new(list, o);
    if (!b) {
        ofs_cli_out(cli, "  %-12s %s: not there\n", "-", name);
        return;
    }
    ofs_format_size(r->bytes_freed, size, sizeof(size));
    json_object_set_new(o, "deleted", json_boolean(b->deleted));
    json_object_set_new(o, "objects", json_integer((json_int_t)r->objects_deleted));
    json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes_freed));
    json_object_set_new(o, "delete_refused", json_boolean(r->delete_refused));
    json_object_set_new(o, "locked", b->locked ? json_string(b->locked) : json_null());
    if (r->delete_refused)
        ofs_cli_out(cli, "  %-12s %s: these credentials may not delete (a write-only target): "
                    "it keeps the backup, listed\n", "keep", name);
    else if (b->locked)
        ofs_cli_out(cli, "  %-12s %s: %s\n", "keep (locked)", name, b->locked);
    else
        ofs_cli_out(cli, "  %-12s %s: %llu objects, %s\n", dry_run ? "would delete" : "deleted",
                    name, (unsigned long long)r->objects_deleted, size);
}

/* forget_plan(cli, ring, id, stores, count, &held): a dry run on every store; refuses (nothing
 * changed) if one cannot be read or needs the backup as a base, or none holds it. */
static int forget_plan(const ofs_keyring *ring, const char *id, forget_store *stores,
                       size_t count, size_t *held)
{
    ofs_prune_options opts = { .now = ofs_clock_now(), .dry_run = 1 };
    char names[512] = "";
    size_t used = 0;

    *held = 0;
    for (size_t i = 0; i < count; i++) {
        int rc = ofs_prune_forget(stores[i].store, ring, &opts, id, &stores[i].plan);
        if (rc == OFS_ENOTFOUND && stores[i].plan) { /* listed, and not there */
            ofs_prune_result_free(stores[i].plan);
            stores[i].plan = NULL;
        } else if (rc < 0) {
            return ofs_error_wrap(rc, "forget '%s': nothing deleted", id);
        } else {
            (*held)++;
        }
        if (used < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                     ofs_store_name(stores[i].store));
    }
    if (*held == 0)
        return ofs_error_set(OFS_ENOTFOUND, "no backup '%s' on %s", id,
                             count ? names : "any store (no staging and no target here)");
    return 0;
}

int ofs_cmd_forget(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "target", required_argument, NULL, FORGET_OPT_TARGET },
        { "dry-run", no_argument, NULL, FORGET_OPT_DRY_RUN },
        { "yes", no_argument, NULL, FORGET_OPT_YES },
        { NULL, 0, NULL, 0 }
    };
    forget_store *stores = NULL;
    const char *arg, *only = NULL, *id;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring = NULL;
    ofs_error_first first = { 0 };
    size_t count = 0, held = 0, refused = 0;
    int index = 0, opt, rc, dry_run = 0, yes = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == FORGET_OPT_TARGET)
            only = arg;
        else if (opt == FORGET_OPT_DRY_RUN)
            dry_run = 1;
        else if (opt == FORGET_OPT_YES)
            yes = 1;
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index >= argc)
        return ofs_cli_usage_error(cli, "forget needs a backup id (see offsite list)");
    if (index + 1 < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index + 1]);
    id = argv[index];
    json_t *result = ofs_cli_result(cli), *list = json_array();
    json_object_set_new(result, "backup", json_string(id));
    json_object_set_new(result, "dry_run", json_boolean(dry_run));
    json_object_set_new(result, "stores", list);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 1, &ring)) < 0 ||
        (rc = ofs_cli_lock(cli)) < 0 || (rc = forget_open(cli, only, &stores, &count)) < 0 ||
        (rc = forget_plan(ring, id, stores, count, &held)) < 0)
        goto cleanup;
    if (dry_run) {
        ofs_cli_out(cli, "forget %s, dry run (nothing changed):\n", id);
        for (size_t i = 0; i < count; i++)
            forget_report(cli, &stores[i], id, 1, list);
        goto cleanup;
    }
    if ((rc = forget_ask(cli, id, stores, count, yes)) != 0)
        goto cleanup;
    ofs_cli_out(cli, "forget %s:\n", id);
    ofs_prune_options opts = { .now = ofs_clock_now(), .probe_host = cfg->host };
    for (size_t i = 0; i < count; i++) {
        if (!stores[i].plan) {
            forget_report(cli, &stores[i], id, 0, list);
            continue;
        }
        ofs_prune_result_free(stores[i].plan);
        stores[i].plan = NULL;
        /* planned again as it deletes: what a dependent needs is checked under the lock */
        int one = ofs_prune_forget(stores[i].store, ring, &opts, id, &stores[i].plan);
        forget_report(cli, &stores[i], id, 0, list);
        for (size_t k = 0; one == 0 && stores[i].plan && k < stores[i].plan->count; k++)
            if (strcmp(stores[i].plan->backups[k].id, id) == 0 &&
                !stores[i].plan->backups[k].deleted)
                refused++;
        if (one < 0) /* one store failing must not keep the others */
            ofs_error_first_add(&first, one);
    }
    rc = ofs_error_first_end(&first, "%zu stores failed, the first", first.failures);
    if (rc == 0 && refused)
        rc = ofs_error_set(OFS_EDENIED, "backup '%s' is kept on %zu of the %zu stores holding "
                           "it: they refused the delete (see above)", id, refused, held);
cleanup:
    for (size_t i = 0; i < count; i++) {
        ofs_prune_result_free(stores[i].plan);
        ofs_store_free(stores[i].store);
    }
    free(stores);
    ofs_error_first_free(&first);
    return rc;
}
