/* test_verify.c - ofs_verify_backup and ofs_verify_manifest: a clean backup, then every kind of
 * damage (flipped byte, truncation, missing and swapped volumes, wrong key, edited record, a
 * catalog that disagrees with the archive), each reported with its own code and object, and
 * every problem reported, not only the first; the manifest repaired from the records. */
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
#include "offsite/catalog.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/hash.h"
#include "offsite/keyring.h"
#include "offsite/manifest.h"
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/seal.h"
#include "offsite/store.h"
#include "offsite/verify.h"
#include "offsite/zstdstream.h"
#include "unit_fixture.h"

typedef struct fixture {
    unit_repo r;
    ofs_record *rec;
} fixture;

typedef struct found {
    int count;
    int codes[32];
    char objects[32][64];
    char files[32][256];
    char messages[32][512];
} found;

static void on_problem(void *ctx, const ofs_verify_problem *p)
{
    found *s = ctx;
    if (s->count >= 32)
        return;
    s->codes[s->count] = p->code;
    snprintf(s->objects[s->count], 64, "%s", p->object ? p->object : "");
    snprintf(s->files[s->count], 256, "%s", p->file ? p->file : "");
    snprintf(s->messages[s->count], 512, "%s", p->message);
    s->count++;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char path[256];
    if (!f || unit_repo_init(&f->r, "test_verify") < 0)
        return -1;
    for (unsigned i = 0; i < 6; i++) {
        snprintf(path, sizeof(path), "%s/file-%u", f->r.src, i);
        unit_write_random(path, 40000, i + 1, 0);
    }
    if (ofs_backup_run(&f->r.cfg, &f->r.set, f->r.store, f->r.ring, NULL, &f->rec, NULL) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ofs_record_free(f->rec);
    if (unit_repo_free(&f->r) < 0)
        return -1;
    free(f);
    return 0;
}

static char *object_path(const fixture *f, const char *name)
{
    static char buf[2][1024];
    static int n;
    char *out = buf[n++ % 2];
    snprintf(out, 1024, "%s/data/%s/%s/%s", f->r.staging, f->rec->class_name, f->rec->id, name);
    return out;
}

static char *object_key(const fixture *f, const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "data/%s/%s/%s", f->rec->class_name, f->rec->id, name);
    return buf;
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x01;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static void test_clean(void **state)
{
    fixture *f = *state;
    found s = { 0 };
    ofs_verify_stats stats = { 0 };
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, f->rec->id, 0, NULL,
                                       on_problem, &s, &stats),
                     0);
    assert_int_equal(s.count, 0);
    assert_int_equal(stats.backups, 1);
    assert_int_equal(stats.objects, f->rec->volumes + 1);
    assert_int_equal(stats.bytes, f->rec->stored_bytes);
    assert_int_equal(stats.files, 0);
    memset(&stats, 0, sizeof(stats));
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, f->rec->id, 1, NULL,
                                       on_problem, &s, &stats),
                     0);
    assert_int_equal(s.count, 0);
    assert_int_equal(stats.files, 6);
    assert_int_equal(stats.problems, 0);
    assert_int_equal(ofs_verify_manifest(f->r.store, f->r.ring, on_problem, &s, NULL), 0);
    assert_int_equal(s.count, 0);
}

static void test_flipped_byte(void **state)
{
    fixture *f = *state;
    found s = { 0 };
    flip_byte(object_path(f, "vol-0002.ofs"), 200);
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, f->rec->id, 1, NULL,
                                       on_problem, &s, NULL),
                     OFS_ECORRUPT);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.codes[0], OFS_ECORRUPT);
    assert_string_equal(s.objects[0], "vol-0002.ofs");
    char expected[1200];
    snprintf(expected, sizeof(expected), "%s: SHA-256 mismatch", object_key(f, "vol-0002.ofs"));
    assert_non_null(strstr(s.messages[0], expected));
    char summary[300];
    snprintf(summary, sizeof(summary), "backup '%s': 1 problem found", f->rec->id);
    assert_string_equal(ofs_error_last(), summary);
}

static void test_every_problem_reported(void **state)
{
    fixture *f = *state;
    found s = { 0 };
    struct stat st;
    /* volume 1 truncated, volume 2 missing, volume 3 flipped */
    assert_int_equal(stat(object_path(f, "vol-0001.ofs"), &st), 0);
    assert_int_equal(truncate(object_path(f, "vol-0001.ofs"), st.st_size - 10), 0);
    assert_int_equal(unlink(object_path(f, "vol-0002.ofs")), 0);
    flip_byte(object_path(f, "vol-0003.ofs"), 60);
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, f->rec->id, 1, NULL,
                                       on_problem, &s, NULL),
                     OFS_ECORRUPT);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.codes[0], OFS_ECORRUPT);
    assert_string_equal(s.objects[0], "vol-0001.ofs");
    char expected[1200];
    snprintf(expected, sizeof(expected), "%s: size %lld, expected %lld",
             object_key(f, "vol-0001.ofs"), (long long)st.st_size - 10, (long long)st.st_size);
    assert_non_null(strstr(s.messages[0], expected));
    assert_int_equal(s.codes[1], OFS_ENOTFOUND);
    assert_string_equal(s.objects[1], "vol-0002.ofs");
    assert_int_equal(s.codes[2], OFS_ECORRUPT);
    assert_string_equal(s.objects[2], "vol-0003.ofs");
}

static void test_swapped_volumes(void **state)
{
    fixture *f = *state;
    found s = { 0 };
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.swap", object_path(f, "vol-0001.ofs"));
    assert_int_equal(rename(object_path(f, "vol-0001.ofs"), tmp), 0);
    assert_int_equal(rename(object_path(f, "vol-0002.ofs"), object_path(f, "vol-0001.ofs")), 0);
    assert_int_equal(rename(tmp, object_path(f, "vol-0002.ofs")), 0);
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, f->rec->id, 0, NULL,
                                       on_problem, &s, NULL),
                     OFS_ECORRUPT);
    assert_int_equal(s.count, 2);
    assert_string_equal(s.objects[0], "vol-0001.ofs");
    assert_string_equal(s.objects[1], "vol-0002.ofs");
}

static void test_wrong_key_and_edited_record(void **state)
{
    fixture *f = *state;
    found s = { 0 };
    char other_key[200];
    ofs_keyring *other = NULL;
    snprintf(other_key, sizeof(other_key), "%s/other.key", f->r.base);
    assert_int_equal(ofs_keyring_generate(other_key, NULL), 0);
    assert_int_equal(ofs_keyring_load(&other, other_key), 0);
    int rc = ofs_verify_backup(f->r.store, other, f->rec->id, 1, NULL, on_problem, &s, NULL);
    assert_int_equal(rc, OFS_EWRONGKEY);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.codes[0], rc);
    assert_string_equal(s.objects[0], OFS_RECORD_NAME);
    ofs_keyring_free(other);

    /* a record whose description was edited no longer authenticates */
    char *json = NULL;
    size_t size = 0;
    assert_int_equal(ofs_store_get_buffer(f->r.store, object_key(f, OFS_RECORD_NAME), &json, &size,
                                          OFS_RECORD_MAX), 0);
    char *host = strstr(json, "testhost");
    assert_non_null(host);
    host[0] = 'b';
    assert_int_equal(unlink(object_path(f, OFS_RECORD_NAME)), 0);
    assert_int_equal(ofs_store_put_buffer(f->r.store, object_key(f, OFS_RECORD_NAME), 0, json,
                                          size), 0);
    free(json);
    memset(&s, 0, sizeof(s));
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, f->rec->id, 0, NULL,
                                       on_problem, &s, NULL),
                     OFS_EAUTH);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.codes[0], OFS_EAUTH);
    /* and the manifest's hash of it differs */
    memset(&s, 0, sizeof(s));
    assert_int_equal(ofs_verify_manifest(f->r.store, f->r.ring, on_problem, &s, NULL), OFS_ECORRUPT);
    assert_int_equal(s.count, 1);
    char expected[300];
    snprintf(expected, sizeof(expected),
             "the manifest entry of backup '%s' does not match its record", f->rec->id);
    assert_string_equal(s.messages[0], expected);
}

static void test_missing_backup(void **state)
{
    fixture *f = *state;
    found s = { 0 };
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, "t_20000101_000000", 0, NULL,
                                       on_problem, &s,
                                       NULL), OFS_ENOTFOUND);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.codes[0], OFS_ENOTFOUND);
    /* a record gone: the manifest lists a backup without one */
    assert_int_equal(unlink(object_path(f, OFS_RECORD_NAME)), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(ofs_verify_manifest(f->r.store, f->r.ring, on_problem, &s, NULL), OFS_ENOTFOUND);
    assert_int_equal(s.count, 1);
    char expected[300];
    snprintf(expected, sizeof(expected), "the manifest lists backup '%s', which has no record",
             f->rec->id);
    assert_string_equal(s.messages[0], expected);
}

/* lose_next_manifest_update(f, &second): a second backup whose manifest update is lost (the
 * manifest file's old bytes put back, as a crash between record and manifest would leave) */
static void lose_next_manifest_update(fixture *f, ofs_record **second)
{
    char path[512], *old = NULL;
    size_t size = 0;

    snprintf(path, sizeof(path), "%s/%s", f->r.staging, OFS_MANIFEST_KEY);
    assert_int_equal(ofs_read_file(path, &old, &size, 1 << 20), 0);
    setenv("OFFSITE_NOW", "2030-01-01T00:00:00Z", 1);
    assert_int_equal(ofs_backup_run(&f->r.cfg, &f->r.set, f->r.store, f->r.ring, NULL, second, NULL), 0);
    unsetenv("OFFSITE_NOW");
    assert_int_equal(ofs_write_file_atomic(path, old, size, 0600), 0);
    free(old);
}

/* A second backup committed without updating the manifest. */
static void test_record_missing_from_manifest(void **state)
{
    fixture *f = *state;
    found s = { 0 };
    ofs_record *second = NULL;
    lose_next_manifest_update(f, &second);
    assert_int_equal(ofs_verify_manifest(f->r.store, f->r.ring, on_problem, &s, NULL), OFS_ECORRUPT);
    assert_int_equal(s.count, 1);
    char expected[300];
    snprintf(expected, sizeof(expected), "backup '%s' is missing from the manifest", second->id);
    assert_string_equal(s.messages[0], expected);
    ofs_record_free(second);
}

/* read_data finds what hashes of stored objects cannot: a catalog that disagrees with the
 * archive (object hashes in the record are right, since the record was made from them). */
static void test_read_data_catalog_mismatch(void **state)
{
    fixture *f = *state;
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e = NULL;
    ofs_writer *mem = NULL, *w = NULL, *hash = NULL;
    ofs_catalog_writer *cw = NULL;
    char changed[512] = "";
    /* rewrite the catalog with one file's SHA-256 altered */
    assert_int_equal(ofs_repo_open_catalog(f->r.store, f->r.ring, f->rec, &cr), 0);
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_catalog_writer_new(&cw, mem), 0);
    while (ofs_catalog_reader_next(cr, &e) == 1) {
        ofs_catalog_entry copy;
        assert_int_equal(ofs_catalog_entry_copy(&copy, e), 0);
        if (copy.type == OFS_ENTRY_FILE && !changed[0]) {
            copy.sha256[0] ^= 1;
            snprintf(changed, sizeof(changed), "%s", copy.path);
        }
        assert_int_equal(ofs_catalog_writer_add(cw, &copy), 0);
        ofs_catalog_entry_clear(&copy);
    }
    ofs_catalog_reader_free(cr);
    assert_int_equal(ofs_catalog_writer_finish(cw), 0);
    size_t size = 0;
    const void *lines = ofs_memory_writer_data(mem, &size);
    char seal_name[1100];
    assert_int_equal(ofs_repo_seal_name(seal_name, sizeof(seal_name), f->rec->id,
                                        OFS_CATALOG_NAME), 0);
    assert_int_equal(unlink(object_path(f, OFS_CATALOG_NAME)), 0);
    assert_int_equal(ofs_store_put(f->r.store, object_key(f, OFS_CATALOG_NAME), 0, &w), 0);
    assert_int_equal(ofs_hash_writer_new(&w, w), 0);
    hash = w;
    assert_int_equal(ofs_seal_writer_new(&w, w, ofs_keyring_current(f->r.ring), seal_name, 0), 0);
    assert_int_equal(ofs_zstd_writer_new(&w, w, 3, 0), 0);
    assert_int_equal(ofs_writer_write(w, lines, size), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    uint8_t digest[OFS_SHA256_BYTES];
    uint64_t stored = 0;
    ofs_hash_writer_result(hash, digest, &stored);
    ofs_writer_free(w);
    ofs_catalog_writer_free(cw);
    /* a new record with the new catalog's size and hash */
    ofs_record_object *o = NULL;
    for (size_t i = 0; i < f->rec->object_count; i++)
        if (strcmp(f->rec->objects[i].name, OFS_CATALOG_NAME) == 0)
            o = &f->rec->objects[i];
    assert_non_null(o);
    o->size = stored;
    memcpy(o->sha256, digest, sizeof(digest));
    char *json = NULL;
    size_t json_size = 0;
    assert_int_equal(ofs_record_serialize(f->rec, f->r.ring, &json, &json_size), 0);
    assert_int_equal(unlink(object_path(f, OFS_RECORD_NAME)), 0);
    assert_int_equal(ofs_store_put_buffer(f->r.store, object_key(f, OFS_RECORD_NAME), 0, json,
                                          json_size), 0);
    free(json);

    found s = { 0 };
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, f->rec->id, 0, NULL,
                                       on_problem, &s, NULL),
                     0);
    assert_int_equal(s.count, 0);
    assert_int_equal(ofs_verify_backup(f->r.store, f->r.ring, f->rec->id, 1, NULL,
                                       on_problem, &s, NULL),
                     OFS_ECORRUPT);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.codes[0], OFS_ECORRUPT);
    assert_string_equal(s.files[0], changed);
    char expected[1200];
    snprintf(expected, sizeof(expected), "%s: SHA-256 mismatch", changed);
    assert_string_equal(s.messages[0], expected);
}

/* ---- repair ---- */

typedef struct changes {
    int count;
    char ids[8][64], kinds[8][16], messages[8][512];
} changes;

static void on_change(void *ctx, const ofs_verify_change *c)
{
    changes *ch = ctx;
    if (ch->count >= 8)
        return;
    snprintf(ch->ids[ch->count], 64, "%s", c->id ? c->id : "");
    snprintf(ch->kinds[ch->count], 16, "%s", c->change);
    snprintf(ch->messages[ch->count], 512, "%s", c->message);
    ch->count++;
}

/* verify reports a record the manifest lacks and an entry whose record is gone; repair fixes
 * both, says so, and a second repair finds nothing and writes nothing. */
static void test_repair(void **state)
{
    fixture *f = *state;
    found s = { 0 };
    ofs_manifest *m = NULL;
    changes ch = { 0 };
    ofs_record *second = NULL;
    size_t n = 99;
    struct stat before, after;
    char manifest[256];
    snprintf(manifest, sizeof(manifest), "%s/%s", f->r.staging, OFS_MANIFEST_KEY);

    /* a second backup the manifest does not list, and the first backup's record gone */
    lose_next_manifest_update(f, &second);
    assert_int_equal(unlink(object_path(f, OFS_RECORD_NAME)), 0);
    assert_int_equal(ofs_verify_manifest(f->r.store, f->r.ring, on_problem, &s, NULL), OFS_ECORRUPT);
    assert_int_equal(s.count, 2);

    assert_int_equal(ofs_verify_repair(f->r.store, f->r.ring, on_change, &ch, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ch.count, 2);
    assert_string_equal(ch.kinds[0], "added");
    assert_string_equal(ch.ids[0], second->id);
    assert_string_equal(ch.messages[0], "a record the manifest lacked");
    assert_string_equal(ch.kinds[1], "removed");
    assert_string_equal(ch.ids[1], f->rec->id);
    assert_string_equal(ch.messages[1], "listed, but its record is gone or fails its MAC");
    memset(&s, 0, sizeof(s));
    assert_int_equal(ofs_verify_manifest(f->r.store, f->r.ring, on_problem, &s, NULL), 0);
    assert_int_equal(s.count, 0);
    assert_int_equal(ofs_manifest_load(&m, f->r.store, f->r.ring), 0);
    assert_int_equal(m->count, 1);
    assert_string_equal(m->entries[0].id, second->id);
    ofs_manifest_free(m);

    /* nothing left to repair: the manifest is not rewritten */
    assert_int_equal(stat(manifest, &before), 0);
    memset(&ch, 0, sizeof(ch));
    assert_int_equal(ofs_verify_repair(f->r.store, f->r.ring, on_change, &ch, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ch.count, 0);
    assert_int_equal(stat(manifest, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);

    /* a manifest edited by hand: replaced, saying why */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "sed -i 's/testhost/evilhost/' '%s'", manifest);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(ofs_verify_repair(f->r.store, f->r.ring, on_change, &ch, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ch.kinds[0], "replaced");
    assert_string_equal(ch.ids[0], "");
    assert_non_null(strstr(ch.messages[0], "MAC mismatch"));
    assert_int_equal(ofs_verify_manifest(f->r.store, f->r.ring, on_problem, &s, NULL), 0);

    /* no manifest at all */
    assert_int_equal(unlink(manifest), 0);
    memset(&ch, 0, sizeof(ch));
    assert_int_equal(ofs_verify_repair(f->r.store, f->r.ring, on_change, &ch, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ch.kinds[0], "replaced");
    assert_int_equal(stat(manifest, &after), 0);

    /* an empty new store: nothing to repair, nothing written */
    ofs_store *empty = NULL;
    char path[256];
    snprintf(path, sizeof(path), "%s/empty", f->r.base);
    assert_int_equal(ofs_store_file_new(&empty, "empty", path), 0);
    assert_int_equal(ofs_verify_repair(empty, f->r.ring, NULL, NULL, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(ofs_manifest_load(&m, empty, f->r.ring), OFS_ENOTFOUND);
    ofs_store_free(empty);
    ofs_record_free(second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_problem_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_volumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_and_edited_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_missing_from_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_data_catalog_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repair, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
