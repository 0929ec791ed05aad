/* test_record.c - backup.json: round trips (full, diff, odd descriptions), every validation
 * error by its exact message, MAC tamper/wrong key/no key, a golden MAC, and the Python
 * verifier of docs/format.md (tests/integration/tools/ofs_format.py) on our output and ours
 * on its output. */
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
#include "offsite/record.h"

#define ID "positions_20261121_171500"
#define NAME "rec"
#define DESCRIPTION "pre-deploy v2.1: \x01\x1f\t\n\"\\/ \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \x7f end"

typedef struct fixture {
    char dir[64];
    char key[128], other_key[128], golden_key[128];
    ofs_keyring *ring, *other;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/test_record.XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->dir);
    snprintf(f->other_key, sizeof(f->other_key), "%s/other.key", f->dir);
    snprintf(f->golden_key, sizeof(f->golden_key), "%s/golden.key", f->dir);
    if (ofs_keyring_generate(f->key, NULL) < 0 || ofs_keyring_load(&f->ring, f->key) < 0 ||
        ofs_keyring_generate(f->other_key, NULL) < 0 ||
        ofs_keyring_load(&f->other, f->other_key) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ofs_keyring_free(f->ring);
    ofs_keyring_free(f->other);
    int rc = ofs_rm_rf(f->dir);
    free(f);
    return rc < 0 ? -1 : 0;
}

static void sha_of(const char *text, uint8_t digest[OFS_SHA256_BYTES])
{
    assert_int_equal(ofs_sha256_buffer(text, strlen(text), digest), 0);
}

/* A full backup with two volumes, every member set. */
static ofs_record *make_record(const ofs_keyring *ring)
{
    ofs_record *rec = NULL;
    uint8_t digest[OFS_SHA256_BYTES];
    assert_int_equal(ofs_record_new(&rec), 0);
    rec->id = strdup(ID);
    rec->set = strdup("positions");
    rec->kind = strdup("full");
    rec->class_name = strdup("monthly");
    rec->host = strdup("trading-01");
    rec->tool_version = strdup("0.1.0");
    rec->description = strdup(DESCRIPTION);
    rec->started = 1795281300;  /* 2026-11-21T17:15:00Z */
    rec->finished = 1795281362;
    memcpy(rec->key_id, ofs_keyring_current(ring)->id, OFS_KEY_ID_BYTES);
    rec->files = 1234;
    rec->bytes = 5000000000ull; /* more than 32 bits */
    rec->volumes = 2;
    sha_of("one", digest);
    assert_int_equal(ofs_record_add_object(rec, "vol-0001.ofs", 134217728, digest), 0);
    sha_of("two", digest);
    assert_int_equal(ofs_record_add_object(rec, "vol-0002.ofs", 1000, digest), 0);
    sha_of("catalog", digest);
    assert_int_equal(ofs_record_add_object(rec, "catalog.ofs", 77, digest), 0);
    return rec;
}

static void assert_same_record(const ofs_record *a, const ofs_record *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->set, b->set);
    assert_string_equal(a->kind, b->kind);
    if (a->base || b->base)
        assert_string_equal(a->base, b->base);
    assert_string_equal(a->class_name, b->class_name);
    assert_string_equal(a->host, b->host);
    assert_string_equal(a->tool_version, b->tool_version);
    if (a->description || b->description)
        assert_string_equal(a->description, b->description);
    assert_int_equal(a->started, b->started);
    assert_int_equal(a->finished, b->finished);
    assert_memory_equal(a->key_id, b->key_id, OFS_KEY_ID_BYTES);
    assert_int_equal(a->files, b->files);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->volumes, b->volumes);
    assert_int_equal(a->object_count, b->object_count);
    for (size_t i = 0; i < a->object_count; i++) {
        assert_string_equal(a->objects[i].name, b->objects[i].name);
        assert_int_equal(a->objects[i].size, b->objects[i].size);
        assert_memory_equal(a->objects[i].sha256, b->objects[i].sha256, OFS_SHA256_BYTES);
    }
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_record(f->ring), *back = NULL;
    char *json = NULL;
    size_t size = 0;

    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), 0);
    assert_int_equal(strlen(json), size);
    assert_int_equal(json[size - 1], '\n');
    assert_non_null(strstr(json, "\n  \"bytes\": 5000000000,\n")); /* indented, sorted */
    assert_non_null(strstr(json, "\"started\": \"2026-11-21T17:15:00Z\""));
    assert_non_null(strstr(json, "\\u0001\\u001F\\t\\n\\\"\\\\/ \xc3\xa9")); /* UTF-8 as is */
    assert_null(strstr(json, "\"base\""));                             /* omitted for full */
    assert_int_equal(ofs_record_parse(&back, json, size, f->ring, NAME), 0);
    assert_same_record(rec, back);
    assert_int_equal(back->stored_bytes, 134217728 + 1000 + 77); /* computed on write */
    assert_non_null(ofs_record_find_object(back, "vol-0002.ofs"));
    assert_int_equal(ofs_record_find_object(back, "catalog.ofs")->size, 77);
    assert_null(ofs_record_find_object(back, "vol-0003.ofs"));
    ofs_record_free(back);
    ofs_record_free(rec);
    free(json);
}

static void test_diff_round_trip(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_record(f->ring), *back = NULL;
    char *json = NULL;
    size_t size = 0;

    free(rec->id);
    rec->id = strdup(ID "_2");
    free(rec->kind);
    rec->kind = strdup("diff");
    rec->base = strdup("positions_20261101_171500");
    free(rec->class_name);
    rec->class_name = strdup("daily");
    free(rec->description);
    rec->description = NULL;
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), 0);
    assert_null(strstr(json, "\"description\""));
    assert_int_equal(ofs_record_parse(&back, json, size, f->ring, NAME), 0);
    assert_same_record(rec, back);
    assert_string_equal(back->base, "positions_20261101_171500");
    assert_null(back->description);
    ofs_record_free(back);
    ofs_record_free(rec);
    free(json);
}

/* A record with no volumes (an empty set) still has its catalog. */
static void test_no_volumes(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_record(f->ring), *back = NULL;
    char *json = NULL;
    size_t size = 0;
    rec->volumes = 0;
    free(rec->objects[0].name);
    free(rec->objects[1].name);
    rec->objects[0] = rec->objects[2];
    rec->object_count = 1;
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), 0);
    assert_int_equal(ofs_record_parse(&back, json, size, f->ring, NAME), 0);
    assert_int_equal(back->object_count, 1);
    assert_int_equal(back->stored_bytes, 77);
    ofs_record_free(back);
    ofs_record_free(rec);
    free(json);
}

static void test_serialize_refuses_invalid(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_record(f->ring);
    char *json = (char *)"untouched";
    size_t size = 1;

    free(rec->kind);
    rec->kind = strdup("partial");
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), OFS_ERROR);
    assert_null(json);
    assert_int_equal(size, 0);
    assert_string_equal(ofs_error_last(), "cannot write the record of backup '" ID "': record: "
                        "member 'kind' must be 'full' or 'diff'");
    free(rec->kind);
    rec->kind = strdup("full");
    rec->volumes = 3;
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "cannot write the record of backup '" ID "': record: "
                        "member 'volumes' is 3, but 'objects' lists 2 volumes");
    rec->volumes = 2;
    /* text that is not UTF-8 came from the user */
    free(rec->description);
    rec->description = strdup("bad \xff byte");
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "cannot write the record of backup '" ID "': "
                        "'description' is not valid UTF-8");
    free(rec->description);
    rec->description = NULL;
    /* the key named by key_id must be in the ring */
    memcpy(rec->key_id, ofs_keyring_current(f->other)->id, OFS_KEY_ID_BYTES);
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), OFS_ENOTFOUND);
    char hex[17], expected[200];
    ofs_key_id_hex(rec->key_id, hex);
    snprintf(expected, sizeof(expected), "cannot write the record of backup '" ID "': key %s is "
             "not in the key file", hex);
    assert_string_equal(ofs_error_last(), expected);
    ofs_record_free(rec);
}

/* ---- validation: a valid record, one member changed, parsed without the MAC check ---- */

typedef void (*mutate_fn)(json_t *obj);

static void m_format(json_t *o)
{
    json_object_set_new(o, "format", json_string("offsite-manifest"));
}
static void m_version(json_t *o) { json_object_set_new(o, "version", json_integer(2)); }
static void m_no_id(json_t *o) { json_object_del(o, "id"); }
static void m_host_int(json_t *o) { json_object_set_new(o, "host", json_integer(7)); }
static void m_class(json_t *o) { json_object_set_new(o, "class", json_string("hourly")); }
static void m_kind(json_t *o) { json_object_set_new(o, "kind", json_string("partial")); }
static void m_diff_no_base(json_t *o) { json_object_set_new(o, "kind", json_string("diff")); }
static void m_full_base(json_t *o)
{
    json_object_set_new(o, "base", json_string("positions_20261101_171500"));
}
static void m_diff_self_base(json_t *o)
{
    json_object_set_new(o, "kind", json_string("diff"));
    json_object_set_new(o, "base", json_string(ID));
}
static void m_id_path(json_t *o) { json_object_set_new(o, "id", json_string("../../etc")); }
static void m_id_other_set(json_t *o)
{
    json_object_set_new(o, "id", json_string("fills_20261121_171500"));
}
static void m_set_slash(json_t *o)
{
    json_object_set_new(o, "set", json_string("a/b"));
    json_object_set_new(o, "id", json_string("a/b_20261121_171500"));
}
static void m_started(json_t *o)
{
    json_object_set_new(o, "started", json_string("2026-02-31T00:00:00Z"));
}
static void m_finished_int(json_t *o) { json_object_set_new(o, "finished", json_integer(5)); }
static void m_files_negative(json_t *o) { json_object_set_new(o, "files", json_integer(-1)); }
static void m_bytes_real(json_t *o) { json_object_set_new(o, "bytes", json_real(1.5)); }
static void m_volumes(json_t *o) { json_object_set_new(o, "volumes", json_integer(3)); }
static void m_volumes_big(json_t *o) { json_object_set_new(o, "volumes", json_integer(1ll << 32)); }
static void m_stored(json_t *o)
{
    json_object_set_new(o, "stored_bytes", json_integer(134217728 + 1000 + 78));
}
static void m_no_objects(json_t *o) { json_object_del(o, "objects"); }
static void m_objects_object(json_t *o) { json_object_set_new(o, "objects", json_object()); }
static json_t *object_at(json_t *o, size_t i)
{
    return json_array_get(json_object_get(o, "objects"), i);
}
static void m_object_name(json_t *o)
{
    json_object_set_new(object_at(o, 0), "name", json_string("../vol-0001.ofs"));
}
static void m_object_order(json_t *o)
{
    json_object_set_new(object_at(o, 0), "name", json_string("vol-0002.ofs"));
    json_object_set_new(object_at(o, 1), "name", json_string("vol-0001.ofs"));
}
static void m_catalog_first(json_t *o)
{
    json_t *objects = json_object_get(o, "objects");
    json_t *catalog = json_incref(json_array_get(objects, 2));
    json_array_remove(objects, 2);
    json_array_insert_new(objects, 0, catalog);
}
static void m_object_sha(json_t *o)
{
    json_object_set_new(object_at(o, 1), "sha256", json_string("AB"));
}
static void m_object_sha_upper(json_t *o)
{
    char hex[65];
    memset(hex, 'A', 64);
    hex[64] = '\0';
    json_object_set_new(object_at(o, 1), "sha256", json_string(hex));
}
static void m_object_size(json_t *o) { json_object_del(object_at(o, 2), "size"); }
static void m_object_not_object(json_t *o)
{
    json_array_set_new(json_object_get(o, "objects"), 1, json_string("vol-0002.ofs"));
}
static void m_key_id(json_t *o)
{
    json_object_set_new(o, "key_id", json_string("F64CCDBD673CB308"));
}
static void m_no_mac(json_t *o) { json_object_del(o, "mac"); }
static void m_mac_short(json_t *o) { json_object_set_new(o, "mac", json_string("00")); }

static const struct {
    mutate_fn mutate;
    const char *message;
} invalid[] = {
    { m_format, NAME ": member 'format' must be 'offsite-record'" },
    { m_version, NAME ": member 'version' must be 1" },
    { m_no_id, NAME ": member 'id' is missing" },
    { m_host_int, NAME ": member 'host' must be a string" },
    { m_class, NAME ": member 'class' must be 'daily', 'weekly' or 'monthly'" },
    { m_kind, NAME ": member 'kind' must be 'full' or 'diff'" },
    { m_diff_no_base, NAME ": member 'base' is missing (kind 'diff' needs it)" },
    { m_full_base, NAME ": member 'base' is only for kind 'diff'" },
    { m_diff_self_base, NAME ": member 'base' is not another backup id of set 'positions'" },
    { m_id_path, NAME ": member 'id' is not a backup id of set 'positions' "
                 "(positions_YYYYmmdd_HHMMSS)" },
    { m_id_other_set, NAME ": member 'id' is not a backup id of set 'positions' "
                      "(positions_YYYYmmdd_HHMMSS)" },
    { m_set_slash, NAME ": member 'set' is not a usable set name" },
    { m_started, NAME ": member 'started' must be a UTC time YYYY-mm-ddTHH:MM:SSZ" },
    { m_finished_int, NAME ": member 'finished' must be a UTC time YYYY-mm-ddTHH:MM:SSZ" },
    { m_files_negative, NAME ": member 'files' must be an integer >= 0" },
    { m_bytes_real, NAME ": member 'bytes' must be an integer >= 0" },
    { m_volumes, NAME ": member 'volumes' is 3, but 'objects' lists 2 volumes" },
    { m_volumes_big, NAME ": member 'volumes' must be an integer from 0 to 4294967295" },
    { m_stored, NAME ": member 'stored_bytes' is 134218806, but the objects add up to "
                "134218805" },
    { m_no_objects, NAME ": member 'objects' is missing" },
    { m_objects_object, NAME ": member 'objects' must be an array" },
    { m_object_name, NAME ": member 'objects[0].name' must be 'vol-0001.ofs'" },
    { m_object_order, NAME ": member 'objects[0].name' must be 'vol-0001.ofs'" },
    { m_catalog_first, NAME ": member 'objects' must end with catalog.ofs" },
    { m_object_sha, NAME ": member 'objects[1].sha256' must be 64 lowercase hex digits" },
    { m_object_sha_upper, NAME ": member 'objects[1].sha256' must be 64 lowercase hex digits" },
    { m_object_size, NAME ": member 'objects[2].size' is missing" },
    { m_object_not_object, NAME ": member 'objects[1]' must be an object" },
    { m_key_id, NAME ": member 'key_id' must be 16 lowercase hex digits" },
    { m_no_mac, NAME ": member 'mac' is missing" },
    { m_mac_short, NAME ": member 'mac' must be 64 lowercase hex digits" },
};

static void test_validation_errors(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_record(f->ring), *back = NULL;
    char *json = NULL;
    size_t size = 0;
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), 0);

    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        json_t *obj = json_loads(json, 0, NULL);
        assert_non_null(obj);
        invalid[i].mutate(obj);
        char *text = json_dumps(obj, JSON_INDENT(2));
        assert_non_null(text);
        back = (ofs_record *)1;
        int rc = ofs_record_parse(&back, text, strlen(text), NULL, NAME);
        if (rc != OFS_ECORRUPT || strcmp(ofs_error_last(), invalid[i].message) != 0)
            fail_msg("case %zu: rc %d, '%s'", i, rc, ofs_error_last());
        assert_null(back);
        free(text);
        json_decref(obj);
    }
    ofs_record_free(rec);
    free(json);
}

static void test_not_json(void **state)
{
    (void)state;
    ofs_record *rec = NULL;
    static const char *texts[] = {
        "{",
        "[1, 2]",
        "{\"format\": \"offsite-record\", \"format\": \"offsite-record\"}", /* duplicate */
        "{\"format\": \"offsite-record\", \"version\": 1} trailing",
        "",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(ofs_record_parse(&rec, texts[i], strlen(texts[i]), NULL, NAME),
                         OFS_ECORRUPT);
        assert_null(rec);
        const char *expected = i == 1 ? NAME ": not a JSON object" : NAME ": not valid JSON";
        assert_true(strncmp(ofs_error_last(), expected, strlen(expected)) == 0);
    }
}

static char *replace_once(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t head = (size_t)(at - text);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static void test_mac(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_record(f->ring), *back = NULL;
    char *json = NULL, *edited;
    size_t size = 0;
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), 0);

    /* one member changed: not authentic, and nothing is returned */
    edited = replace_once(json, "\"trading-01\"", "\"trading-02\"");
    back = (ofs_record *)1;
    assert_int_equal(ofs_record_parse(&back, edited, strlen(edited), f->ring, NAME), OFS_EAUTH);
    assert_null(back);
    assert_string_equal(ofs_error_last(), NAME ": record MAC mismatch (modified, or wrong key)");
    /* without a key file (monitoring) the same text parses */
    assert_int_equal(ofs_record_parse(&back, edited, strlen(edited), NULL, NAME), 0);
    assert_string_equal(back->host, "trading-02");
    ofs_record_free(back);
    free(edited);

    /* an object size changed with stored_bytes to match: still not authentic */
    edited = replace_once(json, "\"size\": 1000", "\"size\": 1001");
    char *edited2 = replace_once(edited, "134218805", "134218806");
    assert_int_equal(ofs_record_parse(&back, edited2, strlen(edited2), f->ring, NAME), OFS_EAUTH);
    free(edited2);
    free(edited);

    /* whitespace is not covered: the MAC is over the canonical form */
    edited = replace_once(json, "\"host\": \"trading-01\"", "\"host\"  :\n\t\"trading-01\"");
    assert_int_equal(ofs_record_parse(&back, edited, strlen(edited), f->ring, NAME), 0);
    ofs_record_free(back);
    free(edited);

    /* a key file without the record's key */
    char hex[17], expected[200];
    ofs_key_id_hex(rec->key_id, hex);
    char held[17];
    ofs_key_id_hex(ofs_keyring_current(f->other)->id, held);
    snprintf(expected, sizeof(expected), NAME ": key %s is not in the key file (it holds key %s)",
             hex, held);
    assert_int_equal(ofs_record_parse(&back, json, size, f->other, NAME), OFS_EWRONGKEY);
    assert_string_equal(ofs_error_last(), expected);
    assert_null(back);

    /* the MAC key named by key_id is used, whichever key is current: rotation */
    assert_int_equal(ofs_keyring_generate(f->key, NULL), 0);
    ofs_keyring *rotated = NULL;
    assert_int_equal(ofs_keyring_load(&rotated, f->key), 0);
    assert_memory_not_equal(ofs_keyring_current(rotated)->id, rec->key_id, OFS_KEY_ID_BYTES);
    assert_int_equal(ofs_record_parse(&back, json, size, rotated, NAME), 0);
    ofs_record_free(back);
    /* a record claiming another key of the ring is not authentic */
    ofs_key_id_hex(ofs_keyring_current(rotated)->id, hex);
    char from[40], to[40];
    ofs_key_id_hex(rec->key_id, from + 1);
    from[0] = to[0] = '"';
    memcpy(to + 1, hex, 17);
    strcat(from, "\"");
    strcat(to, "\"");
    edited = replace_once(json, from, to);
    assert_int_equal(ofs_record_parse(&back, edited, strlen(edited), rotated, NAME), OFS_EAUTH);
    free(edited);
    ofs_keyring_free(rotated);
    ofs_record_free(rec);
    free(json);
}

/* The golden key of tests/unit/data (docs/format.md section 4) and a fixed record: the MAC
 * below was computed by tests/integration/tools/ofs_format.py, not by this code. */
static void test_golden_mac(void **state)
{
    fixture *f = *state;
    const char *data_dir = getenv("OFS_TEST_DATA");
    char src[512], *text = NULL, *json = NULL;
    size_t size = 0, json_size = 0;
    ofs_keyring *golden = NULL;
    if (!data_dir)
        skip();
    snprintf(src, sizeof(src), "%s/golden.key", data_dir);
    assert_int_equal(ofs_read_file(src, &text, &size, 4096), 0);
    assert_int_equal(ofs_write_file_atomic(f->golden_key, text, size, 0600), 0);
    free(text);
    assert_int_equal(ofs_keyring_load(&golden, f->golden_key), 0);

    ofs_record *rec = make_record(golden);
    assert_int_equal(ofs_record_serialize(rec, golden, &json, &json_size), 0);
    json_t *obj = json_loads(json, 0, NULL);
    assert_non_null(obj);
    assert_string_equal(json_string_value(json_object_get(obj, "key_id")), "f64ccdbd673cb308");
    assert_string_equal(json_string_value(json_object_get(obj, "mac")),
                        "e175b179e26378ba00a2c5fd28d0ffc384cd74737259cbcc0a98b5c3234316b0");
    json_decref(obj);
    ofs_record_free(rec);
    free(json);
    ofs_keyring_free(golden);
}

/* Runs ofs_format.py SUBCOMMAND --key KEY < in > out; 0 on success, -1 if it cannot run. */
static int python_tool(const char *subcommand, const char *key, const char *in, const char *out)
{
    const char *data_dir = getenv("OFS_TEST_DATA");
    char cmd[2048];
    if (!data_dir || system("python3 -c 'import cryptography' 2>/dev/null") != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "python3 '%s/../../integration/tools/ofs_format.py' %s --key '%s' "
             "< '%s' > '%s' 2>&1", data_dir, subcommand, key, in, out);
    return system(cmd) == 0 ? 0 : 1;
}

static void test_python_verifier(void **state)
{
    fixture *f = *state;
    ofs_record *rec = make_record(f->ring), *back = NULL;
    char *json = NULL, *text = NULL, in[128], out[128];
    size_t size = 0, text_size = 0;
    snprintf(in, sizeof(in), "%s/backup.json", f->dir);
    snprintf(out, sizeof(out), "%s/out.json", f->dir);
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &size), 0);
    assert_int_equal(ofs_write_file_atomic(in, json, size, 0600), 0);
    int rc = python_tool("check-mac", f->key, in, out);
    if (rc < 0) {
        ofs_record_free(rec);
        free(json);
        skip();
    }
    assert_int_equal(rc, 0);
    /* and the other way: Python's MAC over our text, in Python's formatting, parses here */
    json_t *obj = json_loads(json, 0, NULL);
    json_object_del(obj, "mac");
    free(json);
    json = json_dumps(obj, JSON_INDENT(4) | JSON_ENSURE_ASCII); /* \u escapes: same object */
    json_decref(obj);
    assert_int_equal(ofs_write_file_atomic(in, json, strlen(json), 0600), 0);
    assert_int_equal(python_tool("mac", f->key, in, out), 0);
    assert_int_equal(ofs_read_file(out, &text, &text_size, 1 << 20), 0);
    assert_int_equal(ofs_record_parse(&back, text, text_size, f->ring, NAME), 0);
    assert_string_equal(back->description, DESCRIPTION);
    /* a tampered file fails the Python check too */
    char *edited = replace_once(text, "trading-01", "trading-02");
    assert_int_equal(ofs_write_file_atomic(in, edited, strlen(edited), 0600), 0);
    assert_int_equal(python_tool("check-mac", f->key, in, out), 1);
    free(text);
    assert_int_equal(ofs_read_file(out, &text, &text_size, 1 << 20), 0);
    assert_string_equal(text, "ofs_format: MAC mismatch (modified, or wrong key)\n");
    free(edited);
    free(text);
    ofs_record_free(back);
    ofs_record_free(rec);
    free(json);
}

static void test_volume_name(void **state)
{
    (void)state;
    char buf[32];
    ofs_record_volume_name(1, buf);
    assert_string_equal(buf, "vol-0001.ofs");
    ofs_record_volume_name(9999, buf);
    assert_string_equal(buf, "vol-9999.ofs");
    ofs_record_volume_name(10000, buf);
    assert_string_equal(buf, "vol-10000.ofs");
    ofs_record_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diff_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_volumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serialize_refuses_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_errors, setup, teardown),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test_setup_teardown(test_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_python_verifier, setup, teardown),
        cmocka_unit_test(test_volume_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
