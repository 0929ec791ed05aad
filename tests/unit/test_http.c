/* test_http.c - src/net without a server: the connection pool (slots are reused), HTTP
 * dates. Transfers themselves are tested through the drivers against real and scripted
 * servers (test_s3*.c). */
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
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

