/*
 * extract_internal.h - what extract.c (directories, names, metadata, links) and
 * extract_file.c (regular files, whole or completed from a base's prefix) share; see
 * include/offsite/extract.h for the contract.
 */
#ifndef OFFSITE_EXTRACT_INTERNAL_H
#define OFFSITE_EXTRACT_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "offsite/extract.h"

#define EXTRACT_BLOCK 4096u
#define EXTRACT_NAME_MAX 255u

typedef struct extract_sync extract_sync;
typedef struct extract_safety extract_safety;

struct ofs_extract {
    int target_fd;
    char *target_dir;
    int overwrite, bak_beside, skip_existing;
    int is_root;
    uid_t euid;
    gid_t egid;
    mode_t umask;                 /* what creation takes off a file's mode */
    gid_t target_gid;             /* the gid a file made in the target gets (setgid dirs) */
    extract_sync *sync;           /* NULL when nothing is written (dry run) */
    double sync_seconds;          /* the wait at the end for the last files to be durable */
    char stamp[32];               /* YYYYmmdd_HHMMSS of the restore start (UTC) */
    int64_t started;              /* the restore start */
    atomic_int xattr_warned;
    atomic_uint_fast64_t files, dirs, symlinks, fifos, hardlinks, bytes, backups_kept, skipped;
    extract_safety *safety;       /* the safety area (extract_safety.c) */
};

struct ofs_extract_worker {
    ofs_extract *x;
    /* The open directories of the current parent path, from the target down, so consecutive
     * entries of one directory (catalog order) cost no walk at all. */
    char *parent;                 /* parent path of the last entry ("" = the target) */
    size_t parent_size;
    int *fds;                     /* fds[i] = directory after i+1 components */
    size_t *ends;                 /* ends[i] = end of component i in parent */
    gid_t *gids;                  /* gids[i] = the gid a file made in fds[i] gets */
    size_t depth, capacity;
    uint64_t tmp_state;           /* temporary names: seeded once, then counted */
    /* the regular file being written */
    const ofs_catalog_entry *entry;
    int fd, dir_fd;
    char tmp[EXTRACT_NAME_MAX + 1];
    const char *base;             /* final name (points into entry->path) */
    uint64_t expect_size;         /* the file's size, or a base prefix's */
    uint64_t pos;                 /* bytes received so far */
    uint64_t written_end;         /* end of the last bytes written (holes are not) */
    mode_t created_mode;          /* the temporary file's mode as created */
    gid_t created_gid;            /* and its group */
    uint8_t block[EXTRACT_BLOCK]; /* the partial 4 KiB block at pos - block_len */
    size_t block_len;
    int skipping;                 /* skip_existing: this file's data is only checked */
};

/* extract_parent(w, path, create, &dir_fd, &base): the parent directory of path (created as
 * needed when create) on the worker's stack, and the final component. */
int extract_parent(ofs_extract_worker *w, const char *path, int create, int *dir_fd,
                   const char **base);

/* extract_tmp_name(w, out, base): ".NAME.ofs-tmp-XXXXXX" (NAME cut to fit in NAME_MAX); the
 * suffix comes from the worker's state, seeded from getrandom once per worker, not per name. */
void extract_tmp_name(ofs_extract_worker *w, char out[EXTRACT_NAME_MAX + 1], const char *base);

/* extract_parent_gid(w, dir_fd): the gid a file created in dir_fd (the worker's current
 * parent) gets: the process's, or the directory's when it is setgid. */
gid_t extract_parent_gid(const ofs_extract_worker *w, int dir_fd);

/* extract_install(w, dir_fd, tmp, base, path): rename tmp to base, keeping what is there as
 * .bak (or replacing it with overwrite); on failure tmp is left for the caller to remove. */
int extract_install(ofs_extract_worker *w, int dir_fd, const char *tmp, const char *base,
                    const char *path);

/* extract_set_aside(w, dir_fd, base, path, why): move what is at base (path below the
 * target) out of the way as the options say (extract.h): into the safety area, as .bak
 * beside it, or removed with overwrite; why ("replaced", "removed") goes into the index.
 * 0 if it is gone meanwhile. */
int extract_set_aside(ofs_extract_worker *w, int dir_fd, const char *base, const char *path,
                      const char *why);

/*
 * The safety area (extract_safety.c). extract_safety_new(&s, x, opts) only remembers where
 * it goes; extract_safety_move(s, dir_fd, base, path, why) creates it on first use, moves
 * the entry to its relative path there and adds the index line; extract_safety_sync(s)
 * makes the index and the area durable; extract_safety_path(s) is its path or NULL;
 * extract_safety_free(NULL) is a no-op. extract_remove_tree(dir_fd, base) deletes an entry
 * and, for a directory, everything in it (overwrite).
 */
int extract_safety_new(extract_safety **out, const ofs_extract *x,
                       const ofs_extract_options *opts);
int extract_safety_move(extract_safety *s, int dir_fd, const char *base, const char *path,
                        const char *why);
int extract_safety_sync(extract_safety *s);
const char *extract_safety_path(const extract_safety *s);
void extract_safety_free(extract_safety *s);
int extract_remove_tree(int dir_fd, const char *base, const char *path);

/* extract_fd_metadata(w, fd, e, xattrs, n): owner (when root), mode, xattrs, times. */
int extract_fd_metadata(ofs_extract_worker *w, int fd, const ofs_catalog_entry *e,
                        const ofs_tar_xattr *xattrs, size_t xattr_count);

/* extract_file_metadata(w, fd, e, xattrs, n): the same for a file this restore created with
 * w->created_mode and w->created_gid: owner and mode only where they differ from those. */
int extract_file_metadata(ofs_extract_worker *w, int fd, const ofs_catalog_entry *e,
                          const ofs_tar_xattr *xattrs, size_t xattr_count);

/*
 * The durability pool (extract_sync.c). extract_sync_new(&s) starts its threads.
 * extract_sync_add(s, fd, path, is_file) takes fd (closed in every case): a file gets its
 * writeback started at once, then a pool thread fsyncs and closes it (a directory: fsync
 * only); blocks while the queue is full. extract_sync_wait(s): returns once everything added
 * is durable, with the first failure ("PATH: cannot make it durable: ..."). extract_sync_free
 * closes what is still queued without syncing it; NULL is a no-op.
 */
int extract_sync_new(extract_sync **out);
int extract_sync_add(extract_sync *s, int fd, const char *path, int is_file);
int extract_sync_wait(extract_sync *s);
void extract_sync_free(extract_sync *s);

#endif
