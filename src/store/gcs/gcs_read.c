/*
 * gcs_read.c - the gcs get reader: a streamed alt=media GET (ranged if asked) that, when the
 * connection drops mid-body, resumes with a Range request pinned to the generation it started
 * reading (ifGenerationMatch), so a flaky link costs the lost bytes, not the whole object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/log.h"
#include "gcs_internal.h"

#define GCS_RESUMES 10

typedef struct {
    ofs_reader parent;
    gcs_store *s;
    char *name;         /* full object name */
    gcs_response resp;  /* the open transfer (resp.h), if any */
    uint64_t start;     /* object offset of the first byte this reader returns */
    uint64_t expected;  /* bytes this reader returns in all; UINT64_MAX if unknown */
    uint64_t done;
    uint64_t skip;      /* bytes to drop: the server ignored the Range */
    char generation[32];
    int resumes;
} gcs_reader;

/* gcs_get_open(r, from, length): GET [from, from+length) (length 0: to the end). */
static int gcs_get_open(gcs_reader *r, uint64_t from, uint64_t length)
{
    char range[80], query[80], *url = NULL;
    const char *headers[1];
    size_t n = 0;
    int rc;

    if (length)
        snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, from,
                 from + length - 1);
    else
        snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", from);
    if (from > 0 || length > 0)
        headers[n++] = range;
    snprintf(query, sizeof(query), "alt=media%s%s", *r->generation ? "&ifGenerationMatch=" : "",
             r->generation);
    if ((rc = gcs_object_url(r->s, "", r->name, query, &url)) < 0)
        return rc;
    gcs_request req = { .method = "GET", .url = url, .object = r->name, .headers = headers,
                        .header_count = n, .stream = 1 };
    rc = gcs_call(r->s, &req, &r->resp);
    free(url);
    return rc;
}

static int gcs_reader_resume(gcs_reader *r)
{
    int rc;

    gcs_response_done(r->s, &r->resp);
    r->resumes++;
    ofs_log_warn("%s: get %s: %s; resuming at byte %" PRIu64, r->s->parent.name, r->name,
                 ofs_error_last(), r->start + r->done);
    rc = gcs_get_open(r, r->start + r->done,
                      r->expected == UINT64_MAX ? 0 : r->expected - r->done);
    if (rc == OFS_EEXISTS)
        return ofs_error_set(OFS_ECORRUPT, "object changed while it was read (bucket %s, "
                             "object %s)", r->s->bucket, r->name);
    if (rc == 0 && r->resp.status != 206)
        return ofs_error_set(OFS_ERROR, "server ignored the Range of a resumed read (bucket "
                             "%s, object %s)", r->s->bucket, r->name);
    return rc;
}

static int gcs_reader_read(ofs_reader *base, void *buf, size_t size, size_t *got)
{
    gcs_reader *r = (gcs_reader *)base;
    int rc;

    *got = 0;
    for (;;) {
        size_t want = size;
        if (r->expected != UINT64_MAX && r->expected - r->done < want)
            want = (size_t)(r->expected - r->done);
        if (want == 0 || !r->resp.h)
            return 0;
        rc = ofs_http_read(r->resp.h, buf, want, got);
        if (rc == 0 && *got == 0 && r->expected != UINT64_MAX && r->done < r->expected)
            rc = ofs_error_set(OFS_ETRANSIENT, "connection closed after %" PRIu64 " of %"
                               PRIu64 " bytes", r->done, r->expected);
        if (rc == OFS_ETRANSIENT && r->resumes < GCS_RESUMES && *r->generation) {
            if ((rc = gcs_reader_resume(r)) < 0)
                return rc;
            continue;
        }
        if (rc < 0)
            return rc;
        if (r->skip > 0) {
            size_t drop = *got < r->skip ? *got : (size_t)r->skip;
            r->skip -= drop;
            memmove(buf, (char *)buf + drop, *got - drop);
            *got -= drop;
            if (*got == 0)
                continue;
        }
        r->done += *got;
        return 0;
    }
}

static void gcs_reader_free(ofs_reader *base)
{
    gcs_reader *r = (gcs_reader *)base;

    if (!r)
        return;
    gcs_response_done(r->s, &r->resp);
    free(r->name);
    free(r);
}

static const struct ofs_reader_ops gcs_reader_ops = { gcs_reader_read, gcs_reader_free };

int gcs_get(ofs_store *store, const char *key, uint64_t offset, uint64_t length,
            ofs_reader **out)
{
    gcs_store *s = (gcs_store *)store;
    gcs_reader *r = NULL;
    const char *cl, *gen;
    int rc;

    *out = NULL;
    if (!(r = calloc(1, sizeof(*r))) || !(r->name = gcs_full_name(s, key))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    r->parent.ops = &gcs_reader_ops;
    r->s = s;
    r->start = offset;
    rc = gcs_get_open(r, offset, length);
    if (rc == OFS_ECORRUPT && length == 0) {
        /* 416: reading "to the end" from the end or past it: nothing to read */
        ofs_error_clear();
        r->expected = 0;
        *out = &r->parent;
        return 0;
    }
    if (rc < 0)
        goto cleanup;
    cl = ofs_http_header(r->resp.h, "Content-Length");
    gen = ofs_http_header(r->resp.h, "x-goog-generation");
    if (gen && strlen(gen) < sizeof(r->generation) && strspn(gen, "0123456789") == strlen(gen))
        snprintf(r->generation, sizeof(r->generation), "%s", gen);
    r->expected = cl ? strtoull(cl, NULL, 10) : UINT64_MAX;
    if (r->resp.status == 200 && offset > 0) {
        /* the server sent the whole object: drop the bytes before offset */
        r->skip = offset;
        if (r->expected != UINT64_MAX)
            r->expected = r->expected > offset ? r->expected - offset : 0;
    }
    if (length && r->expected > length)
        r->expected = length;
    *out = &r->parent;
    r = NULL;
cleanup:
    gcs_reader_free(r ? &r->parent : NULL);
    return rc;
}
