/* decode_spool.c - the decoder's catalog as packed entries in a spool, read back through
 * cursors; the directory stack of a depth-first walk. See decode.h and decode_internal.h. */
#include "decode_internal.h"
#include "offsite/error.h"

#include <stdlib.h>
#include <string.h>

/* A cursor reads this much around an entry when it walks in order: one read for many. */
#define DECODE_WINDOW (64 * 1024)

/*
 * An entry in the spool: decode_packed, decode_packed_tail when PACKED_TAIL, then the path
 * and the link target (when PACKED_LINK), each with its '\0', so a cursor's entry points into
 * its window. Native byte order: the spool lives and dies with the process.
 */
#define PACKED_SHA256 1u
#define PACKED_CHANGED 2u
#define PACKED_LINK 4u
#define PACKED_TAIL 8u

typedef struct decode_packed {
    uint64_t size, offset;
    int64_t mtime_sec;
    uint32_t mode, uid, gid, volume, path_len, link_len;
    int32_t mtime_nsec;
    uint8_t type, flags, backup, base; /* backup, base: indexes into ofs_decode.bases */
    uint8_t sha256[OFS_SHA256_BYTES];
} decode_packed;

typedef struct decode_packed_tail {
    uint64_t base_size, base_offset;
    uint32_t base_volume;
    uint8_t base_sha256[OFS_SHA256_BYTES];
    uint8_t tail_sha256[OFS_SHA256_BYTES];
} decode_packed_tail;

int decode_spool_add(ofs_decode *d, const ofs_catalog_entry *e)
{
    decode_packed p = { 0 };
    decode_packed_tail t = { 0 };
    int tail = e->base_size > 0;
    size_t path_len = strlen(e->path), link_len = e->link_target ? strlen(e->link_target) : 0;
    size_t need = sizeof(p) + (tail ? sizeof(t) : 0) + path_len + 1 +
                  (e->link_target ? link_len + 1 : 0);
    int backup = decode_intern_index(d, e->backup_id);
    int base = tail ? decode_intern_index(d, e->base_backup) : 0;
    uint8_t *at;
    int rc;

    if (backup < 0 || base < 0)
        return ofs_error_set(OFS_ERROR, "out of memory");
    if (path_len > UINT32_MAX || link_len > UINT32_MAX || backup > UINT8_MAX || base > UINT8_MAX)
        return ofs_error_set(OFS_ECORRUPT, "'%s' does not fit restore's catalog spool", e->path);
    if (need > d->pack_size) {
        uint8_t *bigger = realloc(d->pack, need);
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        d->pack = bigger;
        d->pack_size = need;
    }
    p.size = e->size;
    p.offset = e->offset;
    p.mtime_sec = e->mtime_sec;
    p.mtime_nsec = e->mtime_nsec;
    p.mode = e->mode;
    p.uid = e->uid;
    p.gid = e->gid;
    p.volume = e->volume;
    p.path_len = (uint32_t)path_len;
    p.link_len = (uint32_t)link_len;
    p.type = (uint8_t)e->type;
    p.flags = (e->has_sha256 ? PACKED_SHA256 : 0) | (e->changed ? PACKED_CHANGED : 0) |
              (e->link_target ? PACKED_LINK : 0) | (tail ? PACKED_TAIL : 0);
    p.backup = (uint8_t)backup;
    p.base = (uint8_t)base;
    memcpy(p.sha256, e->sha256, sizeof(p.sha256));
    memcpy(d->pack, &p, sizeof(p));
    at = d->pack + sizeof(p);
    if (tail) {
        t.base_size = e->base_size;
        t.base_offset = e->base_offset;
        t.base_volume = e->base_volume;
        memcpy(t.base_sha256, e->base_sha256, sizeof(t.base_sha256));
        memcpy(t.tail_sha256, e->tail_sha256, sizeof(t.tail_sha256));
        memcpy(at, &t, sizeof(t));
        at += sizeof(t);
    }
    memcpy(at, e->path, path_len + 1);
    at += path_len + 1;
    if (e->link_target)
        memcpy(at, e->link_target, link_len + 1);
    if ((rc = ofs_spool_append(d->spool, d->pack, need, &d->offsets[d->count])) < 0)
        return rc;
    d->offsets[d->count + 1] = ofs_spool_size(d->spool);
    return 0;
}

/* Entry i from the record at p of size bytes (the cursor's window). */
static int decode_unpack(ofs_decode_cursor *c, size_t i, const uint8_t *p, size_t size)
{
    const ofs_decode *d = c->d;
    ofs_catalog_entry *e = &c->e;
    decode_packed packed;
    decode_packed_tail t = { 0 };
    size_t at = sizeof(packed);
    if (size < sizeof(packed))
        goto damaged;
    memcpy(&packed, p, sizeof(packed));
    if (packed.flags & PACKED_TAIL) {
        if (size < at + sizeof(t))
            goto damaged;
        memcpy(&t, p + at, sizeof(t));
        at += sizeof(t);
    }
    if (size - at != (size_t)packed.path_len + 1 +
                      ((packed.flags & PACKED_LINK) ? (size_t)packed.link_len + 1 : 0) ||
        packed.backup >= d->base_count || packed.base >= d->base_count)
        goto damaged;
    memset(e, 0, sizeof(*e));
    e->path = (char *)p + at;
    e->link_target = (packed.flags & PACKED_LINK) ? (char *)p + at + packed.path_len + 1 : NULL;
    e->type = (ofs_entry_type)packed.type;
    e->mode = packed.mode;
    e->uid = packed.uid;
    e->gid = packed.gid;
    e->size = packed.size;
    e->mtime_sec = packed.mtime_sec;
    e->mtime_nsec = packed.mtime_nsec;
    e->has_sha256 = (packed.flags & PACKED_SHA256) != 0;
    e->changed = (packed.flags & PACKED_CHANGED) != 0;
    memcpy(e->sha256, packed.sha256, sizeof(e->sha256));
    e->backup_id = d->bases[packed.backup].id;
    e->volume = packed.volume;
    e->offset = packed.offset;
    if (packed.flags & PACKED_TAIL) {
        e->base_size = t.base_size;
        e->base_backup = d->bases[packed.base].id;
        e->base_volume = t.base_volume;
        e->base_offset = t.base_offset;
        memcpy(e->base_sha256, t.base_sha256, sizeof(e->base_sha256));
        memcpy(e->tail_sha256, t.tail_sha256, sizeof(e->tail_sha256));
    }
    return 0;
damaged: /* the spool is ours: only a bug or a damaged disk gets here */
    return ofs_error_set(OFS_ERROR, "catalog spool: entry %zu is damaged", i);
}

int ofs_decode_cursor_new(const ofs_decode *d, ofs_decode_cursor **out)
{
    ofs_decode_cursor *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return ofs_error_set(OFS_ERROR, "out of memory");
    c->d = d;
    c->last = SIZE_MAX;
    *out = c;
    return 0;
}

void ofs_decode_cursor_free(ofs_decode_cursor *c)
{
    if (!c)
        return;
    free(c->buf);
    free(c);
}

/* Reads spool bytes [from, to) into c's window. */
static int decode_cursor_load(ofs_decode_cursor *c, uint64_t from, uint64_t to)
{
    int rc;
    if (to - from > c->cap) {
        uint8_t *bigger = realloc(c->buf, (size_t)(to - from));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        c->buf = bigger;
        c->cap = (size_t)(to - from);
    }
    c->len = 0;
    if ((rc = ofs_spool_read(c->d->spool, from, c->buf, (size_t)(to - from))) < 0)
        return ofs_error_wrap(rc, "catalog");
    c->start = from;
    c->len = (size_t)(to - from);
    return 0;
}

int ofs_decode_entry(ofs_decode_cursor *c, size_t i, const ofs_catalog_entry **out)
{
    const ofs_decode *d = c->d;
    uint64_t at, end, from, to;
    int rc;
    *out = NULL;
    if (i >= d->count)
        return ofs_error_set(OFS_ERROR, "catalog entry %zu of %zu", i, d->count);
    at = d->offsets[i];
    end = d->offsets[i + 1];
    if (at < c->start || end > c->start + c->len) {
        from = at;
        to = end;
        /* walking forwards (or backwards, for directories' metadata): read ahead */
        if (c->last != SIZE_MAX && i == c->last + 1)
            to = at + DECODE_WINDOW < d->offsets[d->count] ? at + DECODE_WINDOW
                                                           : d->offsets[d->count];
        else if (c->last != SIZE_MAX && i + 1 == c->last)
            from = end > DECODE_WINDOW ? end - DECODE_WINDOW : 0;
        if (to < end)
            to = end;
        if (from > at)
            from = at;
        if ((rc = decode_cursor_load(c, from, to)) < 0)
            return rc;
    }
    if ((rc = decode_unpack(c, i, c->buf + (at - c->start), (size_t)(end - at))) < 0)
        return rc;
    c->last = i;
    *out = &c->e;
    return 0;
}

int ofs_decode_find(ofs_decode_cursor *c, const char *path, size_t *index)
{
    const uint64_t *offsets = c->d->offsets;
    size_t lo = 0, hi = c->d->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ofs_catalog_entry *e = NULL;
        int rc;
        /* the last steps stay within one window: one read for them all, not one each */
        if (offsets[hi] - offsets[lo] <= DECODE_WINDOW &&
            (offsets[lo] < c->start || offsets[hi] > c->start + c->len) &&
            (rc = decode_cursor_load(c, offsets[lo], offsets[hi])) < 0)
            return rc;
        if ((rc = ofs_decode_entry(c, mid, &e)) < 0)
            return rc;
        int cmp = ofs_path_compare(e->path, path);
        if (cmp == 0) {
            *index = mid;
            return 1;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

decode_staged *decode_staged_of(const ofs_decode *d, size_t index)
{
    size_t lo = 0, hi = d->tail_count;
    if (!d->staged)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->tail_index[mid] == index)
            return &d->staged[mid];
        if (d->tail_index[mid] < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- the directory stack ---- */

void decode_stack_enter(decode_stack *s, const char *path)
{
    while (s->depth > 0) {
        size_t n = s->len[s->depth - 1];
        if (strncmp(path, s->path, n) == 0 && path[n] == '/')
            break;
        s->depth--;
    }
}

int decode_stack_push(decode_stack *s, const char *path, size_t index, ofs_entry_type type)
{
    size_t n = strlen(path);
    if (n + 1 > s->path_cap) {
        size_t cap = s->path_cap ? s->path_cap : 256;
        while (cap < n + 1)
            cap *= 2;
        char *bigger = realloc(s->path, cap);
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        s->path = bigger;
        s->path_cap = cap;
    }
    if (s->depth == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        size_t *len = realloc(s->len, cap * sizeof(*len));
        if (len)
            s->len = len;
        size_t *at = len ? realloc(s->index, cap * sizeof(*at)) : NULL;
        if (at)
            s->index = at;
        uint8_t *type = at ? realloc(s->type, cap) : NULL;
        if (!type)
            return ofs_error_set(OFS_ERROR, "out of memory");
        s->type = type;
        s->cap = cap;
    }
    memcpy(s->path, path, n + 1);
    s->len[s->depth] = n;
    s->index[s->depth] = index;
    s->type[s->depth] = (uint8_t)type;
    s->depth++;
    return 0;
}

void decode_stack_free(decode_stack *s)
{
    free(s->path);
    free(s->len);
    free(s->index);
    free(s->type);
    memset(s, 0, sizeof(*s));
}
