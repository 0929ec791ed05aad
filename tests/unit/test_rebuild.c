/* test_rebuild.c - ofs_rebuild_choose (each set's newest, or newest before a date; a shared
 * prefix's own host first) and ofs_rebuild_preview (the restore dry run's actions counted:
 * all created into an empty directory, unchanged after the restore, replaced after a change,
 * nothing written). */
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

#include "offsite/backup.h"
#include "offsite/error.h"
#include "offsite/manifest.h"
#include "offsite/rebuild.h"
#include "offsite/record.h"
#include "offsite/restore.h"

/* add(m, id, set, host, started): an entry as a record's commit adds it */
static void add(ofs_manifest *m, const char *id, const char *set, const char *host,
                int64_t started)
{
    ofs_record rec = { .id = (char *)id, .set = (char *)set, .kind = "full",
                       .class_name = "daily", .host = (char *)host, .started = started,
                       .finished = started + 60 };
    assert_int_equal(ofs_manifest_add(m, &rec, "{}", 2), 0);
}

static void test_choose(void **state)
{
    ofs_manifest *m = NULL;
    (void)state;
    assert_int_equal(ofs_manifest_new(&m), 0);
    add(m, "orders_20261103_210000", "orders", "alpha", 1793739600);
    add(m, "positions_20261103_210000", "positions", "alpha", 1793739600);
    add(m, "orders_20261104_210000", "orders", "alpha", 1793826000);
    add(m, "positions_20261104_210000", "positions", "alpha", 1793826000);
    add(m, "positions_20261105_210000", "positions", "beta", 1793912400);

    /* the newest of each set; beta's newer backup is not alpha's */
    assert_string_equal(ofs_rebuild_choose(m, "orders", "alpha", INT64_MAX)->id,
                        "orders_20261104_210000");
    assert_string_equal(ofs_rebuild_choose(m, "positions", "alpha", INT64_MAX)->id,
                        "positions_20261104_210000");
    assert_string_equal(ofs_rebuild_choose(m, "positions", "beta", INT64_MAX)->id,
                        "positions_20261105_210000");
    /* a host with none of its own there (a renamed machine): any host's newest */
    assert_string_equal(ofs_rebuild_choose(m, "positions", "gamma", INT64_MAX)->id,
                        "positions_20261105_210000");
    assert_string_equal(ofs_rebuild_choose(m, "positions", NULL, INT64_MAX)->id,
                        "positions_20261105_210000");
    /* before: started strictly before the date */
    assert_string_equal(ofs_rebuild_choose(m, "orders", "alpha", 1793826000)->id,
                        "orders_20261103_210000");
    assert_string_equal(ofs_rebuild_choose(m, "orders", "alpha", 1793826001)->id,
                        "orders_20261104_210000");
    assert_null(ofs_rebuild_choose(m, "orders", "alpha", 1793739600));
    assert_null(ofs_rebuild_choose(m, "config", "alpha", INT64_MAX));
    ofs_manifest_free(m);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_preview(void **state)
{
    char base[] = "/tmp/test_rebuild.XXXXXX", src[128], key[128], staging[128], target[128];
    char path[512], cmd[300];
    ofs_keyring *ring = NULL;
    ofs_store *store = NULL;
    ofs_record *rec = NULL;
    ofs_rebuild_counts c;
    (void)state;

    assert_non_null(mkdtemp(base));
    snprintf(src, sizeof(src), "%s/src", base);
    snprintf(key, sizeof(key), "%s/offsite.key", base);
    snprintf(staging, sizeof(staging), "%s/staging", base);
    snprintf(target, sizeof(target), "%s/target", base);
    assert_int_equal(mkdir(src, 0755), 0);
    snprintf(path, sizeof(path), "%s/positions.json", src);
    write_text(path, "{\"AAPL\": 100}\n");
    snprintf(path, sizeof(path), "%s/fills.csv", src);
    write_text(path, "1,AAPL,100\n");
    assert_int_equal(ofs_keyring_generate(key, NULL), 0);
    assert_int_equal(ofs_keyring_load(&ring, key), 0);
    assert_int_equal(ofs_store_file_new(&store, "staging", staging), 0);
    char *paths[] = { src };
    ofs_config_set set = { .name = "positions", .paths = paths, .path_count = 1,
                           .volume_size = 64 * 1024, .compression_level = 3 };
    ofs_config cfg = { .parallel = 2, .host = "testhost", .time_zone = "UTC" };
    assert_int_equal(ofs_backup_run(&cfg, &set, store, ring, NULL, &rec, NULL), 0);

    /* into a directory that does not exist: every entry created, nothing written */
    assert_int_equal(ofs_rebuild_preview(store, ring, rec, target, 2, NULL, &c), 0);
    assert_int_equal(c.create, rec->files);
    assert_int_equal(c.replace + c.unchanged + c.remove + c.other, 0);
    assert_int_equal(access(target, F_OK), -1);

    /* after the restore: nothing to change */
    ofs_restore_options opts = { .target_dir = target, .parallel = 2 };
    assert_int_equal(ofs_restore_run(store, ring, rec, &opts, NULL), 0);
    assert_int_equal(ofs_rebuild_preview(store, ring, rec, target, 2, NULL, &c), 0);
    assert_int_equal(c.create + c.replace, 0);
    assert_int_equal(c.unchanged, rec->files);

    /* a file changed since, one removed: replaced and created again (their directory, whose
     * time the removal changed, stays: only its time is put back, nothing is moved aside) */
    snprintf(path, sizeof(path), "%s%s/positions.json", target, src);
    write_text(path, "{\"AAPL\": 0, \"changed\": true}\n");
    snprintf(path, sizeof(path), "%s%s/fills.csv", target, src);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(ofs_rebuild_preview(store, ring, rec, target, 2, NULL, &c), 0);
    assert_int_equal(c.replace, 1);
    assert_int_equal(c.create, 1);
    assert_int_equal(c.unchanged, rec->files - 2);
    ofs_rebuild_counts sum = { 1, 1, 1, 1, 1 };
    ofs_rebuild_counts_add(&sum, &c);
    assert_int_equal(sum.create, 2);
    assert_int_equal(sum.unchanged, 1 + rec->files - 2);

    ofs_record_free(rec);
    ofs_store_free(store);
    ofs_keyring_free(ring);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choose),
        cmocka_unit_test(test_preview),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
