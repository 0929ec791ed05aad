/* store_check.c - what a target's credentials may do, tried on a probe; see store_check.h. */
#include "offsite/store_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"

#define CHECK_DATA "offsite probe\n"

const char *ofs_store_able_name(int value)
{
    return value == OFS_ABLE_YES ? "yes" : value == OFS_ABLE_NO ? "no" : "not tried";
}

/* check_answer(rc, &able): a refusal is an answer (0, able = no); success is yes; anything
 * else stays an error */
static int check_answer(int rc, int *able)
{
    if (rc == OFS_EDENIED) {
        ofs_error_clear();
        *able = OFS_ABLE_NO;
        return 0;
    }
    if (rc == 0)
        *able = OFS_ABLE_YES;
    return rc;
}

/* check_fail(rc, step): the error of one step; a configuration error (no such bucket) is about
 * the target, not the step, and keeps its own words */
static int check_fail(int rc, const char *step)
{
    return rc == OFS_ECONFIG ? rc : ofs_error_wrap(rc, "%s", step);
}

static int check_count(void *ctx, const char *key, const ofs_object_info *info)
{
    (void)key;
    (void)info;
    (*(uint64_t *)ctx)++;
    return 0;
}

/* check_write(s, key): create the probe, or rewrite the one a write-only run left */
static int check_write(ofs_store *s, const char *key)
{
    ofs_object_info info;
    int rc = ofs_store_replace(s, key, "", CHECK_DATA, strlen(CHECK_DATA), NULL);
    if (rc != OFS_ECONFLICT && rc != OFS_EEXISTS)
        return rc;
    ofs_error_clear();
    if ((rc = ofs_store_stat(s, key, &info)) < 0)
        return rc;
    return ofs_store_replace(s, key, info.version, CHECK_DATA, strlen(CHECK_DATA), NULL);
}

/* check_read(s, key, a): get it back byte for byte, then rewrite it at the version read */
static int check_read(ofs_store *s, const char *key, ofs_store_abilities *a)
{
    ofs_object_info info;
    char *data = NULL;
    size_t size = 0;
    int rc = ofs_store_get_buffer(s, key, &data, &size, 4096);

    if ((rc = check_answer(rc, &a->get)) < 0 || a->get != OFS_ABLE_YES)
        goto cleanup;
    if (size != strlen(CHECK_DATA) || memcmp(data, CHECK_DATA, size) != 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "'%s' read back as %zu bytes that differ from the %zu "
                           "written", key, size, strlen(CHECK_DATA));
        goto cleanup;
    }
    if ((rc = ofs_store_stat(s, key, &info)) < 0)
        goto cleanup;
    rc = ofs_store_replace(s, key, info.version, CHECK_DATA, strlen(CHECK_DATA), NULL);
    rc = check_answer(rc, &a->replace);
cleanup:
    free(data);
    return rc;
}

int ofs_store_check(ofs_store *s, const char *host, ofs_store_abilities *a)
{
    int rc;

    memset(a, 0, sizeof(*a));
    a->put = a->get = a->list = a->del = a->replace = OFS_ABLE_UNTRIED;
    snprintf(a->probe_key, sizeof(a->probe_key), OFS_STORE_PROBE_PREFIX "%s/probe",
             host && *host ? host : "host");
    if ((rc = ofs_store_delete_check(s, host)) < 0)
        return check_fail(rc, "trying a delete");
    a->del = rc ? OFS_ABLE_YES : OFS_ABLE_NO;
    /* a probe an interrupted check left would make "create if absent" fail */
    if (a->del == OFS_ABLE_YES && (rc = ofs_store_del(s, a->probe_key)) < 0)
        return check_fail(rc, "deleting an old probe");
    if ((rc = check_answer(check_write(s, a->probe_key), &a->put)) < 0)
        return check_fail(rc, "writing a probe");
    if (a->put == OFS_ABLE_YES && (rc = check_read(s, a->probe_key, a)) < 0)
        return check_fail(rc, "reading the probe back");
    a->atomic = (ofs_store_caps(s) & OFS_STORE_CAP_ATOMIC_REPLACE) != 0;
    rc = ofs_store_list(s, OFS_STORE_PROBE_PREFIX, check_count, &a->probes);
    if (rc == OFS_ENOTFOUND) { /* a driver whose probe folder is gone already */
        ofs_error_clear();
        rc = 0;
    }
    if ((rc = check_answer(rc, &a->list)) < 0)
        return check_fail(rc, "listing the probes");
    if (a->put == OFS_ABLE_YES && a->del == OFS_ABLE_YES) {
        if ((rc = ofs_store_del(s, a->probe_key)) < 0)
            return check_fail(rc, "deleting the probe");
        if (a->probes > 0)
            a->probes--;
    } else if (a->put == OFS_ABLE_YES) {
        a->probe_kept = 1;
    }
    return 0;
}
