/*
 * s3_delete.c - multi-object delete (POST ?delete, up to 1000 keys a request), and deletes on
 * a target with object lock (see ofs_store_s3_delete_many in store_s3.h).
 *
 * Object lock turns versioning on, and in a versioned bucket a plain DELETE never fails: it
 * hides the object behind a delete marker while every locked byte stays (and is billed). So
 * with object lock the driver deletes the key's versions themselves: a locked one is refused,
 * which is the answer prune needs ("locked until DATE"), and an unlocked one is really gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/s3_xml.h"
#include "offsite/store_s3.h"
#include "s3_internal.h"

#define S3_DELETE_BATCH 1000

/* (full key, version id or NULL) pairs to delete */
typedef struct {
    char **keys;
    char **versions;
    size_t count, cap;
} delete_list;

static void delete_list_free(delete_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->keys[i]);
        free(l->versions[i]);
    }
    free(l->keys);
    free(l->versions);
    memset(l, 0, sizeof(*l));
}

/* delete_list_add(l, key, version): copies both; key is taken over when own_key */
static int delete_list_add(delete_list *l, char *key, int own_key, const char *version)
{
    char *k = own_key ? key : strdup(key), *v = version ? strdup(version) : NULL;

    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **nk = realloc(l->keys, cap * sizeof(*nk));
        char **nv = nk ? realloc(l->versions, cap * sizeof(*nv)) : NULL;
        if (nk)
            l->keys = nk;
        if (nv) {
            l->versions = nv;
            l->cap = cap;
        }
    }
    if (!k || (version && !v) || l->count == l->cap) {
        free(k);
        free(v);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    l->keys[l->count] = k;
    l->versions[l->count++] = v;
    return 0;
}

typedef struct {
    const char *key;
    delete_list *list;
} versions_ctx;

static int version_entry(void *ctx, const char *element, const char *const *v)
{
    versions_ctx *c = ctx;

    (void)element;
    /* the prefix also matches longer keys; a version without an id is the "null" one */
    if (!v[0] || strcmp(v[0], c->key) != 0)
        return 0;
    return delete_list_add(c->list, (char *)c->key, 0, v[1] && *v[1] ? v[1] : "null");
}

/* versions_add(s, full_key, l): every version and delete marker of exactly full_key */
static int versions_add(s3_store *s, const char *full_key, delete_list *l)
{
    static const char *const elements[] = { "Version", "DeleteMarker", NULL };
    static const char *const fields[] = { "Key", "VersionId", NULL };
    static const char *const markers[] = { "key-marker", "version-id-marker" };
    static const char *const next[] = { "NextKeyMarker", "NextVersionIdMarker" };
    const ofs_sigv4_param params[] = { { "versions", NULL }, { "prefix", full_key } };
    versions_ctx c = { full_key, l };
    s3_pages pg = { NULL, params, 2, markers, next, 2, "max-keys", "ListVersionsResult",
                    elements, fields, version_entry, &c };

    return s3_paged_get(s, &pg);
}

/* the first key the server would not delete, and how many */
typedef struct {
    size_t failed;
    char *key, *version, *code, *message;
} delete_failures;

static int delete_error_entry(void *ctx, const char *element, const char *const *v)
{
    delete_failures *f = ctx;

    (void)element;
    /* already gone is what was asked for */
    if (v[2] && (strcmp(v[2], "NoSuchKey") == 0 || strcmp(v[2], "NoSuchVersion") == 0))
        return 0;
    if (f->failed++ > 0)
        return 0;
    f->key = strdup(v[0] ? v[0] : "");
    f->version = v[1] && *v[1] ? strdup(v[1]) : NULL;
    f->code = strdup(v[2] && *v[2] ? v[2] : "InternalError");
    f->message = v[3] && *v[3] ? strdup(v[3]) : NULL;
    if (!f->key || !f->code)
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

/* delete_batch(s, keys, versions, n, f): one POST ?delete of at most 1000 keys */
static int delete_batch(s3_store *s, char **keys, char **versions, size_t n, delete_failures *f)
{
    static const char *const elements[] = { "Error", NULL };
    static const char *const fields[] = { "Key", "VersionId", "Code", "Message", NULL };
    char *xml = NULL, md5[25], md5_header[40];
    s3_response resp;
    int rc;

    memset(&resp, 0, sizeof(resp));
    if ((rc = ofs_s3_xml_delete_body((const char *const *)keys, (const char *const *)versions,
                                     n, &xml)) < 0 ||
        (rc = s3_content_md5(xml, strlen(xml), md5)) < 0)
        goto cleanup;
    /* S3 refuses a multi-object delete without Content-MD5 */
    snprintf(md5_header, sizeof(md5_header), "Content-MD5: %s", md5);
    const char *headers[] = { md5_header, "Content-Type: application/xml" };
    const ofs_sigv4_param params[] = { { "delete", NULL } };
    s3_request req = { .method = "POST", .params = params, .param_count = 1,
                       .headers = headers, .header_count = 2, .body = xml,
                       .body_size = strlen(xml) };
    if ((rc = s3_call(s, &req, &resp)) == 0 && resp.body_size > 0)
        rc = ofs_s3_xml_each(resp.body, resp.body_size, "DeleteResult", elements, fields,
                             delete_error_entry, f, NULL, NULL);
cleanup:
    s3_response_done(s, &resp);
    free(xml);
    return rc;
}

/* delete_failure_report(s, f, total): the error for the first key not deleted */
static int delete_failure_report(s3_store *s, const delete_failures *f, size_t total)
{
    int rc;
    char *first;

    if (strcmp(f->code, "AccessDenied") == 0 && s->lock_mode) {
        rc = s3_lock_refusal(s, f->key, f->version);
    } else {
        if (strcmp(f->code, "AccessDenied") == 0)
            rc = OFS_EDENIED;
        else if (strcmp(f->code, "SlowDown") == 0 || strcmp(f->code, "InternalError") == 0 ||
                 strcmp(f->code, "ServiceUnavailable") == 0 ||
                 strcmp(f->code, "RequestTimeout") == 0)
            rc = OFS_ETRANSIENT; /* deleting again is safe */
        else
            rc = OFS_ERROR;
        ofs_error_set(rc, "%s: %s (bucket %s, key %s)", f->code,
                      f->message ? f->message : "not deleted", s->bucket, f->key);
    }
    if (f->failed > 1 && (first = ofs_error_save())) {
        ofs_error_set(rc, "%zu of %zu %s not deleted; the first: %s", f->failed, total,
                      s->lock_mode ? "object versions" : "objects", first);
        free(first);
    }
    return rc;
}

int ofs_store_s3_delete_many(ofs_store *store, const char *const *keys, size_t count)
{
    s3_store *s = (s3_store *)store;
    delete_list l = { 0 };
    delete_failures f = { 0 };
    int rc = 0;

    if (!store || store->ops->put != s3_put)
        return ofs_error_set(OFS_EUNSUPPORTED, "multi-object delete needs an s3 target");
    for (size_t i = 0; i < count && rc == 0; i++) {
        char *full = NULL;
        if ((rc = ofs_store_key_check(keys[i])) < 0)
            break;
        if (!(full = s3_full_key(s, keys[i]))) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            break;
        }
        if (s->lock_mode) {
            rc = versions_add(s, full, &l);
            free(full);
        } else {
            rc = delete_list_add(&l, full, 1, NULL);
        }
    }
    for (size_t done = 0; rc == 0 && done < l.count; done += S3_DELETE_BATCH) {
        size_t n = l.count - done < S3_DELETE_BATCH ? l.count - done : S3_DELETE_BATCH;
        rc = delete_batch(s, l.keys + done, l.versions + done, n, &f);
    }
    if (rc == 0 && f.failed > 0)
        rc = delete_failure_report(s, &f, l.count);
    else if (rc == 0)
        ofs_log_debug("%s: deleted %zu object(s)%s", s->parent.name, count,
                      s->lock_mode ? " (every version)" : "");
    delete_list_free(&l);
    free(f.key);
    free(f.version);
    free(f.code);
    free(f.message);
    return rc;
}
