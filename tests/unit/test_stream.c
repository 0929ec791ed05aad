/* test_stream.c - src/format/stream.c: memory, fd and null ends, read_full, read_all, copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/stream.h"

/* A reader that hands out at most 3 bytes per read, to exercise loops over short reads. */
typedef struct {
    ofs_reader parent;
    const char *data;
    size_t size, pos;
    int fail_at_end; /* return OFS_ETRANSIENT instead of end of stream */
} dribble_reader;

static int dribble_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    dribble_reader *d = (dribble_reader *)r;
    size_t n = d->size - d->pos;
    if (n == 0 && d->fail_at_end)
        return ofs_error_set(OFS_ETRANSIENT, "connection reset");
    if (n > 3)
        n = 3;
    if (n > size)
        n = size;
    memcpy(buf, d->data + d->pos, n);
    d->pos += n;
    *got = n;
    return 0;
}

static void dribble_free(ofs_reader *r)
{
    free(r);
}

static const struct ofs_reader_ops dribble_ops = { dribble_read, dribble_free };

static ofs_reader *dribble_new(const char *data, size_t size, int fail_at_end)
{
    dribble_reader *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    d->parent.ops = &dribble_ops;
    d->data = data;
    d->size = size;
    d->fail_at_end = fail_at_end;
    return &d->parent;
}

static void test_memory_writer(void **state)
{
    (void)state;
    ofs_writer *w = NULL;
    size_t size = 99;
    assert_int_equal(ofs_memory_writer_new(&w), 0);
    assert_int_equal(ofs_writer_write(w, "hello ", 6), 0);
    assert_int_equal(ofs_writer_write(w, "", 0), 0);
    char big[10000];
    memset(big, 'x', sizeof(big));
    assert_int_equal(ofs_writer_write(w, big, sizeof(big)), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    const char *data = ofs_memory_writer_data(w, &size);
    assert_int_equal(size, 6 + sizeof(big));
    assert_memory_equal(data, "hello ", 6);
    assert_memory_equal(data + 6, big, sizeof(big));
    /* finishing twice is a bug the stream layer reports */
    assert_int_equal(ofs_writer_finish(w), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "stream finished twice");
    ofs_writer_free(w);
    ofs_writer_free(NULL);

    assert_int_equal(ofs_memory_writer_new(&w), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    data = ofs_memory_writer_data(w, &size);
    assert_int_equal(size, 0);
    assert_non_null(data);
    ofs_writer_free(w);
}

static void test_memory_reader_copy_and_borrow(void **state)
{
    (void)state;
    char text[] = "abcdef";
    char buf[16];
    size_t got = 0;
    ofs_reader *copied = NULL, *borrowed = NULL;
    assert_int_equal(ofs_memory_reader_new(&copied, text, 6, 1), 0);
    assert_int_equal(ofs_memory_reader_new(&borrowed, text, 6, 0), 0);
    text[0] = 'X'; /* the copy does not see this; the borrower does */
    assert_int_equal(ofs_reader_read(copied, buf, 4, &got), 0);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "abcd", 4);
    assert_int_equal(ofs_reader_read(copied, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 2);
    assert_memory_equal(buf, "ef", 2);
    assert_int_equal(ofs_reader_read(copied, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 0);
    assert_int_equal(ofs_reader_read(borrowed, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, "Xbcdef", 6);
    /* a zero-byte read is not end of stream, just nothing */
    assert_int_equal(ofs_reader_read(borrowed, buf, 0, &got), 0);
    assert_int_equal(got, 0);
    ofs_reader_free(copied);
    ofs_reader_free(borrowed);
    ofs_reader_free(NULL);

    ofs_reader *empty = NULL;
    assert_int_equal(ofs_memory_reader_new(&empty, "", 0, 1), 0);
    assert_int_equal(ofs_reader_read(empty, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 0);
    ofs_reader_free(empty);
}

static void test_read_full(void **state)
{
    (void)state;
    const char *text = "0123456789";
    char buf[16];
    size_t got = 0;
    ofs_reader *r = dribble_new(text, 10, 0);
    assert_int_equal(ofs_reader_read_full(r, buf, 8, &got), 0);
    assert_int_equal(got, 8);
    assert_memory_equal(buf, "01234567", 8);
    assert_int_equal(ofs_reader_read_full(r, buf, 8, &got), 0);
    assert_int_equal(got, 2); /* short only at end of stream */
    assert_memory_equal(buf, "89", 2);
    assert_int_equal(ofs_reader_read_full(r, buf, 8, &got), 0);
    assert_int_equal(got, 0);
    ofs_reader_free(r);

    r = dribble_new(text, 10, 1);
    assert_int_equal(ofs_reader_read_full(r, buf, 16, &got), OFS_ETRANSIENT);
    assert_string_equal(ofs_error_last(), "connection reset");
    ofs_reader_free(r);
}

static void test_read_all(void **state)
{
    (void)state;
    char *out = NULL;
    size_t size = 0;
    size_t big = 200000;
    char *data = malloc(big);
    assert_non_null(data);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)('a' + i % 26);

    ofs_reader *r = dribble_new("hello", 5, 0);
    assert_int_equal(ofs_reader_read_all(r, &out, &size, 100), 0);
    assert_int_equal(size, 5);
    assert_string_equal(out, "hello"); /* NUL terminated */
    free(out);
    ofs_reader_free(r);

    /* larger than the first buffer: grows */
    assert_int_equal(ofs_memory_reader_new(&r, data, big, 0), 0);
    assert_int_equal(ofs_reader_read_all(r, &out, &size, 1 << 20), 0);
    assert_int_equal(size, big);
    assert_memory_equal(out, data, big);
    assert_int_equal(out[big], '\0');
    free(out);
    ofs_reader_free(r);

    /* more than max: refused, nothing returned */
    assert_int_equal(ofs_memory_reader_new(&r, data, big, 0), 0);
    assert_int_equal(ofs_reader_read_all(r, &out, &size, 100000), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "object larger than 100000 bytes");
    assert_null(out);
    assert_int_equal(size, 0);
    ofs_reader_free(r);

    free(data);
}

/* Found by this test: read_all checks max only when its buffer is full, and its first
 * buffer is 64 KiB, so a smaller max is not enforced (stream.c, not owned by format). */
static void test_read_all_small_max(void **state)
{
    (void)state;
    char *out = NULL, data[1000], message[256];
    size_t size = 0;
    ofs_reader *r = NULL;
    memset(data, 'z', sizeof(data));
    assert_int_equal(ofs_memory_reader_new(&r, data, sizeof(data), 0), 0);
    int rc = ofs_reader_read_all(r, &out, &size, 100);
    snprintf(message, sizeof(message), "%s", ofs_error_last());
    int got_output = out != NULL;
    free(out); /* clean up before asserting, so a failure does not also leak */
    ofs_reader_free(r);
    assert_int_equal(rc, OFS_ECORRUPT);
    assert_string_equal(message, "object larger than 100 bytes");
    assert_false(got_output);
}

/* Found by this test: a stream of exactly max bytes fills the buffer and is refused before
 * read_all looks for the end of stream; header: "More than max bytes -> OFS_ECORRUPT". */
static void test_read_all_exactly_max(void **state)
{
    (void)state;
    char *out = NULL;
    size_t size = 0, max = 100000;
    char *data = calloc(1, max);
    ofs_reader *r = NULL;
    assert_non_null(data);
    assert_int_equal(ofs_memory_reader_new(&r, data, max, 0), 0);
    int rc = ofs_reader_read_all(r, &out, &size, max);
    free(out);
    ofs_reader_free(r);
    free(data);
    assert_int_equal(rc, 0);
    assert_int_equal(size, max);
}

static void test_copy(void **state)
{
    (void)state;
    ofs_writer *w = NULL;
    uint64_t copied = 0;
    size_t size = 0;
    ofs_reader *r = dribble_new("copy me please", 14, 0);
    assert_int_equal(ofs_memory_writer_new(&w), 0);
    assert_int_equal(ofs_stream_copy(r, w, &copied), 0);
    assert_int_equal(copied, 14);
    const char *data = ofs_memory_writer_data(w, &size);
    assert_int_equal(size, 14);
    assert_memory_equal(data, "copy me please", 14);
    ofs_reader_free(r);
    ofs_writer_free(w);

    /* a source error stops the copy and is passed up unchanged */
    r = dribble_new("abc", 3, 1);
    assert_int_equal(ofs_null_writer_new(&w), 0);
    assert_int_equal(ofs_stream_copy(r, w, NULL), OFS_ETRANSIENT);
    assert_string_equal(ofs_error_last(), "connection reset");
    ofs_reader_free(r);
    ofs_writer_free(w);
}

static void test_fd_ends(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_stream.XXXXXX", path[64], buf[64];
    ofs_writer *w = NULL;
    ofs_reader *r = NULL;
    size_t got = 0;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/f", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ofs_fd_writer_new(&w, fd, "scratch file"), 0);
    assert_int_equal(ofs_writer_write(w, "through an fd", 13), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_writer_free(w);
    /* free does not close the descriptor */
    assert_int_equal(write(fd, "!", 1), 1);
    close(fd);

    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(ofs_fd_reader_new(&r, fd, "scratch file"), 0);
    assert_int_equal(ofs_reader_read_full(r, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 14);
    assert_memory_equal(buf, "through an fd!", 14);
    ofs_reader_free(r);
    close(fd);

    /* errors name the stream */
    assert_int_equal(ofs_fd_reader_new(&r, fd, "stdin"), 0); /* fd is closed now */
    assert_int_equal(ofs_reader_read(r, buf, sizeof(buf), &got), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "reading stdin: Bad file descriptor");
    ofs_reader_free(r);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(ofs_fd_writer_new(&w, fd, "stdout"), 0);
    assert_int_equal(ofs_writer_write(w, "x", 1), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "writing stdout: Bad file descriptor");
    ofs_writer_free(w);
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void test_null_writer(void **state)
{
    (void)state;
    ofs_writer *w = NULL;
    assert_int_equal(ofs_null_writer_new(&w), 0);
    assert_int_equal(ofs_writer_write(w, "discard", 7), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    assert_int_equal(w->finished, 1);
    ofs_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_writer),
        cmocka_unit_test(test_memory_reader_copy_and_borrow),
        cmocka_unit_test(test_read_full),
        cmocka_unit_test(test_read_all),
        cmocka_unit_test(test_read_all_small_max),
        cmocka_unit_test(test_read_all_exactly_max),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_fd_ends),
        cmocka_unit_test(test_null_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
