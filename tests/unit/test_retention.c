/* test_retention.c - the GFS policy as a pure function: exact keep sets for hand-made histories
 * (class ages to the second, keep_last per set, the newest full, bases of kept differentials,
 * held backups, max_backups, a policy per set), month arithmetic at month ends and leap years, week edges, and the texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/clock.h"
#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/manifest.h"
#include "offsite/retention.h"

#define DAY INT64_C(86400)
#define MAX_ENTRIES 64

typedef struct spec {
    const char *id, *kind, *base, *class_name, *started; /* set = id up to its first '_' */
} spec;

typedef struct history {
    ofs_manifest_entry entries[MAX_ENTRIES];
    ofs_retention_decision out[MAX_ENTRIES];
    char sets[MAX_ENTRIES][32];
    size_t count;
} history;

static int64_t iso(const char *text)
{
    int64_t t = 0;
    assert_int_equal(ofs_time_parse_iso(text, &t), 0);
    return t;
}

static ofs_config_retention policy(int daily, int weekly, int monthly, int keep_last)
{
    return (ofs_config_retention){ .daily = daily, .weekly = weekly, .monthly = monthly,
                                   .keep_last = keep_last };
}

static void load(history *h, const spec *specs, size_t count)
{
    assert_true(count <= MAX_ENTRIES);
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < count; i++) {
        ofs_manifest_entry *e = &h->entries[i];
        snprintf(h->sets[i], sizeof(h->sets[i]), "%.*s", (int)strcspn(specs[i].id, "_"),
                 specs[i].id);
        e->id = (char *)specs[i].id;
        e->set = h->sets[i];
        e->kind = (char *)specs[i].kind;
        e->base = (char *)specs[i].base;
        e->class_name = (char *)specs[i].class_name;
        e->started = iso(specs[i].started);
    }
    h->count = count;
}

static void decide(history *h, const ofs_config_retention *p, const char *now, const uint8_t *held)
{
    assert_int_equal(ofs_retention_decide(p, h->entries, h->count, iso(now), held, h->out), 0);
}

static size_t find(const history *h, const char *id)
{
    for (size_t i = 0; i < h->count; i++)
        if (strcmp(h->entries[i].id, id) == 0)
            return i;
    fail_msg("no entry %s", id);
    return 0;
}

/* expect(h, "id=reasons", ...): every entry's reasons, as ofs_retention_reasons prints them
 * ("" = deleted); entries not named must be deleted. */
static void expect(const history *h, const char *const *want, size_t count)
{
    uint8_t named[MAX_ENTRIES] = { 0 };
    char buf[128], id[64];
    for (size_t i = 0; i < count; i++) {
        const char *eq = strchr(want[i], '=');
        snprintf(id, sizeof(id), "%.*s", (int)(eq - want[i]), want[i]);
        size_t k = find(h, id);
        named[k] = 1;
        ofs_retention_reasons(h->out[k].reasons, buf, sizeof(buf));
        if (strcmp(buf, eq + 1) != 0)
            fail_msg("%s: reasons '%s', expected '%s'", id, buf, eq + 1);
    }
    for (size_t i = 0; i < h->count; i++)
        if (!named[i] && h->out[i].reasons)
            fail_msg("%s: kept (%s), expected deleted", h->entries[i].id,
                     ofs_retention_reasons(h->out[i].reasons, buf, sizeof(buf)));
}
#define EXPECT(h, ...)                                                                        \
    do {                                                                                      \
        static const char *const want_[] = { __VA_ARGS__ };                                   \
        expect(h, want_, sizeof(want_) / sizeof(want_[0]));                                  \
    } while (0)
#define LOAD(h, ...)                                                                          \
    do {                                                                                      \
        static const spec specs_[] = { __VA_ARGS__ };                                        \
        load(h, specs_, sizeof(specs_) / sizeof(specs_[0]));                                  \
    } while (0)

static void test_add_months(void **state)
{
    (void)state;
    assert_int_equal(ofs_retention_add_months(iso("2027-01-31T22:00:00Z"), 1),
                     iso("2027-02-28T22:00:00Z"));
    assert_int_equal(ofs_retention_add_months(iso("2028-01-31T22:00:00Z"), 1),
                     iso("2028-02-29T22:00:00Z")); /* leap year */
    assert_int_equal(ofs_retention_add_months(iso("2100-01-31T00:00:00Z"), 1),
                     iso("2100-02-28T00:00:00Z")); /* not a leap year */
    assert_int_equal(ofs_retention_add_months(iso("2000-01-30T00:00:00Z"), 1),
                     iso("2000-02-29T00:00:00Z")); /* a leap year */
    assert_int_equal(ofs_retention_add_months(iso("2027-03-31T08:15:00Z"), -1),
                     iso("2027-02-28T08:15:00Z"));
    assert_int_equal(ofs_retention_add_months(iso("2026-12-15T23:59:59Z"), 1),
                     iso("2027-01-15T23:59:59Z"));
    assert_int_equal(ofs_retention_add_months(iso("2026-05-31T12:00:00Z"), 12),
                     iso("2027-05-31T12:00:00Z"));
    assert_int_equal(ofs_retention_add_months(iso("2026-01-15T00:00:00Z"), -13),
                     iso("2024-12-15T00:00:00Z"));
    assert_int_equal(ofs_retention_add_months(iso("2026-08-31T00:00:00Z"), 0),
                     iso("2026-08-31T00:00:00Z"));
    assert_int_equal(ofs_retention_add_months(iso("2026-08-31T00:00:00Z"), 1),
                     iso("2026-09-30T00:00:00Z"));
}

static void test_expiry(void **state)
{
    (void)state;
    ofs_config_retention p = policy(30, 12, 12, 1);
    int64_t t = iso("2026-01-31T22:00:00Z");
    assert_int_equal(ofs_retention_expiry(&p, "daily", t), t + 30 * DAY);
    assert_int_equal(ofs_retention_expiry(&p, "weekly", t), t + 84 * DAY);
    assert_int_equal(ofs_retention_expiry(&p, "monthly", t), iso("2027-01-31T22:00:00Z"));
    /* classes nest: the longest limit wins, whichever it is */
    p = policy(100, 2, 1, 0);
    assert_int_equal(ofs_retention_expiry(&p, "daily", t), t + 100 * DAY);
    assert_int_equal(ofs_retention_expiry(&p, "weekly", t), t + 100 * DAY);
    assert_int_equal(ofs_retention_expiry(&p, "monthly", t), t + 100 * DAY);
    p = policy(1, 9, 2, 0);
    assert_int_equal(ofs_retention_expiry(&p, "monthly", t), t + 63 * DAY);
    p = policy(0, 0, 0, 0);
    assert_int_equal(ofs_retention_expiry(&p, "monthly", t), t);
    assert_int_equal(ofs_retention_expiry(&p, "bogus", t), t);
}

/* The daily limit to the second: now - started < D days. */
static void test_daily_edge(void **state)
{
    (void)state;
    history h;
    ofs_config_retention p = policy(30, 0, 0, 0);
    LOAD(&h,
         { "a_20260101_220000", "full", NULL, "daily", "2026-01-01T22:00:00Z" }, /* 31d */
         { "a_20260102_220000", "full", NULL, "daily", "2026-01-02T22:00:00Z" }, /* 30d */
         { "a_20260102_220001", "full", NULL, "daily", "2026-01-02T22:00:01Z" }, /* 30d - 1s */
         { "a_20260131_220000", "full", NULL, "daily", "2026-01-31T22:00:00Z" }, /* 1d */
         { "a_20260201_220000", "full", NULL, "daily", "2026-02-01T22:00:00Z" }); /* 0 */
    decide(&h, &p, "2026-02-01T22:00:00Z", NULL);
    EXPECT(&h, "a_20260102_220001=daily", "a_20260131_220000=daily",
           "a_20260201_220000=daily, newest_full");
    assert_int_equal(h.out[find(&h, "a_20260102_220001")].expires,
                     iso("2026-02-01T22:00:01Z"));
    /* one second later the edge one goes too */
    decide(&h, &p, "2026-02-01T22:00:01Z", NULL);
    EXPECT(&h, "a_20260131_220000=daily", "a_20260201_220000=daily, newest_full");
}

/* Weekly: weekly and monthly classes, W weeks to the second; a daily of the same age goes. */
static void test_weekly_edge(void **state)
{
    (void)state;
    history h;
    ofs_config_retention p = policy(7, 2, 0, 0);
    LOAD(&h,
         { "a_20260104_220000", "full", NULL, "weekly", "2026-01-04T22:00:00Z" },  /* 14d */
         { "a_20260104_220001", "full", NULL, "monthly", "2026-01-04T22:00:01Z" }, /* 14d-1s */
         { "a_20260105_220000", "full", NULL, "weekly", "2026-01-05T22:00:00Z" },  /* 13d */
         { "a_20260106_220000", "full", NULL, "daily", "2026-01-06T22:00:00Z" },   /* 12d */
         { "a_20260111_220000", "full", NULL, "daily", "2026-01-11T22:00:00Z" },   /* 7d */
         { "a_20260111_220001", "full", NULL, "daily", "2026-01-11T22:00:01Z" },   /* 7d-1s */
         { "a_20260118_220000", "full", NULL, "weekly", "2026-01-18T22:00:00Z" }); /* 0 */
    decide(&h, &p, "2026-01-18T22:00:00Z", NULL);
    EXPECT(&h, "a_20260104_220001=weekly", "a_20260105_220000=weekly",
           "a_20260111_220001=daily", "a_20260118_220000=daily, weekly, newest_full");
}

/* Monthly: M calendar months, at a month end and across a leap day. */
static void test_monthly_edge(void **state)
{
    (void)state;
    history h;
    ofs_config_retention p = policy(0, 0, 2, 0);
    LOAD(&h,
         { "a_20261231_230000", "full", NULL, "monthly", "2026-12-31T23:00:00Z" },
         { "a_20270101_230000", "full", NULL, "monthly", "2027-01-01T23:00:00Z" },
         { "a_20270102_230000", "full", NULL, "weekly", "2027-01-02T23:00:00Z" },
         { "a_20270301_000000", "full", NULL, "monthly", "2027-03-01T00:00:00Z" });
    /* 2026-12-31 + 2 months = 2027-02-28 (no 31st): kept until 2027-02-28T23:00:00Z */
    decide(&h, &p, "2027-02-28T22:59:59Z", NULL);
    /* a backup that started after now (a clock set back) is younger than every limit */
    EXPECT(&h, "a_20261231_230000=monthly", "a_20270101_230000=monthly",
           "a_20270301_000000=daily, weekly, monthly, newest_full");
    decide(&h, &p, "2027-02-28T23:00:00Z", NULL);
    EXPECT(&h, "a_20270101_230000=monthly",
           "a_20270301_000000=daily, weekly, monthly, newest_full");
    decide(&h, &p, "2027-03-01T23:00:00Z", NULL);
    EXPECT(&h, "a_20270301_000000=monthly, newest_full");
    assert_int_equal(h.out[find(&h, "a_20261231_230000")].expires, iso("2027-02-28T23:00:00Z"));

    /* a leap year: 2027-12-31 + 2 months = 2028-02-29 */
    LOAD(&h, { "b_20271231_230000", "full", NULL, "monthly", "2027-12-31T23:00:00Z" },
             { "b_20280301_000000", "full", NULL, "daily", "2028-03-01T00:00:00Z" });
    decide(&h, &p, "2028-02-29T22:59:59Z", NULL);
    EXPECT(&h, "b_20271231_230000=monthly", "b_20280301_000000=daily, newest_full");
    decide(&h, &p, "2028-02-29T23:00:00Z", NULL);
    EXPECT(&h, "b_20280301_000000=daily, newest_full");
}

/* keep_last N per set, by start time then id; sets are independent. */
static void test_keep_last(void **state)
{
    (void)state;
    history h;
    ofs_config_retention p = policy(1, 1, 1, 2);
    LOAD(&h,
         { "a_20250101_220000", "full", NULL, "monthly", "2025-01-01T22:00:00Z" },
         { "a_20250102_220000", "full", NULL, "daily", "2025-01-02T22:00:00Z" },
         { "a_20250103_220000", "full", NULL, "daily", "2025-01-03T22:00:00Z" },
         { "a_20250103_220000_2", "full", NULL, "daily", "2025-01-03T22:00:00Z" },
         { "b_20240101_220000", "full", NULL, "monthly", "2024-01-01T22:00:00Z" },
         { "b_20240301_220000", "full", NULL, "monthly", "2024-03-01T22:00:00Z" },
         { "c_20240101_220000", "full", NULL, "monthly", "2024-01-01T22:00:00Z" });
    decide(&h, &p, "2026-01-01T00:00:00Z", NULL);
    /* the same start time: the larger id is the newer */
    EXPECT(&h, "a_20250103_220000=keep_last", "a_20250103_220000_2=keep_last, newest_full",
           "b_20240101_220000=keep_last", "b_20240301_220000=keep_last, newest_full",
           "c_20240101_220000=keep_last, newest_full");
    /* keep_last 0: only the newest full of each set survives */
    p.keep_last = 0;
    decide(&h, &p, "2026-01-01T00:00:00Z", NULL);
    EXPECT(&h, "a_20250103_220000_2=newest_full", "b_20240301_220000=newest_full",
           "c_20240101_220000=newest_full");
    /* the entries' order does not matter */
    ofs_manifest_entry swap = h.entries[0];
    h.entries[0] = h.entries[3];
    h.entries[3] = swap;
    p.keep_last = 1;
    decide(&h, &p, "2026-01-01T00:00:00Z", NULL);
    EXPECT(&h, "a_20250103_220000_2=keep_last, newest_full",
           "b_20240301_220000=keep_last, newest_full", "c_20240101_220000=keep_last, newest_full");
}

/* A kept differential keeps its base, however old; an expired differential does not. The
 * newest full is kept even when newer differentials exist. */
static void test_bases_and_newest_full(void **state)
{
    (void)state;
    history h;
    ofs_config_retention p = policy(3, 1, 0, 1);
    LOAD(&h,
         { "a_20260101_220000", "full", NULL, "monthly", "2026-01-01T22:00:00Z" },
         { "a_20260102_220000", "diff", "a_20260101_220000", "daily", "2026-01-02T22:00:00Z" },
         { "a_20260105_220000", "full", NULL, "weekly", "2026-01-05T22:00:00Z" },
         { "a_20260106_220000", "diff", "a_20260105_220000", "daily", "2026-01-06T22:00:00Z" },
         { "a_20260110_220000", "full", NULL, "daily", "2026-01-10T22:00:00Z" },
         { "a_20260111_220000", "diff", "a_20260110_220000", "daily", "2026-01-11T22:00:00Z" },
         { "a_20260120_220000", "diff", "a_20260110_220000", "daily", "2026-01-20T22:00:00Z" },
         /* a differential whose base is not in the store: kept by age, nothing to protect */
         { "a_20260121_220000", "diff", "a_20251201_220000", "daily", "2026-01-21T22:00:00Z" });
    decide(&h, &p, "2026-01-22T12:00:00Z", NULL);
    EXPECT(&h, "a_20260110_220000=newest_full, base", "a_20260120_220000=daily",
           "a_20260121_220000=daily, keep_last");
    size_t base = find(&h, "a_20260110_220000");
    assert_int_equal(h.out[base].needed_by, find(&h, "a_20260120_220000"));
    assert_int_equal(h.out[find(&h, "a_20260121_220000")].needed_by, h.count);

    /* a base kept only as a base */
    LOAD(&h,
         { "a_20260101_220000", "full", NULL, "monthly", "2026-01-01T22:00:00Z" },
         { "a_20260102_220000", "diff", "a_20260101_220000", "daily", "2026-01-02T22:00:00Z" },
         { "a_20260103_220000", "full", NULL, "daily", "2026-01-03T22:00:00Z" },
         { "b_20260101_220000", "full", NULL, "monthly", "2026-01-01T22:00:00Z" });
    p = policy(0, 0, 0, 0);
    uint8_t held[4] = { 0, 1, 0, 0 };
    decide(&h, &p, "2026-06-01T00:00:00Z", held);
    EXPECT(&h, "a_20260101_220000=base", "a_20260102_220000=held",
           "a_20260103_220000=newest_full", "b_20260101_220000=newest_full");
    assert_int_equal(h.out[0].needed_by, 1);
}

/* A chain (a base that is itself a differential, which offsite does not write) is still
 * followed to its end. */
static void test_base_chain(void **state)
{
    (void)state;
    history h;
    ofs_config_retention p = policy(1, 0, 0, 1);
    LOAD(&h,
         { "a_20260101_220000", "full", NULL, "monthly", "2026-01-01T22:00:00Z" },
         { "a_20260102_220000", "diff", "a_20260101_220000", "daily", "2026-01-02T22:00:00Z" },
         { "a_20260103_220000", "diff", "a_20260102_220000", "daily", "2026-01-03T22:00:00Z" },
         { "a_20260104_220000", "full", NULL, "daily", "2026-01-04T22:00:00Z" },
         { "a_20260110_220000", "diff", "a_20260103_220000", "daily", "2026-01-10T22:00:00Z" });
    decide(&h, &p, "2026-01-10T23:00:00Z", NULL);
    EXPECT(&h, "a_20260101_220000=base", "a_20260102_220000=base", "a_20260103_220000=base",
           "a_20260104_220000=newest_full", "a_20260110_220000=daily, keep_last");
}

/* max_backups: the newest backups of each set, a needed base counted, win over class ages and
 * keep_last; the newest (with its base) always fits; held backups and the bases of kept
 * differentials stay past the cap. */
static void test_max_backups(void **state)
{
    (void)state;
    history h;
    ofs_config_retention p = policy(30, 12, 12, 1);
    LOAD(&h,
         { "a_20260101_220000", "full", NULL, "monthly", "2026-01-01T22:00:00Z" },
         { "a_20260102_220000", "diff", "a_20260101_220000", "daily", "2026-01-02T22:00:00Z" },
         { "a_20260103_220000", "diff", "a_20260101_220000", "daily", "2026-01-03T22:00:00Z" },
         { "a_20260105_220000", "full", NULL, "weekly", "2026-01-05T22:00:00Z" },
         { "a_20260106_220000", "diff", "a_20260105_220000", "daily", "2026-01-06T22:00:00Z" },
         { "a_20260107_220000", "diff", "a_20260105_220000", "daily", "2026-01-07T22:00:00Z" },
         { "a_20260108_220000", "diff", "a_20260105_220000", "daily", "2026-01-08T22:00:00Z" },
         { "b_20260101_220000", "full", NULL, "monthly", "2026-01-01T22:00:00Z" },
         { "b_20260108_220000", "full", NULL, "weekly", "2026-01-08T22:00:00Z" });
    /* no cap: the ages keep everything */
    decide(&h, &p, "2026-01-09T12:00:00Z", NULL);
    for (size_t i = 0; i < h.count; i++)
        assert_true(h.out[i].reasons && !h.out[i].over_cap);

    /* 3: the newest differential and its base (2), the next differential (3); the January
     * monthly full goes although its age keeps it */
    p.max_backups = 3;
    decide(&h, &p, "2026-01-09T12:00:00Z", NULL);
    EXPECT(&h, "a_20260105_220000=daily, weekly, newest_full, base", "a_20260107_220000=daily",
           "a_20260108_220000=daily, keep_last", "b_20260101_220000=daily, weekly, monthly",
           "b_20260108_220000=daily, weekly, keep_last, newest_full");
    assert_true(h.out[find(&h, "a_20260101_220000")].over_cap);
    assert_true(h.out[find(&h, "a_20260106_220000")].over_cap);
    assert_false(h.out[find(&h, "a_20260105_220000")].over_cap);

    /* 1 and 2: the newest backup with the base it needs, never less */
    for (int cap = 1; cap <= 2; cap++) {
        p.max_backups = cap;
        decide(&h, &p, "2026-01-09T12:00:00Z", NULL);
        if (cap == 1)
            EXPECT(&h, "a_20260105_220000=daily, weekly, newest_full, base",
                   "a_20260108_220000=daily, keep_last",
                   "b_20260108_220000=daily, weekly, keep_last, newest_full");
        else
            EXPECT(&h, "a_20260105_220000=daily, weekly, newest_full, base",
                   "a_20260108_220000=daily, keep_last", "b_20260101_220000=daily, weekly, monthly",
                   "b_20260108_220000=daily, weekly, keep_last, newest_full");
    }

    /* 5: the walk stops at the first backup that does not fit (a_0103 needs its base too:
     * 6), so nothing older comes in */
    p.max_backups = 5;
    decide(&h, &p, "2026-01-09T12:00:00Z", NULL);
    EXPECT(&h, "a_20260105_220000=daily, weekly, newest_full, base", "a_20260106_220000=daily",
           "a_20260107_220000=daily", "a_20260108_220000=daily, keep_last",
           "b_20260101_220000=daily, weekly, monthly",
           "b_20260108_220000=daily, weekly, keep_last, newest_full");

    /* a held differential past the cap stays, and so does its base */
    p.max_backups = 3;
    uint8_t held[9] = { 0, 0, 1 };
    decide(&h, &p, "2026-01-09T12:00:00Z", held);
    EXPECT(&h, "a_20260101_220000=base", "a_20260103_220000=held",
           "a_20260105_220000=daily, weekly, newest_full, base", "a_20260107_220000=daily",
           "a_20260108_220000=daily, keep_last", "b_20260101_220000=daily, weekly, monthly",
           "b_20260108_220000=daily, weekly, keep_last, newest_full");
    assert_true(h.out[find(&h, "a_20260101_220000")].over_cap);

    /* the cap only takes away: backups the ages drop are not counted */
    p = policy(2, 0, 0, 1);
    p.max_backups = 3;
    decide(&h, &p, "2026-01-09T12:00:00Z", NULL);
    EXPECT(&h, "a_20260105_220000=newest_full, base", "a_20260107_220000=daily",
           "a_20260108_220000=daily, keep_last",
           "b_20260108_220000=daily, keep_last, newest_full");
    for (size_t i = 0; i < h.count; i++)
        assert_false(h.out[i].over_cap);
}

/* Each set with its own policy (ofs_retention_decide_each): a capped one and a long one. */
static void test_policy_per_set(void **state)
{
    (void)state;
    history h;
    ofs_config_retention capped = policy(30, 12, 12, 1), long_ = policy(90, 0, 0, 0);
    capped.max_backups = 2;
    LOAD(&h,
         { "pos_20260101_220000", "full", NULL, "monthly", "2026-01-01T22:00:00Z" },
         { "pos_20260102_220000", "full", NULL, "daily", "2026-01-02T22:00:00Z" },
         { "pos_20260103_220000", "full", NULL, "daily", "2026-01-03T22:00:00Z" },
         { "logs_20251001_220000", "full", NULL, "monthly", "2025-10-01T22:00:00Z" },
         { "logs_20251201_220000", "full", NULL, "monthly", "2025-12-01T22:00:00Z" },
         { "logs_20260103_220000", "full", NULL, "daily", "2026-01-03T22:00:00Z" });
    const ofs_config_retention *each[] = { &capped, &capped, &capped, &long_, &long_, &long_ };
    assert_int_equal(ofs_retention_decide_each(each, h.entries, h.count,
                                               iso("2026-01-04T12:00:00Z"), NULL, h.out), 0);
    EXPECT(&h, "pos_20260102_220000=daily", "pos_20260103_220000=daily, keep_last, newest_full",
           "logs_20251201_220000=daily", "logs_20260103_220000=daily, newest_full");
    assert_true(h.out[find(&h, "pos_20260101_220000")].over_cap);
    assert_false(h.out[find(&h, "logs_20251001_220000")].over_cap);
    /* each entry's expiry follows its own policy */
    assert_int_equal(h.out[find(&h, "logs_20251201_220000")].expires,
                     iso("2025-12-01T22:00:00Z") + 90 * DAY);
    assert_int_equal(h.out[find(&h, "pos_20260101_220000")].expires,
                     iso("2027-01-01T22:00:00Z"));
}

/* A year of nightly backups with the default policy, classes as offsite gives them in UTC:
 * counted by hand from a calendar. */
static void test_default_policy_year(void **state)
{
    (void)state;
    enum { NIGHTS = 400 };
    ofs_manifest_entry *entries = calloc(NIGHTS, sizeof(*entries));
    ofs_retention_decision *out = calloc(NIGHTS, sizeof(*out));
    char (*ids)[32] = calloc(NIGHTS, sizeof(*ids));
    ofs_config_retention p = policy(30, 12, 12, 1);
    int64_t first = iso("2026-01-01T22:00:00Z");
    char last_month[8] = "", last_week[12] = "";
    assert_non_null(entries);
    assert_non_null(out);
    assert_non_null(ids);
    for (int i = 0; i < NIGHTS; i++) {
        time_t t = (time_t)(first + i * DAY);
        struct tm tm;
        char month[8], week[12];
        gmtime_r(&t, &tm);
        strftime(month, sizeof(month), "%Y%m", &tm);
        strftime(week, sizeof(week), "%G%V", &tm);
        strftime(ids[i], sizeof(ids[i]), "d_%Y%m%d_%H%M%S", &tm);
        entries[i] = (ofs_manifest_entry){ .id = ids[i], .set = "d", .kind = "full",
                                           .started = (int64_t)t };
        entries[i].class_name = strcmp(month, last_month) ? "monthly"
                                : strcmp(week, last_week) ? "weekly" : "daily";
        snprintf(last_month, sizeof(last_month), "%s", month);
        snprintf(last_week, sizeof(last_week), "%s", week);
    }
    /* now: the last night, 2027-02-04 22:00 (a Thursday) */
    assert_int_equal(ofs_retention_decide(&p, entries, NIGHTS, first + (NIGHTS - 1) * DAY, NULL,
                                          out), 0);
    size_t kept = 0, monthly = 0, weekly = 0;
    for (int i = 0; i < NIGHTS; i++) {
        if (!out[i].reasons)
            continue;
        kept++;
        monthly += strcmp(entries[i].class_name, "monthly") == 0;
        weekly += strcmp(entries[i].class_name, "weekly") == 0;
    }
    /* monthlies younger than 12 months (after 2026-02-04 22:00): 1 Mar 2026 .. 1 Feb 2027 */
    assert_int_equal(monthly, 12);
    /* weeklies younger than 84 days (after Thu 2026-11-12 22:00): the Mondays 16 Nov .. 1 Feb
     * are 12, but Mon 1 Feb 2027 is the 1st, so monthly: 11 */
    assert_int_equal(weekly, 11);
    /* the last 30 nights (6 Jan .. 4 Feb) less Mondays 11, 18, 25 Jan (weekly) and 1 Feb */
    assert_int_equal(kept - monthly - weekly, 26);
    assert_int_equal(kept, 49);
    free(entries);
    free(out);
    free(ids);
}

static void test_texts(void **state)
{
    (void)state;
    char buf[128];
    ofs_config_retention p = policy(30, 12, 12, 1);
    assert_string_equal(ofs_retention_describe(&p, buf, sizeof(buf)),
                        "daily 30d, weekly 12w, monthly 12mo, keep_last 1");
    assert_string_equal(ofs_retention_reasons(0, buf, sizeof(buf)), "");
    assert_string_equal(ofs_retention_reasons(OFS_RETAIN_DAILY | OFS_RETAIN_BASE | OFS_RETAIN_HELD,
                                              buf, sizeof(buf)), "daily, held, base");
    assert_string_equal(ofs_retention_reason_name(OFS_RETAIN_NEWEST_FULL), "newest_full");
    assert_string_equal(ofs_retention_reason_name(OFS_RETAIN_LAST), "keep_last");
    assert_null(ofs_retention_reason_name(3));
    p.max_backups = 14;
    assert_string_equal(ofs_retention_describe(&p, buf, sizeof(buf)),
                        "daily 30d, weekly 12w, monthly 12mo, keep_last 1, max_backups 14");
    assert_null(ofs_retention_reason_name(1u << 20));
    /* nothing to decide */
    assert_int_equal(ofs_retention_decide(&p, NULL, 0, 0, NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_months),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_daily_edge),
        cmocka_unit_test(test_weekly_edge),
        cmocka_unit_test(test_monthly_edge),
        cmocka_unit_test(test_keep_last),
        cmocka_unit_test(test_bases_and_newest_full),
        cmocka_unit_test(test_base_chain),
        cmocka_unit_test(test_max_backups),
        cmocka_unit_test(test_policy_per_set),
        cmocka_unit_test(test_default_policy_year),
        cmocka_unit_test(test_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
