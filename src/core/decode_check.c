/* decode_check.c - the reader's obligations on a backup's catalog and records, checked once
 * the catalog is loaded and before anything is planned or written (docs/format.md 5.2, 5.3,
 * 6.2): what restore would otherwise trip over halfway, and verify would never see. */
#include "decode_internal.h"
#include "offsite/error.h"

#include <stdlib.h>
#include <string.h>

/* A differential's base is a full of the same set (5.3): loaded now, even when no entry
 * points at it, so that every reader of the differential judges it the same way. */
int decode_check_base(ofs_decode *d)
{
    const ofs_record *base = NULL;
    const char *id;
    int rc;
    if (!d->rec->base)
        return 0;
    if (!(id = decode_intern_id(d, d->rec->base)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    if ((rc = decode_volume_record(d, id, &base)) < 0)
        return rc;
    if (strcmp(base->kind, "full") != 0)
        return ofs_error_set(OFS_ECORRUPT, "backup '%s' is a differential of '%s', which is "
                             "itself a differential (a base must be a full backup)", d->rec->id,
                             base->id);
    if (strcmp(base->set, d->rec->set) != 0)
        return ofs_error_set(OFS_ECORRUPT, "backup '%s' of set '%s' is a differential of '%s', "
                             "a backup of set '%s'", d->rec->id, d->rec->set, base->id,
                             base->set);
    return 0;
}

/* The number of volumes the backup `id` (interned) has: its record's. */
static uint32_t decode_volumes_of(const ofs_decode *d, const char *id)
{
    for (size_t i = 1; i < d->base_count; i++)
        if (d->bases[i].id == id && d->bases[i].rec)
            return d->bases[i].rec->volumes;
    return d->rec->volumes;
}

/* Where an entry's content lives: a volume its backup has, and a tail's prefix in the base. */
static int decode_check_place(const ofs_decode *d, const ofs_catalog_entry *e)
{
    if (e->volume == 0) /* every entry has a tar header, so its metadata restores */
        return ofs_error_set(OFS_ECORRUPT, "'%s' is in no volume", e->path);
    if (e->volume > decode_volumes_of(d, e->backup_id))
        return ofs_error_set(OFS_ECORRUPT, "'%s' is in volume %u of backup '%s', which has %u",
                             e->path, e->volume, e->backup_id,
                             decode_volumes_of(d, e->backup_id));
    if (e->base_size == 0)
        return 0;
    if (e->type != OFS_ENTRY_FILE || e->base_size >= e->size ||
        e->base_volume == 0 || !e->base_backup || !d->rec->base ||
        strcmp(e->base_backup, d->rec->base) != 0 || e->backup_id != d->bases[0].id)
        return ofs_error_set(OFS_ECORRUPT, "'%s' is not a valid tail (a file of this backup "
                             "whose first base_size bytes, fewer than its size, are in a "
                             "volume of its base)", e->path);
    if (e->base_volume > decode_volumes_of(d, e->base_backup))
        return ofs_error_set(OFS_ECORRUPT, "'%s' starts in volume %u of backup '%s', which "
                             "has %u", e->path, e->base_volume, e->base_backup,
                             decode_volumes_of(d, e->base_backup));
    return 0;
}

/*
 * Every entry's parent is an earlier directory entry (a set path's ancestors are listed, so
 * nothing hangs below a symlink, a file or nothing); a hard link points at an earlier regular
 * file; every place is a volume the backup has; and the record's counts are the catalog's.
 * One pass in catalog order: the catalog reader refused paths out of order, so an entry's
 * parent, if listed, is the top of the stack of the entries above it (decode_stack); a hard
 * link's first path (few of them) is looked up.
 */
static int decode_check_entries(ofs_decode *d)
{
    ofs_decode_cursor *c = NULL, *find = NULL;
    const ofs_catalog_entry *e = NULL;
    decode_stack stack = { 0 };
    uint64_t bytes = 0;
    int rc;
    if ((rc = ofs_decode_cursor_new(d, &c)) < 0 || (rc = ofs_decode_cursor_new(d, &find)) < 0)
        goto cleanup;
    for (size_t i = 0; i < d->count; i++) {
        if ((rc = ofs_decode_entry(c, i, &e)) < 0)
            goto cleanup;
        const char *slash = strrchr(e->path, '/');
        decode_stack_enter(&stack, e->path);
        if (slash) {
            size_t n = (size_t)(slash - e->path);
            if (stack.depth == 0 || stack.len[stack.depth - 1] != n) {
                rc = ofs_error_set(OFS_ECORRUPT, "'%s': its parent '%.*s' is not in the "
                                   "catalog", e->path, (int)n, e->path);
                goto cleanup;
            }
            if (stack.type[stack.depth - 1] != OFS_ENTRY_DIR) {
                rc = ofs_error_set(OFS_ECORRUPT, "'%s' is below '%.*s', which is a %s, not a "
                                   "directory", e->path, (int)n, e->path,
                                   ofs_entry_type_name(stack.type[stack.depth - 1]));
                goto cleanup;
            }
        }
        if (e->type == OFS_ENTRY_HARDLINK) {
            size_t first = 0;
            int found = e->link_target ? ofs_decode_find(find, e->link_target, &first) : 0;
            if (found < 0) {
                rc = found;
                goto cleanup;
            }
            if (!found || first >= i || DECODE_TYPE(d->flags[first]) != OFS_ENTRY_FILE) {
                rc = ofs_error_set(OFS_ECORRUPT, "hard link '%s' points at '%s', which is "
                                   "not an earlier file of the backup", e->path,
                                   e->link_target ? e->link_target : "");
                goto cleanup;
            }
        }
        if (e->type == OFS_ENTRY_SYMLINK && !e->link_target) {
            rc = ofs_error_set(OFS_ECORRUPT, "symlink '%s' has no target", e->path);
            goto cleanup;
        }
        if ((rc = decode_check_place(d, e)) < 0)
            goto cleanup;
        if (e->type == OFS_ENTRY_FILE)
            bytes += e->size;
        if ((rc = decode_stack_push(&stack, e->path, i, e->type)) < 0)
            goto cleanup;
    }
    if (d->count != d->rec->files || bytes != d->rec->bytes)
        rc = ofs_error_set(OFS_ECORRUPT, "the record counts %llu entries of %llu bytes, the "
                           "catalog %llu of %llu", (unsigned long long)d->rec->files,
                           (unsigned long long)d->rec->bytes, (unsigned long long)d->count,
                           (unsigned long long)bytes);
cleanup:
    decode_stack_free(&stack);
    ofs_decode_cursor_free(find);
    ofs_decode_cursor_free(c);
    return rc;
}

int decode_check_catalog(ofs_decode *d)
{
    int rc = decode_check_entries(d);
    return rc < 0 ? ofs_error_wrap(rc, "catalog") : 0;
}
