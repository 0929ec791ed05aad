/*
 * rsync.c - the `rsync` store driver: put, get, stat, list and del, each one run of the rsync
 * program (rsync_run.c) with an argument vector built here. How each operation maps onto
 * rsync, and why, is in include/offsite/store_rsync.h; parsing and error classification are
 * in rsync_parse.c.
 *
 * Messages are bare; store.c adds "NAME: KEY: " in front.
 */
#include "offsite/store_rsync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/http.h"
#include "offsite/log.h"
#include "rsync_run.h"

#define RSYNC_TIMEOUT "--timeout=120"      /* seconds without I/O before rsync gives up */
#define RSYNC_CONTIMEOUT "--contimeout=30" /* daemon connect */
#define RSYNC_SSH_OPTIONS "-o", "BatchMode=yes", "-o", "ConnectTimeout=30"
#define RSYNC_TEMP_DIR ".tmp-rsync"        /* ROOT/.tmp-rsync: rsync's temporary files */
#define RSYNC_PARTIAL_DIR ".tmp-partial"   /* KEYDIR/.tmp-partial: interrupted uploads */
#define RSYNC_ARGS_MAX 40

typedef struct {
    ofs_store parent;
    ofs_rsync_url url;
    ofs_rsync_url base;    /* url with the path cut to "/" or "" (home, module root) */
    char *root_rel;        /* url's path without its leading '/', then "/.tmp-rsync" */
    char *rsh;             /* -e value (ssh urls), quoted for rsync's splitter */
    char *password_file;   /* daemon urls, or NULL */
    ofs_http_bwlimit *bw;  /* NULL: unlimited */
    char *cache_dir;
    atomic_int prepared;   /* ROOT/.tmp-rsync is known to exist */
} rsync_store;

static int rsync_oom(void)
{
    return ofs_error_set(OFS_ERROR, "out of memory");
}

/* ---- argument vectors ---- */

typedef struct {
    char *v[RSYNC_ARGS_MAX + 1];
    int n;
    int oom;
} args;

/* add(a, s): append a copy of s (NULL s marks out of memory: the caller built it). */
static void add(args *a, const char *s)
{
    if (a->n >= RSYNC_ARGS_MAX || !s || !(a->v[a->n] = strdup(s))) {
        a->oom = 1;
        return;
    }
    a->n++;
}

/* add_own(a, s): append s, taking it. */
static void add_own(args *a, char *s)
{
    add(a, s);
    free(s);
}

static char *join3(const char *a, const char *b, const char *c)
{
    char *s = NULL;
    return asprintf(&s, "%s%s%s", a, b, c) < 0 ? NULL : s;
}

/* add_include(a, fmt, ...): "--include=PATTERN". A pattern holding a wildcard is matched
 * with wildmatch, which needs the name's own * ? [ \ escaped; one without is taken literally. */
static void add_include(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_include(args *a, const char *fmt, ...)
{
    char *raw = NULL, *pat = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (n < 0 || !(pat = ofs_rsync_filter_escape(raw, 0)))
        a->oom = 1;
    else
        add_own(a, join3("--include=", pat, ""));
    if (n >= 0)
        free(raw);
    free(pat);
}

/* add_filters(a, key): rules selecting the key's directories, the key, and its partial upload
 * (KEYDIR/.tmp-partial/NAME), then excluding everything else. */
static void add_filters(args *a, const char *key)
{
    const char *base = strrchr(key, '/');
    int dir_len = base ? (int)(base - key + 1) : 0;

    base = base ? base + 1 : key;
    for (const char *slash = strchr(key, '/'); slash; slash = strchr(slash + 1, '/'))
        add_include(a, "/%.*s", (int)(slash - key + 1), key);
    add_include(a, "/%s", key);
    add_include(a, "/%.*s%s/", dir_len, key, RSYNC_PARTIAL_DIR);
    add_include(a, "/%.*s%s/%s", dir_len, key, RSYNC_PARTIAL_DIR, base);
    add(a, "--exclude=*");
}

/* add_bwlimit(a, rs): --bwlimit for the rate that applies now (KiB/s, at least 1) */
static void add_bwlimit(args *a, const rsync_store *rs)
{
    uint64_t rate = ofs_http_bwlimit_at(rs->bw, (int64_t)time(NULL));
    char *arg = NULL;

    if (rate == 0)
        return;
    if (asprintf(&arg, "--bwlimit=%llu", (unsigned long long)((rate + 1023) / 1024)) < 0)
        arg = NULL;
    add_own(a, arg);
}

int ofs_rsync_argv(const ofs_store *store, ofs_rsync_op op, const char *key, const char *local,
                   unsigned flags, char ***out)
{
    const rsync_store *rs = (const rsync_store *)store;
    args a = { .n = 0 };
    char **argv;

    *out = NULL;
    add(&a, "rsync");
    add(&a, "-8"); /* names as bytes: rsync escapes only control characters then */
    add(&a, RSYNC_TIMEOUT);
    if (rs->url.daemon) {
        add(&a, RSYNC_CONTIMEOUT);
        if (rs->password_file)
            add_own(&a, join3("--password-file=", rs->password_file, ""));
    } else {
        add(&a, "-e");
        add(&a, rs->rsh);
    }
    switch (op) {
    case OFS_RSYNC_OP_PREPARE:
        /* LOCAL/./ROOTPATH/.tmp-rsync onto the host's / (or home, or the module): -R creates
         * every missing directory of the root on the way, with any remote rsync */
        add(&a, "-d");
        add(&a, "-R");
        add(&a, "-K");
        add(&a, "--");
        add_own(&a, join3(local, "/./", rs->root_rel));
        add_own(&a, ofs_rsync_url_remote(&rs->base, "", 1));
        break;
    case OFS_RSYNC_OP_PUT:
        add_bwlimit(&a, rs);
        add(&a, "-R"); /* LOCAL/./KEY: the key's directories are created on the way */
        add(&a, "-K"); /* a symlinked directory on the remote stays (or fails), never replaced */
        add(&a, flags & OFS_PUT_IF_ABSENT ? "--ignore-existing" : "-I");
        add(&a, "--temp-dir=" RSYNC_TEMP_DIR);
        add(&a, "--partial-dir=" RSYNC_PARTIAL_DIR);
        add(&a, "--out-format=%i %n");
        add(&a, "--");
        add_own(&a, join3(local, "/./", key));
        add_own(&a, ofs_rsync_url_remote(&rs->url, "", 1));
        break;
    case OFS_RSYNC_OP_GET:
        add_bwlimit(&a, rs);
        add(&a, "-I");
        add(&a, "--");
        add_own(&a, ofs_rsync_url_remote(&rs->url, key, 0));
        add(&a, local);
        break;
    case OFS_RSYNC_OP_STAT:
    case OFS_RSYNC_OP_LIST:
        add(&a, "--list-only");
        add(&a, "--no-h");
        if (op == OFS_RSYNC_OP_LIST)
            add(&a, "-r");
        add(&a, "--");
        add_own(&a, ofs_rsync_url_remote(&rs->url, key, op == OFS_RSYNC_OP_LIST));
        break;
    case OFS_RSYNC_OP_DEL:
        add(&a, "-r");
        add(&a, "-K");
        add(&a, "--existing"); /* never create a directory the skeleton has */
        add(&a, "--delete");
        add_filters(&a, key);
        add(&a, "--");
        add_own(&a, join3(local, "/", ""));
        add_own(&a, ofs_rsync_url_remote(&rs->url, "", 1));
        break;
    }
    if (a.oom || !(argv = calloc((size_t)a.n + 1, sizeof(*argv)))) {
        for (int i = 0; i < a.n; i++)
            free(a.v[i]);
        return rsync_oom();
    }
    memcpy(argv, a.v, (size_t)a.n * sizeof(*argv));
    *out = argv;
    return 0;
}

/* ---- running ---- */

/* run(rs, op, key, local, flags, fn, ctx, &res): build the argv and run it. 0 means rsync ran
 * (its exit status is in res); the caller decides what a failure means. */
static int run(const rsync_store *rs, ofs_rsync_op op, const char *key, const char *local,
               unsigned flags, rsync_line_fn fn, void *ctx, rsync_result *res)
{
    char **argv = NULL;
    int rc;

    if ((rc = ofs_rsync_argv(&rs->parent, op, key, local, flags, &argv)) < 0)
        return rc;
    if (ofs_log_get_level() >= OFS_LOG_DEBUG) {
        char line[2048];
        size_t n = 0;
        line[0] = '\0';
        for (char **a = argv; *a && n < sizeof(line) - 4; a++)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", *a);
        ofs_log_debug("%s: %s", rs->parent.name, line);
    }
    rc = rsync_run(argv, fn, ctx, res);
    ofs_rsync_words_free(argv);
    return rc;
}

static int failed(const rsync_result *res)
{
    return res->exit_code != 0;
}

static int fail(const rsync_result *res)
{
    return ofs_rsync_fail(res->exit_code, res->term_signal, res->err);
}

/* spool_dir(rs, &dir): a private directory under the cache for one operation. */
static int spool_dir(const rsync_store *rs, char **dir)
{
    char *tmpl = ofs_path_join(rs->cache_dir, "rsync-XXXXXX");

    *dir = NULL;
    if (!tmpl)
        return rsync_oom();
    if (!mkdtemp(tmpl)) {
        int err = errno;
        free(tmpl);
        return ofs_error_from_errno(err, "cannot create a spool directory in '%s'",
                                    rs->cache_dir);
    }
    *dir = tmpl;
    return 0;
}

static void spool_remove(char *dir)
{
    if (dir) {
        ofs_rm_rf(dir);
        free(dir);
    }
}

/* prepare(rs, dir): create ROOT/.tmp-rsync (and ROOT itself, one level) once per store. */
static int prepare(rsync_store *rs, const char *dir)
{
    rsync_result res;
    char *skel = ofs_path_join(dir, "prepare"), *tmp = NULL;
    int rc = 0;

    if (atomic_load(&rs->prepared))
        goto cleanup;
    if (!skel || !(tmp = ofs_path_join(skel, rs->root_rel))) {
        rc = rsync_oom();
        goto cleanup;
    }
    if ((rc = ofs_mkdir_p(tmp, 0700)) < 0)
        goto cleanup;
    if ((rc = run(rs, OFS_RSYNC_OP_PREPARE, "", skel, 0, NULL, NULL, &res)) < 0)
        goto cleanup;
    if (failed(&res)) {
        rc = ofs_error_wrap(fail(&res), "cannot create the target's directory '%s'",
                            *rs->url.path ? rs->url.path : "(module root)");
        goto cleanup;
    }
    atomic_store(&rs->prepared, 1);
cleanup:
    free(skel);
    free(tmp);
    return rc;
}

/* ---- put ---- */

typedef struct {
    ofs_writer parent;
    rsync_store *rs;
    char *key;
    unsigned flags;
    char *dir;      /* spool dir: DIR/KEY is the object */
    char *path;
    int fd;
    int written;    /* IF_ABSENT: rsync itemized the key as sent */
} rsync_writer;

static int rsync_writer_write(ofs_writer *w, const void *data, size_t size)
{
    rsync_writer *rw = (rsync_writer *)w;
    const char *p = data;

    while (size > 0) {
        ssize_t n = write(rw->fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ofs_error_from_errno(errno, "cannot write the upload spool '%s'", rw->path);
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

/* put_line: "<f+++++++++ KEY" when rsync sent the file; other lines (directories, "created
 * directory ...") are not about it. */
static int put_line(void *ctx, char *line)
{
    rsync_writer *rw = ctx;
    char *space = strchr(line, ' ');

    if (space && space - line >= 2 && line[1] == 'f') {
        ofs_rsync_unescape(space + 1);
        if (strcmp(space + 1, rw->key) == 0)
            rw->written = 1;
    }
    return 0;
}

static int rsync_writer_finish(ofs_writer *w)
{
    rsync_writer *rw = (rsync_writer *)w;
    rsync_result res;
    int rc, again = 1;

    if (close(rw->fd) < 0) {
        rw->fd = -1;
        return ofs_error_from_errno(errno, "cannot write the upload spool '%s'", rw->path);
    }
    rw->fd = -1;
    for (;;) {
        int cached = atomic_load(&rw->rs->prepared);
        if ((rc = prepare(rw->rs, rw->dir)) < 0)
            return rc;
        rw->written = 0;
        if ((rc = run(rw->rs, OFS_RSYNC_OP_PUT, rw->key, rw->dir, rw->flags, put_line, rw,
                      &res)) < 0)
            return rc;
        /* the root or ROOT/.tmp-rsync went away since this store made them: make them again,
         * once. "The temp-dir does not exist" is a usage error (exit 1) the remote reports
         * before the protocol starts, and over ssh its message can be lost in the race with
         * the connection's end, so the exit status is what counts here. */
        if (failed(&res) && cached && again &&
            (res.exit_code == 1 || res.exit_code == 3 || res.exit_code == 11 ||
             res.exit_code == 23)) {
            atomic_store(&rw->rs->prepared, 0);
            again = 0;
            continue;
        }
        break;
    }
    if (failed(&res))
        return fail(&res);
    if ((rw->flags & OFS_PUT_IF_ABSENT) && !rw->written)
        return ofs_error_set(OFS_EEXISTS, "exists already");
    spool_remove(rw->dir);
    rw->dir = NULL;
    return 0;
}

static void rsync_writer_free(ofs_writer *w)
{
    rsync_writer *rw = (rsync_writer *)w;

    if (!rw)
        return;
    if (rw->fd >= 0)
        close(rw->fd);
    spool_remove(rw->dir); /* nothing was sent unless finish ran: the spool is all there is */
    free(rw->path);
    free(rw->key);
    free(rw);
}

static const struct ofs_writer_ops rsync_writer_ops = { rsync_writer_write, rsync_writer_finish,
                                                        rsync_writer_free };

static int rsync_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out)
{
    rsync_store *rs = (rsync_store *)s;
    rsync_writer *rw = NULL;
    char *parent = NULL;
    int rc = 0;

    if (!(rw = calloc(1, sizeof(*rw)))) {
        rc = rsync_oom();
        goto cleanup;
    }
    rw->parent.ops = &rsync_writer_ops;
    rw->rs = rs;
    rw->flags = flags;
    rw->fd = -1;
    if (!(rw->key = strdup(key))) {
        rc = rsync_oom();
        goto cleanup;
    }
    if ((rc = spool_dir(rs, &rw->dir)) < 0)
        goto cleanup;
    if (!(rw->path = ofs_path_join(rw->dir, key)) || !(parent = strdup(rw->path))) {
        rc = rsync_oom();
        goto cleanup;
    }
    *strrchr(parent, '/') = '\0';
    if ((rc = ofs_mkdir_p(parent, 0700)) < 0)
        goto cleanup;
    rw->fd = open(rw->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (rw->fd < 0) {
        rc = ofs_error_from_errno(errno, "cannot create the upload spool '%s'", rw->path);
        goto cleanup;
    }
    *out = &rw->parent;
    rw = NULL;
cleanup:
    free(parent);
    rsync_writer_free(rw ? &rw->parent : NULL);
    return rc;
}

/* ---- get ---- */

static int rsync_get(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                     ofs_reader **out)
{
    rsync_store *rs = (rsync_store *)s;
    ofs_store *spool = NULL;
    rsync_result res;
    char *dir = NULL, *path = NULL;
    struct stat st;
    int rc;

    if ((rc = spool_dir(rs, &dir)) < 0)
        goto cleanup;
    if (!(path = ofs_path_join(dir, "object"))) {
        rc = rsync_oom();
        goto cleanup;
    }
    if ((rc = run(rs, OFS_RSYNC_OP_GET, key, path, 0, NULL, NULL, &res)) < 0)
        goto cleanup;
    if (failed(&res)) {
        rc = ofs_rsync_missing(res.exit_code, res.err) ? ofs_error_set(OFS_ENOTFOUND,
                                                                       "not found")
                                                       : fail(&res);
        goto cleanup;
    }
    /* rsync skips a directory or a symlink under the key without failing */
    if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = ofs_error_set(OFS_ENOTFOUND, "not found (not a regular file on the remote side)");
        goto cleanup;
    }
    /* the file driver serves the range; the file is unlinked at once, its descriptor stays */
    if ((rc = ofs_store_file_new(&spool, "rsync spool", dir)) < 0 ||
        (rc = spool->ops->get(spool, "object", offset, length, out)) < 0)
        goto cleanup;
cleanup:
    ofs_store_free(spool);
    free(path);
    spool_remove(dir);
    return rc;
}

/* ---- stat and list ---- */

typedef struct {
    char *key;
    ofs_object_info info;
} list_entry;

typedef struct {
    const char *dir;       /* listed directory, "" or ending in '/' */
    const char *prefix;
    const char *want;      /* stat: the basename wanted */
    list_entry *entries;
    size_t count, cap;
    int found;             /* stat: 1 regular file, -1 something else */
    ofs_object_info info;
} list_state;

static int stat_line(void *ctx, char *line)
{
    list_state *l = ctx;
    ofs_object_info info;
    char type, *name;
    int rc;

    if ((rc = ofs_rsync_parse_list_line(line, &type, &name, &info)) < 0)
        return rc;
    if (strcmp(name, l->want) == 0) {
        l->found = type == '-' ? 1 : -1;
        l->info = info;
    }
    return 0;
}

static int rsync_stat(ofs_store *s, const char *key, ofs_object_info *info)
{
    rsync_store *rs = (rsync_store *)s;
    const char *base = strrchr(key, '/');
    list_state l = { .want = base ? base + 1 : key };
    rsync_result res;
    int rc;

    if ((rc = run(rs, OFS_RSYNC_OP_STAT, key, NULL, 0, stat_line, &l, &res)) < 0)
        return rc;
    if (failed(&res))
        return ofs_rsync_missing(res.exit_code, res.err) ? ofs_error_set(OFS_ENOTFOUND,
                                                                         "not found")
                                                         : fail(&res);
    if (l.found != 1)
        return ofs_error_set(OFS_ENOTFOUND, l.found ? "not found (not a regular file on the "
                                                      "remote side)" : "not found");
    *info = l.info;
    return 0;
}

static int list_line(void *ctx, char *line)
{
    list_state *l = ctx;
    ofs_object_info info;
    char type, *name, *key = NULL;
    int rc;

    if ((rc = ofs_rsync_parse_list_line(line, &type, &name, &info)) < 0)
        return rc;
    if (type != '-' || ofs_rsync_hidden(name))
        return 0;
    if (asprintf(&key, "%s%s", l->dir, name) < 0)
        return rsync_oom();
    if (strncmp(key, l->prefix, strlen(l->prefix)) != 0) {
        free(key);
        return 0;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        list_entry *grown = realloc(l->entries, cap * sizeof(*grown));
        if (!grown) {
            free(key);
            return rsync_oom();
        }
        l->entries = grown;
        l->cap = cap;
    }
    l->entries[l->count].key = key;
    l->entries[l->count].info = info;
    l->count++;
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const list_entry *)a)->key, ((const list_entry *)b)->key);
}

static int rsync_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    rsync_store *rs = (rsync_store *)s;
    const char *slash = strrchr(prefix, '/');
    list_state l = { .prefix = prefix };
    rsync_result res;
    char *dir = NULL;
    int rc;

    if (!(dir = strndup(prefix, slash ? (size_t)(slash - prefix + 1) : 0)))
        return rsync_oom();
    l.dir = dir;
    if ((rc = run(rs, OFS_RSYNC_OP_LIST, dir, NULL, 0, list_line, &l, &res)) < 0)
        goto cleanup;
    if (failed(&res)) {
        /* a missing directory is an empty listing; a partial one never is */
        if (l.count == 0 && ofs_rsync_missing(res.exit_code, res.err))
            rc = 0;
        else
            rc = fail(&res);
        goto cleanup;
    }
    if (l.count > 1)
        qsort(l.entries, l.count, sizeof(*l.entries), entry_cmp);
    for (size_t i = 0; i < l.count && rc == 0; i++)
        rc = fn(ctx, l.entries[i].key, &l.entries[i].info);
cleanup:
    for (size_t i = 0; i < l.count; i++)
        free(l.entries[i].key);
    free(l.entries);
    free(dir);
    return rc;
}

/* ---- del ---- */

static int rsync_del(ofs_store *s, const char *key)
{
    rsync_store *rs = (rsync_store *)s;
    rsync_result res;
    char *dir = NULL, *skel = NULL, *partial = NULL;
    const char *base = strrchr(key, '/');
    int rc;

    if ((rc = spool_dir(rs, &dir)) < 0)
        goto cleanup;
    /* DIR/skel/KEYDIR/.tmp-partial: empty directories standing for the key's own */
    if (!(skel = ofs_path_join(dir, "skel")) ||
        asprintf(&partial, "%s/%.*s%s", skel, base ? (int)(base - key + 1) : 0, key,
                 RSYNC_PARTIAL_DIR) < 0) {
        partial = NULL;
        rc = rsync_oom();
        goto cleanup;
    }
    if ((rc = ofs_mkdir_p(partial, 0700)) < 0)
        goto cleanup;
    if ((rc = run(rs, OFS_RSYNC_OP_DEL, key, skel, 0, NULL, NULL, &res)) < 0)
        goto cleanup;
    if (failed(&res) && !ofs_rsync_missing(res.exit_code, res.err))
        rc = fail(&res);
cleanup:
    free(partial);
    free(skel);
    spool_remove(dir);
    return rc;
}

/* ---- the store ---- */

static void rsync_free(ofs_store *s)
{
    rsync_store *rs = (rsync_store *)s;

    ofs_rsync_url_clear(&rs->url);
    ofs_rsync_url_clear(&rs->base);
    free(rs->root_rel);
    free(rs->rsh);
    free(rs->password_file);
    ofs_http_bwlimit_free(rs->bw);
    free(rs->cache_dir);
    free(rs->parent.name);
    free(rs->parent.description);
    free(rs);
}

static const struct ofs_store_ops rsync_store_ops = { rsync_put, rsync_get, rsync_stat,
                                                      rsync_list, rsync_del, rsync_free };

/* make_rsh(rs, command): split ssh_command, add our ssh options, quote for rsync's -e. */
static int make_rsh(rsync_store *rs, const char *command)
{
    static const char *const extra[] = { RSYNC_SSH_OPTIONS };
    const size_t n_extra = sizeof(extra) / sizeof(extra[0]);
    char **words = NULL, **all = NULL;
    size_t count = 0;
    const char *prog;
    int rc;

    if ((rc = ofs_rsync_split_words(command && *command ? command : "ssh", &words, &count)) < 0)
        return rc;
    if (!(all = calloc(count + n_extra + 1, sizeof(*all)))) {
        rc = rsync_oom();
        goto cleanup;
    }
    memcpy(all, words, count * sizeof(*all));
    prog = strrchr(words[0], '/') ? strrchr(words[0], '/') + 1 : words[0];
    if (strcmp(prog, "ssh") == 0)
        memcpy(all + count, extra, n_extra * sizeof(*all));
    if (!(rs->rsh = ofs_rsync_rsh_quote(all)))
        rc = rsync_oom();
cleanup:
    free(all);
    ofs_rsync_words_free(words);
    return rc;
}

static int check_password_file(const char *path)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return ofs_error_set(OFS_ECONFIG, "password_file '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ofs_error_set(OFS_ECONFIG, "password_file '%s' is not a regular file", path);
    if (st.st_mode & 077)
        return ofs_error_set(OFS_ECONFIG, "password_file '%s' is readable by group or others "
                             "(mode %04o)\nHINT: chmod 600 '%s'", path,
                             (unsigned)(st.st_mode & 07777), path);
    return 0;
}

static int configure(rsync_store *rs, const ofs_config_target *t, const char *cache_dir)
{
    const char *rel;
    int rc;

    if (!t->url || !*t->url)
        return ofs_error_set(OFS_ECONFIG, "type 'rsync' needs 'url'");
    if ((rc = ofs_rsync_url_parse(&rs->url, t->url)) < 0 ||
        (rc = ofs_rsync_url_parse(&rs->base, t->url)) < 0)
        return rc;
    rel = rs->url.path;
    while (*rel == '/')
        rel++;
    rs->base.path[*rs->url.path == '/' ? 1 : 0] = '\0';
    if (asprintf(&rs->root_rel, "%s%s" RSYNC_TEMP_DIR, rel, *rel ? "/" : "") < 0) {
        rs->root_rel = NULL;
        return rsync_oom();
    }
    if (rs->url.daemon) {
        if (t->ssh_command && *t->ssh_command)
            return ofs_error_set(OFS_ECONFIG, "ssh_command is for ssh urls (host:/path); an "
                                 "rsync:// url talks to the daemon directly");
        if (t->password_file && *t->password_file) {
            if ((rc = check_password_file(t->password_file)) < 0)
                return rc;
            if (!(rs->password_file = strdup(t->password_file)))
                return rsync_oom();
        }
    } else {
        if (t->password_file && *t->password_file)
            return ofs_error_set(OFS_ECONFIG, "password_file is for rsync:// daemon urls; ssh "
                                 "logs in with a key (-i in ssh_command)");
        if ((rc = make_rsh(rs, t->ssh_command)) < 0)
            return rc;
    }
    if ((rc = ofs_http_bwlimit_parse(t->bwlimit, &rs->bw)) < 0)
        return rc;
    if (!cache_dir || !*cache_dir) {
        cache_dir = getenv("TMPDIR");
        if (!cache_dir || !*cache_dir)
            cache_dir = "/tmp";
    }
    if (!(rs->cache_dir = strdup(cache_dir)))
        return rsync_oom();
    if ((rc = ofs_mkdir_p(rs->cache_dir, 0700)) < 0)
        return ofs_error_wrap(rc, "cache directory '%s'", rs->cache_dir);
    return 0;
}

int ofs_store_rsync_new(ofs_store **out, const ofs_config_target *target, const char *cache_dir)
{
    rsync_store *rs = NULL;
    int rc;

    *out = NULL;
    if (!(rs = calloc(1, sizeof(*rs))) || !(rs->parent.name = strdup(target->name))) {
        rc = rsync_oom();
        goto cleanup;
    }
    rs->parent.ops = &rsync_store_ops;
    rs->parent.caps = 0; /* no native range, no atomic IF_ABSENT, no lifecycle, not local */
    atomic_init(&rs->prepared, 0);
    if ((rc = configure(rs, target, cache_dir)) < 0) {
        rc = ofs_error_wrap(rc, "target '%s' (line %d)", target->name, target->line);
        goto cleanup;
    }
    if (asprintf(&rs->parent.description, "rsync %s", target->url) < 0) {
        rs->parent.description = NULL;
        rc = rsync_oom();
        goto cleanup;
    }
    *out = &rs->parent;
    rs = NULL;
cleanup:
    if (rs)
        rsync_free(&rs->parent);
    return rc;
}
