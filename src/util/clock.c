/*
 * clock.c - the current time (with the OFFSITE_NOW testing override) and UTC formats.
 */
#include "offsite/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/config.h"
#include "offsite/error.h"

int64_t ofs_clock_now(void)
{
    const char *fixed = getenv("OFFSITE_NOW");

    if (fixed && *fixed) {
        int64_t t;
        char *end;
        long long v;

        if (ofs_time_parse_iso(fixed, &t) == 0)
            return t;
        errno = 0;
        v = strtoll(fixed, &end, 10);
        if (errno == 0 && *end == '\0' && v >= 0)
            return (int64_t)v;
        /* a malformed override must not silently become "now" in a test */
        fprintf(stderr, "offsite: ignoring malformed OFFSITE_NOW '%s'\n", fixed);
    }
    return (int64_t)time(NULL);
}

double ofs_clock_monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void format_utc(int64_t t, const char *fmt, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(buf, size, fmt, &tm) == 0) {
        if (size)
            buf[0] = '\0';
    }
}

void ofs_time_format_iso(int64_t t, char *buf, size_t size)
{
    format_utc(t, "%Y-%m-%dT%H:%M:%SZ", buf, size);
}

void ofs_time_format_compact(int64_t t, char *buf, size_t size)
{
    format_utc(t, "%Y%m%d_%H%M%S", buf, size);
}

int ofs_time_parse_iso(const char *text, int64_t *t)
{
    struct tm tm;
    char tail;
    int n;

    memset(&tm, 0, sizeof tm);
    n = sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail);
    if (n != 6 || strlen(text) != 20 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return ofs_error_set(OFS_ECORRUPT, "malformed time '%s' (want YYYY-mm-ddTHH:MM:SSZ)",
                             text);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *t = (int64_t)timegm(&tm);
    return 0;
}

/* clock_tz_enter(time_zone): switch TZ for a conversion (the command line is parsed before any
 * thread starts) and return the old value for clock_tz_leave. */
static char *clock_tz_enter(const char *time_zone)
{
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZ", time_zone ? time_zone : "UTC", 1);
    tzset();
    return saved;
}

static void clock_tz_leave(char *saved)
{
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

/* clock_local(tm, time_zone): mktime of a broken-down time in time_zone. */
static int64_t clock_local(struct tm *tm, const char *time_zone)
{
    char *saved = clock_tz_enter(time_zone);
    tm->tm_isdst = -1;
    int64_t t = (int64_t)mktime(tm);
    clock_tz_leave(saved);
    return t;
}

/* clock_midnight(t, days_back, time_zone): 00:00 there of the day of t, days_back earlier. */
static int64_t clock_midnight(int64_t t, int days_back, const char *time_zone)
{
    char *saved = clock_tz_enter(time_zone);
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    clock_tz_leave(saved);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday -= days_back;
    return clock_local(&tm, time_zone);
}

int ofs_time_parse_date(const char *text, const char *time_zone, int64_t now, int64_t *t)
{
    struct tm tm;
    int64_t ago;
    int used = 0, n;

    if (strcmp(text, "now") == 0) {
        *t = now;
        return 0;
    }
    if (strcmp(text, "today") == 0 || strcmp(text, "yesterday") == 0) {
        *t = clock_midnight(now, text[0] == 'y', time_zone);
        return 0;
    }
    const char *span = text[0] == '-' ? text + 1 : text;
    /* a bare number is not taken as seconds ago: "2026" is a typo for a date */
    if (span[strspn(span, "0123456789")] != '\0' && ofs_parse_duration(span, &ago) == 0) {
        *t = now - ago;
        return 0;
    }
    ofs_error_clear();
    memset(&tm, 0, sizeof(tm));
    n = sscanf(text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &used);
    if (n == 3 && (text[used] == 'T' || text[used] == ' ')) {
        int more = 0;
        n = sscanf(text + used + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &more);
        if (n != 2)
            goto bad;
        used += 1 + more;
        if (text[used] == ':') {
            if (sscanf(text + used + 1, "%2d%n", &tm.tm_sec, &more) != 1)
                goto bad;
            used += 1 + more;
        }
    } else if (n != 3) {
        goto bad;
    }
    int utc = text[used] == 'Z';
    if (text[used + utc] != '\0' || used < 10 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
        goto bad;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *t = utc ? (int64_t)timegm(&tm) : clock_local(&tm, time_zone);
    return 0;
bad:
    return ofs_error_set(OFS_ECONFIG, "'%s' is not a date\nHINT: dates are 2026-03-14, "
                         "'2026-03-14 17:30' (in time_zone %s; a final Z means UTC), today, "
                         "yesterday, or a time ago such as 36h or 7d", text,
                         time_zone ? time_zone : "UTC");
}
