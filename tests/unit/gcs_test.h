/* gcs_test.h - what the scripted-server tests of the gcs driver share (test_gcs_scripted.c,
 * test_gcs_faults.c): the scratch directory and request log, reading the log back, and the
 * object resource Google answers a finished upload with. Marked unused: each test uses only
 * some of them. Include after cmocka.h and scripted_server.h. */
#ifndef OFFSITE_TEST_GCS_H
#define OFFSITE_TEST_GCS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "offsite/store_gcs.h"

static char scratch[256], log_path[300];

/* gcs_test_setup(name): a scratch directory NAME.XXXXXX with the request log in it, a token
 * from the environment (no key file, no metadata server), no retries, quiet logs */
static __attribute__((unused)) int gcs_test_setup(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof(scratch), "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    assert_non_null(mkdtemp(scratch));
    snprintf(log_path, sizeof(log_path), "%s/requests.log", scratch);
    setenv("OFFSITE_GCS_TOKEN", "test-token-XYZ", 1);
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("GCE_METADATA_HOST");
    setenv("OFFSITE_RETRY_BUDGET", "0", 1);
    ofs_log_set_level(OFS_LOG_ERROR);
    return 0;
}

static __attribute__((unused)) int gcs_test_teardown(void **state)
{
    (void)state;
    ofs_rm_rf(scratch);
    return 0;
}

static __attribute__((unused)) char *read_log(void)
{
    char *buf = NULL;
    size_t size = 0;
    assert_int_equal(ofs_read_file(log_path, &buf, &size, 1 << 24), 0);
    return buf;
}

/* GCC 12 takes the log read through &buf in read_log for a pointer to that local once both
 * are inlined here (-Wdangling-pointer, a false positive: the text is heap memory) */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
/* nth(n): a copy of the n-th logged request (0-based); caller frees */
static __attribute__((unused)) char *nth(int n)
{
    char *all = read_log(), *copy;
    const char *sep = "\n----\n";
    size_t at = 0, len;
    for (int i = 0; i < n; i++) {
        const char *next = strstr(all + at, sep);
        assert_non_null(next);
        at = (size_t)(next - all) + 6;
    }
    const char *end = strstr(all + at, sep);
    len = end ? (size_t)(end - all) - at : strlen(all + at);
    copy = strndup(all + at, len);
    free(all);
    assert_non_null(copy);
    return copy;
}

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

/* count_requests(log): how many requests the log holds */
static __attribute__((unused)) int count_requests(const char *log)
{
    int n = 0;
    for (const char *p = log; (p = strstr(p, "\n----\n")); p += 6)
        n++;
    return n;
}

/* crc_b64(data, size, out): the crc32c as x-goog-hash and the object resource carry it */
static __attribute__((unused)) void crc_b64(const void *data, size_t size, char out[9])
{
    uint32_t c = ofs_gcs_crc32c(0, data, size);
    unsigned char be[4] = { (unsigned char)(c >> 24), (unsigned char)(c >> 16),
                            (unsigned char)(c >> 8), (unsigned char)c };
    EVP_EncodeBlock((unsigned char *)out, be, 4);
}

/* object_json(data, size): the object resource Google answers a finished upload with */
static __attribute__((unused)) const char *object_json(const void *data, size_t size, char *buf, size_t cap)
{
    unsigned char md[16];
    unsigned int len = 0;
    char md5[25], crc[9];

    EVP_Digest(data, size, md, &len, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)md5, md, 16);
    crc_b64(data, size, crc);
    snprintf(buf, cap, "{\"kind\": \"storage#object\", \"name\": \"h/vol\", \"bucket\": \"bk\", "
             "\"generation\": \"1700000000000001\", \"size\": \"%zu\", \"md5Hash\": \"%s\", "
             "\"crc32c\": \"%s\", \"updated\": \"2026-03-02T22:00:00.123Z\"}", size, md5, crc);
    return buf;
}

#endif
