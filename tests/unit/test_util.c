/* test_util.c - src/util: fsutil (atomic write, read limits, mkdir -p, join, rm -rf), clock
 * (OFFSITE_NOW, formats, parse), log levels, progress (silent and NULL-safe), retry (tries,
 * budget, the first failure reported), bwlimit (timetable, strict syntax, shares, the pacer's
 * bound). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/bwlimit.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "offsite/progress.h"
#include "offsite/retry.h"
#include "unit_fixture.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_write_atomic_and_read(void **state)
{
    const char *dir = *state;
    char *path = ofs_path_join(dir, "f.txt"), *data = NULL;
    size_t size = 0;
    struct stat st;

    assert_int_equal(ofs_write_file_atomic(path, "hello", 5, 0640), 0);
    assert_int_equal(ofs_write_file_atomic(path, "bye", 3, 0600), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */
    assert_int_equal(ofs_read_file(path, &data, &size, 3), 0);
    assert_int_equal(size, 3);
    assert_string_equal(data, "bye");
    free(data);
    /* one byte over the limit is refused */
    assert_int_equal(ofs_read_file(path, &data, &size, 2), OFS_ECORRUPT);
    assert_null(data);
    free(path);
}

static void test_write_atomic_failure_leaves_nothing(void **state)
{
    char *path = ofs_path_join(*state, "missing-dir/f.txt");
    assert_int_equal(ofs_write_file_atomic(path, "x", 1, 0600), OFS_ENOTFOUND);
    assert_non_null(strstr(ofs_error_last(), "missing-dir"));
    assert_int_equal(count_entries(*state), 0);
    free(path);
}

static void test_read_missing(void **state)
{
    char *path = ofs_path_join(*state, "nope"), *data = (char *)1;
    assert_int_equal(ofs_read_file(path, &data, NULL, 10), OFS_ENOTFOUND);
    assert_null(data);
    assert_non_null(strstr(ofs_error_last(), "nope"));
    free(path);
}

static void test_mkdir_p_and_rm_rf(void **state)
{
    char *deep = ofs_path_join(*state, "a/b/c/d"), *file = ofs_path_join(*state, "a/b/file");
    char *under_file = ofs_path_join(*state, "a/b/file/x"), *top = ofs_path_join(*state, "a");
    struct stat st;

    assert_int_equal(ofs_mkdir_p(deep, 0700), 0);
    assert_int_equal(ofs_mkdir_p(deep, 0700), 0); /* existing is fine */
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(ofs_write_file_atomic(file, "x", 1, 0600), 0);
    assert_true(ofs_mkdir_p(file, 0700) < 0);       /* a file in the way */
    assert_true(ofs_mkdir_p(under_file, 0700) < 0); /* a file as a parent */
    chmod(deep, 0500);
    assert_int_equal(ofs_rm_rf(top), 0);
    assert_int_equal(count_entries(*state), 0);
    assert_int_equal(ofs_rm_rf(top), 0); /* absent is fine */
    free(deep);
    free(file);
    free(under_file);
    free(top);
}

static void test_path_join(void **state)
{
    (void)state;
    const char *cases[][3] = {{"a", "b", "a/b"},     {"a/", "b", "a/b"}, {"a//", "/b", "a/b"},
                              {"/", "x", "/x"},      {"/r", "", "/r"},   {"/r/", "s/t", "/r/s/t"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *j = ofs_path_join(cases[i][0], cases[i][1]);
        assert_string_equal(j, cases[i][2]);
        free(j);
    }
}

static void test_clock_formats(void **state)
{
    (void)state;
    char buf[32];
    int64_t t = 0;

    ofs_time_format_iso(1795281300, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-21T17:15:00Z");
    ofs_time_format_compact(1795281300, buf, sizeof buf);
    assert_string_equal(buf, "20261121_171500");
    assert_int_equal(ofs_time_parse_iso("2026-11-21T17:15:00Z", &t), 0);
    assert_int_equal(t, 1795281300);
    assert_int_equal(ofs_time_parse_iso("2026-11-21 17:15:00", &t), OFS_ECORRUPT);
    assert_int_equal(ofs_time_parse_iso("2026-13-21T17:15:00Z", &t), OFS_ECORRUPT);
    assert_int_equal(ofs_time_parse_iso("2026-11-21T17:15:00Zjunk", &t), OFS_ECORRUPT);
}

static void test_clock_override(void **state)
{
    (void)state;
    setenv("OFFSITE_NOW", "2026-11-21T17:15:00Z", 1);
    assert_int_equal(ofs_clock_now(), 1795281300);
    setenv("OFFSITE_NOW", "1000", 1);
    assert_int_equal(ofs_clock_now(), 1000);
    unsetenv("OFFSITE_NOW");
    assert_true(ofs_clock_now() > 1795000000); /* the real clock: after this code was written */
    double a = ofs_clock_monotonic(), b = ofs_clock_monotonic();
    assert_true(b >= a);
}

static void test_log_level(void **state)
{
    (void)state;
    ofs_log_set_level(OFS_LOG_ERROR);
    assert_int_equal(ofs_log_get_level(), OFS_LOG_ERROR);
    ofs_log_info("not shown");
    ofs_log_set_level(OFS_LOG_INFO);
    assert_int_equal(ofs_log_get_level(), OFS_LOG_INFO);
}

/* the first failure is kept whole, the count wraps it only when more than one failed */
static void test_error_first(void **state)
{
    (void)state;
    ofs_error_first first = { 0 };

    assert_int_equal(ofs_error_first_end(&first, "%d failed", 9), 0);
    ofs_error_first_add(&first, ofs_error_set(OFS_ENOTFOUND, "target 'a': gone"));
    assert_int_equal(ofs_error_first_end(&first, "%zu failed, the first", first.failures),
                     OFS_ENOTFOUND);
    assert_string_equal(ofs_error_last(), "target 'a': gone");

    ofs_error_first_add(&first, ofs_error_set(OFS_EDENIED, "target 'a': refused"));
    ofs_error_first_add(&first, ofs_error_set(OFS_ETRANSIENT, "target 'b': timeout"));
    assert_int_equal(first.failures, 2);
    assert_int_equal(ofs_error_first_end(&first, "%zu of %d failed, the first", first.failures,
                                         3), OFS_EDENIED);
    assert_string_equal(ofs_error_last(), "2 of 3 failed, the first: target 'a': refused");
    assert_null(first.message);

    ofs_error_first_add(&first, ofs_error_set(OFS_EDENIED, "kept"));
    ofs_error_set(OFS_ECONFIG, "another path's error");
    ofs_error_first_free(&first);
    assert_string_equal(ofs_error_last(), "another path's error");
    assert_int_equal(first.code, 0);
}

/* one exit code per meaning: the kinds map to 1-12, the outcomes have their own numbers */
static void test_exit_codes(void **state)
{
    (void)state;
    static const int kinds[] = { OFS_ERROR, OFS_ENOTFOUND, OFS_EEXISTS, OFS_EAUTH, OFS_ECORRUPT,
                                 OFS_ECONFIG, OFS_EDENIED, OFS_ETRANSIENT, OFS_ENOSPC,
                                 OFS_ECANCELED, OFS_EUNSUPPORTED, OFS_ECONFLICT };
    int seen[256] = { 0 };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        int code = ofs_error_exit_code(kinds[i]);
        assert_in_range(code, 1, 12);
        assert_int_equal(seen[code], 0); /* no two kinds share a number */
        seen[code] = 1;
        assert_string_equal(ofs_exit_name(code), ofs_error_name(kinds[i]));
    }
    assert_int_equal(ofs_error_exit_code(OFS_EAUTH), 4); /* scripts test these numbers */
    assert_int_equal(ofs_error_exit_code(OFS_EEXISTS), 11);
    assert_int_equal(ofs_error_exit_code(-99), OFS_EXIT_ERROR);
    const int outcomes[] = { OFS_EXIT_WARNINGS, OFS_EXIT_SET_FAILED, OFS_EXIT_PUSH_FAILED,
                             OFS_EXIT_PRUNE_FAILED, OFS_EXIT_MISSED, OFS_EXIT_VERIFY_FAILED,
                             OFS_EXIT_USAGE };
    const char *names[] = { "committed with warnings", "set failed", "push failed",
                            "prune failed", "objective missed", "verify failed", "usage" };
    for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
        assert_int_equal(seen[outcomes[i]], 0);
        seen[outcomes[i]] = 1;
        assert_string_equal(ofs_exit_name(outcomes[i]), names[i]);
    }
    assert_int_equal(OFS_EXIT_WARNINGS, 13);
    assert_int_equal(OFS_EXIT_MISSED, 17);
    assert_string_equal(ofs_exit_name(99), "error");
}

static void test_progress(void **state)
{
    (void)state;
    ofs_progress *p = NULL;
    ofs_progress_add(NULL, 5); /* no-op */
    ofs_progress_free(NULL);
    assert_int_equal(ofs_progress_new(&p, "backup", 100, 0), 0);
    assert_non_null(p);
    ofs_progress_add(p, 50);
    ofs_progress_set_total(p, 200);
    ofs_progress_add(p, 150);
    ofs_progress_done(p);
    ofs_progress_free(p);
}

static void test_retry(void **state)
{
    (void)state;
    ofs_retry_policy three = { 3, 0.001, 0.002, 10, 0, 1 };
    ofs_retry_policy no_budget = { 5, 0.5, 1, 0.2, 0, 0 };
    ofs_retry r;

    ofs_log_set_level(OFS_LOG_ERROR);
    /* transient failures: tried until max_tries, then the first message with the count */
    ofs_retry_begin(&r, &three);
    ofs_error_set(OFS_ETRANSIENT, "connection to a: reset");
    assert_int_equal(ofs_retry_again(&r, OFS_ETRANSIENT, "t", "get", "k"), 1);
    ofs_error_set(OFS_ETRANSIENT, "connection to a: timed out");
    assert_int_equal(ofs_retry_again(&r, OFS_ETRANSIENT, "t", "get", "k"), 1);
    ofs_error_set(OFS_ETRANSIENT, "connection to a: refused");
    assert_int_equal(ofs_retry_again(&r, OFS_ETRANSIENT, "t", "get", "k"), 0);
    assert_string_equal(ofs_error_last(), "connection to a: reset (failed 3 times in all)");
    ofs_retry_end(&r);

    /* anything else is not tried again and keeps its own message */
    ofs_retry_begin(&r, &three);
    ofs_error_set(OFS_EDENIED, "forbidden");
    assert_int_equal(ofs_retry_again(&r, OFS_EDENIED, "t", "get", "k"), 0);
    assert_string_equal(ofs_error_last(), "forbidden");
    ofs_retry_end(&r);

    /* the budget of sleep runs out before the tries: the first wait (0.5 s) would pass 0.2 */
    ofs_retry_begin(&r, &no_budget);
    ofs_error_set(OFS_ETRANSIENT, "slow down");
    assert_int_equal(ofs_retry_again(&r, OFS_ETRANSIENT, "t", "put", "k"), 0);
    assert_string_equal(ofs_error_last(), "slow down");
    ofs_retry_end(&r);

    /* an immediate retry counts as a try and keeps the first message */
    ofs_retry_begin(&r, &three);
    ofs_error_set(OFS_ETRANSIENT, "clock skewed");
    ofs_retry_now(&r);
    ofs_error_set(OFS_ETRANSIENT, "reset");
    assert_int_equal(ofs_retry_again(&r, OFS_ETRANSIENT, "t", "get", "k"), 1);
    ofs_error_set(OFS_ETRANSIENT, "reset");
    assert_int_equal(ofs_retry_again(&r, OFS_ETRANSIENT, "t", "get", "k"), 0);
    assert_string_equal(ofs_error_last(), "clock skewed (failed 3 times in all)");
    ofs_retry_end(&r);
    ofs_log_set_level(OFS_LOG_INFO);
}

static void test_parse_date(void **state)
{
    (void)state;
    const int64_t now = 1773509400; /* 2026-03-14T17:30:00Z, a Saturday */
    int64_t t = 0;
    assert_int_equal(ofs_time_parse_date("2026-03-14", NULL, now, &t), 0);
    assert_int_equal(t, 1773446400);
    assert_int_equal(ofs_time_parse_date("2026-03-14T17:30:05Z", "Europe/London", now, &t), 0);
    assert_int_equal(t, 1773509405);
    assert_int_equal(ofs_time_parse_date("2026-03-14 17:30", "UTC", now, &t), 0);
    assert_int_equal(t, 1773509400);
    /* in the configured zone: New York is UTC-4 from 8 March 2026 (DST), UTC-5 before */
    assert_int_equal(ofs_time_parse_date("2026-03-14", "America/New_York", now, &t), 0);
    assert_int_equal(t, 1773446400 + 4 * 3600);
    assert_int_equal(ofs_time_parse_date("2026-03-01T09:00", "America/New_York", now, &t), 0);
    assert_int_equal(t, 1772323200 + 14 * 3600);
    assert_int_equal(ofs_time_parse_date("today", NULL, now, &t), 0);
    assert_int_equal(t, 1773446400);
    assert_int_equal(ofs_time_parse_date("yesterday", NULL, now, &t), 0);
    assert_int_equal(t, 1773446400 - 86400);
    /* 17:30 UTC is 13:30 in New York: its today began at 04:00 UTC */
    assert_int_equal(ofs_time_parse_date("today", "America/New_York", now, &t), 0);
    assert_int_equal(t, 1773446400 + 4 * 3600);
    assert_int_equal(ofs_time_parse_date("now", NULL, now, &t), 0);
    assert_int_equal(t, now);
    assert_int_equal(ofs_time_parse_date("36h", NULL, now, &t), 0);
    assert_int_equal(t, now - 36 * 3600);
    assert_int_equal(ofs_time_parse_date("-1w 2d", NULL, now, &t), 0);
    assert_int_equal(t, now - 9 * 86400);
    /* TZ is left as it was */
    assert_null(getenv("TZ"));
    const char *bad[] = { "2026", "14/03/2026", "2026-13-01", "2026-03-14T25:00", "2026-03-14T",
                          "2026-03-14 17:30 UTC", "tomorrow", "", "2026-03-14Z1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ofs_time_parse_date(bad[i], NULL, now, &t), OFS_ECONFIG);
        assert_non_null(strstr(ofs_error_last(), "is not a date\nHINT: dates are 2026-03-14"));
    }
}

static void test_bwlimit(void **state)
{
    (void)state;
    ofs_bwlimit *bw = NULL;
    struct tm tm;
    time_t at;

    char *saved_tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", "UTC", 1);
    tzset();
    assert_int_equal(ofs_bwlimit_parse("off", &bw), 0);
    assert_null(bw);
    assert_int_equal(ofs_bwlimit_at(NULL, 0), 0);
    assert_int_equal(ofs_bwlimit_parse("20M", &bw), 0);
    assert_int_equal(ofs_bwlimit_at(bw, 0), 20 << 20);
    ofs_bwlimit_free(bw);
    assert_int_equal(ofs_bwlimit_parse("08:00,5M 16:30,off", &bw), 0);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 124;
    tm.tm_mon = 2;
    tm.tm_mday = 15;
    tm.tm_hour = 7;
    tm.tm_min = 59;
    at = timegm(&tm);
    assert_int_equal(ofs_bwlimit_at(bw, at), 0);             /* yesterday's "off" */
    assert_int_equal(ofs_bwlimit_at(bw, at + 60), 5 << 20);  /* 08:00 */
    assert_int_equal(ofs_bwlimit_at(bw, at + 8 * 3600 + 30 * 60), 5 << 20); /* 16:29 */
    assert_int_equal(ofs_bwlimit_at(bw, at + 8 * 3600 + 31 * 60), 0);       /* 16:30 */
    ofs_bwlimit_free(bw);
    assert_int_equal(ofs_bwlimit_parse("16:00,1M 08:00,2M", &bw), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "bwlimit '16:00,1M 08:00,2M': times must increase");
    assert_int_equal(ofs_bwlimit_parse("fast", &bw), OFS_ECONFIG);
    assert_int_equal(ofs_bwlimit_parse("08:00,lots", &bw), OFS_ECONFIG);
    assert_null(bw);
    /* other tests read the environment's TZ */
    if (saved_tz)
        setenv("TZ", saved_tz, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved_tz);
    /* the cases, and near misses a lenient sscanf took */
    static const char *const bad[] = { "fast please", "-5M", "25:00,5M", "0", "08:00,0",
                                       "+8:00,5M", "8:0,5M", "08:60,5M", "08:00;5M", "5M,",
                                       "08:00,5M 25:00,off", "08:00,-1M", "08:00,5M x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ofs_bwlimit_parse(bad[i], &bw), OFS_ECONFIG);
        assert_null(bw);
        assert_non_null(strstr(ofs_error_last(), "bwlimit '"));
    }
    assert_string_equal((ofs_bwlimit_parse("25:00,5M", &bw), ofs_error_last()),
                        "bwlimit '25:00,5M': '25:00,5M' is not HH:MM,RATE (a time from 00:00 to "
                        "23:59)");
    assert_string_equal((ofs_bwlimit_parse("-5M", &bw), ofs_error_last()),
                        "bwlimit '-5M': '-5M' is not a rate (like 20M) or 'off'");
    assert_int_equal(ofs_bwlimit_parse("8:00,1K 9:30,2M", &bw), 0);
    ofs_bwlimit_free(bw);
}

static void test_bwlimit_share(void **state)
{
    (void)state;
    ofs_bwlimit *bw = NULL;

    assert_int_equal(ofs_bwlimit_share(NULL, 0, 4), 0);
    assert_int_equal(ofs_bwlimit_parse("4M", &bw), 0);
    assert_int_equal(ofs_bwlimit_share(bw, 0, 1), 4 << 20);
    assert_int_equal(ofs_bwlimit_share(bw, 0, 4), 1 << 20);
    ofs_bwlimit_free(bw);
    assert_int_equal(ofs_bwlimit_parse("3", &bw), 0);
    assert_int_equal(ofs_bwlimit_share(bw, 0, 16), 1); /* never 0: that is unlimited */
    ofs_bwlimit_free(bw);
}

/* the pacer's promise: bytes / elapsed never exceeds the rate - a bound, not a speed */
static void test_bwlimit_pace(void **state)
{
    (void)state;
    ofs_bwlimit *bw = NULL;
    const uint64_t rate = 256 << 10;
    size_t total = 0;

    assert_int_equal(ofs_bwlimit_parse("256K", &bw), 0);
    double start = ofs_clock_monotonic();
    for (int i = 0; i < 20; i++) {
        ofs_bwlimit_pace(bw, 16 << 10);
        total += 16 << 10;
        assert_true((double)total / (ofs_clock_monotonic() - start) <= (double)rate);
    }
    ofs_bwlimit_free(bw);
    ofs_bwlimit_pace(NULL, 1 << 30); /* no limit: returns at once */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_atomic_and_read, unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_failure_leaves_nothing,
                                        unit_tmpdir_setup, unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_read_missing, unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p_and_rm_rf, unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
        cmocka_unit_test(test_path_join),
        cmocka_unit_test(test_clock_formats),
        cmocka_unit_test(test_clock_override),
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test(test_log_level),
        cmocka_unit_test(test_error_first),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_bwlimit),
        cmocka_unit_test(test_bwlimit_share),
        cmocka_unit_test(test_bwlimit_pace),
        cmocka_unit_test(test_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
