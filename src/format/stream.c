/* stream.c - generic writer/reader plumbing and the memory, fd and null ends; see stream.h. */
#include "offsite/stream.h"
#include "offsite/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ofs_writer_write(ofs_writer *w, const void *data, size_t size)
{
    if (size == 0)
        return 0;
    return w->ops->write(w, data, size);
}

int ofs_writer_finish(ofs_writer *w)
{
    if (w->finished)
        return ofs_error_set(OFS_ERROR, "stream finished twice");
    int rc = w->ops->finish(w);
    if (rc == 0)
        w->finished = 1;
    return rc;
}

void ofs_writer_free(ofs_writer *w)
{
    if (w)
        w->ops->free(w);
}

int ofs_reader_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    *got = 0;
    if (size == 0)
        return 0;
    return r->ops->read(r, buf, size, got);
}

int ofs_reader_read_full(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    size_t total = 0;
    *got = 0;
    while (total < size) {
        size_t n = 0;
        int rc = r->ops->read(r, (char *)buf + total, size - total, &n);
        if (rc < 0)
            return rc;
        if (n == 0)
            break;
        total += n;
    }
    *got = total;
    return 0;
}

void ofs_reader_free(ofs_reader *r)
{
    if (r)
        r->ops->free(r);
}

int ofs_stream_copy(ofs_reader *r, ofs_writer *w, uint64_t *copied)
{
    enum { COPY_BUFFER = 256 * 1024 };
    char *buf = malloc(COPY_BUFFER);
    uint64_t total = 0;
    int rc = 0;
    if (!buf)
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (;;) {
        size_t n = 0;
        if ((rc = ofs_reader_read(r, buf, COPY_BUFFER, &n)) < 0)
            goto cleanup;
        if (n == 0)
            break;
        if ((rc = ofs_writer_write(w, buf, n)) < 0)
            goto cleanup;
        total += n;
    }
    if (copied)
        *copied = total;
cleanup:
    free(buf);
    return rc;
}

int ofs_reader_read_all(ofs_reader *r, char **out, size_t *size, size_t max)
{
    size_t cap = max < 64 * 1024 ? max : 64 * 1024, len = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    *out = NULL;
    *size = 0;
    if (!buf)
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (;;) {
        size_t n = 0;
        if (len == cap) {
            if (cap >= max) {
                /* exactly max bytes is fine: probe for one more before refusing */
                char extra;
                if ((rc = ofs_reader_read(r, &extra, 1, &n)) < 0)
                    goto cleanup;
                if (n == 0)
                    break;
                rc = ofs_error_set(OFS_ECORRUPT, "object larger than %zu bytes", max);
                goto cleanup;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *bigger = realloc(buf, cap + 1);
            if (!bigger) {
                rc = ofs_error_set(OFS_ERROR, "out of memory");
                goto cleanup;
            }
            buf = bigger;
        }
        if ((rc = ofs_reader_read(r, buf + len, cap - len, &n)) < 0)
            goto cleanup;
        if (n == 0)
            break;
        len += n;
    }
    buf[len] = '\0';
    *out = buf;
    *size = len;
    buf = NULL;
cleanup:
    free(buf);
    return rc;
}

/* ---- memory writer ---- */

typedef struct {
    ofs_writer parent;
    char *data;
    size_t size, cap;
} memory_writer;

static int memory_write(ofs_writer *w, const void *data, size_t size)
{
    memory_writer *m = (memory_writer *)w;
    if (m->size + size > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->size + size)
            cap *= 2;
        char *bigger = realloc(m->data, cap);
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        m->data = bigger;
        m->cap = cap;
    }
    memcpy(m->data + m->size, data, size);
    m->size += size;
    return 0;
}

static int memory_finish(ofs_writer *w)
{
    (void)w;
    return 0;
}

static void memory_free(ofs_writer *w)
{
    memory_writer *m = (memory_writer *)w;
    free(m->data);
    free(m);
}

static const struct ofs_writer_ops memory_writer_ops = { memory_write, memory_finish, memory_free };

int ofs_memory_writer_new(ofs_writer **out)
{
    memory_writer *m = calloc(1, sizeof(*m));
    if (!m)
        return ofs_error_set(OFS_ERROR, "out of memory");
    m->parent.ops = &memory_writer_ops;
    *out = &m->parent;
    return 0;
}

const void *ofs_memory_writer_data(ofs_writer *w, size_t *size)
{
    memory_writer *m = (memory_writer *)w;
    *size = m->size;
    return m->data ? m->data : "";
}

/* ---- memory reader ---- */

typedef struct {
    ofs_reader parent;
    const char *data;
    char *owned;
    size_t size, pos;
} memory_reader;

static int memory_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    memory_reader *m = (memory_reader *)r;
    size_t n = m->size - m->pos < size ? m->size - m->pos : size;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    *got = n;
    return 0;
}

static void memory_reader_free(ofs_reader *r)
{
    memory_reader *m = (memory_reader *)r;
    free(m->owned);
    free(m);
}

static const struct ofs_reader_ops memory_reader_ops = { memory_read, memory_reader_free };

int ofs_memory_reader_new(ofs_reader **out, const void *data, size_t size, int copy)
{
    memory_reader *m = calloc(1, sizeof(*m));
    if (!m)
        return ofs_error_set(OFS_ERROR, "out of memory");
    m->parent.ops = &memory_reader_ops;
    m->size = size;
    if (copy) {
        m->owned = malloc(size ? size : 1);
        if (!m->owned) {
            free(m);
            return ofs_error_set(OFS_ERROR, "out of memory");
        }
        memcpy(m->owned, data, size);
        m->data = m->owned;
    } else {
        m->data = data;
    }
    *out = &m->parent;
    return 0;
}

/* ---- fd ends ---- */

typedef struct {
    ofs_reader parent;
    int fd;
    char *name;
} fd_reader;

static int fd_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    fd_reader *f = (fd_reader *)r;
    for (;;) {
        ssize_t n = read(f->fd, buf, size);
        if (n >= 0) {
            *got = (size_t)n;
            return 0;
        }
        if (errno != EINTR)
            return ofs_error_from_errno(errno, "reading %s", f->name);
    }
}

static void fd_reader_free(ofs_reader *r)
{
    fd_reader *f = (fd_reader *)r;
    free(f->name);
    free(f);
}

static const struct ofs_reader_ops fd_reader_ops = { fd_read, fd_reader_free };

int ofs_fd_reader_new(ofs_reader **out, int fd, const char *name)
{
    fd_reader *f = calloc(1, sizeof(*f));
    if (!f || !(f->name = strdup(name))) {
        free(f);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    f->parent.ops = &fd_reader_ops;
    f->fd = fd;
    *out = &f->parent;
    return 0;
}

typedef struct {
    ofs_writer parent;
    int fd;
    char *name;
} fd_writer;

static int fd_write(ofs_writer *w, const void *data, size_t size)
{
    fd_writer *f = (fd_writer *)w;
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(f->fd, p, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ofs_error_from_errno(errno, "writing %s", f->name);
        }
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

static int fd_finish(ofs_writer *w)
{
    (void)w;
    return 0;
}

static void fd_writer_free(ofs_writer *w)
{
    fd_writer *f = (fd_writer *)w;
    free(f->name);
    free(f);
}

static const struct ofs_writer_ops fd_writer_ops = { fd_write, fd_finish, fd_writer_free };

int ofs_fd_writer_new(ofs_writer **out, int fd, const char *name)
{
    fd_writer *f = calloc(1, sizeof(*f));
    if (!f || !(f->name = strdup(name))) {
        free(f);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    f->parent.ops = &fd_writer_ops;
    f->fd = fd;
    *out = &f->parent;
    return 0;
}

/* ---- null sink ---- */

static int null_write(ofs_writer *w, const void *data, size_t size)
{
    (void)w; (void)data; (void)size;
    return 0;
}

static int null_finish(ofs_writer *w)
{
    (void)w;
    return 0;
}

static void null_free(ofs_writer *w)
{
    free(w);
}

static const struct ofs_writer_ops null_writer_ops = { null_write, null_finish, null_free };

int ofs_null_writer_new(ofs_writer **out)
{
    ofs_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return ofs_error_set(OFS_ERROR, "out of memory");
    w->ops = &null_writer_ops;
    *out = w;
    return 0;
}
