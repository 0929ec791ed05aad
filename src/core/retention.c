/* retention.c - the GFS policy as a pure function over manifest entries; see retention.h. */
#include "offsite/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/error.h"

#define DAY INT64_C(86400)
#define WEEK (7 * DAY)

static const char *const retention_reason_names[] = {
    "daily", "weekly", "monthly", "keep_last", "newest_full", "held", "base", "other_host"
};
#define REASON_COUNT (sizeof(retention_reason_names) / sizeof(retention_reason_names[0]))

int64_t ofs_retention_add_months(int64_t t, int months)
{
    static const int days_in[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    time_t when = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&when, &tm))
        return t;
    long month = (long)tm.tm_year * 12 + tm.tm_mon + months;
    long year = month / 12, mon = month % 12;
    if (mon < 0) {
        mon += 12;
        year--;
    }
    tm.tm_year = (int)year;
    tm.tm_mon = (int)mon;
    long full_year = year + 1900;
    int leap = (full_year % 4 == 0 && full_year % 100 != 0) || full_year % 400 == 0;
    int last = days_in[mon] + (mon == 1 && leap);
    if (tm.tm_mday > last)
        tm.tm_mday = last;
    return (int64_t)timegm(&tm);
}

/* The limits that apply to a class (rule 1): bit set -> that limit's end in *ends. */
static unsigned retention_limits(const ofs_config_retention *policy, const char *class_name,
                                 int64_t started, int64_t ends[3])
{
    unsigned bits = OFS_RETAIN_DAILY;
    int monthly = class_name && strcmp(class_name, "monthly") == 0;
    int weekly = monthly || (class_name && strcmp(class_name, "weekly") == 0);

    ends[0] = started + policy->daily * DAY;
    if (weekly) {
        bits |= OFS_RETAIN_WEEKLY;
        ends[1] = started + policy->weekly * WEEK;
    }
    if (monthly) {
        bits |= OFS_RETAIN_MONTHLY;
        ends[2] = ofs_retention_add_months(started, policy->monthly);
    }
    return bits;
}

int64_t ofs_retention_expiry(const ofs_config_retention *policy, const char *class_name,
                             int64_t started)
{
    int64_t ends[3] = { 0 }, expiry;
    unsigned bits = retention_limits(policy, class_name, started, ends);
    expiry = ends[0];
    for (int i = 1; i < 3; i++)
        if ((bits & (1u << i)) && ends[i] > expiry)
            expiry = ends[i];
    return expiry;
}

int ofs_retention_lock_until(const ofs_config_retention *policy, const char *key, int64_t now,
                             int64_t *until)
{
    const char *slash;
    char class_name[32];
    size_t n;

    *until = 0;
    /* a backup's objects live under data/<class>/<id>/: the key alone says how long */
    if (strncmp(key, "data/", 5) != 0)
        return 0;
    key += 5;
    if (!(slash = strchr(key, '/')) || (n = (size_t)(slash - key)) == 0 ||
        n >= sizeof(class_name))
        return 0;
    memcpy(class_name, key, n);
    class_name[n] = '\0';
    *until = ofs_retention_expiry(policy, class_name, now) + 86400;
    return 1;
}

/* Indices grouped by set, newest first in each: start time, then id, both descending. */
static int retention_newer_first(const void *a, const void *b, void *ctx)
{
    const ofs_manifest_entry *entries = ctx;
    const ofs_manifest_entry *x = &entries[*(const size_t *)a];
    const ofs_manifest_entry *y = &entries[*(const size_t *)b];
    int by_set = strcmp(x->set, y->set);
    if (by_set)
        return by_set;
    return -ofs_manifest_entry_order(x, y);
}

static int retention_by_id(const void *a, const void *b, void *ctx)
{
    const ofs_manifest_entry *entries = ctx;
    return strcmp(entries[*(const size_t *)a].id, entries[*(const size_t *)b].id);
}

/* The index of the entry with this id (ids sorted by retention_by_id), or count. */
static size_t retention_find(const ofs_manifest_entry *entries, const size_t *by_id, size_t count,
                             const char *id)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int c = strcmp(entries[by_id[mid]].id, id);
        if (c == 0)
            return by_id[mid];
        if (c < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return count;
}

/* the reasons rules 1-3 give, which max_backups can take away */
#define RETENTION_CAPPED                                                                      \
    (OFS_RETAIN_DAILY | OFS_RETAIN_WEEKLY | OFS_RETAIN_MONTHLY | OFS_RETAIN_LAST |              \
     OFS_RETAIN_NEWEST_FULL)

/* retention_count_chain(entries, by_id, count, i, counted, mark): how many of entry i and the
 * bases it needs are not yet counted; with mark, count them. */
static size_t retention_count_chain(const ofs_manifest_entry *entries, const size_t *by_id,
                                    size_t count, size_t i, uint8_t *counted, int mark)
{
    size_t n = 0;
    /* at most count steps: a (corrupt) cycle of bases cannot loop */
    for (size_t step = 0; i < count && step < count; step++) {
        if (!counted[i]) {
            n++;
            if (mark)
                counted[i] = 1;
        }
        i = entries[i].base ? retention_find(entries, by_id, count, entries[i].base) : count;
    }
    return n;
}

/* rule 4: the set of order[first..end) (newest first) keeps at most max backups, counting
 * the bases they need. */
static void retention_cap(int max, const ofs_manifest_entry *entries, const size_t *order,
                          const size_t *by_id, size_t count, size_t first, size_t end,
                          uint8_t *counted, ofs_retention_decision *out)
{
    size_t used = 0;
    int full = 0;
    if (max <= 0)
        return;
    for (size_t k = first; k < end; k++) {
        size_t i = order[k];
        if (!(out[i].reasons & RETENTION_CAPPED))
            continue;
        if (!full) {
            size_t need = retention_count_chain(entries, by_id, count, i, counted, 0);
            if (used == 0 || used + need <= (size_t)max) { /* the newest always fits */
                used += retention_count_chain(entries, by_id, count, i, counted, 1);
                continue;
            }
            full = 1; /* newest kept: nothing older comes in after the first that does not fit */
        }
        if (!counted[i]) {
            out[i].reasons &= ~(unsigned)RETENTION_CAPPED;
            out[i].over_cap = 1;
        }
    }
}

/* retention_decide(policy, each, ...): each[i] if each, else policy, applies to entry i. */
static int retention_decide(const ofs_config_retention *policy,
                            const ofs_config_retention *const *each,
                            const ofs_manifest_entry *entries, size_t count, int64_t now,
                            const uint8_t *held, ofs_retention_decision *out)
{
    size_t *order = NULL, *by_id = NULL;
    uint8_t *counted = NULL;
    int rc = 0;

    if (count == 0)
        return 0;
    if (!(order = malloc(count * sizeof(*order))) || !(by_id = malloc(count * sizeof(*by_id))) ||
        !(counted = calloc(count, 1))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        const ofs_config_retention *p = each ? each[i] : policy;
        int64_t ends[3] = { 0 };
        unsigned bits = retention_limits(p, entries[i].class_name, entries[i].started, ends);
        out[i] = (ofs_retention_decision){ .expires = ofs_retention_expiry(
                                               p, entries[i].class_name, entries[i].started),
                                           .needed_by = count };
        for (int b = 0; b < 3; b++) /* rule 1 */
            if ((bits & (1u << b)) && now < ends[b])
                out[i].reasons |= 1u << b;
        order[i] = by_id[i] = i;
    }
    qsort_r(order, count, sizeof(*order), retention_newer_first, (void *)entries);
    qsort_r(by_id, count, sizeof(*by_id), retention_by_id, (void *)entries);

    /* rules 2 and 3: walk each set newest first; rule 4 once a set's walk is done */
    for (size_t i = 0, first = 0, rank = 0, have_full = 0; i <= count; i++) {
        if (i == count || (i > 0 && strcmp(entries[order[i]].set,
                                           entries[order[i - 1]].set) != 0)) {
            const ofs_config_retention *p = each ? each[order[first]] : policy;
            retention_cap(p->max_backups, entries, order, by_id, count, first, i, counted, out);
            if (i == count)
                break;
            first = i, rank = 0, have_full = 0;
        }
        const ofs_manifest_entry *e = &entries[order[i]];
        const ofs_config_retention *p = each ? each[order[i]] : policy;
        if (rank++ < (size_t)p->keep_last)
            out[order[i]].reasons |= OFS_RETAIN_LAST;
        if (!have_full && e->kind && strcmp(e->kind, "full") == 0) {
            out[order[i]].reasons |= OFS_RETAIN_NEWEST_FULL;
            have_full = 1;
        }
    }
    for (size_t i = 0; held && i < count; i++) /* rule 5 */
        if (held[i])
            out[i].reasons |= OFS_RETAIN_HELD;

    /* rule 6: bases of kept backups, until nothing changes (a base is a full, so one pass
     * usually settles it; the loop also covers a chain) */
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < count; i++) {
            if (!out[i].reasons || !entries[i].base)
                continue;
            size_t base = retention_find(entries, by_id, count, entries[i].base);
            if (base == count || (out[base].reasons & OFS_RETAIN_BASE))
                continue;
            out[base].reasons |= OFS_RETAIN_BASE;
            out[base].needed_by = i;
            changed = 1;
        }
    }
cleanup:
    free(order);
    free(by_id);
    free(counted);
    return rc;
}

int ofs_retention_decide(const ofs_config_retention *policy, const ofs_manifest_entry *entries,
                         size_t count, int64_t now, const uint8_t *held,
                         ofs_retention_decision *out)
{
    return retention_decide(policy, NULL, entries, count, now, held, out);
}

int ofs_retention_decide_each(const ofs_config_retention *const *policies,
                              const ofs_manifest_entry *entries, size_t count, int64_t now,
                              const uint8_t *held, ofs_retention_decision *out)
{
    return retention_decide(NULL, policies, entries, count, now, held, out);
}

const char *ofs_retention_reason_name(unsigned bit)
{
    for (size_t i = 0; i < REASON_COUNT; i++)
        if (bit == 1u << i)
            return retention_reason_names[i];
    return NULL;
}

const char *ofs_retention_reasons(unsigned reasons, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < REASON_COUNT && used < size; i++)
        if (reasons & (1u << i))
            used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                                     retention_reason_names[i]);
    return buf;
}

const char *ofs_retention_describe(const ofs_config_retention *policy, char *buf, size_t size)
{
    int n = snprintf(buf, size, "daily %dd, weekly %dw, monthly %dmo, keep_last %d",
                     policy->daily, policy->weekly, policy->monthly, policy->keep_last);
    if (policy->max_backups > 0 && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, ", max_backups %d", policy->max_backups);
    return buf;
}
