/*
 * gcs_lock.c - object retention for a gcs target with object_lock = governance|compliance
 * (see store_gcs.h): the "retention" each data object is uploaded with, and the message for a
 * delete the retention refused.
 *
 * The dates are s3's (ofs_retention_lock_until): a day past the class's expiry from the time
 * of writing, so prune and the lifecycle rule are never refused for a backup the policy no
 * longer keeps. governance is GCS's Unlocked mode (someone with storage.objects.
 * overrideUnlockedRetention can shorten or remove it), compliance its Locked mode (no one
 * can, until the date). manifest.json is rewritten by every push: never locked.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/retention.h"
#include "gcs_internal.h"

int gcs_lock_settings(gcs_store *s, const ofs_config_target *t,
                      const ofs_config_retention *retention)
{
    int rc = ofs_store_lock_settings(t, retention, "gcs", &s->retention);

    if (rc <= 0)
        return rc;
    s->lock_mode = rc == OFS_LOCK_GOVERNANCE ? "Unlocked" : "Locked";
    s->parent.caps |= OFS_STORE_CAP_OBJECT_LOCK;
    return 0;
}

int gcs_lock_retention(const gcs_store *s, const char *key, int64_t now, json_t **retention)
{
    char date[32];
    int64_t until;

    *retention = NULL;
    if (!s->lock_mode || !ofs_retention_lock_until(&s->retention, key, now, &until))
        return 0;
    ofs_time_format_iso(until, date, sizeof(date));
    if (!(*retention = json_pack("{s:s, s:s}", "mode", s->lock_mode, "retainUntilTime", date)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

int gcs_lock_check(gcs_store *s)
{
    json_t *doc = NULL;
    const char *mode;
    int rc = 0;

    /* once per store; a failure is asked again at the next locked upload */
    pthread_mutex_lock(&s->probe_lock);
    if (!s->lock_mode || s->lock_checked)
        goto cleanup;
    if ((rc = gcs_bucket_get(s, "objectRetention", &doc)) < 0) {
        rc = ofs_error_wrap(rc, "reading whether bucket %s has object retention", s->bucket);
        goto cleanup;
    }
    mode = json_string_value(json_object_get(json_object_get(doc, "objectRetention"), "mode"));
    if (!mode || strcmp(mode, "Enabled") != 0) {
        rc = ofs_error_set(OFS_ECONFIG, "object_lock is on (%s mode), but bucket %s has no "
                           "object retention enabled\nHINT: it can only be turned on when a "
                           "bucket is created (gcloud storage buckets create "
                           "--enable-per-object-retention); use such a bucket, or set "
                           "object_lock = off", s->lock_mode, s->bucket);
        goto cleanup;
    }
    s->lock_checked = 1;
cleanup:
    pthread_mutex_unlock(&s->probe_lock);
    json_decref(doc);
    return rc;
}

int gcs_lock_refusal(gcs_store *s, const char *full_name)
{
    char *saved = ofs_error_save(), *url = NULL;
    gcs_response resp;
    json_t *doc = NULL;
    const char *until = NULL, *mode = NULL;
    int rc;

    memset(&resp, 0, sizeof(resp));
    if ((rc = gcs_object_url(s, "", full_name, "fields=retention,retentionExpirationTime",
                             &url)) < 0)
        goto cleanup;
    gcs_request req = { .method = "GET", .url = url, .object = full_name, .max_tries = 2 };
    if ((rc = gcs_call(s, &req, &resp)) < 0)
        goto cleanup;
    doc = json_loadb(resp.body ? resp.body : "", resp.body_size, 0, NULL);
    json_t *retention = json_object_get(doc, "retention");
    if ((until = json_string_value(json_object_get(retention, "retainUntilTime"))))
        mode = json_string_value(json_object_get(retention, "mode"));
    else
        until = json_string_value(json_object_get(doc, "retentionExpirationTime"));
cleanup:
    if (until)
        rc = ofs_error_set(OFS_EDENIED, "object is locked until %s (%s; bucket %s, object %s)"
                           "\nHINT: it can be deleted once its retention has passed", until,
                           mode ? (strcmp(mode, "Locked") == 0 ? "Locked mode"
                                                               : "Unlocked mode")
                                : "the bucket's retention policy", s->bucket, full_name);
    else /* the refusal itself says more than a failed look */
        rc = ofs_error_restore(OFS_EDENIED, saved);
    gcs_response_done(s, &resp);
    json_decref(doc);
    free(url);
    free(saved);
    return rc;
}
