/* config_internal.h - what the parts of the configuration reader share (private to src/util):
 *   config.c        reads the file: lines, sections, keys (inih), and ofs_config_load
 *   config_keys.c   the key tables of each section, and each section's defaults
 *   config_value.c  checks one value against its key's type and stores it
 *   config_check.c  what needs the whole file: required keys, cross-key rules, derived defaults
 * A new key is a line in a table in config_keys.c (plus its field in include/offsite/config.h
 * and, for a string, its free in config_lookup.c); a rule over several keys goes in
 * config_check.c. */
#ifndef OFFSITE_CONFIG_INTERNAL_H
#define OFFSITE_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "offsite/config.h"

#define CONFIG_LINE_MAX 4096  /* characters in one line, newline included */
#define CONFIG_NAME_MAX 64    /* characters in a set or target name */

enum key_type {
    KEY_STRING,   /* char *, as written: printable UTF-8 (it reaches records, headers, logs) */
    KEY_COMMAND,  /* char *, as written: a shell command, any bytes */
    KEY_PATH,     /* char *, resolved against the config file's directory */
    KEY_PATHS,    /* char ** + size_t count: one path a line, resolved */
    KEY_PATTERNS, /* char ** + size_t count: one pattern a line, as written */
    KEY_URL,      /* char *, http:// or https://, host and port only */
    KEY_PREFIX,   /* char *, leading and trailing '/' removed; printable UTF-8, no empty, '.'
                     or '..' component */
    KEY_CHOICE,   /* char *, one of choices */
    KEY_SIZE,     /* uint64_t, within min..max */
    KEY_DURATION, /* int64_t seconds, within min..max */
    KEY_INT,      /* int, within min..max */
    KEY_BOOL,     /* int, 0 or 1 */
    KEY_NOT_BOOL, /* int, 1 when the value is false (`delete = no` sets write_only) */
    KEY_CLASS,    /* char[max]: a storage class name, capitals, digits and '_' */
    KEY_BWLIMIT,  /* char *, as written, checked by ofs_bwlimit_parse (the drivers' parser) */
    KEY_CALENDAR, /* char ** + size_t count: one systemd calendar line each (schedule.h) */
    KEY_AGE,      /* int64_t seconds within min..max, or "N runs": int at count_offset */
    KEY_WORDS     /* char ** + size_t count: words from choices, separated by spaces/commas */
};

/* Target types, as bits: which types a target key applies to. */
enum { T_FILE = 1, T_S3 = 2, T_GCS = 4, T_RSYNC = 8, T_ALL = 15 };
extern const char *const config_target_types[]; /* in the order of the T_ bits, NULL-ended */

typedef struct key_spec {
    const char *name;
    enum key_type type;
    size_t offset;               /* of the field in its section's struct */
    size_t count_offset;         /* KEY_PATHS, KEY_PATTERNS, KEY_CALENDAR, KEY_WORDS: of the
                                    size_t count; KEY_AGE: of the int run count */
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

#define KEYS_MAX 40 /* more keys than any table in config_keys.c has (asserted there) */

enum section_kind { SEC_AGENT, SEC_SET, SEC_TARGET, SEC_RETENTION, SEC_NOTIFY };

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

/* config_keys.c: the key table of a section kind, ended by a NULL name. */
extern const key_spec config_agent_keys[], config_set_keys[], config_target_keys[],
    config_retention_keys[], config_notify_keys[];
const key_spec *config_section_keys(enum section_kind kind);

/* config_key_index(keys, name): index of name in keys (0 if absent: callers pass known names). */
int config_key_index(const key_spec *keys, const char *name);

/* config_set_defaults(set, name, line) / config_target_defaults: a new section's struct with
 * every default a key may override; the name is strdup'd (-1 on no memory). */
int config_set_defaults(ofs_config_set *set, const char *name, int line);
int config_target_defaults(ofs_config_target *target, const char *name, int line);

/* config_fail(p, line, fmt, ...) (config.c): record "PATH:LINE: message" once, stop the parse,
 * return OFS_ECONFIG. */
int config_fail(config_parse *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* config_set_value(p, spec, object, value) (config_value.c): check value for spec and store it
 * in object (the section's struct); errors name the current line. */
int config_set_value(config_parse *p, const key_spec *spec, char *object, const char *value);

/* config_normalize(base, path) (config_value.c): path made absolute against base and
 * normalized lexically: no "//", "." or "..", no trailing '/' (except "/" itself). malloc'd;
 * NULL on no memory. */
char *config_normalize(const char *base, const char *path);

/* config_finish(p) (config_check.c): after the last line: required keys, keys that do not fit a
 * target's type, cross-key rules, then the defaults that depend on other keys. */
int config_finish(config_parse *p);

#endif
