/*
 * s3_lock.c - S3 Object Lock for a target with object_lock = governance|compliance (see
 * store_s3.h): the retention headers each data object is written with, the check that the
 * bucket can lock at all, and the message for a delete the lock refused.
 *
 * A backup's objects live under data/<class>/<id>/, so the class - and with it how long the
 * agent keeps the backup - is known from the key alone. The lock runs a day past that, from
 * the time of writing (never earlier than the backup's own start), so the agent's prune and
 * the provider's lifecycle rule, a day past the class's age too, are never refused for a
 * backup the policy no longer keeps. manifest.json is rewritten by every push: never locked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/retention.h"
#include "offsite/s3_xml.h"
#include "s3_internal.h"

int s3_lock_settings(s3_store *s, const ofs_config_target *t,
                     const ofs_config_retention *retention)
{
    int rc = ofs_store_lock_settings(t, retention, "s3", &s->retention);

    if (rc <= 0)
        return rc;
    s->lock_mode = rc == OFS_LOCK_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE";
    s->parent.caps |= OFS_STORE_CAP_OBJECT_LOCK;
    return 0;
}

int s3_lock_headers(s3_store *s, const char *full_key, int64_t now,
                    char mode[S3_LOCK_HEADER], char until[S3_LOCK_HEADER])
{
    char date[32];
    int64_t t;

    /* ofs_retention_lock_until: the same class ages prune and retention sync use */
    if (!s->lock_mode ||
        !ofs_retention_lock_until(&s->retention, full_key + strlen(s->prefix), now, &t))
        return 0;
    ofs_time_format_iso(t, date, sizeof(date));
    snprintf(mode, S3_LOCK_HEADER, "x-amz-object-lock-mode: %s", s->lock_mode);
    snprintf(until, S3_LOCK_HEADER, "x-amz-object-lock-retain-until-date: %s", date);
    return 2;
}

int s3_lock_enabled(s3_store *s, int *enabled)
{
    static const char *const top[] = { "ObjectLockEnabled", NULL };
    const ofs_sigv4_param params[] = { { "object-lock", NULL } };
    s3_request req = { .method = "GET", .params = params, .param_count = 1 };
    s3_response resp;
    char *value = NULL;
    int rc;

    *enabled = 0;
    if ((rc = s3_call(s, &req, &resp)) == 0)
        rc = ofs_s3_xml_each(resp.body, resp.body_size, "ObjectLockConfiguration", NULL, NULL,
                             NULL, NULL, top, &value);
    s3_response_done(s, &resp);
    if (rc == OFS_ENOTFOUND) { /* ObjectLockConfigurationNotFoundError */
        ofs_error_clear();
        rc = 0;
    }
    *enabled = rc == 0 && value && strcmp(value, "Enabled") == 0;
    free(value);
    return rc;
}

int s3_lock_check(s3_store *s)
{
    int rc = 0, enabled = 0;

    if (!s->lock_mode)
        return 0;
    /* once per store; a failure is asked again at the next put */
    pthread_mutex_lock(&s->lock_check);
    if (s->lock_checked)
        goto cleanup;
    if ((rc = s3_lock_enabled(s, &enabled)) == 0 && !enabled) {
        rc = ofs_error_set(OFS_ECONFIG, "%s: object_lock = %s, but bucket %s has no object "
                           "lock enabled\nHINT: object lock can only be turned on when a "
                           "bucket is created (x-amz-bucket-object-lock-enabled: true); use "
                           "such a bucket, or set object_lock = off", s->parent.name,
                           s->lock_mode, s->bucket);
    } else if (rc == 0) {
        s->lock_checked = 1;
        ofs_log_debug("%s: bucket %s has object lock enabled; objects are locked in %s mode",
                      s->parent.name, s->bucket, s->lock_mode);
    }
cleanup:
    pthread_mutex_unlock(&s->lock_check);
    return rc;
}

int s3_lock_refusal(s3_store *s, const char *full_key, const char *version_id)
{
    const ofs_sigv4_param params[] = { { "versionId", version_id } };
    s3_request req = { .method = "HEAD", .key = full_key, .params = params,
                       .param_count = version_id ? 1 : 0 };
    s3_response resp;
    const char *until = NULL, *mode = NULL;
    char *saved_until = NULL, *saved_mode = NULL;
    int rc;

    if ((rc = s3_call(s, &req, &resp)) == 0) {
        int64_t t;
        char date[32];
        until = ofs_http_header(resp.h, "x-amz-object-lock-retain-until-date");
        mode = ofs_http_header(resp.h, "x-amz-object-lock-mode");
        /* servers differ in fractions of a second (RGW gives nine digits): say it plainly */
        if (until && ofs_s3_xml_parse_time(until, &t) == 0) {
            ofs_time_format_iso(t, date, sizeof(date));
            saved_until = strdup(date);
        } else {
            saved_until = until ? strdup(until) : NULL;
        }
        saved_mode = mode ? strdup(mode) : NULL;
    }
    s3_response_done(s, &resp);
    if (saved_until)
        rc = ofs_error_set(OFS_EDENIED, "object is locked until %s (%s mode; bucket %s, key "
                           "%s)\nHINT: it can be deleted once its lock has expired",
                           saved_until, saved_mode ? saved_mode : "object lock", s->bucket,
                           full_key);
    else
        rc = ofs_error_set(OFS_EDENIED, "AccessDenied: the server refused to delete it, and "
                           "it has no object lock date (bucket %s, key %s)\nHINT: check that "
                           "these credentials may delete objects (s3:DeleteObjectVersion) and "
                           "whether it has a legal hold", s->bucket, full_key);
    free(saved_until);
    free(saved_mode);
    return rc;
}
