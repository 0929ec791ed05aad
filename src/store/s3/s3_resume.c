/*
 * s3_resume.c - finding the multipart upload an interrupted push left behind, so that the
 * next put of the same key continues it instead of starting over (see store_s3.h).
 *
 * No local state: the server's own list of unfinished uploads (ListMultipartUploads with the
 * key as prefix) and of their parts (ListParts) is the record. A killed process, a lost
 * state directory or a push from a rebuilt host all find the same thing. The writer decides
 * part by part whether a listed part holds the bytes it is about to send (same size, ETag =
 * MD5); a part that does not is simply sent again under the same number.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/s3_xml.h"
#include "s3_internal.h"

/* no key has more than a handful; past this, something else is going on */
#define S3_RESUME_MAX_UPLOADS 64

typedef struct {
    const char *key;
    char *ids[S3_RESUME_MAX_UPLOADS];
    char *initiated[S3_RESUME_MAX_UPLOADS];
    size_t count;
} upload_list;

static int upload_entry(void *ctx, const char *element, const char *const *v)
{
    upload_list *l = ctx;

    (void)element;
    /* the prefix also matches longer keys: only this very key counts */
    if (!v[0] || !v[1] || strcmp(v[0], l->key) != 0 || l->count == S3_RESUME_MAX_UPLOADS)
        return 0;
    if (!(l->ids[l->count] = strdup(v[1])) ||
        !(l->initiated[l->count] = strdup(v[2] ? v[2] : ""))) {
        free(l->ids[l->count]);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    l->count++;
    return 0;
}

static int same_text(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

int s3_paged_get(s3_store *s, const s3_pages *pg)
{
    const char *top[4] = { "IsTruncated", NULL, NULL, NULL };
    char *marks[3] = { NULL }, *at[2] = { NULL }, max[16];
    ofs_sigv4_param params[7];
    size_t n = pg->param_count;
    int rc = 0, truncated = 1;

    if (n > 4 || pg->marker_count > 2)
        return ofs_error_set(OFS_ERROR, "s3: too many listing parameters (a bug)");
    memcpy(params, pg->params, n * sizeof(*params));
    if (pg->max_name && s->list_max_keys < 1000) {
        snprintf(max, sizeof(max), "%d", s->list_max_keys);
        params[n++] = (ofs_sigv4_param){ pg->max_name, max };
    }
    for (size_t i = 0; i < pg->marker_count; i++) {
        top[i + 1] = pg->next[i];
        params[n + i] = (ofs_sigv4_param){ pg->markers[i], NULL };
    }
    while (truncated && rc == 0) {
        s3_request req = { .method = "GET", .key = pg->key, .params = params,
                           .param_count = at[0] ? n + pg->marker_count : n };
        s3_response resp;
        for (size_t i = 0; i < pg->marker_count; i++)
            params[n + i].value = at[i];
        if ((rc = s3_call(s, &req, &resp)) == 0)
            rc = ofs_s3_xml_each(resp.body, resp.body_size, pg->root, pg->elements, pg->fields,
                                 pg->fn, pg->ctx, top, marks);
        s3_response_done(s, &resp);
        /* a server that says "more" without saying where, or the same place again: stop */
        truncated = rc == 0 && marks[0] && strcmp(marks[0], "true") == 0 && marks[1] &&
                    *marks[1] && !(same_text(marks[1], at[0]) && same_text(marks[2], at[1]));
        for (size_t i = 0; i < 2; i++) {
            free(at[i]);
            at[i] = marks[i + 1];
        }
        free(marks[0]);
        memset(marks, 0, sizeof(marks));
    }
    free(at[0]);
    free(at[1]);
    return rc;
}

/* uploads_list(s, key, l): the unfinished uploads of exactly key */
static int uploads_list(s3_store *s, const char *key, upload_list *l)
{
    static const char *const elements[] = { "Upload", NULL };
    static const char *const fields[] = { "Key", "UploadId", "Initiated", NULL };
    static const char *const markers[] = { "key-marker", "upload-id-marker" };
    static const char *const next[] = { "NextKeyMarker", "NextUploadIdMarker" };
    const ofs_sigv4_param params[] = { { "uploads", NULL }, { "prefix", key } };
    s3_pages pg = { NULL, params, 2, markers, next, 2, "max-uploads",
                    "ListMultipartUploadsResult", elements, fields, upload_entry, l };

    return s3_paged_get(s, &pg);
}

typedef struct {
    s3_listed_part *parts;
    unsigned count;      /* highest part number listed */
    unsigned listed;     /* parts listed */
} part_list;

static int part_entry(void *ctx, const char *element, const char *const *v)
{
    part_list *l = ctx;
    unsigned long number;
    unsigned long long size;
    char *end = NULL;

    (void)element;
    if (!v[0] || !v[1] || !v[2])
        return ofs_error_set(OFS_ECORRUPT, "malformed S3 response: a listed part without "
                             "PartNumber, ETag or Size");
    number = strtoul(v[0], &end, 10);
    if (*end || number < 1 || number > S3_MAX_PARTS)
        return ofs_error_set(OFS_ECORRUPT, "malformed S3 response: bad PartNumber '%s'", v[0]);
    size = strtoull(v[2], &end, 10);
    if (*end || v[2][0] == '-')
        return ofs_error_set(OFS_ECORRUPT, "malformed S3 response: bad Size '%s'", v[2]);
    if (number > l->count) {
        s3_listed_part *p = realloc(l->parts, number * sizeof(*p));
        if (!p)
            return ofs_error_set(OFS_ERROR, "out of memory");
        memset(p + l->count, 0, (number - l->count) * sizeof(*p));
        l->parts = p;
        l->count = (unsigned)number;
    }
    free(l->parts[number - 1].etag);
    if (!(l->parts[number - 1].etag = strdup(v[1])))
        return ofs_error_set(OFS_ERROR, "out of memory");
    l->parts[number - 1].size = size;
    l->listed++;
    return 0;
}

/* parts_list(s, key, upload_id, l): the parts stored so far, by number */
static int parts_list(s3_store *s, const char *key, const char *upload_id, part_list *l)
{
    static const char *const elements[] = { "Part", NULL };
    static const char *const fields[] = { "PartNumber", "ETag", "Size", NULL };
    static const char *const markers[] = { "part-number-marker" };
    static const char *const next[] = { "NextPartNumberMarker" };
    const ofs_sigv4_param params[] = { { "uploadId", upload_id } };
    s3_pages pg = { key, params, 1, markers, next, 1, "max-parts", "ListPartsResult", elements,
                    fields, part_entry, l };

    return s3_paged_get(s, &pg);
}

void s3_listed_parts_free(s3_listed_part *parts, unsigned count)
{
    for (unsigned i = 0; parts && i < count; i++)
        free(parts[i].etag);
    free(parts);
}

int s3_upload_abort(s3_store *s, const char *key, const char *upload_id)
{
    const ofs_sigv4_param params[] = { { "uploadId", upload_id } };
    /* best effort, and quick: the failure that brought us here may be a server in trouble,
     * and a lifecycle rule removes the parts of an upload nobody aborted */
    s3_request req = { .method = "DELETE", .key = key, .params = params, .param_count = 1,
                       .max_tries = 2 };
    s3_response resp;
    int rc = s3_call(s, &req, &resp);

    s3_response_done(s, &resp);
    if (rc == OFS_ENOTFOUND) { /* NoSuchUpload: gone already */
        ofs_error_clear();
        rc = 0;
    }
    return rc;
}

int s3_resume_find(s3_store *s, const char *key, s3_resume *out)
{
    upload_list uploads = { .key = key };
    part_list best = { 0 };
    size_t chosen = 0;
    int rc, have = 0;

    memset(out, 0, sizeof(*out));
    if ((rc = uploads_list(s, key, &uploads)) < 0)
        goto cleanup;
    /* the upload with the most parts is the one worth continuing; the newest on a tie */
    for (size_t i = 0; i < uploads.count; i++) {
        part_list l = { 0 };
        if ((rc = parts_list(s, key, uploads.ids[i], &l)) < 0) {
            s3_listed_parts_free(l.parts, l.count);
            if (rc != OFS_ENOTFOUND) /* NoSuchUpload: finished or aborted meanwhile */
                goto cleanup;
            ofs_error_clear();
            rc = 0;
            continue;
        }
        if (!have || l.listed > best.listed ||
            (l.listed == best.listed &&
             strcmp(uploads.initiated[i], uploads.initiated[chosen]) > 0)) {
            s3_listed_parts_free(best.parts, best.count);
            best = l;
            chosen = i;
            have = 1;
        } else {
            s3_listed_parts_free(l.parts, l.count);
        }
    }
    /* the others will never be completed: their parts only cost storage */
    for (size_t i = 0; i < uploads.count; i++) {
        if (have && i == chosen)
            continue;
        if (s3_upload_abort(s, key, uploads.ids[i]) < 0) {
            ofs_log_warn("%s: %s: could not abort a stale multipart upload: %s",
                         s->parent.name, key, ofs_error_last());
            ofs_error_clear();
        } else {
            ofs_log_debug("%s: %s: aborted stale multipart upload %s", s->parent.name, key,
                          uploads.ids[i]);
        }
    }
    if (have) {
        out->upload_id = uploads.ids[chosen];
        uploads.ids[chosen] = NULL;
        out->parts = best.parts;
        out->count = best.count;
        out->listed = best.listed;
        best.parts = NULL;
    }
cleanup:
    s3_listed_parts_free(best.parts, best.count);
    for (size_t i = 0; i < uploads.count; i++) {
        free(uploads.ids[i]);
        free(uploads.initiated[i]);
    }
    return rc;
}

/* ---- sweep: the uploads no push will continue ---- */

typedef struct {
    int64_t before;         /* in the server's time */
    char **keys, **ids;
    size_t count, cap;
} sweep_list;

static int sweep_entry(void *ctx, const char *element, const char *const *v)
{
    sweep_list *l = ctx;
    int64_t initiated;

    (void)element;
    /* an upload of unknown age may be a live one: left alone */
    if (!v[0] || !v[1] || !v[2] || ofs_s3_xml_parse_time(v[2], &initiated) < 0) {
        ofs_error_clear();
        return 0;
    }
    if (initiated >= l->before)
        return 0;
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **keys = realloc(l->keys, cap * sizeof(*keys));
        if (keys)
            l->keys = keys;
        char **ids = keys ? realloc(l->ids, cap * sizeof(*ids)) : NULL;
        if (!ids)
            return ofs_error_set(OFS_ERROR, "out of memory");
        l->ids = ids;
        l->cap = cap;
    }
    if (!(l->keys[l->count] = strdup(v[0])) || !(l->ids[l->count] = strdup(v[1]))) {
        free(l->keys[l->count]);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    l->count++;
    return 0;
}

int s3_sweep(ofs_store *store, int64_t before, ofs_store_sweep_stats *stats)
{
    static const char *const elements[] = { "Upload", NULL };
    static const char *const fields[] = { "Key", "UploadId", "Initiated", NULL };
    static const char *const markers[] = { "key-marker", "upload-id-marker" };
    static const char *const next[] = { "NextKeyMarker", "NextUploadIdMarker" };
    s3_store *s = (s3_store *)store;
    /* the cutoff is this host's time; Initiated is the server's */
    sweep_list l = { .before = before == INT64_MAX ? before : before + s->date_offset };
    char *prefix = s3_full_key(s, "data/");
    int rc;

    if (!prefix)
        return ofs_error_set(OFS_ERROR, "out of memory");
    const ofs_sigv4_param params[] = { { "uploads", NULL }, { "prefix", prefix } };
    s3_pages pg = { NULL, params, 2, markers, next, 2, "max-uploads",
                    "ListMultipartUploadsResult", elements, fields, sweep_entry, &l };
    rc = s3_paged_get(s, &pg);
    for (size_t i = 0; rc == 0 && i < l.count; i++) {
        if ((rc = s3_upload_abort(s, l.keys[i], l.ids[i])) == 0) {
            ofs_log_debug("%s: %s: aborted unfinished multipart upload %s", store->name,
                          l.keys[i], l.ids[i]);
            stats->objects++;
        }
    }
    for (size_t i = 0; i < l.count; i++) {
        free(l.keys[i]);
        free(l.ids[i]);
    }
    free(l.keys);
    free(l.ids);
    free(prefix);
    return rc;
}

void s3_resume_free(s3_resume *r)
{
    if (!r)
        return;
    free(r->upload_id);
    s3_listed_parts_free(r->parts, r->count);
    memset(r, 0, sizeof(*r));
}
