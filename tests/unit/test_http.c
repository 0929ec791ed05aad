/* test_http.c - src/net without a server: bandwidth limits (flat, timetable, shared among
 * requests), the connection pool (slots are reused), HTTP dates. Transfers themselves are
 * tested through the drivers against real and scripted servers (test_s3*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/error.h"
#include "offsite/http.h"

static void test_bwlimit(void **state)
{
    (void)state;
    ofs_http_bwlimit *bw = NULL;
    struct tm tm;
    time_t at;

    setenv("TZ", "UTC", 1);
    tzset();
    assert_int_equal(ofs_http_bwlimit_parse("off", &bw), 0);
    assert_null(bw);
    assert_int_equal(ofs_http_bwlimit_at(NULL, 0), 0);
    assert_int_equal(ofs_http_bwlimit_parse("20M", &bw), 0);
    assert_int_equal(ofs_http_bwlimit_at(bw, 0), 20 << 20);
    ofs_http_bwlimit_free(bw);
    assert_int_equal(ofs_http_bwlimit_parse("08:00,5M 16:30,off", &bw), 0);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = 124;
    tm.tm_mon = 2;
    tm.tm_mday = 15;
    tm.tm_hour = 7;
    tm.tm_min = 59;
    at = timegm(&tm);
    assert_int_equal(ofs_http_bwlimit_at(bw, at), 0);             /* yesterday's "off" */
    assert_int_equal(ofs_http_bwlimit_at(bw, at + 60), 5 << 20);  /* 08:00 */
    assert_int_equal(ofs_http_bwlimit_at(bw, at + 8 * 3600 + 30 * 60), 5 << 20); /* 16:29 */
    assert_int_equal(ofs_http_bwlimit_at(bw, at + 8 * 3600 + 31 * 60), 0);       /* 16:30 */
    ofs_http_bwlimit_free(bw);
    assert_int_equal(ofs_http_bwlimit_parse("16:00,1M 08:00,2M", &bw), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "bwlimit '16:00,1M 08:00,2M': times must increase");
    assert_int_equal(ofs_http_bwlimit_parse("fast", &bw), OFS_ECONFIG);
    assert_int_equal(ofs_http_bwlimit_parse("08:00,lots", &bw), OFS_ECONFIG);
    assert_null(bw);
}

static void test_bwlimit_share(void **state)
{
    (void)state;
    ofs_http_bwlimit *bw = NULL;

    assert_int_equal(ofs_http_bwlimit_share(NULL, 0, 4), 0);
    assert_int_equal(ofs_http_bwlimit_parse("4M", &bw), 0);
    assert_int_equal(ofs_http_bwlimit_share(bw, 0, 1), 4 << 20);
    assert_int_equal(ofs_http_bwlimit_share(bw, 0, 4), 1 << 20);
    ofs_http_bwlimit_free(bw);
    assert_int_equal(ofs_http_bwlimit_parse("3", &bw), 0);
    assert_int_equal(ofs_http_bwlimit_share(bw, 0, 16), 1); /* never 0: that is unlimited */
    ofs_http_bwlimit_free(bw);
}

static void test_pool(void **state)
{
    (void)state;
    ofs_http_options opt = { .ca_file = "/nonexistent/ca.pem" };
    ofs_http_pool *pool = NULL;
    ofs_http *a = NULL, *b = NULL, *c = NULL;

    ofs_http_pool_free(NULL);
    ofs_http_pool_release(NULL, NULL);
    assert_int_equal(ofs_http_pool_new(&pool, &opt), 0);
    assert_int_equal(ofs_http_pool_acquire(pool, &a), 0);
    assert_int_equal(ofs_http_pool_acquire(pool, &b), 0);
    assert_ptr_not_equal(a, b);
    ofs_http_pool_release(pool, a);
    /* an idle slot is handed out again rather than a new one made */
    assert_int_equal(ofs_http_pool_acquire(pool, &c), 0);
    assert_ptr_equal(c, a);
    ofs_http_pool_release(pool, b);
    ofs_http_pool_release(pool, c);
    ofs_http_pool_release(pool, NULL);
    ofs_http_pool_free(pool);
}

static void test_date(void **state)
{
    (void)state;
    int64_t t = 0;

    assert_int_equal(ofs_http_date_parse("Fri, 24 May 2013 00:00:00 GMT", &t), 0);
    assert_int_equal(t, 1369353600);
    assert_int_equal(ofs_http_date_parse("2013-05-24T00:00:00Z", &t), OFS_ECORRUPT);
    assert_int_equal(ofs_http_date_parse("Fri, 24 May 2013 00:00:00 GMT+1", &t), OFS_ECORRUPT);
    assert_int_equal(ofs_http_date_parse(NULL, &t), OFS_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bwlimit),
        cmocka_unit_test(test_bwlimit_share),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

