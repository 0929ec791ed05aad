/*
 * gcs_auth.c - the gcs driver's credentials: a service-account key (a JWT signed with RS256
 * through EVP, exchanged at the key's token_uri), a bearer token from the environment, or the
 * GCE metadata server (see include/offsite/store_gcs.h for the order).
 *
 * Secrets (the private key, the assertion, tokens) live only in this file's buffers and the
 * one Authorization line handed to a request; each is wiped with OPENSSL_cleanse before it is
 * freed, and no message quotes a server's answer that could hold one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "gcs_internal.h"

#define GCS_SCOPE "https://www.googleapis.com/auth/devstorage.full_control"
#define GCS_TOKEN_MARGIN 300     /* fetch a new token this many seconds before expiry */
#define GCS_KEY_FILE_MAX ((size_t)1 << 20)
#define GCS_METADATA_PATH "/computeMetadata/v1/instance/service-accounts/default/token"

static void wipe_free(char *p)
{
    if (p) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

/* ---- the JWT ---- */

/* base64url(data, size, &out): unpadded base64url, malloc'd */
static int base64url(const void *data, size_t size, char **out)
{
    char *b = malloc(4 * ((size + 2) / 3) + 1);
    int n;

    if (!(*out = b))
        return ofs_error_set(OFS_ERROR, "out of memory");
    n = EVP_EncodeBlock((unsigned char *)b, data, (int)size);
    while (n > 0 && b[n - 1] == '=')
        n--;
    b[n] = '\0';
    for (char *p = b; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return 0;
}

/* load_key(pem, &pkey): an RSA private key from PEM */
static int load_key(const char *pem, EVP_PKEY **pkey)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);

    *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!*pkey || EVP_PKEY_base_id(*pkey) != EVP_PKEY_RSA) {
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        return OFS_ECONFIG;
    }
    return 0;
}

int ofs_gcs_jwt(const ofs_gcs_key *key, int64_t now, char **jwt)
{
    json_t *header = NULL, *claims = NULL;
    char *h_json = NULL, *c_json = NULL, *h64 = NULL, *c64 = NULL, *signing = NULL;
    char *sig64 = NULL;
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    int rc;

    *jwt = NULL;
    if (load_key(key->private_key, &pkey) < 0)
        return ofs_error_set(OFS_ECONFIG, "'private_key' is not an RSA private key in PEM");
    header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    if (header && key->private_key_id)
        json_object_set_new(header, "kid", json_string(key->private_key_id));
    claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", key->client_email, "scope",
                       key->scope ? key->scope : GCS_SCOPE, "aud", key->token_uri,
                       "iat", (json_int_t)now, "exp", (json_int_t)(now + 3600));
    if (!header || !claims ||
        !(h_json = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER)) ||
        !(c_json = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = base64url(h_json, strlen(h_json), &h64)) < 0 ||
        (rc = base64url(c_json, strlen(c_json), &c64)) < 0)
        goto cleanup;
    if (asprintf(&signing, "%s.%s", h64, c64) < 0) {
        signing = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if (!(md = EVP_MD_CTX_new()) ||
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestSign(md, NULL, &sig_len, (unsigned char *)signing, strlen(signing)) != 1 ||
        !(sig = malloc(sig_len)) ||
        EVP_DigestSign(md, sig, &sig_len, (unsigned char *)signing, strlen(signing)) != 1) {
        rc = ofs_error_set(OFS_ERROR, "openssl: RS256 signing failed");
        goto cleanup;
    }
    if ((rc = base64url(sig, sig_len, &sig64)) < 0)
        goto cleanup;
    if (asprintf(jwt, "%s.%s", signing, sig64) < 0) {
        *jwt = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
    }
cleanup:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    json_decref(header);
    json_decref(claims);
    free(h_json);
    free(c_json);
    free(h64);
    free(c64);
    free(signing);
    free(sig);
    free(sig64);
    return rc;
}

/* ---- loading ---- */

/* key_field(doc, path, name, &out): a required string field of the key file */
static int key_field(json_t *doc, const char *path, const char *name, char **out)
{
    const char *v = json_string_value(json_object_get(doc, name));

    if (!v || !*v)
        return ofs_error_set(OFS_ECONFIG, "credentials file '%s': field '%s' is missing or not "
                             "a string\nHINT: download a service-account key (JSON) for the "
                             "account that writes the bucket", path, name);
    if (!(*out = strdup(v)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

static int auth_load_key(gcs_auth *a, const char *path)
{
    json_error_t jerr;
    json_t *doc = NULL;
    char *text = NULL;
    const char *type;
    EVP_PKEY *pkey = NULL;
    size_t size = 0;
    int rc;

    a->kind = GCS_AUTH_KEY;
    if (!(a->source = strdup(path)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    if ((rc = ofs_read_file(path, &text, &size, GCS_KEY_FILE_MAX)) < 0)
        return ofs_error_wrap(rc, "credentials file");
    if (!(doc = json_loadb(text, size, 0, &jerr)) || !json_is_object(doc)) {
        rc = ofs_error_set(OFS_ECONFIG, "credentials file '%s': not a JSON object (line %d: "
                           "%s)", path, jerr.line, doc ? "not an object" : jerr.text);
        goto cleanup;
    }
    type = json_string_value(json_object_get(doc, "type"));
    if (!type || strcmp(type, "service_account") != 0) {
        rc = ofs_error_set(OFS_ECONFIG, "credentials file '%s': field 'type' is %s%s%s, not "
                           "'service_account'\nHINT: offsite needs a service-account key; for "
                           "a token from elsewhere set OFFSITE_GCS_TOKEN", path,
                           type ? "'" : "", type ? type : "missing", type ? "'" : "");
        goto cleanup;
    }
    if ((rc = key_field(doc, path, "client_email", &a->client_email)) < 0 ||
        (rc = key_field(doc, path, "private_key", &a->private_key)) < 0 ||
        (rc = key_field(doc, path, "token_uri", &a->token_uri)) < 0)
        goto cleanup;
    if (json_string_value(json_object_get(doc, "private_key_id")) &&
        !(a->private_key_id = strdup(json_string_value(json_object_get(doc,
                                                                     "private_key_id"))))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if (load_key(a->private_key, &pkey) < 0) {
        rc = ofs_error_set(OFS_ECONFIG, "credentials file '%s': field 'private_key' is not an "
                           "RSA private key in PEM", path);
        goto cleanup;
    }
cleanup:
    EVP_PKEY_free(pkey);
    json_decref(doc);
    wipe_free(text);
    return rc;
}

int gcs_auth_load(gcs_store *s, const ofs_config_target *t)
{
    gcs_auth *a = &s->auth;
    const char *env_token = getenv("OFFSITE_GCS_TOKEN");
    const char *gac = getenv("GOOGLE_APPLICATION_CREDENTIALS");
    const char *host = getenv("GCE_METADATA_HOST");
    int rc;

    if (t->credentials_file && *t->credentials_file)
        rc = auth_load_key(a, t->credentials_file);
    else if (env_token && *env_token) {
        a->kind = GCS_AUTH_ENV;
        if (!(a->source = strdup("OFFSITE_GCS_TOKEN")) ||
            asprintf(&a->token, "Authorization: Bearer %s", env_token) < 0) {
            a->token = NULL;
            return ofs_error_set(OFS_ERROR, "out of memory");
        }
        a->expires = INT64_MAX;
        return 0;
    } else if (gac && *gac) {
        rc = auth_load_key(a, gac);
    } else {
        a->kind = GCS_AUTH_METADATA;
        if (asprintf(&a->metadata_url, "http://%s" GCS_METADATA_PATH,
                     host && *host ? host : "metadata.google.internal") < 0) {
            a->metadata_url = NULL;
            return ofs_error_set(OFS_ERROR, "out of memory");
        }
        if (!(a->source = strdup(a->metadata_url)))
            return ofs_error_set(OFS_ERROR, "out of memory");
        return 0;
    }
    if (rc < 0)
        return ofs_error_wrap(rc, "target '%s' (line %d)", t->name, t->line);
    return 0;
}

/* ---- fetching a token ---- */

/*
 * token_answer(a, status, body, size, &token, &expires_in): the access token of a token
 * endpoint's or metadata server's answer; refusals are OFS_EDENIED naming the error code but
 * never quoting more of the answer.
 */
static int token_answer(const gcs_auth *a, long status, const char *body, size_t size,
                        char **token, int64_t *expires_in)
{
    json_t *doc = json_loadb(body ? body : "", size, 0, NULL);
    const char *tok = json_string_value(json_object_get(doc, "access_token"));
    const char *err = json_string_value(json_object_get(doc, "error"));
    json_t *exp = json_object_get(doc, "expires_in");
    int rc = 0;

    *token = NULL;
    if (status == 200 && tok && *tok) {
        *expires_in = json_is_integer(exp) ? (int64_t)json_integer_value(exp) : 3600;
        if (!(*token = strdup(tok)))
            rc = ofs_error_set(OFS_ERROR, "out of memory");
    } else if (status == 429 || status >= 500) {
        rc = ofs_error_set(OFS_ETRANSIENT, "%s: HTTP %ld (%s)", a->kind == GCS_AUTH_METADATA ?
                           "GCE metadata server" : "token endpoint", status, a->source);
    } else if (a->kind == GCS_AUTH_METADATA) {
        /* a 404 or 403 here: the instance has no service account, or not for this scope */
        rc = ofs_error_set(OFS_EDENIED, "GCE metadata server gave no access token: HTTP %ld "
                           "(%s)\nHINT: give the instance a service account with a storage "
                           "scope, or set 'credentials_file' in the target (a service-account "
                           "key)", status, a->source);
    } else if (err && strcmp(err, "invalid_grant") == 0) {
        rc = ofs_error_set(OFS_EDENIED, "token endpoint refused the key: invalid_grant (%s)\n"
                           "HINT: this host's clock may be off (run an NTP client), or the "
                           "key was deleted or disabled: create a new key for the service "
                           "account", a->source);
    } else {
        char code[64];
        /* only a short, safe error code is quoted: never the rest of the answer */
        snprintf(code, sizeof(code), "%s", err && strlen(err) < 48 && !strpbrk(err, " \n")
                                              ? err : "refused");
        rc = ofs_error_set(OFS_EDENIED, "token endpoint: %s, HTTP %ld (%s)\nHINT: check the "
                           "service-account key and that the account is enabled", code,
                           status, a->source);
    }
    if (tok)
        OPENSSL_cleanse((void *)tok, strlen(tok));
    json_decref(doc);
    return rc;
}

/* token_fetch(s, &token, &expires_in): one request for a new token */
static int token_fetch(gcs_store *s, char **token, int64_t *expires_in)
{
    gcs_auth *a = &s->auth;
    ofs_http *h = NULL;
    char *jwt = NULL, *form = NULL, *body = NULL;
    size_t body_size = 0;
    ofs_http_request req;
    int rc;

    *token = NULL;
    if (a->kind == GCS_AUTH_KEY) {
        ofs_gcs_key key = { a->client_email, a->private_key, a->private_key_id, a->token_uri,
                            NULL };
        static const char *const headers[] = {
            "Content-Type: application/x-www-form-urlencoded" };
        if ((rc = ofs_gcs_jwt(&key, (int64_t)time(NULL), &jwt)) < 0)
            return ofs_error_wrap(rc, "credentials file '%s'", a->source);
        /* the JWT is base64url and dots: nothing in it needs form encoding */
        if (asprintf(&form, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3A"
                     "jwt-bearer&assertion=%s", jwt) < 0) {
            form = NULL;
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        req = (ofs_http_request){ "POST", a->token_uri, headers, 1, form, strlen(form), 0, 0 };
    } else {
        static const char *const headers[] = { "Metadata-Flavor: Google" };
        req = (ofs_http_request){ "GET", a->metadata_url, headers, 1, NULL, 0, 0, 0 };
    }
    if ((rc = ofs_http_pool_acquire(s->pool, &h)) < 0)
        goto cleanup;
    if ((rc = ofs_http_begin(h, &req)) < 0) {
        if (a->kind == GCS_AUTH_METADATA)
            rc = ofs_error_set(OFS_ECONFIG, "no credentials: the GCE metadata server did not "
                               "answer (%s)\nHINT: off Google Cloud, set 'credentials_file' "
                               "in the target (a service-account key) or "
                               "GOOGLE_APPLICATION_CREDENTIALS", ofs_error_last());
        else
            rc = ofs_error_wrap(rc, "token endpoint");
        goto cleanup;
    }
    if ((rc = ofs_http_read_all(h, &body, &body_size, (size_t)1 << 20)) < 0)
        goto cleanup;
    rc = token_answer(a, ofs_http_status(h), body, body_size, token, expires_in);
cleanup:
    ofs_http_pool_release(s->pool, h);
    wipe_free(jwt);
    wipe_free(form);
    wipe_free(body);
    return rc;
}

int gcs_auth_header(gcs_store *s, char **line)
{
    gcs_auth *a = &s->auth;
    int64_t now = (int64_t)time(NULL), expires_in = 0;
    char *token = NULL;
    int rc = 0;

    *line = NULL;
    if (a->kind == GCS_AUTH_NONE)
        return 0;
    /* one fetch at a time: parallel uploads wait for it rather than each ask */
    pthread_mutex_lock(&a->lock);
    if (!a->token || now >= a->expires - GCS_TOKEN_MARGIN) {
        if (a->kind == GCS_AUTH_ENV) {
            rc = ofs_error_set(OFS_EDENIED, "the token in OFFSITE_GCS_TOKEN was refused");
            goto cleanup;
        }
        if ((rc = token_fetch(s, &token, &expires_in)) < 0)
            goto cleanup;
        wipe_free(a->token);
        a->token = NULL;
        if (asprintf(&a->token, "Authorization: Bearer %s", token) < 0) {
            a->token = NULL;
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        a->expires = now + expires_in;
        ofs_log_debug("%s: new access token from %s, valid %lld s", s->parent.name, a->source,
                      (long long)expires_in);
    }
    if (!(*line = strdup(a->token)))
        rc = ofs_error_set(OFS_ERROR, "out of memory");
cleanup:
    pthread_mutex_unlock(&a->lock);
    wipe_free(token);
    return rc;
}

void gcs_auth_invalidate(gcs_store *s)
{
    gcs_auth *a = &s->auth;

    pthread_mutex_lock(&a->lock);
    if (a->kind != GCS_AUTH_ENV) {
        wipe_free(a->token);
        a->token = NULL;
    }
    pthread_mutex_unlock(&a->lock);
}

void gcs_auth_free(gcs_auth *a)
{
    wipe_free(a->token);
    wipe_free(a->private_key);
    free(a->private_key_id);
    free(a->client_email);
    free(a->token_uri);
    free(a->metadata_url);
    free(a->source);
    pthread_mutex_destroy(&a->lock);
}
