/* diff.c - change detection against a base catalog, and the base side of the merge; see
 * diff.h. */
#include "offsite/diff.h"
#include "offsite/error.h"

#include <stdlib.h>
#include <string.h>

static int diff_same_target(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

ofs_diff_action ofs_diff_compare(const ofs_catalog_entry *now, const ofs_catalog_entry *base)
{
    if (!base)
        return OFS_DIFF_NEW;
    /* a base copy that changed while it was read may be torn: never kept */
    if (now->type != base->type || base->changed)
        return OFS_DIFF_CHANGED;
    int same = now->mode == base->mode && now->mtime_sec == base->mtime_sec &&
               now->mtime_nsec == base->mtime_nsec && now->ctime_sec == base->ctime_sec &&
               now->ctime_nsec == base->ctime_nsec && now->ino == base->ino;
    switch (now->type) {
    case OFS_ENTRY_FILE:
        same = same && now->size == base->size && base->has_sha256;
        break;
    case OFS_ENTRY_SYMLINK:
    case OFS_ENTRY_HARDLINK:
        same = same && diff_same_target(now->link_target, base->link_target);
        break;
    case OFS_ENTRY_DIR:
    case OFS_ENTRY_FIFO:
        break;
    }
    if (same)
        return OFS_DIFF_UNCHANGED;
    /* the base's copy must be a whole file in a volume for its bytes to serve as a prefix */
    if (now->type == OFS_ENTRY_FILE && now->size > base->size &&
        base->size >= OFS_DIFF_TAIL_MIN && base->has_sha256 && base->volume != 0 &&
        base->base_size == 0)
        return OFS_DIFF_GROWN;
    return OFS_DIFF_CHANGED;
}

const char *ofs_diff_action_name(ofs_diff_action a)
{
    switch (a) {
    case OFS_DIFF_NEW: return "new";
    case OFS_DIFF_UNCHANGED: return "unchanged";
    case OFS_DIFF_CHANGED: return "changed";
    case OFS_DIFF_GROWN: return "grown";
    }
    return "unknown";
}

struct ofs_diff_base {
    ofs_catalog_reader *reader;
    const ofs_catalog_entry *current; /* the reader's entry, not yet passed */
    int eof;
};

int ofs_diff_base_new(ofs_diff_base **out, ofs_catalog_reader *reader)
{
    ofs_diff_base *b = calloc(1, sizeof(*b));
    *out = NULL;
    if (!b) {
        ofs_catalog_reader_free(reader);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    b->reader = reader;
    *out = b;
    return 0;
}

/* Makes b->current the next entry not yet passed (NULL at the end). */
static int diff_base_fill(ofs_diff_base *b)
{
    if (b->current || b->eof)
        return 0;
    int rc = ofs_catalog_reader_next(b->reader, &b->current);
    if (rc < 0)
        return ofs_error_wrap(rc, "base catalog");
    if (rc == 0)
        b->eof = 1;
    return 0;
}

/* Passes over the base entries before path (every one left when path is NULL). */
static int diff_base_pass(ofs_diff_base *b, const char *path, const ofs_catalog_entry **entry,
                          uint64_t *passed)
{
    int rc;
    *entry = NULL;
    *passed = 0;
    for (;;) {
        if ((rc = diff_base_fill(b)) < 0)
            return rc;
        if (!b->current)
            return 0;
        int c = path ? ofs_path_compare(b->current->path, path) : -1;
        if (c > 0)
            return 0; /* new: the base entry waits for a later path */
        if (c == 0) {
            *entry = b->current; /* valid until the reader moves, at the next seek */
            b->current = NULL;
            return 0;
        }
        (*passed)++;
        b->current = NULL;
    }
}

int ofs_diff_base_seek(ofs_diff_base *b, const char *path, const ofs_catalog_entry **entry,
                       uint64_t *passed)
{
    return diff_base_pass(b, path, entry, passed);
}

int ofs_diff_base_rest(ofs_diff_base *b, uint64_t *passed)
{
    const ofs_catalog_entry *none;
    return diff_base_pass(b, NULL, &none, passed);
}

void ofs_diff_base_free(ofs_diff_base *b)
{
    if (!b)
        return;
    ofs_catalog_reader_free(b->reader);
    free(b);
}
