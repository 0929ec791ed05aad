/*
 * s3.c - the s3 store driver: requests, retries, errors, get/stat/list/del and the
 * constructor (see include/offsite/store_s3.h). The put writer is in s3_write.c, the get
 * reader in s3_read.c, lifecycle rules in s3_lifecycle.c.
 */
#include "offsite/store_s3.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/retry.h"
#include "offsite/s3_xml.h"
#include "s3_internal.h"

#define S3_TRIES 6
#define S3_RETRY_WINDOW 120.0 /* seconds of attempts (each up to a stall timeout) on top */
#define S3_FIRST_DELAY 0.5
#define S3_MAX_DELAY 8.0
#define S3_DEFAULT_BUDGET 20.0
#define S3_MAX_EXTRA_HEADERS 12
#define S3_BODY_MAX ((size_t)64 << 20)
#define S3_ERROR_BODY_MAX ((size_t)1 << 20)

void s3_response_done(s3_store *s, s3_response *resp)
{
    ofs_http_pool_release(s->pool, resp->h);
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

/* ---- small helpers ---- */

char *s3_full_key(const s3_store *s, const char *key)
{
    char *full = NULL;
    return asprintf(&full, "%s%s", s->prefix, key) < 0 ? NULL : full;
}

int64_t s3_now(s3_store *s)
{
    int64_t skew;
    pthread_mutex_lock(&s->lock);
    skew = s->skew;
    pthread_mutex_unlock(&s->lock);
    return (int64_t)time(NULL) + skew;
}

/* ---- errors ---- */

/* AWS allows 15 minutes of skew, some servers less: a bodiless 403 from a server whose clock
 * is further off than this is taken for a skew refusal (one re-signed attempt settles it) */
#define S3_SKEW_ALLOWED 60

/* s3_head_skewed(s, code, status, h): a 403 without an error document (the answer to a HEAD
 * has no body) from a server whose Date is off our signing clock: the RequestTimeTooSkewed a
 * body would have named. */
static int s3_head_skewed(s3_store *s, const char *code, long status, ofs_http *h)
{
    int64_t server, off;
    if (code || status != 403 || ofs_http_date_parse(ofs_http_header(h, "Date"), &server) < 0)
        return 0;
    off = server - s3_now(s);
    return off > S3_SKEW_ALLOWED || off < -S3_SKEW_ALLOWED;
}

/* s3_note_date(s, date): the server's clock against ours, for `doctor` */
static void s3_note_date(s3_store *s, const char *date)
{
    int64_t server;
    if (ofs_http_date_parse(date, &server) < 0)
        return;
    pthread_mutex_lock(&s->lock);
    s->date_offset = server - (int64_t)time(NULL);
    s->date_seen = 1;
    pthread_mutex_unlock(&s->lock);
}

static int code_is(const char *code, const char *name)
{
    return code && strcmp(code, name) == 0;
}

/*
 * s3_error(s, req, status, body, size, h): the OFS_E* code and message for a failed answer.
 * *skewed is set when the clock was corrected and the request should be re-signed at once.
 */
static int s3_error(s3_store *s, const s3_request *req, long status, const char *body,
                    size_t size, ofs_http *h, int *skewed)
{
    char *code = NULL, *message = NULL, where[1200], status_text[32];
    const char *c, *m, *hint = "";
    int rc;

    if (body && size > 0 && ofs_s3_xml_error(body, size, &code, &message) < 0)
        ofs_error_clear();
    snprintf(status_text, sizeof(status_text), "HTTP %ld", status);
    if (req->key)
        snprintf(where, sizeof(where), "bucket %s, key %s", s->bucket, req->key);
    else
        snprintf(where, sizeof(where), "bucket %s", s->bucket);
    c = code && *code ? code : status_text;
    m = message && *message ? message : NULL;

    if (code_is(code, "RequestTimeTooSkewed") || s3_head_skewed(s, code, status, h)) {
        int64_t server;
        if (!code)
            c = "RequestTimeTooSkewed";
        if (ofs_http_date_parse(ofs_http_header(h, "Date"), &server) == 0) {
            int64_t now = (int64_t)time(NULL), off;
            pthread_mutex_lock(&s->lock);
            off = now + s->skew - server;
            s->skew = server - now;
            pthread_mutex_unlock(&s->lock);
            *skewed = 1;
            ofs_log_warn("%s: this host's clock is %+" PRId64 " s off the server's; signing "
                         "with the server's time", s->parent.name, off);
        }
        rc = OFS_ETRANSIENT;
        hint = "\nHINT: the clock of this host is off; run an NTP client";
    } else if (code_is(code, "SlowDown") || code_is(code, "RequestTimeout") ||
               code_is(code, "InternalError") || code_is(code, "ServiceUnavailable") ||
               code_is(code, "OperationAborted") || code_is(code, "BadDigest") ||
               code_is(code, "XAmzContentSHA256Mismatch") || code_is(code, "IncompleteBody") ||
               code_is(code, "ConditionalRequestConflict") || status == 429 ||
               (status >= 500 && status != 501)) {
        rc = OFS_ETRANSIENT;
    } else if (status == 501) {
        rc = OFS_EUNSUPPORTED;
    } else if (status == 401 || status == 403) {
        rc = OFS_EDENIED;
        if (code_is(code, "SignatureDoesNotMatch"))
            hint = "\nHINT: check the secret access key (AWS_SECRET_ACCESS_KEY, or the target's "
                   "credentials_file and profile)";
        else if (code_is(code, "InvalidAccessKeyId"))
            hint = "\nHINT: check the access key id (AWS_ACCESS_KEY_ID, or the target's "
                   "credentials_file and profile)";
        else
            hint = "\nHINT: check that these credentials may read and write the bucket (the "
                   "bucket policy and the key's permissions)";
    } else if (code_is(code, "NoSuchBucket")) {
        /* the cause first: what the request was doing when it found out does not matter */
        rc = ofs_error_set(OFS_ECONFIG, "bucket '%s' does not exist at %s (NoSuchBucket)\n"
                           "HINT: create it (offsite never creates buckets), or fix 'bucket' "
                           "and 'endpoint' in the target", s->bucket, s->origin);
        goto done;
    } else if (s->session_token && (code_is(code, "InvalidToken") ||
                                    code_is(code, "ExpiredToken") ||
                                    code_is(code, "TokenRefreshRequired") ||
                                    (status == 400 && code_is(code, "InvalidArgument")))) {
        /* a malformed token is InvalidArgument on Ceph RGW, InvalidToken on AWS */
        rc = code_is(code, "InvalidArgument") ? OFS_ECONFIG : OFS_EDENIED;
        rc = ofs_error_set(rc, "the session token was refused: %s%s%s (%s)\nHINT: the session "
                           "token (AWS_SESSION_TOKEN, or aws_session_token in the credentials "
                           "file) is malformed or expired: get a fresh one, or unset it for "
                           "long-term keys", c, m ? ": " : "", m ? m : "", where);
        goto done;
    } else if (status == 404) {
        rc = OFS_ENOTFOUND;
        if (!m)
            m = "not found";
    } else if (status == 412) {
        rc = OFS_EEXISTS;
        if (!m)
            m = "precondition failed: the object exists";
    } else if (status == 301 || status == 307 || code_is(code, "PermanentRedirect") ||
               code_is(code, "AuthorizationHeaderMalformed") ||
               code_is(code, "IllegalLocationConstraintException")) {
        const char *region = ofs_http_header(h, "x-amz-bucket-region");
        rc = OFS_ECONFIG;
        hint = region ? "\nHINT: the bucket is in another region: set 'region' (and "
                        "'endpoint') in the target to match x-amz-bucket-region"
                      : "\nHINT: the bucket is in another region or at another endpoint: "
                        "check 'region' and 'endpoint' in the target";
    } else if (status == 416) {
        rc = OFS_ECORRUPT;
        if (!m)
            m = "requested range is past the end of the object";
    } else {
        rc = OFS_ERROR;
    }
    if (m)
        ofs_error_set(rc, "%s: %s (%s)%s", c, m, where, hint);
    else
        ofs_error_set(rc, "%s (%s)%s", c, where, hint);
done:
    free(code);
    free(message);
    return rc;
}

/* ---- one signed request ---- */

/* header_split("Name: value", name, value): splits into the two buffers (truncating). */
static void header_split(const char *line, char *name, size_t name_size, const char **value)
{
    const char *colon = strchr(line, ':');
    size_t n = colon ? (size_t)(colon - line) : strlen(line);

    if (n >= name_size)
        n = name_size - 1;
    memcpy(name, line, n);
    name[n] = '\0';
    *value = colon ? colon + 1 : "";
    while (**value == ' ')
        (*value)++;
}

/* s3_uri(s, key, &uri): the canonical (encoded) path for the bucket or an object. */
static int s3_uri(const s3_store *s, const char *key, char **uri)
{
    char *enc = NULL;
    int rc;

    *uri = NULL;
    if (!key) {
        if (asprintf(uri, "%s", *s->base_path ? s->base_path : "/") < 0)
            goto oom;
        return 0;
    }
    if ((rc = ofs_sigv4_encode(key, 1, &enc)) < 0)
        return rc;
    rc = asprintf(uri, "%s/%s", s->base_path, enc);
    free(enc);
    if (rc < 0)
        goto oom;
    return 0;
oom:
    *uri = NULL;
    return ofs_error_set(OFS_ERROR, "out of memory");
}

static int s3_attempt(s3_store *s, const s3_request *req, s3_response *resp, int *skewed)
{
    enum { FIXED = 4 };
    ofs_sigv4_header sh[FIXED + S3_MAX_EXTRA_HEADERS];
    char names[S3_MAX_EXTRA_HEADERS][64];
    char *lines[FIXED + 1] = { NULL };
    const char *all[FIXED + 1 + S3_MAX_EXTRA_HEADERS];
    char *uri = NULL, *query = NULL, *url = NULL, *auth = NULL, *body = NULL;
    char amz_date[17], hash_hex[OFS_SHA256_HEX];
    const char *payload_hash = req->payload_hash;
    ofs_sigv4_credentials cred = { s->access_key, s->secret_key, s->session_token };
    size_t nsh = 0, nall = 0, body_size = 0;
    int64_t now = s3_now(s);
    ofs_http_request hr;
    long status;
    int rc;

    if (req->header_count > S3_MAX_EXTRA_HEADERS)
        return ofs_error_set(OFS_ERROR, "s3: too many headers (a bug)");
    if (!payload_hash) {
        uint8_t digest[OFS_SHA256_BYTES];
        if ((rc = ofs_sha256_buffer(req->body, req->body_size, digest)) < 0)
            return rc;
        ofs_hex_encode(digest, sizeof(digest), hash_hex);
        payload_hash = hash_hex;
    }
    ofs_sigv4_amz_date(now, amz_date);
    sh[nsh++] = (ofs_sigv4_header){ "host", s->host };
    sh[nsh++] = (ofs_sigv4_header){ "x-amz-date", amz_date };
    sh[nsh++] = (ofs_sigv4_header){ "x-amz-content-sha256", payload_hash };
    if (s->session_token)
        sh[nsh++] = (ofs_sigv4_header){ "x-amz-security-token", s->session_token };
    for (size_t i = 0; i < req->header_count; i++) {
        const char *value;
        header_split(req->headers[i], names[i], sizeof(names[i]), &value);
        sh[nsh++] = (ofs_sigv4_header){ names[i], value };
    }
    if ((rc = s3_uri(s, req->key, &uri)) < 0 ||
        (rc = ofs_sigv4_canonical_query(req->params, req->param_count, &query)) < 0)
        goto cleanup;
    ofs_sigv4_request sreq = { req->method, uri, req->params, req->param_count, sh, nsh,
                               payload_hash };
    if ((rc = ofs_sigv4_sign(&sreq, &cred, s->region, "s3", now, &auth)) < 0)
        goto cleanup;
    if (asprintf(&url, "%s%s%s%s", s->origin, uri, *query ? "?" : "", query) < 0 ||
        asprintf(&lines[0], "Host: %s", s->host) < 0 ||
        asprintf(&lines[1], "x-amz-date: %s", amz_date) < 0 ||
        asprintf(&lines[2], "x-amz-content-sha256: %s", payload_hash) < 0 ||
        asprintf(&lines[3], "Authorization: %s", auth) < 0 ||
        (s->session_token && asprintf(&lines[4], "x-amz-security-token: %s",
                                      s->session_token) < 0)) {
        url = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i <= FIXED && lines[i]; i++)
        all[nall++] = lines[i];
    for (size_t i = 0; i < req->header_count; i++)
        all[nall++] = req->headers[i];
    hr = (ofs_http_request){ req->method, url, all, nall, req->body, req->body_size,
                             req->body ? ofs_bwlimit_share(s->bwlimit, (int64_t)time(NULL),
                                                                s->parallel) : 0, 0 };
    if ((rc = ofs_http_pool_acquire(s->pool, &resp->h)) < 0 || (rc = ofs_http_begin(resp->h, &hr)) < 0)
        goto cleanup;
    status = resp->status = ofs_http_status(resp->h);
    s3_note_date(s, ofs_http_header(resp->h, "Date"));
    ofs_log_debug("s3: %s %s%s%s -> %ld", req->method, uri, *query ? "?" : "", query, status);
    if (status >= 200 && status < 300) {
        if (req->stream)
            goto cleanup;
        if ((rc = ofs_http_read_all(resp->h, &resp->body, &resp->body_size, S3_BODY_MAX)) < 0)
            goto cleanup;
        /* CompleteMultipartUpload may fail after its 200 has been sent */
        if (req->error_in_ok && resp->body_size > 0 &&
            strstr(resp->body, "<Error") && strstr(resp->body, "<Code>"))
            rc = s3_error(s, req, 500, resp->body, resp->body_size, resp->h, skewed);
        goto cleanup;
    }
    /* the error document; if it cannot be read, the status alone must do */
    if (strcmp(req->method, "HEAD") != 0 &&
        ofs_http_read_all(resp->h, &body, &body_size, S3_ERROR_BODY_MAX) < 0) {
        body = NULL;
        body_size = 0;
    }
    rc = s3_error(s, req, status, body, body_size, resp->h, skewed);
cleanup:
    if (rc < 0) {
        ofs_http_pool_release(s->pool, resp->h);
        free(resp->body);
        resp->h = NULL;
        resp->body = NULL;
        resp->body_size = 0;
    }
    if (auth) {
        OPENSSL_cleanse(auth, strlen(auth));
        free(auth);
    }
    if (lines[3])
        OPENSSL_cleanse(lines[3], strlen(lines[3]));
    for (size_t i = 0; i <= FIXED; i++)
        free(lines[i]);
    free(body);
    free(uri);
    free(query);
    free(url);
    return rc;
}

int s3_call(s3_store *s, const s3_request *req, s3_response *resp)
{
    ofs_retry_policy policy = { req->max_tries > 0 ? req->max_tries : S3_TRIES,
                                S3_FIRST_DELAY, S3_MAX_DELAY, s->retry_budget,
                                S3_RETRY_WINDOW, 1 };
    ofs_retry r;
    int rc, skew_retried = 0;

    memset(resp, 0, sizeof(*resp));
    ofs_retry_begin(&r, &policy);
    for (;;) {
        int skewed = 0;
        rc = s3_attempt(s, req, resp, &skewed);
        if (rc == OFS_ETRANSIENT && skewed && !skew_retried) {
            /* the clock was corrected from the server's Date: re-sign at once */
            skew_retried = 1;
            ofs_retry_now(&r);
            continue;
        }
        /* a stalled server costs a whole stall timeout per attempt: the policy's window
         * bounds the wall time too, so a stuck push fails within minutes and the next run
         * resumes it */
        if (!ofs_retry_again(&r, rc, s->parent.name, req->method,
                             req->key ? req->key : s->bucket))
            break;
    }
    ofs_retry_end(&r);
    return rc;
}

/* ---- stat, del ---- */

int s3_head(s3_store *s, const char *full_key, ofs_object_info *info, char **etag)
{
    s3_response resp;
    const char *cl, *lm, *tag;
    char *end = NULL;
    int64_t mtime = 0;
    int rc;

    memset(info, 0, sizeof(*info));
    if (etag)
        *etag = NULL;
    s3_request req = { .method = "HEAD", .key = full_key };
    if ((rc = s3_call(s, &req, &resp)) < 0) {
        /* a HEAD answer has no body, so a refusal says only "HTTP 403": a one-byte GET gets
         * the server's code (SignatureDoesNotMatch...) and its hint */
        if (rc == OFS_EDENIED || rc == OFS_ERROR) {
            char *saved = ofs_error_save();
            s3_response get_resp;
            s3_request get = { .method = "GET", .key = full_key, .max_tries = 1,
                               .headers = (const char *[]){ "Range: bytes=0-0" },
                               .header_count = 1 };
            int get_rc = s3_call(s, &get, &get_resp);
            s3_response_done(s, &get_resp);
            if (get_rc == 0 || get_rc == OFS_ENOTFOUND)
                ofs_error_restore(rc, saved);
            else
                rc = get_rc;
            free(saved);
        }
        goto cleanup;
    }
    cl = ofs_http_header(resp.h, "Content-Length");
    if (!cl || !*cl || (info->size = strtoull(cl, &end, 10), *end)) {
        rc = ofs_error_set(OFS_ECORRUPT, "malformed S3 response: HEAD without Content-Length "
                           "(bucket %s, key %s)", s->bucket, full_key);
        goto cleanup;
    }
    lm = ofs_http_header(resp.h, "Last-Modified");
    if (lm && ofs_http_date_parse(lm, &mtime) == 0)
        info->mtime = mtime;
    tag = ofs_http_header(resp.h, "ETag");
    if (etag && tag && !(*etag = strdup(tag)))
        rc = ofs_error_set(OFS_ERROR, "out of memory");
cleanup:
    s3_response_done(s, &resp);
    return rc;
}

static int s3_stat(ofs_store *store, const char *key, ofs_object_info *info)
{
    s3_store *s = (s3_store *)store;
    char *full = s3_full_key(s, key), *etag = NULL;
    int rc;

    memset(info, 0, sizeof(*info));
    if (!full)
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = s3_head(s, full, info, &etag);
    /* the ETag is what If-Match compares (s3_replace.c) */
    if (rc == 0 && etag)
        snprintf(info->version, sizeof(info->version), "%s", etag);
    free(etag);
    free(full);
    return rc;
}

static int s3_del(ofs_store *store, const char *key)
{
    /* a plain DELETE would only hide a locked object behind a delete marker */
    if (((s3_store *)store)->lock_mode)
        return ofs_store_s3_delete_many(store, &key, 1);
    return s3_delete_plain((s3_store *)store, key);
}

int s3_delete_plain(s3_store *s, const char *key)
{
    s3_response resp;
    char *full = NULL;
    int rc;

    if (!(full = s3_full_key(s, key)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    s3_request req = { .method = "DELETE", .key = full };
    rc = s3_call(s, &req, &resp);
    s3_response_done(s, &resp);
    free(full);
    if (rc == OFS_ENOTFOUND) {
        ofs_error_clear();
        rc = 0;
    }
    return rc;
}

/* ---- list ---- */

typedef struct {
    s3_store *s;
    ofs_store_list_fn fn;
    void *ctx;
} list_ctx;

static int s3_list_entry(void *ctx, const char *key, uint64_t size, int64_t mtime,
                         const char *etag)
{
    list_ctx *l = ctx;
    size_t plen = strlen(l->s->prefix);
    ofs_object_info info = { .size = size, .mtime = mtime };

    (void)etag;
    if (strncmp(key, l->s->prefix, plen) != 0)
        return 0;
    key += plen;
    /* objects offsite cannot have written ("dir/" markers, odd names) are not part of the
     * repository; leave them out rather than fail the listing */
    if (ofs_store_key_check(key) < 0) {
        ofs_log_debug("%s: listing: skipped '%s%s': %s", l->s->parent.name, l->s->prefix, key,
                      ofs_error_last());
        ofs_error_clear();
        return 0;
    }
    return l->fn(l->ctx, key, &info);
}

static int s3_list(ofs_store *store, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    s3_store *s = (s3_store *)store;
    list_ctx l = { s, fn, ctx };
    char *full = s3_full_key(s, prefix), *token = NULL, max_keys[16];
    s3_response resp;
    int rc = 0, truncated = 1;

    memset(&resp, 0, sizeof(resp));
    if (!full)
        return ofs_error_set(OFS_ERROR, "out of memory");
    snprintf(max_keys, sizeof(max_keys), "%d", s->list_max_keys);
    while (truncated) {
        ofs_sigv4_param params[4] = { { "list-type", "2" }, { "prefix", full },
                                      { "max-keys", max_keys }, { "continuation-token", token } };
        s3_request req = { .method = "GET", .params = params, .param_count = token ? 4 : 3 };
        char *next = NULL;
        if ((rc = s3_call(s, &req, &resp)) < 0)
            break;
        rc = ofs_s3_xml_list(resp.body, resp.body_size, s3_list_entry, &l, &truncated, &next);
        s3_response_done(s, &resp);
        free(token);
        token = next;
        if (rc != 0)
            break;
    }
    free(token);
    free(full);
    return rc;
}

/* ---- the store ---- */

static void s3_free(ofs_store *store)
{
    s3_store *s = (s3_store *)store;

    if (!s)
        return;
    ofs_http_pool_free(s->pool);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->lock_check);
    if (s->secret_key) {
        OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
        free(s->secret_key);
    }
    if (s->session_token) {
        OPENSSL_cleanse(s->session_token, strlen(s->session_token));
        free(s->session_token);
    }
    free(s->access_key);
    ofs_bwlimit_free(s->bwlimit);
    free(s->origin);
    free(s->host);
    free(s->base_path);
    free(s->bucket);
    free(s->region);
    free(s->prefix);
    free(s->storage_class);
    free(s->parent.name);
    free(s->parent.description);
    free(s);
}

static const struct ofs_store_ops s3_ops = {
    .put = s3_put, .get = s3_get, .stat = s3_stat, .list = s3_list, .del = s3_del, .free = s3_free,
    .replace = s3_replace, .del_many = ofs_store_s3_delete_many, .sweep = s3_sweep,
    .versioning = ofs_store_s3_versioning, .lifecycle_sync = ofs_store_s3_lifecycle_sync
};

/* s3_endpoint(s, t): origin, Host header and base path from endpoint, region, url_style. */
static int s3_endpoint(s3_store *s, const ofs_config_target *t, const char *endpoint)
{
    const char *host_start, *style = t->url_style;
    char *origin = NULL;
    size_t n;
    int is_virtual;

    if (!endpoint || !*endpoint) {
        if (asprintf(&origin, "https://s3.%s.amazonaws.com", s->region) < 0)
            return ofs_error_set(OFS_ERROR, "out of memory");
    } else if (!(origin = strdup(endpoint))) {
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    s->origin = origin;
    for (n = strlen(origin); n > 0 && origin[n - 1] == '/'; n--)
        origin[n - 1] = '\0';
    if (strncmp(origin, "http://", 7) != 0 && strncmp(origin, "https://", 8) != 0)
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): endpoint '%s' must start "
                             "with http:// or https://", t->name, t->line, endpoint);
    host_start = strstr(origin, "://") + 3;
    if (!*host_start || strpbrk(host_start, "/?#@"))
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): endpoint '%s' must be "
                             "scheme://host[:port] without a path", t->name, t->line,
                             endpoint);
    /* AWS itself wants virtual-hosted style; S3-compatible servers answer path style best */
    is_virtual = style ? strcmp(style, "virtual") == 0 : !(endpoint && *endpoint);
    if (style && !is_virtual && strcmp(style, "path") != 0)
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): url_style '%s' is not 'path' "
                             "or 'virtual'", t->name, t->line, style);
    if (is_virtual && ofs_endpoint_host_is_ip(origin))
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): url_style 'virtual' puts the "
                             "bucket in front of the host name, but endpoint '%s' is an IP "
                             "address ('%s.%s' cannot resolve)\nHINT: set url_style = path",
                             t->name, t->line, endpoint, s->bucket, host_start);
    if (is_virtual) {
        char *scheme_end = strstr(origin, "://") + 3, *vorigin = NULL;
        if (asprintf(&s->host, "%s.%s", s->bucket, host_start) < 0 ||
            asprintf(&vorigin, "%.*s%s", (int)(scheme_end - origin), origin, s->host) < 0 ||
            !(s->base_path = strdup(""))) {
            free(vorigin);
            return ofs_error_set(OFS_ERROR, "out of memory");
        }
        free(s->origin);
        s->origin = vorigin;
    } else if (!(s->host = strdup(host_start)) ||
               asprintf(&s->base_path, "/%s", s->bucket) < 0) {
        s->base_path = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

static int s3_settings(s3_store *s, const ofs_config_target *t,
                       const ofs_config_retention *retention)
{
    const char *prefix = t->prefix ? t->prefix : "";
    ofs_http_options http_opt = { 0 };
    char *endpoint = NULL;
    size_t prefix_len;
    int rc;

    /* "fleet/h1", "/fleet/h1/" and "fleet/h1/" all mean objects under "fleet/h1/" */
    while (*prefix == '/')
        prefix++;
    for (prefix_len = strlen(prefix); prefix_len > 0 && prefix[prefix_len - 1] == '/';)
        prefix_len--;

    if (!t->bucket || !*t->bucket || strchr(t->bucket, '/'))
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): type 's3' needs 'bucket' (a "
                             "bucket name, without '/')", t->name, t->line);
    if ((rc = s3_lock_settings(s, t, retention)) < 0)
        return rc;
    s->part_size = t->part_size ? t->part_size : S3_DEFAULT_PART;
    if (s->part_size < S3_MIN_PART || s->part_size > S3_MAX_PART)
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): part_size must be between 5M "
                             "and 5G (S3's limits)", t->name, t->line);
    s->parallel = t->parallel > 0 ? t->parallel : S3_DEFAULT_PARALLEL;
    if (s->parallel > S3_MAX_PARALLEL)
        s->parallel = S3_MAX_PARALLEL;
    if ((rc = ofs_bwlimit_parse(t->bwlimit, &s->bwlimit)) < 0)
        return ofs_error_wrap(rc, "target '%s' (line %d)", t->name, t->line);
    if ((rc = s3_aws_settings(t, &s->region, &endpoint)) < 0)
        return rc;
    if (!(s->bucket = strdup(t->bucket)) ||
        asprintf(&s->prefix, "%.*s%s", (int)prefix_len, prefix, prefix_len ? "/" : "") < 0 ||
        (t->storage_class && *t->storage_class &&
         !(s->storage_class = strdup(t->storage_class)))) {
        s->prefix = NULL;
        free(endpoint);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    http_opt.ca_file = t->ca_file && *t->ca_file ? t->ca_file : NULL;
    /* a testing aid: how long a connection may move no data before it counts as failed */
    http_opt.low_speed_time = (long)ofs_env_number("OFFSITE_S3_STALL_TIMEOUT", 60);
    if ((rc = ofs_http_pool_new(&s->pool, &http_opt)) < 0) {
        free(endpoint);
        return rc;
    }
    s->retry_budget = ofs_env_number("OFFSITE_RETRY_BUDGET", S3_DEFAULT_BUDGET);
    /* a testing aid: pretend this host's clock is off by this many seconds */
    if (getenv("OFFSITE_S3_CLOCK_SKEW"))
        s->skew = strtoll(getenv("OFFSITE_S3_CLOCK_SKEW"), NULL, 10);
    /* a testing aid: small pages exercise continuation tokens */
    s->list_max_keys = (int)ofs_env_number("OFFSITE_S3_MAX_KEYS", 1000);
    if (s->list_max_keys < 1 || s->list_max_keys > 1000)
        s->list_max_keys = 1000;
    rc = s3_endpoint(s, t, endpoint);
    free(endpoint);
    return rc;
}

int ofs_store_s3_new(ofs_store **out, const ofs_config_target *target)
{
    return ofs_store_s3_new_with_retention(out, target, NULL);
}

int ofs_store_s3_new_with_retention(ofs_store **out, const ofs_config_target *target,
                                    const ofs_config_retention *retention)
{
    s3_store *s = NULL;
    int rc;

    *out = NULL;
    if (!(s = calloc(1, sizeof(*s))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->lock_check, NULL);
    s->parent.ops = &s3_ops;
    s->parent.caps = OFS_STORE_CAP_RANGE | OFS_STORE_CAP_CONDITIONAL | OFS_STORE_CAP_LIFECYCLE |
                     OFS_STORE_CAP_RETRIES | OFS_STORE_CAP_CONCURRENT;
    if ((rc = s3_settings(s, target, retention)) < 0 ||
        (rc = s3_credentials_load(target, &s->access_key, &s->secret_key,
                                  &s->session_token)) < 0)
        goto cleanup;
    /* each part gets bwlimit / parallel: a second object's parts in flight would exceed it */
    if (s->bwlimit)
        s->parent.caps &= ~(unsigned)OFS_STORE_CAP_CONCURRENT;
    if (!(s->parent.name = strdup(target->name ? target->name : "s3")) ||
        asprintf(&s->parent.description, "s3 s3://%s/%s at %s", s->bucket, s->prefix,
                 s->origin) < 0) {
        s->parent.description = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    *out = &s->parent;
    s = NULL;
cleanup:
    s3_free(s ? &s->parent : NULL);
    return rc;
}
