/* test_hash.c - SHA-256 (FIPS 180 examples), hash writer/reader, verify reader, hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/hash.h"

#define ABC_HEX "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MSG448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define MSG448_HEX "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define MILLION_A_HEX "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static void assert_digest(const uint8_t digest[32], const char *expected)
{
    char hex[OFS_SHA256_HEX];
    ofs_hex_encode(digest, 32, hex);
    assert_string_equal(hex, expected);
}

static void test_sha256_buffer_vectors(void **state)
{
    (void)state;
    uint8_t d[32];
    assert_int_equal(ofs_sha256_buffer("abc", 3, d), 0);
    assert_digest(d, ABC_HEX);
    assert_int_equal(ofs_sha256_buffer("", 0, d), 0);
    assert_digest(d, EMPTY_HEX);
    assert_int_equal(ofs_sha256_buffer(NULL, 0, d), 0);
    assert_digest(d, EMPTY_HEX);
    assert_int_equal(ofs_sha256_buffer(MSG448, strlen(MSG448), d), 0);
    assert_digest(d, MSG448_HEX);
}

static void test_sha256_incremental_million_a(void **state)
{
    (void)state;
    ofs_sha256 *h = NULL;
    uint8_t d[32];
    char chunk[1000];
    memset(chunk, 'a', sizeof(chunk));
    assert_int_equal(ofs_sha256_new(&h), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ofs_sha256_update(h, chunk, sizeof(chunk)), 0);
    assert_int_equal(ofs_sha256_final(h, d), 0);
    assert_digest(d, MILLION_A_HEX);

    /* reset reuses the context; odd chunk sizes must not matter */
    assert_int_equal(ofs_sha256_reset(h), 0);
    const char *msg = MSG448;
    for (size_t i = 0; i < strlen(msg); i += 7)
        assert_int_equal(ofs_sha256_update(h, msg + i, strlen(msg) - i < 7 ? strlen(msg) - i : 7),
                         0);
    assert_int_equal(ofs_sha256_final(h, d), 0);
    assert_digest(d, MSG448_HEX);
    ofs_sha256_free(h);
    ofs_sha256_free(NULL);
}

/* a copy taken mid-way goes on from there: SHA-256("abc") and SHA-256("abcdef") from one
 * stream, as the decoder does with a tail's prefix */
static void test_sha256_copy(void **state)
{
    (void)state;
    ofs_sha256 *h = NULL, *copy = NULL;
    uint8_t a[OFS_SHA256_BYTES], b[OFS_SHA256_BYTES], want[OFS_SHA256_BYTES];
    assert_int_equal(ofs_sha256_new(&h), 0);
    assert_int_equal(ofs_sha256_new(&copy), 0);
    assert_int_equal(ofs_sha256_update(h, "abc", 3), 0);
    assert_int_equal(ofs_sha256_copy(copy, h), 0);
    assert_int_equal(ofs_sha256_final(h, a), 0);
    assert_int_equal(ofs_sha256_update(copy, "def", 3), 0);
    assert_int_equal(ofs_sha256_final(copy, b), 0);
    assert_int_equal(ofs_sha256_buffer("abc", 3, want), 0);
    assert_memory_equal(a, want, sizeof(want));
    assert_int_equal(ofs_sha256_buffer("abcdef", 6, want), 0);
    assert_memory_equal(b, want, sizeof(want));
    ofs_sha256_free(h);
    ofs_sha256_free(copy);
}

static void test_hash_writer_tee(void **state)
{
    (void)state;
    ofs_writer *mem = NULL, *w = NULL;
    uint8_t d[32];
    uint64_t bytes = 0;
    size_t size = 0;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_hash_writer_new(&w, mem), 0);
    assert_int_equal(ofs_writer_write(w, "a", 1), 0);
    assert_int_equal(ofs_writer_write(w, "bc", 2), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_hash_writer_result(w, d, &bytes);
    assert_digest(d, ABC_HEX);
    assert_int_equal(bytes, 3);
    const char *data = ofs_memory_writer_data(mem, &size);
    assert_int_equal(size, 3);
    assert_memory_equal(data, "abc", 3);
    ofs_hash_writer_result(w, NULL, NULL); /* both outputs optional */
    ofs_writer_free(w);                    /* frees mem too */
}

static void test_hash_writer_empty(void **state)
{
    (void)state;
    ofs_writer *mem = NULL, *w = NULL;
    uint8_t d[32];
    uint64_t bytes = 99;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_hash_writer_new(&w, mem), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_hash_writer_result(w, d, &bytes);
    assert_digest(d, EMPTY_HEX);
    assert_int_equal(bytes, 0);
    ofs_writer_free(w);
}

static void test_hash_reader(void **state)
{
    (void)state;
    ofs_reader *src = NULL, *r = NULL;
    char buf[16];
    size_t got = 0;
    uint8_t d[32];
    uint64_t bytes = 0;
    assert_int_equal(ofs_memory_reader_new(&src, MSG448, strlen(MSG448), 0), 0);
    assert_int_equal(ofs_hash_reader_new(&r, src), 0);
    for (;;) {
        assert_int_equal(ofs_reader_read(r, buf, 5, &got), 0);
        if (got == 0)
            break;
    }
    ofs_hash_reader_result(r, d, &bytes);
    assert_digest(d, MSG448_HEX);
    assert_int_equal(bytes, strlen(MSG448));
    /* reading again after the end stays at the end */
    assert_int_equal(ofs_reader_read(r, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 0);
    ofs_reader_free(r);
}

static int read_to_end(ofs_reader *r)
{
    char buf[7];
    size_t got = 0;
    int rc;
    do {
        rc = ofs_reader_read(r, buf, sizeof(buf), &got);
    } while (rc == 0 && got > 0);
    return rc;
}

static void test_verify_reader_ok(void **state)
{
    (void)state;
    ofs_reader *src = NULL, *r = NULL;
    uint8_t d[32];
    char *all = NULL;
    size_t size = 0;
    assert_int_equal(ofs_sha256_buffer("abc", 3, d), 0);
    assert_int_equal(ofs_memory_reader_new(&src, "abc", 3, 0), 0);
    assert_int_equal(ofs_verify_reader_new(&r, src, 3, d, "vol-0001"), 0);
    assert_int_equal(ofs_reader_read_all(r, &all, &size, 100), 0);
    assert_int_equal(size, 3);
    assert_string_equal(all, "abc");
    free(all);
    ofs_reader_free(r);
}

static void test_verify_reader_size_mismatch(void **state)
{
    (void)state;
    ofs_reader *src = NULL, *r = NULL;
    uint8_t d[32];
    assert_int_equal(ofs_sha256_buffer("abc", 3, d), 0);
    assert_int_equal(ofs_memory_reader_new(&src, "abc", 3, 0), 0);
    assert_int_equal(ofs_verify_reader_new(&r, src, 4, d, "vol-0001"), 0);
    assert_int_equal(read_to_end(r), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "vol-0001: size 3, expected 4");
    ofs_reader_free(r);

    assert_int_equal(ofs_memory_reader_new(&src, "abcd", 4, 0), 0);
    assert_int_equal(ofs_verify_reader_new(&r, src, 3, d, "vol-0001"), 0);
    assert_int_equal(read_to_end(r), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "vol-0001: size 4, expected 3");
    ofs_reader_free(r);
}

static void test_verify_reader_digest_mismatch(void **state)
{
    (void)state;
    ofs_reader *src = NULL, *r = NULL;
    uint8_t d[32];
    assert_int_equal(ofs_sha256_buffer("abc", 3, d), 0);
    assert_int_equal(ofs_memory_reader_new(&src, "abd", 3, 0), 0);
    assert_int_equal(ofs_verify_reader_new(&r, src, 3, d, "catalog"), 0);
    assert_int_equal(read_to_end(r), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "catalog: SHA-256 mismatch");
    ofs_reader_free(r);
    ofs_reader_free(NULL);
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t bytes[] = { 0x00, 0x01, 0xab, 0xff };
    uint8_t back[4];
    char hex[9];
    ofs_hex_encode(bytes, 4, hex);
    assert_string_equal(hex, "0001abff");
    assert_int_equal(ofs_hex_decode("0001ABff", back, 4), 0);
    assert_memory_equal(back, bytes, 4);
    ofs_hex_encode(bytes, 0, hex);
    assert_string_equal(hex, "");

    assert_int_equal(ofs_hex_decode("0001abf", back, 4), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "invalid hex: expected 8 hex digits");
    assert_int_equal(ofs_hex_decode("0001abfff", back, 4), OFS_ECORRUPT);
    assert_int_equal(ofs_hex_decode("0001abgf", back, 4), OFS_ECORRUPT);
    assert_int_equal(ofs_hex_decode("", back, 4), OFS_ECORRUPT);
    assert_int_equal(ofs_hex_decode(" 001abff", back, 4), OFS_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_buffer_vectors),
        cmocka_unit_test(test_sha256_incremental_million_a),
        cmocka_unit_test(test_sha256_copy),
        cmocka_unit_test(test_hash_writer_tee),
        cmocka_unit_test(test_hash_writer_empty),
        cmocka_unit_test(test_hash_reader),
        cmocka_unit_test(test_verify_reader_ok),
        cmocka_unit_test(test_verify_reader_size_mismatch),
        cmocka_unit_test(test_verify_reader_digest_mismatch),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
