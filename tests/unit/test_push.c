/* test_push.c - ofs_push_run between two file stores: a first push copies everything, a second
 * copies nothing, a push resumes after the target lost a record and a volume, a damaged source
 * object is refused (and keeps neither its object nor its record off the target) without
 * keeping the other backups from it, and a source without manifest.json still pushes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/hash.h"
#include "offsite/keyring.h"
#include "offsite/manifest.h"
#include "offsite/push.h"
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/store.h"

#define ID_A "data_20260105_170000"
#define ID_B "data_20260106_170000"

typedef struct fixture {
    char base[64];
    char source_root[128], target_root[128], key[128];
    ofs_keyring *ring;
    ofs_store *source, *target;
} fixture;

/* put_object(f, id, name, size, seed, rec): random-looking bytes stored in the source and
 * listed in rec with their size and SHA-256 */
static void put_object(fixture *f, const char *id, const char *name, size_t size,
                       unsigned seed, ofs_record *rec)
{
    char key[256];
    uint8_t digest[OFS_SHA256_BYTES];
    uint8_t *data = malloc(size);
    assert_non_null(data);
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (uint8_t)(seed >> 16);
    }
    assert_int_equal(ofs_repo_key(key, sizeof(key), "daily", id, name), 0);
    assert_int_equal(ofs_store_put_buffer(f->source, key, 0, data, size), 0);
    assert_int_equal(ofs_sha256_buffer(data, size, digest), 0);
    assert_int_equal(ofs_record_add_object(rec, name, size, digest), 0);
    rec->stored_bytes += size;
    free(data);
}

/* make_backup(f, id, started): a committed backup in the source: a volume, a catalog, the
 * record, the manifest entry. The objects are not sealed: push copies bytes, never decrypts. */
static void make_backup(fixture *f, const char *id, int64_t started, unsigned seed)
{
    ofs_record *rec = NULL;
    ofs_manifest *m = NULL;
    char key[256], *json = NULL;
    size_t size = 0;

    assert_int_equal(ofs_record_new(&rec), 0);
    rec->id = strdup(id);
    rec->set = strdup("data");
    rec->kind = strdup("full");
    rec->class_name = strdup("daily");
    rec->host = strdup("testhost");
    rec->tool_version = strdup("test");
    rec->started = started;
    rec->finished = started + 60;
    memcpy(rec->key_id, ofs_keyring_current(f->ring)->id, OFS_KEY_ID_BYTES);
    rec->files = 3;
    rec->bytes = 1000;
    rec->volumes = 1;
    put_object(f, id, "vol-0001.ofs", 300000, seed, rec);
    put_object(f, id, OFS_CATALOG_NAME, 2000, seed + 1, rec);
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), 0);
    assert_int_equal(ofs_repo_key(key, sizeof(key), "daily", id, OFS_RECORD_NAME), 0);
    assert_int_equal(ofs_store_put_buffer(f->source, key, 0, json, size), 0);

    int rc = ofs_manifest_load(&m, f->source, f->ring);
    if (rc == OFS_ENOTFOUND)
        rc = ofs_manifest_new(&m);
    assert_int_equal(rc, 0);
    assert_int_equal(ofs_manifest_add(m, rec, json, size), 0);
    assert_int_equal(ofs_manifest_save(m, f->source, f->ring), 0);
    ofs_manifest_free(m);
    ofs_record_free(rec);
    free(json);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->base, sizeof(f->base), "/tmp/test_push.XXXXXX");
    assert_non_null(mkdtemp(f->base));
    snprintf(f->source_root, sizeof(f->source_root), "%s/staging", f->base);
    snprintf(f->target_root, sizeof(f->target_root), "%s/target", f->base);
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->base);
    assert_int_equal(ofs_keyring_generate(f->key, NULL), 0);
    assert_int_equal(ofs_keyring_load(&f->ring, f->key), 0);
    assert_int_equal(ofs_store_file_new(&f->source, "staging", f->source_root), 0);
    assert_int_equal(ofs_store_file_new(&f->target, "nas", f->target_root), 0);
    make_backup(f, ID_A, 1767632400, 1);
    make_backup(f, ID_B, 1767718800, 7);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ofs_store_free(f->source);
    ofs_store_free(f->target);
    ofs_keyring_free(f->ring);
    ofs_rm_rf(f->base);
    free(f);
    return 0;
}

static char *read_path(const char *root, const char *id, const char *name, size_t *size)
{
    char path[512], *data = NULL;
    snprintf(path, sizeof(path), "%s/data/daily/%s/%s", root, id, name);
    if (ofs_read_file(path, &data, size, 1u << 24) < 0)
        return NULL;
    return data;
}

static int exists(const char *root, const char *id, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data/daily/%s/%s", root, id, name);
    return stat(path, &st) == 0;
}

/* same_object(f, id, name): the target's copy equals the source's byte for byte */
static void assert_same_object(fixture *f, const char *id, const char *name)
{
    size_t a_size = 0, b_size = 0;
    char *a = read_path(f->source_root, id, name, &a_size);
    char *b = read_path(f->target_root, id, name, &b_size);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a_size, b_size);
    assert_memory_equal(a, b, a_size);
    free(a);
    free(b);
}

static void assert_target_lists(fixture *f, size_t count)
{
    ofs_manifest *m = NULL;
    assert_int_equal(ofs_manifest_load(&m, f->target, f->ring), 0);
    assert_int_equal(m->count, count);
    ofs_manifest_free(m);
}

static void test_push_copies_everything(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;

    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(stats.backups_pushed, 2);
    assert_int_equal(stats.backups_present, 0);
    assert_int_equal(stats.objects_copied, 4);
    assert_int_equal(stats.objects_skipped, 0);
    assert_int_equal(stats.bytes_copied, 2 * (300000 + 2000));
    const char *ids[] = { ID_A, ID_B };
    for (size_t i = 0; i < 2; i++) {
        assert_same_object(f, ids[i], "vol-0001.ofs");
        assert_same_object(f, ids[i], OFS_CATALOG_NAME);
        assert_same_object(f, ids[i], OFS_RECORD_NAME);
    }
    assert_target_lists(f, 2);
}

static void test_second_push_copies_nothing(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;

    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(stats.backups_pushed, 0);
    assert_int_equal(stats.backups_present, 2);
    assert_int_equal(stats.objects_copied, 0);
    assert_int_equal(stats.bytes_copied, 0);
    assert_target_lists(f, 2);
}

/* the target's prune removed the older backup: push must not send it back, but does send a
 * newer one */
static void test_pruned_on_target_is_not_resent(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;
    ofs_manifest *m = NULL;
    char key[256];
    const char *names[] = { OFS_RECORD_NAME, "vol-0001.ofs", OFS_CATALOG_NAME };

    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ofs_repo_key(key, sizeof(key), "daily", ID_A, names[i]), 0);
        assert_int_equal(ofs_store_del(f->target, key), 0);
    }
    assert_int_equal(ofs_manifest_load(&m, f->target, f->ring), 0);
    assert_int_equal(ofs_manifest_remove(m, ID_A), 0);
    assert_int_equal(ofs_manifest_save(m, f->target, f->ring), 0);
    ofs_manifest_free(m);

    make_backup(f, "data_20260107_170000", 1767805200, 11);
    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(stats.backups_superseded, 1);
    assert_int_equal(stats.backups_present, 1);
    assert_int_equal(stats.backups_pushed, 1);
    assert_false(exists(f->target_root, ID_A, OFS_RECORD_NAME));
    assert_false(exists(f->target_root, ID_A, "vol-0001.ofs"));
    assert_same_object(f, "data_20260107_170000", OFS_RECORD_NAME);
    assert_target_lists(f, 2);
}

/* A store that hides backup.json from listings, so push meets a record only when it writes:
 * what a second host committing at the same moment looks like. */
typedef struct hiding_store {
    ofs_store parent;
    ofs_store *inner;
} hiding_store;

typedef struct hiding_list {
    ofs_store_list_fn fn;
    void *ctx;
} hiding_list;

static int hiding_list_one(void *ctx, const char *key, const ofs_object_info *info)
{
    hiding_list *h = ctx;
    size_t n = strlen(key), r = strlen(OFS_RECORD_NAME);
    if (n >= r && strcmp(key + n - r, OFS_RECORD_NAME) == 0)
        return 0;
    return h->fn(h->ctx, key, info);
}

static int hiding_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out)
{
    return ofs_store_put(((hiding_store *)s)->inner, key, flags, out);
}
static int hiding_get(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                      ofs_reader **out)
{
    return ofs_store_get(((hiding_store *)s)->inner, key, offset, length, out);
}
static int hiding_stat(ofs_store *s, const char *key, ofs_object_info *info)
{
    return ofs_store_stat(((hiding_store *)s)->inner, key, info);
}
static int hiding_list_all(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    hiding_list h = { fn, ctx };
    return ofs_store_list(((hiding_store *)s)->inner, prefix, hiding_list_one, &h);
}
static int hiding_del(ofs_store *s, const char *key)
{
    return ofs_store_del(((hiding_store *)s)->inner, key);
}
static void hiding_free(ofs_store *s)
{
    free(s);
}
static const struct ofs_store_ops hiding_ops = {
    .put = hiding_put, .get = hiding_get, .stat = hiding_stat, .list = hiding_list_all,
    .del = hiding_del, .free = hiding_free
};

/* a target whose writers finish on another thread (CAP_CONCURRENT), and whose volumes fail to
 * commit there: the backup stops before its record */
typedef struct {
    ofs_writer parent;
    ofs_writer *inner;
    int fail;
} finish_writer;

static int finish_write(ofs_writer *w, const void *data, size_t size)
{
    return ofs_writer_write(((finish_writer *)w)->inner, data, size);
}
static int finish_finish(ofs_writer *w)
{
    finish_writer *fw = (finish_writer *)w;
    if (fw->fail)
        return ofs_error_set(OFS_ENOSPC, "nas: volume: no space left on device");
    return ofs_writer_finish(fw->inner);
}
static void finish_free(ofs_writer *w)
{
    ofs_writer_free(((finish_writer *)w)->inner);
    free(w);
}
static const struct ofs_writer_ops finish_writer_ops = { finish_write, finish_finish,
                                                         finish_free };

static int failing_finish_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out)
{
    finish_writer *fw = calloc(1, sizeof(*fw));
    int rc;
    if (!fw)
        return OFS_ERROR;
    if ((rc = ofs_store_put(((hiding_store *)s)->inner, key, flags, &fw->inner)) < 0) {
        free(fw);
        return rc;
    }
    fw->parent.ops = &finish_writer_ops;
    fw->fail = strstr(key, "vol-") != NULL;
    *out = &fw->parent;
    return 0;
}
static int plain_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    return ofs_store_list(((hiding_store *)s)->inner, prefix, fn, ctx);
}
static const struct ofs_store_ops failing_finish_ops = {
    .put = failing_finish_put, .get = hiding_get, .stat = hiding_stat, .list = plain_list,
    .del = hiding_del, .free = hiding_free
};

static void test_background_finish_failure(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;
    hiding_store *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->parent.ops = &failing_finish_ops;
    h->parent.name = "nas";
    h->parent.caps = OFS_STORE_CAP_CONDITIONAL | OFS_STORE_CAP_CONCURRENT;
    h->inner = f->target;

    assert_int_equal(ofs_push_run(f->source, &h->parent, f->ring, 0, &stats), OFS_ENOSPC);
    assert_non_null(strstr(ofs_error_last(), "no space left on device"));
    assert_non_null(strstr(ofs_error_last(), ID_A));
    assert_int_equal(stats.backups_pushed, 0);
    assert_int_equal(stats.objects_copied, 0);
    assert_false(exists(f->target_root, ID_A, OFS_RECORD_NAME));
    assert_false(exists(f->target_root, ID_A, "vol-0001.ofs"));
    free(h);

    /* the same through a target that finishes in the background and succeeds */
    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(stats.objects_copied, 4); /* volumes and catalogs; records aside */
    assert_same_object(f, ID_A, "vol-0001.ofs");
    assert_same_object(f, ID_B, OFS_RECORD_NAME);
}

/* another host's record under the same id is never overwritten; our own identical one is fine */
static void test_foreign_record_is_not_overwritten(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;
    char key[256], path[512];
    hiding_store *h = calloc(1, sizeof(*h));
    assert_non_null(h);
    h->parent.ops = &hiding_ops;
    h->parent.name = "nas";
    h->parent.caps = OFS_STORE_CAP_CONDITIONAL;
    h->inner = f->target;

    assert_int_equal(ofs_repo_key(key, sizeof(key), "daily", ID_A, OFS_RECORD_NAME), 0);
    assert_int_equal(ofs_store_put_buffer(f->target, key, 0, "{\"someone\": \"else\"}", 20), 0);
    assert_int_equal(ofs_push_run(f->source, &h->parent, f->ring, 0, &stats), OFS_EEXISTS);
    assert_non_null(strstr(ofs_error_last(), "a different record is already there"));
    size_t size = 0;
    snprintf(path, sizeof(path), "%s/%s", f->target_root, key);
    char *text = NULL;
    assert_int_equal(ofs_read_file(path, &text, &size, 100), 0);
    assert_string_equal(text, "{\"someone\": \"else\"}");
    free(text);

    /* the same bytes as ours (a push that raced us with the same backup): accepted */
    size_t ours_size = 0;
    char *ours = read_path(f->source_root, ID_A, OFS_RECORD_NAME, &ours_size);
    assert_non_null(ours);
    assert_int_equal(ofs_store_put_buffer(f->target, key, 0, ours, ours_size), 0);
    free(ours);
    assert_int_equal(ofs_push_run(f->source, &h->parent, f->ring, 0, &stats), 0);
    assert_int_equal(stats.backups_pushed, 2);
    assert_same_object(f, ID_B, OFS_RECORD_NAME);
    free(h);
}

/* a record on the target that fails its MAC is replaced, not left in the way */
static void test_damaged_target_record_is_replaced(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;
    char path[512];

    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    snprintf(path, sizeof(path), "%s/data/daily/%s/%s", f->target_root, ID_A, OFS_RECORD_NAME);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 30, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, 30, SEEK_SET);
    fputc(c == 'x' ? 'y' : 'x', fp);
    fclose(fp);
    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(stats.backups_pushed, 1);
    assert_same_object(f, ID_A, OFS_RECORD_NAME);
}

static void test_push_resumes(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;
    char path[512];

    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    /* as if the push had been killed after B's catalog arrived, before its volume and record */
    snprintf(path, sizeof(path), "%s/data/daily/%s/%s", f->target_root, ID_B, OFS_RECORD_NAME);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/data/daily/%s/vol-0001.ofs", f->target_root, ID_B);
    assert_int_equal(unlink(path), 0);

    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(stats.backups_present, 1);
    assert_int_equal(stats.backups_pushed, 1);
    assert_int_equal(stats.objects_copied, 1);
    assert_int_equal(stats.objects_skipped, 1);
    assert_int_equal(stats.bytes_copied, 300000);
    assert_same_object(f, ID_B, "vol-0001.ofs");
    assert_same_object(f, ID_B, OFS_RECORD_NAME);
    assert_target_lists(f, 2);
}

static void test_target_object_damaged_is_copied_again(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;
    char path[512];

    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    /* same size, one byte changed, record removed: a local target re-hashes and replaces it */
    snprintf(path, sizeof(path), "%s/data/daily/%s/vol-0001.ofs", f->target_root, ID_A);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 1000, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, 1000, SEEK_SET);
    fputc(c ^ 0x40, fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/data/daily/%s/%s", f->target_root, ID_A, OFS_RECORD_NAME);
    assert_int_equal(unlink(path), 0);

    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(stats.backups_pushed, 1);
    assert_int_equal(stats.objects_copied, 1);
    assert_int_equal(stats.objects_skipped, 1);
    assert_same_object(f, ID_A, "vol-0001.ofs");
}

static void test_damaged_source_is_refused(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;
    char path[512], expected[1024];

    /* flip a byte of A's volume in staging: same size, another SHA-256 */
    snprintf(path, sizeof(path), "%s/data/daily/%s/vol-0001.ofs", f->source_root, ID_A);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 150000, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, 150000, SEEK_SET);
    fputc(c ^ 0x01, fp);
    fclose(fp);

    int rc = ofs_push_run(f->source, f->target, f->ring, 0, &stats);
    assert_int_equal(rc, OFS_ECORRUPT);
    snprintf(expected, sizeof(expected),
             "backup '%s': staging: 'data/daily/%s/vol-0001.ofs' has another SHA-256 than the "
             "record (the source copy is damaged)\n"
             "HINT: 'offsite verify' shows the damage; the target does not get this backup's "
             "record", ID_A, ID_A);
    assert_string_equal(ofs_error_last(), expected);
    /* A: neither the damaged volume nor the record reached the target */
    assert_false(exists(f->target_root, ID_A, "vol-0001.ofs"));
    assert_false(exists(f->target_root, ID_A, OFS_RECORD_NAME));
    /* B, independent of A, did */
    assert_int_equal(stats.backups_pushed, 1);
    assert_same_object(f, ID_B, OFS_RECORD_NAME);
    assert_target_lists(f, 1);
}

static void test_source_without_manifest(void **state)
{
    fixture *f = *state;
    ofs_push_stats stats;
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", f->source_root, OFS_MANIFEST_KEY);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(ofs_push_run(f->source, f->target, f->ring, 0, &stats), 0);
    assert_int_equal(stats.backups_pushed, 2);
    assert_target_lists(f, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_copies_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_push_copies_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pruned_on_target_is_not_resent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_record_is_not_overwritten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_target_record_is_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_object_damaged_is_copied_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_damaged_source_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_without_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_finish_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
