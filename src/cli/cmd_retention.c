/* cmd_retention.c - `offsite retention sync [--target T] [--dry-run]`: render each target's
 * retention policy as provider lifecycle rules where the store has them (s3, gcs), apply and
 * read them back, then reconcile the target's manifest with what the provider already expired.
 * Targets without lifecycle rules (file, rsync) are reported plainly: `offsite prune` is what
 * enforces retention there. The target's transition_days/transition_class move its data to
 * another storage class first; in a versioned bucket the rules also remove what an
 * expiration leaves behind (noncurrent versions, then the delete markers), and the old
 * versions pushes and probes leave outside data/.
 * The rules are decided here, in the provider-neutral ofs_lifecycle_rule; the store's optional
 * lifecycle ops (ofs_store_versioning, ofs_store_lifecycle_sync) render, write and read them
 * back in their provider's document, so this command knows nothing of HTTP, XML or JSON
 * bodies, and a third provider needs no change here. */
#include <stdio.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/manifest.h"
#include "offsite/store.h"
#include "offsite/verify.h"

enum { RETENTION_OPT_TARGET = 300, RETENTION_OPT_DRY_RUN };

#define RETENTION_CLASSES 3
/* the classes; a versioned bucket's data/ markers, manifest history and probe leftovers */
#define RETENTION_RULES (RETENTION_CLASSES + 3)
/* how long a replaced manifest.json stays recoverable in a versioned bucket: a month of
 * history to go back to if a bad push or a host overwrote it */
#define RETENTION_MANIFEST_HISTORY_DAYS 30

/*
 * retention_rules(policy, target, versioned, rules): one expiry rule per class prefix, a day
 * past the longest age prune would keep a backup of that class (a weekly backup is also young
 * enough for the daily limit, a monthly for both; months are counted as 31 days so the
 * provider never expires what prune would still keep). Unfinished multipart uploads are
 * aborted after a day. The target's transition goes into each class rule that expires later
 * (S3 refuses a transition at or after the expiration; moving data that is about to go only
 * costs a transition fee). A versioned bucket keeps an expired object as a noncurrent
 * version behind a delete marker: those versions go a day later, and a rule over data/
 * removes the markers left with no version (S3 refuses that flag next to Days). Every push
 * replaces manifest.json, and `init` and the If-Match probe write and delete objects of their
 * own, so their old versions would pile up for ever: a rule over the manifest's key keeps a
 * month of them, one over the probes' prefix drops them after a day, then their markers. In
 * a bucket without versions the probes' rule expires them after a day: what a write-only
 * host (delete refused) leaves there goes that way.
 * Returns how many rules it filled.
 */
static size_t retention_rules(const ofs_config_retention *p, const ofs_config_target *t,
                              int versioned, ofs_lifecycle_rule rules[RETENTION_RULES])
{
    int daily = p->daily, weekly = p->weekly * 7, monthly = p->monthly * 31;
    size_t n = 0;
    if (weekly < daily)
        weekly = daily;
    if (monthly < weekly)
        monthly = weekly;
    const char *prefixes[RETENTION_CLASSES] = { "data/daily/", "data/weekly/", "data/monthly/" };
    const int days[RETENTION_CLASSES] = { daily, weekly, monthly };
    for (int i = 0; i < RETENTION_CLASSES; i++) {
        ofs_lifecycle_rule *r = &rules[n++];
        *r = (ofs_lifecycle_rule){ .prefix = prefixes[i], .expiration_days = days[i] + 1,
                                   .abort_multipart_days = 1,
                                   .noncurrent_days = versioned ? 1 : 0 };
        if (t->transition_days > 0 && r->expiration_days > t->transition_days) {
            r->transition_days = t->transition_days;
            r->transition_class = t->transition_class;
        }
    }
    if (versioned) {
        rules[n++] = (ofs_lifecycle_rule){ .prefix = "data/", .expired_delete_marker = 1 };
        rules[n++] = (ofs_lifecycle_rule){ .prefix = OFS_MANIFEST_KEY,
                                           .noncurrent_days = RETENTION_MANIFEST_HISTORY_DAYS };
        rules[n++] = (ofs_lifecycle_rule){ .prefix = OFS_STORE_PROBE_PREFIX, .noncurrent_days = 1,
                                           .expired_delete_marker = 1 };
    } else {
        /* a write-only host cannot delete its probes: they expire instead */
        rules[n++] = (ofs_lifecycle_rule){ .prefix = OFS_STORE_PROBE_PREFIX, .expiration_days = 1 };
    }
    return n;
}

/* retention_print_transition(cli, t, rules): which classes move, and which expire before
 * they would: "move data/weekly/, data/monthly/ to GLACIER after 30 days; data/daily/
 * (expires after 8 days) expires first" */
static void retention_print_transition(ofs_cli *cli, const ofs_config_target *t,
                                       const ofs_lifecycle_rule rules[RETENTION_CLASSES])
{
    char moved[128] = "", kept[256] = "";
    size_t nm = 0, nk = 0;
    int kept_count = 0;

    if (t->transition_days <= 0)
        return;
    for (int i = 0; i < RETENTION_CLASSES; i++) {
        const ofs_lifecycle_rule *r = &rules[i];
        if (r->transition_days > 0) {
            nm += (size_t)snprintf(moved + nm, sizeof(moved) - nm, "%s%s", nm ? ", " : "",
                                   r->prefix);
        } else {
            nk += (size_t)snprintf(kept + nk, sizeof(kept) - nk, "%s%s (expires after %d days)",
                                   nk ? ", " : "", r->prefix, r->expiration_days);
            kept_count++;
        }
    }
    if (nm)
        ofs_cli_out(cli, "  move %s to %s after %d days", moved, t->transition_class,
                    t->transition_days);
    else
        ofs_cli_out(cli, "  nothing moves to %s after %d days", t->transition_class,
                    t->transition_days);
    if (kept_count)
        ofs_cli_out(cli, "; %s %s first", kept, kept_count == 1 ? "expires" : "expire");
    ofs_cli_out(cli, "\n");
}

/* retention_rules_json(rules, count): the rules as --json shows them */
static json_t *retention_rules_json(const ofs_lifecycle_rule *rules, size_t count)
{
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
        const ofs_lifecycle_rule *r = &rules[i];
        json_t *o = json_pack("{s:s}", "prefix", r->prefix);
        /* only what the rule sets: a rule over old versions has no expiration of its own */
        if (r->expiration_days > 0)
            json_object_set_new(o, "expiration_days", json_integer(r->expiration_days));
        if (r->abort_multipart_days > 0)
            json_object_set_new(o, "abort_multipart_days", json_integer(r->abort_multipart_days));
        if (r->expired_delete_marker)
            json_object_set_new(o, "expired_object_delete_marker", json_true());
        if (r->transition_days > 0) {
            json_object_set_new(o, "transition_days", json_integer(r->transition_days));
            json_object_set_new(o, "transition_class", json_string(r->transition_class));
        }
        if (r->noncurrent_days > 0)
            json_object_set_new(o, "noncurrent_days", json_integer(r->noncurrent_days));
        json_array_append_new(list, o);
    }
    return list;
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

/*
 * retention_policy_for_rules(cfg, t, &longest): the ages the class rules must cover, and what
 * they leave to prune (the --json "prune_only" list). A class prefix holds every set's
 * backups, so on a target without a policy of its own each set's `retention = NAME` applies
 * there too: the rules take the longest age of each class over those policies (the provider
 * must never expire what prune keeps) and prune deletes what a shorter one drops. max_backups
 * counts backups, which no lifecycle rule can: listed, not silently left out.
 */
static json_t *retention_policy_for_rules(const ofs_config *cfg, const ofs_config_target *t,
                                          ofs_config_retention *longest)
{
    const ofs_config_retention *own = ofs_config_target_retention(cfg, t);
    json_t *prune_only = json_array();
    *longest = *own;
    for (size_t i = 0; i <= cfg->set_count; i++) {
        const char *set = i ? cfg->sets[i - 1].name : NULL;
        const ofs_config_retention *p = set ? ofs_config_policy(cfg, t, set) : own;
        if (set && p == own)
            continue;
        if (set)
            json_array_append_new(prune_only, json_pack("{s:s, s:s, s:s}", "what", "ages",
                                                        "set", set, "policy", p->name));
        longest->daily = p->daily > longest->daily ? p->daily : longest->daily;
        longest->weekly = p->weekly > longest->weekly ? p->weekly : longest->weekly;
        longest->monthly = p->monthly > longest->monthly ? p->monthly : longest->monthly;
        if (p->max_backups > 0) {
            json_t *o = json_pack("{s:s, s:i}", "what", "max_backups", "max_backups",
                                  p->max_backups);
            json_object_set_new(o, "policy", p->name ? json_string(p->name) : json_null());
            json_object_set_new(o, "set", set ? json_string(set) : json_null());
            json_array_append_new(prune_only, o);
        }
    }
    return prune_only;
}

/* retention_print_prune_only(cli, prune_only): a line for each thing the rules leave to prune */
static void retention_print_prune_only(ofs_cli *cli, json_t *prune_only)
{
    size_t i;
    json_t *o;
    json_array_foreach(prune_only, i, o) {
        const char *set = json_string_value(json_object_get(o, "set"));
        const char *policy = json_string_value(json_object_get(o, "policy"));
        if (strcmp(json_string_value(json_object_get(o, "what")), "ages") == 0)
            ofs_cli_out(cli, "  set '%s' follows [retention %s] here: the rules keep each class "
                        "as long as the longest policy that applies; `offsite prune` deletes "
                        "what a shorter one drops\n", set, policy);
        else
            ofs_cli_out(cli, "  max_backups = %d ([retention%s%s]) cannot be a lifecycle rule "
                        "(rules count days, not backups): `offsite prune` enforces it\n",
                        (int)json_integer_value(json_object_get(o, "max_backups")),
                        policy ? " " : "", policy ? policy : "");
    }
}

/* retention_sync_one(cli, cfg, t, ring, dry_run, entry): one target. */
static int retention_sync_one(ofs_cli *cli, const ofs_config *cfg, const ofs_config_target *t,
                              const ofs_keyring *ring, int dry_run, json_t *entry)
{
    const ofs_config_retention *policy = ofs_config_target_retention(cfg, t); /* lifecycle */
    ofs_lifecycle_rule rules[RETENTION_RULES];
    ofs_store *store = NULL;
    int rc, changed = 0, versioned = 0;
    size_t changes = 0, count;

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
    /* a read, so --dry-run asks too: the rules it prints are the ones a sync would write */
    if ((rc = ofs_store_versioning(store, &versioned)) < 0)
        goto cleanup;
    ofs_config_retention longest;
    json_t *prune_only = retention_policy_for_rules(cfg, t, &longest);
    json_object_set_new(entry, "prune_only", prune_only);
    count = retention_rules(&longest, t, versioned, rules);
    json_object_set_new(entry, "versioned", json_boolean(versioned));
    json_object_set_new(entry, "rules", retention_rules_json(rules, count));
    ofs_cli_out(cli, "target '%s' (%s): expire data/daily/ after %d days, data/weekly/ after %d, "
                "data/monthly/ after %d; abort unfinished uploads after 1 day\n", t->name,
                t->type, rules[0].expiration_days, rules[1].expiration_days,
                rules[2].expiration_days);
    retention_print_prune_only(cli, prune_only);
    retention_print_transition(cli, t, rules);
    if (!versioned)
        ofs_cli_out(cli, "  probe objects (%s) expire after 1 day (a write-only host cannot "
                    "delete its own)\n", OFS_STORE_PROBE_PREFIX);
    if (versioned) {
        ofs_cli_out(cli, "  bucket is versioned%s: expired data removed 1 day after it stops "
                    "being the current version, then its delete marker (rule over data/)\n",
                    t->object_lock && strcmp(t->object_lock, "off") != 0 ? " (object lock)"
                                                                         : "");
        ofs_cli_out(cli, "  old versions of %s kept %d days; probe objects (%s) removed 1 day "
                    "after their deletion, then their delete markers\n", OFS_MANIFEST_KEY,
                    RETENTION_MANIFEST_HISTORY_DAYS, OFS_STORE_PROBE_PREFIX);
    }
    if (dry_run) {
        json_object_set_new(entry, "lifecycle", json_string("dry run"));
        goto cleanup;
    }
    if ((rc = ofs_store_lifecycle_sync(store, rules, count, &changed)) < 0)
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
