/* seal.c - the object container: AES-256-GCM STREAM; see seal.h and docs/format.md. */
#include "offsite/seal.h"
#include "offsite/error.h"
#include "offsite/kdf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SEAL_MAGIC "OFS1"
#define SEAL_VERSION 1
#define SEAL_SALT_BYTES 32
#define SEAL_NONCE_BYTES 12
#define SEAL_LOG2_MIN 10 /* 1 KiB */
#define SEAL_LOG2_MAX 24 /* 16 MiB */
#define SEAL_AUTH_FAILED "authentication failed (wrong key or corrupted data)"

/* Header offsets (docs/format.md, "Object container"). */
enum {
    SEAL_OFF_MAGIC = 0,
    SEAL_OFF_VERSION = 4,
    SEAL_OFF_LOG2 = 5,
    SEAL_OFF_NAME_LEN = 6,
    SEAL_OFF_KEY_ID = 8,
    SEAL_OFF_SALT = 16,
    SEAL_OFF_NAME = 48
};

uint64_t ofs_seal_sealed_size(uint64_t plain_size, size_t name_len, size_t segment_size)
{
    uint64_t segments;
    if (segment_size == 0)
        segment_size = OFS_SEAL_SEGMENT_DEFAULT;
    segments = plain_size == 0 ? 1 : (plain_size + segment_size - 1) / segment_size;
    return OFS_SEAL_HEADER_FIXED + name_len + segments * OFS_SEAL_TAG_BYTES + plain_size;
}

/* nonce = 11-byte big-endian counter || final flag. */
static void seal_nonce(uint64_t counter, int final, uint8_t nonce[SEAL_NONCE_BYTES])
{
    memset(nonce, 0, SEAL_NONCE_BYTES);
    for (int i = 0; i < 8; i++)
        nonce[10 - i] = (uint8_t)(counter >> (8 * i));
    nonce[11] = final ? 1 : 0;
}

static int seal_log2(size_t size)
{
    for (int i = SEAL_LOG2_MIN; i <= SEAL_LOG2_MAX; i++)
        if ((size_t)1 << i == size)
            return i;
    return -1;
}

/* The object key: HKDF-SHA256(master, salt, "offsite v1 data"), set on a fresh GCM context. */
static int seal_context_new(EVP_CIPHER_CTX **out, const ofs_key *master, const uint8_t *salt,
                            int encrypt)
{
    uint8_t key[32];
    EVP_CIPHER_CTX *ctx = NULL;
    int rc = 0;

    *out = NULL;
    if ((rc = ofs_hkdf_sha256(master->key, OFS_KEY_BYTES, salt, SEAL_SALT_BYTES,
                              OFS_HKDF_INFO_DATA, key, sizeof(key))) < 0)
        goto cleanup;
    if (!(ctx = EVP_CIPHER_CTX_new())) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, encrypt) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_BYTES, NULL) != 1) {
        rc = ofs_error_set(OFS_ERROR, "openssl: AES-256-GCM init failed");
        goto cleanup;
    }
    *out = ctx;
    ctx = NULL;
cleanup:
    OPENSSL_cleanse(key, sizeof(key));
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* ---- writer ---- */

typedef struct {
    ofs_writer parent;
    ofs_writer *next;
    EVP_CIPHER_CTX *ctx;
    uint8_t *header;
    size_t header_len;
    size_t segment_size;
    uint8_t *plain;   /* the segment being filled: sealed only once more data follows */
    size_t buffered;
    uint8_t *sealed;  /* ciphertext || tag of one segment */
    uint64_t counter;
} seal_writer;

static int seal_segment(seal_writer *s, const uint8_t *plain, size_t size, int final)
{
    uint8_t nonce[SEAL_NONCE_BYTES];
    int len = 0, total = 0;

    if (s->counter == UINT64_MAX)
        return ofs_error_set(OFS_ERROR, "object too large for one seal stream");
    seal_nonce(s->counter, final, nonce);
    if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, nonce) != 1 ||
        EVP_EncryptUpdate(s->ctx, NULL, &len, s->header, (int)s->header_len) != 1)
        return ofs_error_set(OFS_ERROR, "openssl: AES-256-GCM failed");
    if (size > 0) {
        if (EVP_EncryptUpdate(s->ctx, s->sealed, &len, plain, (int)size) != 1)
            return ofs_error_set(OFS_ERROR, "openssl: AES-256-GCM failed");
        total = len;
    }
    if (EVP_EncryptFinal_ex(s->ctx, s->sealed + total, &len) != 1)
        return ofs_error_set(OFS_ERROR, "openssl: AES-256-GCM failed");
    total += len;
    if ((size_t)total != size ||
        EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, OFS_SEAL_TAG_BYTES,
                            s->sealed + total) != 1)
        return ofs_error_set(OFS_ERROR, "openssl: AES-256-GCM failed");
    s->counter++;
    return ofs_writer_write(s->next, s->sealed, size + OFS_SEAL_TAG_BYTES);
}

static int seal_write(ofs_writer *w, const void *data, size_t size)
{
    seal_writer *s = (seal_writer *)w;
    const uint8_t *p = data;
    int rc;

    while (size > 0) {
        /* One segment of look-behind: a full buffer is sealed as non-final only when more
         * data arrives, so finish can always mark the last segment final. */
        if (s->buffered == s->segment_size) {
            if ((rc = seal_segment(s, s->plain, s->buffered, 0)) < 0)
                return rc;
            s->buffered = 0;
        }
        /* Fast path: whole segments straight from the caller's buffer, when more follows. */
        while (s->buffered == 0 && size > s->segment_size) {
            if ((rc = seal_segment(s, p, s->segment_size, 0)) < 0)
                return rc;
            p += s->segment_size;
            size -= s->segment_size;
        }
        size_t n = s->segment_size - s->buffered;
        if (n > size)
            n = size;
        memcpy(s->plain + s->buffered, p, n);
        s->buffered += n;
        p += n;
        size -= n;
    }
    return 0;
}

static int seal_finish(ofs_writer *w)
{
    seal_writer *s = (seal_writer *)w;
    int rc = seal_segment(s, s->plain, s->buffered, 1);
    if (rc < 0)
        return rc;
    OPENSSL_cleanse(s->plain, s->segment_size);
    s->buffered = 0;
    return ofs_writer_finish(s->next);
}

static void seal_writer_free(ofs_writer *w)
{
    seal_writer *s = (seal_writer *)w;
    ofs_writer_free(s->next);
    EVP_CIPHER_CTX_free(s->ctx);
    OPENSSL_clear_free(s->plain, s->segment_size);
    free(s->sealed);
    free(s->header);
    free(s);
}

static const struct ofs_writer_ops seal_writer_ops = { seal_write, seal_finish, seal_writer_free };

int ofs_seal_writer_new(ofs_writer **out, ofs_writer *next, const ofs_key *key, const char *name,
                        size_t segment_size)
{
    seal_writer *s = NULL;
    size_t name_len = strlen(name);
    int log2, rc = 0;

    *out = NULL;
    if (segment_size == 0)
        segment_size = OFS_SEAL_SEGMENT_DEFAULT;
    if ((log2 = seal_log2(segment_size)) < 0) {
        ofs_writer_free(next);
        return ofs_error_set(OFS_ECONFIG,
                             "invalid segment size %zu: expected a power of two between 1 KiB "
                             "and 16 MiB",
                             segment_size);
    }
    if (name_len > OFS_SEAL_NAME_MAX) {
        ofs_writer_free(next);
        return ofs_error_set(OFS_ERROR, "object name longer than %d bytes", OFS_SEAL_NAME_MAX);
    }
    if (!(s = calloc(1, sizeof(*s)))) {
        ofs_writer_free(next);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    s->parent.ops = &seal_writer_ops;
    s->next = next;
    s->segment_size = segment_size;
    s->header_len = OFS_SEAL_HEADER_FIXED + name_len;
    s->header = malloc(s->header_len);
    s->plain = OPENSSL_malloc(segment_size);
    s->sealed = malloc(segment_size + OFS_SEAL_TAG_BYTES);
    if (!s->header || !s->plain || !s->sealed) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto fail;
    }
    memcpy(s->header + SEAL_OFF_MAGIC, SEAL_MAGIC, 4);
    s->header[SEAL_OFF_VERSION] = SEAL_VERSION;
    s->header[SEAL_OFF_LOG2] = (uint8_t)log2;
    s->header[SEAL_OFF_NAME_LEN] = (uint8_t)(name_len >> 8);
    s->header[SEAL_OFF_NAME_LEN + 1] = (uint8_t)name_len;
    memcpy(s->header + SEAL_OFF_KEY_ID, key->id, OFS_KEY_ID_BYTES);
    if (RAND_bytes(s->header + SEAL_OFF_SALT, SEAL_SALT_BYTES) != 1) {
        rc = ofs_error_set(OFS_ERROR, "openssl: no random bytes for the object salt");
        goto fail;
    }
    memcpy(s->header + SEAL_OFF_NAME, name, name_len);
    if ((rc = seal_context_new(&s->ctx, key, s->header + SEAL_OFF_SALT, 1)) < 0)
        goto fail;
    if ((rc = ofs_writer_write(s->next, s->header, s->header_len)) < 0)
        goto fail;
    *out = &s->parent;
    return 0;
fail:
    seal_writer_free(&s->parent);
    return rc;
}

/* ---- reader ---- */

typedef struct {
    ofs_reader parent;
    ofs_reader *source;
    const ofs_keyring *ring;
    char *expected_name;
    char *name;          /* from the header, after the first read */
    EVP_CIPHER_CTX *ctx;
    uint8_t *header;
    size_t header_len;
    size_t segment_size;
    uint8_t *in;         /* one sealed segment plus one byte of look-ahead */
    size_t in_len;
    uint8_t *plain;      /* verified plaintext of the current segment */
    size_t plain_len, plain_pos;
    uint64_t counter;
    int started, done;
    int named;           /* the header's name is in s->name (even if the key is missing) */
    int failed;          /* sticky: once not authentic, never anything else */
} seal_reader;

static int seal_reader_fail(seal_reader *s, int code)
{
    s->failed = code;
    if (s->plain)
        OPENSSL_cleanse(s->plain, s->segment_size);
    s->plain_len = s->plain_pos = 0;
    return code;
}

static int seal_auth_failed(seal_reader *s)
{
    ofs_error_set(OFS_EAUTH, SEAL_AUTH_FAILED);
    return seal_reader_fail(s, OFS_EAUTH);
}

/* Copies name into a printable form for messages (the header is not yet authenticated). */
static void seal_printable(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static int seal_reader_start(seal_reader *s)
{
    uint8_t fixed[OFS_SEAL_HEADER_FIXED];
    size_t got = 0, name_len;
    const ofs_key *key;
    char key_hex[17];
    int rc;

    if ((rc = ofs_reader_read_full(s->source, fixed, sizeof(fixed), &got)) < 0)
        return seal_reader_fail(s, rc);
    if (got < 4 || memcmp(fixed, SEAL_MAGIC, 4) != 0) {
        ofs_error_set(OFS_ECORRUPT, "not an offsite object");
        return seal_reader_fail(s, OFS_ECORRUPT);
    }
    if (got < sizeof(fixed))
        return seal_auth_failed(s);
    if (fixed[SEAL_OFF_VERSION] != SEAL_VERSION) {
        ofs_error_set(OFS_ECORRUPT, "not an offsite object (unsupported format version %u)",
                      fixed[SEAL_OFF_VERSION]);
        return seal_reader_fail(s, OFS_ECORRUPT);
    }
    if (fixed[SEAL_OFF_LOG2] < SEAL_LOG2_MIN || fixed[SEAL_OFF_LOG2] > SEAL_LOG2_MAX) {
        ofs_error_set(OFS_ECORRUPT, "not an offsite object (segment size 2^%u out of range)",
                      fixed[SEAL_OFF_LOG2]);
        return seal_reader_fail(s, OFS_ECORRUPT);
    }
    name_len = (size_t)fixed[SEAL_OFF_NAME_LEN] << 8 | fixed[SEAL_OFF_NAME_LEN + 1];
    if (name_len > OFS_SEAL_NAME_MAX) {
        ofs_error_set(OFS_ECORRUPT, "not an offsite object (name length %zu out of range)",
                      name_len);
        return seal_reader_fail(s, OFS_ECORRUPT);
    }
    s->segment_size = (size_t)1 << fixed[SEAL_OFF_LOG2];
    s->header_len = OFS_SEAL_HEADER_FIXED + name_len;
    s->header = malloc(s->header_len);
    s->name = malloc(name_len + 1);
    s->in = malloc(s->segment_size + OFS_SEAL_TAG_BYTES + 1);
    s->plain = OPENSSL_malloc(s->segment_size);
    if (!s->header || !s->name || !s->in || !s->plain) {
        ofs_error_set(OFS_ERROR, "out of memory");
        return seal_reader_fail(s, OFS_ERROR);
    }
    memcpy(s->header, fixed, sizeof(fixed));
    if ((rc = ofs_reader_read_full(s->source, s->header + OFS_SEAL_HEADER_FIXED, name_len,
                                   &got)) < 0)
        return seal_reader_fail(s, rc);
    if (got < name_len)
        return seal_auth_failed(s);
    memcpy(s->name, s->header + OFS_SEAL_HEADER_FIXED, name_len);
    s->name[name_len] = '\0';
    if (strlen(s->name) != name_len) {
        ofs_error_set(OFS_ECORRUPT, "not an offsite object (NUL byte in the object name)");
        return seal_reader_fail(s, OFS_ECORRUPT);
    }
    seal_printable(s->name);
    s->named = 1;
    key = ofs_keyring_find(s->ring, fixed + SEAL_OFF_KEY_ID);
    if (!key) {
        ofs_key_id_hex(fixed + SEAL_OFF_KEY_ID, key_hex);
        ofs_error_set(OFS_ENOTFOUND, "sealed with key %s, which the key file does not hold",
                      key_hex);
        return seal_reader_fail(s, OFS_ENOTFOUND);
    }
    if (s->expected_name && strcmp(s->expected_name, s->name) != 0) {
        ofs_error_set(OFS_EAUTH, "object is '%s', expected '%s'", s->name, s->expected_name);
        return seal_reader_fail(s, OFS_EAUTH);
    }
    if ((rc = seal_context_new(&s->ctx, key, fixed + SEAL_OFF_SALT, 0)) < 0)
        return seal_reader_fail(s, rc);
    s->started = 1;
    return 0;
}

/* Reads, authenticates and decrypts the next segment into s->plain. */
static int seal_reader_next_segment(seal_reader *s)
{
    const size_t full = s->segment_size + OFS_SEAL_TAG_BYTES;
    uint8_t nonce[SEAL_NONCE_BYTES];
    size_t got = 0, cipher_len;
    int final, len = 0, total = 0, rc;

    /* Fill to a full sealed segment plus one byte: that byte tells whether more follows. */
    if ((rc = ofs_reader_read_full(s->source, s->in + s->in_len, full + 1 - s->in_len, &got)) < 0)
        return seal_reader_fail(s, rc);
    s->in_len += got;
    final = s->in_len <= full;
    if (s->in_len < OFS_SEAL_TAG_BYTES)
        return seal_auth_failed(s); /* truncated: no final segment */
    cipher_len = (final ? s->in_len : full) - OFS_SEAL_TAG_BYTES;
    seal_nonce(s->counter, final, nonce);
    if (EVP_DecryptInit_ex(s->ctx, NULL, NULL, NULL, nonce) != 1 ||
        EVP_DecryptUpdate(s->ctx, NULL, &len, s->header, (int)s->header_len) != 1)
        return seal_auth_failed(s);
    if (cipher_len > 0) {
        if (EVP_DecryptUpdate(s->ctx, s->plain, &len, s->in, (int)cipher_len) != 1)
            return seal_auth_failed(s);
        total = len;
    }
    if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, OFS_SEAL_TAG_BYTES,
                            s->in + cipher_len) != 1 ||
        EVP_DecryptFinal_ex(s->ctx, s->plain + total, &len) != 1)
        return seal_auth_failed(s);
    total += len;
    if ((size_t)total != cipher_len)
        return seal_auth_failed(s);
    s->counter++;
    s->plain_len = cipher_len;
    s->plain_pos = 0;
    if (final) {
        s->done = 1;
        s->in_len = 0;
    } else {
        s->in[0] = s->in[full];
        s->in_len = 1;
    }
    return 0;
}

static int seal_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    seal_reader *s = (seal_reader *)r;
    int rc;

    *got = 0;
    if (s->failed) {
        if (s->failed == OFS_EAUTH)
            ofs_error_set(OFS_EAUTH, SEAL_AUTH_FAILED);
        return s->failed;
    }
    if (!s->started && (rc = seal_reader_start(s)) < 0)
        return rc;
    while (s->plain_pos == s->plain_len) {
        if (s->done)
            return 0;
        if ((rc = seal_reader_next_segment(s)) < 0)
            return rc;
    }
    size_t n = s->plain_len - s->plain_pos;
    if (n > size)
        n = size;
    memcpy(buf, s->plain + s->plain_pos, n);
    s->plain_pos += n;
    *got = n;
    return 0;
}

static void seal_reader_free(ofs_reader *r)
{
    seal_reader *s = (seal_reader *)r;
    ofs_reader_free(s->source);
    EVP_CIPHER_CTX_free(s->ctx);
    OPENSSL_clear_free(s->plain, s->segment_size);
    free(s->in);
    free(s->header);
    free(s->name);
    free(s->expected_name);
    free(s);
}

static const struct ofs_reader_ops seal_reader_ops = { seal_read, seal_reader_free };

int ofs_seal_reader_new(ofs_reader **out, ofs_reader *source, const ofs_keyring *ring,
                        const char *expected_name)
{
    seal_reader *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s) {
        ofs_reader_free(source);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    s->parent.ops = &seal_reader_ops;
    s->source = source;
    s->ring = ring;
    if (expected_name && !(s->expected_name = strdup(expected_name))) {
        seal_reader_free(&s->parent);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    *out = &s->parent;
    return 0;
}

const char *ofs_seal_reader_name(ofs_reader *r)
{
    seal_reader *s = (seal_reader *)r;
    return s->named ? s->name : NULL;
}
