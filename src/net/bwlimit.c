/*
 * bwlimit.c - bandwidth limits: a flat rate or a timetable (see include/offsite/http.h).
 */
#include "offsite/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/config.h"
#include "offsite/error.h"

#define BWLIMIT_MAX_ENTRIES 48

struct ofs_http_bwlimit {
    size_t count;           /* 0: the flat rate applies */
    uint64_t flat;
    int minute[BWLIMIT_MAX_ENTRIES]; /* minutes after midnight, ascending */
    uint64_t rate[BWLIMIT_MAX_ENTRIES];
};

static int bwlimit_rate(const char *text, const char *whole, uint64_t *rate)
{
    if (strcmp(text, "off") == 0) {
        *rate = 0;
        return 0;
    }
    if (ofs_parse_size(text, rate) < 0 || *rate == 0)
        return ofs_error_set(OFS_ECONFIG, "bwlimit '%s': '%s' is not a rate (like 20M) or "
                             "'off'", whole, text);
    return 0;
}

int ofs_http_bwlimit_parse(const char *text, ofs_http_bwlimit **out)
{
    ofs_http_bwlimit *bw = NULL;
    char *copy = NULL, *save = NULL, *tok;
    int rc = 0;

    *out = NULL;
    if (!text || !*text || strcmp(text, "off") == 0)
        return 0;
    if (!(bw = calloc(1, sizeof(*bw))) || !(copy = strdup(text))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if (!strchr(text, ',')) {
        if ((rc = bwlimit_rate(text, text, &bw->flat)) < 0)
            goto cleanup;
        *out = bw;
        bw = NULL;
        goto cleanup;
    }
    for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        int hh, mm, n = 0;
        if (sscanf(tok, "%2d:%2d,%n", &hh, &mm, &n) != 2 || n == 0 || hh > 23 || mm > 59 ||
            hh < 0 || mm < 0) {
            rc = ofs_error_set(OFS_ECONFIG, "bwlimit '%s': '%s' is not HH:MM,RATE", text, tok);
            goto cleanup;
        }
        if (bw->count == BWLIMIT_MAX_ENTRIES) {
            rc = ofs_error_set(OFS_ECONFIG, "bwlimit '%s': more than %d entries", text,
                               BWLIMIT_MAX_ENTRIES);
            goto cleanup;
        }
        if (bw->count > 0 && hh * 60 + mm <= bw->minute[bw->count - 1]) {
            rc = ofs_error_set(OFS_ECONFIG, "bwlimit '%s': times must increase", text);
            goto cleanup;
        }
        if ((rc = bwlimit_rate(tok + n, text, &bw->rate[bw->count])) < 0)
            goto cleanup;
        bw->minute[bw->count++] = hh * 60 + mm;
    }
    *out = bw;
    bw = NULL;
cleanup:
    free(copy);
    free(bw);
    return rc;
}

uint64_t ofs_http_bwlimit_at(const ofs_http_bwlimit *bw, int64_t t)
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

void ofs_http_bwlimit_free(ofs_http_bwlimit *bw)
{
    free(bw);
}

uint64_t ofs_http_bwlimit_share(const ofs_http_bwlimit *bw, int64_t t, int ways)
{
    uint64_t rate = ofs_http_bwlimit_at(bw, t);

    if (rate && ways > 1)
        rate = rate / (uint64_t)ways > 0 ? rate / (uint64_t)ways : 1;
    return rate;
}
