/* kdf.c - HKDF-SHA256 (EVP_KDF "HKDF") and HMAC-SHA256 (EVP_MAC "HMAC"); see kdf.h. */
#include "offsite/kdf.h"
#include "offsite/error.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

int ofs_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                    const char *info, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = NULL;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[5];
    size_t n = 0;
    int rc = OFS_ERROR;

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!kdf) {
        ofs_error_set(OFS_ERROR, "openssl: HKDF is not available");
        goto cleanup;
    }
    ctx = EVP_KDF_CTX_new(kdf);
    if (!ctx) {
        ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    /* The casts drop const only because OSSL_PARAM is not const-correct; nothing is written. */
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    /* An absent salt means HashLen zero bytes (RFC 5869 2.2); OpenSSL does that itself. */
    if (salt && salt_len > 0)
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
                                                        salt_len);
    if (info && info[0])
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
                                                        strlen(info));
    params[n] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(ctx, out, out_len, params) != 1) {
        ofs_error_set(OFS_ERROR, "openssl: HKDF derivation failed");
        goto cleanup;
    }
    rc = 0;
cleanup:
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

int ofs_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t size,
                    uint8_t out[32])
{
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t out_len = 0;
    int rc = OFS_ERROR;

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac) {
        ofs_error_set(OFS_ERROR, "openssl: HMAC is not available");
        goto cleanup;
    }
    ctx = EVP_MAC_CTX_new(mac);
    if (!ctx) {
        ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    /* EVP_MAC_init refuses a NULL key even when its length is zero; give it a valid pointer. */
    static const uint8_t empty_key[1] = { 0 };
    if (EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, params) != 1 ||
        EVP_MAC_update(ctx, data ? data : (const void *)empty_key, size) != 1 ||
        EVP_MAC_final(ctx, out, &out_len, 32) != 1 || out_len != 32) {
        ofs_error_set(OFS_ERROR, "openssl: HMAC-SHA256 failed");
        goto cleanup;
    }
    rc = 0;
cleanup:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}
