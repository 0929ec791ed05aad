/* test_config_verdict.c - one verdict per value: a table of values drives both the
 * configuration load (what `config check` runs) and the code that later consumes the value
 * (the store drivers for bwlimit, endpoint and object_lock, the record writer for host), and
 * asserts they agree - a value config check passes is one the command accepts, and a refused
 * value names its key's own FILE:LINE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/store.h"

enum where { AGENT, FILE_TARGET, S3_TARGET };

typedef struct verdict_row {
    enum where where;
    const char *key, *value;
    const char *error; /* NULL: accepted; else the message after "PATH:LINE: " */
} verdict_row;

static const verdict_row rows[] = {
    /* issue 9's cases */
    { AGENT, "bwlimit", "fast please",
      "bwlimit 'fast please': 'fast please' is not a rate (like 20M) or 'off'" },
    { FILE_TARGET, "bwlimit", "-5M", "bwlimit '-5M': '-5M' is not a rate (like 20M) or 'off'" },
    { S3_TARGET, "bwlimit", "25:00,5M",
      "bwlimit '25:00,5M': '25:00,5M' is not HH:MM,RATE (a time from 00:00 to 23:59)" },
    { AGENT, "host", "caf\xe9", "host: 'caf\\xe9' is not printable UTF-8 text" },
    /* near misses */
    { FILE_TARGET, "bwlimit", "16:00,1M 08:00,2M",
      "bwlimit '16:00,1M 08:00,2M': times must increase" },
    { S3_TARGET, "bwlimit", "08:00,0", "bwlimit '08:00,0': '0' is not a rate (like 20M) or 'off'" },
    { S3_TARGET, "endpoint", "http://127.0.0.1:9/bucket",
      "endpoint: 'http://127.0.0.1:9/bucket' must be scheme://host[:port] without a path" },
    { S3_TARGET, "object_lock", "forever",
      "target 't': unknown object_lock 'forever' (off, governance or compliance)" },
    /* accepted by both */
    { AGENT, "bwlimit", "08:00,5M 16:30,off", NULL },
    { FILE_TARGET, "bwlimit", "10M", NULL },
    { S3_TARGET, "bwlimit", "off", NULL },
    { AGENT, "host", "caf\xc3\xa9-01", NULL },
    { S3_TARGET, "endpoint", "https://127.0.0.1:9/", NULL },
    { S3_TARGET, "object_lock", "governance", NULL },
};

typedef struct fixture {
    char dir[256];
    char path[300];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/ofs-verdict.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/offsite.ini", f->dir);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "verdict-secret", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc = ofs_rm_rf(f->dir);
    free(f);
    return rc;
}

/* write_row(f, row): the config with row's key on line 3 ([agent]) or 8 (its target); returns
 * that line. */
static int write_row(const fixture *f, const verdict_row *row)
{
    FILE *out = fopen(f->path, "w");
    assert_non_null(out);
    fprintf(out, "[agent]\nstate_dir = %s/state\n", f->dir);
    fprintf(out, "%s = %s\n", row->where == AGENT ? row->key : "time_zone",
            row->where == AGENT ? row->value : "UTC");
    fprintf(out, "[set data]\npaths = %s\n[target t]\n", f->dir);
    fprintf(out, "type = %s\n", row->where == S3_TARGET ? "s3" : "file");
    if (row->where != AGENT)
        fprintf(out, "%s = %s\n", row->key, row->value);
    if (row->where == S3_TARGET) {
        fprintf(out, "bucket = b\n");
        if (strcmp(row->key, "endpoint") != 0)
            fprintf(out, "endpoint = http://127.0.0.1:9\n");
    } else {
        fprintf(out, "path = %s/t\n", f->dir);
    }
    assert_int_equal(fclose(out), 0);
    return row->where == AGENT ? 3 : 8;
}

/* consume(f, row): what a command does with the value, without the configuration's checks:
 * open the target with it (a target inherits [agent] bwlimit), or write a record with it. */
static int consume(const fixture *f, const verdict_row *row)
{
    ofs_config_retention policy = { .daily = 30, .weekly = 12, .monthly = 12, .keep_last = 1 };
    ofs_config_target t = { .name = (char *)"t", .line = 6, .type = (char *)"file" };
    char path[PATH_MAX + 8];
    int rc;

    if (row->where == AGENT && strcmp(row->key, "host") == 0) {
        ofs_keyring *ring = NULL;
        ofs_record *rec = NULL;
        uint8_t id[OFS_KEY_ID_BYTES];
        char *json = NULL, keyfile[PATH_MAX + 16];
        size_t size = 0;
        snprintf(keyfile, sizeof(keyfile), "%s/key", f->dir);
        if (access(keyfile, F_OK) != 0)
            assert_int_equal(ofs_keyring_generate(keyfile, id), 0);
        assert_int_equal(ofs_keyring_load(&ring, keyfile), 0);
        assert_int_equal(ofs_record_new(&rec), 0);
        rec->id = strdup("data_20260101_000000");
        rec->set = strdup("data");
        rec->kind = strdup("full");
        rec->class_name = strdup("daily");
        rec->tool_version = strdup("test");
        rec->host = strdup(row->value);
        memcpy(rec->key_id, ofs_keyring_current(ring)->id, OFS_KEY_ID_BYTES);
        static const uint8_t zero[OFS_SHA256_BYTES];
        assert_int_equal(ofs_record_add_object(rec, "catalog.ofs", 1, zero), 0);
        rc = ofs_record_serialize(rec, ring, &json, &size);
        free(json);
        ofs_record_free(rec);
        ofs_keyring_free(ring);
        return rc;
    }
    snprintf(path, sizeof(path), "%s/t", f->dir);
    t.path = path;
    if (row->where == S3_TARGET) {
        t.type = (char *)"s3";
        t.bucket = (char *)"b";
        t.endpoint = (char *)"http://127.0.0.1:9";
    }
    if (strcmp(row->key, "bwlimit") == 0)
        t.bwlimit = (char *)row->value;
    else if (strcmp(row->key, "endpoint") == 0)
        t.endpoint = (char *)row->value;
    else if (strcmp(row->key, "object_lock") == 0)
        t.object_lock = (char *)row->value;
    ofs_store *s = NULL;
    rc = ofs_store_open(&s, &t, &policy, NULL);
    ofs_store_free(s);
    return rc;
}

static void test_same_verdict(void **state)
{
    fixture *f = *state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const verdict_row *row = &rows[i];
        ofs_config *cfg = NULL;
        char expected[1024 + 300];
        int line = write_row(f, row);
        int loaded = ofs_config_load(&cfg, f->path);

        if (row->error) {
            snprintf(expected, sizeof(expected), "%s:%d: %s", f->path, line, row->error);
            if (loaded != OFS_ECONFIG || strcmp(ofs_error_last(), expected) != 0)
                fail_msg("row %zu (%s = %s): load gave %d '%s', expected '%s'", i, row->key,
                         row->value, loaded, ofs_error_last(), expected);
        } else if (loaded != 0) {
            fail_msg("row %zu (%s = %s): load refused it: %s", i, row->key, row->value,
                     ofs_error_last());
        }
        if (cfg) {
            /* what the command really opens: the loaded target, with any inherited key */
            ofs_store *s = NULL;
            int rc = ofs_store_open(&s, &cfg->targets[0],
                                    ofs_config_target_retention(cfg, &cfg->targets[0]), NULL);
            if (rc < 0)
                fail_msg("row %zu: load passed, opening the target failed: %s", i,
                         ofs_error_last());
            ofs_store_free(s);
            ofs_config_free(cfg);
        }
        int consumed = consume(f, row);
        if ((consumed == 0) != (row->error == NULL))
            fail_msg("row %zu (%s = %s): load says %s, the consumer %s (%s)", i, row->key,
                     row->value, row->error ? "no" : "yes", consumed == 0 ? "yes" : "no",
                     consumed == 0 ? "" : ofs_error_last());
    }
}

/* Stricter than a consumer, on purpose: text that reaches logs and listings. */
static void test_stricter_at_load(void **state)
{
    fixture *f = *state;
    static const verdict_row strict[] = {
        { AGENT, "host", "db\x01" "1", "host: 'db\\x011' is not printable UTF-8 text" },
        { S3_TARGET, "prefix", "fleet/../h1", "prefix: 'fleet/../h1' has a '.' or '..' "
                                              "component" },
    };
    for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
        ofs_config *cfg = NULL;
        char expected[1024 + 300];
        int line = write_row(f, &strict[i]);
        snprintf(expected, sizeof(expected), "%s:%d: %s", f->path, line, strict[i].error);
        assert_int_equal(ofs_config_load(&cfg, f->path), OFS_ECONFIG);
        assert_string_equal(ofs_error_last(), expected);
        assert_null(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_verdict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stricter_at_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
