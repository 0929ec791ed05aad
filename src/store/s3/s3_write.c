/*
 * s3_write.c - the s3 put writer: one PUT for a small object, a multipart upload with parts
 * in flight on their own threads for a large one (see include/offsite/store_s3.h).
 *
 * Parts are whole buffers handed to a thread each, at most `parallel` at once: the writer
 * joins the oldest before starting another, so memory stays at (parallel + 1) * part_size
 * and write() blocks, as a pipe would, when the link is the bottleneck.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/s3_xml.h"
#include "s3_internal.h"

#define S3_FIRST_BUFFER ((size_t)64 << 10)

typedef struct s3_part {
    pthread_t thread;
    int threaded;
    s3_store *s;
    const char *key, *upload_id;
    unsigned number;
    unsigned char *data;
    size_t size;
    const char *listed_etag; /* the same part number in the upload being resumed, or NULL */
    uint64_t listed_size;
    int reused;              /* listed_etag held these very bytes: not sent again */
    char *etag;
    int rc;
    char *message;
} s3_part;

typedef struct {
    ofs_writer parent;
    s3_store *s;
    char *key;               /* full key */
    unsigned flags;
    unsigned char *buf;
    size_t len, cap;
    uint64_t total;
    char *upload_id;
    char **etags;            /* by part number - 1 */
    unsigned parts;          /* parts started */
    unsigned stored;         /* parts the server holds */
    s3_resume resume;        /* what an earlier run left of this upload */
    unsigned reused;         /* parts of it that were not sent again */
    uint64_t reused_bytes;
    s3_part *inflight[S3_MAX_PARALLEL];
    size_t inflight_count;   /* oldest first */
    int rc;                  /* first failure; the writer is dead after it */
    char *message;
    int committed;
} s3_writer;

/* s3_md5(data, size, md, base64): the MD5, raw and (base64 not NULL) as Content-MD5 wants it */
static int s3_md5(const void *data, size_t size, unsigned char md[16], char base64[25])
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(data ? data : "", size, buf, &len, EVP_md5(), NULL) != 1 || len != 16)
        return ofs_error_set(OFS_ERROR, "openssl: MD5 failed");
    memcpy(md, buf, 16);
    if (base64)
        EVP_EncodeBlock((unsigned char *)base64, md, 16);
    return 0;
}

int s3_content_md5(const void *data, size_t size, char out[25])
{
    unsigned char md[16];
    return s3_md5(data, size, md, out);
}

/* etag_is_md5(etag, md): a plain (not multipart, not KMS) ETag is the hex MD5 in quotes */
static int etag_is_md5(const char *etag, const unsigned char md[16])
{
    char hex[33];
    size_t n;

    ofs_hex_encode(md, 16, hex);
    if (*etag == '"')
        etag++;
    n = strlen(etag);
    if (n > 0 && etag[n - 1] == '"')
        n--;
    return n == 32 && strncasecmp(etag, hex, 32) == 0;
}

/* ---- parts ---- */

static void *s3_part_run(void *arg)
{
    s3_part *p = arg;
    char md5[25], md5_header[40], number[16];
    unsigned char md[16];
    s3_response resp;
    const char *etag;

    memset(&resp, 0, sizeof(resp));
    if ((p->rc = s3_md5(p->data, p->size, md, md5)) < 0)
        goto done;
    /* an earlier run stored these very bytes under this number: keep them */
    if (p->listed_etag && p->listed_size == p->size && etag_is_md5(p->listed_etag, md)) {
        p->reused = 1;
        if (!(p->etag = strdup(p->listed_etag)))
            p->rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto done;
    }
    snprintf(md5_header, sizeof(md5_header), "Content-MD5: %s", md5);
    snprintf(number, sizeof(number), "%u", p->number);
    const char *headers[] = { md5_header };
    const ofs_sigv4_param params[] = { { "partNumber", number }, { "uploadId", p->upload_id } };
    s3_request req = { .method = "PUT", .key = p->key, .params = params, .param_count = 2,
                       .headers = headers, .header_count = 1, .body = p->data,
                       .body_size = p->size };
    if ((p->rc = s3_call(p->s, &req, &resp)) < 0)
        goto done;
    etag = ofs_http_header(resp.h, "ETag");
    if (!etag || !*etag)
        p->rc = ofs_error_set(OFS_ECORRUPT, "malformed S3 response: part %u stored without an "
                              "ETag (bucket %s, key %s)", p->number, p->s->bucket, p->key);
    else if (!(p->etag = strdup(etag)))
        p->rc = ofs_error_set(OFS_ERROR, "out of memory");
done:
    s3_response_done(p->s, &resp);
    if (p->rc < 0) {
        char *msg = ofs_error_save();
        if (msg && asprintf(&p->message, "part %u: %s", p->number, msg) < 0)
            p->message = NULL;
        free(msg);
    }
    free(p->data);
    p->data = NULL;
    return NULL;
}

/* s3_fail(w, rc, message): remember the first failure (message is taken over). */
static void s3_fail(s3_writer *w, int rc, char *message)
{
    if (w->rc == 0) {
        w->rc = rc;
        w->message = message;
    } else {
        free(message);
    }
}

static int s3_failed(s3_writer *w)
{
    return ofs_error_restore(w->rc, w->message);
}

/* s3_part_join(w): wait for the oldest part in flight and collect its result. */
static void s3_part_join(s3_writer *w)
{
    s3_part *p = w->inflight[0];

    if (p->threaded)
        pthread_join(p->thread, NULL);
    memmove(w->inflight, w->inflight + 1, (w->inflight_count - 1) * sizeof(*w->inflight));
    w->inflight_count--;
    if (p->rc < 0) {
        s3_fail(w, p->rc, p->message);
        p->message = NULL;
    } else {
        w->etags[p->number - 1] = p->etag;
        p->etag = NULL;
        w->stored++;
        if (p->reused) {
            w->reused++;
            w->reused_bytes += p->size;
        }
    }
    free(p->etag);
    free(p->message);
    free(p->data);
    free(p);
}

static void s3_part_join_all(s3_writer *w)
{
    while (w->inflight_count > 0)
        s3_part_join(w);
}

static int s3_multipart_begin(s3_writer *w)
{
    s3_response resp;
    char storage[128], lock_mode[S3_LOCK_HEADER], lock_until[S3_LOCK_HEADER];
    const char *headers[3];
    size_t n = 0;
    int rc;

    /* an upload an interrupted run left behind is continued; if the server cannot say, a
     * new upload costs only the time to send the parts again */
    if ((rc = s3_resume_find(w->s, w->key, &w->resume)) < 0) {
        ofs_log_debug("%s: %s: cannot list unfinished uploads: %s", w->s->parent.name, w->key,
                      ofs_error_last());
        ofs_error_clear();
        s3_resume_free(&w->resume);
    }
    if (w->resume.upload_id) {
        w->upload_id = w->resume.upload_id;
        w->resume.upload_id = NULL;
        ofs_log_debug("%s: %s: resuming multipart upload %s (%u part(s) already there)",
                      w->s->parent.name, w->key, w->upload_id, w->resume.listed);
        return 0;
    }
    if (w->s->storage_class) {
        snprintf(storage, sizeof(storage), "x-amz-storage-class: %s", w->s->storage_class);
        headers[n++] = storage;
    }
    if ((rc = s3_lock_headers(w->s, w->key, s3_now(w->s), lock_mode, lock_until)) < 0)
        return rc;
    if (rc > 0) {
        headers[n++] = lock_mode;
        headers[n++] = lock_until;
    }
    const ofs_sigv4_param params[] = { { "uploads", NULL } };
    s3_request req = { .method = "POST", .key = w->key, .params = params, .param_count = 1,
                       .headers = headers, .header_count = n };
    if ((rc = s3_call(w->s, &req, &resp)) == 0)
        rc = ofs_s3_xml_upload_id(resp.body, resp.body_size, &w->upload_id);
    s3_response_done(w->s, &resp);
    if (rc == 0)
        ofs_log_debug("%s: %s: multipart upload started", w->s->parent.name, w->key);
    return rc;
}

/* s3_part_start(w): hand the buffer to a new part; waits while `parallel` are in flight. */
static int s3_part_start(s3_writer *w)
{
    s3_part *p = NULL;
    int rc;

    if (!w->upload_id && (rc = s3_multipart_begin(w)) < 0)
        return rc;
    if (w->parts >= S3_MAX_PARTS)
        return ofs_error_set(OFS_ERROR, "object larger than %d parts of %" PRIu64 " bytes "
                             "(bucket %s, key %s)\nHINT: raise part_size in the target",
                             S3_MAX_PARTS, w->s->part_size, w->s->bucket, w->key);
    if (w->parts % 64 == 0) {
        char **e = realloc(w->etags, (w->parts + 64) * sizeof(*e));
        if (!e)
            return ofs_error_set(OFS_ERROR, "out of memory");
        memset(e + w->parts, 0, 64 * sizeof(*e));
        w->etags = e;
    }
    while (w->inflight_count >= (size_t)w->s->parallel)
        s3_part_join(w);
    if (w->rc < 0)
        return s3_failed(w);
    if (!(p = calloc(1, sizeof(*p))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    p->s = w->s;
    p->key = w->key;
    p->upload_id = w->upload_id;
    p->number = ++w->parts;
    if (p->number <= w->resume.count && w->resume.parts[p->number - 1].etag) {
        p->listed_etag = w->resume.parts[p->number - 1].etag;
        p->listed_size = w->resume.parts[p->number - 1].size;
    }
    p->data = w->buf;
    p->size = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    w->inflight[w->inflight_count++] = p;
    /* a part that cannot get a thread is uploaded right here */
    if (w->s->parallel > 1 && pthread_create(&p->thread, NULL, s3_part_run, p) == 0)
        p->threaded = 1;
    else
        s3_part_run(p);
    return 0;
}

/* ---- the writer ---- */

static int s3_writer_write(ofs_writer *base, const void *data, size_t size)
{
    s3_writer *w = (s3_writer *)base;
    const unsigned char *p = data;
    int rc;

    if (w->rc < 0)
        return s3_failed(w);
    while (size > 0) {
        size_t n;
        /* a full buffer becomes a part only once more data comes: an object of exactly
         * part_size bytes stays a single PUT */
        if (w->len == w->s->part_size && (rc = s3_part_start(w)) < 0) {
            s3_fail(w, rc, ofs_error_save());
            return s3_failed(w);
        }
        if (w->len == w->cap) {
            size_t cap = w->cap ? w->cap * 2 : S3_FIRST_BUFFER;
            unsigned char *nb;
            if (cap > w->s->part_size)
                cap = (size_t)w->s->part_size;
            if (!(nb = realloc(w->buf, cap)))
                return ofs_error_set(OFS_ERROR, "out of memory");
            w->buf = nb;
            w->cap = cap;
        }
        n = w->cap - w->len < size ? w->cap - w->len : size;
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        w->total += n;
        p += n;
        size -= n;
    }
    return 0;
}

int s3_object_is(s3_store *s, const char *full_key, const void *data, size_t size)
{
    unsigned char md[16];
    char hex[33], quoted[40];
    ofs_object_info info;
    char *etag = NULL;
    int same;

    if (s3_md5(data, size, md, NULL) < 0)
        return 0;
    ofs_hex_encode(md, 16, hex);
    snprintf(quoted, sizeof(quoted), "\"%s\"", hex);
    same = s3_head(s, full_key, &info, &etag) == 0 && info.size == size && etag &&
           strcmp(etag, quoted) == 0;
    free(etag);
    return same;
}

int s3_put_object(s3_store *s, const char *full_key, const void *data, size_t size,
                  const char *condition, char **etag)
{
    char md5[25], md5_header[40], storage[128];
    char lock_mode[S3_LOCK_HEADER], lock_until[S3_LOCK_HEADER];
    const char *headers[5], *tag;
    s3_response resp;
    size_t n = 0;
    int rc;

    if (etag)
        *etag = NULL;
    if ((rc = s3_content_md5(data, size, md5)) < 0)
        return rc;
    snprintf(md5_header, sizeof(md5_header), "Content-MD5: %s", md5);
    headers[n++] = md5_header;
    if (s->storage_class) {
        snprintf(storage, sizeof(storage), "x-amz-storage-class: %s", s->storage_class);
        headers[n++] = storage;
    }
    if (condition)
        headers[n++] = condition;
    /* the Content-MD5 above is what S3 requires of a PUT with retention */
    if ((rc = s3_lock_headers(s, full_key, s3_now(s), lock_mode, lock_until)) < 0)
        return rc;
    if (rc > 0) {
        headers[n++] = lock_mode;
        headers[n++] = lock_until;
    }
    s3_request req = { .method = "PUT", .key = full_key, .headers = headers, .header_count = n,
                       .body = data ? data : (const void *)"", .body_size = size };
    rc = s3_call(s, &req, &resp);
    if (rc == 0 && etag && (tag = ofs_http_header(resp.h, "ETag")) && *tag &&
        !(*etag = strdup(tag)))
        rc = ofs_error_set(OFS_ERROR, "out of memory");
    s3_response_done(s, &resp);
    return rc;
}

/* s3_absent(w): 0 if w's key may be written under OFS_PUT_IF_ABSENT by a plain PUT (the
 * server ignores If-None-Match, so look first: a window of one round trip), OFS_EEXISTS if
 * something is there */
static int s3_absent(s3_writer *w)
{
    ofs_object_info info;
    int rc = s3_head(w->s, w->key, &info, NULL);

    if (rc == 0)
        return OFS_EEXISTS;
    if (rc == OFS_ENOTFOUND) {
        ofs_error_clear();
        return 0;
    }
    return rc;
}

static int s3_put_single(s3_writer *w)
{
    const char *condition = NULL;
    int rc = 0;

    if (w->flags & OFS_PUT_IF_ABSENT) {
        if (w->s->if_none_match == 0 && (rc = s3_conditions_probe(w->s)) < 0)
            return rc;
        if (w->s->if_none_match > 0)
            condition = "If-None-Match: *";
        else
            rc = s3_absent(w);
    }
    if (rc == 0)
        rc = s3_put_object(w->s, w->key, w->buf, w->len, condition, NULL);
    /* a retried conditional PUT whose first attempt landed must not turn into "exists" */
    if (rc == OFS_EEXISTS) {
        if (s3_object_is(w->s, w->key, w->buf, w->len))
            rc = 0;
        else
            ofs_error_set(OFS_EEXISTS, "already exists (bucket %s, key %s)", w->s->bucket,
                          w->key);
    }
    return rc;
}

static int s3_multipart_complete(s3_writer *w)
{
    char *body = NULL;
    s3_response resp;
    ofs_object_info info;
    int rc;

    memset(&resp, 0, sizeof(resp));
    if (w->flags & OFS_PUT_IF_ABSENT) {
        /* not atomic: servers differ on conditional CompleteMultipartUpload */
        rc = s3_head(w->s, w->key, &info, NULL);
        if (rc == 0)
            return ofs_error_set(OFS_EEXISTS, "already exists (bucket %s, key %s)",
                                 w->s->bucket, w->key);
        if (rc != OFS_ENOTFOUND)
            return rc;
        ofs_error_clear();
    }
    if ((rc = ofs_s3_xml_complete_body(w->etags, w->parts, &body)) < 0)
        return rc;
    const ofs_sigv4_param params[] = { { "uploadId", w->upload_id } };
    s3_request req = { .method = "POST", .key = w->key, .params = params, .param_count = 1,
                       .headers = (const char *[]){ "Content-Type: application/xml" },
                       .header_count = 1, .body = body, .body_size = strlen(body),
                       .error_in_ok = 1 };
    rc = s3_call(w->s, &req, &resp);
    s3_response_done(w->s, &resp);
    free(body);
    /* NoSuchUpload after a retry: the first attempt completed it; the HEAD below decides */
    if (rc < 0 && rc != OFS_ENOTFOUND)
        return rc;
    if (rc == OFS_ENOTFOUND)
        ofs_error_clear();
    /* the completion answer's ETag is not dependable (Ceph leaves it empty): check the size */
    if ((rc = s3_head(w->s, w->key, &info, NULL)) < 0)
        return rc;
    if (info.size != w->total)
        return ofs_error_set(OFS_ECORRUPT, "multipart upload completed with %" PRIu64 " bytes, "
                             "%" PRIu64 " were sent (bucket %s, key %s)", info.size, w->total,
                             w->s->bucket, w->key);
    return 0;
}

static int s3_writer_finish(ofs_writer *base)
{
    s3_writer *w = (s3_writer *)base;
    int rc;

    if (w->rc < 0)
        return s3_failed(w);
    if (!w->upload_id) {
        rc = s3_put_single(w);
    } else {
        if (w->len > 0 && (rc = s3_part_start(w)) < 0) {
            s3_fail(w, rc, ofs_error_save());
            s3_part_join_all(w);
            return s3_failed(w);
        }
        s3_part_join_all(w);
        if (w->rc < 0)
            return s3_failed(w);
        /* remembered, so free knows a transient failure left parts worth resuming */
        if ((rc = s3_multipart_complete(w)) < 0)
            s3_fail(w, rc, ofs_error_save());
    }
    if (rc == 0) {
        w->committed = 1;
        ofs_log_debug("%s: %s: stored %" PRIu64 " bytes in %u part(s)", w->s->parent.name,
                      w->key, w->total, w->parts ? w->parts : 1);
        if (w->reused > 0)
            ofs_log_info("%s: %s: resumed an interrupted upload: %u of %u parts were already "
                         "there (%" PRIu64 " bytes not sent again)", w->s->parent.name, w->key,
                         w->reused, w->parts, w->reused_bytes);
    }
    return rc;
}

static void s3_multipart_abort(s3_writer *w)
{
    char *saved = ofs_error_save();
    int rc;

    /* the link failed, not the data: the next run resumes these parts (a lifecycle rule
     * removes them if it never comes) */
    if (w->rc == OFS_ETRANSIENT && w->stored > 0) {
        ofs_log_info("%s: %s: multipart upload left for the next run to resume (%u part(s) "
                     "stored)", w->s->parent.name, w->key, w->stored);
        free(saved);
        return;
    }
    rc = s3_upload_abort(w->s, w->key, w->upload_id);
    if (rc < 0)
        ofs_log_warn("%s: %s: could not abort the multipart upload: %s\nHINT: a lifecycle rule "
                     "that aborts incomplete uploads removes its parts", w->s->parent.name,
                     w->key, ofs_error_last());
    /* the caller's error message is the one that matters */
    ofs_error_restore(0, saved);
    free(saved);
}

static void s3_writer_free(ofs_writer *base)
{
    s3_writer *w = (s3_writer *)base;

    if (!w)
        return;
    s3_part_join_all(w);
    if (w->upload_id && !w->committed)
        s3_multipart_abort(w);
    for (unsigned i = 0; i < w->parts; i++)
        free(w->etags[i]);
    free(w->etags);
    s3_resume_free(&w->resume);
    free(w->upload_id);
    free(w->buf);
    free(w->key);
    free(w->message);
    free(w);
}

static const struct ofs_writer_ops s3_writer_ops = { s3_writer_write, s3_writer_finish,
                                                     s3_writer_free };

int s3_put(ofs_store *store, const char *key, unsigned flags, ofs_writer **out)
{
    s3_store *s = (s3_store *)store;
    s3_writer *w = NULL;
    int rc;

    *out = NULL;
    /* a bucket that cannot lock fails the first put, before any byte is sent */
    if ((rc = s3_lock_check(s)) < 0)
        return rc;
    if (!(w = calloc(1, sizeof(*w))) || !(w->key = s3_full_key(s, key))) {
        free(w);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    w->parent.ops = &s3_writer_ops;
    w->s = s;
    w->flags = flags;
    *out = &w->parent;
    return 0;
}
