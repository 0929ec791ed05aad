/* test_tarread.c - the tar reader: entries and data of archives made with libarchive's writer,
 * raw names, xattrs, sparse offsets, unsupported types, garbage and failing sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "offsite/error.h"
#include "offsite/tarread.h"

typedef struct tar_buf {
    char *data;
    size_t size;
} tar_buf;

static la_ssize_t buf_write(struct archive *a, void *client, const void *data, size_t size)
{
    tar_buf *b = client;
    (void)a;
    b->data = realloc(b->data, b->size + size);
    memcpy(b->data + b->size, data, size);
    b->size += size;
    return (la_ssize_t)size;
}

static struct archive *tar_begin(tar_buf *b)
{
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_option(a, "pax", "hdrcharset", "BINARY"),
                     ARCHIVE_OK);
    assert_int_equal(archive_write_open2(a, b, NULL, buf_write, NULL, NULL), ARCHIVE_OK);
    return a;
}

static void tar_add(struct archive *a, const char *path, unsigned type, const char *data,
                    const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, 0640);
    archive_entry_set_mtime(e, 1795281300, 123456789);
    if (type == AE_IFLNK)
        archive_entry_copy_symlink(e, link);
    if (type == AE_IFREG && link)
        archive_entry_copy_hardlink(e, link);
    if (type == AE_IFREG && !link)
        archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
    if (type == AE_IFREG && data && strcmp(path, "with-xattr") == 0)
        archive_entry_xattr_add_entry(e, "user.note", "hello", 5);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (type == AE_IFREG && data && !link)
        assert_int_equal(archive_write_data(a, data, strlen(data)), (la_ssize_t)strlen(data));
    archive_entry_free(e);
}

static void tar_end(struct archive *a)
{
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static ofs_tar_reader *open_reader(const tar_buf *b)
{
    ofs_reader *r = NULL;
    ofs_tar_reader *t = NULL;
    assert_int_equal(ofs_memory_reader_new(&r, b->data, b->size, 1), 0);
    assert_int_equal(ofs_tar_reader_new(&t, r, "vol-0001.ofs"), 0);
    return t;
}

static char *read_data(ofs_tar_reader *t)
{
    const void *data;
    size_t size, total = 0;
    uint64_t offset;
    char *out = calloc(1, 1);
    int rc;
    while ((rc = ofs_tar_reader_data(t, &data, &size, &offset)) == 1) {
        assert_int_equal(offset, total);
        out = realloc(out, total + size + 1);
        memcpy(out + total, data, size);
        total += size;
        out[total] = '\0';
    }
    assert_int_equal(rc, 0);
    return out;
}

static void test_entries_and_data(void **state)
{
    (void)state;
    tar_buf b = { 0 };
    struct archive *a = tar_begin(&b);
    tar_add(a, "srv", AE_IFDIR, NULL, NULL); /* written as "srv/" */
    tar_add(a, "srv/file.txt", AE_IFREG, "some content", NULL);
    tar_add(a, "srv/link", AE_IFLNK, NULL, "../elsewhere");
    tar_add(a, "srv/hard", AE_IFREG, NULL, "srv/file.txt");
    tar_add(a, "srv/pipe", AE_IFIFO, NULL, NULL);
    tar_add(a, "srv/n\xe4me \xff", AE_IFREG, "", NULL);
    tar_add(a, "with-xattr", AE_IFREG, "x", NULL);
    tar_end(a);

    ofs_tar_reader *t = open_reader(&b);
    ofs_tar_entry e;
    assert_int_equal(ofs_tar_reader_next(t, &e), 1);
    assert_string_equal(e.path, "srv");
    assert_int_equal(e.type, OFS_ENTRY_DIR);
    assert_int_equal(e.offset, 0);
    assert_int_equal(ofs_tar_reader_next(t, &e), 1);
    assert_string_equal(e.path, "srv/file.txt");
    assert_int_equal(e.type, OFS_ENTRY_FILE);
    assert_int_equal(e.size, 12);
    assert_int_equal(e.mode, 0640);
    assert_int_equal(e.mtime_sec, 1795281300);
    assert_int_equal(e.mtime_nsec, 123456789);
    assert_true(e.offset > 0 && e.offset % 512 == 0);
    char *data = read_data(t);
    assert_string_equal(data, "some content");
    free(data);
    assert_int_equal(ofs_tar_reader_next(t, &e), 1);
    assert_int_equal(e.type, OFS_ENTRY_SYMLINK);
    assert_string_equal(e.link_target, "../elsewhere");
    assert_int_equal(ofs_tar_reader_next(t, &e), 1);
    assert_int_equal(e.type, OFS_ENTRY_HARDLINK);
    assert_string_equal(e.link_target, "srv/file.txt");
    assert_int_equal(ofs_tar_reader_next(t, &e), 1);
    assert_int_equal(e.type, OFS_ENTRY_FIFO);
    assert_int_equal(ofs_tar_reader_next(t, &e), 1);
    assert_string_equal(e.path, "srv/n\xe4me \xff"); /* raw bytes survive */
    assert_int_equal(e.size, 0);
    /* data left unread is skipped by the next header read */
    assert_int_equal(ofs_tar_reader_next(t, &e), 1);
    assert_string_equal(e.path, "with-xattr");
    assert_int_equal(e.xattr_count, 1);
    assert_string_equal(e.xattrs[0].name, "user.note");
    assert_int_equal(e.xattrs[0].size, 5);
    assert_memory_equal(e.xattrs[0].value, "hello", 5);
    assert_int_equal(ofs_tar_reader_next(t, &e), 0);
    assert_int_equal(ofs_tar_reader_next(t, &e), 0);
    ofs_tar_reader_free(t);
    free(b.data);
}

static void test_device_refused(void **state)
{
    (void)state;
    tar_buf b = { 0 };
    struct archive *a = tar_begin(&b);
    tar_add(a, "dev/sda", AE_IFBLK, NULL, NULL);
    tar_end(a);
    ofs_tar_reader *t = open_reader(&b);
    ofs_tar_entry e;
    assert_int_equal(ofs_tar_reader_next(t, &e), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(),
                        "vol-0001.ofs: entry 'dev/sda' has an unsupported type");
    ofs_tar_reader_free(t);
    free(b.data);
}

static void test_garbage(void **state)
{
    (void)state;
    tar_buf b = { .size = 4096 };
    b.data = malloc(b.size);
    memset(b.data, 'x', b.size);
    ofs_reader *r = NULL;
    ofs_tar_reader *t = NULL;
    ofs_tar_entry e;
    assert_int_equal(ofs_memory_reader_new(&r, b.data, b.size, 1), 0);
    /* libarchive reads ahead when it opens: the failure comes from new or from next */
    int rc = ofs_tar_reader_new(&t, r, "vol-0001.ofs");
    if (rc == 0)
        rc = ofs_tar_reader_next(t, &e);
    assert_int_equal(rc, OFS_ECORRUPT);
    assert_true(strncmp(ofs_error_last(), "vol-0001.ofs: cannot ", 21) == 0);
    ofs_tar_reader_free(t);
    free(b.data);
}

static void test_truncated_data(void **state)
{
    (void)state;
    tar_buf b = { 0 };
    struct archive *a = tar_begin(&b);
    char big[3000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tar_add(a, "big", AE_IFREG, big, NULL);
    tar_end(a);
    b.size = 1024 + 1024; /* pax header, ustar header and part of the data */
    ofs_tar_reader *t = open_reader(&b);
    ofs_tar_entry e;
    const void *data;
    size_t size;
    uint64_t offset;
    int rc;
    assert_int_equal(ofs_tar_reader_next(t, &e), 1);
    while ((rc = ofs_tar_reader_data(t, &data, &size, &offset)) == 1)
        ;
    assert_int_equal(rc, OFS_ECORRUPT);
    ofs_tar_reader_free(t);
    free(b.data);
}

/* A source that fails like a seal reader with a bad tag after some bytes. */
typedef struct failing_reader {
    ofs_reader base;
    int calls;
} failing_reader;

static int failing_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    failing_reader *f = (failing_reader *)r;
    (void)buf;
    (void)size;
    *got = 0;
    f->calls++;
    return ofs_error_set(OFS_EAUTH, "authentication failed (wrong key or corrupted data)");
}

static void failing_free(ofs_reader *r)
{
    free(r);
}

static const struct ofs_reader_ops failing_ops = { failing_read, failing_free };

static void test_source_error_kept(void **state)
{
    (void)state;
    failing_reader *f = calloc(1, sizeof(*f));
    f->base.ops = &failing_ops;
    ofs_tar_reader *t = NULL;
    int rc = ofs_tar_reader_new(&t, &f->base, "vol-0002.ofs");
    if (rc == 0) {
        ofs_tar_entry e;
        rc = ofs_tar_reader_next(t, &e);
    }
    assert_int_equal(rc, OFS_EAUTH);
    assert_string_equal(ofs_error_last(), "authentication failed (wrong key or corrupted data)");
    ofs_tar_reader_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_and_data),
        cmocka_unit_test(test_device_refused),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_truncated_data),
        cmocka_unit_test(test_source_error_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
