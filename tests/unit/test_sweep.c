/* test_sweep.c - src/core/sweep.c: whose debris a sweep may take (the cutoff). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "offsite/sweep.h"

static void test_shared(void **state)
{
    (void)state;
    ofs_manifest_entry own_entries[] = { { .id = (char *)"a", .host = (char *)"db1" } };
    ofs_manifest_entry target_entries[] = { { .id = (char *)"a", .host = (char *)"db1" },
                                            { .id = (char *)"b", .host = (char *)"db2" },
                                            { .id = (char *)"c", .host = NULL } };
    ofs_manifest own = { .entries = own_entries, .count = 1 };
    ofs_manifest target = { .entries = target_entries, .count = 1 };

    assert_int_equal(ofs_sweep_shared(NULL, &own, "db1"), 0);
    assert_int_equal(ofs_sweep_shared(&target, &own, NULL), 0);  /* only our backups */
    assert_int_equal(ofs_sweep_shared(&target, NULL, "db1"), 0);
    assert_int_equal(ofs_sweep_shared(&target, NULL, "db9"), 1);  /* db1 is someone else */
    assert_int_equal(ofs_sweep_shared(&target, NULL, NULL), 1);   /* no one is ours */
    target.count = 3;                                             /* db2 pushes here too */
    assert_int_equal(ofs_sweep_shared(&target, &own, "db1"), 1);
    target_entries[1].host = (char *)"db1";                       /* a record without host */
    assert_int_equal(ofs_sweep_shared(&target, &own, "db1"), 0);
}

static void test_cutoff(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL), start = now - 30;

    /* alone: everything up to the second the run began */
    assert_int_equal(ofs_sweep_cutoff(0, start), start + 1);
    /* shared: a day back, whatever the run's start */
    int64_t c = ofs_sweep_cutoff(1, start);
    assert_true(c <= now - OFS_SWEEP_SHARED_GRACE + 1 && c >= now - OFS_SWEEP_SHARED_GRACE - 5);
    /* a run that began over a day ago (a long push) keeps its own start */
    assert_int_equal(ofs_sweep_cutoff(1, now - 2 * OFS_SWEEP_SHARED_GRACE),
                     now - 2 * OFS_SWEEP_SHARED_GRACE + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared),
        cmocka_unit_test(test_cutoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
