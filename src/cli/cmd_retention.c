/* cmd_retention.c - `offsite retention sync [--target T] [--dry-run]`: render each target's
 * retention policy as provider lifecycle rules where the store has them (s3), apply and read
 * them back, then reconcile the target's manifest with what the provider already expired.
 * Targets without lifecycle rules (file, rsync) are reported plainly: `offsite prune` is what
 * enforces retention there. */
#include <stdio.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/store_s3.h"
#include "offsite/verify.h"

enum { RETENTION_OPT_TARGET = 300, RETENTION_OPT_DRY_RUN };

#define RETENTION_CLASSES 3

/*
 * retention_rules(policy, rules): one expiry rule per class prefix, a day past the longest age
 * prune would keep a backup of that class (a weekly backup is also young enough for the daily
 * limit, a monthly for both; months are counted as 31 days so the provider never expires what
 * prune would still keep). Unfinished multipart uploads are aborted after a day.
 */
static void retention_rules(const ofs_config_retention *p,
                            ofs_lifecycle_rule rules[RETENTION_CLASSES])
{
    int daily = p->daily, weekly = p->weekly * 7, monthly = p->monthly * 31;
    if (weekly < daily)
        weekly = daily;
    if (monthly < weekly)
        monthly = weekly;
    const char *prefixes[RETENTION_CLASSES] = { "data/daily/", "data/weekly/", "data/monthly/" };
    const int days[RETENTION_CLASSES] = { daily, weekly, monthly };
    for (int i = 0; i < RETENTION_CLASSES; i++)
        rules[i] = (ofs_lifecycle_rule){ .prefix = prefixes[i], .expiration_days = days[i] + 1,
                                         .abort_multipart_days = 1 };
}

typedef struct retention_changes {
    ofs_cli *cli;
    const char *target;
    json_t *expired;
} retention_changes;

/* the manifest listed a backup whose record the provider expired: say so */
static void retention_on_change(void *ctx, const ofs_verify_change *c)
{
    retention_changes *r = ctx;
    if (c->id && strcmp(c->change, "removed") == 0) {
        ofs_cli_out(r->cli, "  %s: expired by the provider, removed from the manifest\n", c->id);
        json_array_append_new(r->expired, json_string(c->id));
    } else {
        ofs_cli_out(r->cli, "  manifest: %s %s%s%s\n", c->change, c->id ? c->id : "",
                    c->message ? ": " : "", c->message ? c->message : "");
    }
}

/* retention_sync_one(cli, cfg, t, ring, dry_run, entry): one target. */
static int retention_sync_one(ofs_cli *cli, const ofs_config *cfg, const ofs_config_target *t,
                              const ofs_keyring *ring, int dry_run, json_t *entry)
{
    const ofs_config_retention *policy = ofs_config_target_retention(cfg, t);
    ofs_lifecycle_rule rules[RETENTION_CLASSES];
    ofs_store *store = NULL;
    int rc, changed = 0;
    size_t changes = 0;

    json_object_set_new(entry, "target", json_string(t->name));
    json_object_set_new(entry, "type", json_string(t->type));
    if ((rc = ofs_cli_open_target(cli, t->name, &store)) < 0)
        return rc;
    if (!(ofs_store_caps(store) & OFS_STORE_CAP_LIFECYCLE)) {
        ofs_cli_out(cli, "target '%s' (%s): no provider lifecycle rules on this kind of store; "
                    "`offsite prune` enforces its retention\n", t->name, t->type);
        json_object_set_new(entry, "lifecycle", json_string("unsupported"));
        goto cleanup;
    }
    if (policy->lifecycle && strcmp(policy->lifecycle, "off") == 0) {
        ofs_cli_out(cli, "target '%s' (%s): lifecycle = off in its retention policy; nothing "
                    "written\n", t->name, t->type);
        json_object_set_new(entry, "lifecycle", json_string("off"));
        goto cleanup;
    }
    retention_rules(policy, rules);
    json_t *list = json_array();
    for (int i = 0; i < RETENTION_CLASSES; i++)
        json_array_append_new(list, json_pack("{s:s, s:i, s:i}", "prefix", rules[i].prefix,
                                              "expiration_days", rules[i].expiration_days,
                                              "abort_multipart_days",
                                              rules[i].abort_multipart_days));
    json_object_set_new(entry, "rules", list);
    ofs_cli_out(cli, "target '%s' (%s): expire data/daily/ after %d days, data/weekly/ after %d, "
                "data/monthly/ after %d; abort unfinished uploads after 1 day\n", t->name,
                t->type, rules[0].expiration_days, rules[1].expiration_days,
                rules[2].expiration_days);
    if (dry_run) {
        json_object_set_new(entry, "lifecycle", json_string("dry run"));
        goto cleanup;
    }
    if ((rc = ofs_store_s3_lifecycle_sync(store, rules, RETENTION_CLASSES, &changed)) < 0)
        goto cleanup;
    ofs_cli_out(cli, "  lifecycle rules %s and read back identical\n",
                changed ? "written" : "already in place");
    json_object_set_new(entry, "lifecycle", json_string(changed ? "written" : "unchanged"));

    /* what the provider expired must leave the manifest too, or list would offer it */
    retention_changes r = { cli, t->name, json_array() };
    rc = ofs_verify_repair(store, ring, retention_on_change, &r, &changes);
    json_object_set_new(entry, "expired", r.expired);
    if (rc < 0)
        rc = ofs_error_wrap(rc, "target '%s': reconciling the manifest", t->name);
    else if (changes == 0)
        ofs_cli_out(cli, "  manifest matches the records\n");
cleanup:
    ofs_store_free(store);
    return rc;
}

int ofs_cmd_retention(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "target", required_argument, NULL, RETENTION_OPT_TARGET },
        { "dry-run", no_argument, NULL, RETENTION_OPT_DRY_RUN },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *only = NULL;
    const ofs_config *cfg = NULL;
    const ofs_keyring *ring = NULL;
    int index = 0, opt, rc, dry_run = 0, first_code = 0;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == RETENTION_OPT_TARGET)
            only = arg;
        else if (opt == RETENTION_OPT_DRY_RUN)
            dry_run = 1;
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index >= argc || strcmp(argv[index], "sync") != 0)
        return ofs_cli_usage_error(cli, "%s", index >= argc ? "retention needs a subcommand: sync"
                                                            : "unknown subcommand (want: sync)");
    if (index + 1 < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index + 1]);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_key(cli, 1, &ring)) < 0 ||
        (rc = ofs_cli_lock(cli)) < 0)
        return rc;
    if (only && !ofs_config_find_target(cfg, only)) {
        ofs_store *probe = NULL;
        rc = ofs_cli_open_target(cli, only, &probe); /* the error names the configured targets */
        ofs_store_free(probe);
        return rc < 0 ? rc : ofs_error_set(OFS_ENOTFOUND, "no target '%s'", only);
    }
    if (cfg->target_count == 0)
        ofs_cli_out(cli, "no [target] configured: nothing to sync (staging is pruned by "
                    "`offsite prune`)\n");
    json_t *targets = json_array();
    json_object_set_new(ofs_cli_result(cli), "targets", targets);
    for (size_t i = 0; i < cfg->target_count; i++) {
        const ofs_config_target *t = &cfg->targets[i];
        if (only && strcmp(only, t->name) != 0)
            continue;
        json_t *entry = json_object();
        json_array_append_new(targets, entry);
        if ((rc = retention_sync_one(cli, cfg, t, ring, dry_run, entry)) < 0) {
            /* one unreachable target must not keep the others from their rules */
            ofs_log_error("%s", ofs_error_last());
            json_object_set_new(entry, "error", json_string(ofs_error_last()));
            if (!first_code)
                first_code = rc;
        }
    }
    return first_code ? ofs_error_exit_code(first_code) : 0;
}
