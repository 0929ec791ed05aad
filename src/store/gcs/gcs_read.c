/*
 * gcs_read.c - the gcs get reader: a streamed alt=media GET (ranged if asked) on the shared
 * resuming reader (include/offsite/range_reader.h), pinned to the generation it started
 * reading (ifGenerationMatch). A whole-object read is checked against the crc32c Google sends
 * in x-goog-hash, so a resumed download is proved to be the object's bytes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "offsite/error.h"
#include "offsite/range_reader.h"
#include "gcs_internal.h"

typedef struct {
    ofs_range_reader base;
    gcs_store *s;
    char *name;         /* full object name */
    gcs_response resp;  /* the open transfer (resp.h), if any */
    char generation[32];
    int whole;          /* the whole object is read: its crc32c can be checked */
    int has_crc;
    uint32_t want_crc, crc;
} gcs_reader;

/* gcs_crc_header(value, &crc): the crc32c in an x-goog-hash value ("crc32c=AAAAAA==,md5=..."
 * or one of them per header line; the first line is the one seen) */
static int gcs_crc_header(const char *value, uint32_t *crc)
{
    const char *p = value ? strstr(value, "crc32c=") : NULL;
    unsigned char raw[8];
    char b64[9];

    if (!p || strspn(p + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
                  != 8)
        return 0;
    memcpy(b64, p + 7, 8);
    b64[8] = '\0';
    if (EVP_DecodeBlock(raw, (const unsigned char *)b64, 8) != 6)
        return 0;
    *crc = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    return 1;
}

static int gcs_reader_open(ofs_range_reader *base, uint64_t from, uint64_t length)
{
    gcs_reader *r = (gcs_reader *)base;
    char range[80], query[80], *url = NULL;
    const char *headers[1], *gen;
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
    base->h = r->resp.h;
    base->status = r->resp.status;
    if (rc < 0 || base->pinned)
        return rc;
    gen = ofs_http_header(r->resp.h, "x-goog-generation");
    if (gen && *gen && strlen(gen) < sizeof(r->generation) &&
        strspn(gen, "0123456789") == strlen(gen)) {
        snprintf(r->generation, sizeof(r->generation), "%s", gen);
        base->pinned = 1;
    }
    if (r->whole && r->resp.status == 200)
        r->has_crc = gcs_crc_header(ofs_http_header(r->resp.h, "x-goog-hash"), &r->want_crc);
    return 0;
}

static void gcs_reader_close(ofs_range_reader *base)
{
    gcs_reader *r = (gcs_reader *)base;

    gcs_response_done(r->s, &r->resp);
    base->h = NULL;
}

static int gcs_reader_delivered(ofs_range_reader *base, const void *buf, size_t n)
{
    gcs_reader *r = (gcs_reader *)base;

    if (!r->has_crc)
        return 0;
    if (n > 0) {
        r->crc = ofs_gcs_crc32c(r->crc, buf, n);
        return 0;
    }
    if (r->crc != r->want_crc)
        return ofs_error_set(OFS_ECORRUPT, "downloaded bytes do not match the object's crc32c "
                             "(%s)", base->where);
    return 0;
}

static void gcs_reader_free(ofs_range_reader *base)
{
    free(((gcs_reader *)base)->name);
}

static const ofs_range_reader_ops gcs_reader_ops = {
    gcs_reader_open, gcs_reader_close, gcs_reader_delivered, gcs_reader_free };

int gcs_get(ofs_store *store, const char *key, uint64_t offset, uint64_t length,
            ofs_reader **out)
{
    gcs_store *s = (gcs_store *)store;
    gcs_reader *r = NULL;
    int rc;

    *out = NULL;
    if (!(r = calloc(1, sizeof(*r))) || !(r->name = gcs_full_name(s, key))) {
        free(r);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    r->s = s;
    r->whole = offset == 0 && length == 0;
    if ((rc = ofs_range_reader_init(&r->base, &gcs_reader_ops, s->parent.name, s->bucket,
                                    "object", r->name)) < 0 ||
        (rc = ofs_range_reader_start(&r->base, offset, length)) < 0) {
        ofs_reader_free(&r->base.parent);
        return rc;
    }
    *out = &r->base.parent;
    return 0;
}
