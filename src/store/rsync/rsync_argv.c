/*
 * rsync_argv.c - the argument vector of each rsync run the driver makes (see
 * include/offsite/store_rsync.h for what each operation asks of rsync, and why). Every value
 * from the configuration or a key is one argument: nothing here is ever seen by a shell
 * except what rsync itself passes to the remote one, escaped by rsync.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/error.h"
#include "rsync_int.h"

#define RSYNC_ARGS_MAX 40

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
    uint64_t rate = ofs_bwlimit_at(rs->bw, (int64_t)time(NULL));
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
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    memcpy(argv, a.v, (size_t)a.n * sizeof(*argv));
    *out = argv;
    return 0;
}

