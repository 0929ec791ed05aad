/* test_manifest.c - the manifest: add/replace/remove/find/latest and their order, save/load on a
 * file store (with the Python verifier of docs/format.md when it can run), MAC tamper, wrong key,
 * malformed entries, and a rebuild from the records that skips bad ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
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
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/store.h"

#define MANIFEST_NAME "staging: manifest.json"

typedef struct fixture {
    char dir[64];
    char root[128], key[128], other_key[128];
    ofs_keyring *ring, *other;
    ofs_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/test_manifest.XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->root, sizeof(f->root), "%s/staging", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->dir);
    snprintf(f->other_key, sizeof(f->other_key), "%s/other.key", f->dir);
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
    unsetenv("OFFSITE_NOW");
    ofs_store_free(f->store);
    ofs_keyring_free(f->ring);
    ofs_keyring_free(f->other);
    int rc = ofs_rm_rf(f->dir);
    free(f);
    return rc < 0 ? -1 : 0;
}

/* A record of the set named by id's first part, with one volume and a catalog. */
static ofs_record *make_record(const ofs_keyring *ring, const char *id, const char *class_name,
                               int64_t started, const char *base)
{
    ofs_record *rec = NULL;
    uint8_t digest[OFS_SHA256_BYTES];
    assert_int_equal(ofs_record_new(&rec), 0);
    rec->id = strdup(id);
    rec->set = strndup(id, strcspn(id, "_"));
    rec->kind = strdup(base ? "diff" : "full");
    rec->base = base ? strdup(base) : NULL;
    rec->class_name = strdup(class_name);
    rec->host = strdup("testhost");
    rec->tool_version = strdup("0.1.0");
    rec->started = started;
    rec->finished = started + 30;
    memcpy(rec->key_id, ofs_keyring_current(ring)->id, OFS_KEY_ID_BYTES);
    rec->files = 10;
    rec->bytes = 1000;
    rec->volumes = 1;
    ofs_sha256_buffer(id, strlen(id), digest);
    assert_int_equal(ofs_record_add_object(rec, "vol-0001.ofs", 500, digest), 0);
    assert_int_equal(ofs_record_add_object(rec, "catalog.ofs", 50, digest), 0);
    rec->stored_bytes = 550;
    return rec;
}

/* Adds rec to m, serialized with ring. */
static void add(ofs_manifest *m, const ofs_keyring *ring, const ofs_record *rec)
{
    char *json = NULL;
    size_t size = 0;
    assert_int_equal(ofs_record_serialize(rec, ring, &json, &size), 0);
    assert_int_equal(ofs_manifest_add(m, rec, json, size), 0);
    free(json);
}

/* Serializes rec and stores it at data/<class_name>/<id>/backup.json (class/id may differ from
 * the record's own, to misplace it). */
static void store_record(fixture *f, const ofs_keyring *ring, const ofs_record *rec,
                         const char *class_name, const char *id)
{
    char key[512], *json = NULL;
    size_t size = 0;
    assert_int_equal(ofs_record_serialize(rec, ring, &json, &size), 0);
    assert_int_equal(ofs_repo_key(key, sizeof(key), class_name, id, OFS_RECORD_NAME), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, key, 0, json, size), 0);
    free(json);
}

static void assert_ids(const ofs_manifest *m, const char *const *ids, size_t count)
{
    assert_int_equal(m->count, count);
    for (size_t i = 0; i < count; i++)
        assert_string_equal(m->entries[i].id, ids[i]);
}

static void test_add_find_latest_remove(void **state)
{
    fixture *f = *state;
    ofs_manifest *m = NULL;
    ofs_record *c = make_record(f->ring, "t_20261121_171503", "daily", 300, NULL);
    ofs_record *a = make_record(f->ring, "t_20261121_171501", "monthly", 100, NULL);
    ofs_record *b = make_record(f->ring, "t_20261121_171502", "weekly", 200, NULL);
    ofs_record *b2 = make_record(f->ring, "t_20261121_171502_2", "daily", 200,
                                 "t_20261121_171502");
    ofs_record *other = make_record(f->ring, "u_20261121_171500", "monthly", 250, NULL);
    assert_string_equal(b2->set, "t");

    assert_int_equal(ofs_manifest_new(&m), 0);
    assert_null(ofs_manifest_latest(m, NULL));
    add(m, f->ring, c);
    add(m, f->ring, b2);
    add(m, f->ring, a);
    add(m, f->ring, other);
    add(m, f->ring, b);
    /* by start time, then id */
    const char *order[] = { a->id, b->id, b2->id, other->id, c->id };
    assert_ids(m, order, 5);

    char *json = NULL;
    size_t size = 0;
    uint8_t digest[OFS_SHA256_BYTES];
    assert_int_equal(ofs_record_serialize(b2, f->ring, &json, &size), 0);
    ofs_sha256_buffer(json, size, digest);
    free(json);
    const ofs_manifest_entry *e = ofs_manifest_find(m, b2->id);
    assert_non_null(e);
    assert_string_equal(e->set, "t");
    assert_string_equal(e->kind, "diff");
    assert_string_equal(e->base, b->id);
    assert_string_equal(e->class_name, "daily");
    assert_string_equal(e->host, "testhost");
    assert_null(e->description);
    assert_int_equal(e->started, 200);
    assert_int_equal(e->finished, 230);
    assert_int_equal(e->files, 10);
    assert_int_equal(e->bytes, 1000);
    assert_int_equal(e->stored_bytes, 550);
    assert_memory_equal(e->record_sha256, digest, OFS_SHA256_BYTES);
    assert_null(ofs_manifest_find(m, "t_20000101_000000"));

    assert_string_equal(ofs_manifest_latest(m, NULL)->id, c->id);
    assert_string_equal(ofs_manifest_latest(m, "t")->id, c->id);
    assert_string_equal(ofs_manifest_latest(m, "u")->id, other->id);
    assert_null(ofs_manifest_latest(m, "none"));

    /* replace by id: no duplicate, the new values, its new place */
    free(a->host);
    a->host = strdup("rebuilt");
    a->started = 400;
    add(m, f->ring, a);
    const char *order2[] = { b->id, b2->id, other->id, c->id, a->id };
    assert_ids(m, order2, 5);
    assert_string_equal(ofs_manifest_find(m, a->id)->host, "rebuilt");
    assert_string_equal(ofs_manifest_latest(m, "t")->id, a->id);

    assert_int_equal(ofs_manifest_remove(m, b2->id), 0);
    const char *order3[] = { b->id, other->id, c->id, a->id };
    assert_ids(m, order3, 4);
    assert_int_equal(ofs_manifest_remove(m, b2->id), OFS_ENOTFOUND);
    assert_string_equal(ofs_error_last(), "backup 't_20261121_171502_2' is not in the manifest");
    assert_int_equal(ofs_manifest_add(m, b2, NULL, 0), OFS_ERROR);
    free(b2->class_name);
    b2->class_name = strdup("hourly");
    assert_int_equal(ofs_manifest_add(m, b2, "{}", 2), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(),
                        "manifest: member 'class' must be 'daily', 'weekly' or 'monthly'");
    assert_int_equal(m->count, 4);

    ofs_manifest_free(m);
    ofs_manifest_free(NULL);
    ofs_record_free(a);
    ofs_record_free(b);
    ofs_record_free(b2);
    ofs_record_free(c);
    ofs_record_free(other);
}

static char *manifest_path(const fixture *f)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/manifest.json", f->root);
    return path;
}

/* Runs ofs_format.py check-mac on path: 0 ok, 1 refused, -1 cannot run here. */
static int python_check(const char *key, const char *path)
{
    const char *data_dir = getenv("OFS_TEST_DATA");
    char cmd[2048];
    if (!data_dir || system("python3 -c 'import cryptography' 2>/dev/null") != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "python3 '%s/../../integration/tools/ofs_format.py' check-mac "
             "--key '%s' < '%s' > /dev/null 2>&1", data_dir, key, path);
    return system(cmd) == 0 ? 0 : 1;
}

/* Three backups, one a differential, one with a description, saved. */
static void save_three(fixture *f, ofs_manifest **out)
{
    ofs_manifest *m = NULL;
    ofs_record *a = make_record(f->ring, "t_20261121_171500", "monthly", 1795281300, NULL);
    ofs_record *b = make_record(f->ring, "t_20261122_171500", "daily", 1795367700, a->id);
    ofs_record *c = make_record(f->ring, "fills_20261122_171500", "monthly", 1795367700, NULL);
    c->description = strdup("pre-deploy \xe2\x80\x94 v2.1\n\x01");
    assert_int_equal(ofs_manifest_new(&m), 0);
    add(m, f->ring, b);
    add(m, f->ring, c);
    add(m, f->ring, a);
    setenv("OFFSITE_NOW", "2026-11-22T18:00:00Z", 1);
    assert_int_equal(ofs_manifest_save(m, f->store, f->ring), 0);
    assert_int_equal(m->updated, 1795370400);
    assert_memory_equal(m->key_id, ofs_keyring_current(f->ring)->id, OFS_KEY_ID_BYTES);
    ofs_record_free(a);
    ofs_record_free(b);
    ofs_record_free(c);
    *out = m;
}

static void test_save_load(void **state)
{
    fixture *f = *state;
    ofs_manifest *m = NULL, *back = NULL;
    char *text = NULL;
    size_t size = 0;

    assert_int_equal(ofs_manifest_load(&back, f->store, f->ring), OFS_ENOTFOUND);
    assert_null(back);
    save_three(f, &m);
    assert_int_equal(ofs_read_file(manifest_path(f), &text, &size, 1 << 20), 0);
    assert_int_equal(text[size - 1], '\n');
    assert_non_null(strstr(text, "\n  \"format\": \"offsite-manifest\",\n"));
    assert_non_null(strstr(text, "\"updated\": \"2026-11-22T18:00:00Z\""));
    free(text);

    assert_int_equal(ofs_manifest_load(&back, f->store, f->ring), 0);
    assert_int_equal(back->count, 3);
    assert_int_equal(back->updated, 1795370400);
    assert_memory_equal(back->key_id, m->key_id, OFS_KEY_ID_BYTES);
    for (size_t i = 0; i < 3; i++) {
        const ofs_manifest_entry *x = &m->entries[i], *y = &back->entries[i];
        assert_string_equal(x->id, y->id);
        assert_string_equal(x->set, y->set);
        assert_string_equal(x->kind, y->kind);
        assert_true((x->base == NULL) == (y->base == NULL));
        assert_true((x->description == NULL) == (y->description == NULL));
        assert_string_equal(x->class_name, y->class_name);
        assert_int_equal(x->started, y->started);
        assert_int_equal(x->finished, y->finished);
        assert_int_equal(x->stored_bytes, y->stored_bytes);
        assert_memory_equal(x->record_sha256, y->record_sha256, OFS_SHA256_BYTES);
    }
    assert_string_equal(back->entries[0].id, "t_20261121_171500");
    assert_string_equal(back->entries[1].id, "fills_20261122_171500"); /* same second: by id */
    assert_string_equal(back->entries[1].description, "pre-deploy \xe2\x80\x94 v2.1\n\x01");
    assert_string_equal(back->entries[2].base, "t_20261121_171500");
    ofs_manifest_free(back);

    /* saving again replaces the object */
    setenv("OFFSITE_NOW", "2026-11-23T18:00:00Z", 1);
    assert_int_equal(ofs_manifest_remove(m, "fills_20261122_171500"), 0);
    assert_int_equal(ofs_manifest_save(m, f->store, f->ring), 0);
    assert_int_equal(ofs_manifest_load(&back, f->store, NULL), 0);
    assert_int_equal(back->count, 2);
    assert_int_equal(back->updated, 1795456800);
    ofs_manifest_free(back);

    int rc = python_check(f->key, manifest_path(f));
    ofs_manifest_free(m);
    if (rc < 0)
        skip();
    assert_int_equal(rc, 0);
}

static void write_manifest(fixture *f, const char *text)
{
    assert_int_equal(ofs_store_del(f->store, OFS_MANIFEST_KEY), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, OFS_MANIFEST_KEY, 0, text, strlen(text)), 0);
}

static void test_tamper_and_keys(void **state)
{
    fixture *f = *state;
    ofs_manifest *m = NULL, *back = NULL;
    char *text = NULL;
    size_t size = 0;
    save_three(f, &m);
    assert_int_equal(ofs_read_file(manifest_path(f), &text, &size, 1 << 20), 0);

    char *at = strstr(text, "\"files\": 10");
    assert_non_null(at);
    at[10] = '9';
    write_manifest(f, text);
    back = (ofs_manifest *)1;
    assert_int_equal(ofs_manifest_load(&back, f->store, f->ring), OFS_EAUTH);
    assert_null(back);
    assert_string_equal(ofs_error_last(),
                        MANIFEST_NAME ": manifest MAC mismatch (modified, or wrong key)");
    if (python_check(f->key, manifest_path(f)) >= 0)
        assert_int_equal(python_check(f->key, manifest_path(f)), 1);
    /* without the key (a monitoring host) it still lists */
    assert_int_equal(ofs_manifest_load(&back, f->store, NULL), 0);
    assert_int_equal(back->entries[0].files, 19);
    ofs_manifest_free(back);

    /* a key file without the manifest's key */
    char hex[17], expected[200];
    ofs_key_id_hex(ofs_keyring_current(f->ring)->id, hex);
    char held[17];
    ofs_key_id_hex(ofs_keyring_current(f->other)->id, held);
    snprintf(expected, sizeof(expected),
             MANIFEST_NAME ": key %s is not in the key file (it holds key %s)", hex, held);
    assert_int_equal(ofs_manifest_load(&back, f->store, f->other), OFS_EWRONGKEY);
    assert_true(strncmp(ofs_error_last(), expected, strlen(expected)) == 0);
    assert_non_null(strstr(ofs_error_last(), "\nHINT: this repository was written with another"));

    /* saved with another ring, it carries that ring's current key (read without a MAC
     * check, so the save finds the stored manifest unchanged since) */
    ofs_manifest_free(m);
    assert_int_equal(ofs_manifest_load(&m, f->store, NULL), 0);
    assert_int_equal(ofs_manifest_save(m, f->store, f->other), 0);
    assert_int_equal(ofs_manifest_load(&back, f->store, f->other), 0);
    assert_memory_equal(back->key_id, ofs_keyring_current(f->other)->id, OFS_KEY_ID_BYTES);
    ofs_manifest_free(back);
    ofs_manifest_free(m);
    free(text);
}

/* A manifest signed correctly whose content breaks the rules. */
static void test_malformed(void **state)
{
    fixture *f = *state;
    ofs_manifest *m = NULL, *back = NULL;
    char *text = NULL, *out = NULL;
    size_t size = 0, out_size = 0;
    save_three(f, &m);
    ofs_manifest_free(m);
    assert_int_equal(ofs_read_file(manifest_path(f), &text, &size, 1 << 20), 0);

    static const char *expected[] = {
        MANIFEST_NAME ": backup 't_20261121_171500' is listed twice",
        MANIFEST_NAME ": member 'backups[1].host' is missing",
        MANIFEST_NAME ": member 'backups[2].record_sha256' must be 64 lowercase hex digits",
        MANIFEST_NAME ": member 'backups[0].kind' must be 'full' or 'diff'",
        MANIFEST_NAME ": member 'backups' must be an array",
        MANIFEST_NAME ": member 'updated' is missing",
        MANIFEST_NAME ": member 'format' must be 'offsite-manifest'",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        json_t *obj = json_loads(text, 0, NULL), *backups = json_object_get(obj, "backups");
        assert_non_null(obj);
        switch (i) {
        case 0: json_array_append(backups, json_array_get(backups, 0)); break;
        case 1: json_object_del(json_array_get(backups, 1), "host"); break;
        case 2: json_object_set_new(json_array_get(backups, 2), "record_sha256", json_string("x"));
            break;
        case 3: json_object_set_new(json_array_get(backups, 0), "kind", json_string("incr"));
            break;
        case 4: json_object_set_new(obj, "backups", json_string("none")); break;
        case 5: json_object_del(obj, "updated"); break;
        case 6: json_object_set_new(obj, "format", json_string("offsite-record")); break;
        }
        assert_int_equal(ofs_record_mac_sign(obj, f->ring, ofs_keyring_current(f->ring)->id), 0);
        assert_int_equal(ofs_record_json_dump(obj, &out, &out_size), 0);
        write_manifest(f, out);
        int rc = ofs_manifest_load(&back, f->store, f->ring);
        if (rc != OFS_ECORRUPT || strcmp(ofs_error_last(), expected[i]) != 0)
            fail_msg("case %zu: rc %d, '%s'", i, rc, ofs_error_last());
        assert_null(back);
        free(out);
        json_decref(obj);
    }
    free(text);
}

static void test_rebuild(void **state)
{
    fixture *f = *state;
    ofs_manifest *m = NULL;
    ofs_record *a = make_record(f->ring, "t_20261121_171500", "monthly", 1795281300, NULL);
    ofs_record *b = make_record(f->ring, "t_20261123_171500", "weekly", 1795454100, NULL);
    ofs_record *c = make_record(f->ring, "t_20261122_171500", "daily", 1795367700, a->id);
    ofs_record *bad = make_record(f->ring, "t_20261124_171500", "daily", 1795540500, NULL);
    ofs_record *foreign = make_record(f->other, "t_20261125_171500", "daily", 1795626900, NULL);
    char key[512], *json = NULL;
    size_t size = 0;

    /* an empty store: an empty manifest */
    assert_int_equal(ofs_manifest_rebuild(&m, f->store, f->ring), 0);
    assert_int_equal(m->count, 0);
    ofs_manifest_free(m);

    store_record(f, f->ring, b, "weekly", b->id);
    store_record(f, f->ring, a, "monthly", a->id);
    store_record(f, f->ring, c, "daily", c->id);
    /* a volume next to a record is not a record */
    assert_int_equal(ofs_repo_key(key, sizeof(key), "daily", c->id, "vol-0001.ofs"), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, key, 0, "x", 1), 0);
    /* tampered: fails its MAC */
    assert_int_equal(ofs_record_serialize(bad, f->ring, &json, &size), 0);
    char *host = strstr(json, "testhost");
    host[0] = 'b';
    assert_int_equal(ofs_repo_key(key, sizeof(key), "daily", bad->id, OFS_RECORD_NAME), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, key, 0, json, size), 0);
    free(json);
    /* a's record copied into another backup's place, and into another class */
    store_record(f, f->ring, a, "daily", "t_20261126_171500");
    store_record(f, f->ring, a, "daily", a->id);
    /* not where records live */
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/x/y/backup.json", 0, "{}", 2), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, "data/backup.json", 0, "{}", 2), 0);

    assert_int_equal(ofs_manifest_rebuild(&m, f->store, f->ring), 0);
    const char *order[] = { a->id, c->id, b->id };
    assert_ids(m, order, 3);
    /* each entry hashes its record file as stored */
    for (size_t i = 0; i < m->count; i++) {
        uint8_t digest[OFS_SHA256_BYTES];
        assert_int_equal(ofs_repo_key(key, sizeof(key), m->entries[i].class_name,
                                      m->entries[i].id, OFS_RECORD_NAME), 0);
        assert_int_equal(ofs_store_get_buffer(f->store, key, &json, &size, OFS_RECORD_MAX), 0);
        ofs_sha256_buffer(json, size, digest);
        assert_memory_equal(m->entries[i].record_sha256, digest, OFS_SHA256_BYTES);
        free(json);
    }
    assert_string_equal(ofs_manifest_find(m, c->id)->base, a->id);
    /* the copy of a in the daily folder says "monthly": skipped, the real one kept */
    assert_string_equal(ofs_manifest_find(m, a->id)->class_name, "monthly");
    ofs_manifest_free(m);

    /* a record signed with a key this ring lacks is never left out: the rebuild fails,
     * naming it and both keys, so no manifest without it is ever written */
    store_record(f, f->other, foreign, "daily", foreign->id);
    assert_int_equal(ofs_manifest_rebuild(&m, f->store, f->ring), OFS_EWRONGKEY);
    assert_null(m);
    assert_non_null(strstr(ofs_error_last(), foreign->id));
    assert_non_null(strstr(ofs_error_last(), "is not in the key file (it holds key "));
    assert_non_null(strstr(ofs_error_last(), "HINT: this repository was written with another"));

    /* without a key nothing is skipped for its MAC; misplaced records still are */
    assert_int_equal(ofs_manifest_rebuild(&m, f->store, NULL), 0);
    assert_int_equal(m->count, 5);
    assert_non_null(ofs_manifest_find(m, bad->id));
    assert_non_null(ofs_manifest_find(m, foreign->id));
    ofs_manifest_free(m);

    ofs_record_free(a);
    ofs_record_free(b);
    ofs_record_free(c);
    ofs_record_free(bad);
    ofs_record_free(foreign);
}

/* Two hosts read the same manifest, each adds its backup and saves: the second save finds the
 * manifest changed, merges, and both backups are listed. A removal merges the same way. */
static void test_concurrent_saves_merge(void **state)
{
    fixture *f = *state;
    ofs_manifest *base = NULL, *a = NULL, *b = NULL, *back = NULL;
    ofs_record *r1 = make_record(f->ring, "pos_20261101_171500", "daily", 1793552100, NULL);
    ofs_record *r2 = make_record(f->ring, "pos_20261102_171500", "daily", 1793638500, NULL);
    ofs_record *r3 = make_record(f->ring, "ord_20261102_171600", "daily", 1793638560, NULL);

    assert_int_equal(ofs_manifest_new(&base), 0);
    add(base, f->ring, r1);
    assert_int_equal(ofs_manifest_save(base, f->store, f->ring), 0);
    ofs_manifest_free(base);

    assert_int_equal(ofs_manifest_load(&a, f->store, f->ring), 0);
    assert_int_equal(ofs_manifest_load(&b, f->store, f->ring), 0);
    add(a, f->ring, r2);
    assert_int_equal(ofs_manifest_save(a, f->store, f->ring), 0);
    add(b, f->ring, r3);
    assert_int_equal(ofs_manifest_remove(b, r1->id), 0);
    assert_int_equal(ofs_manifest_save(b, f->store, f->ring), 0); /* conflict, merged */
    assert_int_equal(b->count, 2);

    assert_int_equal(ofs_manifest_load(&back, f->store, f->ring), 0);
    assert_int_equal(back->count, 2);
    assert_non_null(ofs_manifest_find(back, r2->id)); /* a's add survived b's save */
    assert_non_null(ofs_manifest_find(back, r3->id));
    assert_null(ofs_manifest_find(back, r1->id));
    ofs_manifest_free(back);

    /* a saves again from its now stale copy: b's add and remove survive too */
    add(a, f->ring, r1);
    assert_int_equal(ofs_manifest_save(a, f->store, f->ring), 0);
    assert_int_equal(ofs_manifest_load(&back, f->store, f->ring), 0);
    assert_int_equal(back->count, 3);
    assert_non_null(ofs_manifest_find(back, r3->id));
    ofs_manifest_free(back);

    /* a new manifest (the target had none when read) does not overwrite one made meanwhile */
    ofs_manifest *fresh = NULL;
    assert_int_equal(ofs_manifest_new(&fresh), 0);
    ofs_record *r4 = make_record(f->ring, "cfg_20261103_171500", "daily", 1793724900, NULL);
    add(fresh, f->ring, r4);
    assert_int_equal(ofs_manifest_save(fresh, f->store, f->ring), 0);
    assert_int_equal(ofs_manifest_load(&back, f->store, f->ring), 0);
    assert_int_equal(back->count, 4);
    ofs_manifest_free(back);
    ofs_manifest_free(fresh);
    ofs_record_free(r4);

    ofs_manifest_free(a);
    ofs_manifest_free(b);
    ofs_record_free(r1);
    ofs_record_free(r2);
    ofs_record_free(r3);
}

/* A rebuilt manifest that loses the race is rebuilt again from the records (which now hold
 * the other writer's backup), then its own edits are applied. */
static void test_rebuilt_save_merges(void **state)
{
    fixture *f = *state;
    ofs_manifest *m = NULL, *other = NULL, *back = NULL;
    ofs_record *r1 = make_record(f->ring, "pos_20261101_171500", "daily", 1793552100, NULL);
    ofs_record *r2 = make_record(f->ring, "pos_20261102_171500", "daily", 1793638500, NULL);

    store_record(f, f->ring, r1, "daily", r1->id);
    assert_int_equal(ofs_manifest_rebuild(&m, f->store, f->ring), 0);
    assert_int_equal(m->count, 1);
    /* another host commits r2: record first, then its manifest */
    store_record(f, f->ring, r2, "daily", r2->id);
    assert_int_equal(ofs_manifest_new(&other), 0);
    add(other, f->ring, r2);
    assert_int_equal(ofs_manifest_save(other, f->store, f->ring), 0);

    assert_int_equal(ofs_manifest_remove(m, r1->id), 0);
    assert_int_equal(ofs_manifest_save(m, f->store, f->ring), 0);
    assert_int_equal(ofs_manifest_load(&back, f->store, f->ring), 0);
    assert_int_equal(back->count, 1);
    assert_string_equal(back->entries[0].id, r2->id);
    ofs_manifest_free(back);
    ofs_manifest_free(other);
    ofs_manifest_free(m);

    /* the manifest deleted under a loaded copy: the records, not an empty index, are merged */
    assert_int_equal(ofs_manifest_load(&m, f->store, f->ring), 0);
    assert_int_equal(ofs_store_del(f->store, OFS_MANIFEST_KEY), 0);
    ofs_record *r3 = make_record(f->ring, "ord_20261102_171600", "daily", 1793638560, NULL);
    add(m, f->ring, r3);
    assert_int_equal(ofs_manifest_save(m, f->store, f->ring), 0);
    assert_int_equal(ofs_manifest_load(&back, f->store, f->ring), 0);
    assert_int_equal(back->count, 3); /* r1 and r2 from their records, r3 from the edit */
    ofs_manifest_free(back);
    ofs_manifest_free(m);
    ofs_record_free(r3);
    ofs_record_free(r1);
    ofs_record_free(r2);
}

/* ids of one second in the order they were made: _10 after _9, not before _2 */
static void test_id_order(void **state)
{
    (void)state;
    assert_true(ofs_manifest_id_compare("data_20261203_083247", "data_20261203_083247_2") < 0);
    assert_true(ofs_manifest_id_compare("data_20261203_083247_9", "data_20261203_083247_10") < 0);
    assert_true(ofs_manifest_id_compare("data_20261203_083247_22", "data_20261203_083247_3") > 0);
    assert_int_equal(ofs_manifest_id_compare("data_20261203_083247_7", "data_20261203_083247_7"),
                     0);
    assert_true(ofs_manifest_id_compare("data_20261203_083246_9", "data_20261203_083247") < 0);
    assert_true(ofs_manifest_id_compare("a_20261203_083247_5", "b_20261203_083247") < 0);
    /* not a suffix: compared as text */
    assert_true(ofs_manifest_id_compare("x_12", "x_9") < 0);
    ofs_manifest_entry x = { .id = (char *)"d_20261203_083247_10", .started = 5 };
    ofs_manifest_entry y = { .id = (char *)"d_20261203_083247_9", .started = 5 };
    assert_true(ofs_manifest_entry_order(&x, &y) > 0);
    y.started = 6;
    assert_true(ofs_manifest_entry_order(&x, &y) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_order),
        cmocka_unit_test_setup_teardown(test_add_find_latest_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_saves_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuilt_save_merges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
