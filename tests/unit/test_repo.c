/* test_repo.c - repository keys and sealed names, finding and loading records (swapped and
 * misplaced records refused), and the object reader chain against real sealed objects: round
 * trip, flipped bytes (tag vs hash), truncation, missing, swapped and wrong-key objects. */
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

#include "offsite/catalog.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/hash.h"
#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/seal.h"
#include "offsite/store.h"
#include "offsite/zstdstream.h"

#define ID_A "t_20261121_171500"
#define ID_B "t_20261122_171500"
#define KEY_A_VOL1 "data/weekly/" ID_A "/vol-0001.ofs"
#define VOLUME_SIZE 200000 /* incompressible: four 64 KiB segments */

typedef struct fixture {
    char dir[64];
    char root[128], key[128], other_key[128];
    ofs_keyring *ring, *other;
    ofs_store *store;
    uint8_t *volume;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/test_repo.XXXXXX");
    if (!f || !mkdtemp(f->dir) || !(f->volume = malloc(VOLUME_SIZE)))
        return -1;
    snprintf(f->root, sizeof(f->root), "%s/staging", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->dir);
    snprintf(f->other_key, sizeof(f->other_key), "%s/other.key", f->dir);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < VOLUME_SIZE; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        f->volume[i] = (uint8_t)x;
    }
    if (ofs_keyring_generate(f->key, NULL) < 0 || ofs_keyring_load(&f->ring, f->key) < 0 ||
        ofs_keyring_generate(f->other_key, NULL) < 0 ||
        ofs_keyring_load(&f->other, f->other_key) < 0 ||
        ofs_store_file_new(&f->store, "staging", f->root) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ofs_store_free(f->store);
    ofs_keyring_free(f->ring);
    ofs_keyring_free(f->other);
    free(f->volume);
    int rc = ofs_rm_rf(f->dir);
    free(f);
    return rc < 0 ? -1 : 0;
}

static ofs_record *new_record(const fixture *f, const char *id, const char *class_name)
{
    ofs_record *rec = NULL;
    assert_int_equal(ofs_record_new(&rec), 0);
    rec->id = strdup(id);
    rec->set = strdup("t");
    rec->kind = strdup("full");
    rec->class_name = strdup(class_name);
    rec->host = strdup("testhost");
    rec->tool_version = strdup("0.1.0");
    rec->started = 1795281300;
    rec->finished = 1795281301;
    memcpy(rec->key_id, ofs_keyring_current(f->ring)->id, OFS_KEY_ID_BYTES);
    return rec;
}

/* Stores name of rec the way backup.c does (store <- SHA-256 <- seal <- zstd) and lists it. */
static void put_object(fixture *f, ofs_record *rec, const char *name, const void *data,
                       size_t size)
{
    char key[1100], seal_name[OFS_SEAL_NAME_MAX + 1];
    ofs_writer *w = NULL, *hash = NULL;
    uint8_t digest[OFS_SHA256_BYTES];
    uint64_t stored = 0;
    assert_int_equal(ofs_repo_key(key, sizeof(key), rec->class_name, rec->id, name), 0);
    assert_int_equal(ofs_repo_seal_name(seal_name, sizeof(seal_name), rec->id, name), 0);
    assert_int_equal(ofs_store_put(f->store, key, 0, &w), 0);
    assert_int_equal(ofs_hash_writer_new(&w, w), 0);
    hash = w;
    assert_int_equal(ofs_seal_writer_new(&w, w, ofs_keyring_current(f->ring), seal_name, 0), 0);
    assert_int_equal(ofs_zstd_writer_new(&w, w, 3, 0), 0);
    assert_int_equal(ofs_writer_write(w, data, size), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_hash_writer_result(hash, digest, &stored);
    ofs_writer_free(w);
    assert_int_equal(ofs_record_add_object(rec, name, stored, digest), 0);
    if (strncmp(name, "vol-", 4) == 0)
        rec->volumes++;
}

static void put_catalog(fixture *f, ofs_record *rec)
{
    ofs_writer *mem = NULL;
    ofs_catalog_writer *cw = NULL;
    ofs_catalog_entry e = { 0 };
    size_t size = 0;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_catalog_writer_new(&cw, mem), 0);
    e.path = "srv";
    e.type = OFS_ENTRY_DIR;
    e.mode = 0755;
    assert_int_equal(ofs_catalog_writer_add(cw, &e), 0);
    e.path = "srv/positions.csv";
    e.type = OFS_ENTRY_FILE;
    e.mode = 0644;
    e.size = VOLUME_SIZE;
    e.has_sha256 = 1;
    ofs_sha256_buffer(f->volume, VOLUME_SIZE, e.sha256);
    e.backup_id = rec->id;
    e.volume = 1;
    assert_int_equal(ofs_catalog_writer_add(cw, &e), 0);
    assert_int_equal(ofs_catalog_writer_finish(cw), 0);
    const void *lines = ofs_memory_writer_data(mem, &size);
    put_object(f, rec, OFS_CATALOG_NAME, lines, size);
    ofs_catalog_writer_free(cw);
}

static void put_record(fixture *f, const ofs_record *rec, const char *class_name, const char *id)
{
    char key[1100], *json = NULL;
    size_t size = 0;
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), 0);
    assert_int_equal(ofs_repo_key(key, sizeof(key), class_name, id, OFS_RECORD_NAME), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, key, 0, json, size), 0);
    free(json);
}

/* A committed backup: one volume of f->volume, a catalog, the record. */
static ofs_record *make_backup(fixture *f, const char *id, const char *class_name)
{
    ofs_record *rec = new_record(f, id, class_name);
    put_object(f, rec, "vol-0001.ofs", f->volume, VOLUME_SIZE);
    put_catalog(f, rec);
    put_record(f, rec, class_name, id);
    return rec;
}

static char *object_path(const fixture *f, const ofs_record *rec, const char *name)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/data/%s/%s/%s", f->root, rec->class_name, rec->id, name);
    return path;
}

/* Reads r to its end; returns the code and the plaintext (caller frees). */
static int read_object(ofs_reader *r, uint8_t **data, size_t *size)
{
    char *out = NULL;
    int rc = ofs_reader_read_all(r, &out, size, 1u << 24);
    *data = (uint8_t *)out;
    return rc;
}

static void test_keys(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(ofs_repo_key(buf, sizeof(buf), "daily", ID_A, "vol-0001.ofs"), 0);
    assert_string_equal(buf, "data/daily/" ID_A "/vol-0001.ofs");
    assert_int_equal(ofs_repo_seal_name(buf, sizeof(buf), ID_A, "vol-0012.ofs"), 0);
    assert_string_equal(buf, ID_A "/vol-0012");
    assert_int_equal(ofs_repo_seal_name(buf, sizeof(buf), ID_A, OFS_CATALOG_NAME), 0);
    assert_string_equal(buf, ID_A "/catalog");

    assert_int_equal(ofs_repo_key(buf, 20, "daily", ID_A, "vol-0001.ofs"), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "the object key of 'vol-0001.ofs' in backup '" ID_A
                        "' is longer than 19 bytes");
    assert_int_equal(ofs_repo_seal_name(buf, 10, ID_A, "vol-0001.ofs"), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "the sealed name of 'vol-0001.ofs' in backup '" ID_A
                        "' is longer than 9 bytes");
    assert_int_equal(ofs_repo_key(buf, sizeof(buf), "daily", "..", "backup.json"), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "object key: '..' cannot be part of an object key");
    assert_int_equal(ofs_repo_key(buf, sizeof(buf), "daily", "a/b", "backup.json"), OFS_ECONFIG);
    assert_int_equal(ofs_repo_key(buf, sizeof(buf), "", ID_A, "backup.json"), OFS_ECONFIG);
    assert_int_equal(ofs_repo_seal_name(buf, sizeof(buf), ID_A, "x/vol-0001.ofs"), OFS_ECONFIG);
}

static void test_find_and_load(void **state)
{
    fixture *f = *state;
    char *class_name = (char *)"x", *json = NULL, *stored = NULL;
    size_t size = 0, stored_size = 0;
    ofs_record *rec = NULL;
    char **keys = NULL;
    size_t count = 1;

    assert_int_equal(ofs_repo_list_records(f->store, &keys, &count), 0);
    assert_int_equal(count, 0);
    assert_int_equal(ofs_repo_find_record(f->store, ID_A, &class_name), OFS_ENOTFOUND);
    assert_null(class_name);
    assert_string_equal(ofs_error_last(), "staging: no backup '" ID_A "'");
    assert_int_equal(ofs_repo_load_record(f->store, f->ring, ID_A, &rec, &json, &size),
                     OFS_ENOTFOUND);
    assert_null(rec);
    assert_null(json);

    ofs_record *a = make_backup(f, ID_A, "weekly");
    ofs_record *b = make_backup(f, ID_B, "daily");
    assert_int_equal(ofs_repo_find_record(f->store, ID_A, &class_name), 0);
    assert_string_equal(class_name, "weekly");
    free(class_name);
    assert_int_equal(ofs_repo_load_record(f->store, f->ring, ID_A, &rec, &json, &size), 0);
    assert_string_equal(rec->id, ID_A);
    assert_int_equal(rec->object_count, 2);
    assert_memory_equal(rec->objects[0].sha256, a->objects[0].sha256, OFS_SHA256_BYTES);
    assert_int_equal(ofs_store_get_buffer(f->store, "data/weekly/" ID_A "/backup.json", &stored,
                                          &stored_size, OFS_RECORD_MAX), 0);
    assert_int_equal(size, stored_size);
    assert_memory_equal(json, stored, size); /* the bytes as stored */
    free(stored);
    free(json);
    ofs_record_free(rec);
    assert_int_equal(ofs_repo_load_record(f->store, f->ring, ID_B, &rec, NULL, NULL), 0);
    assert_string_equal(rec->class_name, "daily");
    ofs_record_free(rec);

    assert_int_equal(ofs_repo_list_records(f->store, &keys, &count), 0);
    assert_int_equal(count, 2);
    assert_string_equal(keys[0], "data/daily/" ID_B "/backup.json");
    assert_string_equal(keys[1], "data/weekly/" ID_A "/backup.json");
    ofs_repo_free_keys(keys, count);

    /* a key file without the record's key */
    assert_int_equal(ofs_repo_load_record(f->store, f->other, ID_A, &rec, NULL, NULL),
                     OFS_EWRONGKEY);
    assert_null(rec);
    assert_non_null(strstr(ofs_error_last(), "is not in the key file"));

    /* A's authentic record copied over B's: refused although its MAC is right */
    put_record(f, a, "daily", ID_B);
    assert_int_equal(ofs_repo_load_record(f->store, f->ring, ID_B, &rec, &json, &size),
                     OFS_EAUTH);
    assert_null(rec);
    assert_null(json);
    assert_string_equal(ofs_error_last(), "staging: data/daily/" ID_B "/backup.json: the record "
                        "is of backup '" ID_A "' (class weekly), not of this place (swapped or "
                        "copied)");
    /* ... and into another class folder of its own id */
    assert_int_equal(ofs_store_del(f->store, "data/weekly/" ID_A "/backup.json"), 0);
    put_record(f, a, "monthly", ID_A);
    assert_int_equal(ofs_repo_load_record(f->store, f->ring, ID_A, &rec, NULL, NULL), OFS_EAUTH);

    /* an edited record */
    put_record(f, b, "daily", ID_B);
    assert_int_equal(ofs_store_get_buffer(f->store, "data/daily/" ID_B "/backup.json", &stored,
                                          &stored_size, OFS_RECORD_MAX), 0);
    strstr(stored, "testhost")[0] = 'b';
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/" ID_B "/backup.json", 0, stored,
                                          stored_size), 0);
    free(stored);
    assert_int_equal(ofs_repo_load_record(f->store, f->ring, ID_B, &rec, NULL, NULL), OFS_EAUTH);
    assert_string_equal(ofs_error_last(), "staging: data/daily/" ID_B "/backup.json: record MAC "
                        "mismatch (modified, or wrong key)");
    ofs_record_free(a);
    ofs_record_free(b);
}

static void test_open_object(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_backup(f, ID_A, "weekly");
    ofs_reader *r = NULL;
    uint8_t *data = NULL;
    size_t size = 0;

    assert_true(rec->objects[0].size > 3 * (OFS_SEAL_SEGMENT_DEFAULT + OFS_SEAL_TAG_BYTES));
    assert_int_equal(ofs_repo_open_object(f->store, f->ring, rec, "vol-0001.ofs", &r), 0);
    assert_int_equal(read_object(r, &data, &size), 0);
    assert_int_equal(size, VOLUME_SIZE);
    assert_memory_equal(data, f->volume, VOLUME_SIZE);
    free(data);
    ofs_reader_free(r);

    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e = NULL;
    assert_int_equal(ofs_repo_open_catalog(f->store, f->ring, rec, &cr), 0);
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 1);
    assert_string_equal(e->path, "srv");
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 1);
    assert_string_equal(e->path, "srv/positions.csv");
    assert_int_equal(e->size, VOLUME_SIZE);
    assert_string_equal(e->backup_id, ID_A);
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 0);
    ofs_catalog_reader_free(cr);

    /* an object the record does not list */
    r = (ofs_reader *)1;
    assert_int_equal(ofs_repo_open_object(f->store, f->ring, rec, "vol-0002.ofs", &r),
                     OFS_ENOTFOUND);
    assert_null(r);
    assert_string_equal(ofs_error_last(), "data/weekly/" ID_A "/vol-0002.ofs: the record of "
                        "backup '" ID_A "' lists no 'vol-0002.ofs'");
    ofs_record_free(rec);
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x20;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

/* Opens name of rec and reads it to the end: the code of the first failure. */
static int open_and_read(fixture *f, const ofs_keyring *ring, const ofs_record *rec,
                         const char *name)
{
    ofs_reader *r = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = ofs_repo_open_object(f->store, ring, rec, name, &r);
    if (rc == 0)
        rc = read_object(r, &data, &size);
    if (rc < 0)
        assert_null(data); /* nothing from a damaged object */
    free(data);
    ofs_reader_free(r);
    return rc;
}

/*
 * Damage is found by whichever check sees it first: the seal checks each segment's tag before
 * releasing it, the hash of the stored bytes is checked when they end. So a flipped byte before
 * the last segment is OFS_EAUTH, one in the last segment (or anything that changes the size)
 * OFS_ECORRUPT. Both carry the object key.
 */
static void test_damage(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_backup(f, ID_A, "weekly");
    const char *path = object_path(f, rec, "vol-0001.ofs");
    off_t stored = (off_t)rec->objects[0].size;

    flip_byte(path, 100); /* the first segment */
    assert_int_equal(open_and_read(f, f->ring, rec, "vol-0001.ofs"), OFS_EAUTH);
    assert_string_equal(ofs_error_last(),
                        KEY_A_VOL1 ": authentication failed (wrong key or corrupted data)");
    flip_byte(path, 100);
    assert_int_equal(open_and_read(f, f->ring, rec, "vol-0001.ofs"), 0);

    flip_byte(path, 20); /* the header's salt */
    assert_int_equal(open_and_read(f, f->ring, rec, "vol-0001.ofs"), OFS_EAUTH);
    flip_byte(path, 20);

    flip_byte(path, stored - 5); /* the last segment's tag */
    assert_int_equal(open_and_read(f, f->ring, rec, "vol-0001.ofs"), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), KEY_A_VOL1 ": SHA-256 mismatch");
    flip_byte(path, stored - 5);

    assert_int_equal(truncate(path, stored - 10), 0);
    assert_int_equal(open_and_read(f, f->ring, rec, "vol-0001.ofs"), OFS_ECORRUPT);
    char expected[300];
    snprintf(expected, sizeof(expected), KEY_A_VOL1 ": size %lld, expected %lld",
             (long long)stored - 10, (long long)stored);
    assert_string_equal(ofs_error_last(), expected);

    assert_int_equal(unlink(path), 0);
    assert_int_equal(open_and_read(f, f->ring, rec, "vol-0001.ofs"), OFS_ENOTFOUND);
    assert_non_null(strstr(ofs_error_last(), KEY_A_VOL1));
    ofs_record_free(rec);
}

static void test_swapped_and_wrong_key(void **state)
{
    fixture *f = *state;
    ofs_record *a = make_backup(f, ID_A, "weekly");
    ofs_record *b = make_backup(f, ID_B, "weekly");
    char *data = NULL;
    size_t size = 0;

    /* B's volume under A's name, and an A record that even lists B's size and hash: the sealed
     * name still tells them apart */
    assert_int_equal(ofs_read_file(object_path(f, b, "vol-0001.ofs"), &data, &size, 1 << 24), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, KEY_A_VOL1, 0, data, size), 0);
    free(data);
    assert_int_equal(open_and_read(f, f->ring, a, "vol-0001.ofs"), OFS_EAUTH);
    a->objects[0].size = b->objects[0].size;
    memcpy(a->objects[0].sha256, b->objects[0].sha256, OFS_SHA256_BYTES);
    assert_int_equal(open_and_read(f, f->ring, a, "vol-0001.ofs"), OFS_EAUTH);
    assert_string_equal(ofs_error_last(), KEY_A_VOL1 ": object is '" ID_B "/vol-0001', expected '"
                        ID_A "/vol-0001'");
    /* A's catalog as A's volume */
    assert_int_equal(ofs_read_file(object_path(f, a, "catalog.ofs"), &data, &size, 1 << 24), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, KEY_A_VOL1, 0, data, size), 0);
    free(data);
    a->objects[0].size = a->objects[1].size;
    memcpy(a->objects[0].sha256, a->objects[1].sha256, OFS_SHA256_BYTES);
    assert_int_equal(open_and_read(f, f->ring, a, "vol-0001.ofs"), OFS_EAUTH);
    assert_string_equal(ofs_error_last(), KEY_A_VOL1 ": object is '" ID_A "/catalog', expected '"
                        ID_A "/vol-0001'");

    /* a key file without the sealing key: not found, not "not authentic" */
    assert_int_equal(open_and_read(f, f->other, b, "vol-0001.ofs"), OFS_ENOTFOUND);
    char hex[17], expected[300];
    ofs_key_id_hex(ofs_keyring_current(f->ring)->id, hex);
    snprintf(expected, sizeof(expected), "data/weekly/" ID_B "/vol-0001.ofs: sealed with key %s, "
             "which the key file does not hold", hex);
    assert_string_equal(ofs_error_last(), expected);
    ofs_catalog_reader *cr = (ofs_catalog_reader *)1;
    const ofs_catalog_entry *e = NULL;
    assert_int_equal(ofs_repo_open_catalog(f->store, f->other, b, &cr), 0);
    assert_int_equal(ofs_catalog_reader_next(cr, &e), OFS_ENOTFOUND);
    assert_non_null(strstr(ofs_error_last(), "catalog.ofs"));
    ofs_catalog_reader_free(cr);
    ofs_record_free(a);
    ofs_record_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test_setup_teardown(test_find_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_and_wrong_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
