/* test_zstdstream.c - zstd writer and reader: round trips, frame flags, truncation, garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "offsite/error.h"
#include "offsite/zstdstream.h"

static uint8_t *make_data(size_t size, int compressible)
{
    uint8_t *p = malloc(size ? size : 1);
    unsigned seed = 7;
    assert_non_null(p);
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = compressible ? (uint8_t)("offsite positions csv,"[i % 22] + (i / 4096) % 3)
                            : (uint8_t)(seed >> 16);
    }
    return p;
}

static uint8_t *compress(const void *data, size_t size, int level, int threads, size_t chunk,
                         size_t *out_size)
{
    ofs_writer *mem = NULL, *w = NULL;
    size_t n = 0;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_zstd_writer_new(&w, mem, level, threads), 0);
    if (!chunk)
        chunk = size ? size : 1;
    for (size_t off = 0; off < size; off += chunk)
        assert_int_equal(
            ofs_writer_write(w, (const uint8_t *)data + off, size - off < chunk ? size - off : chunk),
            0);
    assert_int_equal(ofs_writer_finish(w), 0);
    const void *out = ofs_memory_writer_data(mem, &n);
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, out, n);
    ofs_writer_free(w);
    *out_size = n;
    return copy;
}

/* Decompresses through the reader in reads of `step` bytes; returns the code. */
static int decompress(const void *data, size_t size, size_t step, uint8_t **out, size_t *out_size)
{
    ofs_reader *src = NULL, *r = NULL;
    size_t cap = 1 << 20, len = 0, got = 0;
    uint8_t *buf = malloc(cap);
    int rc;
    assert_non_null(buf);
    assert_int_equal(ofs_memory_reader_new(&src, data, size, 0), 0);
    assert_int_equal(ofs_zstd_reader_new(&r, src), 0);
    for (;;) {
        if (len + step > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        rc = ofs_reader_read(r, buf + len, step, &got);
        if (rc < 0 || got == 0)
            break;
        len += got;
    }
    ofs_reader_free(r);
    if (out)
        *out = buf;
    else
        free(buf);
    if (out_size)
        *out_size = len;
    return rc;
}

static void round_trip(size_t size, int compressible, int level, int threads, size_t chunk,
                       size_t step)
{
    size_t csize = 0, dsize = 0;
    uint8_t *data = make_data(size, compressible), *back = NULL;
    uint8_t *c = compress(data, size, level, threads, chunk, &csize);
    /* one frame with a content checksum, readable by libzstd itself */
    /* RFC 8878 3.1.1: magic, then the frame header descriptor; bit 2 is the checksum flag */
    assert_true(csize >= 9);
    assert_int_equal(c[0] | c[1] << 8 | c[2] << 16 | (uint32_t)c[3] << 24, 0xFD2FB528u);
    assert_int_equal(c[4] & 0x04, 0x04);
    assert_int_equal(ZSTD_findFrameCompressedSize(c, csize), csize);
    assert_int_equal(decompress(c, csize, step, &back, &dsize), 0);
    assert_int_equal(dsize, size);
    if (size)
        assert_memory_equal(back, data, size);
    if (compressible && size > 100000)
        assert_true(csize < size / 4);
    free(back);
    free(c);
    free(data);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip(0, 1, 3, 0, 0, 4096);
    round_trip(1, 1, 3, 0, 0, 1);
    round_trip(100000, 1, 1, 0, 777, 65536);
    round_trip(3 << 20, 1, 3, 0, 100000, 13);
    round_trip(300000, 0, 3, 0, 0, 65536);
    round_trip(500000, 1, -1, 0, 4096, 4096);
    round_trip(1 << 20, 1, 19, 0, 0, 1 << 16);
}

static void test_round_trip_threads(void **state)
{
    (void)state;
    round_trip(5 << 20, 1, 3, 2, 1 << 16, 1 << 16);
    round_trip(2 << 20, 0, 1, 2, 12345, 1 << 16);
}

static void test_invalid_parameters(void **state)
{
    (void)state;
    ofs_writer *mem = NULL, *w = NULL;
    char expected[128];
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_zstd_writer_new(&w, mem, 99, 0), OFS_ECONFIG);
    assert_null(w);
    snprintf(expected, sizeof(expected), "invalid zstd compression level 99 (expected %d..%d)",
             ZSTD_minCLevel(), ZSTD_maxCLevel());
    assert_string_equal(ofs_error_last(), expected);
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_zstd_writer_new(&w, mem, 3, -1), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "invalid number of zstd threads -1");
}

static void test_truncation(void **state)
{
    (void)state;
    size_t csize = 0;
    uint8_t *data = make_data(400000, 0);
    uint8_t *c = compress(data, 400000, 3, 0, 0, &csize);
    const size_t cuts[] = { 1, 4, 6, 12, 100, csize / 2, csize - 5, csize - 4, csize - 1 };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        assert_int_equal(decompress(c, cuts[i], 65536, NULL, NULL), OFS_ECORRUPT);
        assert_string_equal(ofs_error_last(), "zstd stream is truncated");
    }
    assert_int_equal(decompress(c, 0, 65536, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "zstd stream is empty");
    free(c);
    free(data);
}

static void test_garbage(void **state)
{
    (void)state;
    size_t csize = 0;
    uint8_t *data = make_data(200000, 1);
    uint8_t *c = compress(data, 200000, 3, 0, 0, &csize);
    uint8_t *t = malloc(csize + 10);
    assert_non_null(t);

    /* not zstd at all */
    assert_int_equal(decompress("this is not zstd", 16, 4096, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "zstd stream is corrupt: Unknown frame descriptor");
    /* a damaged content checksum */
    memcpy(t, c, csize);
    t[csize - 1] ^= 0x01;
    assert_int_equal(decompress(t, csize, 4096, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(),
                        "zstd stream is corrupt: Restored data doesn't match checksum");
    /* trailing bytes after the frame, and a second frame */
    memcpy(t, c, csize);
    memcpy(t + csize, "garbage!!!", 10);
    assert_int_equal(decompress(t, csize + 10, 4096, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "zstd stream has trailing data after its frame");
    size_t small = 0;
    uint8_t *second = compress("x", 1, 3, 0, 0, &small);
    uint8_t *two = malloc(csize + small);
    assert_non_null(two);
    memcpy(two, c, csize);
    memcpy(two + csize, second, small);
    assert_int_equal(decompress(two, csize + small, 1 << 20, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "zstd stream has trailing data after its frame");
    /* a flipped bit in the middle is an error or (when it hits a bit the decoder does not
     * depend on) the very same output: never silently different output. The content checksum
     * is what guarantees it. */
    int errors = 0;
    for (size_t pos = 20; pos < csize - 4; pos += 3) {
        uint8_t *back = NULL;
        size_t back_size = 0;
        memcpy(t, c, csize);
        t[pos] ^= 0x10;
        int rc = decompress(t, csize, 4096, &back, &back_size);
        if (rc == 0) {
            assert_int_equal(back_size, 200000);
            assert_memory_equal(back, data, 200000);
        } else {
            assert_int_equal(rc, OFS_ECORRUPT);
            assert_int_equal(strncmp(ofs_error_last(), "zstd stream is", 14), 0);
            errors++;
        }
        free(back);
    }
    assert_true(errors > 0);
    free(two);
    free(second);
    free(t);
    free(c);
    free(data);
}

static void test_free_without_finish(void **state)
{
    (void)state;
    ofs_writer *mem = NULL, *w = NULL;
    size_t n = 99;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_zstd_writer_new(&w, mem, 3, 0), 0);
    assert_int_equal(ofs_writer_write(w, "abc", 3), 0);
    /* nothing reached the sink before finish with this little input */
    ofs_memory_writer_data(mem, &n);
    assert_int_equal(n, 0);
    ofs_writer_free(w); /* aborts; frees mem; ASan checks for leaks */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_round_trip_threads),
        cmocka_unit_test(test_invalid_parameters),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_free_without_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
