/* tarread.c - tar archive reader over an ofs_reader (libarchive); see tarread.h. */
#include "offsite/tarread.h"
#include "offsite/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#define TAR_READ_BUFFER (1u << 20)

struct ofs_tar_reader {
    struct archive *archive;
    ofs_reader *source;
    char *name;
    char *buf;
    int source_rc;     /* the source's failure, its message still set */
    int source_done;   /* the source returned end of stream */
    int at_end;
    ofs_tar_xattr *xattrs;
    size_t xattr_capacity;
    char *path;        /* a directory's name without the '/' tar writers append */
    size_t path_size;
};

static la_ssize_t tar_read_callback(struct archive *a, void *client, const void **buffer)
{
    ofs_tar_reader *t = client;
    size_t got = 0;
    *buffer = t->buf;
    if (t->source_rc < 0 || t->source_done)
        return t->source_rc < 0 ? -1 : 0;
    int rc = ofs_reader_read(t->source, t->buf, TAR_READ_BUFFER, &got);
    if (rc < 0) {
        t->source_rc = rc;
        archive_set_error(a, EIO, "source failed");
        return -1;
    }
    if (got == 0)
        t->source_done = 1;
    return (la_ssize_t)got;
}

/* The failure of a libarchive call: the source's own error (EAUTH, ...) if it caused it. */
static int tar_read_fail(ofs_tar_reader *t, const char *what)
{
    if (t->source_rc < 0)
        return t->source_rc;
    const char *reason = archive_error_string(t->archive);
    return ofs_error_set(OFS_ECORRUPT, "%s: %s: %s", t->name, what,
                         reason ? reason : "malformed tar archive");
}

int ofs_tar_reader_new(ofs_tar_reader **out, ofs_reader *source, const char *name)
{
    ofs_tar_reader *t = calloc(1, sizeof(*t));
    int rc = 0;

    *out = NULL;
    if (!t) {
        ofs_reader_free(source);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    t->source = source;
    if (!(t->name = strdup(name ? name : "tar")) || !(t->buf = malloc(TAR_READ_BUFFER)) ||
        !(t->archive = archive_read_new())) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto fail;
    }
    /* Tar and pax only, no filters and no format detection beyond them: a volume is never
     * anything else, and every other reader is attack surface. */
    if (archive_read_support_format_tar(t->archive) != ARCHIVE_OK ||
        archive_read_open(t->archive, t, NULL, tar_read_callback, NULL) != ARCHIVE_OK) {
        rc = tar_read_fail(t, "cannot open the tar archive");
        goto fail;
    }
    *out = t;
    return 0;
fail:
    ofs_tar_reader_free(t);
    return rc;
}

/* Reads what is left of the source, so the seal and zstd stages see their end and check it. */
static int tar_drain(ofs_tar_reader *t)
{
    while (!t->source_done && t->source_rc == 0) {
        size_t got = 0;
        int rc = ofs_reader_read(t->source, t->buf, TAR_READ_BUFFER, &got);
        if (rc < 0)
            return t->source_rc = rc;
        if (got == 0)
            t->source_done = 1;
    }
    return t->source_rc;
}

static int tar_collect_xattrs(ofs_tar_reader *t, struct archive_entry *entry, ofs_tar_entry *e)
{
    int count = archive_entry_xattr_reset(entry);
    const char *name;
    const void *value;
    size_t size;
    if (count <= 0)
        return 0;
    if ((size_t)count > t->xattr_capacity) {
        ofs_tar_xattr *bigger = realloc(t->xattrs, (size_t)count * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        t->xattrs = bigger;
        t->xattr_capacity = (size_t)count;
    }
    while (e->xattr_count < (size_t)count &&
           archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
        /* pax archives carry each attribute twice (SCHILY.xattr and LIBARCHIVE.xattr) */
        size_t i = 0;
        while (i < e->xattr_count && strcmp(t->xattrs[i].name, name) != 0)
            i++;
        t->xattrs[i].name = name;
        t->xattrs[i].value = value;
        t->xattrs[i].size = size;
        if (i == e->xattr_count)
            e->xattr_count++;
    }
    e->xattrs = t->xattrs;
    return 0;
}

static const char *hardlink_of(struct archive_entry *entry)
{
    return archive_entry_hardlink(entry);
}

int ofs_tar_reader_next(ofs_tar_reader *t, ofs_tar_entry *e)
{
    struct archive_entry *entry = NULL;
    memset(e, 0, sizeof(*e));
    if (t->at_end)
        return 0;
    int r = archive_read_next_header(t->archive, &entry);
    if (r == ARCHIVE_EOF) {
        int rc = tar_drain(t);
        if (rc < 0)
            return rc;
        t->at_end = 1;
        return 0;
    }
    /* a warning is a header libarchive read only in part (a malformed pax record is
     * skipped): refused, so no reader honours an entry another reads differently */
    if (r != ARCHIVE_OK)
        return tar_read_fail(t, "cannot read an entry header");

    const char *path = archive_entry_pathname(entry);
    if (!path)
        return ofs_error_set(OFS_ECORRUPT, "%s: entry without a name", t->name);
    e->path = path;
    size_t len = strlen(path);
    if (archive_entry_filetype(entry) == AE_IFDIR && !hardlink_of(entry) && len > 1 &&
        path[len - 1] == '/') {
        while (len > 1 && path[len - 1] == '/')
            len--;
        if (len + 1 > t->path_size) {
            char *bigger = realloc(t->path, len + 1);
            if (!bigger)
                return ofs_error_set(OFS_ERROR, "out of memory");
            t->path = bigger;
            t->path_size = len + 1;
        }
        memcpy(t->path, path, len);
        t->path[len] = '\0';
        e->path = t->path;
    }
    e->offset = (uint64_t)archive_read_header_position(t->archive);
    e->mode = (uint32_t)(archive_entry_perm(entry) & 07777);
    e->mtime_sec = (int64_t)archive_entry_mtime(entry);
    e->mtime_nsec = (int32_t)archive_entry_mtime_nsec(entry);
    e->size = archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0
                  ? (uint64_t)archive_entry_size(entry) : 0;
    const char *hardlink = archive_entry_hardlink(entry);
    if (hardlink) {
        e->type = OFS_ENTRY_HARDLINK;
        e->link_target = hardlink;
    } else {
        switch (archive_entry_filetype(entry)) {
        case AE_IFREG: e->type = OFS_ENTRY_FILE; break;
        case AE_IFDIR: e->type = OFS_ENTRY_DIR; break;
        case AE_IFLNK:
            e->type = OFS_ENTRY_SYMLINK;
            e->link_target = archive_entry_symlink(entry);
            if (!e->link_target)
                return ofs_error_set(OFS_ECORRUPT, "%s: symlink '%s' without a target", t->name,
                                     path);
            break;
        case AE_IFIFO: e->type = OFS_ENTRY_FIFO; break;
        default:
            return ofs_error_set(OFS_ECORRUPT, "%s: entry '%s' has an unsupported type",
                                 t->name, path);
        }
    }
    int rc = tar_collect_xattrs(t, entry, e);
    return rc < 0 ? rc : 1;
}

int ofs_tar_reader_data(ofs_tar_reader *t, const void **data, size_t *size, uint64_t *offset)
{
    la_int64_t at = 0;
    *data = NULL;
    *size = 0;
    *offset = 0;
    int r = archive_read_data_block(t->archive, data, size, &at);
    if (r == ARCHIVE_EOF) {
        *size = 0;
        return 0;
    }
    if (r < ARCHIVE_WARN || at < 0)
        return tar_read_fail(t, "cannot read entry data");
    *offset = (uint64_t)at;
    return 1;
}

void ofs_tar_reader_free(ofs_tar_reader *t)
{
    if (!t)
        return;
    if (t->archive)
        archive_read_free(t->archive);
    ofs_reader_free(t->source);
    free(t->name);
    free(t->buf);
    free(t->xattrs);
    free(t->path);
    free(t);
}
