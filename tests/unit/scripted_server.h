/* scripted_server.h - a scripted HTTP server for driver unit tests (test_s3_scripted.c,
 * test_gcs_scripted.c): a child process that answers each connection with the next canned
 * answer, in order, and appends every request (request line, headers, the body's length and
 * its first bytes) to a log the test reads. It stands in for what a real server cannot be made
 * to do here; every test that uses it says which server's documented behaviour it scripts. */
#ifndef OFFSITE_TEST_SCRIPTED_SERVER_H
#define OFFSITE_TEST_SCRIPTED_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    int status;
    const char *body;
    const char *headers;  /* extra response headers ("ETag: ...\r\n"; "{ENDPOINT}" becomes
                             the server's http://127.0.0.1:PORT); with a Content-Length among
                             them, the body is sent as given: none (as to a HEAD), or fewer
                             bytes than the length (a connection cut mid-body) */
} canned_answer;

#define SCRIPT_LOGGED_BODY 65536/* body bytes kept in the log */

/* script_read_request(c, head, size, &body_len, body_start, start_size): the head of one
 * request into head; its body is read whole (any size), counted, and its first bytes kept */
static inline size_t script_read_request(int c, char *buf, size_t size, size_t *body_len)
{
    size_t n = 0, want = 0, head_len = 0;
    char *end = NULL, chunk[65536];

    *body_len = 0;
    while (n < size - 1) {
        ssize_t got = recv(c, buf + n, size - 1 - n, 0);
        if (got <= 0)
            break;
        n += (size_t)got;
        buf[n] = '\0';
        if ((end = strstr(buf, "\r\n\r\n"))) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            head_len = (size_t)(end + 4 - buf);
            want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
            break;
        }
    }
    if (!end)
        return n;
    /* the body: keep the first bytes (after the head), count and drop the rest */
    *body_len = n - head_len;
    while (*body_len < want) {
        ssize_t got = recv(c, chunk, sizeof(chunk), 0);
        if (got <= 0)
            break;
        if (n + (size_t)got < size - 1 && n - head_len < SCRIPT_LOGGED_BODY) {
            memcpy(buf + n, chunk, (size_t)got);
            n += (size_t)got;
        }
        *body_len += (size_t)got;
    }
    if (n - head_len > SCRIPT_LOGGED_BODY)
        n = head_len + SCRIPT_LOGGED_BODY;
    buf[n] = '\0';
    return n;
}

/* script_start(answers, n, log, endpoint): listen on a free loopback port, serve the answers
 * in order from a child; returns its pid */
static inline pid_t script_start(const canned_answer *answers, size_t n, const char *log_path,
                                 char endpoint[64])
{
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(endpoint, 64, "http://127.0.0.1:%d", ntohs(a.sin_port));
    assert_true((pid = fork()) >= 0);
    if (pid > 0) {
        close(fd); /* a request past the script is refused, not left waiting */
        return pid;
    }
    static char req[256 * 1024];
    FILE *log = fopen(log_path, "w");
    for (size_t i = 0; log && i < n; i++) {
        char head[4096], extra[2048];
        const char *mark, *src = answers[i].headers ? answers[i].headers : "";
        size_t body_len = 0;
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            break;
        size_t size = script_read_request(c, req, sizeof(req), &body_len);
        fprintf(log, "%s\n[body %zu bytes]\n----\n", req, body_len);
        fflush(log);
        if ((mark = strstr(src, "{ENDPOINT}")))
            snprintf(extra, sizeof(extra), "%.*s%s%s", (int)(mark - src), src, endpoint,
                     mark + 10);
        else
            snprintf(extra, sizeof(extra), "%s", src);
        const char *body = answers[i].body ? answers[i].body : "";
        int sized = strstr(extra, "Content-Length:") != NULL;
        if (sized)
            snprintf(head, sizeof(head), "HTTP/1.1 %d Canned\r\n%sConnection: close\r\n\r\n",
                     answers[i].status, extra);
        else
            snprintf(head, sizeof(head), "HTTP/1.1 %d Canned\r\nContent-Type: %s\r\n%s"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n", answers[i].status,
                     body[0] == '{' ? "application/json" : "application/xml", extra,
                     strlen(body));
        if (size > 0 && (write(c, head, strlen(head)) < 0 ||
                         write(c, body, strlen(body)) < 0))
            break;
        close(c);
    }
    if (log)
        fclose(log);
    _exit(0);
}

/* script_end(pid): the server has answered everything, or is stopped */
static inline void script_end(pid_t pid)
{
    int status = 0;
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

#endif
