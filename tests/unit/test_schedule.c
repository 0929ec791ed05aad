/* test_schedule.c - src/util/schedule.c: calendar lines as systemd reads them, runs across
 * weekends, DST changes in America/New_York, holidays and month ends, and runs missed. The
 * expected instants were taken from `systemd-analyze calendar --base-time=...` (systemd 252);
 * tests/integration/cases/cli/schedule.sh compares more lines with it live. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/schedule.h"

/* Unix seconds of some instants (date -u -d ... +%s) */
#define FRI_2026_11_20_0000Z 1795132800 /* Friday */
#define FRI_2026_11_20_2216Z 1795212960 /* a minute after Friday's 17:15 EST run */
#define MON_2026_11_23_2215Z 1795472100 /* Monday 17:15 EST */
#define FRI_2026_11_27_2215Z 1795817700 /* Friday after Thanksgiving, 17:15 EST */
#define FRI_2026_03_06_2216Z 1772835360 /* the Friday before the clocks go forward */
#define MON_2026_03_09_2115Z 1773090900 /* Monday 17:15 EDT */

static ofs_schedule *schedule_of(const char *zone, const char *line)
{
    ofs_schedule *s = NULL;
    assert_int_equal(ofs_schedule_new(&s, zone), 0);
    if (line)
        assert_int_equal(ofs_schedule_add(s, line), 0);
    return s;
}

static int64_t next_of(const ofs_schedule *s, int64_t after)
{
    int64_t t = 0;
    assert_int_equal(ofs_schedule_next(s, after, &t), 0);
    return t;
}

/* the weekday schedule in New York skips the weekend, whatever the host's zone is */
static void test_weekdays_new_york(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Tokyo", 1); /* the host's zone must not matter, and is put back */
    ofs_schedule *s = schedule_of("UTC", "Mon..Fri 17:15 America/New_York");
    assert_string_equal(ofs_schedule_line(s, 0), "Mon..Fri 17:15 America/New_York");
    assert_int_equal(next_of(s, FRI_2026_11_20_2216Z), MON_2026_11_23_2215Z);
    assert_int_equal(next_of(s, MON_2026_11_23_2215Z - 1), MON_2026_11_23_2215Z);
    assert_int_equal(next_of(s, MON_2026_11_23_2215Z), MON_2026_11_23_2215Z + 86400);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    ofs_schedule_free(s);
    unsetenv("TZ");
}

/* across the change to daylight saving time the run stays at 17:15 local: 21:15Z, not 22:15Z */
static void test_dst_forward(void **state)
{
    (void)state;
    ofs_schedule *s = schedule_of("America/New_York", "Mon..Fri 17:15");
    assert_string_equal(ofs_schedule_line(s, 0), "Mon..Fri 17:15 America/New_York");
    assert_int_equal(next_of(s, FRI_2026_03_06_2216Z), MON_2026_03_09_2115Z);
    ofs_schedule_free(s);
}

/* 02:30 does not exist on 2026-03-08 in New York: no run that day (as systemd); 01:30 happens
 * twice on 2026-11-01: one run, at the first (EDT) */
static void test_dst_gap_and_repeat(void **state)
{
    (void)state;
    ofs_schedule *s = schedule_of("UTC", "*-*-* 02:30 America/New_York");
    assert_int_equal(next_of(s, 1772884800 /* 2026-03-07 12:00Z */), 1773037800 /* 03-09 06:30Z */);
    ofs_schedule_free(s);
    s = schedule_of("UTC", "*-*-* 01:30 America/New_York");
    int64_t first = next_of(s, 1793448000 /* 2026-10-31 12:00Z */);
    assert_int_equal(first, 1793511000 /* 2026-11-01 05:30Z = 01:30 EDT */);
    assert_int_equal(next_of(s, first), 1793601000 /* 2026-11-02 06:30Z = 01:30 EST */);
    ofs_schedule_free(s);
}

/* month ends: the 31st skips the short months; 29 February waits for a leap year */
static void test_month_ends(void **state)
{
    (void)state;
    ofs_schedule *s = schedule_of("UTC", "*-*-31 12:00");
    assert_int_equal(next_of(s, 1775001600 /* 2026-04-01 */), 1780228800 /* 2026-05-31 12:00 */);
    ofs_schedule_free(s);
    s = schedule_of("UTC", "*-02-29 12:00");
    assert_int_equal(next_of(s, 1775001600), 1835438400 /* 2028-02-29 12:00 */);
    ofs_schedule_free(s);
    s = schedule_of("UTC", "2027-*-01 06:00:30");
    assert_int_equal(next_of(s, FRI_2026_11_20_0000Z), 1798783230 /* 2027-01-01 06:00:30 */);
    ofs_schedule_free(s);
}

/* steps, lists and shortcuts: a desk's every-two-hours session schedule, and "daily" */
static void test_steps_and_shortcuts(void **state)
{
    (void)state;
    ofs_schedule *s = schedule_of("UTC", "Mon..Fri 9..16/2:00");
    int64_t t = FRI_2026_11_20_0000Z;
    const int64_t want[] = { 1795165200, 1795172400, 1795179600, 1795186800,
                             1795410000 + 4 * 3600 /* Monday 09:00 */ };
    for (size_t i = 0; i < 5; i++) {
        t = next_of(s, t);
        assert_int_equal(t, want[i]);
    }
    ofs_schedule_free(s);
    s = schedule_of("UTC", "daily America/New_York");
    assert_int_equal(next_of(s, FRI_2026_11_20_0000Z), 1795132800 + 5 * 3600);
    ofs_schedule_free(s);
    s = schedule_of("UTC", "Mon,Wed 06:00,30");
    assert_int_equal(next_of(s, FRI_2026_11_20_0000Z), 1795410000 + 3600 /* Mon 06:00 */);
    ofs_schedule_free(s);
}

/* holidays: no run is due on one, so Thursday's Thanksgiving moves the next run to Friday */
static void test_holidays(void **state)
{
    (void)state;
    char path[] = "/tmp/ofs-holidays.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# NYSE 2026\n2026-11-26  # Thanksgiving\n\n2026-12-25\n", f);
    fclose(f);
    ofs_schedule *s = schedule_of("America/New_York", "Mon..Fri 17:15");
    assert_int_equal(ofs_schedule_add_holidays(s, path), 0);
    assert_int_equal(ofs_schedule_holiday_count(s), 2);
    int64_t wed = MON_2026_11_23_2215Z + 2 * 86400;
    assert_int_equal(next_of(s, wed), FRI_2026_11_27_2215Z);
    assert_true(ofs_schedule_is_holiday(s, wed + 86400, NULL));
    assert_false(ofs_schedule_is_holiday(s, wed, NULL));
    /* a run missed is a run due: Wednesday's backup, Friday noon: no run missed */
    assert_int_equal(ofs_schedule_missed(s, wed + 60, FRI_2026_11_27_2215Z - 6 * 3600, 3600), 0);
    ofs_schedule_free(s);

    f = fopen(path, "w");
    fputs("2026-11-26\n2026-11-31\n", f);
    fclose(f);
    s = schedule_of("UTC", NULL);
    assert_int_equal(ofs_schedule_add_holidays(s, path), OFS_ECONFIG);
    char want[256];
    snprintf(want, sizeof(want), "%s:2: 2026-11-31 is not a date", path);
    assert_string_equal(ofs_error_last(), want);
    f = fopen(path, "w");
    fputs("Nov 26\n", f);
    fclose(f);
    assert_int_equal(ofs_schedule_add_holidays(s, path), OFS_ECONFIG);
    snprintf(want, sizeof(want), "%s:1: 'Nov 26' is not a date YYYY-MM-DD", path);
    assert_string_equal(ofs_error_last(), want);
    unlink(path);
    assert_int_equal(ofs_schedule_add_holidays(s, path), OFS_ENOTFOUND);
    ofs_schedule_free(s);
}

/* runs missed: a weekend is none, a weekday is one once the grace has passed */
static void test_missed(void **state)
{
    (void)state;
    ofs_schedule *s = schedule_of("America/New_York", "Mon..Fri 17:15");
    int64_t fri_backup = FRI_2026_11_20_2216Z - 60 + 120; /* started 17:17 */
    int64_t grace = 3 * 3600;
    /* Monday noon New York: the weekend had no run */
    assert_int_equal(ofs_schedule_missed(s, fri_backup, MON_2026_11_23_2215Z - 5 * 3600 - 900,
                                         grace), 0);
    /* Monday 19:00: the 17:15 run is late but within the grace */
    assert_int_equal(ofs_schedule_missed(s, fri_backup, MON_2026_11_23_2215Z + 6300, grace), 0);
    /* Tuesday noon: Monday's run missed; Wednesday noon: two */
    assert_int_equal(ofs_schedule_missed(s, fri_backup, MON_2026_11_23_2215Z + 67500, grace), 1);
    assert_int_equal(ofs_schedule_missed(s, fri_backup, MON_2026_11_23_2215Z + 153900, grace), 2);
    /* a backup that started after Monday's run covers it */
    assert_int_equal(ofs_schedule_missed(s, MON_2026_11_23_2215Z + 60,
                                         MON_2026_11_23_2215Z + 67500, grace), 0);
    ofs_schedule_free(s);
    /* no schedule: never a run due */
    s = schedule_of("UTC", NULL);
    assert_int_equal(ofs_schedule_missed(s, 0, FRI_2026_11_20_0000Z, 0), 0);
    int64_t t;
    assert_int_equal(ofs_schedule_next(s, 0, &t), OFS_ENOTFOUND);
    ofs_schedule_free(s);
}

/* several lines: the earliest next run of any */
static void test_several_lines(void **state)
{
    (void)state;
    ofs_schedule *s = schedule_of("America/New_York", "Mon..Fri 17:15");
    assert_int_equal(ofs_schedule_add(s, "Sat 06:00 UTC"), 0);
    assert_int_equal(ofs_schedule_count(s), 2);
    assert_string_equal(ofs_schedule_line(s, 1), "Sat 06:00 UTC");
    assert_int_equal(next_of(s, FRI_2026_11_20_2216Z), 1795240800 /* Sat 2026-11-21 06:00Z */);
    ofs_schedule_free(s);
}

/* every malformed line is refused with a message naming the part, never misread */
static void test_errors(void **state)
{
    (void)state;
    static const struct { const char *line, *message; } cases[] = {
        { "Mon..Fry 17:15", "calendar 'Mon..Fry 17:15': unknown weekday 'Mon..Fry' (Mon, Tue, "
          "... Sun; ranges Mon..Fri; lists Mon,Wed)" },
        { "Fri..Mon 17:15", "calendar 'Fri..Mon 17:15': weekday range 'Fri..Mon' runs "
          "backwards (write Fri..Sun,Mon)" },
        { "Mon..Fri 25:15", "calendar 'Mon..Fri 25:15': hour '25' is out of range (0..23)" },
        { "Mon..Fri 17:1x", "calendar 'Mon..Fri 17:1x': minute '1x' is not a number, a range "
          "A..B, a step A/S or '*'" },
        { "*-*~1 12:00", "calendar '*-*~1 12:00': '~' (days from the end of the month) is not "
          "supported" },
        { "Mon 17:15 Mars/Olympus", "calendar 'Mon 17:15 Mars/Olympus': unknown time zone "
          "'Mars/Olympus' (an IANA name such as 'America/New_York', or 'UTC')" },
        { "*-13-01", "calendar '*-13-01': month '13' is out of range (1..12)" },
        { "17:15 nightly", "calendar '17:15 nightly': cannot read 'nightly' (want [WEEKDAYS] "
          "[[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIME_ZONE])" },
        { "daily 17:15", "calendar 'daily 17:15': 'daily' stands alone (with at most a time "
          "zone)" },
        { "", "empty calendar line" },
    };
    ofs_schedule *s = schedule_of("UTC", NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(ofs_schedule_add(s, cases[i].line), OFS_ECONFIG);
        assert_string_equal(ofs_error_last(), cases[i].message);
    }
    assert_int_equal(ofs_schedule_count(s), 0);
    assert_int_equal(ofs_schedule_add_holiday(s, 2025, 2, 29), OFS_ECONFIG);
    assert_int_equal(ofs_schedule_add_holiday(s, 2028, 2, 29), 0);
    ofs_schedule_free(s);
    ofs_schedule_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weekdays_new_york),
        cmocka_unit_test(test_dst_forward),
        cmocka_unit_test(test_dst_gap_and_repeat),
        cmocka_unit_test(test_month_ends),
        cmocka_unit_test(test_steps_and_shortcuts),
        cmocka_unit_test(test_holidays),
        cmocka_unit_test(test_missed),
        cmocka_unit_test(test_several_lines),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
