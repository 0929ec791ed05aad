/*
 * range_reader.c - the resuming get reader shared by the object-store drivers (see
 * include/offsite/range_reader.h). One copy of the resume logic, so s3 and gcs cannot drift.
 */
#include "offsite/range_reader.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/log.h"

static int range_resume(ofs_range_reader *r)
{
    int rc;

    r->ops->close(r);
    r->resumes++;
    ofs_log_warn("%s: %s; resuming at byte %" PRIu64, r->log_name, ofs_error_last(),
                 r->start + r->done);
    rc = r->ops->open(r, r->start + r->done,
                      r->expected == UINT64_MAX ? 0 : r->expected - r->done);
    if (rc == OFS_EEXISTS)
        return ofs_error_set(OFS_ECORRUPT, "object changed while it was read (%s)", r->where);
    if (rc == 0 && r->status != 206)
        return ofs_error_set(OFS_ERROR, "server ignored the Range of a resumed read (%s)",
                             r->where);
    return rc;
}

/* range_end(r): the body is read to its length: let the driver check what it saw */
static int range_end(ofs_range_reader *r)
{
    if (r->ended || !r->ops->delivered || r->expected == UINT64_MAX)
        return 0;
    r->ended = 1;
    return r->ops->delivered(r, NULL, 0);
}

static int range_read(ofs_reader *base, void *buf, size_t size, size_t *got)
{
    ofs_range_reader *r = (ofs_range_reader *)base;
    int rc;

    *got = 0;
    for (;;) {
        size_t want = size;
        if (r->expected != UINT64_MAX && r->expected - r->done < want)
            want = (size_t)(r->expected - r->done);
        if (want == 0 || !r->h)
            return want == 0 && size > 0 ? range_end(r) : 0;
        rc = ofs_http_read(r->h, buf, want, got);
        if (rc == 0 && *got == 0 && r->expected != UINT64_MAX && r->done < r->expected)
            rc = ofs_error_set(OFS_ETRANSIENT, "connection closed after %" PRIu64 " of %"
                               PRIu64 " bytes", r->done, r->expected);
        if (rc == OFS_ETRANSIENT && r->resumes < OFS_RANGE_RESUMES && r->pinned) {
            if ((rc = range_resume(r)) < 0)
                return rc;
            continue;
        }
        if (rc < 0)
            return rc;
        if (*got == 0)
            return 0;
        if (r->skip > 0) {
            size_t drop = *got < r->skip ? *got : (size_t)r->skip;
            r->skip -= drop;
            memmove(buf, (char *)buf + drop, *got - drop);
            *got -= drop;
            if (*got == 0)
                continue;
        }
        if (r->ops->delivered && (rc = r->ops->delivered(r, buf, *got)) < 0)
            return rc;
        r->done += *got;
        return 0;
    }
}

static void range_free(ofs_reader *base)
{
    ofs_range_reader *r = (ofs_range_reader *)base;

    if (!r)
        return;
    if (r->ops) {
        r->ops->close(r);
        r->ops->free(r);
    }
    free(r->log_name);
    free(r->where);
    free(r);
}

static const struct ofs_reader_ops range_reader_ops = { range_read, range_free };

int ofs_range_reader_init(ofs_range_reader *r, const ofs_range_reader_ops *ops,
                          const char *store_name, const char *bucket, const char *noun,
                          const char *name)
{
    r->parent.ops = &range_reader_ops;
    r->ops = ops;
    if (asprintf(&r->log_name, "%s: get %s", store_name, name) < 0) {
        r->log_name = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    if (asprintf(&r->where, "bucket %s, %s %s", bucket, noun, name) < 0) {
        r->where = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

int ofs_range_reader_start(ofs_range_reader *r, uint64_t offset, uint64_t length)
{
    const char *cl;
    int rc;

    r->start = offset;
    rc = r->ops->open(r, offset, length);
    if (rc == OFS_ECORRUPT && length == 0) {
        /* 416: reading "to the end" from the end or past it: nothing to read */
        ofs_error_clear();
        r->expected = 0;
        r->ended = 1;
        return 0;
    }
    if (rc < 0)
        return rc;
    cl = ofs_http_header(r->h, "Content-Length");
    r->expected = cl ? strtoull(cl, NULL, 10) : UINT64_MAX;
    if (r->status == 200 && offset > 0) {
        /* the server sent the whole object: drop the bytes before offset */
        r->skip = offset;
        if (r->expected != UINT64_MAX)
            r->expected = r->expected > offset ? r->expected - offset : 0;
    }
    if (length && r->expected > length)
        r->expected = length;
    return 0;
}
