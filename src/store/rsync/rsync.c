/*
 * rsync.c - the `rsync` store driver: put, get, stat, list and del, each one run of the rsync
 * program (rsync_run.c) with its argument vector (rsync_argv.c). How each operation maps onto
 * rsync, and why, is in include/offsite/store_rsync.h; parsing and error classification are
 * in rsync_parse.c.
 *
 * Messages are bare; store.c adds "NAME: KEY: " in front.
 */
#include "offsite/store_rsync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "rsync_int.h"

#define RSYNC_SPOOL_STALE (2 * 86400) /* seconds: a spool directory this old is a dead run's */

static int rsync_oom(void)
{
    return ofs_error_set(OFS_ERROR, "out of memory");
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

/* spool_dir(rs, &dir): a private directory under the cache for one operation, named with our
 * PID ("rsync-PID-XXXXXX"), so that whoever finds it after we died - killed, the power gone -
 * knows it is debris however young it is. */
static int spool_dir(const rsync_store *rs, char **dir)
{
    char name[64], *tmpl;

    snprintf(name, sizeof(name), "rsync-%ld-XXXXXX", (long)getpid());
    *dir = NULL;
    if (!(tmpl = ofs_path_join(rs->cache_dir, name)))
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
    ofs_bwlimit_free(rs->bw);
    free(rs->cache_dir);
    free(rs->parent.name);
    free(rs->parent.description);
    free(rs);
}

static int rsync_sweep(ofs_store *s, int64_t before, ofs_store_sweep_stats *stats);

static const struct ofs_store_ops rsync_store_ops = {
    .put = rsync_put, .get = rsync_get, .stat = rsync_stat, .list = rsync_list,
    .del = rsync_del, .free = rsync_free, .sweep = rsync_sweep
};

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

/* spool_dead(name): 1 if name is a spool directory of a process that is gone:
 * "rsync-PID-XXXXXX" with no such PID alive (a reused PID keeps it: the safe way round), or
 * the older "rsync-XXXXXX", which names none, once RSYNC_SPOOL_STALE old. */
static int spool_dead(const char *name, const struct stat *st, time_t now)
{
    char *end = NULL;
    long pid;

    if (strncmp(name, "rsync-", 6) != 0 || !S_ISDIR(st->st_mode))
        return 0;
    if (strlen(name) == 12)
        return st->st_mtime < now - RSYNC_SPOOL_STALE;
    pid = strtol(name + 6, &end, 10);
    if (pid <= 0 || *end != '-' || strlen(end) != 7 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* clean_cache(dir, stats): remove the spool directories of runs that died (kill -9, power
 * loss), counting them in stats (may be NULL). */
static void clean_cache(const char *dir, ofs_store_sweep_stats *stats)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    time_t now = time(NULL);

    if (!d)
        return;
    while ((e = readdir(d))) {
        struct stat st;
        char *path = ofs_path_join(dir, e->d_name);
        if (path && lstat(path, &st) == 0 && spool_dead(e->d_name, &st, now)) {
            ofs_log_debug("removing a dead run's rsync spool '%s'", path);
            if (ofs_rm_rf(path) == 0 && stats)
                stats->objects++;
        }
        free(path);
    }
    closedir(d);
}

/* The remote holds no debris of ours: rsync writes into ROOT/.tmp-rsync and renames, and an
 * upload it cannot finish it moves into the key's .tmp-partial/, which the next put of the key
 * resumes from and empties. What a killed run leaves is its local spool, whatever the cutoff:
 * its PID says it is dead. */
static int rsync_sweep(ofs_store *s, int64_t before, ofs_store_sweep_stats *stats)
{
    (void)before;
    clean_cache(((rsync_store *)s)->cache_dir, stats);
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
    if ((rc = ofs_bwlimit_parse(t->bwlimit, &rs->bw)) < 0)
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
    clean_cache(rs->cache_dir, NULL);
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
