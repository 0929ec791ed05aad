/* cmd_prune.c - `offsite prune [--dry-run] [--target T] [--all-hosts]`, and the prune `offsite
 * backup` ends with when [retention] auto = true. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/prune.h"
#include "offsite/retention.h"
#include "offsite/runstate.h"

/* an unfinished folder on a target younger than this may be another host's push at work */
#define PRUNE_TARGET_ORPHAN_GRACE (24 * 3600)

enum { PRUNE_OPT_DRY_RUN = 300, PRUNE_OPT_TARGET, PRUNE_OPT_ALL_HOSTS };

/* Staging backups a target has not received yet, and the first such target of each. */
typedef struct prune_pending {
    char **ids;
    const char **targets;
    size_t count;
} prune_pending;

static void prune_pending_free(prune_pending *p)
{
    for (size_t i = 0; i < p->count; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p->targets);
}

/*
 * prune_find_pending(cli, staging, ring, &pending): staging must not delete a backup before
 * every target has it, or a target with a longer policy (or one that was down for a month)
 * would never get it. Push sends backups oldest first, so a target lacks exactly the backups
 * of a set newer than its newest one of that set. A target whose manifest cannot be read
 * holds every backup (with a warning): staging then waits, which costs disk, not backups.
 */
static int prune_find_pending(ofs_cli *cli, ofs_store *staging, const ofs_keyring *ring,
                              prune_pending *pending)
{
    const ofs_config *cfg = NULL;
    ofs_manifest *sm = NULL, *tm = NULL;
    ofs_store *target = NULL;
    int rc;

    if ((rc = ofs_cli_config(cli, &cfg)) < 0 || (rc = ofs_cli_load_manifest(cli, staging, ring,
                                                                            &sm)) < 0)
        return rc;
    if (sm->count && (!(pending->ids = calloc(sm->count, sizeof(*pending->ids))) ||
                      !(pending->targets = calloc(sm->count, sizeof(*pending->targets))))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t t = 0; t < cfg->target_count; t++) {
        const char *name = cfg->targets[t].name;
        int readable = 1;
        if ((rc = ofs_cli_open_target(cli, name, &target)) == 0)
            rc = ofs_manifest_load(&tm, target, ring);
        if (rc == OFS_ENOTFOUND && target) {
            rc = ofs_manifest_new(&tm); /* a new target: it lacks everything */
        } else if (rc < 0) {
            ofs_log_warn("%s; staging keeps every backup until target '%s' can be read",
                         ofs_error_last(), name);
            readable = 0;
        }
        for (size_t i = 0; i < sm->count; i++) {
            const ofs_manifest_entry *e = &sm->entries[i];
            const ofs_manifest_entry *newest = readable ? ofs_manifest_latest(tm, e->set) : NULL;
            int lacks = !readable || !newest || ofs_manifest_entry_order(e, newest) > 0;
            if (!lacks || pending->targets[i])
                continue;
            pending->targets[i] = name;
        }
        ofs_manifest_free(tm);
        tm = NULL;
        ofs_store_free(target);
        target = NULL;
    }
    /* compact: ids[k] is pending on targets[k] */
    for (size_t i = 0; i < sm->count; i++) {
        if (!pending->targets[i])
            continue;
        pending->targets[pending->count] = pending->targets[i];
        if (!(pending->ids[pending->count++] = strdup(sm->entries[i].id))) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    ofs_manifest_free(sm);
    return rc;
}

static const char *prune_pending_target(const prune_pending *p, const char *id)
{
    for (size_t i = 0; p && i < p->count; i++)
        if (strcmp(p->ids[i], id) == 0)
            return p->targets[i];
    return NULL;
}

/* "why" of one backup for the text output. */
static void prune_why(const ofs_prune_backup *b, const prune_pending *pending, char *buf,
                      size_t size)
{
    char reasons[128], when[32];
    size_t used;
    ofs_time_format_iso(b->decision.expires, when, sizeof(when));
    if (!b->decision.reasons && b->decision.over_cap) {
        snprintf(buf, size, "past max_backups (its set keeps newer ones)");
        return;
    }
    if (!b->decision.reasons) {
        snprintf(buf, size, "expired %s", when);
        return;
    }
    ofs_retention_reasons(b->decision.reasons &
                              ~(unsigned)(OFS_RETAIN_BASE | OFS_RETAIN_HELD | OFS_RETAIN_HOST),
                          reasons, sizeof(reasons));
    used = (size_t)snprintf(buf, size, "%s", reasons);
    if ((b->decision.reasons & OFS_RETAIN_HOST) && used < size)
        used += (size_t)snprintf(buf + used, size - used, "%swritten by host '%s' (its own "
                                 "prune decides)", used ? ", " : "", b->host ? b->host : "?");
    if ((b->decision.reasons & OFS_RETAIN_HELD) && used < size)
        used += (size_t)snprintf(buf + used, size - used, "%snot yet on target '%s'",
                                 used ? ", " : "", prune_pending_target(pending, b->id));
    if ((b->decision.reasons & OFS_RETAIN_BASE) && used < size)
        used += (size_t)snprintf(buf + used, size - used, "%sbase of %s", used ? ", " : "",
                                 b->needed_by);
    if ((b->decision.reasons & (OFS_RETAIN_DAILY | OFS_RETAIN_WEEKLY | OFS_RETAIN_MONTHLY)) &&
        used < size)
        snprintf(buf + used, size - used, "; until %s", when);
}

static json_t *prune_backup_json(const ofs_prune_backup *b, const prune_pending *pending,
                                 int64_t now)
{
    json_t *reasons = json_array();
    for (unsigned bit = 1; bit <= OFS_RETAIN_HOST; bit <<= 1)
        if (b->decision.reasons & bit)
            json_array_append_new(reasons, json_string(ofs_retention_reason_name(bit)));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:o, s:o, s:I, s:b}",
                          "id", b->id, "set", b->set, "kind", b->kind, "class", b->class_name,
                          "started", ofs_json_time(b->started),
                          "age_seconds", (json_int_t)(now - b->started),
                          "action", b->decision.reasons || b->locked ? "keep" : "delete",
                          "reasons", reasons, "expires", ofs_json_time(b->decision.expires),
                          "stored_bytes", (json_int_t)b->stored_bytes,
                          "deleted", b->deleted);
    if (!o)
        return NULL;
    json_object_set_new(o, "base", b->base ? json_string(b->base) : json_null());
    json_object_set_new(o, "over_max_backups", json_boolean(b->decision.over_cap));
    json_object_set_new(o, "locked", b->locked ? json_string(b->locked) : json_null());
    json_object_set_new(o, "needed_by", b->needed_by ? json_string(b->needed_by) : json_null());
    const char *held_for = (b->decision.reasons & OFS_RETAIN_HELD)
                               ? prune_pending_target(pending, b->id) : NULL;
    json_object_set_new(o, "pending_target", held_for ? json_string(held_for) : json_null());
    return o;
}

/* prune_report(cli, name, r, ...): text lines and the JSON entry of one store. */
static void prune_report(ofs_cli *cli, const char *name, const ofs_prune_result *r,
                         const prune_pending *pending, int dry_run, int show_kept, int64_t now,
                         json_t *entry)
{
    json_t *backups = json_array(), *orphans = json_array();
    char why[512], age[32], size[32];
    const char *remove = dry_run ? "would delete" : "delete";

    for (size_t i = 0; r && i < r->count; i++) {
        const ofs_prune_backup *b = &r->backups[i];
        json_array_append_new(backups, prune_backup_json(b, pending, now));
        if (b->decision.reasons && !show_kept)
            continue;
        prune_why(b, pending, why, sizeof(why));
        if (now >= b->started)
            ofs_format_duration(now - b->started, age, sizeof(age));
        else
            snprintf(age, sizeof(age), "in the future");
        if (b->locked) {
            ofs_cli_out(cli, "  %-12s %-32s %-4s %-7s age %-8s %s\n", "keep (locked)", b->id,
                        b->kind, b->class_name, age, b->locked);
            continue;
        }
        ofs_cli_out(cli, "  %-12s %-32s %-4s %-7s age %-8s %s\n",
                    b->decision.reasons ? "keep" : remove, b->id, b->kind, b->class_name, age,
                    why);
    }
    size_t unfinished = 0;
    for (size_t i = 0; r && i < r->orphan_count; i++) {
        const ofs_prune_orphan *o = &r->orphans[i];
        ofs_format_size(o->bytes, size, sizeof(size));
        if (o->young)
            ofs_cli_out(cli, "  %-12s %s: %llu objects, %s, no backup.json, written in the last "
                        "day (a push may be writing it)\n", "leave", o->folder,
                        (unsigned long long)o->objects, size);
        else
            ofs_cli_out(cli, "  %-12s %s: %llu objects, %s, no backup.json (an unfinished "
                        "run)\n", remove, o->folder, (unsigned long long)o->objects, size);
        unfinished += !o->young;
        json_array_append_new(orphans, json_pack("{s:s, s:I, s:I, s:b, s:b}", "folder",
                                                 o->folder, "objects", (json_int_t)o->objects,
                                                 "bytes", (json_int_t)o->bytes,
                                                 "deleted", o->deleted, "left", o->young));
    }
    if (r) {
        ofs_format_size(r->bytes_freed, size, sizeof(size));
        ofs_cli_out(cli, "%s: kept %llu, %s %llu backup%s and %zu unfinished; %llu objects, %s%s\n",
                    name, (unsigned long long)r->kept, dry_run ? "would delete" : "deleted",
                    (unsigned long long)r->deleted, r->deleted == 1 ? "" : "s", unfinished,
                    (unsigned long long)r->objects_deleted, size,
                    r->delete_refused ? " (delete refused: these credentials may not delete; "
                    "nothing changed - pruning is left to a host that may, or to lifecycle "
                    "rules)" : dry_run ? " (dry run: nothing changed)" : " freed");
        json_object_set_new(entry, "delete_refused", json_boolean(r->delete_refused));
        json_object_set_new(entry, "kept", json_integer((json_int_t)r->kept));
        json_object_set_new(entry, "deleted", json_integer((json_int_t)r->deleted));
        json_object_set_new(entry, "objects_deleted", json_integer((json_int_t)r->objects_deleted));
        json_object_set_new(entry, "bytes_freed", json_integer((json_int_t)r->bytes_freed));
        json_object_set_new(entry, "manifest_rebuilt", json_boolean(r->manifest_rebuilt));
    }
    json_object_set_new(entry, "backups", backups);
    json_object_set_new(entry, "orphans", orphans);
}

/* prune_one(cli, store, ring, policy, pending, host, ...): pending is given for staging (this
 * host's alone, under its lock) and NULL for a target, which other hosts may share: there
 * unfinished folders younger than a day are left, and with host (the agent's; NULL with
 * --all-hosts) only that host's backups are decided on - the others' stay. */
/* prune_policy_json(policy): {"name", "daily", ...} of a policy, for --json */
static json_t *prune_policy_json(const ofs_config_retention *policy)
{
    return json_pack("{s:o, s:i, s:i, s:i, s:i, s:i}",
                     "name", policy->name ? json_string(policy->name) : json_null(),
                     "daily", policy->daily, "weekly", policy->weekly, "monthly", policy->monthly,
                     "keep_last", policy->keep_last, "max_backups", policy->max_backups);
}

/* prune_set_policies(cli, cfg, target, policy, entry): the sets whose own policy applies on
 * this store instead of the store's, one line each, and entry["set_policies"]. */
static void prune_set_policies(ofs_cli *cli, const ofs_config *cfg,
                               const ofs_config_target *target,
                               const ofs_config_retention *policy, json_t *entry)
{
    json_t *sets = json_object();
    char described[160];
    for (size_t i = 0; i < cfg->set_count; i++) {
        const ofs_config_retention *p = ofs_config_policy(cfg, target, cfg->sets[i].name);
        if (p == policy)
            continue;
        ofs_retention_describe(p, described, sizeof(described));
        ofs_cli_out(cli, "  set '%s': [retention %s]: %s\n", cfg->sets[i].name, p->name,
                    described);
        json_object_set_new(sets, cfg->sets[i].name, prune_policy_json(p));
    }
    if (entry)
        json_object_set_new(entry, "set_policies", sets);
    else
        json_decref(sets);
}

/* prune_remember(cli, name, rc, r): the last prune of a target, for `status` (runstate.h):
 * whether the target refused the deletes (a write-only target detected, not configured). */
static void prune_remember(ofs_cli *cli, const char *name, int rc, const ofs_prune_result *r)
{
    json_t *kept = json_pack("{s:o, s:b, s:b, s:I}", "time", ofs_json_time(ofs_clock_now()),
                             "ok", rc == 0, "delete_refused", r->delete_refused,
                             "deleted", (json_int_t)r->deleted);
    if (kept && ofs_runstate_put(cli->cfg->state_dir, "prunes", name, kept) < 0)
        ofs_log_warn("%s", ofs_error_last());
}

static int prune_one(ofs_cli *cli, ofs_store *store, const ofs_keyring *ring,
                     const ofs_config_target *target, const prune_pending *pending,
                     const char *host, int dry_run, int show_kept, json_t *stores)
{
    const ofs_config *cfg = NULL;
    int is_target = pending == NULL;
    if (ofs_cli_config(cli, &cfg) < 0)
        return ofs_error_wrap(OFS_ECONFIG, "prune");
    const ofs_config_retention *policy = ofs_config_target_retention(cfg, target);
    ofs_prune_options opts = { .policy = policy, .config = cfg, .target = target,
                               .now = ofs_clock_now(), .dry_run = dry_run,
                               .held = pending ? pending->ids : NULL,
                               .held_count = pending ? pending->count : 0, .host = host,
                               .orphan_grace = is_target ? PRUNE_TARGET_ORPHAN_GRACE : 0,
                               .probe_host = cfg->host };
    ofs_prune_result *r = NULL;
    char described[160];
    const char *name = ofs_store_name(store);

    ofs_retention_describe(policy, described, sizeof(described));
    ofs_cli_out(cli, "prune %s ([retention%s%s]: %s)%s\n", name, policy->name ? " " : "",
                policy->name ? policy->name : "", described, dry_run ? ", dry run" : "");
    json_t *entry = json_pack("{s:s, s:o}", "store", name, "policy", prune_policy_json(policy));
    prune_set_policies(cli, cfg, target, policy, entry);
    int rc = ofs_prune_run(store, ring, &opts, &r);
    if (entry)
        json_object_set_new(entry, "ok", json_boolean(rc == 0));
    if (rc < 0 && entry)
        json_object_set_new(entry, "message", json_string(ofs_error_last()));
    if (entry)
        prune_report(cli, name, r, pending, dry_run || (r && r->delete_refused), show_kept,
                     opts.now, entry);
    if (rc < 0)
        ofs_cli_out(cli, "%s: prune FAILED%s\n", name, r ? " (the lines above show what was "
                    "decided; the next prune finishes)" : "");
    /* status tells which targets another host (or lifecycle rules) must prune */
    if (is_target && !dry_run && r)
        prune_remember(cli, name, rc, r);
    json_array_append_new(stores, entry);
    ofs_prune_result_free(r);
    if (rc < 0)
        return ofs_error_wrap(rc, "prune of %s", name);
    return 0;
}

int ofs_cli_prune_stores(ofs_cli *cli, const ofs_keyring *ring, const char *only,
                         unsigned flags)
{
    int with_targets = (flags & OFS_PRUNE_TARGETS) != 0;
    int dry_run = (flags & OFS_PRUNE_DRY_RUN) != 0, show_kept = (flags & OFS_PRUNE_SHOW_KEPT) != 0;
    int all_hosts = (flags & OFS_PRUNE_ALL_HOSTS) != 0;
    const ofs_config *cfg = NULL;
    ofs_store *store = NULL;
    prune_pending pending = { 0 };
    json_t *result = json_object(), *stores = json_array();
    ofs_error_first first = { 0 };
    int rc, admin = 0;

    json_object_set_new(result, "dry_run", json_boolean(dry_run));
    json_object_set_new(result, "all_hosts", json_boolean(all_hosts));
    json_object_set(result, "stores", stores);
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        goto cleanup;
    if (only && !ofs_config_find_target(cfg, only)) {
        rc = ofs_cli_open_target(cli, only, &store); /* the error names the configured targets */
        goto cleanup;
    }
    for (size_t i = 0; i <= cfg->target_count; i++) {
        const ofs_config_target *t = i ? &cfg->targets[i - 1] : NULL;
        if ((only && (!t || strcmp(only, t->name) != 0)) || (t && !with_targets) ||
            (!t && all_hosts))
            continue;
        if (!t) {
            rc = ofs_cli_open_staging(cli, 0, &store);
            if (rc == OFS_ENOTFOUND) { /* a machine without staging: only targets to prune */
                ofs_log_info("%s; nothing to prune there", ofs_error_last());
                continue;
            }
            if (rc == 0 && (rc = prune_find_pending(cli, store, ring, &pending)) == 0)
                rc = prune_one(cli, store, ring, NULL, &pending, NULL, dry_run, show_kept,
                               stores);
        } else if ((rc = ofs_cli_open_target_for_prune(cli, t->name, &store, &admin)) == 0) {
            rc = prune_one(cli, store, ring, t, NULL, all_hosts ? NULL : cfg->host, dry_run,
                           show_kept, stores);
        }
        ofs_store_free(store);
        store = NULL;
        if (rc == 0)
            continue;
        /* one store failing must not keep the others from their prune */
        ofs_error_first_add(&first, rc);
    }
    rc = ofs_error_first_end(&first, "%zu stores failed, the first", first.failures);
cleanup:
    json_object_set(ofs_cli_result(cli), "prune", result);
    json_decref(result);
    json_decref(stores);
    prune_pending_free(&pending);
    ofs_store_free(store);
    ofs_error_first_free(&first);
    return rc;
}

int ofs_cmd_prune(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "dry-run", no_argument, NULL, PRUNE_OPT_DRY_RUN },
        { "target", required_argument, NULL, PRUNE_OPT_TARGET },
        { "all-hosts", no_argument, NULL, PRUNE_OPT_ALL_HOSTS },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *only = NULL;
    const ofs_keyring *ring;
    unsigned flags = OFS_PRUNE_TARGETS | OFS_PRUNE_SHOW_KEPT;
    int index = 0, opt, rc;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == PRUNE_OPT_DRY_RUN)
            flags |= OFS_PRUNE_DRY_RUN;
        else if (opt == PRUNE_OPT_TARGET)
            only = arg;
        else if (opt == PRUNE_OPT_ALL_HOSTS)
            flags |= OFS_PRUNE_ALL_HOSTS;
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[index]);
    /* the lock also for a dry run: an orphan is only an orphan while no backup is running */
    if ((rc = ofs_cli_key(cli, 1, &ring)) < 0 || (rc = ofs_cli_lock(cli)) < 0)
        return rc;
    if ((flags & OFS_PRUNE_ALL_HOSTS) && !only)
        return ofs_cli_usage_error(cli, "--all-hosts needs --target T (the shared target to "
                                   "prune for every host)");
    rc = ofs_cli_prune_stores(cli, ring, only, flags);
    /* `offsite prune --json` answers with the prune object itself */
    json_t *inner = json_incref(json_object_get(ofs_cli_result(cli), "prune"));
    if (inner) {
        json_decref(cli->result);
        cli->result = inner;
    }
    return rc;
}
