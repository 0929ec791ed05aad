/*
 * diff.h - what a differential backup stores: each scanned entry compared with the entry of
 * the same path in its base's catalog, both walked in path order (ofs_path_compare) and
 * merged, so memory does not grow with the number of files (DESIGN.md "Backups: full and
 * differential", docs/format.md 5.3).
 *
 *   - unchanged (same type, size, mtime ns, ctime ns, inode and mode; for symlinks and hard
 *     links the same target; a base entry with content and not flagged "changed"): the base's
 *     catalog entry is kept as it is, pointing at the base's volume;
 *   - grown (a regular file larger than a base file of at least OFS_DIFF_TAIL_MIN bytes):
 *     stored as its tail if its first base-size bytes still hash to the base's SHA-256
 *     (checked while it is read, tarwrite.h), else whole;
 *   - anything else present now (new, changed, type changed): stored whole;
 *   - base entries with no scanned entry of the same path (deleted): left out.
 */
#ifndef OFFSITE_DIFF_H
#define OFFSITE_DIFF_H

#include <stdint.h>

#include "offsite/catalog.h"

/* Below this base size a grown file is stored whole: its tail would save little and make a
 * restore read the base's volume for it. */
#define OFS_DIFF_TAIL_MIN (64u * 1024u)

typedef enum ofs_diff_action {
    OFS_DIFF_NEW,       /* no base entry of that path */
    OFS_DIFF_UNCHANGED, /* keep the base's entry */
    OFS_DIFF_CHANGED,   /* store whole */
    OFS_DIFF_GROWN      /* store the tail if the base's bytes are still the file's prefix */
} ofs_diff_action;

/* ofs_diff_compare(now, base): the action for a scanned entry; base may be NULL (new). */
ofs_diff_action ofs_diff_compare(const ofs_catalog_entry *now, const ofs_catalog_entry *base);

/* ofs_diff_action_name(a): "new", "unchanged", "changed", "grown". */
const char *ofs_diff_action_name(ofs_diff_action a);

/*
 * The base side of the merge: a cursor over a base catalog read in order.
 *
 * ofs_diff_base_new(&b, reader): reader (owned, even on failure) yields the base's entries.
 * ofs_diff_base_seek(b, path, &entry, &passed): move to path, which must sort after the path
 * of the previous seek: *passed counts the base entries before path that were passed over
 * (deleted since the base), *entry is the base's entry for path (owned by the cursor, valid
 * until the next seek) or NULL. Errors are the reader's (OFS_ECORRUPT for a bad catalog).
 * ofs_diff_base_rest(b, &passed): pass over every entry left (deleted after the last path).
 */
typedef struct ofs_diff_base ofs_diff_base;

int ofs_diff_base_new(ofs_diff_base **out, ofs_catalog_reader *reader);
int ofs_diff_base_seek(ofs_diff_base *b, const char *path, const ofs_catalog_entry **entry,
                       uint64_t *passed);
int ofs_diff_base_rest(ofs_diff_base *b, uint64_t *passed);
void ofs_diff_base_free(ofs_diff_base *b);

#endif
