/* test_gcs.c - the gcs store driver without a server: settings errors, service-account key
 * files that are missing, not JSON, not a service account or without a usable key (each
 * named with its field, and no secret in any message), the RS256 JWT checked by an
 * independent verifier (python3-cryptography), CRC-32C against published check values. The
 * driver against servers: test_gcs_scripted.c (a scripted server answering as Google's
 * documentation says) and tests/integration/cases/gcs/ (the Cloud Storage emulator). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/http.h"
#include "offsite/store.h"
#include "offsite/store_gcs.h"

static char scratch[256];

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof(scratch), "%s/test_gcs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(scratch));
    unsetenv("OFFSITE_GCS_TOKEN");
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ofs_rm_rf(scratch);
    return 0;
}

static ofs_config_target gcs_target(void)
{
    ofs_config_target t;
    memset(&t, 0, sizeof(t));
    t.name = (char *)"cloud";
    t.line = 7;
    t.type = (char *)"gcs";
    t.endpoint = (char *)"http://127.0.0.1:9";
    t.bucket = (char *)"acme-backups";
    return t;
}

/* make_key(pem_path): an RSA key made by openssl genpkey; 0 if openssl is missing */
static int make_key(const char *pem_path)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
             "-out '%s' 2>/dev/null", pem_path);
    return system(cmd) == 0;
}

/* write_key_json(path, pem_path, type): a service-account key file around the PEM */
static void write_key_json(const char *path, const char *pem_path, const char *type)
{
    char *pem = NULL;
    size_t size = 0;
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(ofs_read_file(pem_path, &pem, &size, 1 << 16), 0);
    fprintf(f, "{\"type\": \"%s\", \"project_id\": \"p\", \"private_key_id\": \"kid-123\",\n"
               "\"private_key\": \"", type);
    for (const char *p = pem; *p; p++) {
        if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fprintf(f, "\", \"client_email\": \"backup@p.iam.gserviceaccount.com\",\n"
               "\"token_uri\": \"https://oauth2.googleapis.com/token\"}\n");
    fclose(f);
    free(pem);
}

static void test_settings_errors(void **state)
{
    (void)state;
    ofs_config_target t = gcs_target();
    ofs_store *s = NULL;

    setenv("OFFSITE_GCS_TOKEN", "tok", 1);
    t.bucket = NULL;
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'cloud' (line 7): type 'gcs' needs 'bucket' "
                                          "(a bucket name, without '/')");
    assert_null(s);
    t = gcs_target();
    t.part_size = (5 << 20) + 1000; /* not a multiple of 256 KiB */
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'cloud' (line 7): part_size must be a "
                                          "multiple of 256K between 5M and 5G (resumable "
                                          "upload chunks)");
    t = gcs_target();
    t.endpoint = (char *)"storage.googleapis.com";
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'cloud' (line 7): endpoint "
                                          "'storage.googleapis.com' must start with http:// or "
                                          "https://");
    t.endpoint = (char *)"https://storage.googleapis.com/storage/v1";
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    /* object_lock: without a policy there is no date to lock until; with one, the cap */
    t = gcs_target();
    t.object_lock = (char *)"governance";
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_EUNSUPPORTED);
    const ofs_config_retention policy = { .daily = 7, .weekly = 4, .monthly = 12 };
    assert_int_equal(ofs_store_gcs_new_with_retention(&s, &t, &policy, scratch), 0);
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_OBJECT_LOCK);
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_LIFECYCLE);
    ofs_store_free(s);
    s = NULL;
    t.object_lock = (char *)"forever";
    assert_int_equal(ofs_store_gcs_new_with_retention(&s, &t, &policy, scratch), OFS_ECONFIG);
    /* a transition only to the classes a SetStorageClass rule takes */
    t = gcs_target();
    t.transition_days = 30;
    snprintf(t.transition_class, sizeof(t.transition_class), "GLACIER");
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'cloud' (line 7): transition_class 'GLACIER' "
                                          "is not a GCS storage class to move to (NEARLINE, "
                                          "COLDLINE or ARCHIVE)");
    snprintf(t.transition_class, sizeof(t.transition_class), "ARCHIVE");
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), 0);
    ofs_store_free(s);
    s = NULL;
    /* a good one: the default endpoint, the prefix normalised */
    t = gcs_target();
    t.endpoint = NULL;
    t.prefix = (char *)"/fleet/db1/";
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), 0);
    assert_string_equal(s->description, "gcs gs://acme-backups/fleet/db1/ at "
                                        "https://storage.googleapis.com");
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_CONDITIONAL);
    assert_false(ofs_store_caps(s) & OFS_STORE_CAP_ATOMIC_REPLACE); /* not probed yet */
    ofs_store_free(s);
    /* config check sees the same */
    t.part_size = 1000;
    assert_int_equal(ofs_store_check_target(&t), OFS_ECONFIG);
    unsetenv("OFFSITE_GCS_TOKEN");
}

static void test_key_file_errors(void **state)
{
    (void)state;
    char path[400], pem[400], text[600];
    ofs_config_target t = gcs_target();
    ofs_store *s = NULL;

    snprintf(path, sizeof(path), "%s/key.json", scratch);
    snprintf(pem, sizeof(pem), "%s/key.pem", scratch);
    t.credentials_file = path;

    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ENOTFOUND);
    assert_non_null(strstr(ofs_error_last(), "target 'cloud' (line 7): credentials file"));
    assert_non_null(strstr(ofs_error_last(), path));

    assert_int_equal(ofs_write_file_atomic(path, "{\"type\": ", 9, 0600), 0);
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    snprintf(text, sizeof(text), "target 'cloud' (line 7): credentials file '%s': not a JSON "
             "object (line 1: ", path);
    assert_memory_equal(ofs_error_last(), text, strlen(text));

    const char *user = "{\"type\": \"authorized_user\", \"refresh_token\": \"SECRET-REFRESH\"}";
    assert_int_equal(ofs_write_file_atomic(path, user, strlen(user), 0600), 0);
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    snprintf(text, sizeof(text), "target 'cloud' (line 7): credentials file '%s': field 'type' "
             "is 'authorized_user', not 'service_account'\nHINT: offsite needs a "
             "service-account key; for a token from elsewhere set OFFSITE_GCS_TOKEN", path);
    assert_string_equal(ofs_error_last(), text);
    assert_null(strstr(ofs_error_last(), "SECRET"));

    const char *no_email = "{\"type\": \"service_account\", \"private_key\": \"x\"}";
    assert_int_equal(ofs_write_file_atomic(path, no_email, strlen(no_email), 0600), 0);
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    snprintf(text, sizeof(text), "target 'cloud' (line 7): credentials file '%s': field "
             "'client_email' is missing or not a string", path);
    assert_memory_equal(ofs_error_last(), text, strlen(text));

    const char *bad_pem = "{\"type\": \"service_account\", \"client_email\": \"a@b\", "
                          "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nSECRETBYTES\\n"
                          "-----END PRIVATE KEY-----\\n\", \"token_uri\": \"https://t\"}";
    assert_int_equal(ofs_write_file_atomic(path, bad_pem, strlen(bad_pem), 0600), 0);
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), OFS_ECONFIG);
    snprintf(text, sizeof(text), "target 'cloud' (line 7): credentials file '%s': field "
             "'private_key' is not an RSA private key in PEM", path);
    assert_string_equal(ofs_error_last(), text);
    assert_null(strstr(ofs_error_last(), "SECRETBYTES"));

    if (!make_key(pem))
        skip();
    write_key_json(path, pem, "service_account");
    assert_int_equal(ofs_store_gcs_new(&s, &t, scratch), 0);
    ofs_store_free(s);
    /* unreadable: a directory where the file should be */
    t.credentials_file = scratch;
    assert_true(ofs_store_gcs_new(&s, &t, scratch) < 0);
    assert_non_null(strstr(ofs_error_last(), scratch));
}

/* the JWT, checked by python3-cryptography: the RS256 signature over header.claims with the
 * key's public half, and every claim */
static void test_jwt_verified(void **state)
{
    (void)state;
    char pem[400], jwt_path[400], cmd[2000];
    char *key_pem = NULL, *jwt = NULL;
    size_t size = 0;
    int64_t now = 1764700000;

    snprintf(pem, sizeof(pem), "%s/jwt.pem", scratch);
    snprintf(jwt_path, sizeof(jwt_path), "%s/jwt.txt", scratch);
    if (!make_key(pem) || system("python3 -c 'import cryptography' 2>/dev/null") != 0) {
        print_message("SKIP: openssl or python3-cryptography missing\n");
        skip();
    }
    assert_int_equal(ofs_read_file(pem, &key_pem, &size, 1 << 16), 0);
    ofs_gcs_key key = { "backup@p.iam.gserviceaccount.com", key_pem, "kid-123",
                        "https://oauth2.googleapis.com/token", NULL };
    assert_int_equal(ofs_gcs_jwt(&key, now, &jwt), 0);
    assert_int_equal(ofs_write_file_atomic(jwt_path, jwt, strlen(jwt), 0600), 0);
    snprintf(cmd, sizeof(cmd),
             "python3 - '%s' '%s' <<'EOF'\n"
             "import base64, json, sys\n"
             "from cryptography.hazmat.primitives import hashes, serialization\n"
             "from cryptography.hazmat.primitives.asymmetric import padding\n"
             "key = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)\n"
             "h, c, s = open(sys.argv[2]).read().split('.')\n"
             "d = lambda x: base64.urlsafe_b64decode(x + '=' * (-len(x) %% 4))\n"
             "key.public_key().verify(d(s), (h + '.' + c).encode(), padding.PKCS1v15(), "
             "hashes.SHA256())\n"
             "hd, cl = json.loads(d(h)), json.loads(d(c))\n"
             "assert hd == {'alg': 'RS256', 'typ': 'JWT', 'kid': 'kid-123'}, hd\n"
             "assert cl == {'iss': 'backup@p.iam.gserviceaccount.com', 'scope': "
             "'https://www.googleapis.com/auth/devstorage.full_control', 'aud': "
             "'https://oauth2.googleapis.com/token', 'iat': %lld, 'exp': %lld}, cl\n"
             "assert '=' not in h + c + s\n"
             "EOF\n", pem, jwt_path, (long long)now, (long long)(now + 3600));
    assert_int_equal(system(cmd), 0);
    /* a flipped signature byte fails the same verifier: the check can fail */
    jwt[strlen(jwt) - 3] = jwt[strlen(jwt) - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(ofs_write_file_atomic(jwt_path, jwt, strlen(jwt), 0600), 0);
    assert_int_not_equal(system(cmd), 0);
    free(jwt);
    /* not an RSA key */
    key.private_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert_int_equal(ofs_gcs_jwt(&key, now, &jwt), OFS_ECONFIG);
    assert_null(jwt);
    free(key_pem);
}

static void test_crc32c(void **state)
{
    (void)state;
    /* RFC 3720 B.4's check value, and what GCS reports for "hello" (crc32c=mnG7TA==) */
    assert_int_equal(ofs_gcs_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(ofs_gcs_crc32c(0, "hello", 5), 0x9A71BB4Cu);
    assert_int_equal(ofs_gcs_crc32c(ofs_gcs_crc32c(0, "hel", 3), "lo", 2), 0x9A71BB4Cu);
    assert_int_equal(ofs_gcs_crc32c(0, "", 0), 0);
    assert_int_equal(ofs_gcs_crc32c_portable(0, "123456789", 9), 0xE3069283u);

    /* RFC 3720 B.4: 32 zeros, 32 0xff, 0..31 */
    unsigned char block[32];
    memset(block, 0, sizeof(block));
    assert_int_equal(ofs_gcs_crc32c(0, block, 32), 0x8A9136AAu);
    assert_int_equal(ofs_gcs_crc32c_portable(0, block, 32), 0x8A9136AAu);
    memset(block, 0xff, sizeof(block));
    assert_int_equal(ofs_gcs_crc32c(0, block, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        block[i] = (unsigned char)i;
    assert_int_equal(ofs_gcs_crc32c(0, block, 32), 0x46DD794Eu);
    assert_int_equal(ofs_gcs_crc32c_portable(0, block, 32), 0x46DD794Eu);
}

/* a bit at a time, straight from the polynomial: the reference both fast paths must match */
static uint32_t crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t size)
{
    crc = ~crc;
    while (size--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void test_crc32c_every_alignment(void **state)
{
    (void)state;
    unsigned char buf[4096 + 16];
    uint32_t seed = 12345;

    for (size_t i = 0; i < sizeof(buf); i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (unsigned char)(seed >> 16);
    }
    /* every start within a word and lengths around the 8-byte steps, continued in two calls */
    for (size_t start = 0; start < 16; start++) {
        for (size_t len = 0; len < 80; len++) {
            uint32_t want = crc32c_bitwise(0, buf + start, len);
            assert_int_equal(ofs_gcs_crc32c(0, buf + start, len), want);
            assert_int_equal(ofs_gcs_crc32c_portable(0, buf + start, len), want);
            uint32_t half = ofs_gcs_crc32c(0, buf + start, len / 3);
            assert_int_equal(ofs_gcs_crc32c(half, buf + start + len / 3, len - len / 3), want);
        }
        uint32_t want = crc32c_bitwise(0, buf + start, 4096);
        assert_int_equal(ofs_gcs_crc32c(0, buf + start, 4096), want);
        assert_int_equal(ofs_gcs_crc32c_portable(0, buf + start, 4096), want);
    }
}

static void test_url_encode(void **state)
{
    (void)state;
    char *out = NULL;

    assert_int_equal(ofs_http_url_encode("data/daily/a b+c~_.-", 0, &out), 0);
    assert_string_equal(out, "data%2Fdaily%2Fa%20b%2Bc~_.-");
    free(out);
    assert_int_equal(ofs_http_url_encode("data/\xc3\xa9", 1, &out), 0);
    assert_string_equal(out, "data/%C3%A9");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_key_file_errors),
        cmocka_unit_test(test_jwt_verified),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_crc32c_every_alignment),
        cmocka_unit_test(test_url_encode),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
