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

struct ofs_extract {
    int target_fd;
    char *target_dir;
    int overwrite;
    int is_root;
    char stamp[32];               /* YYYYmmdd_HHMMSS of the restore start (UTC) */
    atomic_int xattr_warned;
    atomic_uint_fast64_t files, dirs, symlinks, fifos, hardlinks, bytes, backups_kept;
};

struct ofs_extract_worker {
    ofs_extract *x;
    /* The open directories of the current parent path, from the target down, so consecutive
     * entries of one directory (catalog order) cost no walk at all. */
    char *parent;                 /* parent path of the last entry ("" = the target) */
    size_t parent_size;
    int *fds;                     /* fds[i] = directory after i+1 components */
    size_t *ends;                 /* ends[i] = end of component i in parent */
    size_t depth, capacity;
    /* the regular file being written */
    const ofs_catalog_entry *entry;
    int fd, dir_fd;
    char tmp[EXTRACT_NAME_MAX + 1];
    const char *base;             /* final name (points into entry->path) */
    uint64_t expect_size;         /* the file's size, or a base prefix's */
    uint64_t pos;                 /* bytes received so far */
    uint8_t block[EXTRACT_BLOCK]; /* the partial 4 KiB block at pos - block_len */
    size_t block_len;
};

/* extract_parent(w, path, create, &dir_fd, &base): the parent directory of path (created as
 * needed when create) on the worker's stack, and the final component. */
int extract_parent(ofs_extract_worker *w, const char *path, int create, int *dir_fd,
                   const char **base);

/* extract_tmp_name(out, base): ".NAME.ofs-tmp-XXXXXX" (NAME cut to fit in NAME_MAX). */
void extract_tmp_name(char out[EXTRACT_NAME_MAX + 1], const char *base);

/* extract_install(w, dir_fd, tmp, base, path): rename tmp to base, keeping what is there as
 * .bak (or replacing it with overwrite); on failure tmp is left for the caller to remove. */
int extract_install(ofs_extract_worker *w, int dir_fd, const char *tmp, const char *base,
                    const char *path);

/* extract_fd_metadata(w, fd, e, xattrs, n): owner (when root), mode, xattrs, times. */
int extract_fd_metadata(ofs_extract_worker *w, int fd, const ofs_catalog_entry *e,
                        const ofs_tar_xattr *xattrs, size_t xattr_count);

#endif
