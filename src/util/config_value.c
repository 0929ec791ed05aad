/* config_value.c - one value checked against its key's type (path, size, duration, choice...)
 * and stored in its section's struct. See config_internal.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_internal.h"
#include "offsite/bwlimit.h"
#include "offsite/error.h"
#include "offsite/text.h"
#include "offsite/schedule.h"

char *config_normalize(const char *base, const char *path)
{
    size_t size = strlen(path) + (path[0] == '/' ? 0 : strlen(base) + 1) + 2;
    char *joined = malloc(size), *out = malloc(size);
    size_t len = 0;
    if (!joined || !out) {
        free(joined);
        free(out);
        return NULL;
    }
    snprintf(joined, size, "%s%s%s", path[0] == '/' ? "" : base, path[0] == '/' ? "" : "/", path);
    for (char *part = joined; *part;) {
        char *end = strchr(part, '/');
        size_t n = end ? (size_t)(end - part) : strlen(part);
        if (n == 2 && part[0] == '.' && part[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the '/' before the dropped component; ".." of "/" is "/" */
        } else if (n > 0 && !(n == 1 && part[0] == '.')) {
            out[len++] = '/';
            memcpy(out + len, part, n);
            len += n;
        }
        part += n + (end ? 1 : 0);
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    free(joined);
    return out;
}

/* config_choices(list, buf, size): "a, b or c". */
static const char *config_choices(const char *const *list, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; list[i] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                 i == 0 ? "" : list[i + 1] ? ", " : " or ", list[i]);
    return buf;
}

/* config_size_text(bytes, buf, size): bytes in the largest unit that divides it: "64K". */
static const char *config_size_text(uint64_t bytes, char *buf, size_t size)
{
    static const char units[] = "TGMK";
    for (int i = 0; i < 4; i++) {
        uint64_t unit = (uint64_t)1 << (10 * (4 - i));
        if (bytes >= unit && bytes % unit == 0) {
            snprintf(buf, size, "%" PRIu64 "%c", bytes / unit, units[i]);
            return buf;
        }
    }
    snprintf(buf, size, "%" PRIu64, bytes);
    return buf;
}

static int config_list_append(char ***list, size_t *count, char *value)
{
    char **grown = realloc(*list, (*count + 1) * sizeof(**list));
    if (!grown) {
        free(value);
        return OFS_ERROR;
    }
    grown[(*count)++] = value;
    *list = grown;
    return 0;
}

static int config_parse_int(const char *text, int64_t *value)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || end == text || *end || !isdigit((unsigned char)text[text[0] == '-']))
        return -1;
    *value = n;
    return 0;
}

static int config_parse_bool(const char *text, int *value)
{
    static const char *const yes[] = { "true", "yes", "on", "1", NULL };
    static const char *const no[] = { "false", "no", "off", "0", NULL };
    for (size_t i = 0; yes[i]; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *value = 1, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *value = 0, 0;
    }
    return -1;
}

/* config_prefix_dots(prefix): 1 if a '/'-separated component is "." or "..". */
static int config_prefix_dots(const char *prefix)
{
    for (const char *c = prefix; *c;) {
        size_t n = strcspn(c, "/");
        if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 1;
        c += n + (c[n] ? 1 : 0);
    }
    return 0;
}

/* config_url_has_path(url): 1 unless url is scheme://host[:port] (trailing '/' allowed), the
 * form the s3 driver builds its requests from. */
static int config_url_has_path(const char *url)
{
    const char *host = strstr(url, "://") + 3;
    size_t n = strlen(host);
    while (n > 0 && host[n - 1] == '/')
        n--;
    return n == 0 || strcspn(host, "/?#@") < n;
}

/* config_fail_shown(p, name, value, why): "NAME: 'VALUE' WHY", the value escaped (it may hold
 * any bytes, and the message reaches a terminal). */
static int config_fail_shown(config_parse *p, const char *name, const char *value,
                             const char *why)
{
    ofs_text_buf shown = { 0 };
    int rc = config_fail(p, p->lineno, "%s: '%s' %s", name, ofs_text_show(&shown, value), why);
    ofs_text_buf_free(&shown);
    return rc;
}

int config_set_value(config_parse *p, const key_spec *spec, char *object, const char *value)
{
    char *field = object + spec->offset, error[1024], choices[128];
    const char *name = spec->name;
    int64_t number = 0;
    uint64_t size = 0;
    int flag;

    if (!*value && spec->type != KEY_PATHS && spec->type != KEY_PATTERNS &&
        spec->type != KEY_CALENDAR)
        return config_fail(p, p->lineno, "%s: empty value", name);
    switch (spec->type) {
    case KEY_PATHS:
    case KEY_PATTERNS: {
        /* "paths =" alone opens a list that continues on indented lines */
        if (!*value)
            return 0;
        char *item = spec->type == KEY_PATHS ? config_normalize(p->dir, value) : strdup(value);
        if (!item || config_list_append((char ***)(void *)field,
                                        (size_t *)(void *)(object + spec->count_offset), item))
            return config_fail(p, p->lineno, "out of memory");
        return 0;
    }
    case KEY_STRING:
    case KEY_PREFIX:
        /* a host name or bucket that is not UTF-8 fails only when a record or a request is
         * written, after the data was read: refuse it here, on its line */
        if (!ofs_text_is_printable(value))
            return config_fail_shown(p, name, value, "is not printable UTF-8 text");
        if (spec->type == KEY_PREFIX && config_prefix_dots(value))
            return config_fail(p, p->lineno, "%s: '%s' has a '.' or '..' component", name,
                               value);
        break;
    case KEY_CALENDAR: {
        /* checked here, where the line number is known; the zone is only a default */
        ofs_schedule *check = NULL;
        if (!*value)
            return 0;
        if (ofs_schedule_new(&check, "UTC") < 0)
            return config_fail(p, p->lineno, "out of memory");
        int rc = ofs_schedule_add(check, value);
        ofs_schedule_free(check);
        if (rc < 0) {
            snprintf(error, sizeof(error), "%s", ofs_error_last());
            return config_fail(p, p->lineno, "%s: %s", name, error);
        }
        char *item = strdup(value);
        if (!item || config_list_append((char ***)(void *)field,
                                        (size_t *)(void *)(object + spec->count_offset), item))
            return config_fail(p, p->lineno, "out of memory");
        return 0;
    }
    case KEY_WORDS: {
        char copy[CONFIG_LINE_MAX], *save = NULL;
        snprintf(copy, sizeof(copy), "%s", value);
        for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
            size_t i;
            for (i = 0; spec->choices[i]; i++)
                if (strcmp(w, spec->choices[i]) == 0)
                    break;
            if (!spec->choices[i])
                return config_fail(p, p->lineno, "%s: unknown value '%s' (%s)", name, w,
                                   config_choices(spec->choices, error, sizeof(error)));
            char *item = strdup(w);
            if (!item || config_list_append((char ***)(void *)field,
                                            (size_t *)(void *)(object + spec->count_offset),
                                            item))
                return config_fail(p, p->lineno, "out of memory");
        }
        return 0;
    }
    case KEY_AGE: {
        /* "2 runs": scheduled runs missed; anything else is a duration */
        int runs = 0, used = 0;
        if (sscanf(value, "%d run%n", &runs, &used) == 1 && used > 0 &&
            (value[used] == '\0' || strcmp(value + used, "s") == 0)) {
            if (runs < 1 || runs > 1000)
                return config_fail(p, p->lineno, "%s: %s is out of range (1 to 1000 runs)",
                                   name, value);
            *(int *)(void *)(object + spec->count_offset) = runs;
            return 0;
        }
        if (ofs_parse_duration(value, &number) < 0) {
            snprintf(error, sizeof(error), "%s", ofs_error_last());
            return config_fail(p, p->lineno, "%s: %s (or a number of scheduled runs: '1 run', "
                               "'2 runs')", name, error);
        }
        if (number < spec->min || number > spec->max)
            return config_fail(p, p->lineno, "%s: %s is out of range (1s to 100 years)", name,
                               value);
        *(int64_t *)(void *)field = number;
        *(int *)(void *)(object + spec->count_offset) = 0;
        return 0;
    }
    case KEY_URL:
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
            return config_fail_shown(p, name, value, "must start with http:// or https://");
        if (config_url_has_path(value) || !ofs_text_is_printable(value))
            return config_fail_shown(p, name, value, "must be scheme://host[:port] without a "
                                     "path");
        break;
    case KEY_BWLIMIT: {
        /* the drivers' own parser: what passes here passes at push */
        ofs_bwlimit *bw = NULL;
        if (ofs_bwlimit_parse(value, &bw) < 0) {
            snprintf(error, sizeof(error), "%s", ofs_error_last());
            return config_fail(p, p->lineno, "%s", error);
        }
        ofs_bwlimit_free(bw);
        break;
    }
    case KEY_CHOICE:
        for (size_t i = 0; spec->choices[i]; i++)
            if (strcmp(value, spec->choices[i]) == 0)
                goto store_string;
        if (p->current->kind == SEC_TARGET)
            return config_fail(p, p->lineno, "target '%s': unknown %s '%s' (%s)",
                               p->cfg->targets[p->current->index].name, name, value,
                               config_choices(spec->choices, choices, sizeof(choices)));
        return config_fail(p, p->lineno, "%s: unknown value '%s' (%s)", name, value,
                           config_choices(spec->choices, choices, sizeof(choices)));
    case KEY_SIZE:
        if (ofs_parse_size(value, &size) < 0) {
            snprintf(error, sizeof(error), "%s", ofs_error_last());
            return config_fail(p, p->lineno, "%s: %s", name, error);
        }
        if (size < (uint64_t)spec->min || size > (uint64_t)spec->max) {
            char low[24], high[24];
            return config_fail(p, p->lineno, "%s: %s is out of range (%s to %s)", name, value,
                               config_size_text((uint64_t)spec->min, low, sizeof(low)),
                               config_size_text((uint64_t)spec->max, high, sizeof(high)));
        }
        *(uint64_t *)(void *)field = size;
        return 0;
    case KEY_DURATION:
        if (ofs_parse_duration(value, &number) < 0) {
            snprintf(error, sizeof(error), "%s", ofs_error_last());
            return config_fail(p, p->lineno, "%s: %s", name, error);
        }
        if (number < spec->min || number > spec->max)
            return config_fail(p, p->lineno, "%s: %s is out of range (%s)", name, value,
                               spec->min ? "1s to 100 years" : "0s to 100 years");
        *(int64_t *)(void *)field = number;
        return 0;
    case KEY_INT:
        if (config_parse_int(value, &number) < 0)
            return config_fail(p, p->lineno, "%s: '%s' is not a whole number", name, value);
        if (number < spec->min || number > spec->max)
            return config_fail(p, p->lineno, "%s: %s is out of range (%" PRId64 " to %" PRId64
                               ")", name, value, spec->min, spec->max);
        *(int *)(void *)field = (int)number;
        return 0;
    case KEY_BOOL:
    case KEY_NOT_BOOL:
        if (config_parse_bool(value, &flag) < 0)
            return config_fail(p, p->lineno, "%s: '%s' is not true or false", name, value);
        *(int *)(void *)field = spec->type == KEY_NOT_BOOL ? !flag : flag;
        return 0;
    case KEY_CLASS:
        /* the provider's spelling, passed on as is: any provider's classes, none guessed */
        if (strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(value) ||
            strlen(value) >= (size_t)spec->max)
            return config_fail(p, p->lineno, "%s: '%s' is not a storage class name (up to %d "
                               "capital letters, digits and '_', e.g. STANDARD_IA or GLACIER)",
                               name, value, (int)spec->max - 1);
        memcpy(field, value, strlen(value) + 1);
        return 0;
    default:
        break;
    }
store_string:;
    char **slot = (char **)(void *)field, *copy;
    if (spec->type == KEY_PATH) {
        copy = config_normalize(p->dir, value);
    } else if (spec->type == KEY_PREFIX) {
        while (*value == '/')
            value++;
        copy = strdup(value);
        for (size_t n = copy ? strlen(copy) : 0; n > 0 && copy[n - 1] == '/'; n--)
            copy[n - 1] = '\0';
    } else {
        copy = strdup(value);
    }
    if (!copy)
        return config_fail(p, p->lineno, "out of memory");
    free(*slot);
    *slot = copy;
    return 0;
}
