/*
 * http.h - a small HTTP client on libcurl for the object-store drivers (s3, gcs): the
 * transport in src/net/. Drivers sign or authorise requests and read their own error bodies;
 * this layer moves bytes, classifies how a transfer failed (OFS_ETRANSIENT is worth another
 * attempt: see retry.h for the backoff), verifies TLS, honours proxies, keeps connections
 * (ofs_http_pool) and paces uploads (an ofs_bwlimit, include/offsite/bwlimit.h).
 *
 * One ofs_http is one connection slot: a curl easy handle on its own multi handle, reused
 * across requests so TCP and TLS connections are kept alive. It is not thread-safe; a driver
 * keeps a pool and gives each thread its own. TLS peer and host verification are always on
 * (ca_file replaces the system bundle); libcurl's own proxy handling is left on, so
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the environment are honoured. Redirects are not
 * followed (an S3 redirect means a wrong region or endpoint, which the caller reports).
 *
 * A request is a transaction: ofs_http_begin sends it and returns once the response's status
 * and headers are in; the body is then pulled with ofs_http_read (streamed, so a multi-GiB
 * download needs no memory) or ofs_http_read_all; ofs_http_end finishes or abandons it.
 * Request bodies are uploaded from memory (rewindable: curl may resend on a reused connection
 * that turned out dead).
 *
 * Nothing here logs header values: Authorization and x-amz-security-token never reach a log.
 */
#ifndef OFFSITE_HTTP_H
#define OFFSITE_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ofs_http ofs_http;

typedef struct ofs_http_options {
    const char *ca_file;     /* CA bundle for TLS (PEM), or NULL for the system's */
    long connect_timeout;    /* seconds; 0 = 30 */
    long low_speed_time;     /* abort after this many seconds below low_speed_limit; 0 = 60 */
    long low_speed_limit;    /* bytes per second; 0 = 1 (a stalled connection) */
} ofs_http_options;

typedef struct ofs_http_request {
    const char *method;              /* GET, HEAD, PUT, POST, PATCH, DELETE */
    const char *url;                 /* already encoded */
    const char *const *headers;      /* "Name: value" lines */
    size_t header_count;
    const void *body;                /* request body (PUT/POST), borrowed until ofs_http_end */
    size_t body_size;
    uint64_t max_send_speed;         /* bytes per second, 0 = unlimited */
    uint64_t max_recv_speed;
} ofs_http_request;

/*
 * ofs_http_new(&h, options): a connection slot; options may be NULL (defaults) and is copied.
 * ofs_http_free(h): closes its connections; NULL is a no-op.
 */
int ofs_http_new(ofs_http **out, const ofs_http_options *options);
void ofs_http_free(ofs_http *h);

/*
 * ofs_http_begin(h, req): send req and wait for the final response's status line and headers.
 * A connection failure, timeout or reset is OFS_ETRANSIENT ("connection to HOST: ..."), an
 * untrusted TLS certificate OFS_ECONFIG with a HINT, anything else OFS_ERROR. Any HTTP status
 * is a success here: the caller reads ofs_http_status. A begun request must be ended.
 */
int ofs_http_begin(ofs_http *h, const ofs_http_request *req);

/* ofs_http_status(h): the response status (200, 404, ...) of the request begun last. */
long ofs_http_status(const ofs_http *h);

/*
 * ofs_http_header(h, name): the value of response header name (case-insensitive, trimmed),
 * or NULL. Valid until the next ofs_http_begin.
 */
const char *ofs_http_header(const ofs_http *h, const char *name);

/*
 * ofs_http_read(h, buf, size, &got): up to size bytes of the response body; *got == 0 at its
 * end. A connection lost mid-body is OFS_ETRANSIENT; so is a body shorter than its
 * Content-Length.
 */
int ofs_http_read(ofs_http *h, void *buf, size_t size, size_t *got);

/*
 * ofs_http_read_all(h, &body, &size, max): the rest of the body into a malloc'd,
 * NUL-terminated buffer (caller frees). More than max bytes is OFS_ECORRUPT.
 */
int ofs_http_read_all(ofs_http *h, char **body, size_t *size, size_t max);

/* ofs_http_end(h): finish or abandon the request begun last; h is ready for the next one. */
void ofs_http_end(ofs_http *h);

/*
 * A pool of idle connection slots, so a driver used from several threads reuses connections:
 * ofs_http_pool_acquire(pool, &h) hands out an idle slot or a new one (OFS_ERROR if out of
 * memory), ofs_http_pool_release(pool, h) ends h's request and keeps it (up to 16; NULL is a
 * no-op). Thread-safe. ofs_http_pool_new(&pool, options) copies options (may be NULL);
 * ofs_http_pool_free(pool) closes every idle slot (slots still handed out are the caller's);
 * NULL is a no-op.
 */
typedef struct ofs_http_pool ofs_http_pool;
int ofs_http_pool_new(ofs_http_pool **out, const ofs_http_options *options);
void ofs_http_pool_free(ofs_http_pool *pool);
int ofs_http_pool_acquire(ofs_http_pool *pool, ofs_http **out);
void ofs_http_pool_release(ofs_http_pool *pool, ofs_http *h);

/* ofs_http_host(url, buf, size): "host[:port]" of url, for messages. */
void ofs_http_host(const char *url, char *buf, size_t size);

/* ofs_http_url_encode(text, keep_slash, &out): RFC 3986 percent-encoding (A-Z a-z 0-9 - . _ ~
 * kept, every other byte %XX; '/' kept with keep_slash), malloc'd. */
int ofs_http_url_encode(const char *text, int keep_slash, char **out);

/* ofs_http_date_parse("Fri, 24 May 2013 00:00:00 GMT", &t): Unix seconds of an HTTP date
 * (Date, Last-Modified); OFS_ECORRUPT (no message set) if it is not one. */
int ofs_http_date_parse(const char *text, int64_t *t);

#endif
