/* catalog.c - the file catalog as JSON lines: streaming writer and reader; see catalog.h. */
#include "offsite/catalog.h"
#include "offsite/error.h"
#include "offsite/text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CATALOG_HEADER "{\"format\":\"offsite-catalog\",\"version\":1}\n"
#define CATALOG_FLUSH_AT (256u * 1024u)
#define CATALOG_LINE_MAX (1u << 20)
#define CATALOG_READ_CHUNK (64u * 1024u)

/* ---- shared helpers ---- */

int ofs_path_compare(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (;; x++, y++) {
        /* NUL -> 0, '/' -> 1, every other byte b -> b + 1: '/' sorts below all but the end. */
        int cx = *x == 0 ? 0 : *x == '/' ? 1 : *x + 1;
        int cy = *y == 0 ? 0 : *y == '/' ? 1 : *y + 1;
        if (cx != cy)
            return cx - cy;
        if (cx == 0)
            return 0;
    }
}

const char *ofs_entry_type_name(ofs_entry_type type)
{
    switch (type) {
    case OFS_ENTRY_FILE: return "file";
    case OFS_ENTRY_DIR: return "dir";
    case OFS_ENTRY_SYMLINK: return "symlink";
    case OFS_ENTRY_HARDLINK: return "hardlink";
    case OFS_ENTRY_FIFO: return "fifo";
    }
    return "unknown";
}

static int catalog_type_parse(const char *name, ofs_entry_type *type)
{
    static const ofs_entry_type all[] = { OFS_ENTRY_FILE, OFS_ENTRY_DIR, OFS_ENTRY_SYMLINK,
                                          OFS_ENTRY_HARDLINK, OFS_ENTRY_FIFO };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(name, ofs_entry_type_name(all[i])) == 0) {
            *type = all[i];
            return 0;
        }
    }
    return -1;
}

void ofs_catalog_entry_clear(ofs_catalog_entry *e)
{
    if (!e)
        return;
    free(e->path);
    free(e->user);
    free(e->group);
    free(e->link_target);
    free(e->backup_id);
    free(e->base_backup);
    memset(e, 0, sizeof(*e));
}

static int catalog_strdup(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    if (!(*dst = strdup(src)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

int ofs_catalog_entry_copy(ofs_catalog_entry *dst, const ofs_catalog_entry *src)
{
    int rc;
    *dst = *src;
    dst->path = dst->user = dst->group = dst->link_target = dst->backup_id = NULL;
    dst->base_backup = NULL;
    if ((rc = catalog_strdup(&dst->path, src->path)) < 0 ||
        (rc = catalog_strdup(&dst->base_backup, src->base_backup)) < 0 ||
        (rc = catalog_strdup(&dst->user, src->user)) < 0 ||
        (rc = catalog_strdup(&dst->group, src->group)) < 0 ||
        (rc = catalog_strdup(&dst->link_target, src->link_target)) < 0 ||
        (rc = catalog_strdup(&dst->backup_id, src->backup_id)) < 0) {
        ofs_catalog_entry_clear(dst);
        return rc;
    }
    return 0;
}

int ofs_catalog_entry_copy_paths(ofs_catalog_entry *dst, const ofs_catalog_entry *src)
{
    *dst = *src;
    dst->path = strdup(src->path);
    dst->link_target = src->link_target ? strdup(src->link_target) : NULL;
    if (!dst->path || (src->link_target && !dst->link_target)) {
        ofs_catalog_entry_free_paths(dst);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

void ofs_catalog_entry_free_paths(ofs_catalog_entry *e)
{
    free(e->path);
    free(e->link_target);
    e->path = e->link_target = NULL;
}

int ofs_catalog_tar_name(const ofs_catalog_entry *e, char **name)
{
    size_t n = strlen(e->path), suffix = e->base_size > 0 ? strlen(OFS_TAIL_SUFFIX) : 0;
    if (!(*name = malloc(n + suffix + 1)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    memcpy(*name, e->path, n);
    memcpy(*name + n, OFS_TAIL_SUFFIX, suffix);
    (*name)[n + suffix] = '\0';
    return 0;
}

uint64_t ofs_catalog_stored_size(const ofs_catalog_entry *e)
{
    return e->base_size < e->size ? e->size - e->base_size : 0;
}

/* ---- writer ---- */

struct ofs_catalog_writer {
    ofs_writer *next;
    char *buf;
    size_t len, cap;
    char *previous; /* last path added, for the order check */
    int header_written;
};

static int catalog_reserve(ofs_catalog_writer *cw, size_t more)
{
    if (cw->len + more <= cw->cap)
        return 0;
    size_t cap = cw->cap ? cw->cap : 64 * 1024;
    while (cap < cw->len + more)
        cap *= 2;
    char *bigger = realloc(cw->buf, cap);
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    cw->buf = bigger;
    cw->cap = cap;
    return 0;
}

static int catalog_append(ofs_catalog_writer *cw, const char *data, size_t size)
{
    int rc = catalog_reserve(cw, size);
    if (rc < 0)
        return rc;
    memcpy(cw->buf + cw->len, data, size);
    cw->len += size;
    return 0;
}

static int catalog_appendf(ofs_catalog_writer *cw, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int catalog_appendf(ofs_catalog_writer *cw, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return ofs_error_set(OFS_ERROR, "catalog: number too long");
    return catalog_append(cw, tmp, (size_t)n);
}

/* A JSON string member; the value must be valid UTF-8 (checked by the caller). */
static int catalog_append_string(ofs_catalog_writer *cw, const char *member, const char *value)
{
    int rc;
    if ((rc = catalog_appendf(cw, ",\"%s\":\"", member)) < 0)
        return rc;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char esc[8];
        const char *out = NULL;
        switch (*p) {
        case '"': out = "\\\""; break;
        case '\\': out = "\\\\"; break;
        case '\n': out = "\\n"; break;
        case '\r': out = "\\r"; break;
        case '\t': out = "\\t"; break;
        case '\b': out = "\\b"; break;
        case '\f': out = "\\f"; break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04X", *p);
                out = esc;
            }
        }
        if (out)
            rc = catalog_append(cw, out, strlen(out));
        else
            rc = catalog_append(cw, (const char *)p, 1);
        if (rc < 0)
            return rc;
    }
    return catalog_append(cw, "\"", 1);
}

/* "member" if value is UTF-8, else "member_hex" with its bytes in hex. */
static int catalog_append_bytes(ofs_catalog_writer *cw, const char *member, const char *value)
{
    size_t n = strlen(value);
    if (ofs_text_utf8_valid(value, n))
        return catalog_append_string(cw, member, value);
    char name[32];
    snprintf(name, sizeof(name), "%s_hex", member);
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return ofs_error_set(OFS_ERROR, "out of memory");
    ofs_hex_encode((const uint8_t *)value, n, hex);
    int rc = catalog_append_string(cw, name, hex);
    free(hex);
    return rc;
}

static int catalog_flush(ofs_catalog_writer *cw)
{
    int rc = 0;
    if (cw->len > 0)
        rc = ofs_writer_write(cw->next, cw->buf, cw->len);
    cw->len = 0;
    return rc;
}

int ofs_catalog_writer_new(ofs_catalog_writer **out, ofs_writer *next)
{
    *out = NULL;
    ofs_catalog_writer *cw = calloc(1, sizeof(*cw));
    if (!cw) {
        ofs_writer_free(next);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    cw->next = next;
    *out = cw;
    return 0;
}

static int catalog_append_sha256(ofs_catalog_writer *cw, const char *member,
                                 const uint8_t digest[OFS_SHA256_BYTES])
{
    char hex[OFS_SHA256_HEX];
    ofs_hex_encode(digest, OFS_SHA256_BYTES, hex);
    return catalog_append_string(cw, member, hex);
}

/* The members of a file stored as a tail (format.md 5.3). */
static int catalog_write_tail(ofs_catalog_writer *cw, const ofs_catalog_entry *e)
{
    int rc;
    if (e->base_size >= e->size || !e->base_backup || e->base_volume == 0)
        return ofs_error_set(OFS_ERROR, "catalog entry '%s': incomplete tail location",
                             e->path);
    if ((rc = catalog_append_bytes(cw, "base_backup", e->base_backup)) < 0 ||
        (rc = catalog_appendf(cw, ",\"base_vol\":%" PRIu32 ",\"base_offset\":%" PRIu64
                              ",\"base_size\":%" PRIu64, e->base_volume, e->base_offset,
                              e->base_size)) < 0 ||
        (rc = catalog_append_sha256(cw, "base_sha256", e->base_sha256)) < 0)
        return rc;
    return catalog_append_sha256(cw, "tail_sha256", e->tail_sha256);
}

static int catalog_write_entry(ofs_catalog_writer *cw, const ofs_catalog_entry *e)
{
    int rc;
    /* "path" first keeps lines readable; the other members follow in a fixed order. */
    size_t start = cw->len;
    if ((rc = catalog_append_bytes(cw, "path", e->path)) < 0)
        return rc;
    cw->buf[start] = '{'; /* replace the leading ',' of the first member */
    if ((rc = catalog_append_string(cw, "type", ofs_entry_type_name(e->type))) < 0 ||
        (rc = catalog_appendf(cw, ",\"mode\":%" PRIu32 ",\"uid\":%" PRIu32 ",\"gid\":%" PRIu32,
                              e->mode, e->uid, e->gid)) < 0)
        return rc;
    if (e->user && ofs_text_utf8_valid(e->user, strlen(e->user)) &&
        (rc = catalog_append_string(cw, "user", e->user)) < 0)
        return rc;
    if (e->group && ofs_text_utf8_valid(e->group, strlen(e->group)) &&
        (rc = catalog_append_string(cw, "group", e->group)) < 0)
        return rc;
    if (e->type == OFS_ENTRY_FILE &&
        (rc = catalog_appendf(cw, ",\"size\":%" PRIu64, e->size)) < 0)
        return rc;
    if ((rc = catalog_appendf(cw, ",\"mtime\":[%" PRId64 ",%" PRId32 "]", e->mtime_sec,
                              e->mtime_nsec)) < 0 ||
        (rc = catalog_appendf(cw, ",\"ctime\":[%" PRId64 ",%" PRId32 "]", e->ctime_sec,
                              e->ctime_nsec)) < 0 ||
        (rc = catalog_appendf(cw, ",\"ino\":%" PRIu64 ",\"dev\":%" PRIu64, e->ino, e->dev)) < 0)
        return rc;
    if (e->link_target && (rc = catalog_append_bytes(cw, "target", e->link_target)) < 0)
        return rc;
    if (e->has_sha256 && (rc = catalog_append_sha256(cw, "sha256", e->sha256)) < 0)
        return rc;
    if (e->backup_id && (rc = catalog_append_bytes(cw, "backup", e->backup_id)) < 0)
        return rc;
    if (e->volume != 0 &&
        (rc = catalog_appendf(cw, ",\"vol\":%" PRIu32 ",\"offset\":%" PRIu64, e->volume,
                              e->offset)) < 0)
        return rc;
    if (e->changed && (rc = catalog_append(cw, ",\"changed\":true", 15)) < 0)
        return rc;
    if (e->type == OFS_ENTRY_FILE && e->base_size > 0 && (rc = catalog_write_tail(cw, e)) < 0)
        return rc;
    return catalog_append(cw, "}\n", 2);
}

int ofs_catalog_writer_add(ofs_catalog_writer *cw, const ofs_catalog_entry *e)
{
    int rc;
    if (!e->path || !e->path[0])
        return ofs_error_set(OFS_ERROR, "catalog entry with an empty path");
    if (cw->previous && ofs_path_compare(e->path, cw->previous) <= 0)
        return ofs_error_set(OFS_ERROR, "catalog entry '%s' does not sort after '%s'", e->path,
                             cw->previous);
    if (!cw->header_written) {
        if ((rc = catalog_append(cw, CATALOG_HEADER, strlen(CATALOG_HEADER))) < 0)
            return rc;
        cw->header_written = 1;
    }
    size_t mark = cw->len;
    if ((rc = catalog_write_entry(cw, e)) < 0) {
        cw->len = mark; /* never leave half a line behind */
        return rc;
    }
    char *copy = strdup(e->path);
    if (!copy)
        return ofs_error_set(OFS_ERROR, "out of memory");
    free(cw->previous);
    cw->previous = copy;
    if (cw->len >= CATALOG_FLUSH_AT)
        return catalog_flush(cw);
    return 0;
}

int ofs_catalog_writer_add_raw(ofs_catalog_writer *cw, const char *line, size_t len)
{
    int rc;
    if (!cw->header_written) {
        if ((rc = catalog_append(cw, CATALOG_HEADER, strlen(CATALOG_HEADER))) < 0)
            return rc;
        cw->header_written = 1;
    }
    if (len == 0 || line[0] != '{' || memchr(line, '\n', len))
        return ofs_error_set(OFS_ERROR, "catalog: not one JSON line");
    if ((rc = catalog_append(cw, line, len)) < 0 || (rc = catalog_append(cw, "\n", 1)) < 0)
        return rc;
    if (cw->len >= CATALOG_FLUSH_AT)
        return catalog_flush(cw);
    return 0;
}

int ofs_catalog_writer_finish(ofs_catalog_writer *cw)
{
    int rc;
    if (!cw->header_written) {
        if ((rc = catalog_append(cw, CATALOG_HEADER, strlen(CATALOG_HEADER))) < 0)
            return rc;
        cw->header_written = 1;
    }
    if ((rc = catalog_flush(cw)) < 0)
        return rc;
    return ofs_writer_finish(cw->next);
}

void ofs_catalog_writer_free(ofs_catalog_writer *cw)
{
    if (!cw)
        return;
    ofs_writer_free(cw->next);
    free(cw->buf);
    free(cw->previous);
    free(cw);
}

/* ---- reader ---- */

struct ofs_catalog_reader {
    ofs_reader *source;
    char *buf;          /* unparsed bytes: buf[start, end) */
    size_t start, end, cap;
    int eof;
    uint64_t line;      /* number of the last line returned */
    ofs_catalog_entry current;
    char *previous;     /* path of the previous entry */
};

int ofs_catalog_reader_new(ofs_catalog_reader **out, ofs_reader *source)
{
    *out = NULL;
    ofs_catalog_reader *cr = calloc(1, sizeof(*cr));
    if (!cr) {
        ofs_reader_free(source);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    cr->source = source;
    cr->cap = 2 * CATALOG_READ_CHUNK;
    if (!(cr->buf = malloc(cr->cap))) {
        ofs_catalog_reader_free(cr);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    *out = cr;
    return 0;
}

/* Points *line at the next line (without its '\n', NUL-terminated in place); *len 0 and
 * return 0 at the end of the stream. */
static int catalog_read_line(ofs_catalog_reader *cr, char **line, size_t *len)
{
    size_t scanned = cr->start;
    *line = NULL;
    *len = 0;
    for (;;) {
        char *nl = memchr(cr->buf + scanned, '\n', cr->end - scanned);
        if (nl) {
            *line = cr->buf + cr->start;
            *len = (size_t)(nl - *line);
            *nl = '\0';
            cr->start = (size_t)(nl - cr->buf) + 1;
            return 0;
        }
        scanned = cr->end;
        if (cr->eof) {
            if (cr->end > cr->start)
                return ofs_error_set(OFS_ECORRUPT, "catalog line %" PRIu64
                                     ": missing end of line", cr->line + 1);
            return 0;
        }
        if (cr->end - cr->start > CATALOG_LINE_MAX)
            return ofs_error_set(OFS_ECORRUPT, "catalog line %" PRIu64 ": longer than %u bytes",
                                 cr->line + 1, CATALOG_LINE_MAX);
        /* Make room: move the partial line to the front, then grow if still short. */
        if (cr->start > 0) {
            memmove(cr->buf, cr->buf + cr->start, cr->end - cr->start);
            cr->end -= cr->start;
            scanned -= cr->start;
            cr->start = 0;
        }
        if (cr->cap - cr->end < CATALOG_READ_CHUNK) {
            char *bigger = realloc(cr->buf, cr->cap * 2);
            if (!bigger)
                return ofs_error_set(OFS_ERROR, "out of memory");
            cr->buf = bigger;
            cr->cap *= 2;
        }
        size_t got = 0;
        int rc = ofs_reader_read(cr->source, cr->buf + cr->end, cr->cap - cr->end, &got);
        if (rc < 0)
            return rc;
        if (got == 0)
            cr->eof = 1;
        cr->end += got;
    }
}

static int catalog_bad(const ofs_catalog_reader *cr, const char *what)
{
    return ofs_error_set(OFS_ECORRUPT, "catalog line %" PRIu64 ": %s", cr->line, what);
}

static int catalog_get_uint(const ofs_catalog_reader *cr, json_t *obj, const char *member,
                            uint64_t max, uint64_t *value)
{
    json_t *v = json_object_get(obj, member);
    *value = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max) {
        char what[96];
        snprintf(what, sizeof(what), "bad \"%s\"", member);
        return catalog_bad(cr, what);
    }
    *value = (uint64_t)json_integer_value(v);
    return 0;
}

static int catalog_get_time(const ofs_catalog_reader *cr, json_t *obj, const char *member,
                            int64_t *sec, int32_t *nsec)
{
    json_t *v = json_object_get(obj, member);
    *sec = 0;
    *nsec = 0;
    if (!v)
        return 0;
    json_t *s = json_array_get(v, 0), *ns = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(s) ||
        !json_is_integer(ns) || json_integer_value(ns) < 0 ||
        json_integer_value(ns) > 999999999) {
        char what[96];
        snprintf(what, sizeof(what), "bad \"%s\"", member);
        return catalog_bad(cr, what);
    }
    *sec = json_integer_value(s);
    *nsec = (int32_t)json_integer_value(ns);
    return 0;
}

/* A string member or its _hex twin, copied into *out (NULL when both are absent). */
static int catalog_get_bytes(const ofs_catalog_reader *cr, json_t *obj, const char *member,
                             char **out)
{
    char hex_member[32];
    json_t *v = json_object_get(obj, member);
    *out = NULL;
    snprintf(hex_member, sizeof(hex_member), "%s_hex", member);
    if (v) {
        if (!json_is_string(v)) {
            char what[96];
            snprintf(what, sizeof(what), "bad \"%s\"", member);
            return catalog_bad(cr, what);
        }
        return catalog_strdup(out, json_string_value(v));
    }
    v = json_object_get(obj, hex_member);
    if (!v)
        return 0;
    const char *hex = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = hex ? strlen(hex) : 1;
    char *bytes = hex ? malloc(n / 2 + 1) : NULL;
    if (hex && !bytes)
        return ofs_error_set(OFS_ERROR, "out of memory");
    if (!hex || n % 2 != 0 || n == 0 || ofs_hex_decode(hex, (uint8_t *)bytes, n / 2) < 0 ||
        memchr(bytes, '\0', n / 2)) {
        free(bytes);
        char what[96];
        snprintf(what, sizeof(what), "bad \"%s\"", hex_member);
        return catalog_bad(cr, what);
    }
    bytes[n / 2] = '\0';
    *out = bytes;
    return 0;
}

static int catalog_get_sha256(const ofs_catalog_reader *cr, json_t *obj, const char *member,
                              uint8_t digest[OFS_SHA256_BYTES], int *present)
{
    json_t *v = json_object_get(obj, member);
    *present = v != NULL;
    if (!v)
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != 2 * OFS_SHA256_BYTES ||
        ofs_hex_decode(json_string_value(v), digest, OFS_SHA256_BYTES) < 0) {
        char what[96];
        snprintf(what, sizeof(what), "bad \"%s\"", member);
        return catalog_bad(cr, what);
    }
    return 0;
}

/* The tail members (format.md 5.3): all of them, on a file with a location, or none. */
static int catalog_parse_tail(ofs_catalog_reader *cr, json_t *obj, ofs_catalog_entry *e)
{
    int rc, has_base_sha = 0, has_tail_sha = 0;
    uint64_t value;
    if (!json_object_get(obj, "base_size"))
        return 0;
    if ((rc = catalog_get_uint(cr, obj, "base_size", UINT64_MAX, &e->base_size)) < 0 ||
        (rc = catalog_get_bytes(cr, obj, "base_backup", &e->base_backup)) < 0 ||
        (rc = catalog_get_uint(cr, obj, "base_vol", UINT32_MAX, &value)) < 0 ||
        (rc = catalog_get_uint(cr, obj, "base_offset", UINT64_MAX, &e->base_offset)) < 0 ||
        (rc = catalog_get_sha256(cr, obj, "base_sha256", e->base_sha256, &has_base_sha)) < 0 ||
        (rc = catalog_get_sha256(cr, obj, "tail_sha256", e->tail_sha256, &has_tail_sha)) < 0)
        return rc;
    e->base_volume = (uint32_t)value;
    if (e->type != OFS_ENTRY_FILE || e->base_size == 0 || e->base_size >= e->size ||
        !e->base_backup || e->base_volume == 0 || !has_base_sha || !has_tail_sha ||
        !e->has_sha256 || e->volume == 0)
        return catalog_bad(cr, "incomplete tail (base_size, base_backup, base_vol, "
                           "base_offset, base_sha256, tail_sha256, vol)");
    return 0;
}

static int catalog_parse_entry(ofs_catalog_reader *cr, json_t *obj, ofs_catalog_entry *e)
{
    int rc;
    uint64_t value;
    json_t *v;

    if (!json_is_object(obj))
        return catalog_bad(cr, "not a JSON object");
    if ((rc = catalog_get_bytes(cr, obj, "path", &e->path)) < 0)
        return rc;
    if (!e->path || !e->path[0])
        return catalog_bad(cr, "missing \"path\"");
    v = json_object_get(obj, "type");
    if (!json_is_string(v) || catalog_type_parse(json_string_value(v), &e->type) < 0)
        return catalog_bad(cr, "missing or unknown \"type\"");
    if ((rc = catalog_get_uint(cr, obj, "mode", 07777, &value)) < 0)
        return rc;
    e->mode = (uint32_t)value;
    if ((rc = catalog_get_uint(cr, obj, "uid", UINT32_MAX, &value)) < 0)
        return rc;
    e->uid = (uint32_t)value;
    if ((rc = catalog_get_uint(cr, obj, "gid", UINT32_MAX, &value)) < 0)
        return rc;
    e->gid = (uint32_t)value;
    if ((rc = catalog_get_bytes(cr, obj, "user", &e->user)) < 0 ||
        (rc = catalog_get_bytes(cr, obj, "group", &e->group)) < 0 ||
        (rc = catalog_get_uint(cr, obj, "size", UINT64_MAX, &e->size)) < 0 ||
        (rc = catalog_get_time(cr, obj, "mtime", &e->mtime_sec, &e->mtime_nsec)) < 0 ||
        (rc = catalog_get_time(cr, obj, "ctime", &e->ctime_sec, &e->ctime_nsec)) < 0 ||
        (rc = catalog_get_uint(cr, obj, "ino", UINT64_MAX, &e->ino)) < 0 ||
        (rc = catalog_get_uint(cr, obj, "dev", UINT64_MAX, &e->dev)) < 0 ||
        (rc = catalog_get_bytes(cr, obj, "target", &e->link_target)) < 0 ||
        (rc = catalog_get_bytes(cr, obj, "backup", &e->backup_id)) < 0)
        return rc;
    if ((e->type == OFS_ENTRY_SYMLINK || e->type == OFS_ENTRY_HARDLINK) && !e->link_target)
        return catalog_bad(cr, "missing \"target\"");
    if ((rc = catalog_get_sha256(cr, obj, "sha256", e->sha256, &e->has_sha256)) < 0)
        return rc;
    if ((rc = catalog_get_uint(cr, obj, "vol", UINT32_MAX, &value)) < 0 ||
        (rc = catalog_get_uint(cr, obj, "offset", UINT64_MAX, &e->offset)) < 0)
        return rc;
    e->volume = (uint32_t)value;
    v = json_object_get(obj, "changed");
    if (v) {
        if (!json_is_boolean(v))
            return catalog_bad(cr, "bad \"changed\"");
        e->changed = json_is_true(v);
    }
    return catalog_parse_tail(cr, obj, e);
}

/* The next line with the header checked first: *line NULL at the end. */
static int catalog_next_line(ofs_catalog_reader *cr, char **line, size_t *len)
{
    json_error_t jerr;
    int rc;
    for (;;) {
        if ((rc = catalog_read_line(cr, line, len)) < 0)
            return rc;
        if (!*line) {
            if (cr->line == 0)
                return ofs_error_set(OFS_ECORRUPT, "catalog line 1: missing header");
            return 0;
        }
        if (++cr->line > 1)
            return 0;
        json_t *obj = json_loadb(*line, *len, JSON_REJECT_DUPLICATES, &jerr);
        json_t *format = json_object_get(obj, "format"), *version = json_object_get(obj, "version");
        int ok = json_is_string(format) &&
                 strcmp(json_string_value(format), "offsite-catalog") == 0;
        int known = json_is_integer(version) && json_integer_value(version) == 1;
        json_decref(obj);
        if (!obj) {
            char what[200];
            snprintf(what, sizeof(what), "malformed JSON: %s", jerr.text);
            return catalog_bad(cr, what);
        }
        if (!ok)
            return catalog_bad(cr, "not an offsite catalog");
        if (!known)
            return catalog_bad(cr, "unsupported catalog version");
    }
}

int ofs_catalog_reader_next(ofs_catalog_reader *cr, const ofs_catalog_entry **e)
{
    char *line;
    size_t len;
    json_error_t jerr;
    int rc;

    *e = NULL;
    ofs_catalog_entry_clear(&cr->current);
    if ((rc = catalog_next_line(cr, &line, &len)) < 0)
        return rc;
    if (!line)
        return 0;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        char what[200];
        snprintf(what, sizeof(what), "malformed JSON: %s", jerr.text);
        return catalog_bad(cr, what);
    }
    rc = catalog_parse_entry(cr, obj, &cr->current);
    json_decref(obj);
    if (rc < 0) {
        ofs_catalog_entry_clear(&cr->current);
        return rc;
    }
    if (cr->previous && ofs_path_compare(cr->current.path, cr->previous) <= 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "catalog line %" PRIu64
                           ": path '%s' does not sort after '%s'", cr->line, cr->current.path,
                           cr->previous);
        ofs_catalog_entry_clear(&cr->current);
        return rc;
    }
    char *copy = strdup(cr->current.path);
    if (!copy)
        return ofs_error_set(OFS_ERROR, "out of memory");
    free(cr->previous);
    cr->previous = copy;
    *e = &cr->current;
    return 1;
}

int ofs_catalog_reader_next_raw(ofs_catalog_reader *cr, const char **line, size_t *len)
{
    char *text = NULL;
    int rc = catalog_next_line(cr, &text, len);
    *line = text;
    if (rc < 0)
        return rc;
    return text ? 1 : 0;
}

void ofs_catalog_reader_free(ofs_catalog_reader *cr)
{
    if (!cr)
        return;
    ofs_reader_free(cr->source);
    ofs_catalog_entry_clear(&cr->current);
    free(cr->previous);
    free(cr->buf);
    free(cr);
}
