/* bwlimit.c - the `bwlimit` timetable and the pacer drivers without a native limit use; see
 * include/offsite/bwlimit.h. */
#include "offsite/bwlimit.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/clock.h"
#include "offsite/config.h"
#include "offsite/error.h"

#define BWLIMIT_MAX_ENTRIES 48

struct ofs_bwlimit {
    size_t count;           /* 0: the flat rate applies */
    uint64_t flat;
    int minute[BWLIMIT_MAX_ENTRIES]; /* minutes after midnight, ascending */
    uint64_t rate[BWLIMIT_MAX_ENTRIES];
    pthread_mutex_t lock;   /* guards free_at */
    double free_at;         /* monotonic time at which the bytes accounted so far have gone */
};

static int bwlimit_rate(const char *text, const char *whole, uint64_t *rate)
{
    if (strcmp(text, "off") == 0) {
        *rate = 0;
        return 0;
    }
    /* ofs_parse_size reads "-5M" as no number; a zero rate would stall every upload */
    if (!isdigit((unsigned char)text[0]) || ofs_parse_size(text, rate) < 0 || *rate == 0)
        return ofs_error_set(OFS_ECONFIG, "bwlimit '%s': '%s' is not a rate (like 20M) or "
                             "'off'", whole, text);
    return 0;
}

/* bwlimit_time(tok, &minute, &rest): "HH:MM," (hour of one or two digits, minutes of two)
 * at the start of tok; strict, so "+8:00", " 8:0" or "24:00" are refused, not guessed at. */
static int bwlimit_time(const char *tok, int *minute, const char **rest)
{
    const char *p = tok;
    int hh = 0, mm;

    if (!isdigit((unsigned char)p[0]))
        return -1;
    hh = *p++ - '0';
    if (isdigit((unsigned char)*p))
        hh = hh * 10 + (*p++ - '0');
    if (*p++ != ':' || !isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return -1;
    mm = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    if (*p++ != ',' || hh > 23 || mm > 59)
        return -1;
    *minute = hh * 60 + mm;
    *rest = p;
    return 0;
}

int ofs_bwlimit_parse(const char *text, ofs_bwlimit **out)
{
    ofs_bwlimit *bw = NULL;
    char *copy = NULL, *save = NULL, *tok;
    int rc = 0;

    *out = NULL;
    if (!text || !*text || strcmp(text, "off") == 0)
        return 0;
    if (!(bw = calloc(1, sizeof(*bw))) || !(copy = strdup(text))) {
        free(bw);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    pthread_mutex_init(&bw->lock, NULL);
    if (!strchr(text, ',')) {
        rc = bwlimit_rate(text, text, &bw->flat);
        goto cleanup;
    }
    for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        const char *rate = NULL;
        int minute = 0;
        if (bwlimit_time(tok, &minute, &rate) < 0) {
            rc = ofs_error_set(OFS_ECONFIG, "bwlimit '%s': '%s' is not HH:MM,RATE (a time "
                               "from 00:00 to 23:59)", text, tok);
            goto cleanup;
        }
        if (bw->count == BWLIMIT_MAX_ENTRIES) {
            rc = ofs_error_set(OFS_ECONFIG, "bwlimit '%s': more than %d entries", text,
                               BWLIMIT_MAX_ENTRIES);
            goto cleanup;
        }
        if (bw->count > 0 && minute <= bw->minute[bw->count - 1]) {
            rc = ofs_error_set(OFS_ECONFIG, "bwlimit '%s': times must increase", text);
            goto cleanup;
        }
        if ((rc = bwlimit_rate(rate, text, &bw->rate[bw->count])) < 0)
            goto cleanup;
        bw->minute[bw->count++] = minute;
    }
cleanup:
    free(copy);
    if (rc == 0)
        *out = bw;
    else
        ofs_bwlimit_free(bw);
    return rc;
}

uint64_t ofs_bwlimit_at(const ofs_bwlimit *bw, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    int minute;
    size_t i;

    if (!bw)
        return 0;
    if (bw->count == 0)
        return bw->flat;
    localtime_r(&tt, &tm);
    minute = tm.tm_hour * 60 + tm.tm_min;
    /* the last entry at or before now; before the first entry, yesterday's last one */
    for (i = bw->count; i > 0 && bw->minute[i - 1] > minute; i--)
        ;
    return bw->rate[i > 0 ? i - 1 : bw->count - 1];
}

uint64_t ofs_bwlimit_share(const ofs_bwlimit *bw, int64_t t, int ways)
{
    uint64_t rate = ofs_bwlimit_at(bw, t);

    if (rate && ways > 1)
        rate = rate / (uint64_t)ways > 0 ? rate / (uint64_t)ways : 1;
    return rate;
}

void ofs_bwlimit_pace(ofs_bwlimit *bw, size_t bytes)
{
    uint64_t rate = ofs_bwlimit_at(bw, (int64_t)time(NULL));
    double now, until;

    if (!bw || rate == 0 || bytes == 0)
        return;
    /* a virtual clock: the link is busy until free_at; these bytes extend it, and the caller
     * waits until they would have gone, so no burst ever runs ahead of the rate */
    now = ofs_clock_monotonic();
    pthread_mutex_lock(&bw->lock);
    if (bw->free_at < now)
        bw->free_at = now;
    bw->free_at += (double)bytes / (double)rate;
    until = bw->free_at;
    pthread_mutex_unlock(&bw->lock);
    while ((now = ofs_clock_monotonic()) < until) {
        double wait = until - now;
        struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
        if (nanosleep(&ts, NULL) < 0 && errno != EINTR)
            break;
    }
}

void ofs_bwlimit_free(ofs_bwlimit *bw)
{
    if (!bw)
        return;
    pthread_mutex_destroy(&bw->lock);
    free(bw);
}
