/* test_spool.c - src/util/spool.c: bytes read back as appended, in memory and once spilled to
 * a file (which has no name in its directory), concurrent reads, the errors of misuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/spool.h"
#include "unit_fixture.h"

/* record k: k % 300 + 1 bytes, each (k + i) & 0xff */
static size_t record(size_t k, uint8_t *buf)
{
    size_t n = k % 300 + 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(k + i);
    return n;
}

#define RECORDS 5000

static void fill(ofs_spool *s, uint64_t *offsets)
{
    uint8_t buf[512];
    for (size_t k = 0; k < RECORDS; k++) {
        size_t n = record(k, buf);
        assert_int_equal(ofs_spool_append(s, buf, n, &offsets[k]), 0);
    }
    assert_int_equal(ofs_spool_finish(s), 0);
}

static void check_all(const ofs_spool *s, const uint64_t *offsets)
{
    uint8_t want[512], got[512];
    for (size_t k = RECORDS; k-- > 0;) {
        size_t n = record(k, want);
        assert_int_equal(ofs_spool_read(s, offsets[k], got, n), 0);
        assert_memory_equal(got, want, n);
    }
}

static void test_in_memory(void **state)
{
    ofs_spool *s = NULL;
    uint64_t *offsets = calloc(RECORDS, sizeof(*offsets));
    assert_int_equal(ofs_spool_new(&s, *state, 8 << 20), 0);
    fill(s, offsets);
    assert_int_equal(ofs_spool_spilled(s), 0);
    assert_int_equal(unit_dir_entries(*state), 0);
    assert_int_equal(offsets[0], 0);
    assert_int_equal(offsets[1], 1);
    check_all(s, offsets);
    ofs_spool_free(s);
    free(offsets);
}

static void test_spilled(void **state)
{
    ofs_spool *s = NULL;
    uint64_t *offsets = calloc(RECORDS, sizeof(*offsets));
    uint8_t big[300 * 1024];
    uint64_t at = 0;
    /* into a directory that does not exist yet: made 0700 */
    char *dir = ofs_path_join(*state, "cache");
    assert_int_equal(ofs_spool_new(&s, dir, 4096), 0);
    fill(s, offsets);
    assert_int_equal(ofs_spool_spilled(s), 1);
    /* the file has no name: nothing another process could open, nothing left by a crash */
    assert_int_equal(unit_dir_entries(dir), 0);
    check_all(s, offsets);
    assert_int_equal(ofs_spool_size(s), offsets[RECORDS - 1] + (RECORDS - 1) % 300 + 1);
    ofs_spool_free(s);

    /* an append larger than the write buffer goes straight to the file */
    memset(big, 0x5a, sizeof(big));
    assert_int_equal(ofs_spool_new(&s, dir, 0), 0);
    assert_int_equal(ofs_spool_append(s, "x", 1, NULL), 0);
    assert_int_equal(ofs_spool_append(s, big, sizeof(big), &at), 0);
    assert_int_equal(ofs_spool_append(s, "y", 1, NULL), 0);
    assert_int_equal(ofs_spool_finish(s), 0);
    assert_int_equal(at, 1);
    uint8_t got[sizeof(big) + 2];
    assert_int_equal(ofs_spool_read(s, 0, got, sizeof(got)), 0);
    assert_int_equal(got[0], 'x');
    assert_memory_equal(got + 1, big, sizeof(big));
    assert_int_equal(got[sizeof(big) + 1], 'y');
    ofs_spool_free(s);
    free(dir);
    free(offsets);
}

typedef struct reader_arg {
    const ofs_spool *s;
    const uint64_t *offsets;
    int failures;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    uint8_t want[512], got[512];
    for (size_t k = 0; k < RECORDS; k++) {
        size_t n = record(k, want);
        if (ofs_spool_read(a->s, a->offsets[k], got, n) < 0 || memcmp(got, want, n) != 0)
            a->failures++;
    }
    return NULL;
}

static void test_concurrent_reads(void **state)
{
    ofs_spool *s = NULL;
    uint64_t *offsets = calloc(RECORDS, sizeof(*offsets));
    pthread_t threads[4];
    reader_arg args[4];
    assert_int_equal(ofs_spool_new(&s, *state, 64 * 1024), 0);
    fill(s, offsets);
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg){ s, offsets, 0 };
        assert_int_equal(pthread_create(&threads[i], NULL, reader, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    ofs_spool_free(s);
    free(offsets);
}

static void test_misuse(void **state)
{
    ofs_spool *s = NULL;
    uint8_t b[8];
    assert_int_equal(ofs_spool_new(&s, *state, 16), 0);
    assert_int_equal(ofs_spool_append(s, "abcd", 4, NULL), 0);
    assert_int_equal(ofs_spool_read(s, 0, b, 4), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "spool: read before finish");
    assert_int_equal(ofs_spool_finish(s), 0);
    assert_int_equal(ofs_spool_read(s, 2, b, 4), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "spool: read of 4 bytes at 2 past its end 4");
    assert_int_equal(ofs_spool_append(s, "e", 1, NULL), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "spool: append after finish");
    ofs_spool_free(s);
    ofs_spool_free(NULL);

    /* a directory that cannot be made: the error names it */
    char *file = ofs_path_join(*state, "plain");
    char *below = ofs_path_join(file, "cache");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(ofs_spool_new(&s, below, 0), 0);
    assert_true(ofs_spool_append(s, "a", 1, NULL) < 0);
    assert_non_null(strstr(ofs_error_last(), "spool: "));
    ofs_spool_free(s);
    free(below);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_memory, unit_tmpdir_setup, unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_spilled, unit_tmpdir_setup, unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_reads, unit_tmpdir_setup,
                                        unit_tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_misuse, unit_tmpdir_setup, unit_tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
