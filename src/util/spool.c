/* spool.c - bytes in memory up to a bound, then in an unlinked temporary file; see spool.h. */
#include "offsite/spool.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Appends to the file go through a buffer of this size: one write per many small entries. */
#define SPOOL_WRITE_BUFFER (256 * 1024)

struct ofs_spool {
    char *dir;
    size_t memory;              /* the bound */
    uint8_t *buf;               /* in memory: everything; in a file: what awaits its write */
    size_t len, cap;
    uint64_t size;              /* every byte appended */
    uint64_t written;           /* in a file: the bytes written there */
    int fd;                     /* -1 until spilled */
    int finished;
};

int ofs_spool_new(ofs_spool **out, const char *dir, size_t memory)
{
    ofs_spool *s = calloc(1, sizeof(*s));
    const char *tmp = getenv("TMPDIR");
    *out = NULL;
    if (!dir || !*dir)
        dir = tmp && *tmp ? tmp : "/tmp";
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    s->memory = memory;
    s->fd = -1;
    *out = s;
    return 0;
}

/* O_TMPFILE where the file system has it; else a private name unlinked at once. */
static int spool_open(ofs_spool *s)
{
    char *path = NULL;
    int rc;
    if ((rc = ofs_mkdir_p(s->dir, 0700)) < 0)
        return ofs_error_wrap(rc, "spool");
    s->fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (s->fd >= 0)
        return 0;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return ofs_error_from_errno(errno, "spool: cannot create a temporary file in '%s'",
                                    s->dir);
    if (!(path = ofs_path_join(s->dir, ".offsite-spool.XXXXXX")))
        return ofs_error_set(OFS_ERROR, "out of memory");
    s->fd = mkostemp(path, O_CLOEXEC); /* mode 0600 */
    if (s->fd < 0)
        rc = ofs_error_from_errno(errno, "spool: cannot create a temporary file in '%s'",
                                  s->dir);
    else
        unlink(path);
    free(path);
    return rc;
}

static int spool_write(ofs_spool *s, const void *data, size_t size)
{
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t n = pwrite(s->fd, p, size, (off_t)s->written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ofs_error_from_errno(errno, "spool: cannot write to a temporary file in "
                                        "'%s'", s->dir);
        p += n;
        size -= (size_t)n;
        s->written += (uint64_t)n;
    }
    return 0;
}

/* The bound is passed: what memory holds moves to the file, and memory shrinks to a buffer. */
static int spool_spill(ofs_spool *s)
{
    int rc;
    if ((rc = spool_open(s)) < 0 || (rc = spool_write(s, s->buf, s->len)) < 0)
        return rc;
    free(s->buf);
    s->len = 0;
    s->cap = SPOOL_WRITE_BUFFER;
    if (!(s->buf = malloc(s->cap)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

int ofs_spool_append(ofs_spool *s, const void *data, size_t size, uint64_t *offset)
{
    int rc;
    if (s->finished)
        return ofs_error_set(OFS_ERROR, "spool: append after finish");
    if (offset)
        *offset = s->size;
    if (s->fd < 0 && s->len + size > s->memory && (rc = spool_spill(s)) < 0)
        return rc;
    if (s->fd >= 0 && s->len + size > s->cap) {
        if ((rc = spool_write(s, s->buf, s->len)) < 0)
            return rc;
        s->len = 0;
        if (size >= s->cap) { /* larger than the buffer: straight to the file */
            if ((rc = spool_write(s, data, size)) < 0)
                return rc;
            s->size += size;
            return 0;
        }
    }
    if (s->len + size > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + size)
            cap *= 2;
        if (s->fd < 0 && cap > s->memory) /* len + size <= memory here */
            cap = s->memory;
        uint8_t *bigger = realloc(s->buf, cap);
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        s->buf = bigger;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, size);
    s->len += size;
    s->size += size;
    return 0;
}

int ofs_spool_finish(ofs_spool *s)
{
    int rc;
    if (s->finished)
        return 0;
    if (s->fd >= 0) {
        if ((rc = spool_write(s, s->buf, s->len)) < 0)
            return rc;
        free(s->buf);
        s->buf = NULL;
        s->len = s->cap = 0;
    }
    s->finished = 1;
    return 0;
}

uint64_t ofs_spool_size(const ofs_spool *s)
{
    return s->size;
}

int ofs_spool_spilled(const ofs_spool *s)
{
    return s->fd >= 0;
}

int ofs_spool_read(const ofs_spool *s, uint64_t offset, void *buf, size_t size)
{
    uint8_t *p = buf;
    if (!s->finished)
        return ofs_error_set(OFS_ERROR, "spool: read before finish");
    if (offset > s->size || size > s->size - offset)
        return ofs_error_set(OFS_ERROR, "spool: read of %zu bytes at %llu past its end %llu",
                             size, (unsigned long long)offset, (unsigned long long)s->size);
    if (s->fd < 0) {
        if (size > 0)
            memcpy(buf, s->buf + offset, size);
        return 0;
    }
    while (size > 0) {
        ssize_t n = pread(s->fd, p, size, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? ofs_error_from_errno(errno, "spool: cannot read a temporary file in "
                                                "'%s'", s->dir)
                         : ofs_error_set(OFS_ERROR, "spool: a temporary file in '%s' is "
                                         "shorter than written", s->dir);
        p += n;
        size -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

void ofs_spool_free(ofs_spool *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf);
    free(s->dir);
    free(s);
}
