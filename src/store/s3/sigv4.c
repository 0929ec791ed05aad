/*
 * sigv4.c - AWS Signature Version 4 (see include/offsite/sigv4.h).
 *
 * Strings are built with open_memstream: the canonical request is a handful of lines of
 * unknown length, and a FILE gives bounds-checked appends without a string type of our own.
 */
#include "offsite/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/kdf.h"

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static void encode_into(FILE *f, const char *text, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (is_unreserved(*p) || (keep_slash && *p == '/')) {
            fputc(*p, f);
        } else {
            fputc('%', f);
            fputc(hex[*p >> 4], f);
            fputc(hex[*p & 15], f);
        }
    }
}

/* memstream_done(f, &buf, out): close f (which sets buf) and hand the buffer over, or free
 * it. *buf is NULL afterwards either way. */
static int memstream_done(FILE *f, char **buf, char **out)
{
    int bad = ferror(f);
    int closed = fclose(f);
    char *text = *buf;

    *buf = NULL;
    if (closed != 0 || bad) {
        free(text);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    *out = text;
    return 0;
}

int ofs_sigv4_encode(const char *text, int keep_slash, char **out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    *out = NULL;
    if (!f)
        return ofs_error_set(OFS_ERROR, "out of memory");
    encode_into(f, text ? text : "", keep_slash);
    return memstream_done(f, &buf, out);
}

typedef struct {
    char *name, *value; /* encoded */
} encoded_param;

static int param_compare(const void *a, const void *b)
{
    const encoded_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

int ofs_sigv4_canonical_query(const ofs_sigv4_param *params, size_t count, char **query)
{
    encoded_param *enc = NULL;
    char *buf = NULL;
    size_t len = 0, done = 0;
    FILE *f = NULL;
    int rc = OFS_ERROR;

    *query = NULL;
    if (count > 0 && !(enc = calloc(count, sizeof(*enc)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (; done < count; done++) {
        if ((rc = ofs_sigv4_encode(params[done].name, 0, &enc[done].name)) < 0)
            goto cleanup;
        if ((rc = ofs_sigv4_encode(params[done].value, 0, &enc[done].value)) < 0) {
            free(enc[done].name);
            goto cleanup;
        }
    }
    /* AWS sorts by the encoded names (byte order), then by value for repeated names */
    if (count > 1)
        qsort(enc, count, sizeof(*enc), param_compare);
    if (!(f = open_memstream(&buf, &len))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++)
        fprintf(f, "%s%s=%s", i ? "&" : "", enc[i].name, enc[i].value);
    rc = memstream_done(f, &buf, query);
cleanup:
    for (size_t i = 0; i < done; i++) {
        free(enc[i].name);
        free(enc[i].value);
    }
    free(enc);
    return rc;
}

typedef struct {
    char *name;        /* lower case */
    const char *value; /* as given; trimmed and folded when written */
} canonical_header;

static int header_compare(const void *a, const void *b)
{
    return strcmp(((const canonical_header *)a)->name, ((const canonical_header *)b)->name);
}

/* write_header_value: trim both ends, fold runs of white space into one space (AWS's rule). */
static void write_header_value(FILE *f, const char *v)
{
    int space = 0, started = 0;

    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = started;
            continue;
        }
        if (space)
            fputc(' ', f);
        fputc(*v, f);
        space = 0;
        started = 1;
    }
}

/* sorted_headers: the headers with lower-case names, sorted; duplicates are a caller bug. */
static int sorted_headers(const ofs_sigv4_request *req, canonical_header **out)
{
    canonical_header *h = NULL;
    size_t n = req->header_count;

    *out = NULL;
    if (n == 0)
        return ofs_error_set(OFS_ECONFIG, "sigv4: no headers to sign (host is required)");
    if (!(h = calloc(n, sizeof(*h))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!(h[i].name = strdup(req->headers[i].name))) {
            for (size_t j = 0; j < i; j++)
                free(h[j].name);
            free(h);
            return ofs_error_set(OFS_ERROR, "out of memory");
        }
        for (char *c = h[i].name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        h[i].value = req->headers[i].value ? req->headers[i].value : "";
    }
    qsort(h, n, sizeof(*h), header_compare);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(h[i - 1].name, h[i].name) == 0) {
            int rc = ofs_error_set(OFS_ECONFIG, "sigv4: header '%s' given twice", h[i].name);
            for (size_t j = 0; j < n; j++)
                free(h[j].name);
            free(h);
            return rc;
        }
    }
    *out = h;
    return 0;
}

/* canonical_request: the canonical request text and the signed-header list. */
static int canonical_request(const ofs_sigv4_request *req, char **text, char **signed_headers)
{
    canonical_header *h = NULL;
    char *query = NULL, *buf = NULL, *list = NULL;
    size_t len = 0, list_len = 0;
    FILE *f = NULL, *lf = NULL;
    int rc;

    *text = NULL;
    if (signed_headers)
        *signed_headers = NULL;
    if (!req->method || !*req->method || !req->uri || req->uri[0] != '/')
        return ofs_error_set(OFS_ECONFIG, "sigv4: request needs a method and a URI "
                             "starting with '/'");
    if ((rc = sorted_headers(req, &h)) < 0 ||
        (rc = ofs_sigv4_canonical_query(req->params, req->param_count, &query)) < 0)
        goto cleanup;
    if (!(f = open_memstream(&buf, &len)) || !(lf = open_memstream(&list, &list_len))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    fprintf(f, "%s\n%s\n%s\n", req->method, req->uri, query);
    for (size_t i = 0; i < req->header_count; i++) {
        fprintf(f, "%s:", h[i].name);
        write_header_value(f, h[i].value);
        fputc('\n', f);
        fprintf(lf, "%s%s", i ? ";" : "", h[i].name);
    }
    {
        char *joined = NULL;
        rc = memstream_done(lf, &list, &joined);
        lf = NULL;
        list = joined;
        if (rc < 0)
            goto cleanup;
    }
    fprintf(f, "\n%s\n%s", list, req->payload_hash ? req->payload_hash : "UNSIGNED-PAYLOAD");
    rc = memstream_done(f, &buf, text);
    f = NULL;
    if (rc == 0 && signed_headers) {
        *signed_headers = list;
        list = NULL;
    }
cleanup:
    if (f) {
        fclose(f);
        free(buf);
    }
    if (lf)
        fclose(lf);
    free(list);
    free(query);
    if (h) {
        for (size_t i = 0; i < req->header_count; i++)
            free(h[i].name);
        free(h);
    }
    return rc;
}

int ofs_sigv4_canonical_request(const ofs_sigv4_request *req, char **text)
{
    return canonical_request(req, text, NULL);
}

void ofs_sigv4_amz_date(int64_t t, char buf[17])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int hmac_text(const uint8_t *key, size_t key_len, const char *text, uint8_t out[32])
{
    return ofs_hmac_sha256(key, key_len, text, strlen(text), out);
}

int ofs_sigv4_sign(const ofs_sigv4_request *req, const ofs_sigv4_credentials *cred,
                   const char *region, const char *service, int64_t time,
                   char **authorization)
{
    char *canonical = NULL, *signed_headers = NULL, *secret = NULL, *to_sign = NULL;
    char amz_date[17], day[9], hash_hex[OFS_SHA256_HEX], sig_hex[OFS_SHA256_HEX];
    uint8_t hash[32], k[32];
    size_t secret_len;
    int rc;

    *authorization = NULL;
    if (!cred || !cred->access_key || !cred->secret_key || !region || !service)
        return ofs_error_set(OFS_ECONFIG, "sigv4: credentials and region are required");
    if ((rc = canonical_request(req, &canonical, &signed_headers)) < 0)
        goto cleanup;
    ofs_sigv4_amz_date(time, amz_date);
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    if ((rc = ofs_sha256_buffer(canonical, strlen(canonical), hash)) < 0)
        goto cleanup;
    ofs_hex_encode(hash, sizeof(hash), hash_hex);
    if (asprintf(&to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, day,
                 region, service, hash_hex) < 0) {
        to_sign = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    /* signing key: HMAC chain over date, region, service, "aws4_request" */
    secret_len = strlen(cred->secret_key) + 4;
    if (!(secret = malloc(secret_len + 1))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    memcpy(secret, "AWS4", 4);
    memcpy(secret + 4, cred->secret_key, secret_len - 4 + 1);
    if ((rc = hmac_text((const uint8_t *)secret, secret_len, day, k)) < 0 ||
        (rc = hmac_text(k, 32, region, k)) < 0 || (rc = hmac_text(k, 32, service, k)) < 0 ||
        (rc = hmac_text(k, 32, "aws4_request", k)) < 0 ||
        (rc = hmac_text(k, 32, to_sign, hash)) < 0)
        goto cleanup;
    ofs_hex_encode(hash, sizeof(hash), sig_hex);
    if (asprintf(authorization, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                 "SignedHeaders=%s, Signature=%s", cred->access_key, day, region, service,
                 signed_headers, sig_hex) < 0) {
        *authorization = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (secret) {
        OPENSSL_cleanse(secret, secret_len);
        free(secret);
    }
    OPENSSL_cleanse(k, sizeof(k));
    free(canonical);
    free(signed_headers);
    free(to_sign);
    return rc;
}
