/*
 * s3_replace.c - the s3 driver's compare-and-swap of a small object (the manifest): a PUT
 * with If-Match: ETAG, or If-None-Match: * where there was none (store.h, ofs_store_replace).
 *
 * Servers differ: AWS honours If-Match on PUT since 2024 with the ETag as HEAD gives it;
 * Ceph RGW honours it but compares the bare MD5 (a quoted ETag never matches); older or
 * simpler servers ignore the header and overwrite. So the first replace of a store probes
 * with an object of its own: write it, replace it with If-Match in either form (which one
 * succeeds tells the form), then with an ETag that cannot match (which must be refused, or
 * the header is ignored), then with If-None-Match: * (which must be refused too), then delete
 * it. An ignoring server gets OFS_EUNSUPPORTED, and the store layer falls back to
 * check-then-write; an OFS_PUT_IF_ABSENT put there HEADs first (s3_write.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/store_s3.h"
#include "s3_internal.h"

#define S3_PROBE_KEY OFS_S3_PROBE_PREFIX "if-match" /* lifecycle clears its old versions */
#define S3_PROBE_BODY "offsite checks whether this server honours If-Match on PUT\n"
#define S3_NEVER_ETAG "\"00000000000000000000000000000000\""

/* if_match_header(out, style, etag): "If-Match: ETAG" in the server's form */
static void if_match_header(char *out, size_t size, int style, const char *etag)
{
    size_t n = strlen(etag);

    if (style == S3_IF_MATCH_BARE && n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
        snprintf(out, size, "If-Match: %.*s", (int)(n - 2), etag + 1);
    else
        snprintf(out, size, "If-Match: %s", etag);
}

/* probe_put(s, key, style, etag): 1 if a PUT of the probe with If-Match went through, 0 if
 * the condition was refused, < 0 on any other failure. */
static int probe_put(s3_store *s, const char *key, int style, const char *etag)
{
    char header[OFS_STORE_VERSION_MAX + 16];
    int rc;

    if_match_header(header, sizeof(header), style, etag);
    rc = s3_put_object(s, key, S3_PROBE_BODY, strlen(S3_PROBE_BODY), header, NULL);
    if (rc == OFS_EEXISTS || rc == OFS_ENOTFOUND) {
        ofs_error_clear();
        return 0;
    }
    return rc < 0 ? rc : 1;
}

/* probe_name(s, relative): the probe's key. A random name of its own, so two hosts probing at
 * once never meet - unless these credentials may not delete (asked by deleting that name
 * before it exists): then one fixed name per host, rewritten by every run instead of one more
 * object left behind per push. */
static int probe_name(s3_store *s, char relative[300])
{
    unsigned char nonce[8];
    char hex[17], host[256] = "";
    int rc;

    if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
        return ofs_error_from_errno(errno, "getrandom");
    ofs_hex_encode(nonce, sizeof(nonce), hex);
    snprintf(relative, 300, "%s-%s", S3_PROBE_KEY, hex);
    if (!(s->parent.caps & OFS_STORE_CAP_DELETE_REFUSED)) {
        if ((rc = s3_delete_plain(s, relative)) == OFS_EDENIED)
            s->parent.caps |= OFS_STORE_CAP_DELETE_REFUSED;
        else if (rc < 0)
            return rc;
        ofs_error_clear();
    }
    if (s->parent.caps & OFS_STORE_CAP_DELETE_REFUSED) {
        if (gethostname(host, sizeof(host) - 1) < 0 || !*host || strchr(host, '/'))
            snprintf(host, sizeof(host), "host");
        snprintf(relative, 300, "%s-%s", S3_PROBE_KEY, host);
    }
    return 0;
}

int s3_conditions_probe(s3_store *s)
{
    char relative[300], *key = NULL, *etag = NULL, *saved = NULL;
    int style = S3_IF_MATCH_IGNORED, rc;

    if ((rc = probe_name(s, relative)) < 0)
        return rc;
    if (!(key = s3_full_key(s, relative)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    if ((rc = s3_put_object(s, key, S3_PROBE_BODY, strlen(S3_PROBE_BODY), NULL, &etag)) < 0)
        goto cleanup;
    if (!etag) {
        ofs_object_info info;
        if ((rc = s3_head(s, key, &info, &etag)) < 0)
            goto cleanup;
    }
    if (etag) {
        if ((rc = probe_put(s, key, S3_IF_MATCH_QUOTED, etag)) == 1)
            style = S3_IF_MATCH_QUOTED;
        else if (rc == 0 && (rc = probe_put(s, key, S3_IF_MATCH_BARE, etag)) == 1)
            style = S3_IF_MATCH_BARE;
        if (rc < 0 && rc != OFS_EUNSUPPORTED)
            goto cleanup;
        /* a server that lets a wrong ETag through ignores the header */
        if (style != S3_IF_MATCH_IGNORED && (rc = probe_put(s, key, style, S3_NEVER_ETAG)) != 0)
            style = S3_IF_MATCH_IGNORED;
        if (rc < 0 && rc != OFS_EUNSUPPORTED)
            goto cleanup;
    }
    /* the object exists: If-None-Match: * must be refused */
    rc = s3_put_object(s, key, S3_PROBE_BODY, strlen(S3_PROBE_BODY), "If-None-Match: *", NULL);
    if (rc < 0 && rc != OFS_EEXISTS && rc != OFS_EUNSUPPORTED)
        goto cleanup;
    s->if_none_match = rc == OFS_EEXISTS ? 1 : -1;
    ofs_error_clear();
    rc = 0;
    s->if_match = style;
    if (style != S3_IF_MATCH_IGNORED && s->if_none_match > 0)
        s->parent.caps |= OFS_STORE_CAP_ATOMIC_REPLACE;
    ofs_log_debug("%s: If-Match on PUT: %s; If-None-Match: %s", s->parent.name,
                  style == S3_IF_MATCH_QUOTED ? "honoured (quoted ETag)"
                  : style == S3_IF_MATCH_BARE ? "honoured (bare ETag)" : "ignored",
                  s->if_none_match > 0 ? "honoured" : "ignored");
    if (s->if_none_match < 0)
        ofs_log_info("%s: the server ignores If-None-Match: records are written after a HEAD "
                     "finds none (not atomic)", s->parent.name);
cleanup:
    /* the probe is ours alone: leave nothing behind, whatever happened - keeping the message
     * of what failed, not of the cleanup */
    saved = rc < 0 ? ofs_error_save() : NULL;
    if (s->parent.caps & OFS_STORE_CAP_DELETE_REFUSED)
        ofs_log_info("%s: delete refused: the If-Match probe stays as '%s%s' (one per host, "
                     "rewritten each run; a lifecycle rule over %s expires it)", s->parent.name,
                     s->prefix, relative, OFS_STORE_PROBE_PREFIX);
    else if (s->parent.ops->del(&s->parent, relative) < 0)
        ofs_log_debug("%s: could not delete %s: %s", s->parent.name, key, ofs_error_last());
    if (rc < 0)
        ofs_error_restore(rc, saved);
    else
        ofs_error_clear();
    free(saved);
    free(etag);
    free(key);
    return rc;
}

int s3_replace(ofs_store *store, const char *key, const char *version, const void *data,
               size_t size, char new_version[OFS_STORE_VERSION_MAX])
{
    s3_store *s = (s3_store *)store;
    char header[OFS_STORE_VERSION_MAX + 16], *full = NULL, *etag = NULL;
    ofs_object_info info;
    int rc;

    if (*version) {
        if (s->if_match == S3_IF_MATCH_UNPROBED && (rc = s3_conditions_probe(s)) < 0)
            return rc;
        if (s->if_match == S3_IF_MATCH_IGNORED)
            return ofs_error_set(OFS_EUNSUPPORTED, "the server ignores If-Match");
        if_match_header(header, sizeof(header), s->if_match, version);
    } else {
        if (s->if_none_match == 0 && (rc = s3_conditions_probe(s)) < 0)
            return rc;
        if (s->if_none_match < 0)
            return ofs_error_set(OFS_EUNSUPPORTED, "the server ignores If-None-Match");
        snprintf(header, sizeof(header), "If-None-Match: *");
    }
    if (!(full = s3_full_key(s, key)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = s3_put_object(s, full, data, size, header, &etag);
    /* 412, or AWS's 404 for If-Match on a deleted object: someone else wrote - unless it was
     * this very write, landed by an attempt whose answer was lost */
    if (rc == OFS_EEXISTS || rc == OFS_ENOTFOUND) {
        if (s3_object_is(s, full, data, size)) {
            ofs_error_clear();
            rc = 0;
        } else {
            rc = ofs_error_set(OFS_ECONFLICT, "%s since it was read (bucket %s, key %s)",
                               *version ? "changed by another writer" : "created by another "
                               "writer", s->bucket, full);
        }
    }
    if (rc < 0)
        goto cleanup;
    if (!etag && (rc = s3_head(s, full, &info, &etag)) < 0)
        goto cleanup;
    snprintf(new_version, OFS_STORE_VERSION_MAX, "%s", etag ? etag : "");
cleanup:
    free(etag);
    free(full);
    return rc;
}
