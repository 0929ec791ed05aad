/*
 * gcs_write.c - the gcs put writer: one media upload for a small object, a resumable upload
 * in part_size chunks for a larger one, resumed after a crash from a session file (see
 * include/offsite/store_gcs.h).
 *
 * Chunks go out from write() as the buffer fills, so memory stays at one part_size. Each
 * chunk is acknowledged with 308 and the Range the session now holds; bytes the server did
 * not keep stay in the buffer and go again. After a failed chunk the session is asked what it
 * holds (Content-Range: bytes *\/ *) before anything is sent again, as Google's documentation
 * asks: a chunk that landed but whose answer was lost is not sent twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/retry.h"
#include "gcs_internal.h"

typedef struct {
    ofs_writer parent;
    gcs_store *s;
    char *name;              /* full object name */
    unsigned flags;
    unsigned char *buf;      /* bytes not yet held by the server */
    size_t len, cap;
    uint64_t total;          /* bytes written by the caller */
    uint64_t sent;           /* bytes the session holds (buf[0] is byte `sent`) */
    uint64_t skip;           /* input bytes still to drop: a resumed session has them */
    EVP_MD_CTX *md5;
    uint32_t crc;
    char *session;           /* the resumable session's URL, or NULL */
    char *session_file;      /* where it is kept for a later run */
    json_t *retention;       /* object retention for the upload's metadata, or NULL */
    int rc;                  /* first failure; the writer is dead after it */
    char *message;
    int committed;
} gcs_writer;

int gcs_md5_base64(const void *data, size_t size, char out[25])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(data ? data : "", size, md, &len, EVP_md5(), NULL) != 1 || len != 16)
        return ofs_error_set(OFS_ERROR, "openssl: MD5 failed");
    EVP_EncodeBlock((unsigned char *)out, md, 16);
    return 0;
}

void gcs_crc32c_base64(uint32_t crc, char out[9])
{
    unsigned char be[4] = { (unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                            (unsigned char)(crc >> 8), (unsigned char)crc };
    EVP_EncodeBlock((unsigned char *)out, be, 4);
}

/* gcs_check_hashes(s, name, json, size, total, md5, crc): the object the server reports is
 * the one sent; else it is deleted and OFS_ECORRUPT */
static int gcs_check_hashes(gcs_store *s, const char *name, const char *json, size_t size,
                            uint64_t total, const char *md5, const char *crc,
                            ofs_object_info *out)
{
    ofs_object_info info;
    char *got_md5 = NULL, *got_crc = NULL;
    int rc;

    if ((rc = gcs_object_meta(json, size, &info, &got_md5, &got_crc)) < 0)
        goto cleanup;
    if (info.size != total || (got_md5 && strcmp(got_md5, md5) != 0) ||
        (got_crc && strcmp(got_crc, crc) != 0) || (!got_md5 && !got_crc)) {
        rc = ofs_error_set(OFS_ECORRUPT, "uploaded object differs from what was sent: %" PRIu64
                           " bytes, md5 %s, crc32c %s stored; %" PRIu64 " bytes, md5 %s, crc32c "
                           "%s sent (bucket %s, object %s)", info.size,
                           got_md5 ? got_md5 : "none", got_crc ? got_crc : "none", total, md5,
                           crc, s->bucket, name);
        char *saved = ofs_error_save();
        if (gcs_delete_full(s, name) < 0)
            ofs_log_warn("%s: could not delete the bad upload '%s': %s", s->parent.name, name,
                         ofs_error_last());
        ofs_error_restore(rc, saved);
        free(saved);
        goto cleanup;
    }
    if (out)
        *out = info;
cleanup:
    free(got_md5);
    free(got_crc);
    return rc;
}

int gcs_media_upload(gcs_store *s, const char *full_name, const void *data, size_t size,
                     const gcs_hashes *known, const char *if_generation, ofs_object_info *info)
{
    char *enc = NULL, *query = NULL, *url = NULL, *md5_header = NULL;
    gcs_hashes computed;
    gcs_response resp;
    int rc;

    memset(&resp, 0, sizeof(resp));
    if (!known) {
        if ((rc = gcs_md5_base64(data, size, computed.md5)) < 0)
            return rc;
        gcs_crc32c_base64(ofs_gcs_crc32c(0, data, size), computed.crc32c);
        known = &computed;
    }
    const char *md5 = known->md5, *crc = known->crc32c;
    if ((rc = ofs_http_url_encode(full_name, 0, &enc)) < 0)
        return rc;
    if (asprintf(&query, "uploadType=media&name=%s%s%s", enc,
                 if_generation ? "&ifGenerationMatch=" : "", if_generation ? if_generation : "")
        < 0 || asprintf(&md5_header, "x-goog-hash: md5=%s", md5) < 0) {
        query = md5_header = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = gcs_object_url(s, "/upload", NULL, query, &url)) < 0)
        goto cleanup;
    /* x-goog-hash lets Google refuse a body damaged on the way; the answer is checked too */
    const char *headers[] = { "Content-Type: application/octet-stream", md5_header };
    gcs_request req = { .method = "POST", .url = url, .object = full_name, .headers = headers,
                        .header_count = 2, .body = data ? data : "", .body_size = size };
    if ((rc = gcs_call(s, &req, &resp)) == 0)
        rc = gcs_check_hashes(s, full_name, resp.body, resp.body_size, size, md5, crc, info);
cleanup:
    gcs_response_done(s, &resp);
    free(enc);
    free(query);
    free(md5_header);
    free(url);
    return rc;
}

/* ---- session files ---- */

/* session_path(s, name, &path): SESSION_DIR/SHA256(origin bucket name) */
static int session_path(gcs_store *s, const char *name, char **path)
{
    char *id = NULL, hex[OFS_SHA256_HEX];
    uint8_t digest[OFS_SHA256_BYTES];
    int rc;

    *path = NULL;
    if (asprintf(&id, "%s\n%s\n%s", s->origin, s->bucket, name) < 0)
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = ofs_sha256_buffer(id, strlen(id), digest);
    free(id);
    if (rc < 0)
        return rc;
    ofs_hex_encode(digest, sizeof(digest), hex);
    if (asprintf(path, "%s/%s.session", s->session_dir, hex) < 0) {
        *path = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

/* session_save(w): keep the session URL for a later run (0700 dir, 0600 file: the URL alone
 * lets anyone write the object) */
static int session_save(gcs_writer *w)
{
    char *text = NULL;
    int rc;

    if ((rc = ofs_mkdir_p(w->s->session_dir, 0700)) < 0)
        return rc;
    if (asprintf(&text, "%s\n%lld\n", w->session, (long long)time(NULL)) < 0)
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = ofs_write_file_atomic(w->session_file, text, strlen(text), 0600);
    free(text);
    return rc;
}

static void session_forget(gcs_writer *w)
{
    if (w->session_file && unlink(w->session_file) < 0 && errno != ENOENT)
        ofs_log_warn("%s: cannot remove '%s': %s", w->s->parent.name, w->session_file,
                     strerror(errno));
    free(w->session);
    w->session = NULL;
}

/* session_cancel(w): DELETE the session (best effort: Google drops it after a week anyway) */
static void session_cancel(gcs_writer *w)
{
    gcs_response resp;

    if (w->session) {
        /* called on failure paths too: the caller's message must survive */
        char *saved = ofs_error_save();
        gcs_request req = { .method = "DELETE", .url = w->session, .object = w->name,
                            .max_tries = 2 };
        /* Google answers a cancelled session 499: any answer will do */
        gcs_call(w->s, &req, &resp);
        gcs_response_done(w->s, &resp);
        ofs_error_restore(0, saved);
        free(saved);
    }
    session_forget(w);
}

/*
 * session_query(w, &persisted, &finished): how many bytes the session holds. *finished is
 * set if the object was completed (the run that sent the last chunk died before it could
 * forget the session). OFS_ENOTFOUND if the session is gone.
 */
static int session_query(gcs_writer *w, uint64_t *persisted, int *finished)
{
    static const char *const headers[] = { "Content-Range: bytes */*" };
    gcs_response resp;
    const char *range;
    int rc;

    *persisted = 0;
    *finished = 0;
    gcs_request req = { .method = "PUT", .url = w->session, .object = w->name,
                        .headers = headers, .header_count = 1, .body = "", .body_size = 0,
                        .accept_308 = 1 };
    if ((rc = gcs_call(w->s, &req, &resp)) < 0) {
        /* 410 Gone / 404: expired or cancelled */
        if (resp.status == 410 || rc == OFS_ENOTFOUND || rc == OFS_ERROR)
            rc = OFS_ENOTFOUND;
        goto cleanup;
    }
    if (resp.status != 308) {
        *finished = 1;
        goto cleanup;
    }
    range = ofs_http_header(resp.h, "Range");
    if (range) {
        unsigned long long first, last;
        if (sscanf(range, "bytes=%llu-%llu", &first, &last) != 2 || first != 0)
            rc = ofs_error_set(OFS_ECORRUPT, "malformed GCS response: Range '%s' (bucket %s, "
                               "object %s)", range, w->s->bucket, w->name);
        else
            *persisted = last + 1;
    }
cleanup:
    gcs_response_done(w->s, &resp);
    return rc;
}

/* session_resume(w): continue the session an earlier run left for this object, if any */
static int session_resume(gcs_writer *w)
{
    char *text = NULL, *nl;
    size_t size = 0;
    long long created = 0;
    uint64_t persisted = 0;
    int rc, finished = 0;

    rc = ofs_read_file(w->session_file, &text, &size, 64 << 10);
    if (rc == OFS_ENOTFOUND) {
        ofs_error_clear();
        return 0;
    }
    if (rc < 0)
        return rc;
    if (!(nl = strchr(text, '\n')) || sscanf(nl + 1, "%lld", &created) != 1) {
        ofs_log_warn("%s: ignoring malformed session file '%s'", w->s->parent.name,
                     w->session_file);
        free(text);
        session_forget(w);
        return 0;
    }
    *nl = '\0';
    w->session = text;
    if ((int64_t)time(NULL) - created > GCS_SESSION_MAX_AGE) {
        ofs_log_info("%s: %s: the interrupted upload is older than 6 days: starting again",
                     w->s->parent.name, w->name);
        session_cancel(w);
        return 0;
    }
    rc = session_query(w, &persisted, &finished);
    if (rc == OFS_ENOTFOUND || (rc == 0 && finished)) {
        ofs_error_clear();
        session_forget(w);
        return 0;
    }
    if (rc < 0)
        return rc;
    w->sent = w->skip = persisted;
    ofs_log_info("%s: %s: resumed an interrupted upload at byte %" PRIu64, w->s->parent.name,
                 w->name, persisted);
    return 0;
}

/* session_start(w): a new resumable session */
static int session_start(gcs_writer *w)
{
    gcs_store *s = w->s;
    char *enc = NULL, *query = NULL, *url = NULL, *meta = NULL;
    const char *location;
    json_t *doc = json_pack("{s:s}", "name", w->name);
    gcs_response resp;
    int rc;

    memset(&resp, 0, sizeof(resp));
    if (doc && s->storage_class)
        json_object_set_new(doc, "storageClass", json_string(s->storage_class));
    if (doc && w->retention)
        json_object_set(doc, "retention", w->retention);
    if (!doc || !(meta = json_dumps(doc, JSON_COMPACT))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = ofs_http_url_encode(w->name, 0, &enc)) < 0)
        goto cleanup;
    if (asprintf(&query, "uploadType=resumable&name=%s%s", enc,
                 (w->flags & OFS_PUT_IF_ABSENT) ? "&ifGenerationMatch=0" : "") < 0) {
        query = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = gcs_object_url(s, "/upload", NULL, query, &url)) < 0)
        goto cleanup;
    const char *headers[] = { "Content-Type: application/json; charset=UTF-8",
                              "X-Upload-Content-Type: application/octet-stream" };
    gcs_request req = { .method = "POST", .url = url, .object = w->name, .headers = headers,
                        .header_count = 2, .body = meta, .body_size = strlen(meta) };
    if ((rc = gcs_call(s, &req, &resp)) < 0)
        goto cleanup;
    if (!(location = ofs_http_header(resp.h, "Location")) || !*location) {
        rc = ofs_error_set(OFS_ECORRUPT, "malformed GCS response: a resumable upload without "
                           "a Location (bucket %s, object %s)", s->bucket, w->name);
        goto cleanup;
    }
    if (!(w->session = strdup(location))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = session_save(w)) < 0) {
        /* without the file the upload still works; only a crash would start it again */
        ofs_log_warn("%s: %s: cannot keep the upload session: %s", s->parent.name, w->name,
                     ofs_error_last());
        ofs_error_clear();
        rc = 0;
    }
cleanup:
    gcs_response_done(s, &resp);
    json_decref(doc);
    free(meta);
    free(enc);
    free(query);
    free(url);
    return rc;
}

/* ---- chunks ---- */

/*
 * chunk_send(w, size, last, &resp): PUT buf[0..size) at offset sent; with last, the object's
 * total size closes the upload. One attempt: the caller asks the session before another.
 */
static int chunk_send(gcs_writer *w, size_t size, int last, gcs_response *resp)
{
    char range[128];

    if (size == 0)
        snprintf(range, sizeof(range), "Content-Range: bytes */%" PRIu64, w->total);
    else if (last)
        snprintf(range, sizeof(range), "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                 w->sent, w->sent + size - 1, w->total);
    else
        snprintf(range, sizeof(range), "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/*",
                 w->sent, w->sent + size - 1);
    const char *headers[] = { range };
    gcs_request req = { .method = "PUT", .url = w->session, .object = w->name,
                        .headers = headers, .header_count = 1, .body = w->buf,
                        .body_size = size, .accept_308 = 1, .max_tries = 1 };
    return gcs_call(w->s, &req, resp);
}

/* held_from(w, resp, &held): the bytes the session holds after a 308 */
static int held_from(gcs_writer *w, const gcs_response *resp, uint64_t *held)
{
    const char *range = ofs_http_header(resp->h, "Range");
    unsigned long long first, last;

    *held = 0;
    if (!range)
        return 0;
    if (sscanf(range, "bytes=%llu-%llu", &first, &last) != 2 || first != 0)
        return ofs_error_set(OFS_ECORRUPT, "malformed GCS response: Range '%s' (bucket %s, "
                             "object %s)", range, w->s->bucket, w->name);
    *held = last + 1;
    return 0;
}

/* advance(w, held): drop the bytes the session now holds from the buffer */
static int advance(gcs_writer *w, uint64_t held)
{
    if (held < w->sent || held > w->sent + w->len)
        return ofs_error_set(OFS_ECORRUPT, "resumable upload holds %" PRIu64 " bytes, %" PRIu64
                             " were sent (bucket %s, object %s)", held, w->sent + w->len,
                             w->s->bucket, w->name);
    memmove(w->buf, w->buf + (held - w->sent), w->len - (size_t)(held - w->sent));
    w->len -= (size_t)(held - w->sent);
    w->sent = held;
    return 0;
}

/*
 * flush_chunks(w, last): send the buffer in part_size chunks (all of it with last), retrying
 * inside the store budget; with last, the final answer is checked against the hashes.
 */
static int flush_chunks(gcs_writer *w, int last, const char *md5, const char *crc)
{
    gcs_store *s = w->s;
    ofs_retry_policy policy = { 8, 0.5, 8.0, s->retry_budget, 120.0, 1 };
    ofs_retry r;
    int rc = 0;

    ofs_retry_begin(&r, &policy);
    while (last ? !w->committed : w->len >= s->part_size) {
        gcs_response resp;
        size_t size = last ? w->len : (size_t)s->part_size;
        /* a closing chunk may be large (the rest of the buffer), a middle one is exact */
        int closing = last && w->len <= s->part_size;
        if (last && !closing)
            size = (size_t)s->part_size;
        rc = chunk_send(w, size, closing, &resp);
        if (rc == 0 && resp.status == 308) {
            uint64_t held = 0;
            rc = held_from(w, &resp, &held);
            if (rc == 0)
                rc = advance(w, held);
        } else if (rc == 0 && !closing) {
            /* the object was finished before its end: a server without chunked uploads */
            rc = ofs_error_set(OFS_ECORRUPT, "the server finished the upload after a chunk of "
                               "%zu bytes of an unfinished object (bucket %s, object %s)\n"
                               "HINT: it does not take chunked resumable uploads (the Cloud "
                               "Storage emulator does not): set 'part_size' above the "
                               "largest object (volume_size)", size, s->bucket, w->name);
            char *saved = ofs_error_save();
            gcs_delete_full(s, w->name);
            ofs_error_restore(rc, saved);
            free(saved);
            session_forget(w);
        } else if (rc == 0) {
            rc = gcs_check_hashes(s, w->name, resp.body, resp.body_size, w->total, md5, crc,
                                  NULL);
            w->committed = rc == 0;
        }
        gcs_response_done(s, &resp);
        if (rc == OFS_ETRANSIENT) {
            uint64_t held = 0;
            int finished = 0, qrc;
            if (!ofs_retry_again(&r, rc, s->parent.name, "PUT", w->name))
                break;
            /* what did the session keep of the failed chunk? */
            char *saved = ofs_error_save();
            qrc = session_query(w, &held, &finished);
            if (qrc == 0 && finished && closing) {
                /* the closing chunk landed, its answer was lost: check the object */
                ofs_object_info info;
                if ((rc = gcs_stat_full(s, w->name, &info)) == 0 && info.size != w->total)
                    rc = ofs_error_set(OFS_ECORRUPT, "uploaded object has %" PRIu64 " bytes, "
                                       "%" PRIu64 " were sent (bucket %s, object %s)",
                                       info.size, w->total, s->bucket, w->name);
                w->committed = rc == 0;
                free(saved);
                break;
            }
            if (qrc == 0 && !finished)
                qrc = advance(w, held);
            if (qrc < 0 && qrc != OFS_ETRANSIENT) {
                rc = qrc;
                free(saved);
                break;
            }
            ofs_error_restore(OFS_ETRANSIENT, saved);
            free(saved);
            continue;
        }
        if (rc < 0)
            break;
    }
    ofs_retry_end(&r);
    return rc;
}

/* ---- the writer ---- */

static int gcs_writer_fail(gcs_writer *w, int rc)
{
    w->rc = rc;
    free(w->message);
    w->message = ofs_error_save();
    return rc;
}

static int gcs_writer_write(ofs_writer *base, const void *data, size_t size)
{
    gcs_writer *w = (gcs_writer *)base;
    const unsigned char *p = data;
    int rc;

    if (w->rc < 0)
        return ofs_error_restore(w->rc, w->message);
    if (EVP_DigestUpdate(w->md5, data, size) != 1)
        return gcs_writer_fail(w, ofs_error_set(OFS_ERROR, "openssl: MD5 failed"));
    w->crc = ofs_gcs_crc32c(w->crc, data, size);
    w->total += size;
    if (w->skip > 0) {
        /* the resumed session holds these; the final md5 check covers them */
        size_t drop = size < w->skip ? size : (size_t)w->skip;
        w->skip -= drop;
        p += drop;
        size -= drop;
    }
    if (w->len + size > w->cap) {
        size_t cap = w->cap ? w->cap : 64 << 10;
        unsigned char *grown;
        while (cap < w->len + size)
            cap *= 2;
        if (cap > w->s->part_size * 2 && w->len + size <= w->s->part_size * 2)
            cap = (size_t)w->s->part_size * 2;
        if (!(grown = realloc(w->buf, cap)))
            return gcs_writer_fail(w, ofs_error_set(OFS_ERROR, "out of memory"));
        w->buf = grown;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, size);
    w->len += size;
    if (w->len >= w->s->part_size) {
        if (!w->session && (rc = session_start(w)) < 0)
            return gcs_writer_fail(w, rc);
        if ((rc = flush_chunks(w, 0, NULL, NULL)) < 0)
            return gcs_writer_fail(w, rc);
    }
    return 0;
}

static int gcs_writer_finish(ofs_writer *base)
{
    gcs_writer *w = (gcs_writer *)base;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    gcs_hashes hashes;
    int rc;

    if (w->rc < 0)
        return ofs_error_restore(w->rc, w->message);
    if (w->skip > 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "the interrupted upload holds %" PRIu64 " bytes, more "
                           "than the object's %" PRIu64 " (bucket %s, object %s)", w->sent,
                           w->total, w->s->bucket, w->name);
        session_cancel(w);
        return gcs_writer_fail(w, rc);
    }
    if (EVP_DigestFinal_ex(w->md5, md, &md_len) != 1 || md_len != 16)
        return gcs_writer_fail(w, ofs_error_set(OFS_ERROR, "openssl: MD5 failed"));
    EVP_EncodeBlock((unsigned char *)hashes.md5, md, 16);
    gcs_crc32c_base64(w->crc, hashes.crc32c);
    /* a locked object needs metadata, which only a resumable upload's first request takes */
    if (!w->session && w->retention && (rc = session_start(w)) < 0)
        return gcs_writer_fail(w, rc);
    if (!w->session) {
        const char *cond = (w->flags & OFS_PUT_IF_ABSENT) ? "0" : NULL;
        if ((rc = gcs_media_upload(w->s, w->name, w->buf, w->len, &hashes, cond, NULL)) < 0)
            return gcs_writer_fail(w, rc);
        w->committed = 1;
        return 0;
    }
    if ((rc = flush_chunks(w, 1, hashes.md5, hashes.crc32c)) < 0)
        return gcs_writer_fail(w, rc);
    session_forget(w);
    return 0;
}

static void gcs_writer_free(ofs_writer *base)
{
    gcs_writer *w = (gcs_writer *)base;

    if (!w)
        return;
    if (w->session && !w->committed) {
        /* a transient failure (the link, not the data) leaves the session for the next run */
        if (w->rc == OFS_ETRANSIENT)
            ofs_log_info("%s: %s: upload interrupted at byte %" PRIu64 "; the next push "
                         "resumes it", w->s->parent.name, w->name, w->sent);
        else
            session_cancel(w);
    }
    EVP_MD_CTX_free(w->md5);
    json_decref(w->retention);
    free(w->buf);
    free(w->name);
    free(w->session);
    free(w->session_file);
    free(w->message);
    free(w);
}

static const struct ofs_writer_ops gcs_writer_ops = { gcs_writer_write, gcs_writer_finish,
                                                      gcs_writer_free };

int gcs_put(ofs_store *store, const char *key, unsigned flags, ofs_writer **out)
{
    gcs_store *s = (gcs_store *)store;
    gcs_writer *w = NULL;
    int rc;

    *out = NULL;
    if (!(w = calloc(1, sizeof(*w))) || !(w->name = gcs_full_name(s, key)) ||
        !(w->md5 = EVP_MD_CTX_new())) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    w->parent.ops = &gcs_writer_ops;
    w->s = s;
    w->flags = flags;
    if ((rc = gcs_lock_retention(s, key, (int64_t)time(NULL), &w->retention)) < 0 ||
        (w->retention && (rc = gcs_lock_check(s)) < 0))
        goto cleanup;
    if (EVP_DigestInit_ex(w->md5, EVP_md5(), NULL) != 1) {
        rc = ofs_error_set(OFS_ERROR, "openssl: MD5 failed");
        goto cleanup;
    }
    if ((flags & OFS_PUT_IF_ABSENT) && (rc = gcs_preconditions_probe(s)) < 0)
        goto cleanup;
    if ((flags & OFS_PUT_IF_ABSENT) && s->preconditions < 0) {
        /* the server would overwrite: look first (not atomic, as store.h allows) */
        ofs_object_info info;
        rc = gcs_stat_full(s, w->name, &info);
        if (rc == 0) {
            rc = ofs_error_set(OFS_EEXISTS, "exists (bucket %s, object %s)", s->bucket,
                               w->name);
            goto cleanup;
        }
        if (rc != OFS_ENOTFOUND)
            goto cleanup;
        ofs_error_clear();
        rc = 0;
    }
    if ((rc = session_path(s, w->name, &w->session_file)) < 0 || (rc = session_resume(w)) < 0)
        goto cleanup;
    *out = &w->parent;
    w = NULL;
cleanup:
    if (w) {
        free(w->session); /* a session that could not be asked stays on disk for later */
        w->session = NULL;
    }
    gcs_writer_free(w ? &w->parent : NULL);
    return rc;
}
