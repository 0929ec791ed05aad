/*
 * clock.c - the current time (with the OFFSITE_NOW testing override) and UTC formats.
 */
#include "offsite/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
