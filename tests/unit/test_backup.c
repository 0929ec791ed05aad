/* test_backup.c - ofs_backup_run into a temporary file store: several volumes read back and
 * checked against the catalog, ids and classes, hooks, orphan removal, and failures that
 * must leave neither a record nor orphan objects. */
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

#include <archive.h>
#include <archive_entry.h>

#include "offsite/backup.h"
#include "offsite/catalog.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/manifest.h"
#include "offsite/repo.h"

typedef struct fixture {
    char base[64];
    char src[128], staging[128], key[128], post[128];
    char post_hook[512];
    char *paths[1];
    ofs_keyring *ring;
    ofs_store *store;
    ofs_config cfg;
    ofs_config_set set;
} fixture;

static void write_file(const char *path, size_t size, unsigned seed)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    unsigned char *buf = malloc(size ? size : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* incompressible: volumes fill up */
        buf[i] = (unsigned char)x;
    }
    assert_int_equal(write(fd, buf, size), (ssize_t)size);
    free(buf);
    close(fd);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char path[256];
    strcpy(f->base, "/tmp/test_backup.XXXXXX");
    if (!mkdtemp(f->base))
        return -1;
    snprintf(f->src, sizeof(f->src), "%s/src", f->base);
    snprintf(f->staging, sizeof(f->staging), "%s/staging", f->base);
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->base);
    snprintf(f->post, sizeof(f->post), "%s/post.txt", f->base);
    mkdir(f->src, 0755);
    snprintf(path, sizeof(path), "%s/desk", f->src);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/empty", f->src);
    mkdir(path, 0700);
    for (unsigned i = 0; i < 6; i++) {
        snprintf(path, sizeof(path), "%s/desk/acct-%u.json", f->src, i);
        write_file(path, 30000 + i * 1000, i + 1);
    }
    snprintf(path, sizeof(path), "%s/big.bin", f->src);
    write_file(path, 200000, 99); /* larger than volume_size: a volume of its own */
    snprintf(path, sizeof(path), "%s/zero", f->src);
    write_file(path, 0, 0);
    snprintf(path, sizeof(path), "%s/link", f->src);
    if (symlink("desk/acct-0.json", path) < 0)
        return -1;
    char target[256];
    snprintf(target, sizeof(target), "%s/desk/acct-1.json", f->src);
    snprintf(path, sizeof(path), "%s/hard", f->src);
    if (link(target, path) < 0)
        return -1;

    if (ofs_keyring_generate(f->key, NULL) < 0 || ofs_keyring_load(&f->ring, f->key) < 0 ||
        ofs_store_file_new(&f->store, "staging", f->staging) < 0)
        return -1;
    f->paths[0] = f->src;
    f->set.name = "t";
    f->set.paths = f->paths;
    f->set.path_count = 1;
    f->set.volume_size = 64 * 1024;
    f->set.compression_level = 3;
    f->set.pre_hook = "test \"$OFFSITE_SET\" = t";
    snprintf(f->post_hook, sizeof(f->post_hook),
             "echo \"$OFFSITE_SET $OFFSITE_BACKUP_ID $OFFSITE_STATUS\" > '%s'", f->post);
    f->set.post_hook = f->post_hook;
    f->cfg.parallel = 2;
    f->cfg.host = "testhost";
    f->cfg.time_zone = "UTC";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    ofs_store_free(f->store);
    ofs_keyring_free(f->ring);
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", f->base, f->base);
    if (system(cmd) != 0)
        return -1;
    unsetenv("OFFSITE_NOW");
    free(f);
    return 0;
}

static void read_post(const fixture *f, char *buf, size_t size)
{
    FILE *fp = fopen(f->post, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, (int)size, fp));
    fclose(fp);
}

static int count_objects(void *ctx, const char *key, const ofs_object_info *info)
{
    (void)key;
    (void)info;
    (*(int *)ctx)++;
    return 0;
}

static int list_count(ofs_store *store, const char *prefix)
{
    int count = 0;
    int rc = ofs_store_list(store, prefix, count_objects, &count);
    assert_true(rc == 0 || rc == OFS_ENOTFOUND);
    return count;
}

typedef struct catalog_copy {
    ofs_catalog_entry *entries;
    size_t count;
} catalog_copy;

static void load_catalog(fixture *f, const ofs_record *rec, catalog_copy *c)
{
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e;
    int rc;
    memset(c, 0, sizeof(*c));
    assert_int_equal(ofs_repo_open_catalog(f->store, f->ring, rec, &cr), 0);
    while ((rc = ofs_catalog_reader_next(cr, &e)) == 1) {
        c->entries = realloc(c->entries, (c->count + 1) * sizeof(*c->entries));
        assert_int_equal(ofs_catalog_entry_copy(&c->entries[c->count++], e), 0);
    }
    assert_int_equal(rc, 0);
    ofs_catalog_reader_free(cr);
}

static ofs_catalog_entry *find_entry(catalog_copy *c, const char *tar_name)
{
    size_t n = strlen(tar_name);
    if (n > 0 && tar_name[n - 1] == '/')
        n--; /* directories carry a trailing '/' in the tar */
    for (size_t i = 0; i < c->count; i++)
        if (strlen(c->entries[i].path) == n && strncmp(c->entries[i].path, tar_name, n) == 0)
            return &c->entries[i];
    return NULL;
}

/* Decrypts every volume and checks each tar entry against the catalog. */
static void check_volumes(fixture *f, const ofs_record *rec, catalog_copy *c)
{
    size_t seen = 0;
    for (uint32_t v = 1; v <= rec->volumes; v++) {
        char name[32];
        ofs_reader *r = NULL;
        char *data = NULL;
        size_t size = 0;
        ofs_record_volume_name(v, name);
        assert_int_equal(ofs_repo_open_object(f->store, f->ring, rec, name, &r), 0);
        assert_int_equal(ofs_reader_read_all(r, &data, &size, 64u << 20), 0);
        ofs_reader_free(r);

        struct archive *a = archive_read_new();
        struct archive_entry *ae;
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_memory(a, data, size), ARCHIVE_OK);
        int rc;
        while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
            ofs_catalog_entry *e = find_entry(c, archive_entry_pathname(ae));
            assert_non_null(e);
            assert_int_equal(e->volume, v);
            assert_int_equal((uint64_t)archive_read_header_position(a), e->offset);
            assert_string_equal(e->backup_id, rec->id);
            if (e->type == OFS_ENTRY_FILE) {
                ofs_sha256 *h = NULL;
                uint8_t digest[OFS_SHA256_BYTES];
                char buf[8192];
                la_ssize_t n;
                uint64_t total = 0;
                assert_int_equal(ofs_sha256_new(&h), 0);
                while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
                    ofs_sha256_update(h, buf, (size_t)n);
                    total += (uint64_t)n;
                }
                assert_int_equal(ofs_sha256_final(h, digest), 0);
                ofs_sha256_free(h);
                assert_int_equal(total, e->size);
                assert_memory_equal(digest, e->sha256, OFS_SHA256_BYTES);
            }
            seen++;
        }
        assert_int_equal(rc, ARCHIVE_EOF);
        archive_read_free(a);
        free(data);
    }
    assert_int_equal(seen, c->count); /* every catalog entry is in exactly one volume */
}

static void free_catalog(catalog_copy *c)
{
    for (size_t i = 0; i < c->count; i++)
        ofs_catalog_entry_clear(&c->entries[i]);
    free(c->entries);
}

static void test_full_backup(void **state)
{
    fixture *f = *state;
    ofs_record *rec = NULL, *loaded = NULL;
    ofs_backup_stats stats;
    ofs_backup_options opts = { .description = "unit test" };
    char post[256];

    /* an orphan of a crashed run: objects without a record */
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/t_20200101_000000/vol-0001.ofs",
                                          0, "junk", 4), 0);
    setenv("OFFSITE_NOW", "2026-11-21T17:15:00Z", 1);
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, &opts, &rec, &stats), 0);
    assert_string_equal(rec->id, "t_20261121_171500");
    assert_string_equal(rec->class_name, "monthly");
    assert_string_equal(rec->kind, "full");
    assert_null(rec->base);
    assert_true(rec->volumes >= 4);
    assert_int_equal(rec->object_count, rec->volumes + 1);
    assert_int_equal(stats.volumes, rec->volumes);
    assert_int_equal(stats.files, 8);  /* 6 accounts, big.bin, zero */
    assert_int_equal(stats.hardlinks, 1);
    assert_int_equal(stats.symlinks, 1);
    assert_int_equal(stats.bytes, 6 * 30000 + 15000 + 200000);
    assert_int_equal(stats.changed_while_read, 0);
    assert_int_equal(list_count(f->store, "data/daily/t_20200101_000000/"), 0);
    read_post(f, post, sizeof(post));
    assert_string_equal(post, "t t_20261121_171500 ok\n");

    assert_int_equal(ofs_repo_load_record(f->store, f->ring, rec->id, &loaded, NULL, NULL), 0);
    assert_int_equal(loaded->volumes, rec->volumes);
    assert_int_equal(loaded->files, rec->files);
    assert_string_equal(loaded->description, "unit test");
    catalog_copy c;
    load_catalog(f, loaded, &c);
    assert_int_equal(c.count, rec->files);
    /* catalog paths are absolute paths without '/', with the set path's ancestors first */
    assert_string_equal(c.entries[0].path, "tmp");
    char want[256];
    snprintf(want, sizeof(want), "%s/big.bin", f->src + 1);
    ofs_catalog_entry *big = find_entry(&c, want);
    assert_non_null(big);
    assert_int_equal(big->size, 200000);
    check_volumes(f, loaded, &c);
    free_catalog(&c);

    /* same second again: a suffix, and "daily" (same month and ISO week) */
    ofs_record *second = NULL;
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &second, NULL), 0);
    assert_string_equal(second->id, "t_20261121_171500_2");
    assert_string_equal(second->class_name, "daily");
    /* the following Monday starts an ISO week: "weekly" */
    ofs_record *third = NULL;
    setenv("OFFSITE_NOW", "2026-11-23T09:00:00Z", 1);
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &third, NULL), 0);
    assert_string_equal(third->class_name, "weekly");

    ofs_manifest *m = NULL;
    assert_int_equal(ofs_manifest_load(&m, f->store, f->ring), 0);
    assert_int_equal(m->count, 3);
    ofs_manifest_free(m);
    ofs_record_free(third);
    ofs_record_free(second);
    ofs_record_free(loaded);
    ofs_record_free(rec);
}

static void test_pre_hook_failure(void **state)
{
    fixture *f = *state;
    ofs_record *rec = NULL;
    char post[256];
    f->set.pre_hook = "exit 3";
    setenv("OFFSITE_NOW", "2026-11-21T17:15:00Z", 1);
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL),
                     OFS_ERROR);
    assert_string_equal(ofs_error_last(), "pre_hook of set 't' failed with exit status 3");
    assert_null(rec);
    assert_int_equal(list_count(f->store, "data/"), 0);
    read_post(f, post, sizeof(post));
    assert_string_equal(post, "t  failed\n");
}

/* A volume whose key is taken by a directory cannot be stored: the run fails after other
 * volumes were written, and must leave no record and no objects behind (works as root). */
static void test_failure_leaves_nothing(void **state)
{
    fixture *f = *state;
    ofs_record *rec = NULL;
    char path[512], post[256];
    setenv("OFFSITE_NOW", "2026-11-21T17:15:00Z", 1);
    snprintf(path, sizeof(path), "%s/data/monthly/t_20261121_171500/vol-0003.ofs/blocker",
             f->staging);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);

    int rc = ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL);
    assert_true(rc < 0);
    assert_null(rec);
    assert_non_null(strstr(ofs_error_last(), "vol-0003.ofs"));
    char *class_name = NULL;
    assert_int_equal(ofs_repo_find_record(f->store, "t_20261121_171500", &class_name),
                     OFS_ENOTFOUND);
    assert_int_equal(list_count(f->store, "data/"), 0);
    read_post(f, post, sizeof(post));
    assert_string_equal(post, "t t_20261121_171500 failed\n");
}

/* As an ordinary user: a file that cannot be read fails the backup, naming it. */
static void test_unreadable_file_leaves_nothing(void **state)
{
    fixture *f = *state;
    ofs_record *rec = NULL;
    char path[256], message[600];
    if (geteuid() == 0)
        skip(); /* root reads mode 000 files */
    snprintf(path, sizeof(path), "%s/desk/acct-4.json", f->src);
    assert_int_equal(chmod(path, 0), 0);
    setenv("OFFSITE_NOW", "2026-11-21T17:15:00Z", 1);
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL),
                     OFS_EDENIED);
    snprintf(message, sizeof(message), "cannot open '%s': Permission denied", path);
    assert_non_null(strstr(ofs_error_last(), message));
    assert_int_equal(list_count(f->store, "data/"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pre_hook_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file_leaves_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
