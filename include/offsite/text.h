/*
 * text.h - names and messages as they may be shown on a terminal, UTF-8 checks, plurals.
 *
 * Anyone who can name a file on a backed-up host chooses bytes that `ls`, `restore --dry-run`
 * and error messages print: raw, an ESC byte would write to the operator's terminal. So every
 * name printed goes through ofs_text_show (a name: every control byte shown), and every line
 * written (src/cli/output.c, log.c) through ofs_text_escape with OFS_TEXT_MESSAGE (a whole
 * message: line breaks kept). --json output does not use these: JSON escapes keep the exact
 * bytes (a name that is not UTF-8 goes out as NAME_hex, as the catalog stores it).
 *
 * What is escaped, as \xHH (lowercase hex, one per byte):
 *   - the C0 controls 0x00-0x1f and DEL 0x7f (a message keeps \n and \t);
 *   - the C1 controls U+0080-U+009F as their UTF-8 bytes (\xc2\x9b: some terminals take
 *     U+009B as CSI);
 *   - every byte that is not part of valid UTF-8 (strict: no overlong forms, no surrogates,
 *     nothing above U+10FFFF).
 * In a name a backslash is shown as \\, so what is printed reads back to exactly one name.
 * Everything else (printable ASCII, valid UTF-8) is shown as it is.
 */
#ifndef OFFSITE_TEXT_H
#define OFFSITE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define OFS_TEXT_NAME 0u    /* a name (path, id, description): every control byte escaped */
#define OFS_TEXT_MESSAGE 1u /* a whole message: \n and \t kept, backslashes left as they are */

/*
 * ofs_text_escape(out, size, s, n, flags): the n bytes of s escaped as above into out (at most
 * size bytes with the NUL; cut at a whole escape when short). Returns the length the whole
 * result needs without the NUL, as snprintf does, so a caller can size a buffer (NULL/0 to
 * measure). Never fails.
 */
size_t ofs_text_escape(char *out, size_t size, const char *s, size_t n, unsigned flags);

/*
 * An escaped name to print: short ones in the struct, long ones on the heap. Declare
 * `ofs_text_buf b = { 0 };`, print ofs_text_show(&b, name) (valid until the next show on b
 * or ofs_text_buf_free), then ofs_text_buf_free(&b). ofs_text_show never returns NULL: out of
 * memory, a long name is cut and ends with "...".
 */
typedef struct ofs_text_buf {
    char *heap;
    char text[256];
} ofs_text_buf;

const char *ofs_text_show(ofs_text_buf *b, const char *name);
void ofs_text_buf_free(ofs_text_buf *b);

/* ofs_text_utf8_valid(s, n): 1 if the n bytes of s are strict UTF-8 (as jansson reads it). */
int ofs_text_utf8_valid(const char *s, size_t n);

/* ofs_text_is_printable(s): 1 if s is strict UTF-8 without a control character (C0, DEL or
 * C1): text that may go into a record, a request or a log line as it is (config values). */
int ofs_text_is_printable(const char *s);

/* ofs_text_plural(n, one, many): one if n == 1, else many ("1 file", "2 files", "0 files"). */
const char *ofs_text_plural(uint64_t n, const char *one, const char *many);

/*
 * ofs_text_shell_quote(out, size, s): s as one word for a POSIX shell, on one line:
 * 'text' (a ' inside as '\''), or bash's $'...' with \xHH for every byte that is not
 * printable (ofs_text_escape's rules), so a command holding any name pastes as one line.
 * Returns the length the whole result needs without the NUL, as snprintf does.
 */
size_t ofs_text_shell_quote(char *out, size_t size, const char *s);

#endif
