/*
 * config.h - the INI configuration (parsed with inih), validated completely at load.
 *
 * Sections: [agent], [set NAME] (one or more), [target NAME] (zero or more), [retention],
 * [retention NAME] (zero or more: policies a target or a set picks with `retention = NAME`), and
 * [notify] (how failures are told: a command and/or a webhook).
 * Every error names the file and line: "FILE:LINE: message" (OFS_ECONFIG). Unknown sections
 * and keys, missing required keys, and bad values are errors. Relative paths in the file are
 * resolved against the directory holding the config file. List keys (`paths`, `exclude`) take
 * one value per line: repeat the key, or continue on indented lines, so paths may hold spaces.
 * Sizes take K, M, G, T suffixes (powers of 1024): "128M". Durations take s, m, h, d, w:
 * "26h", "7d". See docs/configuration.md for every key and its default.
 */
#ifndef OFFSITE_CONFIG_H
#define OFFSITE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define OFS_CONFIG_CLASS_MAX 64 /* a storage class name, its NUL included */

typedef struct ofs_config_set {
    char *name;
    int line;                  /* line of the [set NAME] header */
    char **paths;              /* absolute, at least one */
    size_t path_count;
    char **excludes;           /* fnmatch(3) patterns, matched against the path relative to
                                  its set path and against the basename */
    size_t exclude_count;
    char *pre_hook, *post_hook;/* shell commands, or NULL */
    int64_t full_every;        /* seconds; default 7d */
    uint64_t volume_size;      /* bytes; default 128M */
    int compression_level;     /* default 3 */
    int64_t warn_after;        /* seconds; default 26h (used when warn_runs is 0) */
    int64_t critical_after;    /* seconds; default 50h (used when critical_runs is 0) */
    int warn_runs;             /* `warn_after = 1 run`: scheduled runs missed; default 1 when
                                  the set has a schedule and warn_after is not a duration */
    int critical_runs;         /* likewise; default 2 */
    char **schedule;           /* calendar lines (schedule.h) of this set; none: [agent]'s */
    size_t schedule_count;
    char *retention;           /* `retention = NAME`: this set's [retention NAME] policy (checked
                                  to exist at load), used where a target has none; or NULL */
} ofs_config_set;

typedef struct ofs_config_target {
    char *name;
    int line;
    char *type;                /* "file", "s3", "gcs" or "rsync" */
    /* file */
    char *path;
    /* s3 */
    char *endpoint, *region, *bucket, *prefix, *url_style, *storage_class, *object_lock,
        *credentials_file, *profile, *ca_file;
    char *prune_profile;       /* the credentials profile `prune` uses (an admin's, allowed to
                                  delete); NULL: prune uses the target's own credentials */
    uint64_t part_size;        /* 0 = driver default */
    int transition_days;       /* lifecycle: move data to transition_class after this many
                                  days; 0 = no transition (given with transition_class) */
    char transition_class[OFS_CONFIG_CLASS_MAX]; /* "GLACIER": capitals, digits, '_'; "" = none
                                  (held inline: a short checked token) */
    /* rsync */
    char *url, *ssh_command, *password_file;
    /* all */
    char *retention;           /* name of a retention override, or NULL */
    char *bwlimit;             /* as written; parsed by the transport */
    int parallel;              /* transfers at once; 0 = the driver's default (s3: 4) */
    int write_only;            /* `delete = no`: these credentials may not delete (a write-only
                                  target); default 0 */
} ofs_config_target;

typedef struct ofs_config_retention {
    int daily, weekly, monthly; /* days, weeks, months to keep; defaults 30, 12, 12 */
    int keep_last;              /* always keep the newest N backups per set; default 1 */
    int max_backups;            /* keep at most N backups per set, newest first, a needed base
                                   counted (retention.h rule 4); 0 = no cap (default) */
    int auto_prune;             /* `auto = true`: prune after backup; default false (only in
                                   [retention]; an override copies it) */
    char *lifecycle;            /* "sync" or "off"; default "sync" */
    char *name;                 /* NULL for [retention], NAME for [retention NAME] */
    int line;                   /* line of the section header; 0 if the section is absent */
} ofs_config_retention;

typedef struct ofs_config_notify {
    char *command;              /* run with /bin/sh -c, the event as JSON on stdin; or NULL */
    char *webhook;              /* http(s) URL: the event POSTed as JSON; or NULL */
    int64_t timeout;            /* seconds a notifier may take; default 30 */
    char **events;              /* event names to send; none = every event */
    size_t event_count;
    int line;                   /* line of [notify]; 0 if absent */
} ofs_config_notify;

typedef struct ofs_config {
    char *path;                 /* the file it was read from */
    /* [agent] */
    char *state_dir;            /* default /var/lib/offsite */
    char *staging_dir;          /* default STATE_DIR/staging */
    char *key_file;             /* default STATE_DIR/offsite.key */
    char *host;                 /* default: gethostname() */
    char *time_zone;            /* IANA name; default "UTC" */
    int parallel;               /* default: number of online CPUs (at most 8) */
    char *bwlimit;
    char **schedule;            /* calendar lines (schedule.h): when backups are due */
    size_t schedule_count;
    char *holidays;             /* a file of dates without a run, or NULL */
    int64_t run_grace;          /* how late a run may be before it counts as missed; default 3h */
    char *verify_after;         /* "off" (default), "staging" or "targets" */
    char *safety_dir;           /* where restore makes its safety area; NULL = the top of
                                   the restore target (restore.h) */
    ofs_config_set *sets;
    size_t set_count;
    ofs_config_target *targets;
    size_t target_count;
    ofs_config_retention retention;      /* [retention]: staging, and targets without an override */
    ofs_config_retention *retentions;    /* [retention NAME] overrides; keys not given in one
                                            are those of [retention] */
    size_t retention_count;
    ofs_config_notify notify;   /* [notify] */
} ofs_config;

/*
 * ofs_config_load(&cfg, path): read and validate path. OFS_ENOTFOUND if it cannot be opened
 * (naming it), OFS_ECONFIG "PATH:LINE: ..." for anything wrong inside.
 */
int ofs_config_load(ofs_config **out, const char *path);

/* ofs_config_free(cfg): NULL is a no-op. */
void ofs_config_free(ofs_config *cfg);

/* ofs_config_find_set / ofs_config_find_target: by name, or NULL. */
const ofs_config_set *ofs_config_find_set(const ofs_config *cfg, const char *name);
const ofs_config_target *ofs_config_find_target(const ofs_config *cfg, const char *name);

/* ofs_config_find_retention(cfg, name): the [retention NAME] override, or NULL. */
const ofs_config_retention *ofs_config_find_retention(const ofs_config *cfg, const char *name);

/* ofs_config_target_retention(cfg, target): the policy that applies to target: its `retention =
 * NAME` override (checked to exist at load), else [retention]. target NULL is staging. */
const ofs_config_retention *ofs_config_target_retention(const ofs_config *cfg,
                                                        const ofs_config_target *target);

/* ofs_config_policy(cfg, target, set): the policy prune applies to set's backups on target
 * (NULL: staging): the target's own `retention = NAME`, else the set's `retention = NAME`,
 * else [retention]. A set not (or no longer) configured has no policy of its own. */
const ofs_config_retention *ofs_config_policy(const ofs_config *cfg,
                                              const ofs_config_target *target, const char *set);

/*
 * ofs_config_schedule(cfg, set, &schedule): the schedule a set runs on - its own `schedule`
 * lines, else [agent]'s - with [agent] holidays and time_zone; set NULL: every line of
 * [agent] and of every set (what the systemd timer must fire on). A schedule without lines
 * (nothing configured) has no run due. The caller frees it with ofs_schedule_free.
 */
struct ofs_schedule;
int ofs_config_schedule(const ofs_config *cfg, const ofs_config_set *set,
                        struct ofs_schedule **out);

/* ofs_parse_size("128M", &bytes): OFS_ECONFIG with a message naming the value if malformed. */
int ofs_parse_size(const char *text, uint64_t *bytes);

/* ofs_parse_duration("7d", &seconds): units s, m, h, d, w; a bare number is seconds. */
int ofs_parse_duration(const char *text, int64_t *seconds);

/* ofs_env_number(name, fallback): a non-negative number from the environment (the tuning and
 * test knobs OFFSITE_RETRY_BUDGET, OFFSITE_S3_STALL_TIMEOUT, ...); fallback when the variable
 * is unset, empty or not such a number. */
double ofs_env_number(const char *name, double fallback);

/* ofs_endpoint_host_is_ip("http://127.0.0.1:7480"): 1 if the endpoint's host is an IP address
 * literal, where a virtual-hosted bucket name cannot go in front of it. */
int ofs_endpoint_host_is_ip(const char *endpoint);

/* ofs_format_duration(seconds, buf, size): "3d 4h", "12m 5s", "45s". */
void ofs_format_duration(int64_t seconds, char *buf, size_t size);

#endif
