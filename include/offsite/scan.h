/*
 * scan.h - walk a set's paths and list every entry to back up, in catalog order.
 *
 * The walk uses directory descriptors (openat/fdopendir/fstatat with AT_SYMLINK_NOFOLLOW), so
 * a directory renamed or replaced by a symlink during the walk is never followed. Each
 * directory's names are sorted with strcmp, which makes the result sorted by
 * ofs_path_compare (catalog.h). Entry paths are the absolute paths without the leading '/'.
 *
 * Rules:
 *   - set paths are normalised (repeated and trailing '/' removed), sorted by
 *     ofs_path_compare; duplicates and paths inside an earlier set path are skipped;
 *   - the ancestors of each set path ("srv", "srv/trading" for /srv/trading/positions) are
 *     listed as directories (stat follows symlinks there);
 *   - a set path that is a symlink to a directory is followed; a symlink to anything else
 *     is listed as the symlink; a set path that does not exist is OFS_ENOTFOUND;
 *   - excludes are fnmatch(3) patterns matched against the path relative to its set path
 *     (with FNM_PATHNAME: '*' does not match '/') and against the basename; an excluded
 *     directory is not descended;
 *   - hard links: the first path (in order) of a regular file with nlink > 1 is a file, later
 *     paths with the same (dev, ino) are OFS_ENTRY_HARDLINK entries whose link_target is that
 *     first path (size 0);
 *   - sockets are skipped (debug log); block and character devices are skipped with a
 *     warning; entries that vanish during the walk are skipped with a warning;
 *   - any other error (permission denied, I/O error) fails the scan naming the path.
 *
 * ofs_scan_walk streams the entries to a callback: it holds only the sorted names of the
 * directories open on the current path and the first path of each multiply linked inode, so
 * its memory does not grow with the number of files. ofs_scan_run collects the same entries
 * into a list (one ofs_catalog_entry each, about 300 bytes plus the path).
 */
#ifndef OFFSITE_SCAN_H
#define OFFSITE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/catalog.h"

typedef struct ofs_scan_names ofs_scan_names;

/* What a walk listed (and skipped). */
typedef struct ofs_scan_counts {
    uint64_t entries, files, dirs, symlinks, hardlinks, fifos;
    uint64_t bytes;   /* sum of the sizes of regular files */
    uint64_t skipped; /* vanished entries, sockets and devices */
} ofs_scan_counts;

/*
 * A walk's callback: e (and its path and link_target) is valid during the call only; its user
 * and group point into the walk's ofs_scan_names, valid until that is freed; backup_id and
 * the base_ members are NULL/0. A negative return stops the walk with that code.
 */
typedef int (*ofs_scan_fn)(void *ctx, const ofs_catalog_entry *e);

/*
 * ofs_scan_match(pattern, path, name): 1 if pattern matches path (FNM_PATHNAME: '*' and '?'
 * do not match '/') or name, path's last component (so a pattern without '/' matches a name
 * anywhere), else 0: the exclude rule above, shared with restore --files (decode.h).
 */
int ofs_scan_match(const char *pattern, const char *path, const char *name);

/* ofs_scan_names_new(&names) / ofs_scan_names_free(names): the owner-name cache a walk fills
 * (uid/gid -> name); free it after the last use of an entry's user or group. NULL is a no-op. */
int ofs_scan_names_new(ofs_scan_names **out);
void ofs_scan_names_free(ofs_scan_names *names);

/*
 * ofs_scan_walk(paths, path_count, excludes, exclude_count, names, fn, ctx, &counts): walk
 * paths (absolute) by the rules above, calling fn for each entry in ofs_path_compare order.
 * counts (may be NULL) is filled as the walk goes. Errors as ofs_scan_run, or fn's own code.
 */
int ofs_scan_walk(char *const *paths, size_t path_count, char *const *excludes,
                  size_t exclude_count, ofs_scan_names *names, ofs_scan_fn fn, void *ctx,
                  ofs_scan_counts *counts);

typedef struct ofs_scan {
    /*
     * The entries in ofs_path_compare order. path and link_target are owned by the scan;
     * user and group point into the scan's name cache (never free them); backup_id is left
     * NULL for the caller, who may point it at a string it owns (ofs_scan_free ignores it).
     */
    ofs_catalog_entry *entries;
    size_t count, capacity;
    uint64_t files, dirs, symlinks, hardlinks, fifos;
    uint64_t bytes;   /* sum of the sizes of regular files */
    uint64_t skipped; /* vanished entries, sockets and devices */
    ofs_scan_names *names;
} ofs_scan;

/*
 * ofs_scan_run(&scan, paths, path_count, excludes, exclude_count): walk paths (absolute) and
 * return the sorted list of entries (caller frees with ofs_scan_free). Errors: OFS_ECONFIG for
 * a path that is not absolute or holds a "." or ".." component, OFS_ENOTFOUND for a set path
 * that does not exist, OFS_EDENIED / OFS_ERROR naming the path for anything the walk cannot
 * read.
 */
int ofs_scan_run(ofs_scan **out, char *const *paths, size_t path_count, char *const *excludes,
                 size_t exclude_count);

/* ofs_scan_free(scan): NULL is a no-op. */
void ofs_scan_free(ofs_scan *scan);

#endif
