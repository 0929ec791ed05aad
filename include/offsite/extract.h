/*
 * extract.h - the safe file-system writer restore uses (DESIGN.md "Restore"): the file-system
 * sink of the decoder (decode.h), which has checked every entry, its path and its content
 * before it reaches these functions.
 *
 * Nothing is ever written outside the target directory and nothing is written through a
 * symlink: the target is opened once, and every parent directory is reached by walking its
 * components with openat(O_NOFOLLOW | O_DIRECTORY) from there (missing ones are created 0700;
 * a symlink or anything but a directory in the way is an error "PATH: not a directory (symlink
 * in the way?)" naming the component). Every path must pass ofs_path_is_safe (restore.h).
 *
 * A regular file is written to ".NAME.ofs-tmp-XXXXXX" beside its final name (O_EXCL,
 * O_NOFOLLOW; created with its own permission bits plus the owner's read and write),
 * sparse-aware (4 KiB-aligned zero blocks become holes); when the decoder has checked its
 * size and SHA-256, commit applies owner (when root) and mode where creation did not already
 * give them, extended attributes and times, moves whatever is at the final name into the
 * run's safety area (see ofs_extract_options; unless it already holds the same content), and
 * renames the temporary file into place. A file that fails a check is aborted: it never appears under its
 * final name and its temporary file is unlinked.
 * Symlinks, FIFOs and hard links are made under a temporary name and renamed the same way.
 * Directories get their mode, owner and times last (ofs_extract_dir_metadata, deepest first),
 * so restoring into them neither disturbs their mtimes nor is blocked by a read-only mode.
 * Durability overlaps with the work (DESIGN.md "Restore"): a committed file has its writeback
 * started at once (sync_file_range) and goes to a small pool of threads that fsync it while
 * later files are written; a directory goes there once its metadata is set (they come last,
 * so its entries are in place). ofs_extract_sync waits for the pool: never a syncfs, which
 * would also wait for every other process's data on the file system.
 *
 * An ofs_extract is shared by the restore workers; each worker thread has its own
 * ofs_extract_worker (open file, hash, cached parent directory).
 */
#ifndef OFFSITE_EXTRACT_H
#define OFFSITE_EXTRACT_H

#include <stdint.h>
#include <sys/stat.h>

#include "offsite/catalog.h"
#include "offsite/decode.h"
#include "offsite/tarread.h"

typedef struct ofs_extract ofs_extract;
typedef struct ofs_extract_worker ofs_extract_worker;

typedef struct ofs_extract_options {
    const char *target_dir;  /* created (with parents) if missing */
    /* What is in the way of a restored entry (and what ofs_extract_remove takes away) goes,
     * by default, into this run's safety area (below); instead: */
    int overwrite;           /* replaced (or removed) and kept nowhere: a scratch target */
    int bak_beside;          /* kept beside it as NAME.pre_restore_<STAMP>.bak (the old way) */
    int skip_existing;       /* left as it is: the restored entry is not installed */
    /* The safety area: SAFETY_DIR/offsite-pre-restore-<STAMP>, or with safety_dir NULL
     * TARGET/.offsite-pre-restore-<STAMP> (_2, _3 ... if taken), created 0700 only when
     * something is moved into it. Each entry goes there under its relative path (renamed;
     * copied and then removed when the safety area is on another file system), and a line
     * of INDEX.txt there names it and the command that puts it back. */
    const char *safety_dir;
    const char *label;       /* what the index says was restored ("backup ID"), or NULL */
    int64_t started;         /* restore start (ofs_clock_now): <STAMP> is its UTC
                                YYYYmmdd_HHMMSS */
} ofs_extract_options;

typedef struct ofs_extract_stats {
    uint64_t files, dirs, symlinks, fifos, hardlinks, bytes;
    uint64_t backups_kept;   /* entries moved into the safety area or kept as .bak */
    uint64_t skipped;        /* existing entries left alone (skip_existing) */
    double sync_seconds;     /* ofs_extract_sync's wait for what was still not durable */
    char safety_path[4096];  /* the safety area if one was made, else "" */
} ofs_extract_stats;

/*
 * ofs_extract_new(&x, opts): create target_dir if missing and open it. Errors name the target.
 * ofs_extract_open(&x, opts): the same, without creating anything (dry run): OFS_ENOTFOUND if
 * the target does not exist.
 */
int ofs_extract_new(ofs_extract **out, const ofs_extract_options *opts);
int ofs_extract_open(ofs_extract **out, const ofs_extract_options *opts);

/* ofs_extract_worker_new(&w, x): per-thread state. ofs_extract_worker_free aborts an open file. */
int ofs_extract_worker_new(ofs_extract_worker **out, ofs_extract *x);
void ofs_extract_worker_free(ofs_extract_worker *w);

/*
 * A regular file: begin (temporary file created), write the data in order (offset may skip
 * ahead over a hole, never go back, never past the size: OFS_ECORRUPT), then commit with the
 * archive's extended attributes, which gives the file its size (trailing holes too) and
 * installs it. abort unlinks the temporary file (also done by commit on failure, and by
 * worker_free).
 */
int ofs_extract_file_begin(ofs_extract_worker *w, const ofs_catalog_entry *e);
int ofs_extract_file_write(ofs_extract_worker *w, uint64_t offset, const void *data,
                           size_t size);
int ofs_extract_file_commit(ofs_extract_worker *w, const ofs_tar_xattr *xattrs,
                            size_t xattr_count);
void ofs_extract_file_abort(ofs_extract_worker *w);

/*
 * A file a differential stored as a tail (catalog.h: base_size > 0) is written in two steps,
 * the base's prefix first (restore reads the base's volumes before the differential's own),
 * possibly by different workers:
 *   ofs_extract_prefix_begin(w, e): a temporary file for the first e->base_size bytes; then
 *     ofs_extract_file_write as for any file (offsets from 0);
 *   ofs_extract_prefix_stage(w, &staged): gives the prefix its size, closes the temporary
 *     file and leaves it in place; *staged (caller frees) is its name;
 *   ofs_extract_tail_begin(w, e, staged): reopens it (still e->base_size bytes, or OFS_ERROR)
 *     and goes on at offset e->base_size: then ofs_extract_file_write (offsets in the whole
 *     file) and ofs_extract_file_commit, which installs the whole file like any other;
 *   ofs_extract_staged_discard(w, e, staged): unlinks a staged prefix that will not be
 *     completed (a failed restore).
 */
int ofs_extract_prefix_begin(ofs_extract_worker *w, const ofs_catalog_entry *e);
int ofs_extract_prefix_stage(ofs_extract_worker *w, char **staged);
int ofs_extract_tail_begin(ofs_extract_worker *w, const ofs_catalog_entry *e, const char *staged);
void ofs_extract_staged_discard(ofs_extract_worker *w, const ofs_catalog_entry *e,
                                const char *staged);

/* ofs_extract_symlink(w, e): e->link_target as the symlink's content (never followed). */
int ofs_extract_symlink(ofs_extract_worker *w, const ofs_catalog_entry *e);

/* ofs_extract_fifo(w, e, xattrs, n): a named pipe with e's metadata. */
int ofs_extract_fifo(ofs_extract_worker *w, const ofs_catalog_entry *e,
                     const ofs_tar_xattr *xattrs, size_t xattr_count);

/*
 * ofs_extract_hardlink(w, e): link e->path to the already restored e->link_target (checked
 * with ofs_path_is_safe; must be a regular file, OFS_ENOTFOUND if it is not there).
 */
int ofs_extract_hardlink(ofs_extract_worker *w, const ofs_catalog_entry *e);

/*
 * ofs_extract_dir(w, e, xattrs, n): make sure directory e->path exists (a non-directory at
 * its final name is kept as .bak or replaced like a file) and set its extended attributes.
 * Its mode, owner and times wait for ofs_extract_dir_metadata.
 */
int ofs_extract_dir(ofs_extract_worker *w, const ofs_catalog_entry *e,
                    const ofs_tar_xattr *xattrs, size_t xattr_count);

/*
 * ofs_extract_names(w, path, &names, &count): the names in directory path below the target
 * ("" = the target), without following anything: OFS_ENOTFOUND if there is none, OFS_ERROR
 * "not a directory" if something else is there. Free with ofs_extract_names_free.
 */
int ofs_extract_names(ofs_extract_worker *w, const char *path, char ***names, size_t *count);
void ofs_extract_names_free(char **names, size_t count);

/*
 * ofs_extract_remove(w, path): take what is at path (a directory with everything in it) out
 * of the tree: into the safety area, or deleted with overwrite. 0 if nothing is there.
 */
int ofs_extract_remove(ofs_extract_worker *w, const char *path);

/* ofs_extract_dir_metadata(w, e): apply e's mode, owner (when root) and times to the dir. */
int ofs_extract_dir_metadata(ofs_extract_worker *w, const ofs_catalog_entry *e);

/*
 * ofs_extract_lookup(w, path, &st): what is at path below the target now, without creating
 * or following anything: 0 and st, or OFS_ENOTFOUND. A non-directory in place of a parent
 * reports that thing (so a dry run says "replace").
 */
int ofs_extract_lookup(ofs_extract_worker *w, const char *path, struct stat *st);

/*
 * ofs_extract_sync(x): returns once everything written is durable: every file and directory
 * handed to the pool fsync'd, then the safety area's index and the target directory; the first failure otherwise ("PATH:
 * cannot make it durable: ..."), and success is never reported past one.
 */
int ofs_extract_sync(ofs_extract *x);

/* ofs_extract_get_stats(x, &stats): what was written so far. */
void ofs_extract_get_stats(ofs_extract *x, ofs_extract_stats *stats);

/* ofs_extract_free(x): NULL is a no-op. Free every worker first. */
void ofs_extract_free(ofs_extract *x);

/*
 * ofs_extract_sink: these functions as the decoder's sink (decode.h), with an ofs_extract as
 * the sink and an ofs_extract_worker per worker; finish is ofs_extract_sync.
 */
extern const ofs_sink_ops ofs_extract_sink;

#endif
