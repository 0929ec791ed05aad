/* test_keyring.c - key file load/generate/rotation, key ids, paper export and import. */
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

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/keyring.h"

/* The public golden test key (tests/unit/data/golden.key). */
#define GOLDEN_ID "f64ccdbd673cb308"
#define GOLDEN_KEY "7f745bed0785d6ee71cbbb6c5b9463c8c46338eb5f6120505ea061d9f5aa7650"
#define GOLDEN_LINE "offsite-key v1 " GOLDEN_ID " 2026-01-01T00:00:00Z " GOLDEN_KEY "\n"
#define GOLDEN_PAPER                                                                              \
    "offsite-paper-key v1\n"                                                                      \
    "id      f64ccdbd673cb308\n"                                                                  \
    "created 2026-01-01T00:00:00Z\n"                                                              \
    "1:  7f74 5bed 0785 d6ee   8e5b\n"                                                            \
    "2:  71cb bb6c 5b94 63c8   a608\n"                                                            \
    "3:  c463 38eb 5f61 2050   4087\n"                                                            \
    "4:  5ea0 61d9 f5aa 7650   e4db\n"                                                            \
    "sum     fadf af11\n"

typedef struct {
    char dir[64];
    char path[128]; /* DIR/offsite.key */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_keyring.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/offsite.key", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static char *read_text(const char *path)
{
    FILE *in = fopen(path, "r");
    static char buf[8192];
    size_t n;
    assert_non_null(in);
    n = fread(buf, 1, sizeof(buf) - 1, in);
    buf[n] = '\0';
    fclose(in);
    return buf;
}

/* Loads text as a key file and expects code and message ("PATH" in msg is replaced). */
static void expect_load_error(fixture *f, const char *text, int code, const char *msg_fmt)
{
    ofs_keyring *ring = (ofs_keyring *)1;
    char expected[512];
    write_text(f->path, text, 0600);
    assert_int_equal(ofs_keyring_load(&ring, f->path), code);
    assert_null(ring);
    snprintf(expected, sizeof(expected), msg_fmt, f->path);
    assert_string_equal(ofs_error_last(), expected);
}

static int import_text(const char *text, const char *path, int *imported)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    int rc;
    assert_non_null(in);
    rc = ofs_keyring_import(in, "paper.txt", path, imported);
    fclose(in);
    return rc;
}

/* ---- load ---- */

static void test_load_golden(void **state)
{
    fixture *f = *state;
    ofs_keyring *ring = NULL;
    char hex[65];
    write_text(f->path, "# comment\n\n   # indented comment\n" GOLDEN_LINE, 0600);
    assert_int_equal(ofs_keyring_load(&ring, f->path), 0);
    assert_int_equal(ofs_keyring_count(ring), 1);
    const ofs_key *k = ofs_keyring_current(ring);
    ofs_key_id_hex(k->id, hex);
    assert_string_equal(hex, GOLDEN_ID);
    ofs_hex_encode(k->key, 32, hex);
    assert_string_equal(hex, GOLDEN_KEY);
    assert_int_equal(k->created, 1767225600); /* 2026-01-01T00:00:00Z */
    assert_ptr_equal(ofs_keyring_find(ring, k->id), k);
    assert_ptr_equal(ofs_keyring_at(ring, 0), k);
    assert_null(ofs_keyring_at(ring, 1));
    uint8_t other[8] = { 0 };
    assert_null(ofs_keyring_find(ring, other));
    ofs_keyring_free(ring);
    ofs_keyring_free(NULL);
}

static void test_load_missing(void **state)
{
    fixture *f = *state;
    ofs_keyring *ring = NULL;
    char expected[512];
    assert_int_equal(ofs_keyring_load(&ring, f->path), OFS_ENOTFOUND);
    snprintf(expected, sizeof(expected),
             "key file '%s' does not exist\nHINT: create one with 'offsite key generate', or "
             "restore a paper copy with 'offsite key import'",
             f->path);
    assert_string_equal(ofs_error_last(), expected);
}

static void test_load_refuses_loose_mode(void **state)
{
    fixture *f = *state;
    ofs_keyring *ring = NULL;
    char expected[512];
    write_text(f->path, GOLDEN_LINE, 0644);
    assert_int_equal(ofs_keyring_load(&ring, f->path), OFS_EDENIED);
    snprintf(expected, sizeof(expected),
             "key file '%s' is readable by group or others (mode 0644)\nHINT: chmod 600 %s",
             f->path, f->path);
    assert_string_equal(ofs_error_last(), expected);
    write_text(f->path, GOLDEN_LINE, 0620);
    assert_int_equal(ofs_keyring_load(&ring, f->path), OFS_EDENIED);
    snprintf(expected, sizeof(expected),
             "key file '%s' is writable by group or others (mode 0620)\nHINT: chmod 600 %s",
             f->path, f->path);
    assert_string_equal(ofs_error_last(), expected);
    write_text(f->path, GOLDEN_LINE, 0400);
    assert_int_equal(ofs_keyring_load(&ring, f->path), 0);
    ofs_keyring_free(ring);
}

static void test_load_bad_lines(void **state)
{
    fixture *f = *state;
    expect_load_error(f, "# only a comment\n", OFS_ECORRUPT, "key file '%s' holds no key");
    expect_load_error(f, "#\nofsite-key v1 " GOLDEN_ID " 2026-01-01T00:00:00Z " GOLDEN_KEY "\n",
                      OFS_ECORRUPT, "%s:2: expected 'offsite-key v1 KEY-ID CREATED KEY'");
    expect_load_error(f, GOLDEN_LINE "offsite-key v1 " GOLDEN_ID "\n", OFS_ECORRUPT,
                      "%s:2: expected 'offsite-key v1 KEY-ID CREATED KEY'");
    expect_load_error(f, "offsite-key v2 " GOLDEN_ID " 2026-01-01T00:00:00Z " GOLDEN_KEY "\n",
                      OFS_ECORRUPT, "%s:1: unsupported key version 'v2'");
    expect_load_error(f, "offsite-key v1 f64ccdbd673cb30 2026-01-01T00:00:00Z " GOLDEN_KEY "\n",
                      OFS_ECORRUPT,
                      "%s:1: invalid key id 'f64ccdbd673cb30': expected 16 hex digits");
    expect_load_error(f, "offsite-key v1 " GOLDEN_ID " 2026-01-01 " GOLDEN_KEY "\n", OFS_ECORRUPT,
                      "%s:1: invalid creation time '2026-01-01': expected YYYY-mm-ddTHH:MM:SSZ");
    /* digits where digits go, from 1970 on, and a moment that exists (it would be written back
     * differently, and that file would not load) */
    expect_load_error(f, "offsite-key v1 " GOLDEN_ID " 0971-12-02T13:38:50Z " GOLDEN_KEY "\n",
                      OFS_ECORRUPT,
                      "%s:1: invalid creation time '0971-12-02T13:38:50Z': expected "
                      "YYYY-mm-ddTHH:MM:SSZ");
    expect_load_error(f, "offsite-key v1 " GOLDEN_ID " 2026-02-31T00:00:00Z " GOLDEN_KEY "\n",
                      OFS_ECORRUPT,
                      "%s:1: invalid creation time '2026-02-31T00:00:00Z': expected "
                      "YYYY-mm-ddTHH:MM:SSZ");
    expect_load_error(f, "offsite-key v1 " GOLDEN_ID " +026-01-01T00:00:00Z " GOLDEN_KEY "\n",
                      OFS_ECORRUPT,
                      "%s:1: invalid creation time '+026-01-01T00:00:00Z': expected "
                      "YYYY-mm-ddTHH:MM:SSZ");
    expect_load_error(f, "offsite-key v1 " GOLDEN_ID " 2026-01-01T00:00:00Z " GOLDEN_KEY "0\n",
                      OFS_ECORRUPT, "%s:1: invalid key: expected 64 hex digits");
    /* one flipped digit in the key: the id no longer matches */
    expect_load_error(f,
                      "offsite-key v1 " GOLDEN_ID " 2026-01-01T00:00:00Z "
                      "8f745bed0785d6ee71cbbb6c5b9463c8c46338eb5f6120505ea061d9f5aa7650\n",
                      OFS_ECORRUPT,
                      "%s:1: key id f64ccdbd673cb308 does not match the key (its id is "
                      "4adf7486b1995c3d); the line is damaged");
    expect_load_error(f, GOLDEN_LINE "\n" GOLDEN_LINE, OFS_ECORRUPT,
                      "%s:3: key " GOLDEN_ID " appears twice");
}

static void test_key_id_hex_parse(void **state)
{
    (void)state;
    uint8_t id[8], back[8];
    char hex[17];
    for (int i = 0; i < 8; i++)
        id[i] = (uint8_t)(0xa0 + i);
    ofs_key_id_hex(id, hex);
    assert_string_equal(hex, "a0a1a2a3a4a5a6a7");
    assert_int_equal(ofs_key_id_parse("A0A1A2A3A4A5A6A7", back), 0);
    assert_memory_equal(back, id, 8);
    assert_int_equal(ofs_key_id_parse("a0a1", back), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "invalid key id 'a0a1': expected 16 hex digits");
    uint8_t key[32];
    assert_int_equal(ofs_hex_decode(GOLDEN_KEY, key, 32), 0);
    assert_int_equal(ofs_key_derive_id(key, back), 0);
    ofs_key_id_hex(back, hex);
    assert_string_equal(hex, GOLDEN_ID);
}

/* ---- generate and rotation ---- */

static void test_generate_and_rotate(void **state)
{
    fixture *f = *state;
    uint8_t id1[8], id2[8];
    ofs_keyring *ring = NULL;
    struct stat st;
    char *text;

    assert_int_equal(ofs_keyring_generate(f->path, id1), 0);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(ofs_keyring_load(&ring, f->path), 0);
    assert_int_equal(ofs_keyring_count(ring), 1);
    assert_memory_equal(ofs_keyring_current(ring)->id, id1, 8);
    uint8_t derived[8];
    assert_int_equal(ofs_key_derive_id(ofs_keyring_current(ring)->key, derived), 0);
    assert_memory_equal(derived, id1, 8);
    ofs_keyring_free(ring);

    /* rotation keeps the old text byte for byte and appends the new key */
    text = strdup(read_text(f->path));
    assert_non_null(text);
    assert_int_equal(ofs_keyring_generate(f->path, id2), 0);
    assert_memory_not_equal(id1, id2, 8);
    assert_int_equal(strncmp(read_text(f->path), text, strlen(text)), 0);
    free(text);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(ofs_keyring_load(&ring, f->path), 0);
    assert_int_equal(ofs_keyring_count(ring), 2);
    assert_memory_equal(ofs_keyring_at(ring, 0)->id, id1, 8);
    assert_memory_equal(ofs_keyring_current(ring)->id, id2, 8);
    assert_non_null(ofs_keyring_find(ring, id1));
    ofs_keyring_free(ring);

    /* no temporary file is left behind */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_generate_keeps_comments_without_final_newline(void **state)
{
    fixture *f = *state;
    ofs_keyring *ring = NULL;
    write_text(f->path, "# mine\n" "offsite-key v1 " GOLDEN_ID " 2026-01-01T00:00:00Z " GOLDEN_KEY,
               0600);
    assert_int_equal(ofs_keyring_generate(f->path, NULL), 0);
    assert_int_equal(strncmp(read_text(f->path), "# mine\n" GOLDEN_LINE, strlen(GOLDEN_LINE) + 7),
                     0);
    assert_int_equal(ofs_keyring_load(&ring, f->path), 0);
    assert_int_equal(ofs_keyring_count(ring), 2);
    ofs_keyring_free(ring);
}

static void test_generate_refuses_bad_file(void **state)
{
    fixture *f = *state;
    char expected[512], missing[256];
    write_text(f->path, GOLDEN_LINE, 0644);
    assert_int_equal(ofs_keyring_generate(f->path, NULL), OFS_EDENIED);
    snprintf(expected, sizeof(expected),
             "key file '%s' is readable by group or others (mode 0644)\nHINT: chmod 600 %s",
             f->path, f->path);
    assert_string_equal(ofs_error_last(), expected);
    assert_string_equal(read_text(f->path), GOLDEN_LINE);

    snprintf(missing, sizeof(missing), "%s/no/such/dir/offsite.key", f->dir);
    assert_int_equal(ofs_keyring_generate(missing, NULL), OFS_ENOTFOUND);
    snprintf(expected, sizeof(expected),
             "cannot create key file '%s': No such file or directory", missing);
    assert_string_equal(ofs_error_last(), expected);
}

/* ---- paper copy ---- */

static void test_export_golden(void **state)
{
    fixture *f = *state;
    ofs_keyring *ring = NULL;
    char *out = NULL;
    size_t size = 0;
    write_text(f->path, GOLDEN_LINE, 0600);
    assert_int_equal(ofs_keyring_load(&ring, f->path), 0);
    FILE *mem = open_memstream(&out, &size);
    assert_non_null(mem);
    assert_int_equal(ofs_keyring_export(ring, mem), 0);
    fclose(mem);
    assert_non_null(strstr(out, "\n" GOLDEN_PAPER));
    free(out);
    ofs_keyring_free(ring);
}

static void test_export_import_round_trip(void **state)
{
    fixture *f = *state;
    ofs_keyring *ring = NULL, *back = NULL;
    char *out = NULL, other[160];
    size_t size = 0;
    int imported = -1;
    assert_int_equal(ofs_keyring_generate(f->path, NULL), 0);
    assert_int_equal(ofs_keyring_generate(f->path, NULL), 0);
    assert_int_equal(ofs_keyring_load(&ring, f->path), 0);
    FILE *mem = open_memstream(&out, &size);
    assert_non_null(mem);
    assert_int_equal(ofs_keyring_export(ring, mem), 0);
    fclose(mem);

    snprintf(other, sizeof(other), "%s/restored.key", f->dir);
    assert_int_equal(import_text(out, other, &imported), 0);
    assert_int_equal(imported, 2);
    assert_int_equal(ofs_keyring_load(&back, other), 0);
    assert_int_equal(ofs_keyring_count(back), 2);
    for (size_t i = 0; i < 2; i++) {
        assert_memory_equal(ofs_keyring_at(back, i)->key, ofs_keyring_at(ring, i)->key, 32);
        assert_memory_equal(ofs_keyring_at(back, i)->id, ofs_keyring_at(ring, i)->id, 8);
        assert_int_equal(ofs_keyring_at(back, i)->created, ofs_keyring_at(ring, i)->created);
    }
    struct stat st;
    assert_int_equal(stat(other, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* importing again adds nothing */
    assert_int_equal(import_text(out, other, &imported), 0);
    assert_int_equal(imported, 0);
    free(out);
    ofs_keyring_free(back);
    ofs_keyring_free(ring);
}

static void test_import_tolerates_spacing_and_case(void **state)
{
    fixture *f = *state;
    ofs_keyring *ring = NULL;
    int imported = 0;
    const char *typed = "  # typed by hand\n"
                        "OFFSITE-PAPER-KEY V1\n"
                        "ID F64C CDBD 673C B308\n"
                        "Created 2026-01-01t00:00:00z\n"
                        "1 7F745BED0785D6EE8E5B\n"
                        "\n"
                        "2:71cb bb6c 5b94 63c8 a6 08\n"
                        "3 :  c46338eb 5f612050   4087\n"
                        "4:  5ea0 61d9 f5aa 7650   E4DB   \n"
                        "SUM fadfaf11\n";
    assert_int_equal(import_text(typed, f->path, &imported), 0);
    assert_int_equal(imported, 1);
    assert_int_equal(ofs_keyring_load(&ring, f->path), 0);
    char hex[65];
    ofs_hex_encode(ofs_keyring_current(ring)->key, 32, hex);
    assert_string_equal(hex, GOLDEN_KEY);
    assert_int_equal(ofs_keyring_current(ring)->created, 1767225600);
    ofs_keyring_free(ring);
}

static void expect_import_error(fixture *f, const char *text, const char *message)
{
    int imported = -1;
    assert_int_equal(import_text(text, f->path, &imported), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), message);
    assert_int_equal(imported, 0);
    assert_int_equal(access(f->path, F_OK), -1); /* nothing written */
}

static void test_import_errors(void **state)
{
    fixture *f = *state;
    /* a typo in key line 3 (c463 -> c464) */
    expect_import_error(f,
                        "offsite-paper-key v1\nid      f64ccdbd673cb308\n"
                        "created 2026-01-01T00:00:00Z\n"
                        "1:  7f74 5bed 0785 d6ee   8e5b\n2:  71cb bb6c 5b94 63c8   a608\n"
                        "3:  c464 38eb 5f61 2050   4087\n4:  5ea0 61d9 f5aa 7650   e4db\n"
                        "sum     fadf af11\n",
                        "paper.txt:6: check code mismatch (typo?)");
    /* a typo in a check code */
    expect_import_error(f,
                        "offsite-paper-key v1\nid      f64ccdbd673cb308\n"
                        "created 2026-01-01T00:00:00Z\n"
                        "1:  7f74 5bed 0785 d6ee   8e5c\n",
                        "paper.txt:4: check code mismatch (typo?)");
    /* lines 1 and 2 typed in swapped order (numbers kept in order) */
    expect_import_error(f,
                        "offsite-paper-key v1\nid      f64ccdbd673cb308\n"
                        "created 2026-01-01T00:00:00Z\n"
                        "1:  71cb bb6c 5b94 63c8   a608\n",
                        "paper.txt:4: check code mismatch (typo?)");
    /* a digit missing */
    expect_import_error(f,
                        "offsite-paper-key v1\nid      f64ccdbd673cb308\n"
                        "created 2026-01-01T00:00:00Z\n"
                        "1:  7f74 5bed 0785 d6e   8e5b\n",
                        "paper.txt:4: expected 16 hex digits of key and 4 of check code, found "
                        "'7f74 5bed 0785 d6e   8e5b' (typo?)");
    /* wrong whole-key checksum */
    expect_import_error(f,
                        "offsite-paper-key v1\nid      f64ccdbd673cb308\n"
                        "created 2026-01-01T00:00:00Z\n"
                        "1:  7f74 5bed 0785 d6ee   8e5b\n2:  71cb bb6c 5b94 63c8   a608\n"
                        "3:  c463 38eb 5f61 2050   4087\n4:  5ea0 61d9 f5aa 7650   e4db\n"
                        "sum     fadf af12\n",
                        "paper.txt:8: key checksum mismatch (typo?)");
    /* a typo in the id line */
    expect_import_error(f,
                        "offsite-paper-key v1\nid      f64ccdbd673cb309\n"
                        "created 2026-01-01T00:00:00Z\n"
                        "1:  7f74 5bed 0785 d6ee   8e5b\n2:  71cb bb6c 5b94 63c8   a608\n"
                        "3:  c463 38eb 5f61 2050   4087\n4:  5ea0 61d9 f5aa 7650   e4db\n"
                        "sum     fadf af11\n",
                        "paper.txt:1: the key typed has id f64ccdbd673cb308, but the copy names "
                        "f64ccdbd673cb309 (typo in the id line?)");
    /* incomplete, empty, and out of order */
    expect_import_error(f,
                        "offsite-paper-key v1\nid      f64ccdbd673cb308\n"
                        "created 2026-01-01T00:00:00Z\n"
                        "1:  7f74 5bed 0785 d6ee   8e5b\n",
                        "paper.txt:4: the key that starts on line 1 is incomplete");
    expect_import_error(f, "# nothing\n\n", "paper.txt: no key found (expected "
                                            "'offsite-paper-key v1' lines)");
    expect_import_error(f, "hello\n", "paper.txt:1: expected 'offsite-paper-key v1'");
    expect_import_error(f,
                        "offsite-paper-key v1\nid      f64ccdbd673cb308\n"
                        "created 2026-01-01T00:00:00Z\n"
                        "2:  71cb bb6c 5b94 63c8   a608\n",
                        "paper.txt:4: expected key line 1");
    expect_import_error(f, "offsite-paper-key v1\ncreated 2026-01-01T00:00:00Z\n1: 00\n",
                        "paper.txt:3: expected 'id KEY-ID'");
    expect_import_error(f, "offsite-paper-key v2\n", "paper.txt:1: unsupported paper key version");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_refuses_loose_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_bad_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_id_hex_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_and_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_keeps_comments_without_final_newline,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_refuses_bad_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_import_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_tolerates_spacing_and_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
