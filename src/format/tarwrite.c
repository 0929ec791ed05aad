/* tarwrite.c - pax tar writer over an ofs_writer (libarchive); see tarwrite.h. */
#include "offsite/tarwrite.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#define TAR_READ_SIZE (1u << 20)

struct ofs_tar_writer {
    struct archive *archive;
    struct archive_entry *entry; /* reused for every entry */
    ofs_writer *next;
    int sink_rc;                 /* first failure of next, with its message */
    int aborting;                /* free without finish: drop the trailer */
    int finished;
    uint8_t *buf;
    ofs_sha256 *sha;             /* the whole file */
    ofs_sha256 *part;            /* a tail's base prefix, then the tail itself */
    ofs_progress *progress;
    atomic_int *stop;
    char *names;                 /* extended attribute names (listxattr) */
    size_t names_size;
    char *value;                 /* one extended attribute value */
    size_t value_size;
};

static la_ssize_t tar_sink_write(struct archive *a, void *client, const void *data, size_t size)
{
    ofs_tar_writer *t = client;
    if (t->aborting)
        return (la_ssize_t)size;
    if (t->sink_rc == 0) {
        int rc = ofs_writer_write(t->next, data, size);
        if (rc == 0)
            return (la_ssize_t)size;
        t->sink_rc = rc;
    }
    archive_set_error(a, EIO, "write failed");
    return -1;
}

/* The failure of a libarchive call: the sink's own error if it caused it. */
static int tar_fail(ofs_tar_writer *t, const char *what, const char *name)
{
    if (t->sink_rc < 0)
        return t->sink_rc;
    const char *reason = archive_error_string(t->archive);
    if (!reason)
        reason = "tar error";
    if (!name)
        return ofs_error_set(OFS_ERROR, "%s: %s", what, reason);
    return ofs_error_set(OFS_ERROR, "%s '%s': %s", what, name, reason);
}

int ofs_tar_writer_new(ofs_tar_writer **out, ofs_writer *next, ofs_progress *progress,
                       atomic_int *stop)
{
    ofs_tar_writer *t = calloc(1, sizeof(*t));
    int rc = 0;

    *out = NULL;
    if (!t) {
        ofs_writer_free(next);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    t->next = next;
    t->progress = progress;
    t->stop = stop;
    if (!(t->buf = malloc(TAR_READ_SIZE)) || !(t->entry = archive_entry_new()) ||
        !(t->archive = archive_write_new())) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto fail;
    }
    if ((rc = ofs_sha256_new(&t->sha)) < 0 || (rc = ofs_sha256_new(&t->part)) < 0)
        goto fail;
    /* Full pax (not "restricted"): every entry gets an extended header, so nanosecond mtimes
     * are always kept; BINARY stores names as the bytes the file system gave us. */
    if (archive_write_set_format_pax(t->archive) != ARCHIVE_OK ||
        archive_write_set_format_option(t->archive, "pax", "hdrcharset", "BINARY") !=
            ARCHIVE_OK ||
        archive_write_set_bytes_per_block(t->archive, 0) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(t->archive, 1) != ARCHIVE_OK ||
        archive_write_open2(t->archive, t, NULL, tar_sink_write, NULL, NULL) != ARCHIVE_OK) {
        rc = ofs_error_set(OFS_ERROR, "cannot set up the tar writer: %s",
                           archive_error_string(t->archive));
        goto fail;
    }
    *out = t;
    return 0;
fail:
    ofs_tar_writer_free(t);
    return rc;
}

uint64_t ofs_tar_writer_offset(ofs_tar_writer *t)
{
    return (uint64_t)archive_filter_bytes(t->archive, -1);
}

static int tar_grow(char **buf, size_t *size, size_t need)
{
    if (*size >= need)
        return 0;
    char *bigger = realloc(*buf, need);
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    *buf = bigger;
    *size = need;
    return 0;
}

/* Calls listxattr or getxattr (f* with fd, l* on path) into *buf, growing it as needed. */
static ssize_t tar_xattr_call(int fd, const char *path, const char *name, char **buf,
                              size_t *size, int *rc)
{
    *rc = 0;
    for (int attempt = 0; attempt < 4; attempt++) {
        ssize_t n;
        if (name)
            n = fd >= 0 ? fgetxattr(fd, name, *buf, *size) : lgetxattr(path, name, *buf, *size);
        else
            n = fd >= 0 ? flistxattr(fd, *buf, *size) : llistxattr(path, *buf, *size);
        if (n >= 0 && (*size > 0 || n == 0))
            return n;
        if (n < 0 && errno != ERANGE)
            return -1;
        /* ask for the size, then retry: the attribute may grow in between */
        if (name)
            n = fd >= 0 ? fgetxattr(fd, name, NULL, 0) : lgetxattr(path, name, NULL, 0);
        else
            n = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(path, NULL, 0);
        if (n < 0)
            return -1;
        if ((*rc = tar_grow(buf, size, (size_t)n + 256)) < 0)
            return -1;
    }
    errno = ERANGE;
    return -1;
}

/* Extended attributes of fd (or of path, not following a symlink). A file system without
 * them is fine; one that cannot be read is warned about, never silently dropped. */
static int tar_add_xattrs(ofs_tar_writer *t, int fd, const char *path)
{
    int rc = 0;
    ssize_t n = tar_xattr_call(fd, path, NULL, &t->names, &t->names_size, &rc);
    if (rc < 0)
        return rc;
    if (n < 0) {
        if (errno != ENOTSUP && errno != ENOENT)
            ofs_log_warn("cannot list extended attributes of '%s': %s", path, strerror(errno));
        return 0;
    }
    for (const char *name = t->names; name < t->names + n; name += strlen(name) + 1) {
        ssize_t size = tar_xattr_call(fd, path, name, &t->value, &t->value_size, &rc);
        if (rc < 0)
            return rc;
        if (size < 0) {
            if (errno != ENODATA && errno != ENOENT)
                ofs_log_warn("cannot read extended attribute '%s' of '%s': %s", name, path,
                             strerror(errno));
            continue;
        }
        archive_entry_xattr_add_entry(t->entry, name, t->value, (size_t)size);
    }
    return 0;
}

static int tar_differs(const struct stat *st, const ofs_catalog_entry *e)
{
    return (uint64_t)st->st_size != e->size || (int64_t)st->st_mtim.tv_sec != e->mtime_sec ||
           (int32_t)st->st_mtim.tv_nsec != e->mtime_nsec ||
           (int64_t)st->st_ctim.tv_sec != e->ctime_sec ||
           (int32_t)st->st_ctim.tv_nsec != e->ctime_nsec;
}

/* Opens a regular file for reading; OFS_ENOTFOUND if it is gone or no longer the scanned one. */
static int tar_open(const char *source, const ofs_catalog_entry *e, int *fd_out, int *changed)
{
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    struct stat st;
    int fd = open(source, flags | O_NOATIME);
    *fd_out = -1;
    if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership or CAP_FOWNER */
        fd = open(source, flags);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
            return ofs_error_set(OFS_ENOTFOUND, "'%s' vanished since the scan", source);
        return ofs_error_from_errno(errno, "cannot open '%s'", source);
    }
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return ofs_error_from_errno(err, "cannot stat '%s'", source);
    }
    /* Another inode under the same name is another file (maybe one the owner of this path
     * must not read): never store it under the scanned metadata. */
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_ino != e->ino || (uint64_t)st.st_dev != e->dev) {
        close(fd);
        return ofs_error_set(OFS_ENOTFOUND, "'%s' was replaced since the scan", source);
    }
    *changed = tar_differs(&st, e);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    *fd_out = fd;
    return 0;
}

static int tar_write_data(ofs_tar_writer *t, const void *data, size_t size, const char *name)
{
    const char *p = data;
    while (size > 0) {
        la_ssize_t n = archive_write_data(t->archive, p, size);
        if (n <= 0)
            return tar_fail(t, "cannot write the content of", name);
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

/*
 * Streams exactly `bytes` bytes of fd into the archive (or, with write 0, only reads them),
 * hashing them into t->sha and, when part is not NULL, into part too. A file that ends early
 * is padded with zeros (so the archive stays valid) and *short_read is set.
 */
static int tar_copy_content(ofs_tar_writer *t, int fd, const char *source, const char *name,
                            uint64_t bytes, ofs_sha256 *part, int write, int *short_read)
{
    uint64_t remaining = bytes;
    int eof = 0, rc;
    while (remaining > 0) {
        size_t want = remaining < TAR_READ_SIZE ? (size_t)remaining : TAR_READ_SIZE;
        size_t got = 0;
        if (t->stop && atomic_load(t->stop))
            return ofs_error_set(OFS_ECANCELED, "backup canceled");
        while (got < want && !eof) {
            ssize_t n = read(fd, t->buf + got, want - got);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return ofs_error_from_errno(errno, "cannot read '%s'", source);
            }
            if (n == 0)
                eof = 1;
            got += (size_t)n;
        }
        if (got < want) { /* it shrank: zeros keep the archive valid */
            memset(t->buf + got, 0, want - got);
            *short_read = 1;
        }
        if ((rc = ofs_sha256_update(t->sha, t->buf, want)) < 0 ||
            (part && (rc = ofs_sha256_update(part, t->buf, want)) < 0))
            return rc;
        if (write) {
            if ((rc = tar_write_data(t, t->buf, want, name)) < 0)
                return rc;
            ofs_progress_add(t->progress, want);
        }
        remaining -= want;
    }
    return 0;
}

/*
 * For a file the caller marked as grown since a base (e->base_size > 0): reads its first
 * base_size bytes and returns 1 if they hash to e->base_sha256 (t->sha then holds them, and
 * t->part is reset for the tail), 0 if not (the file was rewritten: fd is rewound and
 * e->base_size cleared, so the whole file is stored).
 */
static int tar_check_prefix(ofs_tar_writer *t, int fd, const char *source, ofs_catalog_entry *e)
{
    uint8_t digest[OFS_SHA256_BYTES];
    int short_read = 0, rc;
    if (e->base_size >= e->size) {
        e->base_size = 0;
        return 0;
    }
    if ((rc = ofs_sha256_reset(t->sha)) < 0 || (rc = ofs_sha256_reset(t->part)) < 0 ||
        (rc = tar_copy_content(t, fd, source, e->path, e->base_size, t->part, 0,
                               &short_read)) < 0 ||
        (rc = ofs_sha256_final(t->part, digest)) < 0 || (rc = ofs_sha256_reset(t->part)) < 0)
        return rc;
    if (!short_read && memcmp(digest, e->base_sha256, sizeof(digest)) == 0)
        return 1;
    ofs_log_debug("'%s' grew but its first %llu bytes changed: stored whole", source,
                  (unsigned long long)e->base_size);
    e->base_size = 0;
    if (lseek(fd, 0, SEEK_SET) < 0)
        return ofs_error_from_errno(errno, "cannot read '%s'", source);
    return 0;
}

int ofs_tar_writer_add(ofs_tar_writer *t, const char *source, ofs_catalog_entry *e)
{
    struct archive_entry *entry = t->entry;
    char *own_source = NULL, *tar_name = NULL;
    int fd = -1, changed = 0, tail = 0, rc = 0, r;

    if (t->stop && atomic_load(t->stop))
        return ofs_error_set(OFS_ECANCELED, "backup canceled");
    if (t->sink_rc < 0)
        return ofs_error_set(t->sink_rc, "tar writer failed earlier");
    if (!source) {
        size_t n = strlen(e->path);
        if (!(own_source = malloc(n + 2)))
            return ofs_error_set(OFS_ERROR, "out of memory");
        own_source[0] = '/';
        memcpy(own_source + 1, e->path, n + 1);
        source = own_source;
    }
    if (e->type != OFS_ENTRY_FILE)
        e->base_size = 0;
    if (e->type == OFS_ENTRY_FILE && (rc = tar_open(source, e, &fd, &changed)) < 0)
        goto cleanup;
    if (e->type == OFS_ENTRY_FILE && e->base_size > 0 &&
        (rc = tail = tar_check_prefix(t, fd, source, e)) < 0)
        goto cleanup;
    if ((rc = ofs_catalog_tar_name(e, &tar_name)) < 0)
        goto cleanup;

    archive_entry_clear(entry);
    archive_entry_copy_pathname(entry, tar_name);
    archive_entry_set_perm(entry, (mode_t)e->mode);
    archive_entry_set_uid(entry, e->uid);
    archive_entry_set_gid(entry, e->gid);
    if (e->user)
        archive_entry_copy_uname(entry, e->user);
    if (e->group)
        archive_entry_copy_gname(entry, e->group);
    archive_entry_set_mtime(entry, (time_t)e->mtime_sec, e->mtime_nsec);
    switch (e->type) {
    case OFS_ENTRY_FILE:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, (la_int64_t)ofs_catalog_stored_size(e));
        break;
    case OFS_ENTRY_DIR:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
    case OFS_ENTRY_SYMLINK:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_copy_symlink(entry, e->link_target ? e->link_target : "");
        break;
    case OFS_ENTRY_HARDLINK:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, 0);
        archive_entry_copy_hardlink(entry, e->link_target ? e->link_target : "");
        break;
    case OFS_ENTRY_FIFO:
        archive_entry_set_filetype(entry, AE_IFIFO);
        break;
    }
    if (e->type != OFS_ENTRY_HARDLINK && (rc = tar_add_xattrs(t, fd, source)) < 0)
        goto cleanup;

    e->offset = ofs_tar_writer_offset(t);
    r = archive_write_header(t->archive, entry);
    if (r < ARCHIVE_WARN) {
        rc = tar_fail(t, "cannot write the tar header of", tar_name);
        goto cleanup;
    }
    if (r == ARCHIVE_WARN)
        ofs_log_warn("tar header of '%s': %s", source, archive_error_string(t->archive));
    if (e->type == OFS_ENTRY_FILE) {
        /* a tail's prefix is already in t->sha (tar_check_prefix) */
        if ((!tail && (rc = ofs_sha256_reset(t->sha)) < 0) ||
            (rc = tar_copy_content(t, fd, source, tar_name, ofs_catalog_stored_size(e),
                                   tail ? t->part : NULL, 1, &changed)) < 0)
            goto cleanup;
        struct stat st;
        if (fstat(fd, &st) < 0) {
            rc = ofs_error_from_errno(errno, "cannot stat '%s'", source);
            goto cleanup;
        }
        if (tar_differs(&st, e))
            changed = 1;
        if ((rc = ofs_sha256_final(t->sha, e->sha256)) < 0 ||
            (tail && (rc = ofs_sha256_final(t->part, e->tail_sha256)) < 0))
            goto cleanup;
        e->has_sha256 = 1;
    }
    if (archive_write_finish_entry(t->archive) < ARCHIVE_WARN) {
        rc = tar_fail(t, "cannot finish the tar entry of", tar_name);
        goto cleanup;
    }
    if (changed) {
        e->changed = 1;
        ofs_log_warn("'%s' changed while it was read (stored as read)", source);
    }
cleanup:
    if (fd >= 0)
        close(fd);
    free(own_source);
    free(tar_name);
    return rc < 0 ? rc : 0;
}

int ofs_tar_writer_finish(ofs_tar_writer *t)
{
    if (archive_write_close(t->archive) != ARCHIVE_OK)
        return tar_fail(t, "cannot finish the tar archive", NULL);
    int rc = ofs_writer_finish(t->next);
    if (rc == 0)
        t->finished = 1;
    return rc;
}

void ofs_tar_writer_free(ofs_tar_writer *t)
{
    if (!t)
        return;
    if (!t->finished)
        t->aborting = 1;
    if (t->archive)
        archive_write_free(t->archive);
    if (t->entry)
        archive_entry_free(t->entry);
    ofs_writer_free(t->next);
    ofs_sha256_free(t->sha);
    ofs_sha256_free(t->part);
    free(t->buf);
    free(t->names);
    free(t->value);
    free(t);
}
