/*
 * gcs.c - the gcs store driver: requests, retries, errors, stat/list/del and the constructor
 * (see include/offsite/store_gcs.h). The put writer is in gcs_write.c, the get reader in
 * gcs_read.c, the compare-and-swap in gcs_replace.c, credentials in gcs_auth.c.
 */
#include "offsite/store_gcs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "offsite/retry.h"
#include "gcs_internal.h"

#define GCS_DEFAULT_ENDPOINT "https://storage.googleapis.com"
#define GCS_TRIES 6
#define GCS_RETRY_WINDOW 120.0
#define GCS_FIRST_DELAY 0.5
#define GCS_MAX_DELAY 8.0
#define GCS_DEFAULT_BUDGET 20.0
#define GCS_DEFAULT_PARALLEL 4
#define GCS_MAX_PARALLEL 16
#define GCS_MAX_HEADERS 12
#define GCS_BODY_MAX ((size_t)16 << 20)
#define GCS_ERROR_BODY_MAX ((size_t)1 << 20)

void gcs_response_done(gcs_store *s, gcs_response *resp)
{
    ofs_http_pool_release(s->pool, resp->h);
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

char *gcs_full_name(const gcs_store *s, const char *key)
{
    char *full = NULL;
    return asprintf(&full, "%s%s", s->prefix, key) < 0 ? NULL : full;
}

int gcs_object_url(const gcs_store *s, const char *api, const char *full_name,
                   const char *query, char **url)
{
    char *enc = NULL;
    int rc;

    *url = NULL;
    if (full_name && (rc = ofs_http_url_encode(full_name, 0, &enc)) < 0)
        return rc;
    rc = asprintf(url, "%s%s/storage/v1/b/%s/o%s%s%s%s", s->origin, api, s->bucket_enc,
                  enc ? "/" : "", enc ? enc : "", query && *query ? "?" : "",
                  query ? query : "");
    free(enc);
    if (rc < 0) {
        *url = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

/* ---- errors ---- */

/*
 * gcs_error(s, req, status, body, size): the OFS_E* code and message for a failed answer.
 * GCS's error document: {"error": {"code": 403, "message": "...", "errors": [{"reason":
 * "forbidden", ...}]}}; the token endpoint's (gcs_auth.c) has its own.
 */
static int gcs_error(gcs_store *s, const gcs_request *req, long status, const char *body,
                     size_t size)
{
    json_t *doc = body && size ? json_loadb(body, size, 0, NULL) : NULL;
    json_t *err = json_object_get(doc, "error");
    const char *message = json_string_value(json_object_get(err, "message"));
    const char *reason = json_string_value(
        json_object_get(json_array_get(json_object_get(err, "errors"), 0), "reason"));
    char where[1200], status_text[32];
    const char *hint = "";
    int rc;

    if (!json_is_object(err))
        message = NULL;
    snprintf(status_text, sizeof(status_text), "HTTP %ld", status);
    if (req->object)
        snprintf(where, sizeof(where), "bucket %s, object %s", s->bucket, req->object);
    else
        snprintf(where, sizeof(where), "bucket %s", s->bucket);
    if (status == 429 || status == 408 || (status >= 500 && status != 501)) {
        rc = OFS_ETRANSIENT;
    } else if (status == 501) {
        rc = OFS_EUNSUPPORTED;
    } else if (status == 401) {
        rc = OFS_EDENIED;
        hint = "\nHINT: the access token was refused: check the target's credentials_file "
               "(or GOOGLE_APPLICATION_CREDENTIALS, OFFSITE_GCS_TOKEN)";
    } else if (status == 403 && reason && strcmp(reason, "retentionPolicyNotMet") == 0) {
        rc = OFS_EDENIED;
        hint = "\nHINT: the object is under a retention policy or hold and cannot be deleted "
               "or replaced before it ends";
    } else if (status == 403) {
        rc = OFS_EDENIED;
        hint = "\nHINT: check that the service account may read and write objects in the "
               "bucket (roles/storage.objectAdmin, or objectCreator + objectViewer for a "
               "host that must not delete)";
    } else if (status == 404 && message && strstr(message, "bucket") &&
               strstr(message, "not exist")) {
        rc = OFS_ECONFIG;
        hint = "\nHINT: check 'bucket' and 'endpoint' in the target; the bucket must exist";
    } else if (status == 404) {
        rc = OFS_ENOTFOUND;
        if (!message)
            message = "not found";
    } else if (status == 412) {
        rc = OFS_EEXISTS;
        if (!message)
            message = "precondition failed";
    } else if (status == 416) {
        rc = OFS_ECORRUPT;
        if (!message)
            message = "requested range is past the end of the object";
    } else {
        rc = OFS_ERROR;
    }
    if (message)
        ofs_error_set(rc, "%s: %s (%s)%s", reason ? reason : status_text, message, where,
                      hint);
    else
        ofs_error_set(rc, "%s (%s)%s", status_text, where, hint);
    json_decref(doc);
    return rc;
}

/* ---- one authorised request ---- */

static int gcs_attempt(gcs_store *s, const gcs_request *req, gcs_response *resp, int *auth_failed)
{
    const char *all[GCS_MAX_HEADERS + 1];
    char *auth = NULL, *body = NULL;
    size_t nall = 0, body_size = 0;
    ofs_http_request hr;
    long status;
    int rc;

    if (req->header_count > GCS_MAX_HEADERS)
        return ofs_error_set(OFS_ERROR, "gcs: too many headers (a bug)");
    if ((rc = gcs_auth_header(s, &auth)) < 0)
        return rc;
    if (auth)
        all[nall++] = auth;
    for (size_t i = 0; i < req->header_count; i++)
        all[nall++] = req->headers[i];
    hr = (ofs_http_request){ req->method, req->url, all, nall, req->body, req->body_size,
                             req->body ? ofs_bwlimit_share(s->bwlimit, (int64_t)time(NULL),
                                                                s->parallel) : 0, 0 };
    if ((rc = ofs_http_pool_acquire(s->pool, &resp->h)) < 0 ||
        (rc = ofs_http_begin(resp->h, &hr)) < 0)
        goto cleanup;
    status = resp->status = ofs_http_status(resp->h);
    ofs_log_debug("gcs: %s %s -> %ld", req->method, req->object ? req->object : s->bucket,
                  status);
    if ((status >= 200 && status < 300) || (status == 308 && req->accept_308)) {
        if (req->stream)
            goto cleanup;
        rc = ofs_http_read_all(resp->h, &resp->body, &resp->body_size, GCS_BODY_MAX);
        goto cleanup;
    }
    /* the error document; if it cannot be read, the status alone must do */
    if (strcmp(req->method, "HEAD") != 0 &&
        ofs_http_read_all(resp->h, &body, &body_size, GCS_ERROR_BODY_MAX) < 0) {
        ofs_error_clear();
        body = NULL;
        body_size = 0;
    }
    if (status == 401)
        *auth_failed = 1;
    rc = gcs_error(s, req, status, body, body_size);
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
    free(body);
    return rc;
}

int gcs_call(gcs_store *s, const gcs_request *req, gcs_response *resp)
{
    ofs_retry_policy policy = { req->max_tries > 0 ? req->max_tries : GCS_TRIES,
                                GCS_FIRST_DELAY, GCS_MAX_DELAY, s->retry_budget,
                                GCS_RETRY_WINDOW, 1 };
    ofs_retry r;
    int rc, refreshed = 0;

    memset(resp, 0, sizeof(*resp));
    ofs_retry_begin(&r, &policy);
    for (;;) {
        int auth_failed = 0;
        rc = gcs_attempt(s, req, resp, &auth_failed);
        if (auth_failed && !refreshed && s->auth.kind != GCS_AUTH_ENV &&
            s->auth.kind != GCS_AUTH_NONE) {
            /* a token revoked or expired early: one more try with a fresh one */
            refreshed = 1;
            gcs_auth_invalidate(s);
            continue;
        }
        if (!ofs_retry_again(&r, rc, s->parent.name, req->method,
                             req->object ? req->object : s->bucket))
            break;
    }
    ofs_retry_end(&r);
    return rc;
}

/* ---- object metadata ---- */

/* gcs_time(text, &t): "2024-05-01T12:00:00.123Z" -> Unix seconds (fraction dropped). */
static int gcs_time(const char *text, int64_t *t)
{
    char whole[21];

    if (!text || strlen(text) < 20 || text[19] == '\0')
        return OFS_ECORRUPT;
    memcpy(whole, text, 19);
    whole[19] = 'Z';
    whole[20] = '\0';
    return ofs_time_parse_iso(whole, t);
}

int gcs_object_meta(const char *json, size_t size, ofs_object_info *info, char **md5,
                    char **crc32c)
{
    json_t *doc = json_loadb(json ? json : "", size, 0, NULL);
    const char *sz = json_string_value(json_object_get(doc, "size"));
    const char *gen = json_string_value(json_object_get(doc, "generation"));
    const char *updated = json_string_value(json_object_get(doc, "updated"));
    const char *m = json_string_value(json_object_get(doc, "md5Hash"));
    const char *c = json_string_value(json_object_get(doc, "crc32c"));
    char *end = NULL;
    int rc = 0;

    memset(info, 0, sizeof(*info));
    if (md5)
        *md5 = NULL;
    if (crc32c)
        *crc32c = NULL;
    if (!json_is_object(doc) || !sz || !*sz || (info->size = strtoull(sz, &end, 10), *end)) {
        rc = ofs_error_set(OFS_ECORRUPT, "malformed GCS response: an object without a size");
        goto cleanup;
    }
    if (gen)
        snprintf(info->version, sizeof(info->version), "%s", gen);
    if (updated && gcs_time(updated, &info->mtime) < 0) {
        ofs_error_clear();
        info->mtime = 0;
    }
    if ((md5 && m && !(*md5 = strdup(m))) || (crc32c && c && !(*crc32c = strdup(c))))
        rc = ofs_error_set(OFS_ERROR, "out of memory");
cleanup:
    json_decref(doc);
    return rc;
}

int gcs_stat_full(gcs_store *s, const char *full_name, ofs_object_info *info)
{
    gcs_response resp;
    char *url = NULL;
    int rc;

    memset(info, 0, sizeof(*info));
    if ((rc = gcs_object_url(s, "", full_name, NULL, &url)) < 0)
        return rc;
    gcs_request req = { .method = "GET", .url = url, .object = full_name };
    if ((rc = gcs_call(s, &req, &resp)) == 0)
        rc = gcs_object_meta(resp.body, resp.body_size, info, NULL, NULL);
    gcs_response_done(s, &resp);
    free(url);
    return rc;
}

static int gcs_stat(ofs_store *store, const char *key, ofs_object_info *info)
{
    gcs_store *s = (gcs_store *)store;
    char *full = gcs_full_name(s, key);
    int rc;

    memset(info, 0, sizeof(*info));
    if (!full)
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = gcs_stat_full(s, full, info);
    free(full);
    return rc;
}

int gcs_delete_full(gcs_store *s, const char *full_name)
{
    gcs_response resp;
    char *url = NULL;
    int rc;

    if ((rc = gcs_object_url(s, "", full_name, NULL, &url)) < 0)
        return rc;
    gcs_request req = { .method = "DELETE", .url = url, .object = full_name };
    rc = gcs_call(s, &req, &resp);
    gcs_response_done(s, &resp);
    free(url);
    if (rc == OFS_ENOTFOUND) {
        ofs_error_clear();
        rc = 0;
    } else if (rc == OFS_EDENIED &&
               strncmp(ofs_error_last(), "retentionPolicyNotMet", 21) == 0) {
        /* prune keeps the backup and says until when */
        rc = gcs_lock_refusal(s, full_name);
    }
    return rc;
}

static int gcs_del(ofs_store *store, const char *key)
{
    gcs_store *s = (gcs_store *)store;
    char *full = gcs_full_name(s, key);
    int rc;

    if (!full)
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = gcs_delete_full(s, full);
    free(full);
    return rc;
}

/* ---- list ---- */

/* gcs_list_page(s, items, fn, ctx): fn for each listed object of one page */
static int gcs_list_page(gcs_store *s, json_t *items, ofs_store_list_fn fn, void *ctx)
{
    size_t plen = strlen(s->prefix), i;
    json_t *item;
    int rc = 0;

    json_array_foreach(items, i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *sz = json_string_value(json_object_get(item, "size"));
        const char *updated = json_string_value(json_object_get(item, "updated"));
        ofs_object_info info = { 0 };
        if (!name || !sz)
            return ofs_error_set(OFS_ECORRUPT, "malformed GCS response: a listed object "
                                 "without a name or size (bucket %s)", s->bucket);
        if (strncmp(name, s->prefix, plen) != 0)
            continue;
        name += plen;
        /* objects offsite cannot have written are not part of the repository */
        if (ofs_store_key_check(name) < 0) {
            ofs_log_debug("%s: listing: skipped '%s%s': %s", s->parent.name, s->prefix, name,
                          ofs_error_last());
            ofs_error_clear();
            continue;
        }
        info.size = strtoull(sz, NULL, 10);
        if (updated && gcs_time(updated, &info.mtime) < 0) {
            ofs_error_clear();
            info.mtime = 0;
        }
        if ((rc = fn(ctx, name, &info)) != 0)
            return rc;
    }
    return 0;
}

static int gcs_list(ofs_store *store, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    gcs_store *s = (gcs_store *)store;
    char *full = gcs_full_name(s, prefix), *enc = NULL, *token = NULL;
    int rc = 0;

    if (!full || (rc = ofs_http_url_encode(full, 0, &enc)) < 0) {
        free(full);
        return rc < 0 ? rc : ofs_error_set(OFS_ERROR, "out of memory");
    }
    do {
        char *token_enc = NULL, *query = NULL, *url = NULL;
        gcs_response resp;
        json_t *doc = NULL;
        if ((token && (rc = ofs_http_url_encode(token, 0, &token_enc)) < 0))
            break;
        if (asprintf(&query, "prefix=%s&maxResults=%d&fields=items(name,size,updated),"
                     "nextPageToken%s%s", enc, s->list_max, token_enc ? "&pageToken=" : "",
                     token_enc ? token_enc : "") < 0) {
            query = NULL;
            rc = ofs_error_set(OFS_ERROR, "out of memory");
        } else if ((rc = gcs_object_url(s, "", NULL, query, &url)) == 0) {
            gcs_request req = { .method = "GET", .url = url, .object = NULL };
            if ((rc = gcs_call(s, &req, &resp)) == 0) {
                doc = json_loadb(resp.body ? resp.body : "", resp.body_size, 0, NULL);
                if (!json_is_object(doc))
                    rc = ofs_error_set(OFS_ECORRUPT, "malformed GCS response: a listing that "
                                       "is not a JSON object (bucket %s)", s->bucket);
            }
            gcs_response_done(s, &resp);
        }
        free(token);
        token = NULL;
        if (rc == 0)
            rc = gcs_list_page(s, json_object_get(doc, "items"), fn, ctx);
        if (rc == 0 && json_string_value(json_object_get(doc, "nextPageToken")) &&
            !(token = strdup(json_string_value(json_object_get(doc, "nextPageToken")))))
            rc = ofs_error_set(OFS_ERROR, "out of memory");
        json_decref(doc);
        free(token_enc);
        free(query);
        free(url);
    } while (rc == 0 && token);
    free(token);
    free(enc);
    free(full);
    return rc;
}

/* ---- the store ---- */

static void gcs_free(ofs_store *store)
{
    gcs_store *s = (gcs_store *)store;

    if (!s)
        return;
    ofs_http_pool_free(s->pool);
    gcs_auth_free(&s->auth);
    pthread_mutex_destroy(&s->probe_lock);
    ofs_bwlimit_free(s->bwlimit);
    free(s->origin);
    free(s->bucket);
    free(s->bucket_enc);
    free(s->prefix);
    free(s->storage_class);
    free(s->session_dir);
    free(s->parent.name);
    free(s->parent.description);
    free(s);
}

static const struct ofs_store_ops gcs_ops = {
    .put = gcs_put, .get = gcs_get, .stat = gcs_stat, .list = gcs_list, .del = gcs_del,
    .free = gcs_free, .replace = gcs_replace, .versioning = gcs_versioning,
    .lifecycle_sync = gcs_lifecycle_sync
};

static int gcs_settings(gcs_store *s, const ofs_config_target *t, const char *cache_dir)
{
    const char *prefix = t->prefix ? t->prefix : "", *endpoint = t->endpoint;
    ofs_http_options http_opt = { 0 };
    size_t prefix_len, n;
    int rc;

    while (*prefix == '/')
        prefix++;
    for (prefix_len = strlen(prefix); prefix_len > 0 && prefix[prefix_len - 1] == '/';)
        prefix_len--;
    if (!t->bucket || !*t->bucket || strchr(t->bucket, '/'))
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): type 'gcs' needs 'bucket' (a "
                             "bucket name, without '/')", t->name, t->line);
    /* the classes a SetStorageClass rule may move objects to (STANDARD is where they are) */
    if (*t->transition_class &&
        strcmp(t->transition_class, "NEARLINE") != 0 &&
        strcmp(t->transition_class, "COLDLINE") != 0 &&
        strcmp(t->transition_class, "ARCHIVE") != 0)
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): transition_class '%s' is not "
                             "a GCS storage class to move to (NEARLINE, COLDLINE or ARCHIVE)",
                             t->name, t->line, t->transition_class);
    s->part_size = t->part_size ? t->part_size : GCS_DEFAULT_PART;
    if (s->part_size < GCS_MIN_PART || s->part_size > GCS_MAX_PART ||
        s->part_size % GCS_CHUNK_UNIT != 0)
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): part_size must be a multiple "
                             "of 256K between 5M and 5G (resumable upload chunks)", t->name,
                             t->line);
    s->parallel = t->parallel > 0 ? t->parallel : GCS_DEFAULT_PARALLEL;
    if (s->parallel > GCS_MAX_PARALLEL)
        s->parallel = GCS_MAX_PARALLEL;
    if ((rc = ofs_bwlimit_parse(t->bwlimit, &s->bwlimit)) < 0)
        return ofs_error_wrap(rc, "target '%s' (line %d)", t->name, t->line);
    if (!endpoint || !*endpoint)
        endpoint = GCS_DEFAULT_ENDPOINT;
    if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): endpoint '%s' must start "
                             "with http:// or https://", t->name, t->line, endpoint);
    if (!(s->origin = strdup(endpoint)) || !(s->bucket = strdup(t->bucket)) ||
        ofs_http_url_encode(t->bucket, 0, &s->bucket_enc) < 0 ||
        asprintf(&s->prefix, "%.*s%s", (int)prefix_len, prefix, prefix_len ? "/" : "") < 0 ||
        (t->storage_class && *t->storage_class &&
         !(s->storage_class = strdup(t->storage_class))) ||
        asprintf(&s->session_dir, "%s/gcs", cache_dir && *cache_dir ? cache_dir
                 : getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") < 0) {
        s->prefix = s->session_dir = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    for (n = strlen(s->origin); n > 0 && s->origin[n - 1] == '/'; n--)
        s->origin[n - 1] = '\0';
    if (strpbrk(strstr(s->origin, "://") + 3, "/?#@") || !s->origin[strcspn(s->origin, ":") + 3])
        return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): endpoint '%s' must be "
                             "scheme://host[:port] without a path", t->name, t->line, endpoint);
    http_opt.ca_file = t->ca_file && *t->ca_file ? t->ca_file : NULL;
    /* a testing aid: how long a connection may move no data before it counts as failed */
    http_opt.low_speed_time = (long)ofs_env_number("OFFSITE_GCS_STALL_TIMEOUT", 60);
    if ((rc = ofs_http_pool_new(&s->pool, &http_opt)) < 0)
        return rc;
    s->retry_budget = ofs_env_number("OFFSITE_RETRY_BUDGET", GCS_DEFAULT_BUDGET);
    /* a testing aid: small pages exercise page tokens */
    s->list_max = (int)ofs_env_number("OFFSITE_GCS_MAX_RESULTS", 1000);
    if (s->list_max < 1 || s->list_max > 1000)
        s->list_max = 1000;
    return 0;
}

int ofs_store_gcs_new(ofs_store **out, const ofs_config_target *target, const char *cache_dir)
{
    return ofs_store_gcs_new_with_retention(out, target, NULL, cache_dir);
}

int ofs_store_gcs_new_with_retention(ofs_store **out, const ofs_config_target *target,
                                     const ofs_config_retention *retention,
                                     const char *cache_dir)
{
    gcs_store *s = NULL;
    int rc;

    *out = NULL;
    if (!(s = calloc(1, sizeof(*s))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    pthread_mutex_init(&s->probe_lock, NULL);
    pthread_mutex_init(&s->auth.lock, NULL);
    s->parent.ops = &gcs_ops;
    s->parent.caps = OFS_STORE_CAP_RANGE | OFS_STORE_CAP_CONDITIONAL | OFS_STORE_CAP_RETRIES |
                     OFS_STORE_CAP_CONCURRENT | OFS_STORE_CAP_LIFECYCLE;
    if ((rc = gcs_settings(s, target, cache_dir)) < 0 ||
        (rc = gcs_lock_settings(s, target, retention)) < 0 ||
        (rc = gcs_auth_load(s, target)) < 0)
        goto cleanup;
    /* each request gets bwlimit / parallel: a second object in flight would exceed it */
    if (s->bwlimit)
        s->parent.caps &= ~(unsigned)OFS_STORE_CAP_CONCURRENT;
    if (!(s->parent.name = strdup(target->name ? target->name : "gcs")) ||
        asprintf(&s->parent.description, "gcs gs://%s/%s at %s", s->bucket, s->prefix,
                 s->origin) < 0) {
        s->parent.description = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    *out = &s->parent;
    s = NULL;
cleanup:
    gcs_free(s ? &s->parent : NULL);
    return rc;
}
