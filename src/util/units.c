/* units.c - sizes and durations as people write them in the configuration ("128M", "26h",
 * "3d 4h") and as offsite prints them, and numbers from the environment; declared in
 * include/offsite/config.h. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/config.h"
#include "offsite/error.h"

int ofs_parse_size(const char *text, uint64_t *bytes)
{
    const char *p = text ? text + strspn(text, " \t") : "";
    uint64_t n = 0;
    unsigned shift = 0;
    int digits = 0;

    for (; isdigit((unsigned char)*p); p++, digits++) {
        if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return ofs_error_set(OFS_ECONFIG, "size '%s' is too large", text);
        n = n * 10 + (uint64_t)(*p - '0');
    }
    p += strspn(p, " \t");
    const char *units = "KMGT", *unit = *p ? strchr(units, toupper((unsigned char)*p)) : NULL;
    if (unit) {
        shift = 10 * (unsigned)(unit - units + 1);
        p++;
        if ((*p == 'i' || *p == 'I') && (p[1] == 'B' || p[1] == 'b'))
            p += 2;
    }
    if (*p == 'B' || *p == 'b')
        p++;
    p += strspn(p, " \t");
    if (!digits || *p)
        return ofs_error_set(OFS_ECONFIG, "bad size '%s' (use a number with K, M, G or T)",
                             text ? text : "");
    if (shift && n > UINT64_MAX >> shift)
        return ofs_error_set(OFS_ECONFIG, "size '%s' is too large", text);
    *bytes = n << shift;
    return 0;
}

int ofs_parse_duration(const char *text, int64_t *seconds)
{
    static const char units[] = "smhdw";
    static const int64_t factors[] = { 1, 60, 3600, 86400, 604800 };
    const char *p = text ? text : "";
    int64_t total = 0;
    int terms = 0;

    p += strspn(p, " \t");
    while (*p) {
        int64_t n = 0, factor = 1;
        if (!isdigit((unsigned char)*p))
            goto bad;
        for (; isdigit((unsigned char)*p); p++) {
            if (n > (INT64_MAX - (*p - '0')) / 10)
                goto too_large;
            n = n * 10 + (*p - '0');
        }
        p += strspn(p, " \t");
        const char *unit = *p ? strchr(units, tolower((unsigned char)*p)) : NULL;
        if (unit) {
            factor = factors[unit - units];
            p++;
        } else if (*p || terms > 0) {
            goto bad; /* a bare number stands alone: "90" is seconds, "1h 30" is a typo */
        }
        if (*p && !isspace((unsigned char)*p) && !isdigit((unsigned char)*p))
            goto bad;
        if (n > INT64_MAX / factor || total > INT64_MAX - n * factor)
            goto too_large;
        total += n * factor;
        terms++;
        p += strspn(p, " \t");
    }
    if (terms == 0)
        goto bad;
    *seconds = total;
    return 0;
bad:
    return ofs_error_set(OFS_ECONFIG, "bad duration '%s' (use a number with s, m, h, d or w, "
                         "e.g. 26h or 7d)", text ? text : "");
too_large:
    return ofs_error_set(OFS_ECONFIG, "duration '%s' is too large", text);
}

void ofs_format_duration(int64_t seconds, char *buf, size_t size)
{
    static const char units[] = "dhms";
    static const uint64_t factors[] = { 86400, 3600, 60, 1 };
    uint64_t v = seconds < 0 ? (uint64_t)0 - (uint64_t)seconds : (uint64_t)seconds;
    const char *sign = seconds < 0 ? "-" : "";
    size_t i = 0;

    if (!buf || size == 0)
        return;
    if (v == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    while (v < factors[i])
        i++;
    /* the largest unit and the next one, if nonzero: an age is read at a glance */
    uint64_t major = v / factors[i], minor = i < 3 ? v % factors[i] / factors[i + 1] : 0;
    if (minor)
        snprintf(buf, size, "%s%llu%c %llu%c", sign, (unsigned long long)major, units[i],
                 (unsigned long long)minor, units[i + 1]);
    else
        snprintf(buf, size, "%s%llu%c", sign, (unsigned long long)major, units[i]);
}

double ofs_env_number(const char *name, double fallback)
{
    const char *text = getenv(name);
    char *end = NULL;
    double v;

    if (!text || !*text)
        return fallback;
    v = strtod(text, &end);
    return end && *end == '\0' && v >= 0 ? v : fallback;
}
