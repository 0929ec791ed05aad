/* hash.c - SHA-256 through EVP_MD_CTX, the hashing stream stages, and hex; see hash.h. */
#include "offsite/hash.h"
#include "offsite/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

struct ofs_sha256 {
    EVP_MD_CTX *ctx;
};

int ofs_sha256_new(ofs_sha256 **out)
{
    ofs_sha256 *h = calloc(1, sizeof(*h));
    *out = NULL;
    if (!h || !(h->ctx = EVP_MD_CTX_new())) {
        free(h);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        ofs_sha256_free(h);
        return ofs_error_set(OFS_ERROR, "openssl: SHA-256 init failed");
    }
    *out = h;
    return 0;
}

int ofs_sha256_update(ofs_sha256 *h, const void *data, size_t size)
{
    if (size == 0)
        return 0;
    if (EVP_DigestUpdate(h->ctx, data, size) != 1)
        return ofs_error_set(OFS_ERROR, "openssl: SHA-256 update failed");
    return 0;
}

int ofs_sha256_final(ofs_sha256 *h, uint8_t digest[OFS_SHA256_BYTES])
{
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(h->ctx, digest, &len) != 1 || len != OFS_SHA256_BYTES)
        return ofs_error_set(OFS_ERROR, "openssl: SHA-256 final failed");
    return 0;
}

int ofs_sha256_reset(ofs_sha256 *h)
{
    if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        return ofs_error_set(OFS_ERROR, "openssl: SHA-256 init failed");
    return 0;
}

int ofs_sha256_copy(ofs_sha256 *dst, const ofs_sha256 *src)
{
    if (EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) != 1)
        return ofs_error_set(OFS_ERROR, "openssl: SHA-256 copy failed");
    return 0;
}

void ofs_sha256_free(ofs_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int ofs_sha256_buffer(const void *data, size_t size, uint8_t digest[OFS_SHA256_BYTES])
{
    unsigned int len = 0;
    static const uint8_t empty[1] = { 0 };
    if (EVP_Digest(size ? data : empty, size, digest, &len, EVP_sha256(), NULL) != 1 ||
        len != OFS_SHA256_BYTES)
        return ofs_error_set(OFS_ERROR, "openssl: SHA-256 failed");
    return 0;
}

/* ---- hash writer (tee) ---- */

typedef struct {
    ofs_writer parent;
    ofs_writer *next;
    ofs_sha256 *sha;
    uint64_t bytes;
    uint8_t digest[OFS_SHA256_BYTES];
} hash_writer;

static int hash_write(ofs_writer *w, const void *data, size_t size)
{
    hash_writer *h = (hash_writer *)w;
    int rc = ofs_sha256_update(h->sha, data, size);
    if (rc < 0)
        return rc;
    h->bytes += size;
    return ofs_writer_write(h->next, data, size);
}

static int hash_finish(ofs_writer *w)
{
    hash_writer *h = (hash_writer *)w;
    int rc = ofs_sha256_final(h->sha, h->digest);
    if (rc < 0)
        return rc;
    return ofs_writer_finish(h->next);
}

static void hash_writer_free(ofs_writer *w)
{
    hash_writer *h = (hash_writer *)w;
    ofs_writer_free(h->next);
    ofs_sha256_free(h->sha);
    free(h);
}

static const struct ofs_writer_ops hash_writer_ops = { hash_write, hash_finish, hash_writer_free };

int ofs_hash_writer_new(ofs_writer **out, ofs_writer *next)
{
    hash_writer *h = calloc(1, sizeof(*h));
    int rc = 0;
    *out = NULL;
    if (!h) {
        ofs_writer_free(next);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    h->parent.ops = &hash_writer_ops;
    h->next = next;
    if ((rc = ofs_sha256_new(&h->sha)) < 0) {
        hash_writer_free(&h->parent);
        return rc;
    }
    *out = &h->parent;
    return 0;
}

void ofs_hash_writer_result(ofs_writer *w, uint8_t digest[OFS_SHA256_BYTES], uint64_t *bytes)
{
    hash_writer *h = (hash_writer *)w;
    if (digest)
        memcpy(digest, h->digest, OFS_SHA256_BYTES);
    if (bytes)
        *bytes = h->bytes;
}

/* ---- hash reader and verify reader ---- */

typedef struct {
    ofs_reader parent;
    ofs_reader *source;
    ofs_sha256 *sha;
    uint64_t bytes;
    uint8_t digest[OFS_SHA256_BYTES];
    int ended;
    /* verify reader only */
    int verify;
    uint64_t expected_size;
    uint8_t expected_digest[OFS_SHA256_BYTES];
    char *name;
} hash_reader;

static int hash_reader_end(hash_reader *h)
{
    int rc = ofs_sha256_final(h->sha, h->digest);
    if (rc < 0)
        return rc;
    h->ended = 1;
    if (!h->verify)
        return 0;
    if (h->bytes != h->expected_size)
        return ofs_error_set(OFS_ECORRUPT, "%s: size %" PRIu64 ", expected %" PRIu64, h->name,
                             h->bytes, h->expected_size);
    if (CRYPTO_memcmp(h->digest, h->expected_digest, OFS_SHA256_BYTES) != 0)
        return ofs_error_set(OFS_ECORRUPT, "%s: SHA-256 mismatch", h->name);
    return 0;
}

static int hash_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    hash_reader *h = (hash_reader *)r;
    int rc;
    *got = 0;
    if (h->ended)
        return 0;
    if ((rc = ofs_reader_read(h->source, buf, size, got)) < 0)
        return rc;
    if (*got == 0)
        return hash_reader_end(h);
    h->bytes += *got;
    return ofs_sha256_update(h->sha, buf, *got);
}

static void hash_reader_free(ofs_reader *r)
{
    hash_reader *h = (hash_reader *)r;
    ofs_reader_free(h->source);
    ofs_sha256_free(h->sha);
    free(h->name);
    free(h);
}

static const struct ofs_reader_ops hash_reader_ops = { hash_read, hash_reader_free };

static int hash_reader_create(hash_reader **out, ofs_reader *source)
{
    hash_reader *h = calloc(1, sizeof(*h));
    int rc;
    *out = NULL;
    if (!h) {
        ofs_reader_free(source);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    h->parent.ops = &hash_reader_ops;
    h->source = source;
    if ((rc = ofs_sha256_new(&h->sha)) < 0) {
        hash_reader_free(&h->parent);
        return rc;
    }
    *out = h;
    return 0;
}

int ofs_hash_reader_new(ofs_reader **out, ofs_reader *source)
{
    hash_reader *h = NULL;
    int rc = hash_reader_create(&h, source);
    *out = h ? &h->parent : NULL;
    return rc;
}

void ofs_hash_reader_result(ofs_reader *r, uint8_t digest[OFS_SHA256_BYTES], uint64_t *bytes)
{
    hash_reader *h = (hash_reader *)r;
    if (digest)
        memcpy(digest, h->digest, OFS_SHA256_BYTES);
    if (bytes)
        *bytes = h->bytes;
}

int ofs_verify_reader_new(ofs_reader **out, ofs_reader *source, uint64_t size,
                          const uint8_t digest[OFS_SHA256_BYTES], const char *name)
{
    hash_reader *h = NULL;
    int rc = hash_reader_create(&h, source);
    *out = NULL;
    if (rc < 0)
        return rc;
    h->verify = 1;
    h->expected_size = size;
    memcpy(h->expected_digest, digest, OFS_SHA256_BYTES);
    if (!(h->name = strdup(name ? name : "object"))) {
        hash_reader_free(&h->parent);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    *out = &h->parent;
    return 0;
}

/* ---- hex ---- */

void ofs_hex_encode(const uint8_t *data, size_t size, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * size] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ofs_hex_decode(const char *hex, uint8_t *out, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        int high = hex_value(hex[2 * i]);
        int low = high < 0 ? -1 : hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0)
            return ofs_error_set(OFS_ECORRUPT, "invalid hex: expected %zu hex digits", 2 * size);
    }
    if (hex[2 * size] != '\0')
        return ofs_error_set(OFS_ECORRUPT, "invalid hex: expected %zu hex digits", 2 * size);
    for (size_t i = 0; i < size; i++)
        out[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    return 0;
}
