/* cmd_doctor.c - `offsite doctor [--target T]`: per target, what the credentials may do, the
 * bucket's versioning, object lock and lifecycle rules, the server's clock, whether manifest
 * updates are atomic, and the verdict (doctor.h): can a compromised host delete its backups? */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/doctor.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/store_check.h"
#include "offsite/store_s3.h"

/* past this the clock matters: S3 refuses requests signed more than 15 minutes off */
#define DOCTOR_SKEW_WARN 60

enum { DOCTOR_OPT_TARGET = 300 };

static const char *doctor_tristate(int value, const char *yes, const char *no)
{
    return value == 1 ? yes : value == 0 ? no : "unknown (refused)";
}

/* doctor_s3(cli, store, host, facts, entry): the bucket's side; *b is left zeroed for other
 * drivers */
static int doctor_s3(ofs_cli *cli, ofs_store *store, const char *host, ofs_s3_bucket_facts *b,
                     json_t *entry)
{
    int rc = ofs_store_s3_inspect(store, host, b);
    if (rc == OFS_EUNSUPPORTED) { /* not s3: no versions, no lock, no lifecycle */
        ofs_error_clear();
        memset(b, 0, sizeof(*b));
        b->may_put_lifecycle = b->may_delete_versions = OFS_ABLE_UNTRIED;
        return 0;
    }
    if (rc < 0)
        return rc;
    ofs_cli_out(cli, "  versioning: %s; object lock: %s%s%s; lifecycle rules: ",
                doctor_tristate(b->versioned, "on", "off"),
                doctor_tristate(b->object_lock, "enabled on the bucket", "off"),
                b->lock_objects ? ", objects written locked in " : "",
                b->lock_objects ? b->lock_mode : "");
    if (b->lifecycle_rules < 0)
        ofs_cli_out(cli, "unknown (refused)\n");
    else
        ofs_cli_out(cli, "%d%s\n", b->lifecycle_rules,
                    b->probe_rule ? " (one expires " OFS_STORE_PROBE_PREFIX ")" : "");
    ofs_cli_out(cli, "  credentials may also: write lifecycle rules %s, delete versions %s\n",
                ofs_store_able_name(b->may_put_lifecycle),
                ofs_store_able_name(b->may_delete_versions));
    if (b->clock_known) {
        ofs_cli_out(cli, "  server clock: %+" PRId64 " s from this host's%s\n", b->clock_offset,
                    b->clock_offset > DOCTOR_SKEW_WARN || b->clock_offset < -DOCTOR_SKEW_WARN
                        ? " (offsite signs with the server's time; run an NTP client)" : "");
    }
    json_object_set_new(entry, "versioned", json_integer(b->versioned));
    json_object_set_new(entry, "object_lock", json_integer(b->object_lock));
    json_object_set_new(entry, "lock_mode", b->lock_mode ? json_string(b->lock_mode)
                                                         : json_null());
    json_object_set_new(entry, "lifecycle_rules", json_integer(b->lifecycle_rules));
    json_object_set_new(entry, "probe_rule", json_boolean(b->probe_rule));
    json_object_set_new(entry, "clock_offset_seconds", b->clock_known
                                                           ? json_integer(b->clock_offset)
                                                           : json_null());
    return 0;
}

/* doctor_target(cli, name, host, targets): one target's lines and JSON; the verdict in
 * *can_delete (1 can, 0 cannot) */
static int doctor_target(ofs_cli *cli, const char *name, const char *host, json_t *targets,
                         int *can_delete)
{
    ofs_store *store = NULL;
    ofs_store_abilities a;
    ofs_s3_bucket_facts b;
    json_t *entry = json_pack("{s:s}", "name", name);
    char why[600];
    int rc;

    ofs_cli_out(cli, "target %s:\n", name);
    if ((rc = ofs_cli_open_target(cli, name, &store)) == 0)
        store->caps &= ~(unsigned)OFS_STORE_CAP_DELETE_REFUSED; /* ask the server, not the
                                                                  config's `delete = no` */
    if (rc == 0 && (rc = ofs_store_check(store, host, &a)) == 0) {
        ofs_cli_out(cli, "  %s\n  credentials may: put %s, get %s, list %s, delete %s\n",
                    store->description ? store->description : "", ofs_store_able_name(a.put),
                    ofs_store_able_name(a.get), ofs_store_able_name(a.list),
                    ofs_store_able_name(a.del));
        ofs_cli_out(cli, "  manifest updates: %s\n", a.atomic ? "atomic" : "check-then-write");
        rc = doctor_s3(cli, store, host, &b, entry);
    }
    if (rc < 0) {
        ofs_cli_out(cli, "  check failed: %s\n", ofs_error_last());
        json_object_set_new(entry, "message", json_string(ofs_error_last()));
        json_array_append_new(targets, entry);
        ofs_store_free(store);
        return rc;
    }
    if (a.probe_kept)
        ofs_cli_out(cli, "  probe objects under %s: %llu (delete refused; %s)\n",
                    OFS_STORE_PROBE_PREFIX, (unsigned long long)a.probes,
                    b.probe_rule ? "a lifecycle rule expires them"
                                 : "no lifecycle rule expires them: run offsite retention sync "
                                   "from a host that may write lifecycle rules");
    ofs_doctor_facts f = { .may_put = a.put, .may_delete = a.del, .versioned = b.versioned,
                           .may_delete_versions = b.may_delete_versions,
                           .may_put_lifecycle = b.may_put_lifecycle,
                           .lock_objects = b.lock_objects && b.object_lock == 1,
                           .lock_mode = b.lock_mode };
    *can_delete = ofs_doctor_verdict(&f, why, sizeof(why));
    ofs_cli_out(cli, "  verdict: a compromised host %s delete its backups: %s\n",
                *can_delete ? "CAN" : "cannot", why);
    json_object_set_new(entry, "may", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                                                "put", ofs_store_able_name(a.put),
                                                "get", ofs_store_able_name(a.get),
                                                "list", ofs_store_able_name(a.list),
                                                "delete", ofs_store_able_name(a.del),
                                                "replace", ofs_store_able_name(a.replace),
                                                "put_lifecycle",
                                                ofs_store_able_name(b.may_put_lifecycle),
                                                "delete_versions",
                                                ofs_store_able_name(b.may_delete_versions)));
    json_object_set_new(entry, "atomic_manifest", json_boolean(a.atomic));
    json_object_set_new(entry, "probes", json_integer((json_int_t)a.probes));
    json_object_set_new(entry, "can_delete", json_boolean(*can_delete));
    json_object_set_new(entry, "verdict", json_string(why));
    json_array_append_new(targets, entry);
    ofs_store_free(store);
    return 0;
}

int ofs_cmd_doctor(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "target", required_argument, NULL, DOCTOR_OPT_TARGET },
        { NULL, 0, NULL, 0 }
    };
    const ofs_config *cfg = NULL;
    const char *arg, *only = NULL;
    json_t *targets = json_array();
    ofs_error_first first = { 0 };
    size_t can = 0, checked = 0;
    int index = 0, opt, rc;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1)
        if (opt == DOCTOR_OPT_TARGET)
            only = arg;
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
    if (only && !ofs_config_find_target(cfg, only)) {
        ofs_store *none = NULL;
        rc = ofs_cli_open_target(cli, only, &none); /* names the configured targets */
        goto cleanup;
    }
    for (size_t i = 0; i < cfg->target_count; i++) {
        int can_delete = 0;
        if (only && strcmp(only, cfg->targets[i].name) != 0)
            continue;
        if ((rc = doctor_target(cli, cfg->targets[i].name, cfg->host, targets,
                                &can_delete)) < 0) {
            ofs_error_first_add(&first, rc);
            continue;
        }
        checked++;
        can += (size_t)can_delete;
    }
    if (cfg->target_count == 0)
        ofs_cli_out(cli, "no targets configured\n");
    else
        ofs_cli_out(cli, "%zu of %zu target%s checked; on %zu a compromised host can delete "
                    "its backups\n", checked, checked + first.failures, checked == 1 ? "" : "s",
                    can);
    json_object_set_new(ofs_cli_result(cli), "can_delete", json_integer((json_int_t)can));
    rc = ofs_error_first_end(&first, "%zu targets could not be checked, the first",
                             first.failures);
cleanup:
    json_object_set(ofs_cli_result(cli), "targets", targets);
    json_decref(targets);
    ofs_error_first_free(&first);
    return rc;
}
