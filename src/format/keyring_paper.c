/* keyring_paper.c - the paper copy of the keys (offsite key export / import); see keyring.h
 * and docs/format.md ("Paper copy"). */
#include "offsite/keyring.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/kdf.h"
#include "keyring_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define KEYRING_PAPER_TAG "offsite-paper-key"
#define PAPER_LINES 4
#define PAPER_LINE_BYTES 8
#define PAPER_CHECK_BYTES 2
#define PAPER_SUM_BYTES 4

/* ---- paper copy ---- */

/* The check code of paper line n (1..4): the first 2 bytes of SHA-256(n || its 8 key bytes).
 * Including n catches two lines typed in the wrong order. */
static int paper_line_check(int n, const uint8_t bytes[PAPER_LINE_BYTES],
                            uint8_t check[PAPER_CHECK_BYTES])
{
    uint8_t input[1 + PAPER_LINE_BYTES], digest[OFS_SHA256_BYTES];
    int rc;
    input[0] = (uint8_t)n;
    memcpy(input + 1, bytes, PAPER_LINE_BYTES);
    rc = ofs_sha256_buffer(input, sizeof(input), digest);
    memcpy(check, digest, PAPER_CHECK_BYTES);
    OPENSSL_cleanse(input, sizeof(input));
    OPENSSL_cleanse(digest, sizeof(digest));
    return rc;
}

/* The whole-key checksum: the first 4 bytes of SHA-256 over the 32 key bytes. */
static int paper_key_sum(const uint8_t key[OFS_KEY_BYTES], uint8_t sum[PAPER_SUM_BYTES])
{
    uint8_t digest[OFS_SHA256_BYTES];
    int rc = ofs_sha256_buffer(key, OFS_KEY_BYTES, digest);
    memcpy(sum, digest, PAPER_SUM_BYTES);
    OPENSSL_cleanse(digest, sizeof(digest));
    return rc;
}

static void paper_groups(const uint8_t *bytes, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        if (i > 0 && i % 2 == 0)
            out[n++] = ' ';
        out[n++] = digits[bytes[i] >> 4];
        out[n++] = digits[bytes[i] & 15];
    }
    out[n] = '\0';
}

int ofs_keyring_export(const ofs_keyring *ring, FILE *out)
{
    char id[17], created[32], groups[64], check[16];
    uint8_t code[PAPER_SUM_BYTES];
    int rc = 0;

    fprintf(out, "# offsite paper key copy. Keep it as safe as the key file.\n"
                 "# Type it back with 'offsite key import'. Each key line ends with a check "
                 "code;\n# spaces and letter case do not matter.\n");
    for (size_t k = 0; k < ring->count; k++) {
        const ofs_key *key = &ring->keys[k];
        ofs_key_id_hex(key->id, id);
        keyring_format_time(key->created, created);
        fprintf(out, "\n%s v1\nid      %s\ncreated %s\n", KEYRING_PAPER_TAG, id, created);
        for (int line = 1; line <= PAPER_LINES; line++) {
            const uint8_t *bytes = key->key + (line - 1) * PAPER_LINE_BYTES;
            if ((rc = paper_line_check(line, bytes, code)) < 0)
                goto cleanup;
            paper_groups(bytes, PAPER_LINE_BYTES, groups);
            paper_groups(code, PAPER_CHECK_BYTES, check);
            fprintf(out, "%d:  %s   %s\n", line, groups, check);
        }
        if ((rc = paper_key_sum(key->key, code)) < 0)
            goto cleanup;
        paper_groups(code, PAPER_SUM_BYTES, check);
        fprintf(out, "sum     %s\n", check);
    }
    if (fflush(out) != 0 || ferror(out))
        rc = ofs_error_from_errno(errno, "cannot write the paper copy");
cleanup:
    OPENSSL_cleanse(groups, sizeof(groups));
    return rc;
}

/* Lower-cases s and removes all blanks, in place. */
static void paper_squeeze(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++)
        if (!isspace((unsigned char)*p))
            *w++ = (char)tolower((unsigned char)*p);
    *w = '\0';
}

typedef struct {
    int state; /* 0: outside a key, 1..4: next key line, 5: expecting sum */
    int start_line;
    int have_id, have_created;
    ofs_key key;
    uint8_t paper_id[OFS_KEY_ID_BYTES];
} paper_parser;

static int paper_finish_key(paper_parser *p, const char *in_name, int lineno, const char *sum_hex,
                            ofs_keyring *ring)
{
    uint8_t sum[PAPER_SUM_BYTES], expect[PAPER_SUM_BYTES];
    char typed_id[17], paper_id[17];
    int rc;
    if (ofs_hex_decode(sum_hex, sum, PAPER_SUM_BYTES) < 0)
        return ofs_error_set(OFS_ECORRUPT, "%s:%d: expected a checksum of 8 hex digits", in_name,
                             lineno);
    if ((rc = paper_key_sum(p->key.key, expect)) < 0)
        return rc;
    if (CRYPTO_memcmp(sum, expect, PAPER_SUM_BYTES) != 0)
        return ofs_error_set(OFS_ECORRUPT, "%s:%d: key checksum mismatch (typo?)", in_name,
                             lineno);
    if ((rc = ofs_key_derive_id(p->key.key, p->key.id)) < 0)
        return rc;
    if (memcmp(p->key.id, p->paper_id, OFS_KEY_ID_BYTES) != 0) {
        ofs_key_id_hex(p->key.id, typed_id);
        ofs_key_id_hex(p->paper_id, paper_id);
        return ofs_error_set(OFS_ECORRUPT,
                             "%s:%d: the key typed has id %s, but the copy names %s (typo in "
                             "the id line?)",
                             in_name, p->start_line, typed_id, paper_id);
    }
    if (!ofs_keyring_find(ring, p->key.id) && (rc = keyring_append_key(ring, &p->key)) < 0)
        return rc;
    return 0;
}

/* Parses one non-blank, non-comment line of a paper copy. */
static int paper_parse_line(paper_parser *p, const char *in_name, int lineno, char *text,
                            ofs_keyring *ring)
{
    char *fields[4];
    char copy[256];
    uint8_t raw[PAPER_LINE_BYTES + PAPER_CHECK_BYTES], check[PAPER_CHECK_BYTES];
    int rc = 0;
    size_t n;

    snprintf(copy, sizeof(copy), "%s", text);
    n = keyring_split(copy, fields, 3);
    if (p->state == 0) {
        if (n >= 1 && strcasecmp(fields[0], KEYRING_PAPER_TAG) == 0) {
            if (n != 2 || strcasecmp(fields[1], "v1") != 0) {
                rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: unsupported paper key version",
                                   in_name, lineno);
                goto cleanup;
            }
            memset(&p->key, 0, sizeof(p->key));
            p->have_id = p->have_created = 0;
            p->start_line = lineno;
            p->state = -1; /* header: id and created */
            goto cleanup;
        }
        rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: expected '%s v1'", in_name, lineno,
                           KEYRING_PAPER_TAG);
        goto cleanup;
    }
    if (p->state == -1) {
        /* The value is everything after the keyword, blanks removed: any grouping goes. */
        char *value = n >= 2 ? fields[1] : NULL;
        if (value) {
            snprintf(value, sizeof(copy) - (size_t)(value - copy), "%s", text + (value - copy));
            paper_squeeze(value);
        }
        if (value && strcasecmp(fields[0], "id") == 0) {
            if (ofs_hex_decode(value, p->paper_id, OFS_KEY_ID_BYTES) < 0) {
                rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: expected a key id of 16 hex digits",
                                   in_name, lineno);
                goto cleanup;
            }
            p->have_id = 1;
        } else if (value && strcasecmp(fields[0], "created") == 0) {
            for (char *c = value; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            if (keyring_parse_time(value, &p->key.created) < 0) {
                rc = ofs_error_set(OFS_ECORRUPT,
                                   "%s:%d: expected a creation time YYYY-mm-ddTHH:MM:SSZ",
                                   in_name, lineno);
                goto cleanup;
            }
            p->have_created = 1;
        } else if (n >= 1 && fields[0][0] == '1' && p->have_id && p->have_created) {
            p->state = 1;
            rc = paper_parse_line(p, in_name, lineno, text, ring);
            goto cleanup;
        } else {
            rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: expected %s", in_name, lineno,
                               !p->have_id ? "'id KEY-ID'" : !p->have_created
                                   ? "'created YYYY-mm-ddTHH:MM:SSZ'" : "key line 1");
            goto cleanup;
        }
        goto cleanup;
    }
    if (p->state >= 1 && p->state <= PAPER_LINES) {
        /* "N:" or "N" then 16 key digits and 4 check digits, in any grouping. */
        char *colon = strchr(text, ':');
        char *digits = text;
        char *end = NULL;
        long number = strtol(text, &end, 10);
        if (end == text || number != p->state) {
            rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: expected key line %d", in_name, lineno,
                               p->state);
            goto cleanup;
        }
        digits = colon ? colon + 1 : end;
        while (isspace((unsigned char)*digits))
            digits++;
        snprintf(copy, sizeof(copy), "%s", digits);
        paper_squeeze(copy);
        if (strlen(copy) != 2 * sizeof(raw) || ofs_hex_decode(copy, raw, sizeof(raw)) < 0) {
            rc = ofs_error_set(OFS_ECORRUPT,
                               "%s:%d: expected 16 hex digits of key and 4 of check code, "
                               "found '%s' (typo?)",
                               in_name, lineno, digits);
            goto cleanup;
        }
        if ((rc = paper_line_check(p->state, raw, check)) < 0)
            goto cleanup;
        if (CRYPTO_memcmp(check, raw + PAPER_LINE_BYTES, PAPER_CHECK_BYTES) != 0) {
            rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: check code mismatch (typo?)", in_name,
                               lineno);
            goto cleanup;
        }
        memcpy(p->key.key + (p->state - 1) * PAPER_LINE_BYTES, raw, PAPER_LINE_BYTES);
        p->state++;
        goto cleanup;
    }
    /* state 5: the checksum line */
    if (n >= 2 && strcasecmp(fields[0], "sum") == 0) {
        /* The checksum may be written in groups: take everything after "sum". */
        snprintf(copy, sizeof(copy), "%s", text + (fields[1] - copy));
        paper_squeeze(copy);
        if ((rc = paper_finish_key(p, in_name, lineno, copy, ring)) < 0)
            goto cleanup;
        OPENSSL_cleanse(&p->key, sizeof(p->key));
        p->state = 0;
        goto cleanup;
    }
    rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: expected 'sum' and the key checksum", in_name,
                       lineno);
cleanup:
    OPENSSL_cleanse(copy, sizeof(copy));
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

int ofs_keyring_import(FILE *in, const char *in_name, const char *path, int *imported)
{
    ofs_keyring *ring = NULL;
    paper_parser parser;
    char line[1024];
    int rc = 0, lineno = 0, added = 0;

    memset(&parser, 0, sizeof(parser));
    if (imported)
        *imported = 0;
    if (!(ring = OPENSSL_zalloc(sizeof(*ring))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    while (fgets(line, sizeof(line), in)) {
        char *p = line;
        size_t len = strlen(line);
        lineno++;
        while (len > 0 && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if ((rc = paper_parse_line(&parser, in_name, lineno, p, ring)) < 0)
            goto cleanup;
    }
    if (ferror(in)) {
        rc = ofs_error_from_errno(errno, "cannot read '%s'", in_name);
        goto cleanup;
    }
    if (parser.state != 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: the key that starts on line %d is incomplete",
                           in_name, lineno, parser.start_line);
        goto cleanup;
    }
    if (ring->count == 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s: no key found (expected '%s v1' lines)", in_name,
                           KEYRING_PAPER_TAG);
        goto cleanup;
    }
    if ((rc = keyring_add(path, ring->keys, ring->count, &added)) < 0)
        goto cleanup;
    if (imported)
        *imported = added;
cleanup:
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(&parser, sizeof(parser));
    ofs_keyring_free(ring);
    return rc;
}
