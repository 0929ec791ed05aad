/*
 * retention.h - the GFS policy as a pure function: given a store's backups (manifest entries),
 * a policy ([retention] or a [retention NAME] override) and the current time, which backups are
 * kept and why. No I/O; prune.h deletes what this does not keep.
 *
 * The rule (docs/configuration.md "How prune decides" says the same in prose; keep the two
 * in step):
 *   1. Age. A backup's class limit runs from its start time:
 *        daily   = D days        (D * 86400 s)
 *        weekly  = W weeks       (W * 604800 s)
 *        monthly = M months      (the same UTC day and time M months later; a day past the
 *                                 end of that month becomes its last day: 31 Jan + 1 month =
 *                                 28 or 29 Feb, same time)
 *      and classes nest: every backup has the daily limit, weekly and monthly backups also the
 *      weekly limit, monthly backups also the monthly limit. A backup is kept while
 *      now < started + limit for one of its limits (its expiry is the latest of them), so
 *      with backups at the same time each night `daily = 30` keeps exactly 30 of them.
 *   2. keep_last: the newest N backups of each set (by start time, then id), whatever their age.
 *   3. The newest full backup of each set.
 *   4. max_backups (N > 0) caps what 1-3 keep in each set: walking those backups newest
 *      first, each one counts with the bases it needs that are not yet counted, and the walk
 *      stops at the first that would bring the count past N; the newest one (with its base)
 *      always fits, so a set keeps its newest backup even with N = 1 and a differential. The
 *      backups past the cap lose their reasons 1-3 (decision.over_cap), so the cap wins over
 *      class ages and keep_last; the newest full is always inside it (it is the newest
 *      backup, or the base of a newer differential).
 *   5. Held backups (the caller's reason, e.g. not yet replicated to every target): kept
 *      whatever the cap says.
 *   6. The base of every backup kept by 1-6 (a differential needs its full), repeated until
 *      nothing changes.
 * Everything else is deleted. Sets are independent, and each may have its own policy
 * (ofs_retention_decide_each).
 */
#ifndef OFFSITE_RETENTION_H
#define OFFSITE_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/config.h"
#include "offsite/manifest.h"

/* Why a backup is kept (bits of ofs_retention_decision.reasons; 0 = delete). */
enum {
    OFS_RETAIN_DAILY = 1 << 0,       /* younger than the daily limit (any class) */
    OFS_RETAIN_WEEKLY = 1 << 1,      /* weekly or monthly, younger than the weekly limit */
    OFS_RETAIN_MONTHLY = 1 << 2,     /* monthly, younger than the monthly limit */
    OFS_RETAIN_LAST = 1 << 3,        /* one of the newest keep_last of its set */
    OFS_RETAIN_NEWEST_FULL = 1 << 4, /* the newest full backup of its set */
    OFS_RETAIN_HELD = 1 << 5,        /* held by the caller */
    OFS_RETAIN_BASE = 1 << 6,        /* the base of a kept differential */
    OFS_RETAIN_HOST = 1 << 7         /* another host wrote it: that host's prune decides (set
                                        by prune, not by ofs_retention_decide) */
};

typedef struct ofs_retention_decision {
    unsigned reasons;   /* OFS_RETAIN_* bits; 0 means the backup is deleted */
    int over_cap;       /* rules 1-3 kept it, but it is past its set's max_backups (rule 4) */
    int64_t expires;    /* started + its longest class limit: when rule 1 stops keeping it */
    size_t needed_by;   /* with OFS_RETAIN_BASE: index of a kept backup whose base it is */
} ofs_retention_decision;

/*
 * ofs_retention_decide(policy, entries, count, now, held, out): fill out[0..count) with the
 * decision for each entry (only id, set, kind, base, class_name and started are read; order
 * does not matter). held may be NULL, else held[i] non-zero holds entry i. OFS_ERROR when out
 * of memory. An unknown class counts as daily.
 */
int ofs_retention_decide(const ofs_config_retention *policy, const ofs_manifest_entry *entries,
                         size_t count, int64_t now, const uint8_t *held,
                         ofs_retention_decision *out);

/* ofs_retention_decide_each(policies, entries, count, now, held, out): the same with a policy
 * per entry: policies[i] applies to entries[i] (every entry of one set must have the same). */
int ofs_retention_decide_each(const ofs_config_retention *const *policies,
                              const ofs_manifest_entry *entries, size_t count, int64_t now,
                              const uint8_t *held, ofs_retention_decision *out);

/* ofs_retention_expiry(policy, class_name, started): started + the longest limit of the class
 * (rule 1). */
int64_t ofs_retention_expiry(const ofs_config_retention *policy, const char *class_name,
                             int64_t started);

/*
 * ofs_retention_lock_until(policy, key, now, &until): the date a provider lock (s3 object lock,
 * gcs object retention) holds an object written now under key (relative to the target): a day
 * past the class's expiry, so neither prune nor the lifecycle rule (a day past the class's age
 * too) is refused for a backup the policy no longer keeps. Returns 1 for a key under
 * data/CLASS/, 0 for anything else (manifest.json, probes: never locked; *until = 0).
 */
int ofs_retention_lock_until(const ofs_config_retention *policy, const char *key, int64_t now,
                             int64_t *until);

/* ofs_retention_add_months(t, months): the same UTC day and time, months later (earlier if
 * negative), the day clamped to the end of a shorter month. */
int64_t ofs_retention_add_months(int64_t t, int months);

/* ofs_retention_reasons(reasons, buf, size): "daily, keep_last, base" - the names of the bits
 * as docs and --json use them ("" for 0). */
const char *ofs_retention_reasons(unsigned reasons, char *buf, size_t size);

/* ofs_retention_reason_name(bit): the name of one OFS_RETAIN_* bit, or NULL. */
const char *ofs_retention_reason_name(unsigned bit);

/* ofs_retention_describe(policy, buf, size): "daily 30d, weekly 12w, monthly 12mo, keep_last 1"
 * (", max_backups N" after it when there is a cap). */
const char *ofs_retention_describe(const ofs_config_retention *policy, char *buf, size_t size);

#endif
