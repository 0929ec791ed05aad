/* config_keys.c - every key of every section, with its type and range, and each section's
 * defaults: the one place a new key is added. See config_internal.h and docs/configuration.md. */
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

const char *const config_target_types[] = { "file", "s3", "gcs", "rsync", NULL };
static const char *const url_styles[] = { "path", "virtual", NULL };
static const char *const lifecycles[] = { "sync", "off", NULL };
static const char *const object_locks[] = { "off", "governance", "compliance", NULL };
static const char *const verify_afters[] = { "off", "staging", "targets", NULL };

#define AGENT(n, t, ...) { #n, t, offsetof(ofs_config, n), __VA_ARGS__ }
const key_spec config_agent_keys[] = {
    AGENT(state_dir, KEY_PATH, 0, 0, 0, NULL, 0),
    AGENT(staging_dir, KEY_PATH, 0, 0, 0, NULL, 0),
    AGENT(key_file, KEY_PATH, 0, 0, 0, NULL, 0),
    AGENT(host, KEY_STRING, 0, 0, 0, NULL, 0),
    AGENT(time_zone, KEY_STRING, 0, 0, 0, NULL, 0),
    AGENT(parallel, KEY_INT, 0, 1, 64, NULL, 0),
    AGENT(bwlimit, KEY_BWLIMIT, 0, 0, 0, NULL, 0),
    AGENT(schedule, KEY_CALENDAR, offsetof(ofs_config, schedule_count), 0, 0, NULL, 0),
    AGENT(holidays, KEY_PATH, 0, 0, 0, NULL, 0),
    AGENT(run_grace, KEY_DURATION, 0, 0, YEARS_100, NULL, 0),
    AGENT(verify_after, KEY_CHOICE, 0, 0, 0, verify_afters, 0),
    AGENT(safety_dir, KEY_PATH, 0, 0, 0, NULL, 0),
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define SET(n, t, ...) { #n, t, offsetof(ofs_config_set, n), __VA_ARGS__ }
const key_spec config_set_keys[] = {
    SET(paths, KEY_PATHS, offsetof(ofs_config_set, path_count), 0, 0, NULL, 0),
    { "exclude", KEY_PATTERNS, offsetof(ofs_config_set, excludes),
      offsetof(ofs_config_set, exclude_count), 0, 0, NULL, 0 },
    SET(pre_hook, KEY_COMMAND, 0, 0, 0, NULL, 0),
    SET(post_hook, KEY_COMMAND, 0, 0, 0, NULL, 0),
    SET(full_every, KEY_DURATION, 0, 0, YEARS_100, NULL, 0),
    SET(volume_size, KEY_SIZE, 0, 64 * KB, TB, NULL, 0),
    SET(compression_level, KEY_INT, 0, 1, 19, NULL, 0),
    SET(warn_after, KEY_AGE, offsetof(ofs_config_set, warn_runs), 1, YEARS_100, NULL, 0),
    SET(critical_after, KEY_AGE, offsetof(ofs_config_set, critical_runs), 1, YEARS_100, NULL,
        0),
    SET(schedule, KEY_CALENDAR, offsetof(ofs_config_set, schedule_count), 0, 0, NULL, 0),
    SET(retention, KEY_STRING, 0, 0, 0, NULL, 0),
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define TARGET(n, t, ...) { #n, t, offsetof(ofs_config_target, n), __VA_ARGS__ }
const key_spec config_target_keys[] = {
    TARGET(type, KEY_CHOICE, 0, 0, 0, config_target_types, T_ALL),
    TARGET(path, KEY_PATH, 0, 0, 0, NULL, T_FILE),
    TARGET(endpoint, KEY_URL, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(region, KEY_STRING, 0, 0, 0, NULL, T_S3),
    TARGET(bucket, KEY_STRING, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(prefix, KEY_PREFIX, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(url_style, KEY_CHOICE, 0, 0, 0, url_styles, T_S3),
    TARGET(storage_class, KEY_STRING, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(object_lock, KEY_CHOICE, 0, 0, 0, object_locks, T_S3 | T_GCS),
    TARGET(credentials_file, KEY_PATH, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(profile, KEY_STRING, 0, 0, 0, NULL, T_S3),
    TARGET(prune_profile, KEY_STRING, 0, 0, 0, NULL, T_S3),
    TARGET(ca_file, KEY_PATH, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(part_size, KEY_SIZE, 0, 5 * MB, 5 * GB, NULL, T_S3 | T_GCS),
    TARGET(transition_days, KEY_INT, 0, 1, 100000, NULL, T_S3 | T_GCS),
    TARGET(transition_class, KEY_CLASS, 0, 0, OFS_CONFIG_CLASS_MAX, NULL, T_S3 | T_GCS),
    TARGET(url, KEY_STRING, 0, 0, 0, NULL, T_RSYNC),
    TARGET(ssh_command, KEY_COMMAND, 0, 0, 0, NULL, T_RSYNC),
    TARGET(password_file, KEY_PATH, 0, 0, 0, NULL, T_RSYNC),
    TARGET(retention, KEY_STRING, 0, 0, 0, NULL, T_ALL),
    TARGET(bwlimit, KEY_BWLIMIT, 0, 0, 0, NULL, T_ALL),
    TARGET(parallel, KEY_INT, 0, 1, 64, NULL, T_ALL),
    { "delete", KEY_NOT_BOOL, offsetof(ofs_config_target, write_only), 0, 0, 0, NULL, T_ALL },
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define RETENTION(n, t, ...) { #n, t, offsetof(ofs_config_retention, n), __VA_ARGS__ }
const key_spec config_retention_keys[] = {
    RETENTION(daily, KEY_INT, 0, 0, 100000, NULL, 0),
    RETENTION(weekly, KEY_INT, 0, 0, 100000, NULL, 0),
    RETENTION(monthly, KEY_INT, 0, 0, 100000, NULL, 0),
    RETENTION(keep_last, KEY_INT, 0, 0, 100000, NULL, 0),
    RETENTION(max_backups, KEY_INT, 0, 0, 100000, NULL, 0),
    { "auto", KEY_BOOL, offsetof(ofs_config_retention, auto_prune), 0, 0, 0, NULL, 0 },
    RETENTION(lifecycle, KEY_CHOICE, 0, 0, 0, lifecycles, 0),
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define NOTIFY(n, t, ...) { #n, t, offsetof(ofs_config_notify, n), __VA_ARGS__ }
static const char *const notify_events[] = {
    "backup_failed", "push_failed", "prune_failed", "verify_failed", "status_warning",
    "status_critical", "drill_missed", "recovered", "unit_failed", "test", NULL
};
const key_spec config_notify_keys[] = {
    NOTIFY(command, KEY_STRING, 0, 0, 0, NULL, 0),
    NOTIFY(webhook, KEY_STRING, 0, 0, 0, NULL, 0), /* a URL with a path: checked in config_check.c */
    NOTIFY(timeout, KEY_DURATION, 0, 1, 3600, NULL, 0),
    NOTIFY(events, KEY_WORDS, offsetof(ofs_config_notify, event_count), 0, 0, notify_events, 0),
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define KEY_COUNT(table) (sizeof(table) / sizeof(table[0]) - 1)
_Static_assert(KEY_COUNT(config_agent_keys) <= KEYS_MAX, "raise KEYS_MAX");
_Static_assert(KEY_COUNT(config_set_keys) <= KEYS_MAX, "raise KEYS_MAX");
_Static_assert(KEY_COUNT(config_target_keys) <= KEYS_MAX, "raise KEYS_MAX");
_Static_assert(KEY_COUNT(config_retention_keys) <= KEYS_MAX, "raise KEYS_MAX");
_Static_assert(KEY_COUNT(config_notify_keys) <= KEYS_MAX, "raise KEYS_MAX");

const key_spec *config_section_keys(enum section_kind kind)
{
    switch (kind) {
    case SEC_AGENT: return config_agent_keys;
    case SEC_SET: return config_set_keys;
    case SEC_TARGET: return config_target_keys;
    case SEC_NOTIFY: return config_notify_keys;
    default: return config_retention_keys;
    }
}

int config_key_index(const key_spec *keys, const char *name)
{
    for (int k = 0; keys[k].name; k++)
        if (strcmp(keys[k].name, name) == 0)
            return k;
    return 0;
}

int config_set_defaults(ofs_config_set *set, const char *name, int line)
{
    *set = (ofs_config_set){ .name = strdup(name), .line = line, .full_every = 7 * DAY,
                             .volume_size = 128 * MB, .compression_level = 3,
                             .warn_after = 26 * 3600, .critical_after = 50 * 3600 };
    return set->name ? 0 : -1;
}

int config_target_defaults(ofs_config_target *target, const char *name, int line)
{
    *target = (ofs_config_target){ .name = strdup(name), .line = line };
    return target->name ? 0 : -1;
}
