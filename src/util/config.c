/* config.c - reading the INI configuration: inih splits lines, this file counts them, opens
 * sections and hands each key to config_value.c, then config_check.c checks the whole.
 * See include/offsite/config.h, config_internal.h and docs/configuration.md. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "offsite/error.h"

int config_fail(config_parse *p, int line, const char *fmt, ...)
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
    keys = config_section_keys(s->kind);
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

    int list = spec->type == KEY_PATHS || spec->type == KEY_PATTERNS ||
               spec->type == KEY_CALENDAR || spec->type == KEY_WORDS;
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
    case SEC_NOTIFY: object = (char *)&p->cfg->notify; break;
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
    else if (strcmp(kind, "notify") == 0)
        sk = SEC_NOTIFY;
    else
        return config_fail(p, p->lineno, "unknown section [%s%s%s] (agent, set NAME, target "
                           "NAME, retention, retention NAME or notify)", kind, *name ? " " : "",
                           name);
    if ((sk == SEC_SET || sk == SEC_TARGET) && !*name)
        return config_fail(p, p->lineno, "[%s] needs a name: [%s NAME]", kind, kind);
    if ((sk == SEC_AGENT || sk == SEC_NOTIFY) && *name)
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
        if (config_set_defaults(set, name, p->lineno) < 0)
            return config_fail(p, p->lineno, "out of memory");
    } else if (sk == SEC_TARGET) {
        ofs_config_target *targets = realloc(cfg->targets,
                                             (cfg->target_count + 1) * sizeof(*targets));
        if (!targets)
            return config_fail(p, p->lineno, "out of memory");
        cfg->targets = targets;
        s->index = cfg->target_count;
        ofs_config_target *target = &targets[cfg->target_count++];
        if (config_target_defaults(target, name, p->lineno) < 0)
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
    } else if (sk == SEC_NOTIFY) {
        cfg->notify.line = p->lineno;
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
