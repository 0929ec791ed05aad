/* decode_check.c - the reader's obligations on a backup's catalog and records, checked once
 * the catalog is loaded and before anything is planned or written (docs/format.md 5.2, 5.3,
 * 6.2): what restore would otherwise trip over halfway, and verify would never see. */
#include "decode_internal.h"
#include "offsite/error.h"

#include <stdlib.h>
#include <string.h>

long ofs_decode_find(const ofs_decode *d, const char *path)
{
    size_t lo = 0, hi = d->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ofs_path_compare(d->entries[mid].path, path);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

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
 */
static int decode_check_entries(ofs_decode *d)
{
    uint64_t bytes = 0;
    int rc;
    for (size_t i = 0; i < d->count; i++) {
        const ofs_catalog_entry *e = &d->entries[i];
        const char *slash = strrchr(e->path, '/');
        if (slash) {
            size_t n = (size_t)(slash - e->path);
            long parent = -1;
            char *dir = strndup(e->path, n);
            if (!dir)
                return ofs_error_set(OFS_ERROR, "out of memory");
            parent = ofs_decode_find(d, dir);
            free(dir);
            if (parent < 0)
                return ofs_error_set(OFS_ECORRUPT, "'%s': its parent '%.*s' is not in the "
                                     "catalog", e->path, (int)n, e->path);
            if (d->entries[parent].type != OFS_ENTRY_DIR)
                return ofs_error_set(OFS_ECORRUPT, "'%s' is below '%.*s', which is a %s, not a "
                                     "directory", e->path, (int)n, e->path,
                                     ofs_entry_type_name(d->entries[parent].type));
        }
        if (e->type == OFS_ENTRY_HARDLINK) {
            long first = e->link_target ? ofs_decode_find(d, e->link_target) : -1;
            if (first < 0 || (size_t)first >= i || d->entries[first].type != OFS_ENTRY_FILE)
                return ofs_error_set(OFS_ECORRUPT, "hard link '%s' points at '%s', which is "
                                     "not an earlier file of the backup", e->path,
                                     e->link_target ? e->link_target : "");
        }
        if (e->type == OFS_ENTRY_SYMLINK && !e->link_target)
            return ofs_error_set(OFS_ECORRUPT, "symlink '%s' has no target", e->path);
        if ((rc = decode_check_place(d, e)) < 0)
            return rc;
        if (e->type == OFS_ENTRY_FILE)
            bytes += e->size;
    }
    if (d->count != d->rec->files || bytes != d->rec->bytes)
        return ofs_error_set(OFS_ECORRUPT, "the record counts %llu entries of %llu bytes, the "
                             "catalog %llu of %llu", (unsigned long long)d->rec->files,
                             (unsigned long long)d->rec->bytes, (unsigned long long)d->count,
                             (unsigned long long)bytes);
    return 0;
}

int decode_check_catalog(ofs_decode *d)
{
    int rc = decode_check_entries(d);
    return rc < 0 ? ofs_error_wrap(rc, "catalog") : 0;
}
