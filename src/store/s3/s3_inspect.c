/*
 * s3_inspect.c - what `doctor` learns of a target's bucket (store_s3.h, ofs_store_s3_inspect):
 * its settings, and two permissions asked without effect. S3 (AWS and Ceph RGW alike)
 * authorises a request before it reads the body or looks for the key, so a request that
 * could never succeed tells permission apart by its answer: 403 refused, anything else
 * allowed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/store_check.h"
#include "offsite/store_s3.h"
#include "s3_internal.h"

#define INSPECT_NOT_A_RULE "offsite asks whether it may write lifecycle rules; this is not XML"

/* inspect_able(rc): the answer to a request that cannot succeed */
static int inspect_able(int rc)
{
    int able = rc == OFS_EDENIED ? OFS_ABLE_NO : OFS_ABLE_YES;
    ofs_error_clear();
    return able;
}

/* inspect_put_lifecycle(s): may these credentials write lifecycle rules? A malformed document
 * is refused with 400 MalformedXML where they may, 403 where they may not. */
static int inspect_put_lifecycle(s3_store *s)
{
    static const ofs_sigv4_param params[] = { { "lifecycle", NULL } };
    char md5[25], md5_header[40];
    s3_response resp;
    int rc;

    if ((rc = s3_content_md5(INSPECT_NOT_A_RULE, strlen(INSPECT_NOT_A_RULE), md5)) < 0)
        return rc;
    snprintf(md5_header, sizeof(md5_header), "Content-MD5: %s", md5);
    s3_request req = { .method = "PUT", .params = params, .param_count = 1,
                       .headers = (const char *[]){ md5_header }, .header_count = 1,
                       .body = INSPECT_NOT_A_RULE, .body_size = strlen(INSPECT_NOT_A_RULE),
                       .max_tries = 2 };
    rc = s3_call(s, &req, &resp);
    s3_response_done(s, &resp);
    return rc == OFS_ETRANSIENT ? rc : inspect_able(rc);
}

/* inspect_delete_version(s, host): may they delete a version? Asked of a version of a probe
 * key that was never written. */
static int inspect_delete_version(s3_store *s, const char *host)
{
    static const ofs_sigv4_param params[] = { { "versionId", "offsite-check-no-such-version" } };
    char relative[300], *full = NULL;
    s3_response resp;
    int rc;

    snprintf(relative, sizeof(relative), OFS_STORE_PROBE_PREFIX "%s/delete-check",
             host && *host ? host : "host");
    if (!(full = s3_full_key(s, relative)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    s3_request req = { .method = "DELETE", .key = full, .params = params, .param_count = 1,
                       .max_tries = 2 };
    rc = s3_call(s, &req, &resp);
    s3_response_done(s, &resp);
    free(full);
    return rc == OFS_ETRANSIENT ? rc : inspect_able(rc);
}

/* inspect_lifecycle(s, f): how many rules, and whether one clears the probes */
static int inspect_lifecycle(s3_store *s, ofs_s3_bucket_facts *f)
{
    ofs_s3_lifecycle_rule *rules = NULL;
    size_t count = 0, plen = strlen(s->prefix);
    int rc = s3_lifecycle_get(s, &rules, &count);

    if (rc == OFS_EDENIED || rc == OFS_EUNSUPPORTED) {
        ofs_error_clear();
        f->lifecycle_rules = -1;
        return 0;
    }
    if (rc < 0)
        return rc;
    f->lifecycle_rules = (int)count;
    for (size_t i = 0; i < count; i++) {
        const char *p = rules[i].prefix ? rules[i].prefix : "";
        /* a rule over the probes' prefix, or over something holding it */
        int covers = strncmp(s->prefix, p, strlen(p) < plen ? strlen(p) : plen) == 0 &&
                     (strlen(p) <= plen ||
                      strncmp(p + plen, OFS_STORE_PROBE_PREFIX, strlen(p) - plen) == 0);
        if (rules[i].enabled && covers && rules[i].expiration_days > 0)
            f->probe_rule = 1;
    }
    ofs_s3_xml_lifecycle_free(rules, count);
    return 0;
}

int ofs_store_s3_inspect(ofs_store *store, const char *host, ofs_s3_bucket_facts *f)
{
    s3_store *s = (s3_store *)store;
    int rc;

    memset(f, 0, sizeof(*f));
    if (!store || store->ops->put != s3_put)
        return ofs_error_set(OFS_EUNSUPPORTED, "bucket facts need an s3 target");
    f->lock_objects = s->lock_mode != NULL;
    f->lock_mode = s->lock_mode;
    if ((rc = s3_lock_enabled(s, &f->object_lock)) == OFS_EDENIED) {
        ofs_error_clear();
        f->object_lock = -1;
    } else if (rc < 0) {
        return ofs_error_wrap(rc, "%s: reading whether bucket %s has object lock",
                              store->name, s->bucket);
    }
    /* a lock bucket is versioned whatever ?versioning says */
    if (f->object_lock == 1) {
        f->versioned = 1;
    } else if ((rc = ofs_store_s3_versioning(store, &f->versioned)) == OFS_EDENIED) {
        ofs_error_clear();
        f->versioned = -1;
    } else if (rc < 0) {
        return rc;
    }
    if ((rc = inspect_lifecycle(s, f)) < 0)
        return ofs_error_wrap(rc, "%s: reading the lifecycle rules of bucket %s", store->name,
                              s->bucket);
    if ((f->may_put_lifecycle = inspect_put_lifecycle(s)) < 0)
        return ofs_error_wrap(f->may_put_lifecycle, "%s: asking whether lifecycle rules may "
                              "be written", store->name);
    if ((f->may_delete_versions = inspect_delete_version(s, host)) < 0)
        return ofs_error_wrap(f->may_delete_versions, "%s: asking whether versions may be "
                              "deleted", store->name);
    pthread_mutex_lock(&s->lock);
    f->clock_known = s->date_seen;
    f->clock_offset = s->date_offset;
    pthread_mutex_unlock(&s->lock);
    return 0;
}
