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

const char *decode_intern_id(ofs_decode *d, const char *id)
{
    if (!id)
        return d->bases[0].id;
    for (size_t i = 0; i < d->base_count; i++)
        if (strcmp(d->bases[i].id, id) == 0)
            return d->bases[i].id;
    decode_base *bigger = realloc(d->bases, (d->base_count + 1) * sizeof(*bigger));
    if (!bigger)
        return NULL;
    d->bases = bigger;
    if (!(d->bases[d->base_count].id = strdup(id)))
        return NULL;
    d->bases[d->base_count].rec = NULL;
    return d->bases[d->base_count++].id;
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

static int decode_load_catalog(ofs_decode *d)
{
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e = NULL;
    int rc;

    if (!(d->bases = calloc(1, sizeof(*d->bases))) || !(d->bases[0].id = strdup(d->rec->id)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    d->base_count = 1;
    if ((rc = ofs_repo_open_catalog(d->store, d->ring, d->rec, &cr)) < 0)
        return rc;
    while ((rc = ofs_catalog_reader_next(cr, &e)) == 1) {
        if (d->count == d->capacity) {
            size_t capacity = d->capacity ? d->capacity * 2 : 1024;
            ofs_catalog_entry *bigger = realloc(d->entries, capacity * sizeof(*bigger));
            if (!bigger) {
                rc = ofs_error_set(OFS_ERROR, "out of memory");
                break;
            }
            d->entries = bigger;
            d->capacity = capacity;
        }
        ofs_catalog_entry *copy = &d->entries[d->count];
        if ((rc = ofs_catalog_entry_copy_paths(copy, e)) < 0)
            break;
        copy->user = copy->group = NULL;
        copy->backup_id = (char *)decode_intern_id(d, e->backup_id);
        copy->base_backup = e->base_size > 0 ? (char *)decode_intern_id(d, e->base_backup)
                                              : NULL;
        d->count++;
        if (!copy->backup_id || (e->base_size > 0 && !copy->base_backup)) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            break;
        }
        if ((rc = decode_check_ids(d, copy)) < 0)
            break;
        /* every path is checked before anything is planned: a catalog is authenticated, but
         * a bug that wrote a bad one must not reach the file system */
        if (!ofs_path_is_safe(copy->path)) {
            rc = ofs_error_set(OFS_ECORRUPT, "unsafe path '%s'", copy->path);
            break;
        }
    }
    ofs_catalog_reader_free(cr);
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
    size_t *stack = NULL, depth = 0;

    if (!(d->selected = calloc(d->count ? d->count : 1, 1)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < d->count; i++) {
        int m = decode_match(o->patterns, o->patterns ? o->pattern_count : 0, d->entries[i].path);
        if (m < 0)
            return ofs_error_set(OFS_ERROR, "out of memory");
        d->selected[i] = m ? DECODE_MATCHED | DECODE_SELECTED : 0;
    }
    for (size_t i = 0; i < d->count; i++) {
        const ofs_catalog_entry *e = &d->entries[i];
        if (!d->selected[i] || e->type != OFS_ENTRY_HARDLINK)
            continue;
        long first = e->link_target ? ofs_decode_find(d, e->link_target) : -1;
        if (first < 0 || d->entries[first].type != OFS_ENTRY_FILE)
            return ofs_error_set(OFS_ECORRUPT, "catalog: hard link '%s' points at '%s', which "
                                 "is not a file of the backup", e->path,
                                 e->link_target ? e->link_target : "");
        d->selected[first] |= DECODE_SELECTED;
    }
    if (!(stack = malloc((d->count ? d->count : 1) * sizeof(*stack))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    /* catalog order is a depth-first walk: the open directories form a stack */
    for (size_t i = 0; i < d->count; i++) {
        const char *path = d->entries[i].path;
        while (depth > 0) {
            const char *dir = d->entries[stack[depth - 1]].path;
            size_t n = strlen(dir);
            if (strncmp(path, dir, n) == 0 && path[n] == '/')
                break;
            depth--;
        }
        if (d->selected[i])
            for (size_t k = 0; k < depth; k++)
                d->selected[stack[k]] |= DECODE_SELECTED;
        if (d->entries[i].type == OFS_ENTRY_DIR)
            stack[depth++] = i;
    }
    free(stack);
    return 0;
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

static int decode_volume_add(decode_volume *v, size_t index, int prefix, int wanted)
{
    if (v->count == v->capacity) {
        size_t capacity = v->capacity ? v->capacity * 2 : 256;
        decode_ref *bigger = realloc(v->refs, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        v->refs = bigger;
        v->capacity = capacity;
    }
    v->refs[v->count++] = (decode_ref){ index, prefix };
    v->wanted |= wanted;
    return 0;
}

/*
 * Groups entries by the volume holding them (a tail's prefix also by the base's volume that
 * holds it); volumes without a selected entry are not read.
 */
static int decode_plan(ofs_decode *d)
{
    size_t own = 0, base = 0;
    decode_volume *v = NULL;
    int rc;
    for (size_t i = 0; i < d->count; i++) {
        const ofs_catalog_entry *e = &d->entries[i];
        int wanted = d->selected[i] && e->type != OFS_ENTRY_HARDLINK;
        if (e->volume == 0)
            continue;
        if ((rc = decode_volume_get(d, e->backup_id, e->volume, &own, &v)) < 0 ||
            (rc = decode_volume_add(v, i, 0, wanted)) < 0)
            return rc;
        if (e->type != OFS_ENTRY_FILE || e->base_size == 0)
            continue;
        if ((rc = decode_volume_get(d, e->base_backup, e->base_volume, &base, &v)) < 0 ||
            (rc = decode_volume_add(v, i, 1, wanted)) < 0)
            return rc;
        d->tails |= wanted;
    }
    if (d->tails && !(d->staged = calloc(d->count, sizeof(*d->staged))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
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

const ofs_catalog_entry *ofs_decode_entry(const ofs_decode *d, size_t i)
{
    return i < d->count ? &d->entries[i] : NULL;
}

int ofs_decode_selected(const ofs_decode *d, size_t i)
{
    return i < d->count && d->selected[i];
}

int ofs_decode_matched(const ofs_decode *d, size_t i)
{
    return i < d->count && (d->selected[i] & DECODE_MATCHED);
}

uint64_t ofs_decode_selected_bytes(const ofs_decode *d)
{
    uint64_t total = 0;
    for (size_t i = 0; i < d->count; i++)
        if (d->selected[i] && d->entries[i].type == OFS_ENTRY_FILE)
            total += d->entries[i].size;
    return total;
}

void ofs_decode_free(ofs_decode *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->staged && i < d->count; i++)
        ofs_sha256_free(d->staged[i].sha);
    free(d->staged);
    for (size_t i = 0; i < d->count; i++)
        ofs_catalog_entry_free_paths(&d->entries[i]);
    free(d->entries);
    free(d->selected);
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
