/* test_store.c - the store layer (key rules, error context, retries) and the file driver:
 * round trips small and large, ranges, stat, list order and prefixes, temporary files never
 * listed and never left behind, IF_ABSENT, del and its empty parents, whole-buffer helpers,
 * ofs_store_open by type, and permission / not-a-directory failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/store.h"
#include "store_contract.h"

static void path_of(const fixture *f, const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", f->root, rel);
}

static int exists(const fixture *f, const char *rel)
{
    char path[512];
    struct stat st;
    path_of(f, rel, path, sizeof(path));
    return lstat(path, &st) == 0;
}

/* count_entries(dir): entries of a directory other than . and .., or -1 if it is missing */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void write_raw(const fixture *f, const char *rel, const char *text)
{
    char path[512];
    path_of(f, rel, path, sizeof(path));
    char *dir = strdup(path);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(ofs_mkdir_p(dir, 0700), 0);
    free(dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void fill(uint8_t *data, size_t size, unsigned seed)
{
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (uint8_t)(seed >> 16);
    }
}

/* read_whole(r, chunk): everything a reader gives, chunk bytes per read call */
static uint8_t *read_whole(ofs_reader *r, size_t chunk, size_t *size)
{
    size_t cap = 1024, len = 0;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        size_t got = 0;
        if (len + chunk > cap) {
            while (len + chunk > cap)
                cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        assert_int_equal(ofs_reader_read(r, buf + len, chunk, &got), 0);
        if (got == 0)
            break;
        len += got;
    }
    *size = len;
    return buf;
}

/* ---- keys ---- */

static void test_key_check(void **state)
{
    (void)state;
    static const char *good[] = {
        "manifest.json", "data/daily/db_20260105_170000/vol-0001.ofs", "a/.hidden", "a..b",
        "x.tmp", "a/.tm", "caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80", "with space", "a\\b",
    };
    static const char *bad[] = {
        "", "/abs", "a//b", "a/", "./a", "a/./b", "a/../b", "..", ".", ".tmp", ".tmp-x",
        "a/.tmpfoo/b", "a\nb", "tab\there", "del\x7f", "trunc\xc3", "overlong\xc0\xaf",
        "surrogate\xed\xa0\x80", "c1\xc2\x85", "big\xf4\x90\x80\x80", "bad\xff",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (ofs_store_key_check(good[i]) != 0)
            fail_msg("rejected '%s': %s", good[i], ofs_error_last());
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ofs_store_key_check(bad[i]) != OFS_ECONFIG)
            fail_msg("accepted bad key #%zu '%s'", i, bad[i]);
    }
    assert_int_equal(ofs_store_key_check(NULL), OFS_ECONFIG);

    char key[1100];
    memset(key, 'k', sizeof(key));
    key[1024] = '\0';
    assert_int_equal(ofs_store_key_check(key), 0);
    key[1024] = 'k';
    key[1025] = '\0';
    assert_int_equal(ofs_store_key_check(key), OFS_ECONFIG);

    assert_int_equal(ofs_store_key_check("a\nb"), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(),
                        "invalid key 'a\\x0ab': control character or invalid UTF-8");
    assert_int_equal(ofs_store_key_check("a/../b"), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "invalid key 'a/../b': '.' or '..' path component");
}

/* every operation refuses a bad key before the driver sees it, naming the store */
static void test_bad_key_refused_everywhere(void **state)
{
    fixture *f = *state;
    ofs_writer *w = NULL;
    ofs_reader *r = NULL;
    ofs_object_info info;
    assert_int_equal(ofs_store_put(f->store, "../escape", 0, &w), OFS_ECONFIG);
    assert_null(w);
    assert_string_equal(ofs_error_last(),
                        "staging: invalid key '../escape': '.' or '..' path component");
    assert_int_equal(ofs_store_get(f->store, "/etc/passwd", 0, 0, &r), OFS_ECONFIG);
    assert_null(r);
    assert_int_equal(ofs_store_stat(f->store, "a/.tmp-x", &info), OFS_ECONFIG);
    assert_int_equal(ofs_store_del(f->store, "a//b"), OFS_ECONFIG);
    assert_int_equal(ofs_store_list(f->store, "../", NULL, NULL), OFS_ECONFIG);
    assert_int_equal(count_entries(f->root), 0);
}

/* ---- put and get ---- */

static void test_round_trip_small(void **state)
{
    fixture *f = *state;
    ofs_writer *w = NULL;
    ofs_reader *r = NULL;
    size_t size = 0;
    char path[512];
    struct stat st;

    assert_int_equal(ofs_store_put(f->store, "a/b/c.txt", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, "hello, ", 7), 0);
    assert_false(exists(f, "a/b/c.txt")); /* not visible before finish */
    assert_int_equal(ofs_writer_write(w, "world", 5), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_writer_free(w);
    path_of(f, "a/b", path, sizeof(path));
    assert_int_equal(count_entries(path), 1); /* no temporary file left */
    path_of(f, "a/b/c.txt", path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(ofs_store_get(f->store, "a/b/c.txt", 0, 0, &r), 0);
    uint8_t *data = read_whole(r, 3, &size);
    ofs_reader_free(r);
    assert_int_equal(size, 12);
    assert_memory_equal(data, "hello, world", 12);
    free(data);

    /* an empty object */
    assert_int_equal(ofs_store_put_buffer(f->store, "empty", 0, "", 0), 0);
    assert_int_equal(ofs_store_get(f->store, "empty", 0, 0, &r), 0);
    data = read_whole(r, 100, &size);
    ofs_reader_free(r);
    free(data);
    assert_int_equal(size, 0);

    /* a plain put replaces */
    assert_int_equal(ofs_store_put_buffer(f->store, "a/b/c.txt", 0, "new", 3), 0);
    char *text = NULL;
    assert_int_equal(ofs_store_get_buffer(f->store, "a/b/c.txt", &text, &size, 100), 0);
    assert_string_equal(text, "new");
    free(text);
}

static void test_round_trip_large(void **state)
{
    fixture *f = *state;
    const size_t total = 5 * 1024 * 1024 + 12345;
    uint8_t *data = malloc(total);
    ofs_writer *w = NULL;
    ofs_reader *r = NULL;
    size_t size = 0, pos = 0;
    static const size_t chunks[] = { 1, 100, 300000, 4096, 1 << 20, 65536, 7 };

    assert_non_null(data);
    fill(data, total, 42);
    assert_int_equal(ofs_store_put(f->store, "data/daily/x/vol-0001.ofs", 0, &w), 0);
    for (size_t i = 0; pos < total; i++) {
        size_t n = chunks[i % 7];
        if (n > total - pos)
            n = total - pos;
        assert_int_equal(ofs_writer_write(w, data + pos, n), 0);
        pos += n;
    }
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_writer_free(w);

    ofs_object_info info;
    assert_int_equal(ofs_store_stat(f->store, "data/daily/x/vol-0001.ofs", &info), 0);
    assert_int_equal(info.size, total);
    assert_true(llabs((long long)(info.mtime - (int64_t)time(NULL))) < 60);

    /* big reads (straight into the caller's buffer) and small ones (through the buffer) */
    static const size_t read_sizes[] = { 1 << 20, 1000 };
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(ofs_store_get(f->store, "data/daily/x/vol-0001.ofs", 0, 0, &r), 0);
        uint8_t *back = read_whole(r, read_sizes[i], &size);
        ofs_reader_free(r);
        assert_int_equal(size, total);
        assert_memory_equal(back, data, total);
        free(back);
    }
    free(data);
}

static void test_range_get(void **state)
{
    fixture *f = *state;
    const size_t total = 1000000;
    uint8_t *data = malloc(total);
    ofs_reader *r = NULL;
    size_t size = 0;
    static const struct { uint64_t offset, length; size_t expect_from, expect_size; } cases[] = {
        { 10, 20, 10, 20 },
        { 0, 1, 0, 1 },
        { 999990, 0, 999990, 10 },      /* length 0: to the end */
        { 999990, 100, 999990, 10 },    /* a range past the end is cut there */
        { 500000, 300000, 500000, 300000 },
        { 1000000, 0, 0, 0 },           /* offset at the end: empty */
        { 5000000, 10, 0, 0 },          /* offset past the end: empty */
    };

    assert_non_null(data);
    fill(data, total, 7);
    assert_int_equal(ofs_store_put_buffer(f->store, "obj", 0, data, total), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t chunk = 7; chunk <= (1 << 20); chunk *= 1024) {
            assert_int_equal(ofs_store_get(f->store, "obj", cases[i].offset, cases[i].length, &r),
                             0);
            uint8_t *back = read_whole(r, chunk, &size);
            ofs_reader_free(r);
            if (size != cases[i].expect_size)
                fail_msg("case %zu chunk %zu: %zu bytes, expected %zu", i, chunk, size,
                         cases[i].expect_size);
            if (size)
                assert_memory_equal(back, data + cases[i].expect_from, size);
            free(back);
        }
    }
    free(data);
}

static void test_missing(void **state)
{
    fixture *f = *state;
    ofs_reader *r = NULL;
    ofs_object_info info = { .size = 1, .mtime = 1 };
    char *text = NULL;
    size_t size = 0;

    assert_int_equal(ofs_store_get(f->store, "nope/x.json", 0, 0, &r), OFS_ENOTFOUND);
    assert_null(r);
    assert_string_equal(ofs_error_last(), "staging: nope/x.json: not found");
    assert_int_equal(ofs_store_stat(f->store, "nope/x.json", &info), OFS_ENOTFOUND);
    assert_string_equal(ofs_error_last(), "staging: nope/x.json: not found");
    assert_int_equal(info.size, 0);
    assert_int_equal(ofs_store_get_buffer(f->store, "x.json", &text, &size, 10), OFS_ENOTFOUND);
    assert_string_equal(ofs_error_last(), "staging: x.json: not found");
    assert_null(text);

    /* below an object (ENOTDIR), and a directory in an object's place: not found either */
    assert_int_equal(ofs_store_put_buffer(f->store, "file", 0, "x", 1), 0);
    assert_int_equal(ofs_store_stat(f->store, "file/below", &info), OFS_ENOTFOUND);
    assert_int_equal(ofs_store_get(f->store, "file/below", 0, 0, &r), OFS_ENOTFOUND);
    write_raw(f, "dir/inside", "x");
    assert_int_equal(ofs_store_stat(f->store, "dir", &info), OFS_ENOTFOUND);
    assert_int_equal(ofs_store_get(f->store, "dir", 0, 0, &r), OFS_ENOTFOUND);
    assert_null(r);
}

/* free without finish: no object, no temporary file, no directory the put made */
static void test_abort_leaves_nothing(void **state)
{
    fixture *f = *state;
    ofs_writer *w = NULL;
    uint8_t buf[100000];
    char path[512];

    fill(buf, sizeof(buf), 1);
    assert_int_equal(ofs_store_put(f->store, "data/daily/id/vol-0001.ofs", 0, &w), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(ofs_writer_write(w, buf, sizeof(buf)), 0);
    path_of(f, "data/daily/id", path, sizeof(path));
    assert_int_equal(count_entries(path), 1); /* the temporary file */
    ofs_writer_free(w);
    assert_false(exists(f, "data"));
    assert_int_equal(count_entries(f->root), 0);

    /* an existing object is untouched by an aborted replacement */
    assert_int_equal(ofs_store_put_buffer(f->store, "keep/me", 0, "old", 3), 0);
    assert_int_equal(ofs_store_put(f->store, "keep/me", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, "new!", 4), 0);
    ofs_writer_free(w);
    char *text = NULL;
    size_t size = 0;
    assert_int_equal(ofs_store_get_buffer(f->store, "keep/me", &text, &size, 100), 0);
    assert_string_equal(text, "old");
    free(text);
    path_of(f, "keep", path, sizeof(path));
    assert_int_equal(count_entries(path), 1);
    ofs_writer_free(NULL);
}

static void test_if_absent(void **state)
{
    fixture *f = *state;
    char *text = NULL;
    size_t size = 0;
    char path[512];

    assert_int_equal(ofs_store_put_buffer(f->store, "d/backup.json", OFS_PUT_IF_ABSENT, "one", 3),
                     0);
    assert_int_equal(ofs_store_put_buffer(f->store, "d/backup.json", OFS_PUT_IF_ABSENT, "two", 3),
                     OFS_EEXISTS);
    assert_string_equal(ofs_error_last(), "staging: d/backup.json: already exists");
    assert_int_equal(ofs_store_get_buffer(f->store, "d/backup.json", &text, &size, 100), 0);
    assert_string_equal(text, "one");
    free(text);
    path_of(f, "d", path, sizeof(path));
    assert_int_equal(count_entries(path), 1); /* the refused temporary file is gone */
}

/* a directory where the object should go: finish fails, naming the key, and leaves no temp */
static void test_finish_blocked(void **state)
{
    fixture *f = *state;
    char path[512];
    write_raw(f, "b/vol-0003.ofs/blocker", "x");
    int rc = ofs_store_put_buffer(f->store, "b/vol-0003.ofs", 0, "data", 4);
    assert_int_equal(rc, OFS_ERROR);
    assert_non_null(strstr(ofs_error_last(), "staging: b/vol-0003.ofs: cannot rename into"));
    path_of(f, "b", path, sizeof(path));
    assert_int_equal(count_entries(path), 1);

    /* and a key below an object: its "directory" is a file */
    assert_int_equal(ofs_store_put_buffer(f->store, "obj", 0, "x", 1), 0);
    rc = ofs_store_put_buffer(f->store, "obj/sub", 0, "y", 1);
    assert_int_equal(rc, OFS_ERROR);
    assert_non_null(strstr(ofs_error_last(), "staging: obj/sub: "));
    assert_non_null(strstr(ofs_error_last(), "not a directory"));
    /* deeper: mkdir meets ENOTDIR, which for a put is no "not found" */
    rc = ofs_store_put_buffer(f->store, "obj/sub/deeper", 0, "y", 1);
    assert_int_equal(rc, OFS_ERROR);
    assert_non_null(strstr(ofs_error_last(), "staging: obj/sub/deeper: cannot create directory"));
}

/* a file-size limit stands in for a full disk: EFBIG is reported as OFS_ENOSPC with a hint,
 * and the aborted put leaves nothing */
static void test_no_space(void **state)
{
    fixture *f = *state;
    struct rlimit old, small;
    ofs_writer *w = NULL;
    uint8_t buf[65536];
    int rc = 0;

    fill(buf, sizeof(buf), 9);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100000;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    assert_int_equal(ofs_store_put(f->store, "data/vol", 0, &w), 0);
    for (int i = 0; i < 20 && rc == 0; i++)
        rc = ofs_writer_write(w, buf, sizeof(buf));
    if (rc == 0)
        rc = ofs_writer_finish(w);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(rc, OFS_ENOSPC);
    char expected[600];
    snprintf(expected, sizeof(expected), "staging: data/vol: cannot write '%s/data/vol': File too "
             "large\nHINT: ", f->root);
    assert_non_null(strstr(ofs_error_last(), expected));
    ofs_writer_free(w);
    assert_int_equal(count_entries(f->root), 0);
}

/* puts that abort and dels that empty the same new directory, from several threads at once:
 * each may remove the directory another is about to write into */
typedef struct {
    fixture *f;
    int id, failures;
    char message[256];
} race_arg;

static void *race_thread(void *p)
{
    race_arg *a = p;
    char key[64];
    for (int i = 0; i < 200; i++) {
        ofs_writer *w = NULL;
        snprintf(key, sizeof(key), "race/dir%d/obj-%d", i % 3, a->id);
        int rc = ofs_store_put(a->f->store, key, 0, &w);
        if (rc == 0)
            rc = ofs_writer_write(w, "x", 1);
        if (rc == 0 && (i + a->id) % 2 == 0) {
            rc = ofs_writer_finish(w);
            if (rc == 0)
                rc = ofs_store_del(a->f->store, key);
        }
        ofs_writer_free(w); /* the odd ones abort */
        if (rc < 0 && a->failures++ == 0)
            snprintf(a->message, sizeof(a->message), "%s", ofs_error_last());
    }
    return NULL;
}

static void test_concurrent_dirs(void **state)
{
    fixture *f = *state;
    pthread_t threads[4];
    race_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (race_arg){ .f = f, .id = i };
        assert_int_equal(pthread_create(&threads[i], NULL, race_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        if (args[i].failures)
            fail_msg("thread %d: %d failures, the first: %s", i, args[i].failures,
                     args[i].message);
    }
    assert_int_equal(count_entries(f->root), 0);
}

/* ---- list ---- */

typedef struct {
    char keys[32][128];
    uint64_t sizes[32];
    int count, stop_after;
} listing;

static int collect(void *ctx, const char *key, const ofs_object_info *info)
{
    listing *l = ctx;
    assert_true(l->count < 32);
    snprintf(l->keys[l->count], sizeof(l->keys[0]), "%s", key);
    l->sizes[l->count] = info->size;
    l->count++;
    return l->stop_after && l->count == l->stop_after ? 7 : 0;
}

static void expect_listing(fixture *f, const char *prefix, const char *const *keys, int n)
{
    listing l = { .count = 0 };
    assert_int_equal(ofs_store_list(f->store, prefix, collect, &l), 0);
    if (l.count != n)
        fail_msg("prefix '%s': %d keys, expected %d", prefix, l.count, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(l.keys[i], keys[i]);
}

static void test_list(void **state)
{
    fixture *f = *state;
    static const char *const all[] = {
        "a-c", "a/b", "a/c/d", "a0", "b", "data/daily/pos", "data/daily/pos_1/x",
        "data/daily/positions/y", "data/daily/q/z", "data/weekly/w",
    };
    const int n = sizeof(all) / sizeof(all[0]);
    ofs_writer *pending = NULL;

    /* put in an order unlike the sorted one */
    for (int i = n - 1; i >= 0; i--)
        assert_int_equal(ofs_store_put_buffer(f->store, all[(i * 3) % n], 0, all[(i * 3) % n],
                                              strlen(all[(i * 3) % n])), 0);
    /* things that are not objects: temporary files and directories, a directory with no
     * objects, a file whose name is no valid key, an unfinished put */
    write_raw(f, ".tmp-orphan", "x");
    write_raw(f, "a/.tmp-b-1234", "x");
    write_raw(f, "data/.tmpdir/inside", "x");
    write_raw(f, "bad\nname", "x");
    char path[512];
    path_of(f, "emptydir", path, sizeof(path));
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(ofs_store_put(f->store, "data/daily/q/unfinished", 0, &pending), 0);
    assert_int_equal(ofs_writer_write(pending, "x", 1), 0);

    expect_listing(f, "", all, n);
    expect_listing(f, "a", all, 4);
    expect_listing(f, "a/", all + 1, 2);
    expect_listing(f, "a/c/", all + 2, 1);
    expect_listing(f, "data/", all + 5, 5);
    expect_listing(f, "data/daily/pos", all + 5, 3);
    expect_listing(f, "data/daily/pos_", all + 6, 1);
    expect_listing(f, "data/daily/q/z", all + 8, 1);
    expect_listing(f, "data/weekly/", all + 9, 1);
    expect_listing(f, "zzz/", NULL, 0);
    expect_listing(f, "missing/deeper/x", NULL, 0);
    expect_listing(f, "b/", NULL, 0); /* "b" is an object, not a directory */
    expect_listing(f, "data/.tmp", NULL, 0);

    listing l = { .count = 0 };
    assert_int_equal(ofs_store_list(f->store, "data/daily/pos", collect, &l), 0);
    assert_int_equal(l.sizes[0], strlen("data/daily/pos"));

    /* fn stops the listing with its own value */
    memset(&l, 0, sizeof(l));
    l.stop_after = 2;
    assert_int_equal(ofs_store_list(f->store, "", collect, &l), 7);
    assert_int_equal(l.count, 2);

    ofs_writer_free(pending);
}

static void test_list_missing_root(void **state)
{
    fixture *f = *state;
    listing l = { .count = 0 };
    assert_int_equal(ofs_rm_rf(f->root), 0);
    assert_int_equal(ofs_store_list(f->store, "", collect, &l), 0);
    assert_int_equal(ofs_store_list(f->store, "data/", collect, &l), 0);
    assert_int_equal(l.count, 0);
}

/* ---- del ---- */

static void test_del(void **state)
{
    fixture *f = *state;
    ofs_object_info info;

    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/id/vol-0001.ofs", 0, "1", 1), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/id/vol-0002.ofs", 0, "2", 1), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/other/x", 0, "3", 1), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, "top", 0, "4", 1), 0);

    assert_int_equal(ofs_store_del(f->store, "data/daily/id/vol-0001.ofs"), 0);
    assert_int_equal(ofs_store_stat(f->store, "data/daily/id/vol-0001.ofs", &info),
                     OFS_ENOTFOUND);
    assert_true(exists(f, "data/daily/id/vol-0002.ofs"));
    assert_int_equal(ofs_store_del(f->store, "data/daily/id/vol-0001.ofs"), 0); /* again */
    assert_int_equal(ofs_store_del(f->store, "data/daily/id/vol-0002.ofs"), 0);
    assert_false(exists(f, "data/daily/id")); /* emptied: removed */
    assert_true(exists(f, "data/daily/other/x"));
    assert_int_equal(ofs_store_del(f->store, "data/daily/other/x"), 0);
    assert_false(exists(f, "data"));
    assert_int_equal(ofs_store_del(f->store, "top"), 0);
    assert_int_equal(count_entries(f->root), 0); /* the root stays */
    assert_int_equal(ofs_store_del(f->store, "never/was/here"), 0);
    assert_int_equal(ofs_store_del(f->store, "top/below"), 0);

    /* a directory is no object: refused, not removed */
    write_raw(f, "dir/inside", "x");
    assert_true(ofs_store_del(f->store, "dir") < 0);
    assert_true(exists(f, "dir/inside"));
}

/* ---- sweep ---- */

static void set_mtime(const fixture *f, const char *rel, time_t t)
{
    char path[512];
    struct timespec ts[2] = { { t, 0 }, { t, 0 } };
    path_of(f, rel, path, sizeof(path));
    assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* debris older than the cutoff goes, younger stays: temporary files in the root and under
 * data/, empty backup folders; objects, class folders and non-temporary names are never
 * touched */
static void test_sweep(void **state)
{
    fixture *f = *state;
    ofs_store_sweep_stats st;
    time_t now = time(NULL);

    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/kept/vol-0001.ofs", 0, "1", 1),
                     0);
    write_raw(f, "data/daily/kept/.tmp-vol-0002.ofs-0123456789abcdef", "half");
    write_raw(f, ".tmp-manifest.json-0123456789abcdef", "{");
    write_raw(f, "data/daily/young/.tmp-vol-0001.ofs-0123456789abcdef", "live");
    write_raw(f, "data/weekly/gone/.tmp-catalog.ofs-0123456789abcdef", "old");
    write_raw(f, "data/monthly/tmpname/.tmpish", "not ours"); /* no ".tmp-" prefix */
    char dir[512];
    path_of(f, "data/daily/empty", dir, sizeof(dir));
    assert_int_equal(ofs_mkdir_p(dir, 0700), 0);
    set_mtime(f, "data/daily/kept/.tmp-vol-0002.ofs-0123456789abcdef", now - 100);
    set_mtime(f, ".tmp-manifest.json-0123456789abcdef", now - 100);
    set_mtime(f, "data/weekly/gone/.tmp-catalog.ofs-0123456789abcdef", now - 100);
    set_mtime(f, "data/weekly/gone", now - 100);
    set_mtime(f, "data/daily/empty", now - 100);

    assert_int_equal(ofs_store_sweep(f->store, now - 50, &st), 0);
    assert_int_equal(st.objects, 3);
    assert_int_equal(st.bytes, 4 + 1 + 3);
    assert_false(exists(f, "data/daily/kept/.tmp-vol-0002.ofs-0123456789abcdef"));
    assert_false(exists(f, ".tmp-manifest.json-0123456789abcdef"));
    assert_true(exists(f, "data/daily/kept/vol-0001.ofs"));
    assert_true(exists(f, "data/daily/young/.tmp-vol-0001.ofs-0123456789abcdef"));
    assert_true(exists(f, "data/monthly/tmpname/.tmpish"));
    /* unchanged since before the cutoff, then emptied by this sweep: gone; the class stays */
    assert_false(exists(f, "data/weekly/gone"));
    assert_true(exists(f, "data/weekly"));
    assert_false(exists(f, "data/daily/empty"));
    assert_int_equal(st.folders, 2);

    /* a later cutoff takes the young one and its folder */
    assert_int_equal(ofs_store_sweep(f->store, now + 5, &st), 0);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.folders, 1);
    assert_false(exists(f, "data/daily/young"));
    assert_true(exists(f, "data/daily/kept/vol-0001.ofs"));
    assert_true(exists(f, "data/daily"));

    /* a write-only store sweeps nothing */
    write_raw(f, ".tmp-x-0123456789abcdef", "x");
    f->store->caps |= OFS_STORE_CAP_DELETE_REFUSED;
    assert_int_equal(ofs_store_sweep(f->store, now + 5, &st), 0);
    assert_int_equal(st.objects, 0);
    assert_true(exists(f, ".tmp-x-0123456789abcdef"));
    f->store->caps &= ~(unsigned)OFS_STORE_CAP_DELETE_REFUSED;
}

/* ---- whole buffers ---- */

static void test_buffers(void **state)
{
    fixture *f = *state;
    char *text = NULL;
    size_t size = 0;

    assert_int_equal(ofs_store_put_buffer(f->store, "m.json", 0, "{\"a\":1}", 7), 0);
    assert_int_equal(ofs_store_get_buffer(f->store, "m.json", &text, &size, 7), 0);
    assert_int_equal(size, 7);
    assert_string_equal(text, "{\"a\":1}"); /* NUL-terminated */
    free(text);
    text = NULL;
    assert_int_equal(ofs_store_get_buffer(f->store, "m.json", &text, &size, 6), OFS_ECORRUPT);
    assert_null(text);
    assert_int_equal(size, 0);
    assert_string_equal(ofs_error_last(), "staging: m.json: object larger than 6 bytes");

    /* larger than the first read buffer */
    size_t big = 300000;
    uint8_t *data = malloc(big);
    assert_non_null(data);
    fill(data, big, 3);
    assert_int_equal(ofs_store_put_buffer(f->store, "big", 0, data, big), 0);
    assert_int_equal(ofs_store_get_buffer(f->store, "big", &text, &size, big), 0);
    assert_int_equal(size, big);
    assert_memory_equal(text, data, big);
    free(text);
    assert_int_equal(ofs_store_get_buffer(f->store, "big", &text, &size, big - 1), OFS_ECORRUPT);
    free(data);
}

/* ---- open by type ---- */

static void test_open(void **state)
{
    fixture *f = *state;
    char path[256];
    ofs_store *s = NULL;
    ofs_config_target t = { .name = "nas", .line = 12, .type = "file" };

    snprintf(path, sizeof(path), "%s/nas/deep/er", f->base);
    t.path = path;
    assert_int_equal(ofs_store_open(&s, &t, NULL, NULL), 0);
    assert_string_equal(ofs_store_name(s), "nas");
    assert_int_equal(ofs_store_caps(s), OFS_STORE_CAP_RANGE | OFS_STORE_CAP_CONDITIONAL |
                                            OFS_STORE_CAP_LOCAL | OFS_STORE_CAP_CONCURRENT |
                                            OFS_STORE_CAP_ATOMIC_REPLACE);
    char expected[300];
    snprintf(expected, sizeof(expected), "file %s", path);
    assert_string_equal(s->description, expected);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    ofs_reader *r = NULL;
    assert_int_equal(ofs_store_get(s, "gone", 0, 0, &r), OFS_ENOTFOUND);
    assert_string_equal(ofs_error_last(), "nas: gone: not found");
    ofs_store_free(s);
    s = NULL;

    t.type = "gcs"; /* the gcs driver's own checks, named as every driver's are */
    assert_int_equal(ofs_store_open(&s, &t, NULL, NULL), OFS_ECONFIG);
    assert_null(s);
    assert_string_equal(ofs_error_last(), "target 'nas' (line 12): type 'gcs' needs 'bucket' (a "
                                          "bucket name, without '/')");
    t.type = "ftp";
    assert_int_equal(ofs_store_open(&s, &t, NULL, NULL), OFS_EUNSUPPORTED);
    assert_string_equal(ofs_error_last(), "target 'nas' (line 12): unknown type 'ftp'");
    t.type = "file";
    t.path = NULL;
    assert_int_equal(ofs_store_open(&s, &t, NULL, NULL), OFS_ECONFIG);
    assert_null(s);
    ofs_store_free(NULL);
    /* the driver's own failure, named like the others */
    snprintf(path, sizeof(path), "%s/plain", f->base);
    assert_int_equal(ofs_write_file_atomic(path, "x", 1, 0600), 0);
    snprintf(path, sizeof(path), "%s/plain/below", f->base);
    t.path = path;
    assert_true(ofs_store_open(&s, &t, NULL, NULL) < 0);
    assert_null(s);
    assert_int_equal(strncmp(ofs_error_last(), "target 'nas' (line 12): ", 24), 0);

    /* a trailing slash on the root changes nothing */
    snprintf(path, sizeof(path), "%s/slash/", f->base);
    assert_int_equal(ofs_store_file_new(&s, "x", path), 0);
    snprintf(expected, sizeof(expected), "file %s/slash", f->base);
    assert_string_equal(s->description, expected);
    assert_int_equal(ofs_store_put_buffer(s, "k/v", 0, "v", 1), 0);
    assert_int_equal(ofs_store_del(s, "k/v"), 0);
    assert_int_equal(stat(path, &st), 0); /* the root survives its last object */
    ofs_store_free(s);
}

/* ---- failures of the file system ---- */

/* a root below a regular file: no store (holds for root too) */
static void test_root_below_file(void **state)
{
    fixture *f = *state;
    ofs_store *s = NULL;
    char path[256];

    snprintf(path, sizeof(path), "%s/plain", f->base);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/plain/store", f->base);
    assert_true(ofs_store_file_new(&s, "nas", path) < 0);
    assert_null(s);
    assert_non_null(strstr(ofs_error_last(), "nas: cannot create the store's directory"));
}

/* denied_puts(f): 0 if puts into read-only directories fail with OFS_EDENIED naming the store
 * and key, and leave nothing; else the number of the failed check. No cmocka asserts: it also
 * runs in a child that dropped root. */
static int denied_puts(fixture *f)
{
    int rc = ofs_store_put_buffer(f->store, "x/y/z", 0, "z", 1); /* mkdir refused */
    if (rc != OFS_EDENIED || !strstr(ofs_error_last(), "staging: x/y/z: ") ||
        !strstr(ofs_error_last(), "Permission denied"))
        return 1;
    rc = ofs_store_put_buffer(f->store, "ro/k", 0, "z", 1); /* temporary file refused */
    if (rc != OFS_EDENIED || !strstr(ofs_error_last(), "staging: ro/k: cannot create a "
                                                       "temporary file"))
        return 2;
    if (count_entries(f->root) != 1)
        return 3;
    return 0;
}

/* Read-only directories. As root, which ignores permissions, the puts run in a child that
 * became "nobody". */
static void test_denied(void **state)
{
    fixture *f = *state;
    char ro[512];

    path_of(f, "ro", ro, sizeof(ro));
    assert_int_equal(mkdir(ro, 0555), 0);
    assert_int_equal(chmod(f->root, 0555), 0);
    if (geteuid() != 0) {
        int failed = denied_puts(f);
        assert_int_equal(chmod(f->root, 0700), 0);
        assert_int_equal(chmod(ro, 0700), 0);
        if (failed)
            fail_msg("check %d: %s", failed, ofs_error_last());
        return;
    }
    /* nobody must be able to reach the root: open up the directories above it */
    char up[256];
    snprintf(up, sizeof(up), "%s/staging", f->base);
    assert_int_equal(chmod(f->base, 0711), 0);
    assert_int_equal(chmod(up, 0711), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(99);
        int failed = denied_puts(f);
        if (failed)
            fprintf(stderr, "check %d: %s\n", failed, ofs_error_last());
        _exit(failed);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(chmod(f->root, 0700), 0);
    assert_int_equal(chmod(ro, 0700), 0);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 99)
        skip(); /* cannot drop privileges here */
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- retries, with a fake driver ---- */

typedef struct {
    ofs_store parent;
    int fail_times, calls;
} flaky_store;

static int flaky_stat(ofs_store *s, const char *key, ofs_object_info *info)
{
    flaky_store *fl = (flaky_store *)s;
    (void)key;
    if (fl->calls++ < fl->fail_times)
        return ofs_error_set(OFS_ETRANSIENT, "HTTP 503 (attempt %d)", fl->calls);
    info->size = 5;
    return 0;
}

static int flaky_del(ofs_store *s, const char *key)
{
    flaky_store *fl = (flaky_store *)s;
    (void)key;
    fl->calls++;
    return ofs_error_set(OFS_EDENIED, "HTTP 403");
}

/* a listing fails after showing an object: never retried (fn would see it twice) */
static int flaky_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    flaky_store *fl = (flaky_store *)s;
    ofs_object_info info = { .size = 1 };
    (void)prefix;
    fl->calls++;
    int rc = fn(ctx, "k", &info);
    return rc ? rc : ofs_error_set(OFS_ETRANSIENT, "connection reset");
}

static void flaky_free(ofs_store *s)
{
    (void)s;
}

static const struct ofs_store_ops flaky_ops = {
    .stat = flaky_stat, .list = flaky_list, .del = flaky_del, .free = flaky_free
};

static void test_retry(void **state)
{
    (void)state;
    flaky_store fl = { .parent = { .ops = &flaky_ops, .name = "s3box" } };
    ofs_object_info info;

    setenv("OFFSITE_RETRY_BUDGET", "1", 1);
    fl.fail_times = 2; /* sleeps 0.2 + 0.4 s, then succeeds */
    assert_int_equal(ofs_store_stat(&fl.parent, "k", &info), 0);
    assert_int_equal(fl.calls, 3);
    assert_int_equal(info.size, 5);

    fl.calls = 0;
    fl.fail_times = 100; /* the budget runs out after the third attempt (0.2 + 0.4 + 0.8 > 1) */
    assert_int_equal(ofs_store_stat(&fl.parent, "k", &info), OFS_ETRANSIENT);
    assert_int_equal(fl.calls, 3);
    assert_string_equal(ofs_error_last(), "s3box: k: HTTP 503 (attempt 1) (failed 3 times in all)");

    setenv("OFFSITE_RETRY_BUDGET", "0", 1);
    fl.calls = 0;
    assert_int_equal(ofs_store_stat(&fl.parent, "k", &info), OFS_ETRANSIENT);
    assert_int_equal(fl.calls, 1);
    assert_string_equal(ofs_error_last(), "s3box: k: HTTP 503 (attempt 1)");
    unsetenv("OFFSITE_RETRY_BUDGET");

    /* other failures are not retried */
    fl.calls = 0;
    assert_int_equal(ofs_store_del(&fl.parent, "k"), OFS_EDENIED);
    assert_int_equal(fl.calls, 1);
    assert_string_equal(ofs_error_last(), "s3box: k: HTTP 403");

    listing l = { .count = 0 };
    fl.calls = 0;
    assert_int_equal(ofs_store_list(&fl.parent, "", collect, &l), OFS_ETRANSIENT);
    assert_int_equal(fl.calls, 1);
    assert_int_equal(l.count, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_check),
        cmocka_unit_test_setup_teardown(test_bad_key_refused_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_missing_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_below_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
        cmocka_unit_test(test_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
