/*
 * s3_read.c - the s3 get reader: a streamed GET (ranged if asked) on the shared resuming
 * reader (include/offsite/range_reader.h), pinned to the object's ETag (If-Match), so a flaky
 * link costs the lost bytes, not the whole object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/range_reader.h"
#include "s3_internal.h"

typedef struct {
    ofs_range_reader base;
    s3_store *s;
    char *key;          /* full key */
    s3_response resp;   /* the open transfer (resp.h), if any */
    char *etag;
} s3_reader;

static int s3_reader_open(ofs_range_reader *base, uint64_t from, uint64_t length)
{
    s3_reader *r = (s3_reader *)base;
    char range[80], if_match[300];
    const char *headers[2], *etag;
    size_t n = 0;
    int rc;

    if (length)
        snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, from,
                 from + length - 1);
    else
        snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", from);
    if (from > 0 || length > 0)
        headers[n++] = range;
    if (r->etag) {
        snprintf(if_match, sizeof(if_match), "If-Match: %s", r->etag);
        headers[n++] = if_match;
    }
    s3_request req = { .method = "GET", .key = r->key, .headers = headers, .header_count = n,
                       .stream = 1 };
    rc = s3_call(r->s, &req, &r->resp);
    base->h = r->resp.h;
    base->status = r->resp.status;
    if (rc < 0 || base->pinned)
        return rc;
    etag = ofs_http_header(r->resp.h, "ETag");
    if (etag && *etag) {
        if (!(r->etag = strdup(etag)))
            return ofs_error_set(OFS_ERROR, "out of memory");
        base->pinned = 1;
    }
    return 0;
}

static void s3_reader_close(ofs_range_reader *base)
{
    s3_reader *r = (s3_reader *)base;

    s3_response_done(r->s, &r->resp);
    base->h = NULL;
}

static void s3_reader_free(ofs_range_reader *base)
{
    s3_reader *r = (s3_reader *)base;

    free(r->key);
    free(r->etag);
}

static const ofs_range_reader_ops s3_reader_ops = { s3_reader_open, s3_reader_close, NULL,
                                                    s3_reader_free };

int s3_get(ofs_store *store, const char *key, uint64_t offset, uint64_t length,
           ofs_reader **out)
{
    s3_store *s = (s3_store *)store;
    s3_reader *r = NULL;
    int rc;

    *out = NULL;
    if (!(r = calloc(1, sizeof(*r))) || !(r->key = s3_full_key(s, key))) {
        free(r);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    r->s = s;
    if ((rc = ofs_range_reader_init(&r->base, &s3_reader_ops, s->parent.name, s->bucket, "key",
                                    r->key)) < 0 ||
        (rc = ofs_range_reader_start(&r->base, offset, length)) < 0) {
        ofs_reader_free(&r->base.parent);
        return rc;
    }
    *out = &r->base.parent;
    return 0;
}
