/* test_tarwrite.c - the pax tar stage: read back with libarchive, exact offsets, content
 * hashes, non-UTF-8 names, links, changed-while-read and vanished files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/tarwrite.h"

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/test_tarwrite.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
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

static void write_file(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, size), (ssize_t)size);
    close(fd);
}

/* A catalog entry for path as the scanner would make it (path without the leading '/'). */
static void entry_from(ofs_catalog_entry *e, const char *path, ofs_entry_type type)
{
    struct stat st;
    memset(e, 0, sizeof(*e));
    assert_int_equal(lstat(path, &st), 0);
    e->path = strdup(path + 1);
    e->type = type;
    e->mode = st.st_mode & 07777;
    e->uid = st.st_uid;
    e->gid = st.st_gid;
    e->user = strdup("someone");
    e->size = type == OFS_ENTRY_FILE ? (uint64_t)st.st_size : 0;
    e->mtime_sec = st.st_mtim.tv_sec;
    e->mtime_nsec = (int32_t)st.st_mtim.tv_nsec;
    e->ctime_sec = st.st_ctim.tv_sec;
    e->ctime_nsec = (int32_t)st.st_ctim.tv_nsec;
    e->ino = st.st_ino;
    e->dev = st.st_dev;
}

typedef struct tar_result {
    ofs_writer *mem; /* owned by the tar writer */
    ofs_tar_writer *tar;
} tar_result;

static void tar_begin(tar_result *r)
{
    assert_int_equal(ofs_memory_writer_new(&r->mem), 0);
    assert_int_equal(ofs_tar_writer_new(&r->tar, r->mem, NULL, NULL), 0);
}

static const unsigned char *tar_end(tar_result *r, size_t *size)
{
    uint64_t before = ofs_tar_writer_offset(r->tar);
    assert_int_equal(ofs_tar_writer_finish(r->tar), 0);
    const unsigned char *data = ofs_memory_writer_data(r->mem, size);
    assert_int_equal(*size, before + 1024); /* the two zero blocks, no record padding */
    return data;
}

static void test_entries_read_back(void **state)
{
    fixture *f = *state;
    char path[256], big_path[256], raw_path[256], link_path[256], fifo_path[256],
        hard_path[256], long_path[512];
    ofs_catalog_entry e[7];
    unsigned char *big = malloc(3 * 1024 * 1024 + 17);
    for (size_t i = 0; i < 3 * 1024 * 1024 + 17; i++)
        big[i] = (unsigned char)(i * 2654435761u >> 13);

    snprintf(path, sizeof(path), "%s/dir", f->dir);
    assert_int_equal(mkdir(path, 0750), 0);
    snprintf(big_path, sizeof(big_path), "%s/dir/big.bin", f->dir);
    write_file(big_path, big, 3 * 1024 * 1024 + 17);
    snprintf(raw_path, sizeof(raw_path), "%s/dir/\xff\xfe-raw", f->dir);
    write_file(raw_path, "raw name\n", 9);
    snprintf(link_path, sizeof(link_path), "%s/dir/link", f->dir);
    assert_int_equal(symlink("big.bin", link_path), 0);
    snprintf(fifo_path, sizeof(fifo_path), "%s/dir/pipe", f->dir);
    assert_int_equal(mkfifo(fifo_path, 0600), 0);
    snprintf(hard_path, sizeof(hard_path), "%s/dir/same", f->dir);
    assert_int_equal(link(big_path, hard_path), 0);
    snprintf(long_path, sizeof(long_path), "%s/dir/%0200d.txt", f->dir, 7);
    write_file(long_path, "long", 4);

    entry_from(&e[0], path, OFS_ENTRY_DIR);
    entry_from(&e[1], big_path, OFS_ENTRY_FILE);
    entry_from(&e[2], raw_path, OFS_ENTRY_FILE);
    entry_from(&e[3], link_path, OFS_ENTRY_SYMLINK);
    e[3].link_target = strdup("big.bin");
    entry_from(&e[4], fifo_path, OFS_ENTRY_FIFO);
    entry_from(&e[5], hard_path, OFS_ENTRY_HARDLINK);
    e[5].link_target = strdup(e[1].path);
    entry_from(&e[6], long_path, OFS_ENTRY_FILE);

    tar_result r;
    tar_begin(&r);
    assert_int_equal(ofs_tar_writer_offset(r.tar), 0);
    for (int i = 0; i < 7; i++)
        assert_int_equal(ofs_tar_writer_add(r.tar, NULL, &e[i]), 0);
    size_t size = 0;
    const unsigned char *data = tar_end(&r, &size);

    uint8_t digest[OFS_SHA256_BYTES];
    assert_int_equal(e[1].has_sha256, 1);
    assert_int_equal(ofs_sha256_buffer(big, 3 * 1024 * 1024 + 17, digest), 0);
    assert_memory_equal(e[1].sha256, digest, OFS_SHA256_BYTES);
    assert_int_equal(ofs_sha256_buffer("raw name\n", 9, digest), 0);
    assert_memory_equal(e[2].sha256, digest, OFS_SHA256_BYTES);
    assert_int_equal(e[0].has_sha256, 0);
    assert_int_equal(e[1].changed, 0);

    /* every offset points at a pax extended header block ("ustar" magic, type 'x') */
    for (int i = 0; i < 7; i++) {
        assert_true(e[i].offset % 512 == 0);
        assert_true(e[i].offset + 512 <= size);
        assert_memory_equal(data + e[i].offset + 257, "ustar", 5);
        assert_int_equal(data[e[i].offset + 156], 'x');
    }
    assert_int_equal(e[0].offset, 0);

    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
    assert_int_equal(archive_read_open_memory(a, data, size), ARCHIVE_OK);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
        assert_int_equal((uint64_t)archive_read_header_position(a), e[i].offset);
        const char *name = archive_entry_pathname(ae);
        if (e[i].type == OFS_ENTRY_DIR)
            assert_true(strncmp(name, e[i].path, strlen(e[i].path)) == 0);
        else
            assert_string_equal(name, e[i].path);
        assert_int_equal(archive_entry_mtime(ae), e[i].mtime_sec);
        assert_int_equal(archive_entry_mtime_nsec(ae), e[i].mtime_nsec);
        assert_int_equal(archive_entry_uid(ae), e[i].uid);
        assert_string_equal(archive_entry_uname(ae), "someone");
        assert_int_equal(archive_entry_perm(ae), e[i].mode);
        if (i == 1) {
            unsigned char *back = malloc(e[1].size + 1);
            size_t got = 0;
            la_ssize_t n;
            while ((n = archive_read_data(a, back + got, e[1].size + 1 - got)) > 0)
                got += (size_t)n;
            assert_int_equal(got, e[1].size);
            assert_memory_equal(back, big, got);
            free(back);
        }
    }
    assert_int_equal(archive_entry_filetype(ae), AE_IFREG);
    archive_read_free(a);

    /* types and link targets, read again without data */
    a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, data, size), ARCHIVE_OK);
    int types[7] = { AE_IFDIR, AE_IFREG, AE_IFREG, AE_IFLNK, AE_IFIFO, AE_IFREG, AE_IFREG };
    for (int i = 0; i < 7; i++) {
        assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
        if (i != 5) /* the reader leaves a hard link's type to its target */
            assert_int_equal(archive_entry_filetype(ae), types[i]);
        if (i == 3)
            assert_string_equal(archive_entry_symlink(ae), "big.bin");
        if (i == 5)
            assert_string_equal(archive_entry_hardlink(ae), e[1].path);
    }
    assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_EOF);
    archive_read_free(a);

    ofs_tar_writer_free(r.tar);
    for (int i = 0; i < 7; i++)
        ofs_catalog_entry_clear(&e[i]);
    free(big);
}

static void test_changed_while_read(void **state)
{
    fixture *f = *state;
    char grow[256], shrink[256];
    ofs_catalog_entry e[2];
    snprintf(grow, sizeof(grow), "%s/grows", f->dir);
    snprintf(shrink, sizeof(shrink), "%s/shrinks", f->dir);
    write_file(grow, "0123456789", 10);
    write_file(shrink, "abcdefghij", 10);
    entry_from(&e[0], grow, OFS_ENTRY_FILE);
    entry_from(&e[1], shrink, OFS_ENTRY_FILE);
    /* after the scan: one grew, one shrank */
    write_file(grow, "0123456789ABCDEF", 16);
    write_file(shrink, "abcd", 4);

    tar_result r;
    tar_begin(&r);
    assert_int_equal(ofs_tar_writer_add(r.tar, NULL, &e[0]), 0);
    assert_int_equal(ofs_tar_writer_add(r.tar, NULL, &e[1]), 0);
    size_t size = 0;
    const unsigned char *data = tar_end(&r, &size);
    assert_int_equal(e[0].changed, 1);
    assert_int_equal(e[1].changed, 1);

    uint8_t digest[OFS_SHA256_BYTES];
    assert_int_equal(ofs_sha256_buffer("0123456789", 10, digest), 0);
    assert_memory_equal(e[0].sha256, digest, OFS_SHA256_BYTES);
    assert_int_equal(ofs_sha256_buffer("abcd\0\0\0\0\0\0", 10, digest), 0);
    assert_memory_equal(e[1].sha256, digest, OFS_SHA256_BYTES);

    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    char buf[32];
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, data, size), ARCHIVE_OK);
    assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
    assert_int_equal(archive_entry_size(ae), 10);
    assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 10);
    assert_memory_equal(buf, "0123456789", 10);
    assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
    assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 10);
    assert_memory_equal(buf, "abcd\0\0\0\0\0\0", 10);
    archive_read_free(a);
    ofs_tar_writer_free(r.tar);
    ofs_catalog_entry_clear(&e[0]);
    ofs_catalog_entry_clear(&e[1]);
}

static void test_vanished_and_replaced(void **state)
{
    fixture *f = *state;
    char gone[256], replaced[256], message[600];
    ofs_catalog_entry e[2];
    snprintf(gone, sizeof(gone), "%s/gone", f->dir);
    snprintf(replaced, sizeof(replaced), "%s/replaced", f->dir);
    write_file(gone, "x", 1);
    write_file(replaced, "y", 1);
    entry_from(&e[0], gone, OFS_ENTRY_FILE);
    entry_from(&e[1], replaced, OFS_ENTRY_FILE);
    assert_int_equal(unlink(gone), 0);
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.new", replaced);
    write_file(tmp, "z", 1);
    assert_int_equal(rename(tmp, replaced), 0); /* a new inode under the same name */

    tar_result r;
    tar_begin(&r);
    assert_int_equal(ofs_tar_writer_add(r.tar, NULL, &e[0]), OFS_ENOTFOUND);
    snprintf(message, sizeof(message), "'%s' vanished since the scan", gone);
    assert_string_equal(ofs_error_last(), message);
    assert_int_equal(ofs_tar_writer_add(r.tar, NULL, &e[1]), OFS_ENOTFOUND);
    snprintf(message, sizeof(message), "'%s' was replaced since the scan", replaced);
    assert_string_equal(ofs_error_last(), message);
    assert_int_equal(ofs_tar_writer_offset(r.tar), 0); /* nothing was written */
    size_t size = 0;
    tar_end(&r, &size);
    assert_int_equal(size, 1024);
    ofs_tar_writer_free(r.tar);
    ofs_catalog_entry_clear(&e[0]);
    ofs_catalog_entry_clear(&e[1]);
}

static void test_unreadable_file(void **state)
{
    fixture *f = *state;
    char path[256], message[600];
    ofs_catalog_entry e;
    if (geteuid() == 0)
        skip(); /* root reads mode 000 files */
    snprintf(path, sizeof(path), "%s/secret", f->dir);
    write_file(path, "s", 1);
    assert_int_equal(chmod(path, 0), 0);
    entry_from(&e, path, OFS_ENTRY_FILE);
    tar_result r;
    tar_begin(&r);
    assert_int_equal(ofs_tar_writer_add(r.tar, NULL, &e), OFS_EDENIED);
    snprintf(message, sizeof(message), "cannot open '%s': Permission denied", path);
    assert_string_equal(ofs_error_last(), message);
    ofs_tar_writer_free(r.tar); /* without finish: aborts */
    ofs_catalog_entry_clear(&e);
}

static void test_xattrs(void **state)
{
    fixture *f = *state;
    char path[256];
    ofs_catalog_entry e;
    snprintf(path, sizeof(path), "%s/tagged", f->dir);
    write_file(path, "t", 1);
    if (setxattr(path, "user.offsite.test", "v\0x", 3, 0) < 0) {
        assert_true(errno == ENOTSUP || errno == EPERM);
        skip(); /* this file system has no user xattrs */
    }
    entry_from(&e, path, OFS_ENTRY_FILE);
    tar_result r;
    tar_begin(&r);
    assert_int_equal(ofs_tar_writer_add(r.tar, NULL, &e), 0);
    size_t size = 0;
    const unsigned char *data = tar_end(&r, &size);
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, data, size), ARCHIVE_OK);
    assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
    int found = 0;
    const char *name;
    const void *value;
    size_t value_size;
    archive_entry_xattr_reset(ae);
    while (archive_entry_xattr_next(ae, &name, &value, &value_size) == ARCHIVE_OK) {
        if (strcmp(name, "user.offsite.test") == 0) {
            assert_int_equal(value_size, 3);
            assert_memory_equal(value, "v\0x", 3);
            found = 1;
        }
    }
    assert_true(found);
    archive_read_free(a);
    ofs_tar_writer_free(r.tar);
    ofs_catalog_entry_clear(&e);
}

static void test_stop_flag(void **state)
{
    fixture *f = *state;
    char path[256];
    ofs_catalog_entry e;
    atomic_int stop;
    ofs_writer *mem = NULL;
    ofs_tar_writer *tar = NULL;
    snprintf(path, sizeof(path), "%s/f", f->dir);
    write_file(path, "f", 1);
    entry_from(&e, path, OFS_ENTRY_FILE);
    atomic_init(&stop, 1);
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_tar_writer_new(&tar, mem, NULL, &stop), 0);
    assert_int_equal(ofs_tar_writer_add(tar, NULL, &e), OFS_ECANCELED);
    assert_string_equal(ofs_error_last(), "backup canceled");
    ofs_tar_writer_free(tar);
    ofs_catalog_entry_clear(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_entries_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_while_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vanished_and_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_flag, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
