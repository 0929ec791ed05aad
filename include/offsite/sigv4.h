/*
 * sigv4.h - AWS Signature Version 4 for S3, as pure functions of the request and a time.
 *
 * Nothing here touches the network or the clock: the S3 driver builds the request (method,
 * canonical URI, query parameters, the headers it sends, the payload hash), passes the time it
 * stamps into x-amz-date, and sends the Authorization header it gets back. The same functions
 * build the URL's path and query, so what is signed is byte for byte what is sent.
 *
 * Encoding follows AWS's rules (RFC 3986 unreserved characters A-Z a-z 0-9 - . _ ~ are kept,
 * every other byte is %XX in upper case, ' ' is %20 and never '+'), so keys with spaces, '+',
 * '=', '$' and UTF-8 sign and travel the same way.
 */
#ifndef OFFSITE_SIGV4_H
#define OFFSITE_SIGV4_H

#include <stddef.h>
#include <stdint.h>

/* The hash of an empty payload (GET, HEAD, DELETE). */
#define OFS_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct ofs_sigv4_param {
    const char *name;   /* decoded: "prefix", "continuation-token", "uploads" */
    const char *value;  /* decoded; NULL or "" for a value-less sub-resource ("?uploads=") */
} ofs_sigv4_param;

typedef struct ofs_sigv4_header {
    const char *name;   /* any case: canonicalised to lower case */
    const char *value;  /* trimmed, inner runs of spaces folded, when canonicalised */
} ofs_sigv4_header;

typedef struct ofs_sigv4_request {
    const char *method;                 /* "GET", "PUT", ... */
    const char *uri;                    /* canonical (already encoded) path: "/test%24file.text" */
    const ofs_sigv4_param *params;      /* any order; sorted when signed */
    size_t param_count;
    const ofs_sigv4_header *headers;    /* every header to sign; must hold host and x-amz-date */
    size_t header_count;
    const char *payload_hash;           /* lowercase hex SHA-256 or "UNSIGNED-PAYLOAD" */
} ofs_sigv4_request;

typedef struct ofs_sigv4_credentials {
    const char *access_key;
    const char *secret_key;
    const char *session_token;          /* NULL if none; the caller sends and signs
                                           x-amz-security-token itself */
} ofs_sigv4_credentials;

/*
 * ofs_sigv4_sign(req, cred, region, service, time, &authorization): the Authorization header
 * value ("AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, SignedHeaders=...,
 * Signature=...") for req at time (Unix seconds, UTC; must match req's x-amz-date). service is
 * "s3". Caller frees *authorization. OFS_ECONFIG for a malformed request (duplicate header,
 * missing method/uri), OFS_ERROR on out of memory or an OpenSSL failure.
 */
int ofs_sigv4_sign(const ofs_sigv4_request *req, const ofs_sigv4_credentials *cred,
                   const char *region, const char *service, int64_t time,
                   char **authorization);

/*
 * ofs_sigv4_canonical_request(req, &text): the canonical request AWS hashes (newline-separated
 * method, URI, query, headers, signed header list, payload hash), for tests and for debugging
 * SignatureDoesNotMatch. Caller frees *text.
 */
int ofs_sigv4_canonical_request(const ofs_sigv4_request *req, char **text);

/*
 * ofs_sigv4_canonical_query(params, count, &query): "a=1&b=&c=x%2Fy": sorted by encoded name
 * then value, every name and value RFC 3986 encoded, value-less parameters as "name=". The S3
 * driver sends this string as the URL's query. Caller frees *query ("" for none).
 */
int ofs_sigv4_canonical_query(const ofs_sigv4_param *params, size_t count, char **query);

/*
 * ofs_sigv4_encode(text, keep_slash, &out): RFC 3986 encoding as above; with keep_slash, '/'
 * stays as is (object keys in the path). Caller frees *out.
 */
int ofs_sigv4_encode(const char *text, int keep_slash, char **out);

/* ofs_sigv4_amz_date(time, buf): "20130524T000000Z" (buf holds at least 17 bytes). */
void ofs_sigv4_amz_date(int64_t time, char buf[17]);

#endif
