/* test_scan.c - the set walk: order, ancestors, nested set paths, excludes, hard links,
 * symlinks, skipped sockets, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/scan.h"

typedef struct fixture {
    char dir[64];  /* "/tmp/test_scan.XXXXXX" */
    char *rel;     /* dir without the leading '/' */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/test_scan.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->rel = f->dir + 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", f->dir, f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void make(const fixture *f, const char *relative, const char *content)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", f->dir, relative);
    if (!content) {
        assert_int_equal(mkdir(path, 0755), 0);
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
}

static char *at(const fixture *f, const char *relative)
{
    static char path[8][512];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 512, "%s/%s", f->dir, relative);
    return p;
}

static void test_walk(void **state)
{
    fixture *f = *state;
    make(f, "set", NULL);
    make(f, "set/a", NULL);
    make(f, "set/a/x", "xx");
    make(f, "set/a/deep.tmp", "t");
    make(f, "set/a/sub", NULL);
    make(f, "set/a/sub/keep.txt", "k");
    make(f, "set/a/sub/drop.log", "d");
    make(f, "set/a.txt", "hello");
    make(f, "set/cache", NULL);
    make(f, "set/cache/inner", "i");
    make(f, "set/junk.tmp", "j");
    make(f, "other", NULL);
    make(f, "other/file", "o");
    assert_int_equal(symlink("a", at(f, "set/b")), 0);
    assert_int_equal(link(at(f, "set/a/x"), at(f, "set/c")), 0);
    assert_int_equal(mkfifo(at(f, "set/pipe"), 0600), 0);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", at(f, "set/sock"));
    assert_int_equal(bind(sock, (struct sockaddr *)&sun, sizeof(sun)), 0);

    char set_path[128], set_slash[128], nested[128], other[128];
    snprintf(set_path, sizeof(set_path), "%s/set", f->dir);
    snprintf(set_slash, sizeof(set_slash), "%s//set/", f->dir);
    snprintf(nested, sizeof(nested), "%s/set/a", f->dir);
    snprintf(other, sizeof(other), "%s/other", f->dir);
    char *paths[] = { set_path, nested, other, set_slash };
    char *excludes[] = { "*.tmp", "cache", "a/sub/*.log" };

    ofs_scan *scan = NULL;
    assert_int_equal(ofs_scan_run(&scan, paths, 4, excludes, 3), 0);
    close(sock);

    const char *expected[] = { "other", "other/file", "set", "set/a", "set/a/sub",
                               "set/a/sub/keep.txt", "set/a/x", "set/a.txt", "set/b", "set/c",
                               "set/pipe" };
    size_t n = sizeof(expected) / sizeof(expected[0]);
    /* "tmp" and "tmp/test_scan.XXXXXX" come first, as ancestors */
    assert_int_equal(scan->count, n + 2);
    assert_string_equal(scan->entries[0].path, "tmp");
    assert_int_equal(scan->entries[0].type, OFS_ENTRY_DIR);
    assert_string_equal(scan->entries[1].path, f->rel);
    assert_int_equal(scan->entries[1].type, OFS_ENTRY_DIR);
    for (size_t i = 0; i < n; i++) {
        char want[256];
        snprintf(want, sizeof(want), "%s/%s", f->rel, expected[i]);
        assert_string_equal(scan->entries[i + 2].path, want);
    }
    for (size_t i = 1; i < scan->count; i++)
        assert_true(ofs_path_compare(scan->entries[i - 1].path, scan->entries[i].path) < 0);

    const ofs_catalog_entry *x = &scan->entries[2 + 6], *a_txt = &scan->entries[2 + 7],
                            *b = &scan->entries[2 + 8], *c = &scan->entries[2 + 9],
                            *pipe = &scan->entries[2 + 10];
    assert_int_equal(x->type, OFS_ENTRY_FILE);
    assert_int_equal(x->size, 2);
    assert_int_equal(a_txt->type, OFS_ENTRY_FILE);
    assert_int_equal(a_txt->size, 5);
    assert_int_equal(a_txt->mode, 0644);
    assert_int_equal(b->type, OFS_ENTRY_SYMLINK);
    assert_string_equal(b->link_target, "a");
    assert_int_equal(c->type, OFS_ENTRY_HARDLINK);
    assert_int_equal(c->size, 0);
    assert_string_equal(c->link_target, x->path);
    assert_int_equal(c->ino, x->ino);
    assert_int_equal(pipe->type, OFS_ENTRY_FIFO);

    struct stat st;
    assert_int_equal(stat(at(f, "set/a.txt"), &st), 0);
    assert_int_equal(a_txt->mtime_sec, st.st_mtim.tv_sec);
    assert_int_equal(a_txt->mtime_nsec, st.st_mtim.tv_nsec);
    assert_int_equal(a_txt->ino, st.st_ino);
    assert_int_equal(a_txt->uid, st.st_uid);
    if (st.st_uid == 0)
        assert_string_equal(a_txt->user, "root");

    assert_int_equal(scan->files, 4);      /* other/file, keep.txt, x, a.txt */
    assert_int_equal(scan->hardlinks, 1);
    assert_int_equal(scan->symlinks, 1);
    assert_int_equal(scan->fifos, 1);
    assert_int_equal(scan->bytes, 1 + 1 + 2 + 5);
    assert_int_equal(scan->skipped, 1);    /* the socket */
    ofs_scan_free(scan);
}

static void test_single_file_and_symlinked_dir(void **state)
{
    fixture *f = *state;
    make(f, "real", NULL);
    make(f, "real/inside", "1");
    make(f, "lone.txt", "22");
    assert_int_equal(symlink("real", at(f, "alias")), 0);
    char *paths[] = { at(f, "lone.txt"), at(f, "alias") };
    ofs_scan *scan = NULL;
    assert_int_equal(ofs_scan_run(&scan, paths, 2, NULL, 0), 0);
    assert_int_equal(scan->count, 5);
    char want[256];
    snprintf(want, sizeof(want), "%s/alias", f->rel);
    assert_string_equal(scan->entries[2].path, want);
    assert_int_equal(scan->entries[2].type, OFS_ENTRY_DIR); /* followed: the operator named it */
    snprintf(want, sizeof(want), "%s/alias/inside", f->rel);
    assert_string_equal(scan->entries[3].path, want);
    snprintf(want, sizeof(want), "%s/lone.txt", f->rel);
    assert_string_equal(scan->entries[4].path, want);
    assert_int_equal(scan->entries[4].type, OFS_ENTRY_FILE);
    assert_int_equal(scan->entries[4].size, 2);
    ofs_scan_free(scan);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    char message[512];
    ofs_scan *scan = NULL;
    char *missing[] = { at(f, "nope") };
    assert_int_equal(ofs_scan_run(&scan, missing, 1, NULL, 0), OFS_ENOTFOUND);
    snprintf(message, sizeof(message), "set path '%s/nope' does not exist", f->dir);
    assert_string_equal(ofs_error_last(), message);
    assert_null(scan);

    char *relative[] = { "srv/data" };
    assert_int_equal(ofs_scan_run(&scan, relative, 1, NULL, 0), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "set path 'srv/data' is not absolute");
    char *dots[] = { "/srv/../etc" };
    assert_int_equal(ofs_scan_run(&scan, dots, 1, NULL, 0), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "set path '/srv/../etc' holds a '.' or '..' component");
}

static void test_permission_denied(void **state)
{
    fixture *f = *state;
    char message[512];
    ofs_scan *scan = NULL;
    if (geteuid() == 0)
        skip(); /* root reads mode 000 directories */
    make(f, "set", NULL);
    make(f, "set/locked", NULL);
    assert_int_equal(chmod(at(f, "set/locked"), 0), 0);
    char *paths[] = { at(f, "set") };
    assert_int_equal(ofs_scan_run(&scan, paths, 1, NULL, 0), OFS_EDENIED);
    snprintf(message, sizeof(message), "cannot open directory '%s/set/locked': Permission denied",
             f->dir);
    assert_string_equal(ofs_error_last(), message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_file_and_symlinked_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_denied, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
