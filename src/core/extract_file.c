/* extract_file.c - regular files of a restore: written to a temporary name, sparse-aware,
 * installed once the decoder has checked them; a differential's tail completes the base's
 * prefix staged earlier. See extract.h. */
#include "extract_internal.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- regular files ---- */

/*
 * A temporary file beside e->path, for expect_size bytes, created with mode (the owner may
 * always write: a base's prefix is reopened). Created with the file's own permission bits,
 * a file needs no fchmod at the end unless the umask took some off or it is setuid/setgid.
 */
static int extract_begin(ofs_extract_worker *w, const ofs_catalog_entry *e, uint64_t expect_size,
                         mode_t mode)
{
    int dir_fd = -1, rc;
    const char *base = NULL;
    ofs_extract_file_abort(w);
    if ((rc = extract_parent(w, e->path, 1, &dir_fd, &base)) < 0)
        return rc;
    mode = (mode & 0777) | 0600;
    for (int attempt = 0; attempt < 100; attempt++) {
        extract_tmp_name(w, w->tmp, base);
        w->fd = openat(dir_fd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       mode);
        if (w->fd >= 0 || errno != EEXIST)
            break;
    }
    if (w->fd < 0)
        return ofs_error_from_errno(errno, "%s: cannot create a temporary file", e->path);
    w->entry = e;
    w->dir_fd = dir_fd;
    w->base = base;
    w->pos = 0;
    w->written_end = 0;
    w->block_len = 0;
    w->expect_size = expect_size;
    w->created_mode = mode & ~w->x->umask;
    w->created_gid = extract_parent_gid(w, dir_fd);
    return 0;
}

int ofs_extract_file_begin(ofs_extract_worker *w, const ofs_catalog_entry *e)
{
    if (w->x->skip_existing) {
        /* something at the final name stays: its data is checked, not written (a restore
         * resumed with skip_existing writes only what is missing) */
        const char *base = NULL;
        int dir_fd = -1, rc;
        struct stat st;
        ofs_extract_file_abort(w);
        if ((rc = extract_parent(w, e->path, 1, &dir_fd, &base)) < 0)
            return rc;
        if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            w->skipping = 1;
            w->entry = e;
            return 0;
        }
    }
    return extract_begin(w, e, e->size, (mode_t)e->mode);
}

int ofs_extract_prefix_begin(ofs_extract_worker *w, const ofs_catalog_entry *e)
{
    if (e->base_size == 0 || e->base_size >= e->size)
        return ofs_error_set(OFS_ECORRUPT, "%s: not stored as a tail", e->path);
    return extract_begin(w, e, e->base_size, 0600);
}

static int extract_pwrite(ofs_extract_worker *w, const uint8_t *data, size_t size,
                          uint64_t offset)
{
    while (size > 0) {
        ssize_t n = pwrite(w->fd, data, size, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ofs_error_from_errno(errno, "%s: cannot write", w->entry->path);
        }
        data += n;
        size -= (size_t)n;
        offset += (uint64_t)n;
    }
    if (offset > w->written_end)
        w->written_end = offset;
    return 0;
}

static int extract_is_zero(const uint8_t *p, size_t size)
{
    return p[0] == 0 && memcmp(p, p + 1, size - 1) == 0;
}

/* Writes whole 4 KiB blocks at a block-aligned offset, skipping the all-zero ones (holes). */
static int extract_write_blocks(ofs_extract_worker *w, const uint8_t *data, size_t size,
                                uint64_t offset)
{
    size_t run = 0; /* start of the pending run of non-zero blocks */
    for (size_t at = 0; at < size; at += EXTRACT_BLOCK) {
        if (!extract_is_zero(data + at, EXTRACT_BLOCK))
            continue;
        if (at > run) {
            int rc = extract_pwrite(w, data + run, at - run, offset + run);
            if (rc < 0)
                return rc;
        }
        run = at + EXTRACT_BLOCK;
    }
    return size > run ? extract_pwrite(w, data + run, size - run, offset + run) : 0;
}

/* Appends contiguous bytes at w->pos, block by block. */
static int extract_append(ofs_extract_worker *w, const uint8_t *data, size_t size)
{
    int rc;
    while (size > 0) {
        if (w->block_len > 0 || size < EXTRACT_BLOCK) {
            size_t n = EXTRACT_BLOCK - w->block_len;
            if (n > size)
                n = size;
            memcpy(w->block + w->block_len, data, n);
            w->block_len += n;
            w->pos += n;
            data += n;
            size -= n;
            if (w->block_len == EXTRACT_BLOCK) {
                if ((rc = extract_write_blocks(w, w->block, EXTRACT_BLOCK,
                                               w->pos - EXTRACT_BLOCK)) < 0)
                    return rc;
                w->block_len = 0;
            }
            continue;
        }
        size_t whole = size & ~(size_t)(EXTRACT_BLOCK - 1);
        if ((rc = extract_write_blocks(w, data, whole, w->pos)) < 0)
            return rc;
        w->pos += whole;
        data += whole;
        size -= whole;
    }
    return 0;
}

int ofs_extract_file_write(ofs_extract_worker *w, uint64_t offset, const void *data,
                           size_t size)
{
    static const uint8_t zeros[64 * 1024];
    const ofs_catalog_entry *e = w->entry;
    int rc;
    if (w->skipping)
        return 0;
    if (w->fd < 0)
        return ofs_error_set(OFS_ERROR, "no file is being restored");
    if (offset < w->pos)
        return ofs_error_set(OFS_ECORRUPT, "%s: data out of order in the archive", e->path);
    if (offset > w->expect_size || size > w->expect_size - offset)
        return ofs_error_set(OFS_ECORRUPT, "%s: data beyond its size %llu in the archive",
                             e->path, (unsigned long long)w->expect_size);
    while (w->pos < offset) { /* a hole in the archive: zeros, which become a hole here */
        uint64_t gap = offset - w->pos;
        if ((rc = extract_append(w, zeros, gap < sizeof(zeros) ? (size_t)gap
                                                                : sizeof(zeros))) < 0)
            return rc;
    }
    return extract_append(w, data, size);
}

void ofs_extract_file_abort(ofs_extract_worker *w)
{
    if (w->skipping) {
        w->skipping = 0;
        w->entry = NULL;
    }
    if (w->fd < 0)
        return;
    close(w->fd);
    unlinkat(w->dir_fd, w->tmp, 0);
    w->fd = -1;
    w->dir_fd = -1;
    w->entry = NULL;
}

/* Flushes the last block and gives the file (or prefix) its size: trailing holes need a
 * truncate, a file whose last bytes were written has its size already. */
static int extract_flush(ofs_extract_worker *w)
{
    const ofs_catalog_entry *e = w->entry;
    int rc;
    if (w->block_len > 0 && !extract_is_zero(w->block, w->block_len) &&
        (rc = extract_pwrite(w, w->block, w->block_len, w->pos - w->block_len)) < 0)
        return rc;
    w->block_len = 0;
    if (w->pos > w->expect_size)
        return ofs_error_set(OFS_ECORRUPT, "%s: size %llu, expected %llu", e->path,
                             (unsigned long long)w->pos, (unsigned long long)w->expect_size);
    if (w->written_end < w->expect_size && ftruncate(w->fd, (off_t)w->expect_size) < 0)
        return ofs_error_from_errno(errno, "%s: cannot set the size", e->path);
    w->pos = w->expect_size;
    return 0;
}

int ofs_extract_prefix_stage(ofs_extract_worker *w, char **staged)
{
    int rc;
    *staged = NULL;
    if (w->fd < 0)
        return ofs_error_set(OFS_ERROR, "no file is being restored");
    if ((rc = extract_flush(w)) < 0)
        goto fail;
    if (!(*staged = strdup(w->tmp))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto fail;
    }
    if (close(w->fd) < 0) {
        w->fd = -1;
        rc = ofs_error_from_errno(errno, "%s: cannot write", w->entry->path);
        unlinkat(w->dir_fd, w->tmp, 0);
        free(*staged);
        *staged = NULL;
        return rc;
    }
    w->fd = -1; /* left in place for ofs_extract_tail_begin */
    w->entry = NULL;
    return 0;
fail:
    ofs_extract_file_abort(w);
    return rc;
}

int ofs_extract_tail_begin(ofs_extract_worker *w, const ofs_catalog_entry *e, const char *staged)
{
    int dir_fd = -1, rc;
    const char *base = NULL;
    struct stat st;
    ofs_extract_file_abort(w);
    if (!staged || strlen(staged) > EXTRACT_NAME_MAX || strchr(staged, '/'))
        return ofs_error_set(OFS_ERROR, "%s: the base's part was not restored", e->path);
    if ((rc = extract_parent(w, e->path, 1, &dir_fd, &base)) < 0)
        return rc;
    w->fd = openat(dir_fd, staged, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (w->fd < 0)
        return ofs_error_from_errno(errno, "%s: cannot reopen the base's part", e->path);
    strcpy(w->tmp, staged);
    w->entry = e;
    w->dir_fd = dir_fd;
    w->base = base;
    w->block_len = 0;
    w->expect_size = e->size;
    w->pos = e->base_size;
    w->written_end = e->base_size;
    w->created_mode = 0600 & ~w->x->umask;
    w->created_gid = extract_parent_gid(w, dir_fd);
    /* the decoder checked the part it wrote; what is on disk must still be that much */
    if (fstat(w->fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->base_size) {
        rc = ofs_error_set(OFS_ERROR, "%s: the base's part is not as it was written", e->path);
        ofs_extract_file_abort(w);
        return rc;
    }
    return 0;
}

void ofs_extract_staged_discard(ofs_extract_worker *w, const ofs_catalog_entry *e,
                                const char *staged)
{
    const char *base = NULL;
    int dir_fd = -1;
    if (staged && extract_parent(w, e->path, 0, &dir_fd, &base) == 0)
        unlinkat(dir_fd, staged, 0);
}

int ofs_extract_file_commit(ofs_extract_worker *w, const ofs_tar_xattr *xattrs,
                            size_t xattr_count)
{
    const ofs_catalog_entry *e = w->entry;
    int rc;
    if (w->skipping) {
        w->skipping = 0;
        w->entry = NULL;
        atomic_fetch_add(&w->x->skipped, 1);
        return 0;
    }
    if (w->fd < 0)
        return ofs_error_set(OFS_ERROR, "no file is being restored");
    if (w->expect_size != e->size) {
        rc = ofs_error_set(OFS_ERROR, "%s: the base's part is committed with "
                           "ofs_extract_prefix_stage", e->path);
        goto fail;
    }
    if ((rc = extract_flush(w)) < 0)
        goto fail;
    if ((rc = extract_file_metadata(w, w->fd, e, xattrs, xattr_count)) < 0)
        goto fail;
    /* the pool makes it durable (and closes it) while later files are written */
    rc = w->x->sync ? extract_sync_add(w->x->sync, w->fd, e->path, 1) : close(w->fd);
    w->fd = -1;
    if (rc < 0) {
        if (!w->x->sync)
            rc = ofs_error_from_errno(errno, "%s: cannot write", e->path);
        unlinkat(w->dir_fd, w->tmp, 0);
        return rc;
    }
    if ((rc = extract_install(w, w->dir_fd, w->tmp, w->base, e->path)) < 0) {
        unlinkat(w->dir_fd, w->tmp, 0);
        return rc;
    }
    atomic_fetch_add(&w->x->files, 1);
    atomic_fetch_add(&w->x->bytes, e->size);
    w->entry = NULL;
    return 0;
fail:
    ofs_extract_file_abort(w);
    return rc;
}
