/*
 * gcs_replace.c - the gcs driver's compare-and-swap of a small object (the manifest): a media
 * upload with ifGenerationMatch=GENERATION, or ifGenerationMatch=0 where there was none
 * (store.h, ofs_store_replace).
 *
 * Google honours preconditions; the Cloud Storage emulator ignores them and overwrites. So the
 * first conditional write of a store probes with an object of its own: write it if absent,
 * then again if absent - which must be refused (412) - then delete it. A server that took the
 * second write gets OFS_EUNSUPPORTED here (the store layer checks, then writes) and its
 * if-absent puts look first (gcs_write.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "gcs_internal.h"

int gcs_preconditions_probe(gcs_store *s)
{
    uint8_t random[8];
    char hex[17], *name = NULL;
    int rc = 0, second;

    pthread_mutex_lock(&s->probe_lock);
    if (s->preconditions != 0)
        goto cleanup;
    if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
        rc = ofs_error_set(OFS_ERROR, "getrandom failed");
        goto cleanup;
    }
    ofs_hex_encode(random, sizeof(random), hex);
    if (asprintf(&name, "%s" OFS_GCS_PROBE_PREFIX "precondition-%s", s->prefix, hex) < 0) {
        name = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = gcs_media_upload(s, name, "probe 1\n", 8, NULL, "0", NULL)) < 0) {
        ofs_error_wrap(rc, "checking whether the server honours ifGenerationMatch");
        goto cleanup;
    }
    second = gcs_media_upload(s, name, "probe 2\n", 8, NULL, "0", NULL);
    if (second == OFS_EEXISTS) {
        s->preconditions = 1;
    } else if (second == 0) {
        s->preconditions = -1;
        ofs_log_info("%s: the server ignores ifGenerationMatch: manifest updates are "
                     "check-then-write", s->parent.name);
    } else {
        rc = ofs_error_wrap(second, "checking whether the server honours ifGenerationMatch");
    }
    ofs_error_clear();
    if (gcs_delete_full(s, name) < 0) {
        ofs_log_warn("%s: could not delete the probe '%s': %s", s->parent.name, name,
                     ofs_error_last());
        ofs_error_clear();
    }
    if (s->preconditions > 0)
        s->parent.caps |= OFS_STORE_CAP_ATOMIC_REPLACE;
cleanup:
    pthread_mutex_unlock(&s->probe_lock);
    free(name);
    return rc;
}

/* object_is(s, name, data, size): 1 if the stored object is these bytes (size and md5) */
static int object_is(gcs_store *s, const char *name, const void *data, size_t size)
{
    gcs_response resp;
    ofs_object_info info;
    char md5[25], *url = NULL, *got = NULL;
    int same = 0;

    if (gcs_md5_base64(data, size, md5) < 0 || gcs_object_url(s, "", name, NULL, &url) < 0) {
        ofs_error_clear();
        return 0;
    }
    gcs_request req = { .method = "GET", .url = url, .object = name };
    if (gcs_call(s, &req, &resp) == 0 &&
        gcs_object_meta(resp.body, resp.body_size, &info, &got, NULL) == 0)
        same = info.size == size && got && strcmp(got, md5) == 0;
    ofs_error_clear();
    gcs_response_done(s, &resp);
    free(got);
    free(url);
    return same;
}

int gcs_replace(ofs_store *store, const char *key, const char *version, const void *data,
                size_t size, char new_version[OFS_STORE_VERSION_MAX])
{
    gcs_store *s = (gcs_store *)store;
    ofs_object_info info;
    char *full = NULL;
    int rc;

    if ((rc = gcs_preconditions_probe(s)) < 0)
        return rc;
    if (s->preconditions < 0)
        return ofs_error_set(OFS_EUNSUPPORTED, "the server ignores ifGenerationMatch");
    if (*version && strspn(version, "0123456789") != strlen(version))
        return ofs_error_set(OFS_ECONFLICT, "version '%s' is not a generation", version);
    if (!(full = gcs_full_name(s, key)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = gcs_media_upload(s, full, data, size, NULL, *version ? version : "0", &info);
    /* 412: someone else wrote - unless it was this very write, landed by an attempt whose
     * answer was lost */
    if (rc == OFS_EEXISTS) {
        if (object_is(s, full, data, size) && gcs_stat_full(s, full, &info) == 0) {
            rc = 0;
        } else {
            ofs_error_clear();
            rc = ofs_error_set(OFS_ECONFLICT, "%s since it was read (bucket %s, object %s)",
                               *version ? "changed by another writer"
                                        : "created by another writer", s->bucket, full);
        }
    }
    if (rc == 0 && new_version)
        snprintf(new_version, OFS_STORE_VERSION_MAX, "%s", info.version);
    free(full);
    return rc;
}
