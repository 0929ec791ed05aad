/* decode.c - the decoder of a backup, first half: the catalog, its checks, the selection and
 * the plan of the volumes to read; see decode.h (the volumes are decode_run.c). */
#include "decode_internal.h"
#include "offsite/error.h"
#include "offsite/repo.h"
#include "offsite/restore.h"
#include "offsite/scan.h"

#include <stdlib.h>
#include <string.h>

/* ---- catalog ---- */

int decode_intern_index(ofs_decode *d, const char *id)
{
    if (!id)
        return 0;
    for (size_t i = 0; i < d->base_count; i++)
        if (d->bases[i].id == id || strcmp(d->bases[i].id, id) == 0)
            return (int)i;
    decode_base *bigger = realloc(d->bases, (d->base_count + 1) * sizeof(*bigger));
    if (!bigger)
        return -1;
    d->bases = bigger;
    if (!(d->bases[d->base_count].id = strdup(id)))
        return -1;
    d->bases[d->base_count].rec = NULL;
    return (int)d->base_count++;
}

const char *decode_intern_id(ofs_decode *d, const char *id)
{
    int i = decode_intern_index(d, id);
    return i < 0 ? NULL : d->bases[i].id;
}

/* A catalog points at this backup and, for a differential, its base: never a third. */
static int decode_check_ids(const ofs_decode *d, const ofs_catalog_entry *e)
{
    const char *ids[2] = { e->backup_id, e->base_backup };
    for (int i = 0; i < 2; i++) {
        const char *id = ids[i];
        if (!id || id == d->bases[0].id || (d->rec->base && strcmp(id, d->rec->base) == 0))
            continue;
        return ofs_error_set(OFS_ECORRUPT, "'%s' points at backup '%s', which is neither '%s' "
                             "nor its base", e->path, id, d->rec->id);
    }
    return 0;
}

/* Grows offsets (one more than entries: the end) and flags for entry d->count. */
static int decode_grow(ofs_decode *d)
{
    size_t capacity = d->capacity ? d->capacity * 2 : 1024;
    uint64_t *offsets;
    uint8_t *flags;
    if (d->count < d->capacity)
        return 0;
    if (d->count >= DECODE_MAX_ENTRIES)
        return ofs_error_set(OFS_ECORRUPT, "more than %u entries: restore reads at most that "
                             "many", DECODE_MAX_ENTRIES);
    if (!(offsets = realloc(d->offsets, (capacity + 1) * sizeof(*offsets))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    d->offsets = offsets;
    if (!(flags = realloc(d->flags, capacity)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    d->flags = flags;
    d->capacity = capacity;
    return 0;
}

/* Reads the catalog into the spool; each entry's ids and path are checked on the way (the
 * rest of the reader's rules need the base's record: decode_check.c). */
static int decode_load_catalog(ofs_decode *d)
{
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e = NULL;
    int rc;

    if (!(d->bases = calloc(1, sizeof(*d->bases))) || !(d->bases[0].id = strdup(d->rec->id)) ||
        !(d->offsets = calloc(1, sizeof(*d->offsets))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    d->base_count = 1;
    size_t memory = d->opts.spool_memory ? d->opts.spool_memory : DECODE_SPOOL_MEMORY;
    if ((rc = ofs_spool_new(&d->spool, d->opts.spool_dir, memory)) < 0 ||
        (rc = ofs_repo_open_catalog(d->store, d->ring, d->rec, &cr)) < 0)
        return rc;
    while ((rc = ofs_catalog_reader_next(cr, &e)) == 1) {
        ofs_catalog_entry ids = *e;
        ids.backup_id = (char *)decode_intern_id(d, e->backup_id);
        ids.base_backup = e->base_size > 0 ? (char *)decode_intern_id(d, e->base_backup) : NULL;
        if (!ids.backup_id || (e->base_size > 0 && !ids.base_backup)) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            break;
        }
        if ((rc = decode_check_ids(d, &ids)) < 0)
            break;
        /* every path is checked before anything is planned: a catalog is authenticated, but
         * a bug that wrote a bad one must not reach the file system */
        if (!ofs_path_is_safe(e->path)) {
            rc = ofs_error_set(OFS_ECORRUPT, "unsafe path '%s'", e->path);
            break;
        }
        if ((rc = decode_grow(d)) < 0 || (rc = decode_spool_add(d, &ids)) < 0)
            break;
        d->flags[d->count++] = (uint8_t)(e->type << DECODE_TYPE_SHIFT);
    }
    ofs_catalog_reader_free(cr);
    free(d->pack);
    d->pack = NULL;
    d->pack_size = 0;
    if (rc == 0)
        rc = ofs_spool_finish(d->spool);
    if (rc == OFS_ENOSPC) {
        char *message = ofs_error_save();
        rc = ofs_error_set(rc, "%s\nHINT: restore and verify --read-data keep a catalog past "
                           "8 MiB there (STATE_DIR/cache; 88 bytes a file and its path): free "
                           "space there, or set state_dir to a larger disk",
                           message ? message : "");
        free(message);
    }
    if (rc < 0)
        return ofs_error_wrap(rc, "catalog");
    return 0;
}

/* ---- selection ---- */

static int decode_match(char *const *patterns, size_t count, const char *path)
{
    if (count == 0)
        return 1;
    size_t len = strlen(path);
    char *prefix = malloc(len + 1);
    int matched = 0;
    if (!prefix)
        return -1;
    for (size_t i = 0; i < count && !matched; i++) {
        const char *p = patterns[i];
        while (*p == '/')
            p++;
        size_t plen = strlen(p);
        while (plen > 0 && p[plen - 1] == '/')
            plen--;
        if (plen == 0) {
            matched = 1;
            break;
        }
        char *pattern = strndup(p, plen);
        if (!pattern) {
            free(prefix);
            return -1;
        }
        /* the path itself, or one of its ancestors (a pattern naming a directory) */
        for (size_t end = 0; end <= len && !matched; end++) {
            if (end < len && path[end] != '/')
                continue;
            memcpy(prefix, path, end);
            prefix[end] = '\0';
            const char *slash = strrchr(prefix, '/');
            matched = end > 0 && ofs_scan_match(pattern, prefix, slash ? slash + 1 : prefix);
        }
        free(pattern);
    }
    free(prefix);
    return matched;
}

/*
 * Marks the entries to decode: the patterns' matches, the first path of each selected hard
 * link (decoded from its own volume so the link has something to point at), and the
 * directories above every selected entry (so they get their recorded metadata).
 */
static int decode_select(ofs_decode *d)
{
    const ofs_decode_options *o = &d->opts;
    ofs_decode_cursor *c = NULL, *find = NULL;
    const ofs_catalog_entry *e = NULL;
    decode_stack stack = { 0 };
    int rc;

    if ((rc = ofs_decode_cursor_new(d, &c)) < 0 || (rc = ofs_decode_cursor_new(d, &find)) < 0)
        goto cleanup;
    /* hard links point at earlier files (decode_check.c): their first path is marked before
     * the walk below gives it its directories */
    for (size_t i = 0; i < d->count; i++) {
        if ((rc = ofs_decode_entry(c, i, &e)) < 0)
            goto cleanup;
        int m = decode_match(o->patterns, o->patterns ? o->pattern_count : 0, e->path);
        if (m < 0) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        if (m)
            d->flags[i] |= DECODE_MATCHED | DECODE_SELECTED;
        if (!m || e->type != OFS_ENTRY_HARDLINK)
            continue;
        size_t first = 0;
        int found = e->link_target ? ofs_decode_find(find, e->link_target, &first) : 0;
        if (found < 0) {
            rc = found;
            goto cleanup;
        }
        if (!found || DECODE_TYPE(d->flags[first]) != OFS_ENTRY_FILE) {
            rc = ofs_error_set(OFS_ECORRUPT, "catalog: hard link '%s' points at '%s', which "
                               "is not a file of the backup", e->path,
                               e->link_target ? e->link_target : "");
            goto cleanup;
        }
        d->flags[first] |= DECODE_SELECTED;
    }
    /* catalog order is a depth-first walk: the open directories form a stack */
    for (size_t i = 0; i < d->count; i++) {
        if ((rc = ofs_decode_entry(c, i, &e)) < 0)
            goto cleanup;
        decode_stack_enter(&stack, e->path);
        if (d->flags[i] & DECODE_SELECTED)
            for (size_t k = 0; k < stack.depth; k++)
                d->flags[stack.index[k]] |= DECODE_SELECTED;
        if (e->type == OFS_ENTRY_DIR && (rc = decode_stack_push(&stack, e->path, i, e->type)) < 0)
            goto cleanup;
    }
cleanup:
    decode_stack_free(&stack);
    ofs_decode_cursor_free(find);
    ofs_decode_cursor_free(c);
    return rc;
}

/* ---- the plan ---- */

/* The volume (backup_id, number), added if new; *last caches the previous answer. */
static int decode_volume_get(ofs_decode *d, const char *backup_id, uint32_t number,
                             size_t *last, decode_volume **out)
{
    if (*last < d->volume_count && d->volumes[*last].number == number &&
        d->volumes[*last].backup_id == backup_id) {
        *out = &d->volumes[*last];
        return 0;
    }
    for (size_t v = 0; v < d->volume_count; v++) {
        if (d->volumes[v].number == number && d->volumes[v].backup_id == backup_id) {
            *last = v;
            *out = &d->volumes[v];
            return 0;
        }
    }
    decode_volume *bigger = realloc(d->volumes, (d->volume_count + 1) * sizeof(*bigger));
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    d->volumes = bigger;
    *last = d->volume_count++;
    *out = &d->volumes[*last];
    memset(*out, 0, sizeof(**out));
    (*out)->backup_id = backup_id;
    (*out)->number = number;
    return 0;
}

static int decode_volume_add(decode_volume *v, uint32_t ref, int wanted)
{
    if (v->count == v->capacity) {
        size_t capacity = v->capacity ? v->capacity * 2 : 256;
        uint32_t *bigger = realloc(v->refs, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        v->refs = bigger;
        v->capacity = capacity;
    }
    v->refs[v->count++] = ref;
    v->wanted |= wanted;
    return 0;
}

static int decode_tail_add(ofs_decode *d, size_t index, size_t *capacity)
{
    if (d->tail_count == *capacity) {
        *capacity = *capacity ? *capacity * 2 : 64;
        uint32_t *bigger = realloc(d->tail_index, *capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        d->tail_index = bigger;
    }
    d->tail_index[d->tail_count++] = (uint32_t)index;
    return 0;
}

/*
 * Groups entries by the volume holding them (a tail's prefix also by the base's volume that
 * holds it); volumes without a selected entry are not read. The tails get their slots for
 * the prefixes staged between the base's volumes and the differential's.
 */
static int decode_plan(ofs_decode *d)
{
    ofs_decode_cursor *c = NULL;
    const ofs_catalog_entry *e = NULL;
    size_t own = 0, base = 0, tail_capacity = 0;
    decode_volume *v = NULL;
    int rc;
    if ((rc = ofs_decode_cursor_new(d, &c)) < 0)
        return rc;
    for (size_t i = 0; i < d->count; i++) {
        if ((rc = ofs_decode_entry(c, i, &e)) < 0)
            goto cleanup;
        int wanted = (d->flags[i] & DECODE_SELECTED) && e->type != OFS_ENTRY_HARDLINK;
        if (wanted && e->type == OFS_ENTRY_FILE)
            d->selected_bytes += e->size;
        if (e->volume == 0)
            continue;
        if ((rc = decode_volume_get(d, e->backup_id, e->volume, &own, &v)) < 0 ||
            (rc = decode_volume_add(v, (uint32_t)i, wanted)) < 0)
            goto cleanup;
        if (e->type != OFS_ENTRY_FILE || e->base_size == 0)
            continue;
        if ((rc = decode_volume_get(d, e->base_backup, e->base_volume, &base, &v)) < 0 ||
            (rc = decode_volume_add(v, (uint32_t)i | DECODE_PREFIX, wanted)) < 0 ||
            (rc = decode_tail_add(d, i, &tail_capacity)) < 0)
            goto cleanup;
        d->tails |= wanted;
    }
    if (d->tails && !(d->staged = calloc(d->tail_count, sizeof(*d->staged))))
        rc = ofs_error_set(OFS_ERROR, "out of memory");
cleanup:
    ofs_decode_cursor_free(c);
    return rc;
}

int decode_volume_record(ofs_decode *d, const char *backup_id, const ofs_record **out)
{
    if (backup_id == d->bases[0].id) {
        *out = d->rec;
        return 0;
    }
    for (size_t i = 1; i < d->base_count; i++) {
        if (d->bases[i].id != backup_id)
            continue;
        if (!d->bases[i].rec) {
            int rc = ofs_repo_load_record(d->store, d->ring, backup_id, &d->bases[i].rec, NULL,
                                          NULL);
            if (rc == OFS_ENOTFOUND)
                return ofs_error_set(rc, "backup '%s' is a differential of '%s', which is not "
                                     "in store '%s' (deleted or not pushed?)", d->rec->id,
                                     backup_id, ofs_store_name(d->store));
            if (rc < 0)
                return ofs_error_wrap(rc, "base backup '%s' of '%s'", backup_id, d->rec->id);
        }
        *out = d->bases[i].rec;
        return 0;
    }
    return ofs_error_set(OFS_ERROR, "backup '%s' was not planned", backup_id);
}

/* Loads the record of every base whose volumes will be read, before anything is written: a
 * differential whose base is gone fails at once, naming it. */
static int decode_load_bases(ofs_decode *d)
{
    for (size_t i = 0; i < d->volume_count; i++) {
        const ofs_record *rec = NULL;
        int rc;
        if (d->volumes[i].wanted &&
            (rc = decode_volume_record(d, d->volumes[i].backup_id, &rec)) < 0)
            return rc;
    }
    return 0;
}

/* ---- the decoder ---- */

int ofs_decode_open(ofs_decode **out, ofs_store *store, const ofs_keyring *ring,
                    const ofs_record *rec, const ofs_decode_options *opts)
{
    ofs_decode *d = calloc(1, sizeof(*d));
    int rc;

    *out = NULL;
    if (!d)
        return ofs_error_set(OFS_ERROR, "out of memory");
    d->store = store;
    d->ring = ring;
    d->rec = rec;
    if (opts)
        d->opts = *opts;
    atomic_init(&d->next_volume, 0);
    atomic_init(&d->stop, 0);
    pthread_mutex_init(&d->lock, NULL);
    if ((rc = decode_load_catalog(d)) < 0 || (rc = decode_check_base(d)) < 0 ||
        (rc = decode_check_catalog(d)) < 0 || (rc = decode_select(d)) < 0 ||
        (rc = decode_plan(d)) < 0 || (rc = decode_load_bases(d)) < 0) {
        ofs_decode_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

size_t ofs_decode_count(const ofs_decode *d)
{
    return d->count;
}

ofs_entry_type ofs_decode_type(const ofs_decode *d, size_t i)
{
    return i < d->count ? DECODE_TYPE(d->flags[i]) : OFS_ENTRY_FILE;
}

int ofs_decode_selected(const ofs_decode *d, size_t i)
{
    return i < d->count && (d->flags[i] & DECODE_SELECTED);
}

int ofs_decode_matched(const ofs_decode *d, size_t i)
{
    return i < d->count && (d->flags[i] & DECODE_MATCHED);
}

uint64_t ofs_decode_selected_bytes(const ofs_decode *d)
{
    return d->selected_bytes;
}

void ofs_decode_free(ofs_decode *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->staged && i < d->tail_count; i++)
        ofs_sha256_free(d->staged[i].sha);
    free(d->staged);
    free(d->tail_index);
    ofs_spool_free(d->spool);
    free(d->offsets);
    free(d->flags);
    free(d->pack);
    for (size_t i = 0; i < d->base_count; i++) {
        free(d->bases[i].id);
        ofs_record_free(d->bases[i].rec);
    }
    free(d->bases);
    for (size_t i = 0; i < d->volume_count; i++)
        free(d->volumes[i].refs);
    free(d->volumes);
    free(d->error_message);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
