/* schedule.c - systemd calendar events and holidays; see include/offsite/schedule.h. */
#include "offsite/schedule.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "offsite/error.h"

#define SCHEDULE_TEXT_MAX 256
#define SCHEDULE_ZONE_MAX 128
#define SCHEDULE_YEAR_MIN 1970
#define SCHEDULE_YEAR_MAX 2199
#define SCHEDULE_SEARCH_DAYS (366 * 10)
#define SCHEDULE_MISSED_MAX 1000

/* One calendar line as sets of allowed values (bit v set: value v allowed). */
typedef struct schedule_event {
    unsigned weekdays;         /* bit 0 Monday .. bit 6 Sunday */
    uint64_t years[4];         /* bit (year - SCHEDULE_YEAR_MIN) */
    unsigned months;           /* bits 1..12 */
    uint32_t days;             /* bits 1..31 */
    uint32_t hours;            /* bits 0..23 */
    uint64_t minutes, seconds; /* bits 0..59 */
    char zone[SCHEDULE_ZONE_MAX];
    char text[SCHEDULE_TEXT_MAX + SCHEDULE_ZONE_MAX]; /* OnCalendar= form, zone written out */
} schedule_event;

struct ofs_schedule {
    char zone[SCHEDULE_ZONE_MAX]; /* for lines without a zone */
    schedule_event *events;
    size_t count;
    int *holidays;                /* YYYYMMDD, sorted */
    size_t holiday_count, holiday_capacity;
};

int ofs_time_zone_ok(const char *zone)
{
    const char *dir = getenv("TZDIR");
    char path[PATH_MAX];
    struct stat st;
    if (strcmp(zone, "UTC") == 0 || strcmp(zone, "GMT") == 0)
        return 1;
    if (!zone[0] || zone[0] == '/' || strstr(zone, ".."))
        return 0;
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ofs_schedule_new(ofs_schedule **out, const char *default_zone)
{
    ofs_schedule *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s)
        return ofs_error_set(OFS_ERROR, "out of memory");
    snprintf(s->zone, sizeof(s->zone), "%s", default_zone ? default_zone : "UTC");
    *out = s;
    return 0;
}

void ofs_schedule_free(ofs_schedule *s)
{
    if (!s)
        return;
    free(s->events);
    free(s->holidays);
    free(s);
}

size_t ofs_schedule_count(const ofs_schedule *s)
{
    return s ? s->count : 0;
}

const char *ofs_schedule_line(const ofs_schedule *s, size_t i)
{
    return i < s->count ? s->events[i].text : "";
}

size_t ofs_schedule_holiday_count(const ofs_schedule *s)
{
    return s ? s->holiday_count : 0;
}

/* ---- parsing ---- */

static const char *const schedule_weekday_names[7] = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
};

/* A weekday name: the first three letters or the whole name, any case; -1 if none. */
static int schedule_weekday(const char *word, size_t n)
{
    for (int i = 0; i < 7; i++)
        if ((n == 3 || n == strlen(schedule_weekday_names[i])) &&
            strncasecmp(word, schedule_weekday_names[i], n) == 0)
            return i;
    return -1;
}

static void schedule_bit_set(uint64_t *bits, int v)
{
    bits[v / 64] |= (uint64_t)1 << (v % 64);
}

static int schedule_bit_get(const uint64_t *bits, int v)
{
    return (int)((bits[v / 64] >> (v % 64)) & 1);
}

/* schedule_number(text, n, &v): a decimal number that fills text[0..n). */
static int schedule_number(const char *text, size_t n, int *v)
{
    long value = 0;
    if (n == 0 || n > 4)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)text[i]))
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    *v = (int)value;
    return 0;
}

/*
 * schedule_field(line, what, text, len, min, max, bits): one numeric component ("9..17/2,20")
 * into bits (an array of uint64_t, bit v - min for value v). OFS_ECONFIG naming what is wrong.
 */
static int schedule_field(const char *line, const char *what, const char *text, size_t len,
                          int min, int max, uint64_t *bits)
{
    size_t pos = 0;
    while (pos <= len) {
        size_t n = 0;
        while (pos + n < len && text[pos + n] != ',')
            n++;
        const char *item = text + pos;
        const char *slash = memchr(item, '/', n), *dots = NULL;
        size_t range_len = slash ? (size_t)(slash - item) : n;
        int lo, hi, step = 1;
        for (size_t i = 0; i + 1 < range_len; i++)
            if (item[i] == '.' && item[i + 1] == '.') {
                dots = item + i;
                break;
            }
        if (range_len == 1 && item[0] == '*') {
            lo = min;
            hi = max;
        } else if (dots) {
            if (schedule_number(item, (size_t)(dots - item), &lo) < 0 ||
                schedule_number(dots + 2, range_len - (size_t)(dots - item) - 2, &hi) < 0)
                goto bad;
        } else {
            if (schedule_number(item, range_len, &lo) < 0)
                goto bad;
            hi = slash ? max : lo;
        }
        if (slash && (schedule_number(slash + 1, n - range_len - 1, &step) < 0 || step < 1))
            goto bad;
        if (lo < min || hi > max || lo > hi)
            return ofs_error_set(OFS_ECONFIG, "calendar '%s': %s '%.*s' is out of range "
                                 "(%d..%d)", line, what, (int)n, item, min, max);
        for (int v = lo; v <= hi; v += step)
            schedule_bit_set(bits, v - min);
        pos += n + 1;
        continue;
bad:
        return ofs_error_set(OFS_ECONFIG, "calendar '%s': %s '%.*s' is not a number, a range "
                             "A..B, a step A/S or '*'", line, what, (int)n, item);
    }
    return 0;
}

/* schedule_weekdays(line, word, &mask): "Mon..Fri,Sun" into bits 0 (Monday) .. 6. */
static int schedule_weekdays(const char *line, const char *word, unsigned *mask)
{
    const char *p = word;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *dots = NULL;
        for (size_t i = 0; i + 1 < n; i++)
            if (p[i] == '.' && p[i + 1] == '.') {
                dots = p + i;
                break;
            }
        size_t first_len = dots ? (size_t)(dots - p) : n;
        int a = schedule_weekday(p, first_len), b = a;
        if (dots)
            b = schedule_weekday(dots + 2, n - first_len - 2);
        if (a < 0 || b < 0)
            return ofs_error_set(OFS_ECONFIG, "calendar '%s': unknown weekday '%.*s' (Mon, "
                                 "Tue, ... Sun; ranges Mon..Fri; lists Mon,Wed)", line, (int)n, p);
        if (b < a) /* systemd refuses Fri..Mon too: the timer must accept the same line */
            return ofs_error_set(OFS_ECONFIG, "calendar '%s': weekday range '%.*s' runs "
                                 "backwards (write Fri..Sun,Mon)", line, (int)n, p);
        for (int d = a; d <= b; d++)
            *mask |= 1u << d;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* schedule_date(line, word, ev): "[YEAR-]MONTH-DAY", each part a field. */
static int schedule_date(const char *line, const char *word, schedule_event *ev)
{
    const char *parts[3];
    size_t lens[3], count = 0;
    const char *p = word;
    for (;;) {
        size_t n = strcspn(p, "-");
        if (count == 3)
            return ofs_error_set(OFS_ECONFIG, "calendar '%s': date '%s' has too many parts "
                                 "(YEAR-MONTH-DAY)", line, word);
        parts[count] = p;
        lens[count++] = n;
        if (!p[n])
            break;
        p += n + 1;
    }
    if (count < 2)
        return ofs_error_set(OFS_ECONFIG, "calendar '%s': date '%s' is not [YEAR-]MONTH-DAY",
                             line, word);
    uint64_t months = 0, days = 0;
    size_t first = count - 2;
    memset(ev->years, 0, sizeof(ev->years));
    int rc = count == 3 ? schedule_field(line, "year", parts[0], lens[0], SCHEDULE_YEAR_MIN,
                                         SCHEDULE_YEAR_MAX, ev->years) : 0;
    if (count == 2)
        memset(ev->years, 0xff, sizeof(ev->years));
    if (rc < 0 || (rc = schedule_field(line, "month", parts[first], lens[first], 1, 12,
                                       &months)) < 0 ||
        (rc = schedule_field(line, "day", parts[first + 1], lens[first + 1], 1, 31, &days)) < 0)
        return rc;
    ev->months = (unsigned)(months << 1); /* bit 1 = January, as in the struct */
    ev->days = (uint32_t)(days << 1);
    return 0;
}

/* schedule_time(line, word, ev): "HOUR:MINUTE[:SECOND]". */
static int schedule_time(const char *line, const char *word, schedule_event *ev)
{
    const char *c1 = strchr(word, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    uint64_t hours = 0;
    int rc;
    if (!c1 || (c2 && strchr(c2 + 1, ':')))
        return ofs_error_set(OFS_ECONFIG, "calendar '%s': time '%s' is not HOUR:MINUTE"
                             "[:SECOND]", line, word);
    if (strchr(word, '.') && strstr(word, "..") == NULL)
        return ofs_error_set(OFS_ECONFIG, "calendar '%s': fractions of a second are not "
                             "supported ('%s')", line, word);
    ev->minutes = ev->seconds = 0;
    if ((rc = schedule_field(line, "hour", word, (size_t)(c1 - word), 0, 23, &hours)) < 0 ||
        (rc = schedule_field(line, "minute", c1 + 1,
                             c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), 0, 59,
                             &ev->minutes)) < 0)
        return rc;
    if (c2 && (rc = schedule_field(line, "second", c2 + 1, strlen(c2 + 1), 0, 59,
                                   &ev->seconds)) < 0)
        return rc;
    if (!c2)
        ev->seconds = 1;
    ev->hours = (uint32_t)hours;
    return 0;
}

/* The systemd shortcuts, as their normalized forms. */
static const struct { const char *word, *form; } schedule_shortcuts[] = {
    { "minutely", "*-*-* *:*:00" }, { "hourly", "*-*-* *:00:00" },
    { "daily", "*-*-* 00:00:00" }, { "weekly", "Mon *-*-* 00:00:00" },
    { "monthly", "*-*-01 00:00:00" }, { "yearly", "*-01-01 00:00:00" },
    { "annually", "*-01-01 00:00:00" },
};

int ofs_schedule_add(ofs_schedule *s, const char *line)
{
    schedule_event ev;
    char copy[SCHEDULE_TEXT_MAX], *words[8], *save = NULL;
    size_t count = 0;
    int rc, have_date = 0, have_time = 0;

    memset(&ev, 0, sizeof(ev));
    if (strlen(line) >= sizeof(copy))
        return ofs_error_set(OFS_ECONFIG, "calendar line longer than %d characters",
                             SCHEDULE_TEXT_MAX - 1);
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (count == sizeof(words) / sizeof(words[0]))
            return ofs_error_set(OFS_ECONFIG, "calendar '%s': too many parts", line);
        words[count++] = w;
    }
    if (count == 0)
        return ofs_error_set(OFS_ECONFIG, "empty calendar line");
    /* a time zone comes last: an IANA name starts with a letter and has a '/' (a step such
     * as 9..16/2 starts with a digit or '*'), else it is UTC or GMT */
    snprintf(ev.zone, sizeof(ev.zone), "%s", s->zone);
    const char *last = words[count - 1];
    if (count > 1 && isalpha((unsigned char)last[0]) && !strchr(last, ':') &&
        (strchr(last, '/') || strcmp(last, "UTC") == 0 || strcmp(last, "GMT") == 0)) {
        if (!ofs_time_zone_ok(words[count - 1]))
            return ofs_error_set(OFS_ECONFIG, "calendar '%s': unknown time zone '%s' (an "
                                 "IANA name such as 'America/New_York', or 'UTC')", line,
                                 words[count - 1]);
        snprintf(ev.zone, sizeof(ev.zone), "%s", words[--count]);
    }
    ev.weekdays = 0;
    memset(ev.years, 0xff, sizeof(ev.years));
    ev.months = 0x1ffe;
    ev.days = 0xfffffffe;
    ev.hours = 1;
    ev.minutes = ev.seconds = 1;
    for (size_t i = 0; i < count; i++) {
        const char *w = words[i];
        size_t k;
        for (k = 0; k < sizeof(schedule_shortcuts) / sizeof(schedule_shortcuts[0]); k++)
            if (strcasecmp(w, schedule_shortcuts[k].word) == 0)
                break;
        if (k < sizeof(schedule_shortcuts) / sizeof(schedule_shortcuts[0])) {
            if (count != 1)
                return ofs_error_set(OFS_ECONFIG, "calendar '%s': '%s' stands alone (with at "
                                     "most a time zone)", line, w);
            char form[64];
            snprintf(form, sizeof(form), "%s", schedule_shortcuts[k].form);
            char *fs = NULL, *fw = strtok_r(form, " ", &fs);
            for (; fw; fw = strtok_r(NULL, " ", &fs)) {
                if (isalpha((unsigned char)fw[0]))
                    rc = schedule_weekdays(line, fw, &ev.weekdays);
                else if (strchr(fw, ':'))
                    rc = schedule_time(line, fw, &ev);
                else
                    rc = schedule_date(line, fw, &ev);
                if (rc < 0)
                    return rc;
            }
            have_date = have_time = 1;
            continue;
        }
        if (strchr(w, '~'))
            return ofs_error_set(OFS_ECONFIG, "calendar '%s': '~' (days from the end of the "
                                 "month) is not supported", line);
        if (i == 0 && isalpha((unsigned char)w[0])) {
            if ((rc = schedule_weekdays(line, w, &ev.weekdays)) < 0)
                return rc;
        } else if (strchr(w, ':') && !have_time) {
            if ((rc = schedule_time(line, w, &ev)) < 0)
                return rc;
            have_time = 1;
        } else if (strchr(w, '-') && !have_date && !have_time) {
            if ((rc = schedule_date(line, w, &ev)) < 0)
                return rc;
            have_date = 1;
        } else {
            return ofs_error_set(OFS_ECONFIG, "calendar '%s': cannot read '%s' (want "
                                 "[WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] "
                                 "[TIME_ZONE])", line, w);
        }
    }
    if (!ev.weekdays)
        ev.weekdays = 0x7f;
    /* the line as given, its zone written out: the timer then fires in that zone whatever
     * the host's own zone is */
    char body[SCHEDULE_TEXT_MAX] = "";
    size_t used = 0;
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(body + used, sizeof(body) - used, "%s%s", i ? " " : "",
                                 words[i]);
    snprintf(ev.text, sizeof(ev.text), "%s %s", body, ev.zone);
    schedule_event *bigger = realloc(s->events, (s->count + 1) * sizeof(*bigger));
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    s->events = bigger;
    s->events[s->count++] = ev;
    return 0;
}

/* ---- holidays ---- */

static int schedule_compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int schedule_days_in_month(int year, int month)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

int ofs_schedule_add_holiday(ofs_schedule *s, int year, int month, int day)
{
    if (year < SCHEDULE_YEAR_MIN || year > SCHEDULE_YEAR_MAX || month < 1 || month > 12 ||
        day < 1 || day > schedule_days_in_month(year, month))
        return ofs_error_set(OFS_ECONFIG, "%04d-%02d-%02d is not a date", year, month, day);
    if (s->holiday_count == s->holiday_capacity) {
        size_t capacity = s->holiday_capacity ? s->holiday_capacity * 2 : 32;
        int *bigger = realloc(s->holidays, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        s->holidays = bigger;
        s->holiday_capacity = capacity;
    }
    s->holidays[s->holiday_count++] = year * 10000 + month * 100 + day;
    qsort(s->holidays, s->holiday_count, sizeof(int), schedule_compare_int);
    return 0;
}

int ofs_schedule_add_holidays(ofs_schedule *s, const char *path)
{
    char line[512];
    int lineno = 0, rc = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return ofs_error_from_errno(errno, "cannot open holiday file '%s'", path);
    while (fgets(line, sizeof(line), f)) {
        int y, m, d, n = 0;
        lineno++;
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        if (sscanf(p, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
            (p[n] && !strchr(" \t#\r\n", p[n]))) {
            p[strcspn(p, "\r\n")] = '\0';
            rc = ofs_error_set(OFS_ECONFIG, "%s:%d: '%s' is not a date YYYY-MM-DD", path,
                               lineno, p);
            break;
        }
        if ((rc = ofs_schedule_add_holiday(s, y, m, d)) < 0) {
            ofs_error_wrap(rc, "%s:%d", path, lineno);
            break;
        }
    }
    fclose(f);
    return rc;
}

static int schedule_holiday_date(const ofs_schedule *s, int ymd)
{
    return s->holiday_count &&
           bsearch(&ymd, s->holidays, s->holiday_count, sizeof(int), schedule_compare_int);
}

/* ---- computing runs ---- */

/* The process's TZ is switched to zone while a computation runs and put back after. */
typedef struct schedule_zone {
    char *saved;
    int had;
} schedule_zone;

static void schedule_zone_begin(schedule_zone *z, const char *zone)
{
    const char *current = getenv("TZ");
    z->had = current != NULL;
    z->saved = current ? strdup(current) : NULL;
    setenv("TZ", zone, 1);
    tzset();
}

static void schedule_zone_end(schedule_zone *z)
{
    if (z->had && z->saved)
        setenv("TZ", z->saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(z->saved);
}

/* schedule_local(y, mon, d, h, m, sec, &t): the first instant with that local wall time in
 * the current TZ; 0 if it does not exist that day (systemd skips such runs). */
static int schedule_local(int year, int month, int day, int hour, int minute, int second,
                          int64_t *out)
{
    int found = 0;
    for (int dst = 1; dst >= 0; dst--) {
        struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
                         .tm_hour = hour, .tm_min = minute, .tm_sec = second,
                         .tm_isdst = dst };
        struct tm back;
        time_t t = mktime(&tm);
        if (t == (time_t)-1 || !localtime_r(&t, &back))
            continue;
        if (back.tm_year != year - 1900 || back.tm_mon != month - 1 || back.tm_mday != day ||
            back.tm_hour != hour || back.tm_min != minute || back.tm_sec != second)
            continue; /* the hint did not hold: mktime moved the time */
        if (!found || (int64_t)t < *out)
            *out = (int64_t)t;
        found = 1;
    }
    return found;
}

/* schedule_event_next(s, ev, after, &next): ev's first run after `after` (TZ already set). */
static int schedule_event_next(const ofs_schedule *s, const schedule_event *ev, int64_t after,
                               int64_t *next)
{
    /* start a day early: the local date of `after` may lie on either side of a DST change */
    time_t start = (time_t)(after - 86400);
    struct tm day;
    if (!localtime_r(&start, &day))
        return 0;
    int year = day.tm_year + 1900, month = day.tm_mon + 1, mday = day.tm_mday;
    int wday = (day.tm_wday + 6) % 7; /* 0 = Monday */
    for (int i = 0; i < SCHEDULE_SEARCH_DAYS; i++) {
        int ymd = year * 10000 + month * 100 + mday;
        if (year >= SCHEDULE_YEAR_MIN && year <= SCHEDULE_YEAR_MAX &&
            schedule_bit_get(ev->years, year - SCHEDULE_YEAR_MIN) &&
            (ev->months >> month & 1) && (ev->days >> mday & 1) && (ev->weekdays >> wday & 1) &&
            !schedule_holiday_date(s, ymd)) {
            for (int h = 0; h < 24; h++) {
                if (!(ev->hours >> h & 1))
                    continue;
                for (int m = 0; m < 60; m++) {
                    if (!(ev->minutes >> m & 1))
                        continue;
                    for (int sec = 0; sec < 60; sec++) {
                        int64_t t = 0;
                        if ((ev->seconds >> sec & 1) &&
                            schedule_local(year, month, mday, h, m, sec, &t) && t > after) {
                            *next = t;
                            return 1;
                        }
                    }
                }
            }
        }
        if (++mday > schedule_days_in_month(year, month)) {
            mday = 1;
            if (++month > 12) {
                month = 1;
                year++;
            }
        }
        wday = (wday + 1) % 7;
    }
    return 0;
}

int ofs_schedule_next(const ofs_schedule *s, int64_t after, int64_t *next)
{
    int found = 0;
    for (size_t i = 0; s && i < s->count; i++) {
        schedule_zone z;
        int64_t t = 0;
        schedule_zone_begin(&z, s->events[i].zone);
        int ok = schedule_event_next(s, &s->events[i], after, &t);
        schedule_zone_end(&z);
        if (ok && (!found || t < *next)) {
            *next = t;
            found = 1;
        }
    }
    if (!found)
        return ofs_error_set(OFS_ENOTFOUND, "no scheduled run after this time");
    return 0;
}

unsigned ofs_schedule_missed(const ofs_schedule *s, int64_t since, int64_t now, int64_t grace)
{
    unsigned count = 0;
    int64_t t = since, next;
    while (count < SCHEDULE_MISSED_MAX && ofs_schedule_next(s, t, &next) == 0 &&
           next <= now - grace) {
        count++;
        t = next;
    }
    ofs_error_clear();
    return count;
}

int ofs_schedule_is_holiday(const ofs_schedule *s, int64_t t, const char *zone)
{
    schedule_zone z;
    struct tm tm;
    time_t tt = (time_t)t;
    int holiday = 0;
    if (!s || !s->holiday_count)
        return 0;
    schedule_zone_begin(&z, zone ? zone : s->zone);
    if (localtime_r(&tt, &tm))
        holiday = schedule_holiday_date(s, (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 +
                                               tm.tm_mday);
    schedule_zone_end(&z);
    return holiday;
}
