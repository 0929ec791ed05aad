/*
 * s3_lifecycle.c - the bucket lifecycle configuration for one target's prefix (see
 * ofs_store_s3_lifecycle_sync in include/offsite/store_s3.h).
 *
 * A bucket has one lifecycle document for everyone: other tools' rules, and other hosts'
 * offsite rules under their own prefixes. So the sync reads it, swaps only the rules whose ID
 * marks them as this target's, writes it whole, and reads it back to see the server kept it.
 * Also here: whether the bucket is versioned, which decides the rules a versioned bucket needs
 * (the caller adds them; see ofs_store_s3_versioning).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/s3_xml.h"
#include "offsite/store_s3.h"
#include "s3_internal.h"

#define LIFECYCLE_MAX ((size_t)1 << 20)

static const ofs_sigv4_param lifecycle_param[] = { { "lifecycle", NULL } };

int s3_lifecycle_get(s3_store *s, ofs_s3_lifecycle_rule **rules, size_t *count)
{
    s3_request req = { .method = "GET", .params = lifecycle_param, .param_count = 1 };
    s3_response resp;
    int rc = s3_call(s, &req, &resp);

    *rules = NULL;
    *count = 0;
    if (rc == OFS_ENOTFOUND) { /* NoSuchLifecycleConfiguration */
        ofs_error_clear();
        rc = 0;
    } else if (rc == 0) {
        rc = ofs_s3_xml_lifecycle_parse(resp.body, resp.body_size, rules, count);
    }
    s3_response_done(s, &resp);
    return rc;
}

static int lifecycle_put(s3_store *s, const ofs_s3_lifecycle_rule *rules, size_t count)
{
    char *xml = NULL, md5[25], md5_header[40];
    s3_response resp;
    int rc;

    memset(&resp, 0, sizeof(resp));
    if (count == 0) {
        s3_request req = { .method = "DELETE", .params = lifecycle_param, .param_count = 1 };
        rc = s3_call(s, &req, &resp);
        s3_response_done(s, &resp);
        return rc;
    }
    if ((rc = ofs_s3_xml_lifecycle_render(rules, count, &xml)) < 0 ||
        (rc = s3_content_md5(xml, strlen(xml), md5)) < 0)
        goto cleanup;
    /* S3 refuses a lifecycle configuration without Content-MD5 */
    snprintf(md5_header, sizeof(md5_header), "Content-MD5: %s", md5);
    const char *headers[] = { md5_header, "Content-Type: application/xml" };
    s3_request req = { .method = "PUT", .params = lifecycle_param, .param_count = 1,
                       .headers = headers, .header_count = 2, .body = xml,
                       .body_size = strlen(xml) };
    rc = s3_call(s, &req, &resp);
    s3_response_done(s, &resp);
cleanup:
    free(xml);
    return rc;
}

static int rule_is_ours(const s3_store *s, const ofs_s3_lifecycle_rule *r)
{
    size_t n = strlen(s->prefix);
    return r->id && strncmp(r->id, "offsite:", 8) == 0 && strncmp(r->id + 8, s->prefix, n) == 0 &&
           r->id[8 + n] == ':';
}

/* rule_same(a, b): every element offsite writes is equal (a transition class counts only
 * with its days) */
static int rule_same(const ofs_s3_lifecycle_rule *a, const ofs_s3_lifecycle_rule *b)
{
    const char *ac = a->transition_days ? a->transition_class : NULL;
    const char *bc = b->transition_days ? b->transition_class : NULL;
    return strcmp(a->id, b->id) == 0 && strcmp(a->prefix ? a->prefix : "",
                                               b->prefix ? b->prefix : "") == 0 &&
           a->enabled == b->enabled && a->expiration_days == b->expiration_days &&
           !a->expired_delete_marker == !b->expired_delete_marker &&
           a->noncurrent_days == b->noncurrent_days &&
           a->abort_multipart_days == b->abort_multipart_days &&
           a->transition_days == b->transition_days &&
           strcmp(ac ? ac : "", bc ? bc : "") == 0;
}

/* want_rules: this target's rules as the server should hold them */
static int want_rules(const s3_store *s, const ofs_lifecycle_rule *rules, size_t count,
                      ofs_s3_lifecycle_rule **out)
{
    ofs_s3_lifecycle_rule *w = NULL;
    int rc = 0;

    *out = NULL;
    for (size_t i = 0; i < count; i++)
        if ((rc = ofs_lifecycle_rule_check(rules, i)) < 0)
            return rc;
    if (count && !(w = calloc(count, sizeof(*w))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const ofs_lifecycle_rule *r = &rules[i];
        w[i].enabled = 1;
        w[i].expiration_days = r->expiration_days;
        w[i].expired_delete_marker = !!r->expired_delete_marker;
        w[i].noncurrent_days = r->noncurrent_days;
        w[i].abort_multipart_days = r->abort_multipart_days;
        w[i].transition_days = r->transition_class ? r->transition_days : 0;
        /* asprintf leaves its pointer undefined when it fails */
        if (asprintf(&w[i].id, "offsite:%s:%s", s->prefix, r->prefix) < 0)
            w[i].id = NULL;
        if (asprintf(&w[i].prefix, "%s%s", s->prefix, r->prefix) < 0)
            w[i].prefix = NULL;
        if (!w[i].id || !w[i].prefix ||
            (w[i].transition_days && !(w[i].transition_class = strdup(r->transition_class)))) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        if (strlen(w[i].id) > 255) {
            rc = ofs_error_set(OFS_ECONFIG, "lifecycle rule for '%s': prefix too long for a "
                               "rule ID (255 bytes)", r->prefix);
            goto cleanup;
        }
    }
    *out = w;
    w = NULL;
cleanup:
    ofs_s3_xml_lifecycle_free(w, count);
    return rc;
}

/* lifecycle_matches(s, have, nhave, want, nwant, &what): this target's rules are exactly
 * want. *what names the first difference. */
static int lifecycle_matches(const s3_store *s, const ofs_s3_lifecycle_rule *have, size_t nhave,
                             const ofs_s3_lifecycle_rule *want, size_t nwant, const char **what)
{
    size_t ours = 0;

    for (size_t i = 0; i < nhave; i++)
        if (rule_is_ours(s, &have[i]))
            ours++;
    for (size_t j = 0; j < nwant; j++) {
        size_t i;
        for (i = 0; i < nhave; i++)
            if (rule_is_ours(s, &have[i]) && strcmp(have[i].id, want[j].id) == 0)
                break;
        if (i == nhave || !rule_same(&have[i], &want[j])) {
            *what = want[j].id;
            return 0;
        }
    }
    *what = ours == nwant ? NULL : "a rule no longer wanted";
    return ours == nwant;
}

int ofs_store_s3_versioning(ofs_store *store, int *versioned)
{
    static const char *const top[] = { "Status", NULL };
    const ofs_sigv4_param params[] = { { "versioning", NULL } };
    s3_request req = { .method = "GET", .params = params, .param_count = 1 };
    s3_store *s = (s3_store *)store;
    s3_response resp;
    char *status = NULL;
    int rc;

    *versioned = 0;
    if (!store || store->ops->put != s3_put)
        return ofs_error_set(OFS_EUNSUPPORTED, "bucket versioning needs an s3 target");
    if (s->lock_mode) {
        *versioned = 1;
        return 0;
    }
    memset(&resp, 0, sizeof(resp));
    /* a bucket never versioned answers with no Status at all */
    if ((rc = s3_call(s, &req, &resp)) == 0)
        rc = ofs_s3_xml_each(resp.body, resp.body_size, "VersioningConfiguration", NULL, NULL,
                             NULL, NULL, top, &status);
    s3_response_done(s, &resp);
    if (rc == OFS_EUNSUPPORTED) { /* 501: a server without versioning keeps no old versions */
        ofs_error_clear();
        rc = 0;
    } else if (rc == OFS_ECORRUPT) {
        /* some S3-compatible servers answer ?versioning with another document (a bucket
         * listing): no versioning there, as awscli takes it too */
        ofs_log_warn("%s: bucket %s answered ?versioning with something other than a "
                     "VersioningConfiguration (%s); taking it as not versioned", s->parent.name,
                     s->bucket, ofs_error_last());
        ofs_error_clear();
        rc = 0;
    } else if (rc < 0) {
        rc = ofs_error_wrap(rc, "%s: reading whether bucket %s is versioned", s->parent.name,
                            s->bucket);
    } else {
        /* Suspended still keeps the versions written while it was Enabled */
        *versioned = status && (strcmp(status, "Enabled") == 0 ||
                                strcmp(status, "Suspended") == 0);
        if (status && !*versioned)
            ofs_log_warn("%s: bucket %s versioning status '%s' is neither Enabled nor "
                         "Suspended; taking it as not versioned", s->parent.name, s->bucket,
                         status);
        ofs_log_debug("%s: bucket %s versioning: %s", s->parent.name, s->bucket,
                      status ? status : "never enabled");
    }
    free(status);
    return rc;
}

int ofs_store_s3_lifecycle_sync(ofs_store *store, const ofs_lifecycle_rule *rules,
                                size_t count, int *changed)
{
    s3_store *s = (s3_store *)store;
    ofs_s3_lifecycle_rule *have = NULL, *want = NULL, *merged = NULL;
    size_t nhave = 0, nmerged = 0;
    const char *what = NULL;
    int rc;

    if (changed)
        *changed = 0;
    if (!store || store->ops->put != s3_put)
        return ofs_error_set(OFS_EUNSUPPORTED, "lifecycle rules need an s3 target");
    if ((rc = want_rules(s, rules, count, &want)) < 0 ||
        (rc = s3_lifecycle_get(s, &have, &nhave)) < 0)
        goto cleanup;
    if (lifecycle_matches(s, have, nhave, want, count, &what))
        goto cleanup;
    /* others' rules verbatim, then ours */
    if (!(merged = calloc(nhave + count + 1, sizeof(*merged)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < nhave; i++)
        if (!rule_is_ours(s, &have[i]))
            merged[nmerged++] = have[i];
    for (size_t j = 0; j < count; j++)
        merged[nmerged++] = want[j];
    if ((rc = lifecycle_put(s, merged, nmerged)) < 0)
        goto cleanup;
    if (changed)
        *changed = 1;
    ofs_log_info("%s: lifecycle rules written for '%s' (%zu of ours, %zu kept from others)",
                 s->parent.name, s->prefix, count, nmerged - count);
    /* read back: a server may accept a document and keep something else */
    ofs_s3_xml_lifecycle_free(have, nhave);
    have = NULL;
    if ((rc = s3_lifecycle_get(s, &have, &nhave)) < 0)
        goto cleanup;
    if (!lifecycle_matches(s, have, nhave, want, count, &what))
        rc = ofs_error_set(OFS_ECORRUPT, "lifecycle rule '%s' read back differs from what was "
                           "written (bucket %s)", what, s->bucket);
cleanup:
    free(merged); /* its rules belong to have and want */
    ofs_s3_xml_lifecycle_free(have, nhave);
    ofs_s3_xml_lifecycle_free(want, count);
    if (rc == OFS_EUNSUPPORTED)
        rc = ofs_error_wrap(rc, "%s: the server has no lifecycle rules", s->parent.name);
    return rc;
}
