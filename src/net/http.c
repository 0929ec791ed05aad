/*
 * http.c - libcurl transport (see include/offsite/http.h).
 *
 * Each slot drives its easy handle through a private multi handle, the pattern of curl's
 * fopen.c example: begin pumps the multi handle until the headers are in, read pumps it until
 * some body bytes are buffered. That turns curl's push callbacks into the pull reader the store
 * interface wants, without a thread per download. The multi handle owns the connection cache,
 * so keeping the slot keeps the connections.
 */
#include "offsite/http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/stream.h"

#define HTTP_MAX_HEADERS 64

typedef struct {
    char *name, *value;
} http_header;

struct ofs_http {
    CURL *easy;
    CURLM *multi;
    ofs_http_options opt;
    char *ca_file;
    char errbuf[CURL_ERROR_SIZE];
    char host[256];                  /* of the current request, for messages */
    struct curl_slist *req_headers;
    /* request body */
    const unsigned char *body;
    size_t body_size, body_pos;
    /* response */
    long status;
    int headers_done;                /* the final (non-1xx) header block has ended */
    int running;                     /* the transfer is in the multi handle and not done */
    int attached;
    CURLcode result;                 /* once done */
    http_header headers[HTTP_MAX_HEADERS];
    size_t header_count;
    unsigned char *buf;              /* body bytes received, not yet read */
    size_t buf_len, buf_pos, buf_cap;
    int oom;
};

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc = CURLE_OK;

static void http_global_init(void)
{
    http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void ofs_http_host(const char *url, char *buf, size_t size)
{
    const char *p = strstr(url, "://"), *end;
    size_t n;

    p = p ? p + 3 : url;
    end = p + strcspn(p, "/?#");
    n = (size_t)(end - p);
    if (n >= size)
        n = size - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
}

static void headers_clear(ofs_http *h)
{
    for (size_t i = 0; i < h->header_count; i++) {
        free(h->headers[i].name);
        free(h->headers[i].value);
    }
    h->header_count = 0;
}

int ofs_http_new(ofs_http **out, const ofs_http_options *options)
{
    ofs_http *h = NULL;

    *out = NULL;
    pthread_once(&http_once, http_global_init);
    if (http_global_rc != CURLE_OK)
        return ofs_error_set(OFS_ERROR, "libcurl: initialisation failed: %s",
                             curl_easy_strerror(http_global_rc));
    if (!(h = calloc(1, sizeof(*h))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    if (options)
        h->opt = *options;
    h->opt.ca_file = NULL;
    if ((options && options->ca_file && !(h->ca_file = strdup(options->ca_file))) ||
        !(h->easy = curl_easy_init()) || !(h->multi = curl_multi_init())) {
        ofs_http_free(h);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    if (h->opt.connect_timeout <= 0)
        h->opt.connect_timeout = 30;
    if (h->opt.low_speed_time <= 0)
        h->opt.low_speed_time = 60;
    if (h->opt.low_speed_limit <= 0)
        h->opt.low_speed_limit = 1;
    *out = h;
    return 0;
}

void ofs_http_free(ofs_http *h)
{
    if (!h)
        return;
    ofs_http_end(h);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->easy)
        curl_easy_cleanup(h->easy);
    headers_clear(h);
    free(h->buf);
    free(h->ca_file);
    free(h);
}

/* ---- curl callbacks ---- */

static size_t http_on_header(char *data, size_t size, size_t n, void *ctx)
{
    ofs_http *h = ctx;
    size_t len = size * n, name_len, value_len;
    const char *colon, *value, *end = data + len;

    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* a new header block: 100 Continue, or the final response */
        headers_clear(h);
        h->headers_done = 0;
        return len;
    }
    if (len <= 2 && (data[0] == '\r' || data[0] == '\n')) {
        long code = 0;
        curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200) {
            h->status = code;
            h->headers_done = 1;
        }
        return len;
    }
    if (!(colon = memchr(data, ':', len)) || h->header_count >= HTTP_MAX_HEADERS)
        return len;
    name_len = (size_t)(colon - data);
    for (value = colon + 1; value < end && (*value == ' ' || *value == '\t'); value++)
        ;
    while (end > value && isspace((unsigned char)end[-1]))
        end--;
    value_len = (size_t)(end - value);
    http_header *hd = &h->headers[h->header_count];
    if (!(hd->name = strndup(data, name_len)) || !(hd->value = strndup(value, value_len))) {
        free(hd->name);
        hd->name = NULL;
        h->oom = 1;
        return 0;
    }
    h->header_count++;
    return len;
}

static size_t http_on_body(char *data, size_t size, size_t n, void *ctx)
{
    ofs_http *h = ctx;
    size_t len = size * n;

    if (h->buf_pos == h->buf_len)
        h->buf_pos = h->buf_len = 0;
    if (h->buf_len + len > h->buf_cap) {
        /* move unread bytes to the front before growing */
        if (h->buf_pos > 0) {
            memmove(h->buf, h->buf + h->buf_pos, h->buf_len - h->buf_pos);
            h->buf_len -= h->buf_pos;
            h->buf_pos = 0;
        }
        if (h->buf_len + len > h->buf_cap) {
            size_t cap = h->buf_cap ? h->buf_cap : 65536;
            unsigned char *p;
            while (cap < h->buf_len + len)
                cap *= 2;
            if (!(p = realloc(h->buf, cap))) {
                h->oom = 1;
                return 0;
            }
            h->buf = p;
            h->buf_cap = cap;
        }
    }
    memcpy(h->buf + h->buf_len, data, len);
    h->buf_len += len;
    return len;
}

static size_t http_on_read(char *dest, size_t size, size_t n, void *ctx)
{
    ofs_http *h = ctx;
    size_t want = size * n, left = h->body_size - h->body_pos;

    if (want > left)
        want = left;
    if (want)
        memcpy(dest, h->body + h->body_pos, want);
    h->body_pos += want;
    return want;
}

static int http_on_seek(void *ctx, curl_off_t offset, int origin)
{
    ofs_http *h = ctx;

    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > h->body_size)
        return CURL_SEEKFUNC_FAIL;
    h->body_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* ---- transfers ---- */

/* http_fail(h, rc): the error for a failed transfer, by how it failed. */
static int http_fail(ofs_http *h, CURLcode rc)
{
    const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);

    if (h->oom)
        return ofs_error_set(OFS_ERROR, "out of memory");
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SEND_FAIL_REWIND:
        return ofs_error_set(OFS_ETRANSIENT, "connection to %s: %s", h->host, detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return ofs_error_set(OFS_ECONFIG, "TLS with %s: %s\nHINT: is the certificate signed by "
                             "a CA the system trusts? Otherwise set 'ca_file' in the target",
                             h->host, detail);
    default:
        return ofs_error_set(OFS_ERROR, "request to %s: %s", h->host, detail);
    }
}

/* http_pump(h): let curl move data once, waiting up to a second for the socket. Sets
 * h->running to 0 and h->result when the transfer is done. */
static int http_pump(ofs_http *h)
{
    int still = 0, left = 0;
    CURLMcode mc;
    CURLMsg *msg;

    mc = curl_multi_perform(h->multi, &still);
    if (mc != CURLM_OK)
        return ofs_error_set(OFS_ERROR, "libcurl: %s", curl_multi_strerror(mc));
    while ((msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->easy) {
            h->running = 0;
            h->result = msg->data.result;
        }
    }
    if (h->running && still) {
        mc = curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK)
            return ofs_error_set(OFS_ERROR, "libcurl: %s", curl_multi_strerror(mc));
    }
    return 0;
}

static int http_setup(ofs_http *h, const ofs_http_request *req)
{
    CURL *e = h->easy;
    int has_content_type = 0;

    curl_easy_reset(e);
    h->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, h->opt.connect_timeout);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, h->opt.low_speed_time);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, h->opt.low_speed_limit);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "offsite/" OFS_VERSION);
    if (req->max_send_speed)
        curl_easy_setopt(e, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)req->max_send_speed);
    if (req->max_recv_speed)
        curl_easy_setopt(e, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)req->max_recv_speed);

    for (size_t i = 0; i < req->header_count; i++) {
        struct curl_slist *l = curl_slist_append(h->req_headers, req->headers[i]);
        if (!l)
            return ofs_error_set(OFS_ERROR, "out of memory");
        h->req_headers = l;
        if (strncasecmp(req->headers[i], "content-type:", 13) == 0)
            has_content_type = 1;
    }
    /* no "Expect: 100-continue" round trip per part; and no form content type on POST */
    const char *extra[] = { "Expect:", has_content_type ? NULL : "Content-Type:" };
    for (size_t i = 0; i < 2; i++) {
        struct curl_slist *l;
        if (!extra[i])
            continue;
        if (!(l = curl_slist_append(h->req_headers, extra[i])))
            return ofs_error_set(OFS_ERROR, "out of memory");
        h->req_headers = l;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->req_headers);

    h->body = req->body;
    h->body_size = req->body ? req->body_size : 0;
    h->body_pos = 0;
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)h->body_size);
    } else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PATCH") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body_size);
        /* PATCH (GCS bucket metadata) sends its body as a POST does, under its own name */
        if (req->method[1] == 'A')
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0 ||
        strcmp(req->method, "PATCH") == 0) {
        curl_easy_setopt(e, CURLOPT_READFUNCTION, http_on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, h);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, http_on_seek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, h);
    }
    return 0;
}

int ofs_http_begin(ofs_http *h, const ofs_http_request *req)
{
    CURLMcode mc;
    int rc;

    ofs_http_end(h);
    ofs_http_host(req->url, h->host, sizeof(h->host));
    h->status = 0;
    h->headers_done = 0;
    h->result = CURLE_OK;
    h->oom = 0;
    h->buf_len = h->buf_pos = 0;
    headers_clear(h);
    if ((rc = http_setup(h, req)) < 0)
        return rc;
    if ((mc = curl_multi_add_handle(h->multi, h->easy)) != CURLM_OK)
        return ofs_error_set(OFS_ERROR, "libcurl: %s", curl_multi_strerror(mc));
    h->attached = 1;
    h->running = 1;
    while (h->running && !h->headers_done)
        if ((rc = http_pump(h)) < 0)
            return rc;
    /* a body cut short after complete headers is the reader's to report (it may resume) */
    if (!h->running && h->result != CURLE_OK && !h->headers_done)
        return http_fail(h, h->result);
    if (!h->headers_done) {
        /* a transfer that ended without a final status line */
        return ofs_error_set(OFS_ETRANSIENT, "connection to %s: no response", h->host);
    }
    return 0;
}

long ofs_http_status(const ofs_http *h)
{
    return h->status;
}

const char *ofs_http_header(const ofs_http *h, const char *name)
{
    for (size_t i = 0; i < h->header_count; i++)
        if (strcasecmp(h->headers[i].name, name) == 0)
            return h->headers[i].value;
    return NULL;
}

int ofs_http_read(ofs_http *h, void *buf, size_t size, size_t *got)
{
    int rc;

    *got = 0;
    if (size == 0)
        return 0;
    while (h->buf_pos == h->buf_len && h->running)
        if ((rc = http_pump(h)) < 0)
            return rc;
    if (h->buf_pos < h->buf_len) {
        size_t n = h->buf_len - h->buf_pos;
        if (n > size)
            n = size;
        memcpy(buf, h->buf + h->buf_pos, n);
        h->buf_pos += n;
        *got = n;
        return 0;
    }
    /* drained and done: the end of the body, or the reason it ended early */
    if (h->attached && h->result != CURLE_OK)
        return http_fail(h, h->result);
    return 0;
}

/* the body as an ofs_reader, so ofs_reader_read_all does the buffering and the size limit */
typedef struct {
    ofs_reader parent;
    ofs_http *h;
} http_reader;

static int http_reader_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    return ofs_http_read(((http_reader *)r)->h, buf, size, got);
}

static void http_reader_free(ofs_reader *r)
{
    (void)r; /* on the stack */
}

static const struct ofs_reader_ops http_reader_ops = { http_reader_read, http_reader_free };

int ofs_http_read_all(ofs_http *h, char **body, size_t *size, size_t max)
{
    http_reader r = { { &http_reader_ops }, h };
    return ofs_reader_read_all(&r.parent, body, size, max);
}

void ofs_http_end(ofs_http *h)
{
    if (!h)
        return;
    if (h->attached) {
        /* removing a transfer that is still running closes its connection: the next request
         * opens a new one rather than read a half-sent body */
        curl_multi_remove_handle(h->multi, h->easy);
        h->attached = 0;
    }
    h->running = 0;
    curl_slist_free_all(h->req_headers);
    h->req_headers = NULL;
    h->body = NULL;
    h->body_size = h->body_pos = 0;
    h->buf_len = h->buf_pos = 0;
}

int ofs_http_date_parse(const char *text, int64_t *t)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    if (!text || !(end = strptime(text, "%a, %d %b %Y %H:%M:%S GMT", &tm)) || *end)
        return OFS_ECORRUPT;
    *t = (int64_t)timegm(&tm);
    return 0;
}

int ofs_http_url_encode(const char *text, int keep_slash, char **out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(text ? text : "");
    char *p;

    if (!(*out = p = malloc(3 * n + 1)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (const unsigned char *c = (const unsigned char *)(text ? text : ""); *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~' ||
            (keep_slash && *c == '/')) {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return 0;
}
