/* text.c - escaping for the terminal, strict UTF-8, plurals; see text.h. */
#include "offsite/text.h"

#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s[0..n) and its code point in *cp; 0 if the first
 * byte does not start one (overlong, surrogate, above U+10FFFF, cut short). */
static size_t text_utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0], min, value;
    size_t len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, min = 0x80, value = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, min = 0x800, value = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, value = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        value = (value << 6) | (s[k] & 0x3f);
    }
    if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return 0;
    *cp = value;
    return len;
}

int ofs_text_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned cp;
    for (size_t i = 0; i < n;) {
        size_t len = text_utf8_next(p + i, n - i, &cp);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}

int ofs_text_is_printable(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    unsigned cp;
    for (size_t i = 0; i < n;) {
        size_t len = text_utf8_next(p + i, n - i, &cp);
        if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += len;
    }
    return 1;
}

/* Appends piece (len bytes) at *at if it fits whole; the needed length grows either way. */
static void text_put(char *out, size_t size, size_t *at, size_t *need, const char *piece,
                     size_t len)
{
    if (*at == *need && size > 0 && *at + len < size) {
        memcpy(out + *at, piece, len);
        *at += len;
    }
    *need += len;
}

static void text_put_hex(char *out, size_t size, size_t *at, size_t *need,
                         const unsigned char *bytes, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < len; k++) {
        char esc[4] = { '\\', 'x', digits[bytes[k] >> 4], digits[bytes[k] & 15] };
        text_put(out, size, at, need, esc, sizeof(esc));
    }
}

size_t ofs_text_escape(char *out, size_t size, const char *s, size_t n, unsigned flags)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t at = 0, need = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp = 0;
        size_t len = text_utf8_next(p + i, n - i, &cp);
        if (len == 0) {
            text_put_hex(out, size, &at, &need, p + i, 1);
            i++;
            continue;
        }
        int control = cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
        if (flags & OFS_TEXT_MESSAGE)
            control = control && cp != '\n' && cp != '\t';
        if (control)
            text_put_hex(out, size, &at, &need, p + i, len);
        else if (cp == '\\' && !(flags & OFS_TEXT_MESSAGE))
            text_put(out, size, &at, &need, "\\\\", 2);
        else
            text_put(out, size, &at, &need, (const char *)p + i, len);
        i += len;
    }
    if (size > 0)
        out[at] = '\0';
    return need;
}

const char *ofs_text_show(ofs_text_buf *b, const char *name)
{
    size_t n = strlen(name);
    size_t need = ofs_text_escape(b->text, sizeof(b->text), name, n, OFS_TEXT_NAME);
    if (need < sizeof(b->text))
        return b->text;
    char *bigger = realloc(b->heap, need + 1);
    if (!bigger) {
        /* cut at a whole escape, and say so */
        ofs_text_escape(b->text, sizeof(b->text) - 3, name, n, OFS_TEXT_NAME);
        strcat(b->text, "...");
        return b->text;
    }
    b->heap = bigger;
    ofs_text_escape(b->heap, need + 1, name, n, OFS_TEXT_NAME);
    return b->heap;
}

void ofs_text_buf_free(ofs_text_buf *b)
{
    if (!b)
        return;
    free(b->heap);
    b->heap = NULL;
}

const char *ofs_text_plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

size_t ofs_text_shell_quote(char *out, size_t size, const char *s)
{
    size_t n = strlen(s), at = 0, need = 0;
    /* a name ofs_text_show leaves alone holds nothing a terminal or a line break could take */
    if (ofs_text_escape(NULL, 0, s, n, OFS_TEXT_NAME) == n) {
        text_put(out, size, &at, &need, "'", 1);
        for (const char *p = s; *p; p++)
            text_put(out, size, &at, &need, *p == '\'' ? "'\\''" : p, *p == '\'' ? 4 : 1);
        text_put(out, size, &at, &need, "'", 1);
    } else {
        text_put(out, size, &at, &need, "$'", 2);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            if (*p < 0x20 || *p >= 0x7f || *p == '\'' || *p == '\\')
                text_put_hex(out, size, &at, &need, p, 1);
            else
                text_put(out, size, &at, &need, (const char *)p, 1);
        }
        text_put(out, size, &at, &need, "'", 1);
    }
    if (size > 0)
        out[at] = '\0';
    return need;
}
