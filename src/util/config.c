/* config.c - the INI configuration: inih splits lines, this file checks every section and key.
 * See include/offsite/config.h and docs/configuration.md. */
#include "offsite/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/error.h"

#define CONFIG_LINE_MAX 4096  /* characters in one line, newline included */
#define CONFIG_NAME_MAX 64    /* characters in a set or target name */

enum key_type {
    KEY_STRING,   /* char *, as written */
    KEY_PATH,     /* char *, resolved against the config file's directory */
    KEY_PATHS,    /* char ** + size_t count: one path a line, resolved */
    KEY_PATTERNS, /* char ** + size_t count: one pattern a line, as written */
    KEY_URL,      /* char *, http:// or https:// */
    KEY_PREFIX,   /* char *, leading and trailing '/' removed */
    KEY_CHOICE,   /* char *, one of choices */
    KEY_SIZE,     /* uint64_t, within min..max */
    KEY_DURATION, /* int64_t seconds, within min..max */
    KEY_INT,      /* int, within min..max */
    KEY_BOOL,     /* int, 0 or 1 */
    KEY_CLASS     /* char[max]: a storage class name, capitals, digits and '_' */
};

/* Target types, as bits: which types a target key applies to. */
enum { T_FILE = 1, T_S3 = 2, T_GCS = 4, T_RSYNC = 8, T_ALL = 15 };
static const char *const target_types[] = { "file", "s3", "gcs", "rsync", NULL };
static const char *const url_styles[] = { "path", "virtual", NULL };
static const char *const lifecycles[] = { "sync", "off", NULL };

typedef struct key_spec {
    const char *name;
    enum key_type type;
    size_t offset;               /* of the field in its section's struct */
    size_t count_offset;         /* KEY_PATHS, KEY_PATTERNS: of the size_t count */
    int64_t min, max;            /* KEY_SIZE, KEY_DURATION, KEY_INT; KEY_CLASS: max = size */
    const char *const *choices;  /* KEY_CHOICE */
    unsigned types;              /* target keys: the types it applies to */
} key_spec;

#define KB (INT64_C(1) << 10)
#define MB (INT64_C(1) << 20)
#define GB (INT64_C(1) << 30)
#define TB (INT64_C(1) << 40)
#define DAY INT64_C(86400)
#define YEARS_100 (DAY * 36525)

#define AGENT(n, t, ...) { #n, t, offsetof(ofs_config, n), __VA_ARGS__ }
static const key_spec agent_keys[] = {
    AGENT(state_dir, KEY_PATH, 0, 0, 0, NULL, 0),
    AGENT(staging_dir, KEY_PATH, 0, 0, 0, NULL, 0),
    AGENT(key_file, KEY_PATH, 0, 0, 0, NULL, 0),
    AGENT(host, KEY_STRING, 0, 0, 0, NULL, 0),
    AGENT(time_zone, KEY_STRING, 0, 0, 0, NULL, 0),
    AGENT(parallel, KEY_INT, 0, 1, 64, NULL, 0),
    AGENT(bwlimit, KEY_STRING, 0, 0, 0, NULL, 0),
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define SET(n, t, ...) { #n, t, offsetof(ofs_config_set, n), __VA_ARGS__ }
static const key_spec set_keys[] = {
    SET(paths, KEY_PATHS, offsetof(ofs_config_set, path_count), 0, 0, NULL, 0),
    { "exclude", KEY_PATTERNS, offsetof(ofs_config_set, excludes),
      offsetof(ofs_config_set, exclude_count), 0, 0, NULL, 0 },
    SET(pre_hook, KEY_STRING, 0, 0, 0, NULL, 0),
    SET(post_hook, KEY_STRING, 0, 0, 0, NULL, 0),
    SET(full_every, KEY_DURATION, 0, 0, YEARS_100, NULL, 0),
    SET(volume_size, KEY_SIZE, 0, 64 * KB, TB, NULL, 0),
    SET(compression_level, KEY_INT, 0, 1, 19, NULL, 0),
    SET(warn_after, KEY_DURATION, 0, 1, YEARS_100, NULL, 0),
    SET(critical_after, KEY_DURATION, 0, 1, YEARS_100, NULL, 0),
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define TARGET(n, t, ...) { #n, t, offsetof(ofs_config_target, n), __VA_ARGS__ }
static const key_spec target_keys[] = {
    TARGET(type, KEY_CHOICE, 0, 0, 0, target_types, T_ALL),
    TARGET(path, KEY_PATH, 0, 0, 0, NULL, T_FILE),
    TARGET(endpoint, KEY_URL, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(region, KEY_STRING, 0, 0, 0, NULL, T_S3),
    TARGET(bucket, KEY_STRING, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(prefix, KEY_PREFIX, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(url_style, KEY_CHOICE, 0, 0, 0, url_styles, T_S3),
    TARGET(storage_class, KEY_STRING, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(object_lock, KEY_STRING, 0, 0, 0, NULL, T_S3),
    TARGET(credentials_file, KEY_PATH, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(profile, KEY_STRING, 0, 0, 0, NULL, T_S3),
    TARGET(ca_file, KEY_PATH, 0, 0, 0, NULL, T_S3 | T_GCS),
    TARGET(part_size, KEY_SIZE, 0, 5 * MB, 5 * GB, NULL, T_S3 | T_GCS),
    TARGET(transition_days, KEY_INT, 0, 1, 100000, NULL, T_S3),
    TARGET(transition_class, KEY_CLASS, 0, 0, OFS_CONFIG_CLASS_MAX, NULL, T_S3),
    TARGET(url, KEY_STRING, 0, 0, 0, NULL, T_RSYNC),
    TARGET(ssh_command, KEY_STRING, 0, 0, 0, NULL, T_RSYNC),
    TARGET(password_file, KEY_PATH, 0, 0, 0, NULL, T_RSYNC),
    TARGET(retention, KEY_STRING, 0, 0, 0, NULL, T_ALL),
    TARGET(bwlimit, KEY_STRING, 0, 0, 0, NULL, T_ALL),
    TARGET(parallel, KEY_INT, 0, 1, 64, NULL, T_ALL),
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define RETENTION(n, t, ...) { #n, t, offsetof(ofs_config_retention, n), __VA_ARGS__ }
static const key_spec retention_keys[] = {
    RETENTION(daily, KEY_INT, 0, 0, 100000, NULL, 0),
    RETENTION(weekly, KEY_INT, 0, 0, 100000, NULL, 0),
    RETENTION(monthly, KEY_INT, 0, 0, 100000, NULL, 0),
    RETENTION(keep_last, KEY_INT, 0, 0, 100000, NULL, 0),
    { "auto", KEY_BOOL, offsetof(ofs_config_retention, auto_prune), 0, 0, 0, NULL, 0 },
    RETENTION(lifecycle, KEY_CHOICE, 0, 0, 0, lifecycles, 0),
    { NULL, 0, 0, 0, 0, 0, NULL, 0 }
};

#define KEYS_MAX 24 /* more than the longest table above */

enum section_kind { SEC_AGENT, SEC_SET, SEC_TARGET, SEC_RETENTION };

/* One [section] as read: where it starts and on which line each key was given (0 = not). */
typedef struct section {
    enum section_kind kind;
    int named;             /* [retention NAME], not [retention] */
    size_t index;          /* into cfg->sets, cfg->targets or cfg->retentions */
    char label[CONFIG_NAME_MAX + 16]; /* "[set data]", for messages */
    int line;
    int key_lines[KEYS_MAX];
} section;

typedef struct config_parse {
    ofs_config *cfg;
    const char *dir;       /* absolute directory of the config file */
    FILE *file;
    char *line;            /* the physical line being handed to inih */
    size_t line_cap, line_len, served;
    int lineno;
    int failed;            /* an error is recorded: stop reading */
    int have_key;          /* a key was read in this section: indented lines continue it */
    int continuation;      /* the current line continues the previous key */
    section *sections;
    size_t section_count;
    section *current;
} config_parse;

static const key_spec *section_keys(enum section_kind kind)
{
    switch (kind) {
    case SEC_AGENT: return agent_keys;
    case SEC_SET: return set_keys;
    case SEC_TARGET: return target_keys;
    default: return retention_keys;
    }
}

/* config_fail(p, line, fmt, ...): record "PATH:LINE: message" once and stop the parse. */
static int config_fail(config_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int config_fail(config_parse *p, int line, const char *fmt, ...)
{
    char message[1536];
    va_list ap;
    if (p->failed)
        return OFS_ECONFIG;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    p->failed = 1;
    return ofs_error_set(OFS_ECONFIG, "%s:%d: %s", p->cfg->path, line, message);
}

/* config_normalize(base, path): path made absolute against base and normalized lexically:
 * no "//", "." or "..", no trailing '/' (except "/" itself). malloc'd; NULL on no memory. */
static char *config_normalize(const char *base, const char *path)
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

/* config_set_value(p, spec, object, value): check value for spec and store it in object.
 * Errors are recorded with the current line. */
static int config_set_value(config_parse *p, const key_spec *spec, char *object,
                            const char *value)
{
    char *field = object + spec->offset, error[1024], choices[128];
    const char *name = spec->name;
    int64_t number = 0;
    uint64_t size = 0;
    int flag;

    if (!*value && spec->type != KEY_PATHS && spec->type != KEY_PATTERNS)
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
    case KEY_URL:
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
            return config_fail(p, p->lineno, "%s: '%s' must start with http:// or https://",
                               name, value);
        break;
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
        if (config_parse_bool(value, &flag) < 0)
            return config_fail(p, p->lineno, "%s: '%s' is not true or false", name, value);
        *(int *)(void *)field = flag;
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

/* config_handler: inih's callback for each "key = value" and each continuation line. */
static int config_handler(void *user, const char *section_name, const char *key,
                          const char *value)
{
    config_parse *p = user;
    section *s = p->current;
    const key_spec *keys, *spec = NULL;
    size_t k = 0;
    char *object;

    (void)section_name; /* the reader tracks sections, with their line numbers */
    if (p->failed)
        return 0;
    if (!s)
        return config_fail(p, p->lineno, "key '%s' before any [section]", key), 0;
    keys = section_keys(s->kind);
    for (k = 0; keys[k].name; k++)
        if (strcmp(keys[k].name, key) == 0) {
            spec = &keys[k];
            break;
        }
    if (!spec)
        return config_fail(p, p->lineno, "unknown key '%s' in %s", key, s->label), 0;
    if (s->kind == SEC_RETENTION && s->named && strcmp(key, "auto") == 0)
        return config_fail(p, p->lineno, "auto belongs in [retention]: prune runs after a backup "
                           "for every store or for none"), 0;
    p->have_key = 1;

    int list = spec->type == KEY_PATHS || spec->type == KEY_PATTERNS;
    if (p->continuation && !list)
        return config_fail(p, p->lineno, "%s takes one value: an indented line continues the "
                           "key above it (start keys at the beginning of the line)", key), 0;
    if (p->continuation) {
        /* an indented "key = value" or "[section]" would silently become a list item */
        size_t n = strcspn(value, " \t=:");
        for (size_t j = 0; keys[j].name; j++)
            if (strlen(keys[j].name) == n && strncmp(keys[j].name, value, n) == 0 &&
                value[n + strspn(value + n, " \t")] != '\0' &&
                strchr("=:", value[n + strspn(value + n, " \t")]))
                return config_fail(p, p->lineno, "'%s' is indented, so it would be read as a "
                                   "value of %s: start keys at the beginning of the line",
                                   value, key), 0;
        if (value[0] == '[')
            return config_fail(p, p->lineno, "'%s' is indented, so it would be read as a value "
                               "of %s: start sections at the beginning of the line", value,
                               key), 0;
    } else if (s->key_lines[k] && !list) {
        return config_fail(p, p->lineno, "%s given twice in %s (first on line %d)", key,
                           s->label, s->key_lines[k]), 0;
    }
    if (!s->key_lines[k])
        s->key_lines[k] = p->lineno;

    switch (s->kind) {
    case SEC_AGENT: object = (char *)p->cfg; break;
    case SEC_SET: object = (char *)&p->cfg->sets[s->index]; break;
    case SEC_TARGET: object = (char *)&p->cfg->targets[s->index]; break;
    default:
        object = (char *)(s->named ? &p->cfg->retentions[s->index] : &p->cfg->retention);
        break;
    }
    return config_set_value(p, spec, object, value) == 0;
}

static int config_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CONFIG_NAME_MAX || !isalnum((unsigned char)name[0]))
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* config_begin_section(p, text): a "[...]" header (text between the brackets). Sets and
 * targets are created here, so an empty section still exists and errors name this line. */
static int config_begin_section(config_parse *p, char *text)
{
    char *kind = text + strspn(text, " \t"), *name;
    size_t n = strcspn(kind, " \t");
    section *grown, *s;
    enum section_kind sk;

    name = kind + n + strspn(kind + n, " \t");
    kind[n] = '\0';
    for (size_t end = strlen(name); end > 0 && isspace((unsigned char)name[end - 1]); end--)
        name[end - 1] = '\0';
    if (strcmp(kind, "agent") == 0)
        sk = SEC_AGENT;
    else if (strcmp(kind, "set") == 0)
        sk = SEC_SET;
    else if (strcmp(kind, "target") == 0)
        sk = SEC_TARGET;
    else if (strcmp(kind, "retention") == 0)
        sk = SEC_RETENTION;
    else
        return config_fail(p, p->lineno, "unknown section [%s%s%s] (agent, set NAME, target "
                           "NAME, retention or retention NAME)", kind, *name ? " " : "", name);
    if ((sk == SEC_SET || sk == SEC_TARGET) && !*name)
        return config_fail(p, p->lineno, "[%s] needs a name: [%s NAME]", kind, kind);
    if (sk == SEC_AGENT && *name)
        return config_fail(p, p->lineno, "[%s] takes no name (found '%s')", kind, name);
    if (*name && !config_name_ok(name))
        return config_fail(p, p->lineno, "bad %s name '%s' (up to %d letters, digits, '.', "
                           "'_' or '-', starting with a letter or digit)", kind, name,
                           CONFIG_NAME_MAX);

    char label[sizeof(s->label)];
    snprintf(label, sizeof(label), "[%s%s%s]", kind, *name ? " " : "", name);
    for (size_t i = 0; i < p->section_count; i++)
        if (strcmp(p->sections[i].label, label) == 0)
            return config_fail(p, p->lineno, "duplicate section %s (first on line %d)", label,
                               p->sections[i].line);

    if (!(grown = realloc(p->sections, (p->section_count + 1) * sizeof(*grown))))
        return config_fail(p, p->lineno, "out of memory");
    p->sections = grown;
    s = &grown[p->section_count++];
    memset(s, 0, sizeof(*s));
    s->kind = sk;
    s->line = p->lineno;
    memcpy(s->label, label, sizeof(label));
    p->current = s;
    p->have_key = 0;

    ofs_config *cfg = p->cfg;
    if (sk == SEC_SET) {
        ofs_config_set *sets = realloc(cfg->sets, (cfg->set_count + 1) * sizeof(*sets));
        if (!sets)
            return config_fail(p, p->lineno, "out of memory");
        cfg->sets = sets;
        s->index = cfg->set_count;
        ofs_config_set *set = &sets[cfg->set_count++];
        *set = (ofs_config_set){ .name = strdup(name), .line = p->lineno, .full_every = 7 * DAY,
                                 .volume_size = 128 * MB, .compression_level = 3,
                                 .warn_after = 26 * 3600, .critical_after = 50 * 3600 };
        if (!set->name)
            return config_fail(p, p->lineno, "out of memory");
    } else if (sk == SEC_TARGET) {
        ofs_config_target *targets = realloc(cfg->targets,
                                             (cfg->target_count + 1) * sizeof(*targets));
        if (!targets)
            return config_fail(p, p->lineno, "out of memory");
        cfg->targets = targets;
        s->index = cfg->target_count;
        ofs_config_target *target = &targets[cfg->target_count++];
        *target = (ofs_config_target){ .name = strdup(name), .line = p->lineno };
        if (!target->name)
            return config_fail(p, p->lineno, "out of memory");
    } else if (sk == SEC_RETENTION && *name) {
        ofs_config_retention *list = realloc(cfg->retentions,
                                             (cfg->retention_count + 1) * sizeof(*list));
        if (!list)
            return config_fail(p, p->lineno, "out of memory");
        cfg->retentions = list;
        s->named = 1;
        s->index = cfg->retention_count;
        ofs_config_retention *r = &list[cfg->retention_count++];
        /* keys not given are filled from [retention] by config_finish, wherever it is */
        *r = (ofs_config_retention){ .name = strdup(name), .line = p->lineno };
        if (!r->name)
            return config_fail(p, p->lineno, "out of memory");
    } else if (sk == SEC_RETENTION) {
        cfg->retention.line = p->lineno;
    }
    return 0;
}

/* config_see_line(p): look at a new physical line before inih does, to number sections and to
 * know whether it continues the previous key (inih's rule: indented, after a key). */
static void config_see_line(config_parse *p)
{
    char *s = p->line;
    if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    int indented = *s == ' ' || *s == '\t';
    s += strspn(s, " \t\r\n");
    p->continuation = 0;
    if (!*s || *s == ';' || *s == '#')
        return;
    if (indented && p->have_key) {
        p->continuation = 1;
        return;
    }
    char *close = strchr(s, ']');
    if (*s != '[' || !close)
        return; /* a key (inih calls the handler) or a syntax error (inih reports it) */
    char *after = close + 1 + strspn(close + 1, " \t\r\n");
    if (*after && *after != ';' && *after != '#') {
        config_fail(p, p->lineno, "unexpected text '%.*s' after %.*s", (int)strcspn(after, "\r\n"),
                    after, (int)(close + 1 - s), s);
        return;
    }
    char header[CONFIG_LINE_MAX];
    snprintf(header, sizeof(header), "%.*s", (int)(close - s - 1), s + 1);
    config_begin_section(p, header);
}

/* config_read: inih's fgets-style reader. It reads whole lines itself, so it counts them, sees
 * each one first, and refuses lines longer than CONFIG_LINE_MAX instead of cutting them. */
static char *config_read(char *str, int num, void *stream)
{
    config_parse *p = stream;
    if (p->failed || num <= 1)
        return NULL;
    if (p->served == p->line_len) {
        errno = 0;
        ssize_t n = getline(&p->line, &p->line_cap, p->file);
        if (n < 0) {
            if (ferror(p->file))
                config_fail(p, p->lineno + 1, "read error: %s", strerror(errno ? errno : EIO));
            return NULL;
        }
        p->line_len = (size_t)n;
        p->served = 0;
        p->lineno++;
        if (n > CONFIG_LINE_MAX)
            return config_fail(p, p->lineno, "line longer than %d characters", CONFIG_LINE_MAX),
                   NULL;
        if (strlen(p->line) != (size_t)n)
            return config_fail(p, p->lineno, "NUL byte in line"), NULL;
        config_see_line(p);
        if (p->failed)
            return NULL;
    }
    size_t chunk = p->line_len - p->served;
    if (chunk > (size_t)num - 1)
        chunk = (size_t)num - 1;
    memcpy(str, p->line + p->served, chunk);
    str[chunk] = '\0';
    p->served += chunk;
    return str;
}

/* config_syntax_error(p, line): inih refused a line; say what it expected. */
static int config_syntax_error(config_parse *p, int line)
{
    char text[80];
    const char *s = p->line ? p->line + strspn(p->line, " \t") : "";
    if (line != p->lineno)
        return config_fail(p, line, "syntax error");
    snprintf(text, sizeof(text), "%.*s", (int)strcspn(s, "\r\n"), s);
    if (*s == '[')
        return config_fail(p, line, "section header '%s' has no closing ']'", text);
    return config_fail(p, line, "'%s' is not 'key = value', '[section]' or a comment", text);
}

static int config_time_zone_ok(const char *zone)
{
    const char *dir = getenv("TZDIR");
    char path[PATH_MAX];
    struct stat st;
    if (strcmp(zone, "UTC") == 0 || strcmp(zone, "GMT") == 0)
        return 1;
    if (zone[0] == '/' || strstr(zone, ".."))
        return 0;
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int config_key_index(const key_spec *keys, const char *name)
{
    for (int k = 0; keys[k].name; k++)
        if (strcmp(keys[k].name, name) == 0)
            return k;
    return 0;
}

/* config_retention_inherit(p, s): a [retention NAME] takes every key it does not give from
 * [retention] (or its defaults), so an override names only what differs. */
static int config_retention_inherit(config_parse *p, const section *s)
{
    const ofs_config_retention *main = &p->cfg->retention;
    ofs_config_retention *r = &p->cfg->retentions[s->index];
    int *ints[] = { &r->daily, &r->weekly, &r->monthly, &r->keep_last };
    const int from[] = { main->daily, main->weekly, main->monthly, main->keep_last };
    const char *names[] = { "daily", "weekly", "monthly", "keep_last" };

    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        if (!s->key_lines[config_key_index(retention_keys, names[i])])
            *ints[i] = from[i];
    r->auto_prune = main->auto_prune;
    if (!r->lifecycle && !(r->lifecycle = strdup(main->lifecycle)))
        return config_fail(p, s->line, "out of memory");
    return 0;
}

/* config_finish(p): required keys, keys that do not fit a target's type, cross-key rules,
 * then the defaults that depend on other keys. */
static int config_finish(config_parse *p)
{
    ofs_config *cfg = p->cfg;
    section *agent = NULL;
    for (size_t i = 0; i < p->section_count; i++) {
        section *s = &p->sections[i];
        if (s->kind == SEC_AGENT)
            agent = s;
        if (s->kind == SEC_SET) {
            ofs_config_set *set = &cfg->sets[s->index];
            int warn = config_key_index(set_keys, "warn_after");
            int critical = config_key_index(set_keys, "critical_after");
            char w[32], c[32];
            if (set->path_count == 0)
                return config_fail(p, s->line, "%s: missing required key 'paths'", s->label);
            if (set->critical_after < set->warn_after) {
                ofs_format_duration(set->warn_after, w, sizeof(w));
                ofs_format_duration(set->critical_after, c, sizeof(c));
                return config_fail(p, s->key_lines[critical] ? s->key_lines[critical]
                                      : s->key_lines[warn] ? s->key_lines[warn] : s->line,
                                   "%s: critical_after (%s) is shorter than warn_after (%s)",
                                   s->label, c, w);
            }
        } else if (s->kind == SEC_RETENTION && s->named) {
            if (config_retention_inherit(p, s) < 0)
                return OFS_ECONFIG;
        } else if (s->kind == SEC_TARGET) {
            ofs_config_target *t = &cfg->targets[s->index];
            int retention = config_key_index(target_keys, "retention");
            if (t->retention && !ofs_config_find_retention(cfg, t->retention))
                return config_fail(p, s->key_lines[retention], "target '%s': retention '%s' "
                                   "names no [retention %s] section", t->name, t->retention,
                                   t->retention);
            static const char *const required[] = { "path", "bucket", "bucket", "url" };
            unsigned bit = 0;
            if (!t->type)
                return config_fail(p, s->line, "%s: missing required key 'type' (file, s3, gcs "
                                   "or rsync)", s->label);
            for (int k = 0; target_types[k]; k++)
                if (strcmp(t->type, target_types[k]) == 0)
                    bit = 1u << k;
            for (int k = 0; target_keys[k].name; k++)
                if (s->key_lines[k] && !(target_keys[k].types & bit))
                    return config_fail(p, s->key_lines[k], "target '%s': key '%s' does not "
                                       "apply to type '%s'", t->name, target_keys[k].name,
                                       t->type);
            for (int k = 0; target_types[k]; k++)
                if (bit == 1u << k &&
                    !s->key_lines[config_key_index(target_keys, required[k])])
                    return config_fail(p, s->line, "%s: missing required key '%s' for type "
                                       "'%s'", s->label, required[k], t->type);
            /* a transition needs both where to and when; one alone is a mistake, not a default */
            int days = s->key_lines[config_key_index(target_keys, "transition_days")];
            int cls = s->key_lines[config_key_index(target_keys, "transition_class")];
            if (!days != !cls)
                return config_fail(p, days ? days : cls, "target '%s': %s is given without %s "
                                   "(give both, or neither)", t->name,
                                   days ? "transition_days" : "transition_class",
                                   days ? "transition_class" : "transition_days");
        }
    }
    if (cfg->set_count == 0)
        return config_fail(p, p->lineno > 0 ? p->lineno : 1, "no [set NAME] section: nothing "
                           "to back up");
    if (cfg->time_zone && !config_time_zone_ok(cfg->time_zone))
        return config_fail(p, agent ? agent->key_lines[config_key_index(agent_keys, "time_zone")]
                              : 1, "time_zone: unknown time zone '%s' (an IANA name such as "
                           "'Europe/London', or 'UTC')", cfg->time_zone);

    if (!cfg->state_dir && !(cfg->state_dir = strdup("/var/lib/offsite")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->staging_dir && !(cfg->staging_dir = config_normalize(cfg->state_dir, "staging")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->key_file && !(cfg->key_file = config_normalize(cfg->state_dir, "offsite.key")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->time_zone && !(cfg->time_zone = strdup("UTC")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->host) {
        char host[256] = "";
        if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
            return ofs_error_from_errno(errno, "%s: no host in [agent] and gethostname failed",
                                        cfg->path);
        if (!(cfg->host = strdup(host)))
            return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    }
    if (cfg->parallel == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->parallel = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
    }
    /* drivers read only their target's bwlimit: [agent] bwlimit is every target's default */
    for (size_t i = 0; cfg->bwlimit && i < cfg->target_count; i++)
        if (!cfg->targets[i].bwlimit && !(cfg->targets[i].bwlimit = strdup(cfg->bwlimit)))
            return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    return 0;
}

/* config_ini_options(): Debian's libinih makes its build options variables. offsite wants no
 * inline comments (';' may be part of a path or command), a stop at the first error, and
 * lines up to CONFIG_LINE_MAX; config_read enforces that limit, so inih never cuts a line. */
static void config_ini_options(void)
{
    ini_allow_multiline = true;
    ini_allow_inline_comments = false;
    ini_stop_on_first_error = true;
    ini_allow_no_value = false;
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = CONFIG_LINE_MAX + 3;
}

/* config_dir_of(path): the absolute, normalized directory holding path. */
static char *config_dir_of(const char *path)
{
    char cwd[PATH_MAX], *full, *slash;
    if (path[0] != '/' && !getcwd(cwd, sizeof(cwd)))
        return NULL;
    if (!(full = config_normalize(path[0] == '/' ? "/" : cwd, path)))
        return NULL;
    slash = strrchr(full, '/');
    slash[slash == full ? 1 : 0] = '\0';
    return full;
}

int ofs_config_load(ofs_config **out, const char *path)
{
    config_parse p = { 0 };
    ofs_config *cfg = NULL;
    char *dir = NULL;
    struct stat st;
    int rc;

    *out = NULL;
    if (!path || !*path) {
        rc = ofs_error_set(OFS_ECONFIG, "no configuration file given");
        goto cleanup;
    }
    if (!(p.file = fopen(path, "r"))) {
        rc = ofs_error_from_errno(errno, "cannot read configuration '%s'", path);
        goto cleanup;
    }
    if (fstat(fileno(p.file), &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = ofs_error_from_errno(EISDIR, "cannot read configuration '%s'", path);
        goto cleanup;
    }
    if (!(cfg = calloc(1, sizeof(*cfg))) || !(cfg->path = strdup(path))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory reading '%s'", path);
        goto cleanup;
    }
    if (!(dir = config_dir_of(path))) {
        rc = ofs_error_from_errno(errno, "cannot resolve the directory of '%s'", path);
        goto cleanup;
    }
    cfg->retention = (ofs_config_retention){ .daily = 30, .weekly = 12, .monthly = 12,
                                             .keep_last = 1, .auto_prune = 0 };
    if (!(cfg->retention.lifecycle = strdup("sync"))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory reading '%s'", path);
        goto cleanup;
    }
    p.cfg = cfg;
    p.dir = dir;

    config_ini_options();
    rc = ini_parse_stream(config_read, &p, config_handler, &p);
    if (p.failed) {
        rc = OFS_ECONFIG;
    } else if (rc > 0) {
        rc = config_syntax_error(&p, rc);
    } else if (rc < 0) {
        rc = ofs_error_set(OFS_ERROR, "out of memory parsing '%s'", path);
    } else if ((rc = config_finish(&p)) == 0) {
        *out = cfg;
        cfg = NULL;
    }

cleanup:
    if (p.file)
        fclose(p.file);
    free(p.line);
    free(p.sections);
    free(dir);
    ofs_config_free(cfg);
    return rc;
}
