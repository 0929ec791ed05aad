/*
 * gcs_lifecycle.c - the bucket's lifecycle rules for one target's prefix, and whether the
 * bucket is versioned (the store's lifecycle ops; see store_gcs.h).
 *
 * A bucket has one lifecycle document for everyone: other tools' rules, other hosts' offsite
 * rules under their own prefixes. GCS rules carry no ID, so offsite's are known by their one
 * matchesPrefix: the target's prefix followed by a part of the repository's layout (data/,
 * manifest.json, offsite-probe/). The sync reads the document, keeps every other rule as it
 * came, swaps ours, PATCHes it whole (PATCH replaces the lifecycle member entirely) and reads
 * it back to see the server kept what was sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "offsite/error.h"
#include "offsite/log.h"
#include "gcs_internal.h"

int gcs_bucket_url(const gcs_store *s, const char *query, char **url)
{
    if (asprintf(url, "%s/storage/v1/b/%s%s%s", s->origin, s->bucket_enc,
                 query && *query ? "?" : "", query ? query : "") < 0) {
        *url = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

int gcs_bucket_get(gcs_store *s, const char *fields, json_t **doc)
{
    char *query = NULL, *url = NULL;
    gcs_response resp;
    int rc;

    *doc = NULL;
    memset(&resp, 0, sizeof(resp));
    if (asprintf(&query, "fields=%s", fields) < 0) {
        query = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    if ((rc = gcs_bucket_url(s, query, &url)) < 0)
        goto cleanup;
    gcs_request req = { .method = "GET", .url = url };
    if ((rc = gcs_call(s, &req, &resp)) < 0)
        goto cleanup;
    *doc = json_loadb(resp.body ? resp.body : "", resp.body_size, 0, NULL);
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        rc = ofs_error_set(OFS_ECORRUPT, "malformed GCS response: a bucket resource that is "
                           "not a JSON object (bucket %s)", s->bucket);
    }
cleanup:
    gcs_response_done(s, &resp);
    free(query);
    free(url);
    return rc;
}

int gcs_versioning(ofs_store *store, int *versioned)
{
    gcs_store *s = (gcs_store *)store;
    json_t *doc = NULL;
    int rc;

    *versioned = 0;
    if ((rc = gcs_bucket_get(s, "versioning", &doc)) < 0)
        return ofs_error_wrap(rc, "%s: reading whether bucket %s is versioned", s->parent.name,
                              s->bucket);
    /* a bucket never versioned answers {} */
    *versioned = json_is_true(json_object_get(json_object_get(doc, "versioning"), "enabled"));
    ofs_log_debug("%s: bucket %s versioning: %s", s->parent.name, s->bucket,
                  *versioned ? "enabled" : "off");
    json_decref(doc);
    return 0;
}

/* rule_is_ours(s, rule): one matchesPrefix, the target's prefix and a part of the layout */
static int rule_is_ours(const gcs_store *s, json_t *rule)
{
    static const char *const roots[] = { "data/", OFS_STORE_PROBE_PREFIX, "manifest.json" };
    json_t *prefixes = json_object_get(json_object_get(rule, "condition"), "matchesPrefix");
    const char *p = json_string_value(json_array_get(prefixes, 0));
    size_t n = strlen(s->prefix);

    if (json_array_size(prefixes) != 1 || !p || strncmp(p, s->prefix, n) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
        if (strncmp(p + n, roots[i], strlen(roots[i])) == 0)
            return 1;
    return 0;
}

/* rule_add(list, type, storage_class, condition): append {"action": {"type": TYPE[,
 * "storageClass": CLASS]}, "condition": CONDITION} (condition is stolen, may be NULL: out of
 * memory) */
static int rule_add(json_t *list, const char *type, const char *storage_class,
                    json_t *condition)
{
    json_t *rule = json_pack("{s:{s:s}, s:o}", "action", "type", type, "condition", condition);

    if (rule && storage_class &&
        json_object_set_new(json_object_get(rule, "action"), "storageClass",
                            json_string(storage_class)) < 0) {
        json_decref(rule);
        rule = NULL;
    }
    if (!rule || json_array_append_new(list, rule) < 0)
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

/*
 * want_rules(s, rules, count, &want): this target's rules as GCS documents them. Each element
 * of an ofs_lifecycle_rule becomes a rule of its own: expiration a Delete at `age`, a
 * transition a SetStorageClass at `age`, noncurrent_days a Delete of what is no longer live
 * (isLive false, daysSinceNoncurrentTime), the multipart abort an AbortIncompleteMultipartUpload
 * (XML API uploads; resumable sessions expire by themselves). GCS has no delete markers:
 * expired_delete_marker writes nothing.
 */
static int want_rules(const gcs_store *s, const ofs_lifecycle_rule *rules, size_t count,
                      json_t **want)
{
    json_t *list = json_array();
    char *p = NULL;
    int rc = list ? 0 : ofs_error_set(OFS_ERROR, "out of memory");

    *want = NULL;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = ofs_lifecycle_rule_check(rules, i);
    for (size_t i = 0; i < count && rc == 0; i++) {
        const ofs_lifecycle_rule *r = &rules[i];
        if (asprintf(&p, "%s%s", s->prefix, r->prefix) < 0) {
            p = NULL;
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            break;
        }
        if (r->expiration_days > 0)
            rc = rule_add(list, "Delete", NULL, json_pack("{s:[s], s:i}", "matchesPrefix", p,
                                                          "age", r->expiration_days));
        if (rc == 0 && r->transition_days > 0 && r->transition_class)
            rc = rule_add(list, "SetStorageClass", r->transition_class,
                          json_pack("{s:[s], s:i}", "matchesPrefix", p, "age",
                                    r->transition_days));
        if (rc == 0 && r->noncurrent_days > 0)
            rc = rule_add(list, "Delete", NULL,
                          json_pack("{s:[s], s:b, s:i}", "matchesPrefix", p, "isLive", 0,
                                    "daysSinceNoncurrentTime", r->noncurrent_days));
        if (rc == 0 && r->abort_multipart_days > 0)
            rc = rule_add(list, "AbortIncompleteMultipartUpload", NULL,
                          json_pack("{s:[s], s:i}", "matchesPrefix", p, "age",
                                    r->abort_multipart_days));
        free(p);
        p = NULL;
    }
    if (rc == 0)
        *want = list;
    else
        json_decref(list);
    return rc;
}

/* rule_same(have, want): action and condition exactly as offsite writes them */
static int rule_same(json_t *have, json_t *want)
{
    return json_equal(json_object_get(have, "action"), json_object_get(want, "action")) &&
           json_equal(json_object_get(have, "condition"), json_object_get(want, "condition"));
}

/* lifecycle_matches(s, have, want, &what): the target's rules in have (a "rule" array) are
 * exactly want, in any order; *what names the first difference */
static int lifecycle_matches(const gcs_store *s, json_t *have, json_t *want, const char **what)
{
    size_t ours = 0, i, j, nhave = json_array_size(have);
    char *used = calloc(nhave + 1, 1); /* each rule read back answers one wanted */
    json_t *w, *h;
    int same = 0;

    *what = "(out of memory)";
    if (!used)
        return 0;
    json_array_foreach(have, i, h)
        ours += (size_t)rule_is_ours(s, h);
    json_array_foreach(want, j, w) {
        json_array_foreach(have, i, h)
            if (!used[i] && rule_is_ours(s, h) && rule_same(h, w))
                break;
        if (i == nhave) {
            *what = json_string_value(json_array_get(
                json_object_get(json_object_get(w, "condition"), "matchesPrefix"), 0));
            goto cleanup;
        }
        used[i] = 1;
    }
    same = ours == json_array_size(want);
    *what = same ? NULL : "a rule no longer wanted";
cleanup:
    free(used);
    return same;
}

/* lifecycle_patch(s, rules): PATCH the bucket's lifecycle to exactly rules */
static int lifecycle_patch(gcs_store *s, json_t *rules)
{
    json_t *doc = json_pack("{s:{s:O}}", "lifecycle", "rule", rules);
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL, *url = NULL;
    gcs_response resp;
    int rc;

    memset(&resp, 0, sizeof(resp));
    json_decref(doc);
    if (!body)
        return ofs_error_set(OFS_ERROR, "out of memory");
    if ((rc = gcs_bucket_url(s, "fields=lifecycle", &url)) == 0) {
        const char *headers[] = { "Content-Type: application/json; charset=UTF-8" };
        gcs_request req = { .method = "PATCH", .url = url, .headers = headers,
                            .header_count = 1, .body = body, .body_size = strlen(body) };
        rc = gcs_call(s, &req, &resp);
        gcs_response_done(s, &resp);
    }
    free(url);
    free(body);
    return rc;
}

int gcs_lifecycle_sync(ofs_store *store, const ofs_lifecycle_rule *rules, size_t count,
                       int *changed)
{
    gcs_store *s = (gcs_store *)store;
    json_t *want = NULL, *doc = NULL, *merged = NULL, *have, *rule;
    const char *what = NULL;
    size_t i, kept = 0;
    int rc;

    if (changed)
        *changed = 0;
    if ((rc = want_rules(s, rules, count, &want)) < 0 ||
        (rc = gcs_bucket_get(s, "lifecycle,versioning", &doc)) < 0)
        goto cleanup;
    have = json_object_get(json_object_get(doc, "lifecycle"), "rule");
    if (lifecycle_matches(s, have, want, &what))
        goto cleanup;
    /* others' rules as they came, then ours */
    merged = json_array();
    json_array_foreach(have, i, rule)
        if (!rule_is_ours(s, rule) && json_array_append(merged, rule) == 0)
            kept++;
    json_array_extend(merged, want);
    if ((rc = lifecycle_patch(s, merged)) < 0)
        goto cleanup;
    if (changed)
        *changed = 1;
    ofs_log_info("%s: lifecycle rules written for '%s' (%zu of ours, %zu kept from others)",
                 s->parent.name, s->prefix, json_array_size(want), kept);
    /* read back: a server may accept a document and keep something else */
    json_decref(doc);
    if ((rc = gcs_bucket_get(s, "lifecycle,versioning", &doc)) < 0)
        goto cleanup;
    have = json_object_get(json_object_get(doc, "lifecycle"), "rule");
    if (!lifecycle_matches(s, have, want, &what))
        rc = ofs_error_set(OFS_ECORRUPT, "lifecycle rule for '%s' read back differs from what "
                           "was written (bucket %s)", what, s->bucket);
cleanup:
    json_decref(merged);
    json_decref(doc);
    json_decref(want);
    if (rc < 0 && rc != OFS_ECONFIG)
        rc = ofs_error_wrap(rc, "%s: lifecycle rules of bucket %s", s->parent.name, s->bucket);
    return rc;
}
