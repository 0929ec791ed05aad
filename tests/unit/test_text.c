/* test_text.c - src/util/text.c: escaping names and messages for the terminal, strict UTF-8,
 * plurals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "offsite/text.h"

static void expect_name(const char *in, size_t n, const char *want)
{
    char out[512];
    size_t need = ofs_text_escape(out, sizeof(out), in, n, OFS_TEXT_NAME);
    assert_string_equal(out, want);
    assert_int_equal(need, strlen(want));
}

static void test_escape_name(void **state)
{
    (void)state;
    expect_name("plain/path.parquet", 18, "plain/path.parquet");
    /* the attack: ESC [ 2 J clears the screen, OSC 52 writes the clipboard */
    expect_name("evil\x1b[2Jname", 12, "evil\\x1b[2Jname");
    expect_name("osc\x1b]52;c;aGk=\x07", 15, "osc\\x1b]52;c;aGk=\\x07");
    /* a name cannot forge a line of output, nor hide behind a carriage return */
    expect_name("a\nb\rc\td", 7, "a\\x0ab\\x0dc\\x09d");
    expect_name("del\x7f", 4, "del\\x7f");
    /* a backslash is doubled so the output reads back to one name */
    expect_name("a\\x1b", 5, "a\\\\x1b");
    /* UTF-8 stays; C1 controls (U+009B is CSI on some terminals) do not */
    expect_name("r\xc3\xa9sum\xc3\xa9 \xe6\x97\xa5", 12, "r\xc3\xa9sum\xc3\xa9 \xe6\x97\xa5");
    expect_name("c1\xc2\x9b" "31m", 7, "c1\\xc2\\x9b31m");
    /* not UTF-8: each byte of the bad sequence alone */
    expect_name("latin1 caf\xe9", 11, "latin1 caf\\xe9");
    expect_name("overlong \xc0\xaf", 11, "overlong \\xc0\\xaf");
    expect_name("surrogate \xed\xa0\x80", 13, "surrogate \\xed\\xa0\\x80");
    expect_name("cut \xe6\x97", 6, "cut \\xe6\\x97");
    /* an embedded NUL within n is shown, not a terminator */
    expect_name("nul\0x", 5, "nul\\x00x");
}

static void test_escape_message(void **state)
{
    (void)state;
    char out[256];
    const char *msg = "verify: 'a\x1b[31m': SHA-256 mismatch\nHINT: run\tagain \\ok";
    ofs_text_escape(out, sizeof(out), msg, strlen(msg), OFS_TEXT_MESSAGE);
    assert_string_equal(out, "verify: 'a\\x1b[31m': SHA-256 mismatch\nHINT: run\tagain \\ok");
    ofs_text_escape(out, sizeof(out), "x\ry", 3, OFS_TEXT_MESSAGE);
    assert_string_equal(out, "x\\x0dy");
}

static void test_escape_short_buffer(void **state)
{
    (void)state;
    char out[8];
    /* cut at a whole escape, never in the middle of one; the return says what is needed */
    size_t need = ofs_text_escape(out, sizeof(out), "ab\x1b\x1b", 4, OFS_TEXT_NAME);
    assert_int_equal(need, 10);
    assert_string_equal(out, "ab\\x1b");
    assert_int_equal(ofs_text_escape(NULL, 0, "\x01", 1, OFS_TEXT_NAME), 4);
}

static void test_show(void **state)
{
    (void)state;
    ofs_text_buf b = { 0 };
    assert_string_equal(ofs_text_show(&b, "x\x1by"), "x\\x1by");
    assert_null(b.heap);
    /* a name longer than the inline buffer goes to the heap, whole */
    char long_name[1000];
    memset(long_name, '\x1b', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    const char *shown = ofs_text_show(&b, long_name);
    assert_int_equal(strlen(shown), 4 * (sizeof(long_name) - 1));
    assert_non_null(b.heap);
    assert_memory_equal(shown + 4 * 998, "\\x1b", 4);
    ofs_text_buf_free(&b);
    assert_null(b.heap);
    ofs_text_buf_free(NULL);
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(ofs_text_utf8_valid("", 0));
    assert_true(ofs_text_utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
    assert_false(ofs_text_utf8_valid("caf\xe9", 4));
    assert_false(ofs_text_utf8_valid("\xc0\x80", 2));         /* overlong NUL */
    assert_false(ofs_text_utf8_valid("\xed\xbf\xbf", 3));     /* surrogate */
    assert_false(ofs_text_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(ofs_text_utf8_valid("\xe6\x97", 2));         /* cut short */
}

static void test_plural(void **state)
{
    (void)state;
    assert_string_equal(ofs_text_plural(0, "file", "files"), "files");
    assert_string_equal(ofs_text_plural(1, "file", "files"), "file");
    assert_string_equal(ofs_text_plural(2, "backup", "backups"), "backups");
}

static void test_shell_quote(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(ofs_text_shell_quote(out, sizeof(out), "/srv/a b/c.txt"), 16);
    assert_string_equal(out, "'/srv/a b/c.txt'");
    ofs_text_shell_quote(out, sizeof(out), "it's");
    assert_string_equal(out, "'it'\\''s'");
    ofs_text_shell_quote(out, sizeof(out), "caf\xc3\xa9 $HOME `x`");
    assert_string_equal(out, "'caf\xc3\xa9 $HOME `x`'");
    /* a line break or an escape byte would break the line or reach the terminal */
    ofs_text_shell_quote(out, sizeof(out), "a\nb\x1b[1m'\\");
    assert_string_equal(out, "$'a\\x0ab\\x1b[1m\\x27\\x5c'");
    /* measured like snprintf; a short buffer is cut, never overrun */
    assert_int_equal(ofs_text_shell_quote(NULL, 0, "abc"), 5);
    assert_int_equal(ofs_text_shell_quote(out, 4, "abcdef"), 8);
    assert_string_equal(out, "'ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_name),
        cmocka_unit_test(test_escape_message),
        cmocka_unit_test(test_escape_short_buffer),
        cmocka_unit_test(test_show),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_plural),
        cmocka_unit_test(test_shell_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
