/* test_doctor.c - src/core/doctor.c: the verdict "can a compromised host delete its backups?"
 * for each setup operator-guide.md's "Write-only targets" describes, and its advice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "offsite/doctor.h"
#include "offsite/store_check.h"

/* verdict(facts, needle): the verdict, asserting why names needle */
static int verdict(const ofs_doctor_facts *f, const char *needle)
{
    char why[600];
    int can = ofs_doctor_verdict(f, why, sizeof(why));
    if (!strstr(why, needle))
        fail_msg("'%s' does not say '%s'", why, needle);
    return can;
}

static const ofs_doctor_facts write_only_versioned = {
    .may_put = OFS_ABLE_YES, .may_delete = OFS_ABLE_NO, .versioned = 1,
    .may_delete_versions = OFS_ABLE_NO, .may_put_lifecycle = OFS_ABLE_NO
};

static void test_delete_allowed(void **state)
{
    (void)state;
    ofs_doctor_facts f = write_only_versioned;
    f.may_delete = OFS_ABLE_YES;
    assert_int_equal(verdict(&f, "deny them s3:DeleteObject"), 1);
}

static void test_write_only_versioned(void **state)
{
    (void)state;
    assert_int_equal(verdict(&write_only_versioned, "may not delete objects, and an overwrite "
                             "leaves the old data as a version or write lifecycle rules"), 0);
}

static void test_overwrite_without_versions(void **state)
{
    (void)state;
    ofs_doctor_facts f = write_only_versioned;
    f.versioned = 0;
    assert_int_equal(verdict(&f, "keeps no old versions; turn versioning on"), 1);
    f.versioned = -1; /* could not be read: not taken for versioned */
    assert_int_equal(verdict(&f, "s3:GetBucketVersioning refused"), 1);
    f.may_put = OFS_ABLE_NO; /* a host that cannot write cannot overwrite either */
    assert_int_equal(verdict(&f, "may not delete objects"), 0);
}

static void test_lifecycle_and_versions(void **state)
{
    (void)state;
    ofs_doctor_facts f = write_only_versioned;
    f.may_put_lifecycle = OFS_ABLE_YES;
    assert_int_equal(verdict(&f, "deny them s3:PutLifecycleConfiguration"), 1);
    f = write_only_versioned;
    f.may_delete_versions = OFS_ABLE_YES;
    assert_int_equal(verdict(&f, "deny them s3:DeleteObjectVersion"), 1);
    f.versioned = 0; /* without versions there are none to delete: the overwrite is the risk */
    assert_int_equal(verdict(&f, "keeps no old versions"), 1);
}

static void test_object_lock(void **state)
{
    (void)state;
    ofs_doctor_facts f = write_only_versioned;
    f.may_delete = OFS_ABLE_YES; /* the lock holds whatever the credentials may */
    f.lock_objects = 1;
    f.lock_mode = "COMPLIANCE";
    assert_int_equal(verdict(&f, "object lock (COMPLIANCE mode)"), 0);
    f.lock_mode = "GOVERNANCE";
    assert_int_equal(verdict(&f, "s3:BypassGovernanceRetention"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_allowed),
        cmocka_unit_test(test_write_only_versioned),
        cmocka_unit_test(test_overwrite_without_versions),
        cmocka_unit_test(test_lifecycle_and_versions),
        cmocka_unit_test(test_object_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
