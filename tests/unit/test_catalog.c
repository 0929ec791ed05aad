/* test_catalog.c - catalog writer/reader round trip, order checks, ofs_path_compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "offsite/catalog.h"
#include "offsite/error.h"

static void test_path_compare(void **state)
{
    (void)state;
    assert_true(ofs_path_compare("a", "a/b") < 0);
    assert_true(ofs_path_compare("a/b", "a.txt") < 0);
    assert_true(ofs_path_compare("a", "a.txt") < 0);
    assert_true(ofs_path_compare("a.txt", "a/b") > 0);
    assert_true(ofs_path_compare("a/b", "a-b") < 0);   /* '-' (0x2d) is above '/' here */
    assert_true(ofs_path_compare("a/z", "a0") < 0);
    assert_true(ofs_path_compare("a/b/c", "a/b") > 0);
    assert_int_equal(ofs_path_compare("srv/x", "srv/x"), 0);
    assert_true(ofs_path_compare("", "a") < 0);
    assert_true(ofs_path_compare("z", "\xff") < 0);     /* bytes compare unsigned */
    assert_true(ofs_path_compare("a b", "a/b") > 0);    /* even ' ' (0x20) sorts above '/' */
}

static void entry_set(ofs_catalog_entry *e, const char *path, ofs_entry_type type)
{
    memset(e, 0, sizeof(*e));
    e->path = (char *)path;
    e->type = type;
    e->mode = 0644;
    e->uid = 1000;
    e->gid = 1001;
    e->mtime_sec = 1710536400;
    e->mtime_nsec = 123456789;
    e->ctime_sec = 1710536401;
    e->ctime_nsec = 5;
    e->ino = 42;
    e->dev = 2049;
}

/* Writes entries into memory and returns the plaintext (caller frees). */
static char *write_catalog(const ofs_catalog_entry *entries, size_t count, size_t *size)
{
    ofs_writer *mem = NULL;
    ofs_catalog_writer *cw = NULL;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_catalog_writer_new(&cw, mem), 0);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(ofs_catalog_writer_add(cw, &entries[i]), 0);
    assert_int_equal(ofs_catalog_writer_finish(cw), 0);
    const void *data = ofs_memory_writer_data(mem, size);
    char *copy = malloc(*size + 1);
    assert_non_null(copy);
    memcpy(copy, data, *size);
    copy[*size] = '\0';
    ofs_catalog_writer_free(cw);
    return copy;
}

static ofs_catalog_reader *open_catalog(const char *text, size_t size)
{
    ofs_reader *src = NULL;
    ofs_catalog_reader *cr = NULL;
    assert_int_equal(ofs_memory_reader_new(&src, text, size, 1), 0);
    assert_int_equal(ofs_catalog_reader_new(&cr, src), 0);
    return cr;
}

static void test_round_trip(void **state)
{
    (void)state;
    ofs_catalog_entry in[6];
    entry_set(&in[0], "srv", OFS_ENTRY_DIR);
    in[0].mode = 0755;
    in[0].user = "root";
    in[0].group = "wheel";
    entry_set(&in[1], "srv/a \"quoted\"\nline", OFS_ENTRY_FILE);
    in[1].size = 12345;
    in[1].has_sha256 = 1;
    for (int i = 0; i < OFS_SHA256_BYTES; i++)
        in[1].sha256[i] = (uint8_t)(i * 7);
    in[1].backup_id = "positions_20240315_210000";
    in[1].volume = 3;
    in[1].offset = 1536;
    in[1].changed = 1;
    entry_set(&in[2], "srv/b", OFS_ENTRY_HARDLINK);
    in[2].link_target = "srv/a \"quoted\"\nline";
    entry_set(&in[3], "srv/link", OFS_ENTRY_SYMLINK);
    in[3].link_target = "../\xc3\xa9t\xe9"; /* not UTF-8: written as target_hex */
    entry_set(&in[4], "srv/pipe", OFS_ENTRY_FIFO);
    entry_set(&in[5], "srv/\xff\xfe-raw.bin", OFS_ENTRY_FILE);
    in[5].mode = 04755;

    size_t size = 0;
    char *text = write_catalog(in, 6, &size);
    assert_true(strncmp(text, "{\"format\":\"offsite-catalog\",\"version\":1}\n", 41) == 0);
    assert_non_null(strstr(text, "\"path_hex\":\"7372762ffffe2d"));
    assert_non_null(strstr(text, "\"target_hex\":\"2e2e2fc3a974e9\""));
    assert_non_null(strstr(text, "\"changed\":true"));
    assert_null(strstr(text, "\xff"));

    ofs_catalog_reader *cr = open_catalog(text, size);
    const ofs_catalog_entry *e = NULL;
    for (int i = 0; i < 6; i++) {
        assert_int_equal(ofs_catalog_reader_next(cr, &e), 1);
        assert_string_equal(e->path, in[i].path);
        assert_int_equal(e->type, in[i].type);
        assert_int_equal(e->mode, in[i].mode);
        assert_int_equal(e->uid, 1000);
        assert_int_equal(e->gid, 1001);
        assert_int_equal(e->mtime_sec, 1710536400);
        assert_int_equal(e->mtime_nsec, 123456789);
        assert_int_equal(e->ctime_sec, 1710536401);
        assert_int_equal(e->ctime_nsec, 5);
        assert_int_equal(e->ino, 42);
        assert_int_equal(e->dev, 2049);
        assert_int_equal(e->size, in[i].size);
        assert_int_equal(e->has_sha256, in[i].has_sha256);
        assert_int_equal(e->volume, in[i].volume);
        assert_int_equal(e->offset, in[i].offset);
        assert_int_equal(e->changed, in[i].changed);
        if (in[i].link_target)
            assert_string_equal(e->link_target, in[i].link_target);
        else
            assert_null(e->link_target);
    }
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 0);
    ofs_catalog_reader_free(cr);

    /* spot checks on the optional members of the first two lines */
    cr = open_catalog(text, size);
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 1);
    assert_string_equal(e->user, "root");
    assert_string_equal(e->group, "wheel");
    assert_null(e->backup_id);
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 1);
    assert_memory_equal(e->sha256, in[1].sha256, OFS_SHA256_BYTES);
    assert_string_equal(e->backup_id, "positions_20240315_210000");
    ofs_catalog_entry copy;
    assert_int_equal(ofs_catalog_entry_copy(&copy, e), 0);
    ofs_catalog_reader_free(cr);
    assert_string_equal(copy.path, in[1].path);
    assert_string_equal(copy.backup_id, "positions_20240315_210000");
    ofs_catalog_entry_clear(&copy);
    assert_null(copy.path);
    free(text);
}

static void test_empty_catalog(void **state)
{
    (void)state;
    size_t size = 0;
    char *text = write_catalog(NULL, 0, &size);
    assert_string_equal(text, "{\"format\":\"offsite-catalog\",\"version\":1}\n");
    ofs_catalog_reader *cr = open_catalog(text, size);
    const ofs_catalog_entry *e = NULL;
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 0);
    ofs_catalog_reader_free(cr);
    free(text);
}

static void test_writer_rejects_order(void **state)
{
    (void)state;
    ofs_writer *mem = NULL;
    ofs_catalog_writer *cw = NULL;
    ofs_catalog_entry e;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_catalog_writer_new(&cw, mem), 0);
    entry_set(&e, "a.txt", OFS_ENTRY_FILE);
    assert_int_equal(ofs_catalog_writer_add(cw, &e), 0);
    entry_set(&e, "a/b", OFS_ENTRY_FILE);
    assert_int_equal(ofs_catalog_writer_add(cw, &e), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "catalog entry 'a/b' does not sort after 'a.txt'");
    entry_set(&e, "a.txt", OFS_ENTRY_FILE);
    assert_int_equal(ofs_catalog_writer_add(cw, &e), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "catalog entry 'a.txt' does not sort after 'a.txt'");
    entry_set(&e, "b", OFS_ENTRY_DIR);
    assert_int_equal(ofs_catalog_writer_add(cw, &e), 0);
    ofs_catalog_writer_free(cw); /* without finish: aborts, no leak */
}

static void expect_read_error(const char *text, int code, const char *message)
{
    ofs_catalog_reader *cr = open_catalog(text, strlen(text));
    const ofs_catalog_entry *e = NULL;
    int rc;
    while ((rc = ofs_catalog_reader_next(cr, &e)) == 1)
        ;
    assert_int_equal(rc, code);
    assert_string_equal(ofs_error_last(), message);
    ofs_catalog_reader_free(cr);
}

#define HEADER "{\"format\":\"offsite-catalog\",\"version\":1}\n"

static void test_reader_errors(void **state)
{
    (void)state;
    expect_read_error(HEADER "{\"path\":\"b\",\"type\":\"dir\"}\n{\"path\":\"a\",\"type\":\"dir\"}\n",
                      OFS_ECORRUPT, "catalog line 3: path 'a' does not sort after 'b'");
    expect_read_error("", OFS_ECORRUPT, "catalog line 1: missing header");
    expect_read_error("{\"format\":\"something\"}\n", OFS_ECORRUPT,
                      "catalog line 1: not an offsite catalog");
    expect_read_error(HEADER "{\"path\":\"a\",\"type\":\"dir\"", OFS_ECORRUPT,
                      "catalog line 2: missing end of line");
    expect_read_error(HEADER "{\"path\":\"a\",\"type\":\"socket\"}\n", OFS_ECORRUPT,
                      "catalog line 2: missing or unknown \"type\"");
    expect_read_error(HEADER "{\"path\":\"a\",\"type\":\"file\",\"sha256\":\"00\"}\n",
                      OFS_ECORRUPT, "catalog line 2: bad \"sha256\"");
    expect_read_error(HEADER "{\"path\":\"a\",\"type\":\"symlink\"}\n", OFS_ECORRUPT,
                      "catalog line 2: missing \"target\"");
    expect_read_error(HEADER "{\"path_hex\":\"6g\",\"type\":\"dir\"}\n", OFS_ECORRUPT,
                      "catalog line 2: bad \"path_hex\"");
    expect_read_error(HEADER "{\"path\":\"a\",\"type\":\"dir\",\"mtime\":[1]}\n", OFS_ECORRUPT,
                      "catalog line 2: bad \"mtime\"");
    expect_read_error(HEADER "{\"path\":\"a\",\"type\":\"file\",\"size\":9,\"vol\":1,"
                             "\"base_size\":3,\"base_backup\":\"x\",\"base_vol\":1}\n",
                      OFS_ECORRUPT, "catalog line 2: incomplete tail (base_size, base_backup, "
                      "base_vol, base_offset, base_sha256, tail_sha256, vol)");
    expect_read_error(HEADER "not json\n", OFS_ECORRUPT,
                      "catalog line 2: malformed JSON: '[' or '{' expected near 'not'");
}

/* A file stored as a tail: every member round trips, the tar name and stored size follow. */
static void test_tail_members(void **state)
{
    (void)state;
    ofs_catalog_entry in;
    entry_set(&in, "var/log/oms.log", OFS_ENTRY_FILE);
    in.size = 1000000;
    in.has_sha256 = 1;
    in.backup_id = "p_20240316_210000";
    in.volume = 2;
    in.offset = 4096;
    in.base_size = 999000;
    in.base_backup = "p_20240315_210000";
    in.base_volume = 7;
    in.base_offset = 1536;
    for (int i = 0; i < OFS_SHA256_BYTES; i++) {
        in.sha256[i] = (uint8_t)i;
        in.base_sha256[i] = (uint8_t)(i + 100);
        in.tail_sha256[i] = (uint8_t)(i + 200);
    }
    size_t size = 0;
    char *text = write_catalog(&in, 1, &size);
    assert_non_null(strstr(text, "\"base_backup\":\"p_20240315_210000\",\"base_vol\":7,"
                                 "\"base_offset\":1536,\"base_size\":999000,"
                                 "\"base_sha256\":\"646566"));
    assert_non_null(strstr(text, "\"tail_sha256\":\"c8c9ca"));
    ofs_catalog_reader *cr = open_catalog(text, size);
    const ofs_catalog_entry *e = NULL;
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 1);
    assert_int_equal(e->base_size, 999000);
    assert_string_equal(e->base_backup, "p_20240315_210000");
    assert_int_equal(e->base_volume, 7);
    assert_int_equal(e->base_offset, 1536);
    assert_memory_equal(e->base_sha256, in.base_sha256, OFS_SHA256_BYTES);
    assert_memory_equal(e->tail_sha256, in.tail_sha256, OFS_SHA256_BYTES);
    assert_memory_equal(e->sha256, in.sha256, OFS_SHA256_BYTES);
    assert_int_equal(ofs_catalog_stored_size(e), 1000);
    char *name = NULL;
    assert_int_equal(ofs_catalog_tar_name(e, &name), 0);
    assert_string_equal(name, "var/log/oms.log" OFS_TAIL_SUFFIX);
    free(name);
    ofs_catalog_entry copy;
    assert_int_equal(ofs_catalog_entry_copy(&copy, e), 0);
    ofs_catalog_reader_free(cr);
    assert_string_equal(copy.base_backup, "p_20240315_210000"); /* a copy of its own */
    ofs_catalog_entry_clear(&copy);
    free(text);

    /* a whole file: its own name, and no tail members written */
    in.base_size = 0;
    text = write_catalog(&in, 1, &size);
    assert_null(strstr(text, "base_"));
    assert_int_equal(ofs_catalog_tar_name(&in, &name), 0);
    assert_string_equal(name, "var/log/oms.log");
    assert_int_equal(ofs_catalog_stored_size(&in), 1000000);
    free(name);
    free(text);

    /* a tail must be whole and make sense; the writer refuses one without its location */
    in.base_size = 5;
    in.base_volume = 0;
    ofs_writer *mem = NULL;
    ofs_catalog_writer *cw = NULL;
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_catalog_writer_new(&cw, mem), 0);
    assert_int_equal(ofs_catalog_writer_add(cw, &in), OFS_ERROR);
    assert_string_equal(ofs_error_last(),
                        "catalog entry 'var/log/oms.log': incomplete tail location");
    ofs_catalog_writer_free(cw);
}

static void test_reader_ignores_unknown_members(void **state)
{
    (void)state;
    const char *text = HEADER "{\"path\":\"a\",\"type\":\"file\",\"size\":3,\"future\":[1,2]}\n";
    ofs_catalog_reader *cr = open_catalog(text, strlen(text));
    const ofs_catalog_entry *e = NULL;
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 1);
    assert_string_equal(e->path, "a");
    assert_int_equal(e->size, 3);
    assert_int_equal(ofs_catalog_reader_next(cr, &e), 0);
    ofs_catalog_reader_free(cr);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(ofs_entry_type_name(OFS_ENTRY_FILE), "file");
    assert_string_equal(ofs_entry_type_name(OFS_ENTRY_DIR), "dir");
    assert_string_equal(ofs_entry_type_name(OFS_ENTRY_SYMLINK), "symlink");
    assert_string_equal(ofs_entry_type_name(OFS_ENTRY_HARDLINK), "hardlink");
    assert_string_equal(ofs_entry_type_name(OFS_ENTRY_FIFO), "fifo");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_compare),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_catalog),
        cmocka_unit_test(test_writer_rejects_order),
        cmocka_unit_test(test_reader_errors),
        cmocka_unit_test(test_tail_members),
        cmocka_unit_test(test_reader_ignores_unknown_members),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
