/* test_kdf.c - HKDF-SHA256 (RFC 5869 A.1-A.3) and HMAC-SHA256 (RFC 4231 4.2-4.8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "offsite/hash.h"
#include "offsite/kdf.h"

static void assert_hex(const uint8_t *bytes, size_t size, const char *expected)
{
    char hex[512];
    assert_true(2 * size < sizeof(hex));
    ofs_hex_encode(bytes, size, hex);
    assert_string_equal(hex, expected);
}

static void fill_range(uint8_t *out, int from, int to)
{
    for (int i = from; i < to; i++)
        out[i - from] = (uint8_t)i;
}

static void test_hkdf_rfc5869_case1(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], okm[42];
    char info[11];
    memset(ikm, 0x0b, sizeof(ikm));
    fill_range(salt, 0x00, 0x0d);
    for (int i = 0; i < 10; i++)
        info[i] = (char)(0xf0 + i);
    info[10] = '\0';
    assert_int_equal(ofs_hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info, okm, 42), 0);
    assert_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                        "34007208d5b887185865");
}

static void test_hkdf_rfc5869_case2(void **state)
{
    (void)state;
    uint8_t ikm[80], salt[80], okm[82];
    char info[81];
    fill_range(ikm, 0x00, 0x50);
    fill_range(salt, 0x60, 0xb0);
    for (int i = 0; i < 80; i++)
        info[i] = (char)(0xb0 + i);
    info[80] = '\0';
    assert_int_equal(ofs_hkdf_sha256(ikm, sizeof(ikm), salt, sizeof(salt), info, okm, 82), 0);
    assert_hex(okm, 82, "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                        "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

static void test_hkdf_rfc5869_case3(void **state)
{
    (void)state;
    uint8_t ikm[22], okm[42];
    memset(ikm, 0x0b, sizeof(ikm));
    /* no salt, no info: both spellings of "absent" must agree */
    assert_int_equal(ofs_hkdf_sha256(ikm, sizeof(ikm), NULL, 0, "", okm, 42), 0);
    assert_hex(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                        "9d201395faa4b61a96c8");
    memset(okm, 0, sizeof(okm));
    assert_int_equal(ofs_hkdf_sha256(ikm, sizeof(ikm), (const uint8_t *)"", 0, NULL, okm, 42), 0);
    assert_hex(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                        "9d201395faa4b61a96c8");
}

static void test_hkdf_info_separates(void **state)
{
    (void)state;
    uint8_t master[32], a[32], b[32];
    memset(master, 7, sizeof(master));
    assert_int_equal(ofs_hkdf_sha256(master, 32, NULL, 0, OFS_HKDF_INFO_DATA, a, 32), 0);
    assert_int_equal(ofs_hkdf_sha256(master, 32, NULL, 0, OFS_HKDF_INFO_MAC, b, 32), 0);
    assert_memory_not_equal(a, b, 32);
}

typedef struct {
    uint8_t key[131];
    size_t key_len;
    const char *data;
    size_t data_len;
    const char *expected; /* hex; compared over its length (case 5 is truncated) */
} hmac_case;

static void check_hmac(const hmac_case *c)
{
    uint8_t mac[32];
    char hex[65];
    assert_int_equal(ofs_hmac_sha256(c->key, c->key_len, c->data, c->data_len, mac), 0);
    ofs_hex_encode(mac, 32, hex);
    assert_memory_equal(hex, c->expected, strlen(c->expected));
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    static char dd[50], cd[50];
    hmac_case c;
    memset(dd, 0xdd, sizeof(dd));
    memset(cd, 0xcd, sizeof(cd));

    memset(&c, 0, sizeof(c)); /* 4.2 */
    memset(c.key, 0x0b, 20);
    c.key_len = 20;
    c.data = "Hi There";
    c.data_len = 8;
    c.expected = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
    check_hmac(&c);

    memset(&c, 0, sizeof(c)); /* 4.3 */
    memcpy(c.key, "Jefe", 4);
    c.key_len = 4;
    c.data = "what do ya want for nothing?";
    c.data_len = 28;
    c.expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    check_hmac(&c);

    memset(&c, 0, sizeof(c)); /* 4.4 */
    memset(c.key, 0xaa, 20);
    c.key_len = 20;
    c.data = dd;
    c.data_len = 50;
    c.expected = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
    check_hmac(&c);

    memset(&c, 0, sizeof(c)); /* 4.5 */
    fill_range(c.key, 0x01, 0x1a);
    c.key_len = 25;
    c.data = cd;
    c.data_len = 50;
    c.expected = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
    check_hmac(&c);

    memset(&c, 0, sizeof(c)); /* 4.6: truncated to 128 bits */
    memset(c.key, 0x0c, 20);
    c.key_len = 20;
    c.data = "Test With Truncation";
    c.data_len = 20;
    c.expected = "a3b6167473100ee06e0c796c2955552b";
    check_hmac(&c);

    memset(&c, 0, sizeof(c)); /* 4.7 */
    memset(c.key, 0xaa, 131);
    c.key_len = 131;
    c.data = "Test Using Larger Than Block-Size Key - Hash Key First";
    c.data_len = strlen(c.data);
    c.expected = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
    check_hmac(&c);

    memset(&c, 0, sizeof(c)); /* 4.8 */
    memset(c.key, 0xaa, 131);
    c.key_len = 131;
    c.data = "This is a test using a larger than block-size key and a larger than block-size "
             "data. The key needs to be hashed before being used by the HMAC algorithm.";
    c.data_len = strlen(c.data);
    c.expected = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";
    check_hmac(&c);
}

static void test_hmac_empty(void **state)
{
    (void)state;
    uint8_t mac[32];
    /* HMAC-SHA256 with empty key and empty message (a widely published value) */
    assert_int_equal(ofs_hmac_sha256(NULL, 0, NULL, 0, mac), 0);
    assert_hex(mac, 32, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_rfc5869_case1),
        cmocka_unit_test(test_hkdf_rfc5869_case2),
        cmocka_unit_test(test_hkdf_rfc5869_case3),
        cmocka_unit_test(test_hkdf_info_separates),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
