/* test_seal.c - the object container: round trips, tampering, truncation, swaps, keys,
 * and the golden vectors shared with tests/integration/tools/ofs_format.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/keyring.h"
#include "offsite/seal.h"

#define AUTH_FAILED "authentication failed (wrong key or corrupted data)"
#define SEG 1024
#define GOLDEN_NAME "golden/vol-0001"

typedef struct {
    char dir[64];
    ofs_keyring *ring;     /* key A only */
    ofs_keyring *ring_ab;  /* keys A and B (rotation) */
    ofs_keyring *ring_b;   /* key B only */
    ofs_key a, b;
} fixture;

/* ---- helpers ---- */

static void write_file(const char *path, const void *data, size_t size, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, size), (ssize_t)size);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return data;
}

static void make_key(ofs_key *key, uint8_t first)
{
    memset(key, 0, sizeof(*key));
    for (int i = 0; i < OFS_KEY_BYTES; i++)
        key->key[i] = (uint8_t)(first + i);
    key->created = 1700000000;
    assert_int_equal(ofs_key_derive_id(key->key, key->id), 0);
}

static void key_line(const ofs_key *key, char *out, size_t size)
{
    char id[17], hex[65];
    ofs_key_id_hex(key->id, id);
    ofs_hex_encode(key->key, OFS_KEY_BYTES, hex);
    snprintf(out, size, "offsite-key v1 %s 2023-11-14T22:13:20Z %s\n", id, hex);
}

static ofs_keyring *load_ring(fixture *f, const char *file, const ofs_key *k1, const ofs_key *k2)
{
    char path[128], text[512], line[200];
    ofs_keyring *ring = NULL;
    text[0] = '\0';
    key_line(k1, line, sizeof(line));
    strcat(text, line);
    if (k2) {
        key_line(k2, line, sizeof(line));
        strcat(text, line);
    }
    snprintf(path, sizeof(path), "%s/%s", f->dir, file);
    write_file(path, text, strlen(text), 0600);
    assert_int_equal(ofs_keyring_load(&ring, path), 0);
    return ring;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_seal.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    make_key(&f->a, 0x00);
    make_key(&f->b, 0x80);
    f->ring = load_ring(f, "a.key", &f->a, NULL);
    f->ring_ab = load_ring(f, "ab.key", &f->a, &f->b);
    f->ring_b = load_ring(f, "b.key", &f->b, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    ofs_keyring_free(f->ring);
    ofs_keyring_free(f->ring_ab);
    ofs_keyring_free(f->ring_b);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static uint8_t *pattern(size_t size, unsigned seed)
{
    uint8_t *p = malloc(size ? size : 1);
    assert_non_null(p);
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
    return p;
}

/* Seals data (written in chunks of `chunk` bytes, 0 = all at once) into a malloc'd object. */
static uint8_t *seal(const ofs_key *key, const char *name, const void *data, size_t size,
                     size_t segment, size_t chunk, size_t *sealed_size)
{
    ofs_writer *mem = NULL, *w = NULL;
    const uint8_t *p = data;
    size_t n = 0;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_seal_writer_new(&w, mem, key, name, segment), 0);
    if (chunk == 0)
        chunk = size ? size : 1;
    for (size_t off = 0; off < size; off += chunk)
        assert_int_equal(ofs_writer_write(w, p + off, size - off < chunk ? size - off : chunk), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    const void *out = ofs_memory_writer_data(mem, &n);
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, out, n);
    ofs_writer_free(w);
    *sealed_size = n;
    return copy;
}

/* Opens sealed bytes; reads everything. Returns the code; *released = plaintext bytes seen. */
static int unseal(const ofs_keyring *ring, const char *expected, const void *sealed, size_t size,
                  uint8_t **plain, size_t *released)
{
    ofs_reader *src = NULL, *r = NULL;
    size_t cap = size + 1, len = 0, got = 0;
    uint8_t *out = malloc(cap);
    int rc;
    assert_non_null(out);
    assert_int_equal(ofs_memory_reader_new(&src, sealed, size, 0), 0);
    assert_int_equal(ofs_seal_reader_new(&r, src, ring, expected), 0);
    assert_null(ofs_seal_reader_name(r));
    for (;;) {
        rc = ofs_reader_read(r, out + len, cap - len < 777 ? cap - len : 777, &got);
        if (rc < 0 || got == 0)
            break;
        len += got;
        assert_true(len <= size);
    }
    if (rc < 0) {
        /* a failed reader stays failed */
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", ofs_error_last());
        uint8_t byte;
        assert_int_equal(ofs_reader_read(r, &byte, 1, &got), rc);
        assert_int_equal(got, 0);
        ofs_error_set(rc, "%s", msg);
    }
    ofs_reader_free(r);
    if (released)
        *released = len;
    if (plain)
        *plain = out;
    else
        free(out);
    return rc;
}

static void round_trip(fixture *f, size_t size, size_t segment, size_t chunk)
{
    size_t sealed_size = 0, len = 0;
    uint8_t *data = pattern(size, (unsigned)size), *plain = NULL;
    uint8_t *sealed = seal(&f->a, "set_20260101_000000/vol-0001", data, size, segment, chunk,
                           &sealed_size);
    assert_int_equal(sealed_size,
                     ofs_seal_sealed_size(size, strlen("set_20260101_000000/vol-0001"), segment));
    assert_int_equal(unseal(f->ring, "set_20260101_000000/vol-0001", sealed, sealed_size, &plain,
                            &len), 0);
    assert_int_equal(len, size);
    if (size)
        assert_memory_equal(plain, data, size);
    free(plain);
    free(sealed);
    free(data);
}

/* ---- round trips ---- */

static void test_round_trip_sizes(void **state)
{
    fixture *f = *state;
    const size_t sizes[] = { 0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 5 };
    const size_t chunks[] = { 0, 1, 100, SEG, SEG + 1, 4096 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (size_t j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++)
            round_trip(f, sizes[i], SEG, chunks[j]);
}

static void test_round_trip_default_segment(void **state)
{
    fixture *f = *state;
    const size_t seg = OFS_SEAL_SEGMENT_DEFAULT;
    round_trip(f, 0, 0, 0);
    round_trip(f, seg - 1, 0, 0);
    round_trip(f, seg, 0, 0);
    round_trip(f, seg + 1, 0, 0);
    round_trip(f, 3 * seg, 0, 1000);
}

static void test_round_trip_random(void **state)
{
    fixture *f = *state;
    srand(12345);
    for (int i = 0; i < 40; i++) {
        size_t size = (size_t)rand() % (8 * SEG);
        size_t chunk = 1 + (size_t)rand() % 3000;
        round_trip(f, size, (size_t)1 << (10 + rand() % 3), chunk);
    }
}

static void test_layout(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    uint8_t *sealed = seal(&f->a, "x/vol-0001", "hello", 5, SEG, 0, &n);
    assert_int_equal(n, 48 + 10 + 5 + 16);
    assert_memory_equal(sealed, "OFS1", 4);
    assert_int_equal(sealed[4], 1);
    assert_int_equal(sealed[5], 10);
    assert_int_equal(sealed[6], 0);
    assert_int_equal(sealed[7], 10);
    assert_memory_equal(sealed + 8, f->a.id, 8);
    assert_memory_equal(sealed + 48, "x/vol-0001", 10);
    /* a fresh salt each time: the same plaintext never seals the same way */
    size_t m = 0;
    uint8_t *again = seal(&f->a, "x/vol-0001", "hello", 5, SEG, 0, &m);
    assert_int_equal(m, n);
    assert_memory_not_equal(sealed + 16, again + 16, 32);
    assert_memory_not_equal(sealed + 58, again + 58, 5);
    free(again);
    free(sealed);
    assert_int_equal(ofs_seal_sealed_size(0, 3, 0), 48 + 3 + 16);
    assert_int_equal(ofs_seal_sealed_size(2 * SEG + 1, 0, SEG), 48 + 3 * 16 + 2 * SEG + 1);
}

static void test_reader_name(void **state)
{
    fixture *f = *state;
    size_t n = 0, got = 0;
    ofs_reader *src = NULL, *r = NULL;
    char buf[8];
    uint8_t *sealed = seal(&f->a, "b1/catalog", "x", 1, SEG, 0, &n);
    assert_int_equal(ofs_memory_reader_new(&src, sealed, n, 0), 0);
    assert_int_equal(ofs_seal_reader_new(&r, src, f->ring, NULL), 0);
    assert_null(ofs_seal_reader_name(r));
    assert_int_equal(ofs_reader_read(r, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 1);
    assert_string_equal(ofs_seal_reader_name(r), "b1/catalog");
    ofs_reader_free(r);
    free(sealed);
}

static void test_bad_segment_size(void **state)
{
    fixture *f = *state;
    ofs_writer *mem = NULL, *w = NULL;
    const size_t bad[] = { 512, 1000, 3 * 1024, 32u << 20 };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(ofs_memory_writer_new(&mem), 0);
        assert_int_equal(ofs_seal_writer_new(&w, mem, &f->a, "x", bad[i]), OFS_ECONFIG);
        assert_null(w);
        char expected[128];
        snprintf(expected, sizeof(expected),
                 "invalid segment size %zu: expected a power of two between 1 KiB and 16 MiB",
                 bad[i]);
        assert_string_equal(ofs_error_last(), expected);
    }
}

/* ---- tampering ---- */

static void expect_auth_failure(const ofs_keyring *ring, const char *expected, const uint8_t *obj,
                                size_t size, size_t max_released)
{
    size_t released = 0;
    assert_int_equal(unseal(ring, expected, obj, size, NULL, &released), OFS_EAUTH);
    assert_string_equal(ofs_error_last(), AUTH_FAILED);
    assert_true(released <= max_released);
}

static void test_tamper_header(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    uint8_t *data = pattern(2 * SEG + 10, 1);
    uint8_t *sealed = seal(&f->a, "n/vol-0001", data, 2 * SEG + 10, SEG, 0, &n);
    uint8_t *t = malloc(n + 1);
    char expected[128], id[17];
    assert_non_null(t);

    /* magic */
    memcpy(t, sealed, n);
    t[0] = 'X';
    assert_int_equal(unseal(f->ring, NULL, t, n, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "not an offsite object");
    /* version */
    memcpy(t, sealed, n);
    t[4] = 2;
    assert_int_equal(unseal(f->ring, NULL, t, n, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "not an offsite object (unsupported format version 2)");
    /* segment size: out of range, and in range but not the one sealed */
    memcpy(t, sealed, n);
    t[5] = 9;
    assert_int_equal(unseal(f->ring, NULL, t, n, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "not an offsite object (segment size 2^9 out of range)");
    t[5] = 11;
    expect_auth_failure(f->ring, NULL, t, n, 0);
    /* name length: too large, one short, empty */
    memcpy(t, sealed, n);
    t[6] = 0x10;
    assert_int_equal(unseal(f->ring, NULL, t, n, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "not an offsite object (name length 4106 out of range)");
    t[6] = 0;
    t[7] = 9;
    expect_auth_failure(f->ring, NULL, t, n, 0);
    t[7] = 0; /* (a longer name would take a random ciphertext byte, perhaps a NUL) */
    expect_auth_failure(f->ring, NULL, t, n, 0);
    /* key id: a key the ring lacks */
    memcpy(t, sealed, n);
    t[8] ^= 0x01;
    ofs_key_id_hex(t + 8, id);
    assert_int_equal(unseal(f->ring, NULL, t, n, NULL, NULL), OFS_ENOTFOUND);
    snprintf(expected, sizeof(expected), "sealed with key %s, which the key file does not hold",
             id);
    assert_string_equal(ofs_error_last(), expected);
    /* every salt byte and every name byte */
    for (size_t i = 16; i < 48 + 10; i++) {
        memcpy(t, sealed, n);
        t[i] ^= 0x20;
        expect_auth_failure(f->ring, NULL, t, n, 0);
    }
    free(t);
    free(sealed);
    free(data);
}

static void test_flip_bit_each_segment(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    const size_t size = 3 * SEG + 100, header = 48 + 10;
    uint8_t *data = pattern(size, 2);
    uint8_t *sealed = seal(&f->a, "n/vol-0002", data, size, SEG, 0, &n);
    uint8_t *t = malloc(n);
    assert_non_null(t);
    for (size_t seg = 0; seg < 4; seg++) {
        size_t start = header + seg * (SEG + 16);
        size_t len = seg < 3 ? SEG + 16 : 100 + 16;
        const size_t offsets[] = { 0, len / 2, len - 16, len - 1 }; /* ciphertext and tag */
        for (size_t k = 0; k < 4; k++) {
            memcpy(t, sealed, n);
            t[start + offsets[k]] ^= 0x04;
            /* nothing of the damaged segment (or after it) is released */
            expect_auth_failure(f->ring, "n/vol-0002", t, n, seg * SEG);
        }
    }
    free(t);
    free(sealed);
    free(data);
}

static void test_truncation(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    const size_t size = 3 * SEG, header = 48 + 10;
    uint8_t *data = pattern(size, 3);
    uint8_t *sealed = seal(&f->a, "n/vol-0003", data, size, SEG, 0, &n);
    assert_int_equal(n, header + 3 * (SEG + 16));

    assert_int_equal(unseal(f->ring, NULL, sealed, 0, NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "not an offsite object");
    assert_int_equal(unseal(f->ring, NULL, sealed, 3, NULL, NULL), OFS_ECORRUPT);
    const size_t cuts[] = { 10, 47, header - 1, header, header + 1, header + 15,
                            header + SEG + 16 - 1, header + SEG + 16,      /* after segment 0 */
                            header + 2 * (SEG + 16),                       /* drop the final */
                            n - 1, n - 16 };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
        expect_auth_failure(f->ring, NULL, sealed, cuts[i], 2 * SEG);
    free(sealed);
    free(data);
}

static void test_truncation_of_partial_final(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    uint8_t *sealed = seal(&f->a, "n", "0123456789", 10, SEG, 0, &n);
    for (size_t cut = 48 + 1; cut < n; cut++)
        expect_auth_failure(f->ring, NULL, sealed, cut, 0);
    free(sealed);
    /* an empty object is one empty final segment: the tag alone */
    sealed = seal(&f->a, "n", "", 0, SEG, 0, &n);
    assert_int_equal(n, 48 + 1 + 16);
    for (size_t cut = 48 + 1; cut < n; cut++)
        expect_auth_failure(f->ring, NULL, sealed, cut, 0);
    free(sealed);
}

static void test_appended_data(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    const size_t sizes[] = { 0, 10, SEG, 2 * SEG + 3 };
    for (size_t i = 0; i < 4; i++) {
        uint8_t *data = pattern(sizes[i], 4);
        uint8_t *sealed = seal(&f->a, "n", data, sizes[i], SEG, 0, &n);
        uint8_t *t = malloc(n + SEG + 16);
        assert_non_null(t);
        memcpy(t, sealed, n);
        t[n] = 0;
        expect_auth_failure(f->ring, NULL, t, n + 1, sizes[i]);
        /* a whole extra segment copied from the end */
        memcpy(t + n, sealed + n - 16, 16);
        expect_auth_failure(f->ring, NULL, t, n + 16, sizes[i]);
        free(t);
        free(sealed);
        free(data);
    }
}

static void test_swapped_segments(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    const size_t size = 3 * SEG + 7, header = 48 + 1, full = SEG + 16;
    uint8_t *data = pattern(size, 5);
    uint8_t *sealed = seal(&f->a, "n", data, size, SEG, 0, &n);
    uint8_t *t = malloc(n);
    assert_non_null(t);
    memcpy(t, sealed, n);
    memcpy(t + header, sealed + header + full, full);
    memcpy(t + header + full, sealed + header, full);
    expect_auth_failure(f->ring, NULL, t, n, 0);
    /* drop a middle segment */
    memcpy(t, sealed, n);
    memmove(t + header + full, t + header + 2 * full, n - header - 2 * full);
    expect_auth_failure(f->ring, NULL, t, n - full, SEG);
    free(t);
    free(sealed);
    free(data);
}

static void test_swapped_objects(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    uint8_t *sealed = seal(&f->a, "b1/vol-0001", "volume one", 10, SEG, 0, &n);
    assert_int_equal(unseal(f->ring, "b1/vol-0002", sealed, n, NULL, NULL), OFS_EAUTH);
    assert_string_equal(ofs_error_last(), "object is 'b1/vol-0001', expected 'b1/vol-0002'");
    /* the segments of one object under another object's header do not authenticate */
    size_t m = 0;
    uint8_t *other = seal(&f->a, "b1/vol-0002", "volume two", 10, SEG, 0, &m);
    assert_int_equal(m, n);
    uint8_t *t = malloc(n);
    assert_non_null(t);
    memcpy(t, other, 48 + 11);
    memcpy(t + 48 + 11, sealed + 48 + 11, n - 48 - 11);
    expect_auth_failure(f->ring, "b1/vol-0002", t, n, 0);
    free(t);
    free(other);
    free(sealed);
}

static void test_wrong_key(void **state)
{
    fixture *f = *state;
    size_t n = 0;
    char expected[128], id[17];
    uint8_t *sealed = seal(&f->a, "n", "secret", 6, SEG, 0, &n);
    /* a ring without the key says which key is missing */
    ofs_key_id_hex(f->a.id, id);
    assert_int_equal(unseal(f->ring_b, "n", sealed, n, NULL, NULL), OFS_ENOTFOUND);
    snprintf(expected, sizeof(expected), "sealed with key %s, which the key file does not hold",
             id);
    assert_string_equal(ofs_error_last(), expected);
    free(sealed);
    /* a header naming key A over data sealed with other key material */
    ofs_key forged = f->b;
    memcpy(forged.id, f->a.id, OFS_KEY_ID_BYTES);
    sealed = seal(&forged, "n", "secret", 6, SEG, 0, &n);
    expect_auth_failure(f->ring, "n", sealed, n, 0);
    free(sealed);
}

static void test_key_rotation(void **state)
{
    fixture *f = *state;
    size_t n1 = 0, n2 = 0, len = 0;
    uint8_t *plain = NULL;
    assert_memory_equal(ofs_keyring_current(f->ring_ab)->id, f->b.id, 8);
    uint8_t *old = seal(&f->a, "n", "old data", 8, SEG, 0, &n1);
    uint8_t *cur = seal(ofs_keyring_current(f->ring_ab), "n", "new data", 8, SEG, 0, &n2);
    assert_int_equal(unseal(f->ring_ab, "n", old, n1, &plain, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(plain, "old data", 8);
    free(plain);
    assert_int_equal(unseal(f->ring_ab, "n", cur, n2, &plain, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(plain, "new data", 8);
    free(plain);
    assert_int_equal(unseal(f->ring, "n", cur, n2, NULL, NULL), OFS_ENOTFOUND);
    free(old);
    free(cur);
}

/* ---- golden vectors (tests/unit/data, see docs/format.md) ---- */

static ofs_keyring *golden_ring(fixture *f)
{
    char src[512], dst[128];
    size_t size = 0;
    ofs_keyring *ring = NULL;
    const char *data_dir = getenv("OFS_TEST_DATA");
    assert_non_null(data_dir);
    snprintf(src, sizeof(src), "%s/golden.key", data_dir);
    char *text = read_file(src, &size);
    /* git does not keep modes: the copy gets 0600 so the loader accepts it */
    snprintf(dst, sizeof(dst), "%s/golden.key", f->dir);
    write_file(dst, text, size, 0600);
    free(text);
    assert_int_equal(ofs_keyring_load(&ring, dst), 0);
    return ring;
}

static void check_golden(fixture *f, const char *object)
{
    char path[512];
    size_t plain_size = 0, sealed_size = 0, len = 0;
    uint8_t *out = NULL;
    const char *data_dir = getenv("OFS_TEST_DATA");
    ofs_keyring *ring = golden_ring(f);
    snprintf(path, sizeof(path), "%s/golden-plain.txt", data_dir);
    char *plain = read_file(path, &plain_size);
    snprintf(path, sizeof(path), "%s/%s", data_dir, object);
    char *sealed = read_file(path, &sealed_size);
    assert_true(plain_size > 2 * SEG); /* the vectors span several segments */
    assert_int_equal(sealed_size, ofs_seal_sealed_size(plain_size, strlen(GOLDEN_NAME), SEG));
    assert_int_equal(unseal(ring, GOLDEN_NAME, sealed, sealed_size, &out, &len), 0);
    assert_int_equal(len, plain_size);
    assert_memory_equal(out, plain, plain_size);
    free(out);
    free(plain);
    free(sealed);
    ofs_keyring_free(ring);
}

static void test_golden_sealed_by_python(void **state)
{
    check_golden(*state, "golden-py.ofs");
}

static void test_golden_sealed_by_c(void **state)
{
    check_golden(*state, "golden-c.ofs");
}

/* A key file from DIR/golden.key, loaded through a 0600 copy (git does not keep modes). */
static ofs_keyring *tool_ring(const char *dir)
{
    char path[512], tmp[] = "/tmp/golden.XXXXXX";
    size_t size = 0;
    ofs_keyring *ring = NULL;
    snprintf(path, sizeof(path), "%s/golden.key", dir);
    char *key = read_file(path, &size);
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, size), (ssize_t)size);
    close(fd);
    free(key);
    int rc = ofs_keyring_load(&ring, tmp);
    unlink(tmp);
    if (rc < 0) {
        fprintf(stderr, "%s\n", ofs_error_last());
        return NULL;
    }
    return ring;
}

/*
 * Not tests: hooks for tests/integration/cases/format/python_interop.sh (and how the committed
 * vector was made). OFS_WRITE_GOLDEN=DIR seals DIR/golden-plain.txt with DIR/golden.key into
 * DIR/golden-c.ofs; OFS_CHECK_GOLDEN=DIR opens DIR/golden-py.ofs (expected name
 * golden/vol-0001) into DIR/golden-py.out. Returns the exit status, or -1 if neither is set.
 */
static int run_tool_if_asked(void)
{
    const char *write_dir = getenv("OFS_WRITE_GOLDEN");
    const char *check_dir = getenv("OFS_CHECK_GOLDEN");
    const char *dir = write_dir ? write_dir : check_dir;
    char path[512];
    size_t size = 0, plain_size = 0;
    uint8_t *out = NULL;
    int status = 0;
    if (!dir)
        return -1;
    ofs_keyring *ring = tool_ring(dir);
    if (!ring)
        return 1;
    if (write_dir) {
        snprintf(path, sizeof(path), "%s/golden-plain.txt", dir);
        char *plain = read_file(path, &plain_size);
        uint8_t *sealed = seal(ofs_keyring_current(ring), GOLDEN_NAME, plain, plain_size, SEG, 0,
                               &size);
        snprintf(path, sizeof(path), "%s/golden-c.ofs", dir);
        write_file(path, sealed, size, 0644);
        free(sealed);
        free(plain);
    } else {
        snprintf(path, sizeof(path), "%s/golden-py.ofs", dir);
        char *sealed = read_file(path, &size);
        if (unseal(ring, GOLDEN_NAME, sealed, size, &out, &plain_size) < 0) {
            fprintf(stderr, "%s\n", ofs_error_last());
            status = 1;
        } else {
            snprintf(path, sizeof(path), "%s/golden-py.out", dir);
            write_file(path, out, plain_size, 0644);
        }
        free(out);
        free(sealed);
    }
    ofs_keyring_free(ring);
    return status;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_round_trip_default_segment),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_reader_name),
        cmocka_unit_test(test_bad_segment_size),
        cmocka_unit_test(test_tamper_header),
        cmocka_unit_test(test_flip_bit_each_segment),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_truncation_of_partial_final),
        cmocka_unit_test(test_appended_data),
        cmocka_unit_test(test_swapped_segments),
        cmocka_unit_test(test_swapped_objects),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_key_rotation),
        cmocka_unit_test(test_golden_sealed_by_python),
        cmocka_unit_test(test_golden_sealed_by_c),
    };
    int status = run_tool_if_asked();
    if (status >= 0)
        return status;
    return cmocka_run_group_tests(tests, setup, teardown);
}
