/*
 * rsync_parse.c - the pure parts of the rsync driver: url parsing, ssh_command words and
 * their re-quoting for rsync's -e splitter, wildcard escaping for remote arguments and filter
 * rules, --list-only lines, and turning an exit status plus stderr into a
 * message. No processes, no I/O: everything here is unit-tested on strings
 * (tests/unit/test_rsync.c). See include/offsite/store_rsync.h.
 */
#include "offsite/store_rsync.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/error.h"

static int rsync_oom(void)
{
    return ofs_error_set(OFS_ERROR, "out of memory");
}

/* ---- url ---- */

/* A host, user or module: [A-Za-z0-9._-], not starting with '-' (ssh and rsync would take
 * it for an option). */
static int name_ok(const char *s, size_t len)
{
    if (len == 0 || s[0] == '-')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

static int ipv6_ok(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
            return 0;
    return 1;
}

static int path_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int url_bad(const char *text, const char *why)
{
    return ofs_error_set(OFS_ECONFIG, "url '%s': %s\nHINT: use [user@]host:/path (ssh) or "
                         "rsync://[user@]host[:port]/module/path (rsync daemon)", text, why);
}

/* url_host(text, s, &url, &rest): "[user@]host" or "[user@][v6]" at s; *rest after it. */
static int url_host(const char *text, const char *s, ofs_rsync_url *url, const char **rest)
{
    const char *at = NULL, *h, *end;

    for (const char *p = s; *p && *p != '/' && *p != ':' && *p != '['; p++)
        if (*p == '@')
            at = p;
    if (at) {
        if (!name_ok(s, (size_t)(at - s)))
            return url_bad(text, "bad user name");
        if (!(url->user = strndup(s, (size_t)(at - s))))
            return rsync_oom();
        h = at + 1;
    } else {
        h = s;
    }
    if (*h == '[') {
        if (!(end = strchr(h, ']')) || !ipv6_ok(h + 1, (size_t)(end - h - 1)))
            return url_bad(text, "bad IPv6 address");
        url->host = strndup(h + 1, (size_t)(end - h - 1));
        end++;
    } else {
        end = h + strcspn(h, ":/");
        if (!name_ok(h, (size_t)(end - h)))
            return url_bad(text, "bad host name");
        url->host = strndup(h, (size_t)(end - h));
    }
    if (!url->host)
        return rsync_oom();
    *rest = end;
    return 0;
}

static int url_path(const char *text, const char *p, ofs_rsync_url *url)
{
    size_t len = strlen(p);

    if (!path_ok(p))
        return url_bad(text, "control character in the path");
    for (const char *c = p; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL)
        if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
            return url_bad(text, "'..' in the path");
    while (len > 1 && p[len - 1] == '/')
        len--; /* the root's own trailing slashes: keys are joined with one */
    if (!(url->path = strndup(p, len)))
        return rsync_oom();
    return 0;
}

static int url_parse_daemon(const char *text, ofs_rsync_url *url)
{
    const char *p, *slash;
    int rc;

    url->daemon = 1;
    if ((rc = url_host(text, text + strlen("rsync://"), url, &p)) < 0)
        return rc;
    if (*p == ':') {
        char *end = NULL;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
            return url_bad(text, "bad port");
        url->port = (int)port;
        p = end;
    }
    if (*p != '/' || !p[1])
        return url_bad(text, "no module");
    p++;
    slash = strchr(p, '/');
    if (!name_ok(p, slash ? (size_t)(slash - p) : strlen(p)))
        return url_bad(text, "bad module name");
    if (!(url->module = slash ? strndup(p, (size_t)(slash - p)) : strdup(p)))
        return rsync_oom();
    p = slash ? slash + 1 : "";
    while (*p == '/')
        p++;
    if ((rc = url_path(text, p, url)) < 0)
        return rc;
    if (strcmp(url->path, "/") == 0)
        url->path[0] = '\0';
    return 0;
}

int ofs_rsync_url_parse(ofs_rsync_url *url, const char *text)
{
    const char *p;
    int rc;

    memset(url, 0, sizeof(*url));
    if (!text || !*text)
        return url_bad("", "empty");
    if (strncmp(text, "rsync://", 8) == 0)
        rc = url_parse_daemon(text, url);
    else if (strstr(text, "://"))
        rc = url_bad(text, "only rsync:// urls and ssh's host:path form are understood");
    else if ((rc = url_host(text, text, url, &p)) == 0) {
        if (*p != ':')
            rc = url_bad(text, "no ':' after the host");
        else if (p[1] == ':')
            rc = url_bad(text, "host::module is not accepted; write rsync://host/module");
        else if (!p[1])
            rc = url_bad(text, "no path after the ':'");
        else
            rc = url_path(text, p + 1, url);
    }
    if (rc < 0)
        ofs_rsync_url_clear(url);
    return rc;
}

void ofs_rsync_url_clear(ofs_rsync_url *url)
{
    if (!url)
        return;
    free(url->user);
    free(url->host);
    free(url->module);
    free(url->path);
    memset(url, 0, sizeof(*url));
}

/* ---- escaping ---- */

static int has_wildcard(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[')
            return 1;
    return 0;
}

/* append(buf, &n, s, len, escape): copy, a backslash before each * ? [ \ if escape. buf has
 * room for 2 * len. */
static void append(char *buf, size_t *n, const char *s, size_t len, int escape)
{
    for (size_t i = 0; i < len; i++) {
        if (escape && (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '\\'))
            buf[(*n)++] = '\\';
        buf[(*n)++] = s[i];
    }
}

/* append_path(buf, &n, path): component by component, as the remote rsync globs: a
 * component without a wildcard is taken literally, backslashes and all. */
static void append_path(char *buf, size_t *n, const char *path)
{
    while (*path) {
        size_t len = strcspn(path, "/");
        append(buf, n, path, len, has_wildcard(path, len));
        path += len;
        if (*path == '/')
            buf[(*n)++] = *path++;
    }
}

char *ofs_rsync_url_remote(const ofs_rsync_url *url, const char *rel, int dir)
{
    size_t cap = 64 + 2 * (strlen(url->host) + (url->user ? strlen(url->user) : 0) +
                           (url->module ? strlen(url->module) : 0) + strlen(url->path) +
                           strlen(rel));
    char *buf = malloc(cap);
    size_t n = 0;
    int v6 = strchr(url->host, ':') != NULL;

    if (!buf)
        return NULL;
    if (url->daemon)
        n += (size_t)snprintf(buf, cap, "rsync://");
    if (url->user)
        n += (size_t)snprintf(buf + n, cap - n, "%s@", url->user);
    n += (size_t)snprintf(buf + n, cap - n, v6 ? "[%s]" : "%s", url->host);
    if (url->daemon) {
        if (url->port)
            n += (size_t)snprintf(buf + n, cap - n, ":%d", url->port);
        n += (size_t)snprintf(buf + n, cap - n, "/%s", url->module);
        if (*url->path || *rel)
            buf[n++] = '/';
    } else {
        buf[n++] = ':';
    }
    append_path(buf, &n, url->path);
    if (*rel) {
        if (*url->path && strcmp(url->path, "/") != 0)
            buf[n++] = '/';
        append_path(buf, &n, rel);
    }
    if (dir && n > 0 && buf[n - 1] != '/' && buf[n - 1] != ':')
        buf[n++] = '/';
    buf[n] = '\0';
    return buf;
}

char *ofs_rsync_filter_escape(const char *name, int force)
{
    size_t len = strlen(name), n = 0;
    char *buf = malloc(2 * len + 1);

    if (!buf)
        return NULL;
    append(buf, &n, name, len, force || has_wildcard(name, len));
    buf[n] = '\0';
    return buf;
}

/* ---- ssh_command words ---- */

void ofs_rsync_words_free(char **words)
{
    if (!words)
        return;
    for (char **w = words; *w; w++)
        free(*w);
    free(words);
}

static int words_bad(const char *text, const char *why)
{
    return ofs_error_set(OFS_ECONFIG, "ssh_command '%s': %s", text, why);
}

int ofs_rsync_split_words(const char *text, char ***out, size_t *count)
{
    size_t len = strlen(text), n = 0, cap = 4;
    char **words = calloc(cap + 1, sizeof(*words));
    char *word = NULL;
    size_t wn = 0;
    int rc = 0;

    *out = NULL;
    *count = 0;
    if (!words)
        return rsync_oom();
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (!(word = malloc(len + 1))) {
            rc = rsync_oom();
            goto cleanup;
        }
        wn = 0;
        while (*p && *p != ' ' && *p != '\t') {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                rc = words_bad(text, "control character");
                goto cleanup;
            }
            if (*p == '\'') {
                const char *end = strchr(p + 1, '\'');
                if (!end) {
                    rc = words_bad(text, "unterminated '");
                    goto cleanup;
                }
                memcpy(word + wn, p + 1, (size_t)(end - p - 1));
                wn += (size_t)(end - p - 1);
                p = end + 1;
            } else if (*p == '"') {
                for (p++; *p && *p != '"'; p++) {
                    if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                        p++;
                    word[wn++] = *p;
                }
                if (!*p) {
                    rc = words_bad(text, "unterminated \"");
                    goto cleanup;
                }
                p++;
            } else if (*p == '\\') {
                if (!p[1]) {
                    rc = words_bad(text, "trailing backslash");
                    goto cleanup;
                }
                word[wn++] = p[1];
                p += 2;
            } else {
                word[wn++] = *p++;
            }
        }
        word[wn] = '\0';
        if (n == cap) {
            char **grown = realloc(words, (2 * cap + 1) * sizeof(*words));
            if (!grown) {
                rc = rsync_oom();
                goto cleanup;
            }
            words = grown;
            cap *= 2;
        }
        words[n++] = word;
        words[n] = NULL;
        word = NULL;
    }
    if (n == 0)
        rc = words_bad(text, "no command");
cleanup:
    free(word);
    if (rc < 0) {
        ofs_rsync_words_free(words);
        return rc;
    }
    *out = words;
    *count = n;
    return 0;
}

char *ofs_rsync_rsh_quote(char *const *words)
{
    size_t cap = 1;
    char *buf, *q;

    for (char *const *w = words; *w; w++)
        cap += 2 * strlen(*w) + 3;
    if (!(buf = malloc(cap)))
        return NULL;
    q = buf;
    for (char *const *w = words; *w; w++) {
        if (w != words)
            *q++ = ' ';
        *q++ = '\'';
        for (const char *c = *w; *c; c++) {
            if (*c == '\'')
                *q++ = '\''; /* rsync's splitter reads a doubled quote as one */
            *q++ = *c;
        }
        *q++ = '\'';
    }
    *q = '\0';
    return buf;
}

/* ---- --list-only output ---- */

void ofs_rsync_unescape(char *s)
{
    char *w = s;

    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] == '#' && r[2] >= '0' && r[2] <= '3' && r[3] >= '0' &&
            r[3] <= '7' && r[4] >= '0' && r[4] <= '7') {
            *w++ = (char)((r[2] - '0') * 64 + (r[3] - '0') * 8 + (r[4] - '0'));
            r += 5;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

static int list_bad(const char *line)
{
    return ofs_error_set(OFS_ECORRUPT, "unexpected line in rsync's listing: '%.200s'", line);
}

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int ofs_rsync_parse_list_line(char *line, char *type, char **name, ofs_object_info *info)
{
    char *p = line, *end = NULL;
    unsigned long long size;
    struct tm tm = { 0 };

    /* mode: 10 characters, the first the type */
    if (strlen(p) < 10 || !strchr("-dlpscb", p[0]) || p[10] != ' ')
        return list_bad(line);
    *type = p[0];
    p += 10;
    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p))
        return list_bad(line);
    size = strtoull(p, &end, 10);
    if (*end != ' ')
        return list_bad(line);
    p = end + 1;
    /* "YYYY/MM/DD HH:MM:SS " */
    if (strlen(p) < 20 || p[4] != '/' || p[7] != '/' || p[10] != ' ' || p[13] != ':' ||
        p[16] != ':' || p[19] != ' ')
        return list_bad(line);
    tm.tm_year = digits(p, 4) - 1900;
    tm.tm_mon = digits(p + 5, 2) - 1;
    tm.tm_mday = digits(p + 8, 2);
    tm.tm_hour = digits(p + 11, 2);
    tm.tm_min = digits(p + 14, 2);
    tm.tm_sec = digits(p + 17, 2);
    if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 ||
        tm.tm_sec < 0)
        return list_bad(line);
    p += 20;
    if (!*p)
        return list_bad(line);
    if (*type == 'l') {
        char *arrow = strstr(p, " -> ");
        if (arrow)
            *arrow = '\0';
    }
    ofs_rsync_unescape(p);
    *name = p;
    memset(info, 0, sizeof(*info)); /* no version: the store layer makes one of size, mtime */
    info->size = size;
    info->mtime = (int64_t)timegm(&tm); /* rsync prints local time: we run it with TZ=UTC */
    return 0;
}

int ofs_rsync_hidden(const char *rel)
{
    for (const char *c = rel; c && *c;) {
        if (strncmp(c, ".tmp", 4) == 0)
            return 1;
        c = strchr(c, '/');
        if (c)
            c++;
    }
    return 0;
}

/* ---- failures ---- */

static const char *exit_meaning(int code)
{
    switch (code) {
    case 1: return "syntax or usage error";
    case 2: return "protocol incompatibility";
    case 3: return "errors selecting input/output files, dirs";
    case 4: return "requested action not supported";
    case 5: return "error starting client-server protocol";
    case 6: return "daemon unable to append to log-file";
    case 10: return "error in socket I/O";
    case 11: return "error in file I/O";
    case 12: return "error in rsync protocol data stream";
    case 13: return "errors with program diagnostics";
    case 14: return "error in IPC code";
    case 20: return "received SIGUSR1 or SIGINT";
    case 21: return "some error returned by waitpid()";
    case 22: return "error allocating core memory buffers";
    case 23: return "partial transfer due to error";
    case 24: return "partial transfer due to vanished source files";
    case 25: return "the --max-delete limit stopped deletions";
    case 30: return "timeout in data send/receive";
    case 35: return "timeout waiting for daemon connection";
    case 127: return "command not found";
    case 255: return "unexplained error (often: the ssh connection failed)";
    default: return "unknown exit status";
    }
}

/* tail_lines(err, buf, size): the last lines of stderr worth showing, joined by "; ".
 * rsync's closing "rsync error: ... (code N) at file.c(L)" repeats the exit status and is
 * dropped unless it is all there is. */
static const char *tail_lines(const char *err, char *buf, size_t size)
{
    const char *lines[6] = { 0 };
    size_t len[6] = { 0 };
    int count = 0, skipped = 0;
    const char *end = err + strlen(err);

    buf[0] = '\0';
    while (end > err && count < 4) {
        const char *e = end, *s;
        while (e > err && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
            e--;
        if (e == err)
            break;
        s = e;
        while (s > err && s[-1] != '\n')
            s--;
        end = s;
        if ((size_t)(e - s) > 13 && strncmp(s, "rsync error: ", 13) == 0 && !skipped) {
            skipped = 1;
            lines[5] = s;
            len[5] = (size_t)(e - s);
            continue;
        }
        lines[count] = s;
        len[count] = (size_t)(e - s);
        count++;
    }
    if (count == 0 && skipped) {
        lines[0] = lines[5];
        len[0] = len[5];
        count = 1;
    }
    for (int i = count - 1; i >= 0; i--) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, "%s%.*s", n ? "; " : "", (int)(len[i] > 400 ? 400 : len[i]),
                 lines[i]);
    }
    return buf;
}

static int has(const char *err, const char *what)
{
    return strstr(err, what) != NULL;
}

int ofs_rsync_missing(int exit_code, const char *err)
{
    /* 23: the path itself is absent; 11: the receiver could not make the key's directory
     * because a parent is absent (a delete into a target nobody has written to yet) */
    return (exit_code == 23 || (exit_code == 11 && has(err, "mkdir \""))) &&
           (has(err, "No such file or directory") || has(err, "failed: (2)")) &&
           !has(err, "Permission denied") && !has(err, "No space left");
}

int ofs_rsync_fail(int exit_code, int term_signal, const char *err)
{
    char status[96], tail[2048];
    const char *what = "rsync failed", *hint = NULL;
    int code = OFS_ERROR;

    if (!err)
        err = "";
    if (term_signal > 0)
        snprintf(status, sizeof(status), "killed by signal %d", term_signal);
    else
        snprintf(status, sizeof(status), "exit %d: %s", exit_code, exit_meaning(exit_code));
    tail_lines(err, tail, sizeof(tail));

    if (term_signal == SIGINT || term_signal == SIGTERM || exit_code == 20) {
        code = OFS_ECANCELED;
        what = "rsync was interrupted";
    } else if (term_signal > 0) {
        what = "rsync crashed";
    } else if (has(err, "auth failed")) {
        code = OFS_EDENIED;
        what = "the rsync daemon refused the login";
        hint = "check the user in url and the password in password_file (the daemon's secrets "
               "file must hold the same)";
    } else if (has(err, "Unknown module")) {
        code = OFS_ECONFIG;
        what = "the rsync daemon has no such module";
        hint = "check the module name in url (rsync rsync://host/ lists the daemon's modules)";
    } else if (has(err, "Host key verification failed") || has(err, "host key is known") ||
               has(err, "HOST IDENTIFICATION HAS CHANGED")) {
        code = OFS_EDENIED;
        what = "the ssh host key could not be verified";
        hint = "check the host's key fingerprint and add it to a known_hosts file named in "
               "ssh_command (-o UserKnownHostsFile=FILE)";
    } else if (has(err, "Permission denied (publickey") || has(err, "Permission denied (pass") ||
               has(err, "Permission denied (keyboard") || has(err, "Too many authentication")) {
        code = OFS_EDENIED;
        what = "ssh refused the login";
        hint = "check the user in url and the identity file in ssh_command (-i FILE)";
    } else if (has(err, "No space left on device") || has(err, "Disk quota exceeded")) {
        code = OFS_ENOSPC;
        what = "the remote disk is full";
        hint = "free space on the target, or prune old backups (offsite prune --target NAME)";
    } else if (has(err, "Connection refused") || has(err, "No route to host") ||
               has(err, "Network is unreachable") || has(err, "Could not resolve hostname") ||
               has(err, "Name or service not known") ||
               has(err, "Temporary failure in name resolution") ||
               has(err, "Connection timed out") || has(err, "failed to connect")) {
        code = OFS_ETRANSIENT;
        what = "the host is unreachable";
    } else if (has(err, "max connections")) {
        code = OFS_ETRANSIENT;
        what = "the rsync daemon is busy";
    } else if (exit_code == 30 || exit_code == 35 || has(err, "io timeout") ||
               has(err, "timed out")) {
        code = OFS_ETRANSIENT;
        what = "rsync timed out";
    } else if (has(err, "rsync: command not found") || has(err, "rsync: not found") ||
               exit_code == 127) {
        code = OFS_ECONFIG;
        what = "rsync is not installed on the remote host";
        hint = "install rsync there (it is needed on both ends)";
    } else if (has(err, "Permission denied") || has(err, "Read-only file system") ||
               has(err, "read only")) {
        code = OFS_EDENIED;
        what = "the remote side refused access";
    } else if (exit_code == 10 || exit_code == 12 || exit_code == 255 ||
               has(err, "connection unexpectedly closed") || has(err, "Connection reset")) {
        code = OFS_ETRANSIENT;
        what = "the connection failed";
    } else if (exit_code == 24) {
        code = OFS_ETRANSIENT;
        what = "files vanished on the remote side while rsync read them";
    } else if (exit_code == 2 || exit_code == 4) {
        code = OFS_EUNSUPPORTED;
        what = "the remote rsync does not support what was asked";
    }
    if (hint)
        return ofs_error_set(code, "%s (rsync %s)%s%s\nHINT: %s", what, status, *tail ? ": " : "",
                             tail, hint);
    return ofs_error_set(code, "%s (rsync %s)%s%s", what, status, *tail ? ": " : "", tail);
}
