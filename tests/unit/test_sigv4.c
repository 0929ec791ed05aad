/* test_sigv4.c - the four worked examples of AWS's S3 SigV4 documentation ("Examples:
 * Signature Calculations in AWS Signature Version 4", header-based auth), query
 * canonicalisation, key encoding and header canonicalisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/sigv4.h"

#define EX_TIME 1369353600 /* 20130524T000000Z */
#define EX_HOST "examplebucket.s3.amazonaws.com"

static const ofs_sigv4_credentials ex_cred = { "AKIAIOSFODNN7EXAMPLE",
                                               "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL };

static char *sign(const ofs_sigv4_request *req)
{
    char *auth = NULL;
    assert_int_equal(ofs_sigv4_sign(req, &ex_cred, "us-east-1", "s3", EX_TIME, &auth), 0);
    assert_non_null(auth);
    return auth;
}

static void test_get_object_range(void **state)
{
    (void)state;
    const ofs_sigv4_header headers[] = {
        { "Host", EX_HOST },
        { "Range", "bytes=0-9" },
        { "x-amz-content-sha256", OFS_SIGV4_EMPTY_SHA256 },
        { "x-amz-date", "20130524T000000Z" },
    };
    ofs_sigv4_request req = { "GET", "/test.txt", NULL, 0, headers, 4, OFS_SIGV4_EMPTY_SHA256 };
    char *canonical = NULL, *auth;

    assert_int_equal(ofs_sigv4_canonical_request(&req, &canonical), 0);
    assert_string_equal(canonical,
                        "GET\n/test.txt\n\n"
                        "host:examplebucket.s3.amazonaws.com\n"
                        "range:bytes=0-9\n"
                        "x-amz-content-sha256:" OFS_SIGV4_EMPTY_SHA256 "\n"
                        "x-amz-date:20130524T000000Z\n\n"
                        "host;range;x-amz-content-sha256;x-amz-date\n" OFS_SIGV4_EMPTY_SHA256);
    free(canonical);
    auth = sign(&req);
    assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
                              "us-east-1/s3/aws4_request, SignedHeaders=host;range;"
                              "x-amz-content-sha256;x-amz-date, Signature="
                              "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(auth);
}

static void test_put_object(void **state)
{
    (void)state;
    const char *payload_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
    const ofs_sigv4_header headers[] = {
        { "Host", EX_HOST },
        { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
        { "x-amz-date", "20130524T000000Z" },
        { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
        { "x-amz-content-sha256", payload_hash },
    };
    char *uri = NULL, *auth;

    /* the key is "test$file.text": '$' is encoded in the canonical URI */
    assert_int_equal(ofs_sigv4_encode("/test$file.text", 1, &uri), 0);
    assert_string_equal(uri, "/test%24file.text");
    ofs_sigv4_request req = { "PUT", uri, NULL, 0, headers, 5, payload_hash };
    auth = sign(&req);
    assert_non_null(strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;"
                                 "x-amz-storage-class, "));
    assert_non_null(strstr(auth, "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b597"
                                 "1af0ece108bd"));
    free(auth);
    free(uri);
}

static void test_get_bucket_lifecycle(void **state)
{
    (void)state;
    const ofs_sigv4_header headers[] = {
        { "x-amz-date", "20130524T000000Z" },
        { "x-amz-content-sha256", OFS_SIGV4_EMPTY_SHA256 },
        { "host", EX_HOST },
    };
    const ofs_sigv4_param params[] = { { "lifecycle", NULL } };
    ofs_sigv4_request req = { "GET", "/", params, 1, headers, 3, OFS_SIGV4_EMPTY_SHA256 };
    char *auth = sign(&req);

    assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
                              "us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;"
                              "x-amz-date, Signature="
                              "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    free(auth);
}

static void test_list_objects(void **state)
{
    (void)state;
    const ofs_sigv4_header headers[] = {
        { "Host", EX_HOST },
        { "x-amz-date", "20130524T000000Z" },
        { "x-amz-content-sha256", OFS_SIGV4_EMPTY_SHA256 },
    };
    /* given out of order: the signer sorts */
    const ofs_sigv4_param params[] = { { "prefix", "J" }, { "max-keys", "2" } };
    ofs_sigv4_request req = { "GET", "/", params, 2, headers, 3, OFS_SIGV4_EMPTY_SHA256 };
    char *canonical = NULL, *auth = sign(&req);

    assert_non_null(strstr(auth, "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5"
                                 "711ef69dc6f7"));
    assert_int_equal(ofs_sigv4_canonical_request(&req, &canonical), 0);
    assert_memory_equal(canonical, "GET\n/\nmax-keys=2&prefix=J\n", 25);
    free(canonical);
    free(auth);
}

static void test_wrong_secret_changes_signature(void **state)
{
    (void)state;
    const ofs_sigv4_header headers[] = { { "host", EX_HOST }, { "x-amz-date", "20130524T000000Z" } };
    ofs_sigv4_request req = { "GET", "/", NULL, 0, headers, 2, OFS_SIGV4_EMPTY_SHA256 };
    ofs_sigv4_credentials other = ex_cred;
    char *a = sign(&req), *b = NULL;

    other.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ";
    assert_int_equal(ofs_sigv4_sign(&req, &other, "us-east-1", "s3", EX_TIME, &b), 0);
    assert_string_not_equal(a, b);
    /* the secret never appears in the header */
    assert_null(strstr(b, "EXAMPLEKEZ"));
    free(a);
    free(b);
}

static void test_query_canonicalisation(void **state)
{
    (void)state;
    const ofs_sigv4_param list[] = {
        { "prefix", "backups/data/daily/" },
        { "list-type", "2" },
        { "continuation-token", "1/a+b=c d" },
    };
    const ofs_sigv4_param uploads[] = { { "uploads", NULL } };
    const ofs_sigv4_param parts[] = { { "uploadId", "2~x.Y_z-" }, { "partNumber", "10" } };
    const ofs_sigv4_param repeated[] = { { "a", "2" }, { "a", "1" }, { "a b", "" } };
    char *q = NULL;

    assert_int_equal(ofs_sigv4_canonical_query(list, 3, &q), 0);
    assert_string_equal(q, "continuation-token=1%2Fa%2Bb%3Dc%20d&list-type=2&"
                           "prefix=backups%2Fdata%2Fdaily%2F");
    free(q);
    assert_int_equal(ofs_sigv4_canonical_query(uploads, 1, &q), 0);
    assert_string_equal(q, "uploads=");
    free(q);
    assert_int_equal(ofs_sigv4_canonical_query(parts, 2, &q), 0);
    assert_string_equal(q, "partNumber=10&uploadId=2~x.Y_z-");
    free(q);
    /* sorted by encoded name ("a" before "a%20b"), then by value */
    assert_int_equal(ofs_sigv4_canonical_query(repeated, 3, &q), 0);
    assert_string_equal(q, "a=1&a=2&a%20b=");
    free(q);
    assert_int_equal(ofs_sigv4_canonical_query(NULL, 0, &q), 0);
    assert_string_equal(q, "");
    free(q);
}

static void test_key_encoding(void **state)
{
    (void)state;
    char *e = NULL;

    assert_int_equal(ofs_sigv4_encode("/bucket/dir/my file+a=b.txt", 1, &e), 0);
    assert_string_equal(e, "/bucket/dir/my%20file%2Ba%3Db.txt");
    free(e);
    assert_int_equal(ofs_sigv4_encode("日本語/résumé café", 1, &e), 0);
    assert_string_equal(e, "%E6%97%A5%E6%9C%AC%E8%AA%9E/r%C3%A9sum%C3%A9%20caf%C3%A9");
    free(e);
    assert_int_equal(ofs_sigv4_encode("a/b~c-d_e.f", 0, &e), 0);
    assert_string_equal(e, "a%2Fb~c-d_e.f");
    free(e);
    assert_int_equal(ofs_sigv4_encode("!*'();:@&=+$,?#[]%", 1, &e), 0);
    assert_string_equal(e, "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%3F%23%5B%5D%25");
    free(e);
}

static void test_header_values_and_errors(void **state)
{
    (void)state;
    const ofs_sigv4_header headers[] = {
        { "Host", EX_HOST },
        { "X-Amz-Meta-Note", "  two   spaces\tand a tab  " },
        { "x-amz-date", "20130524T000000Z" },
    };
    const ofs_sigv4_header twice[] = { { "Host", EX_HOST }, { "host", "other" } };
    ofs_sigv4_request req = { "PUT", "/k", NULL, 0, headers, 3, "UNSIGNED-PAYLOAD" };
    char *canonical = NULL, *auth = NULL;

    assert_int_equal(ofs_sigv4_canonical_request(&req, &canonical), 0);
    assert_non_null(strstr(canonical, "\nx-amz-meta-note:two spaces and a tab\n"));
    assert_non_null(strstr(canonical, "\nhost;x-amz-date;x-amz-meta-note\nUNSIGNED-PAYLOAD"));
    free(canonical);

    req.headers = twice;
    req.header_count = 2;
    assert_int_equal(ofs_sigv4_sign(&req, &ex_cred, "us-east-1", "s3", EX_TIME, &auth),
                     OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "sigv4: header 'host' given twice");
    assert_null(auth);
    req.headers = headers;
    req.header_count = 3;
    req.uri = "k";
    assert_int_equal(ofs_sigv4_sign(&req, &ex_cred, "us-east-1", "s3", EX_TIME, &auth),
                     OFS_ECONFIG);
    assert_null(auth);
}

static void test_amz_date(void **state)
{
    (void)state;
    char buf[17];
    ofs_sigv4_amz_date(EX_TIME, buf);
    assert_string_equal(buf, "20130524T000000Z");
    ofs_sigv4_amz_date(1735689599, buf);
    assert_string_equal(buf, "20241231T235959Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_object_range),
        cmocka_unit_test(test_put_object),
        cmocka_unit_test(test_get_bucket_lifecycle),
        cmocka_unit_test(test_list_objects),
        cmocka_unit_test(test_wrong_secret_changes_signature),
        cmocka_unit_test(test_query_canonicalisation),
        cmocka_unit_test(test_key_encoding),
        cmocka_unit_test(test_header_values_and_errors),
        cmocka_unit_test(test_amz_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
