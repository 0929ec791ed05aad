/* test_gcs_scripted.c - the gcs driver against a scripted server (scripted_server.h) that
 * answers as Google's Cloud Storage and OAuth documentation say, for what the Cloud Storage
 * emulator cannot do: a chunked resumable upload (308 with Range), resuming it from the session
 * file after a failed run, a server that finishes an upload at its first chunk (the emulator's
 * way: refused, the truncated object deleted), ifGenerationMatch honoured (the probe, a 412
 * that is a conflict), the token endpoint (a JWT exchanged, a 401 refreshed once, invalid_grant
 * not retried, no secret in any message), retries of a 503, and error documents with hints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "offsite/store.h"
#include "offsite/store_gcs.h"
#include "scripted_server.h"
#include "gcs_test.h"

static int setup(void **state)
{
    (void)state;
    return gcs_test_setup("test_gcs_scripted");
}

/* target(endpoint, part_size, key_file): bucket bk, prefix h */
static ofs_config_target target(const char *endpoint, uint64_t part_size, const char *key_file)
{
    ofs_config_target t;

    memset(&t, 0, sizeof(t));
    t.name = (char *)"cloud";
    t.line = 3;
    t.type = (char *)"gcs";
    t.endpoint = (char *)endpoint;
    t.bucket = (char *)"bk";
    t.prefix = (char *)"h";
    t.part_size = part_size;
    t.credentials_file = (char *)key_file;
    return t;
}

static ofs_store *open_store(const char *endpoint, uint64_t part_size, const char *key_file)
{
    ofs_config_target t = target(endpoint, part_size, key_file);
    ofs_store *s = NULL;

    if (ofs_store_gcs_new(&s, &t, scratch) != 0)
        fail_msg("ofs_store_gcs_new: %s", ofs_error_last());
    return s;
}

static unsigned char *pattern(size_t size)
{
    unsigned char *p = malloc(size);
    uint32_t seed = 7;
    assert_non_null(p);
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
    return p;
}

#define PART ((size_t)5 << 20)

/* a chunked resumable upload: the session is started, a full chunk is acknowledged with 308
 * and Range, the last one carries the total; md5 and crc32c of the answer are checked */
static void test_resumable_chunks(void **state)
{
    (void)state;
    size_t size = PART + 100000;
    unsigned char *data = pattern(size);
    char done[512], endpoint[64];
    canned_answer answers[] = {
        { 200, "", "Location: {ENDPOINT}/upload/storage/v1/b/bk/o?uploadType=resumable&"
                   "upload_id=S1\r\n" },
        { 308, "", "Range: bytes=0-5242879\r\n" },
        { 200, object_json(data, size, done, sizeof(done)), NULL },
    };
    pid_t pid = script_start(answers, 3, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART, NULL);
    ofs_writer *w = NULL;

    assert_int_equal(ofs_store_put(s, "vol", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, data, size), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_writer_free(w);
    script_end(pid);
    char *log = read_log();
    assert_int_equal(count_requests(log), 3);
    free(log);
    char *start = nth(0);
    assert_non_null(strstr(start, "POST /upload/storage/v1/b/bk/o?uploadType=resumable&name=h%2Fvol "));
    assert_non_null(strstr(start, "Authorization: Bearer test-token-XYZ"));
    free(start);
    char *chunk = nth(1);
    assert_non_null(strstr(chunk, "PUT /upload/storage/v1/b/bk/o?uploadType=resumable&upload_id=S1 "));
    assert_non_null(strstr(chunk, "Content-Range: bytes 0-5242879/*"));
    assert_non_null(strstr(chunk, "[body 5242880 bytes]"));
    free(chunk);
    char *last = nth(2);
    assert_non_null(strstr(last, "Content-Range: bytes 5242880-5342879/5342880"));
    assert_non_null(strstr(last, "[body 100000 bytes]"));
    free(last);
    ofs_store_free(s);
    free(data);
}

/* a run whose last chunk failed leaves the session (transient: the link, not the data); the
 * next put of the key asks the session what it holds and sends only the rest */
static void test_resume_from_session_file(void **state)
{
    (void)state;
    size_t size = PART + 100000;
    unsigned char *data = pattern(size);
    char done[512], endpoint[64];
    canned_answer answers[] = {
        { 200, "", "Location: {ENDPOINT}/upload/storage/v1/b/bk/o?upload_id=S2\r\n" },
        { 308, "", "Range: bytes=0-5242879\r\n" },
        { 503, "{\"error\": {\"code\": 503, \"message\": \"Backend Error\", \"errors\": "
               "[{\"reason\": \"backendError\", \"message\": \"Backend Error\"}]}}", NULL },
        /* the second run */
        { 308, "", "Range: bytes=0-5242879\r\n" },
        { 200, object_json(data, size, done, sizeof(done)), NULL },
    };
    pid_t pid = script_start(answers, 5, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART, NULL);
    ofs_writer *w = NULL;

    assert_int_equal(ofs_store_put(s, "vol", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, data, size), 0);
    assert_int_equal(ofs_writer_finish(w), OFS_ETRANSIENT);
    assert_non_null(strstr(ofs_error_last(), "backendError: Backend Error (bucket bk, object h/vol)"));
    ofs_writer_free(w); /* keeps the session */
    w = NULL;
    assert_int_equal(ofs_store_put(s, "vol", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, data, size), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_writer_free(w);
    script_end(pid);
    char *log = read_log();
    assert_int_equal(count_requests(log), 5);
    free(log);
    char *query = nth(3);
    assert_non_null(strstr(query, "PUT /upload/storage/v1/b/bk/o?upload_id=S2 "));
    assert_non_null(strstr(query, "Content-Range: bytes */*"));
    free(query);
    char *rest = nth(4);
    assert_non_null(strstr(rest, "Content-Range: bytes 5242880-5342879/5342880"));
    assert_non_null(strstr(rest, "[body 100000 bytes]"));
    free(rest);
    ofs_store_free(s);
    free(data);
}

/* the emulator's way: the first chunk finishes the object (200 instead of 308) - refused, and
 * the truncated object deleted */
static void test_finished_early(void **state)
{
    (void)state;
    size_t size = PART + 10;
    unsigned char *data = pattern(size);
    char endpoint[64];
    canned_answer answers[] = {
        { 200, "", "Location: {ENDPOINT}/upload/storage/v1/b/bk/o?upload_id=S3\r\n" },
        { 200, "{\"name\": \"h/vol\", \"size\": \"5242880\", \"generation\": \"5\"}", NULL },
        { 204, "", NULL },
    };
    pid_t pid = script_start(answers, 3, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART, NULL);
    ofs_writer *w = NULL;

    assert_int_equal(ofs_store_put(s, "vol", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, data, size), OFS_ECORRUPT);
    assert_non_null(strstr(ofs_error_last(), "the server finished the upload after a chunk of "
                                             "5242880 bytes of an unfinished object (bucket bk, "
                                             "object h/vol)\nHINT:"));
    ofs_writer_free(w);
    script_end(pid);
    char *del = nth(2);
    assert_non_null(strstr(del, "DELETE /storage/v1/b/bk/o/h%2Fvol "));
    free(del);
    ofs_store_free(s);
    free(data);
}

/* ifGenerationMatch: the probe (a second if-absent write must be refused), then a replace at
 * a generation another writer has moved past: 412, the stored bytes are not ours - a
 * conflict; the request carried the generation */
static void test_replace_conflict(void **state)
{
    (void)state;
    char endpoint[64];
    const char *probe = "{\"name\": \"h/offsite-probe/x\", \"size\": \"8\", \"generation\": \"1\", "
                        "\"md5Hash\": \"%s\"}";
    char probe_ok[256], md5[25];
    unsigned char md[16];
    unsigned int len = 0;
    EVP_Digest("probe 1\n", 8, md, &len, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)md5, md, 16);
    snprintf(probe_ok, sizeof(probe_ok), probe, md5);
    const char *refused = "{\"error\": {\"code\": 412, \"message\": \"At least one of the "
                          "pre-conditions you specified did not hold.\", \"errors\": "
                          "[{\"reason\": \"conditionNotMet\"}]}}";
    canned_answer answers[] = {
        { 200, probe_ok, NULL },
        { 412, refused, NULL },
        { 204, "", NULL },
        { 412, refused, NULL },
        /* object_is: the stored manifest is someone else's */
        { 200, "{\"name\": \"h/manifest.json\", \"size\": \"5\", \"generation\": \"43\", "
               "\"md5Hash\": \"AAAAAAAAAAAAAAAAAAAAAA==\"}", NULL },
    };
    pid_t pid = script_start(answers, 5, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART, NULL);
    char version[OFS_STORE_VERSION_MAX];

    assert_int_equal(ofs_store_replace(s, "manifest.json", "42", "{}\n", 3, version),
                     OFS_ECONFLICT);
    assert_non_null(strstr(ofs_error_last(), "changed by another writer since it was read "
                                             "(bucket bk, object h/manifest.json)"));
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_ATOMIC_REPLACE);
    script_end(pid);
    char *second = nth(1), *replace = nth(3);
    assert_non_null(strstr(second, "ifGenerationMatch=0"));
    assert_non_null(strstr(replace, "POST /upload/storage/v1/b/bk/o?uploadType=media&"
                                          "name=h%2Fmanifest.json&ifGenerationMatch=42 "));
    free(second);
    free(replace);
    ofs_store_free(s);
}

/* a service-account key: the JWT is exchanged at token_uri (a form POST), a 401 gets a new
 * token once, and no secret (key, assertion, token) reaches a message */
static void test_token_refresh(void **state)
{
    (void)state;
    char endpoint[64], key_path[400], pem_path[400], cmd[800], token_uri[128];
    char *pem = NULL;
    size_t pem_size = 0;

    snprintf(pem_path, sizeof(pem_path), "%s/sa.pem", scratch);
    snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
             "-out '%s' 2>/dev/null", pem_path);
    if (system(cmd) != 0)
        skip();
    canned_answer answers[] = {
        { 200, "{\"access_token\": \"ya29.FIRST-SECRET\", \"expires_in\": 3599, "
               "\"token_type\": \"Bearer\"}", NULL },
        { 401, "{\"error\": {\"code\": 401, \"message\": \"Invalid Credentials\", \"errors\": "
               "[{\"reason\": \"authError\"}]}}", NULL },
        { 200, "{\"access_token\": \"ya29.SECOND-SECRET\", \"expires_in\": 3599}", NULL },
        { 200, "{\"name\": \"h/x\", \"size\": \"3\", \"generation\": \"9\"}", NULL },
        /* a key the endpoint refuses: once, not retried */
        { 400, "{\"error\": \"invalid_grant\", \"error_description\": \"Invalid JWT "
               "Signature. ya29.LEAK\"}", NULL },
    };
    pid_t pid = script_start(answers, 5, log_path, endpoint);
    snprintf(token_uri, sizeof(token_uri), "%s/token", endpoint);
    assert_int_equal(ofs_read_file(pem_path, &pem, &pem_size, 1 << 16), 0);
    snprintf(key_path, sizeof(key_path), "%s/sa.json", scratch);
    FILE *f = fopen(key_path, "w");
    assert_non_null(f);
    fprintf(f, "{\"type\": \"service_account\", \"client_email\": \"b@p.iam\", \"token_uri\": "
               "\"%s\", \"private_key\": \"", token_uri);
    for (const char *p = pem; *p; p++)
        *p == '\n' ? fputs("\\n", f) : fputc(*p, f);
    fputs("\"}\n", f);
    fclose(f);
    unsetenv("OFFSITE_GCS_TOKEN");
    ofs_store *s = open_store(endpoint, PART, key_path);
    ofs_object_info info;

    assert_int_equal(ofs_store_stat(s, "x", &info), 0);
    assert_int_equal(info.size, 3);
    assert_string_equal(info.version, "9");
    ofs_store_free(s);
    s = open_store(endpoint, PART, key_path);
    assert_int_equal(ofs_store_stat(s, "x", &info), OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "token endpoint refused the key: invalid_grant"));
    assert_non_null(strstr(ofs_error_last(), "HINT: this host's clock may be off"));
    assert_null(strstr(ofs_error_last(), "ya29"));
    assert_null(strstr(ofs_error_last(), "PRIVATE"));
    ofs_store_free(s);
    script_end(pid);
    char *log = read_log();
    assert_int_equal(count_requests(log), 5); /* invalid_grant was asked once */
    free(log);
    char *first = nth(0), *second = nth(1), *fourth = nth(3);
    assert_non_null(strstr(first, "POST /token "));
    assert_non_null(strstr(first, "Content-Type: application/x-www-form-urlencoded"));
    assert_non_null(strstr(first, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3A"
                                  "jwt-bearer&assertion=eyJ"));
    assert_non_null(strstr(second, "Authorization: Bearer ya29.FIRST-SECRET"));
    assert_non_null(strstr(fourth, "Authorization: Bearer ya29.SECOND-SECRET"));
    free(first);
    free(second);
    free(fourth);
    free(pem);
    setenv("OFFSITE_GCS_TOKEN", "test-token-XYZ", 1);
}

/* errors: a 503 is retried (within the budget) and then succeeds; a 403 is not retried and
 * says what to check; a missing bucket is a configuration error; a missing object is
 * OFS_ENOTFOUND and deleting it is not an error */
static void test_errors(void **state)
{
    (void)state;
    char endpoint[64];
    canned_answer answers[] = {
        { 503, "", NULL },
        { 200, "{\"name\": \"h/x\", \"size\": \"3\", \"generation\": \"9\"}", NULL },
        { 403, "{\"error\": {\"code\": 403, \"message\": \"b@p.iam does not have "
               "storage.objects.get access\", \"errors\": [{\"reason\": \"forbidden\"}]}}", NULL },
        { 404, "{\"error\": {\"code\": 404, \"message\": \"The specified bucket does not "
               "exist.\", \"errors\": [{\"reason\": \"notFound\"}]}}", NULL },
        { 404, "{\"error\": {\"code\": 404, \"message\": \"No such object: bk/h/x\", "
               "\"errors\": [{\"reason\": \"notFound\"}]}}", NULL },
        { 404, "{\"error\": {\"code\": 404, \"message\": \"No such object: bk/h/x\"}}", NULL },
    };
    setenv("OFFSITE_RETRY_BUDGET", "2", 1);
    pid_t pid = script_start(answers, 6, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART, NULL);
    ofs_object_info info;

    assert_int_equal(ofs_store_stat(s, "x", &info), 0);
    setenv("OFFSITE_RETRY_BUDGET", "0", 1);
    assert_int_equal(ofs_store_stat(s, "x", &info), OFS_EDENIED);
    assert_string_equal(ofs_error_last(), "cloud: x: forbidden: b@p.iam does not have "
                        "storage.objects.get access (bucket bk, object h/x)\nHINT: check that "
                        "the service account may read and write objects in the bucket "
                        "(roles/storage.objectAdmin, or objectCreator + objectViewer for a host "
                        "that must not delete)");
    assert_int_equal(ofs_store_stat(s, "x", &info), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "notFound: The specified bucket does not exist. "
                                             "(bucket bk, object h/x)\nHINT: check 'bucket'"));
    assert_int_equal(ofs_store_stat(s, "x", &info), OFS_ENOTFOUND);
    assert_int_equal(ofs_store_del(s, "x"), 0);
    script_end(pid);
    char *log = read_log();
    assert_int_equal(count_requests(log), 6);
    free(log);
    ofs_store_free(s);
}

/* request_has(n, text, more): the n-th logged request holds text (and more, unless NULL) */
static void request_has(int n, const char *text, const char *more)
{
    char *req = nth(n);
    if (!strstr(req, text) || (more && !strstr(req, more)))
        fail_msg("request %d lacks '%s'%s%s:\n%s", n, text, more ? " or " : "",
                 more ? more : "", req);
    free(req);
}

/* ---- provider retention: the bucket's lifecycle (what the emulator does not have) ---- */

#define FOREIGN_RULES                                                                    \
    "{\"action\":{\"type\":\"Delete\"},\"condition\":{\"age\":30,\"matchesPrefix\":"      \
    "[\"logs/\"]}},"                                                                       \
    "{\"action\":{\"type\":\"Delete\"},\"condition\":{\"age\":9,\"matchesPrefix\":"       \
    "[\"other/data/daily/\"]}},"                                                           \
    "{\"action\":{\"type\":\"Delete\"},\"condition\":{\"numNewerVersions\":3}}"

/* what retention sync asks of a versioned bucket, minus the weekly class */
static const ofs_lifecycle_rule sync_rules[] = {
    { .prefix = "data/daily/", .expiration_days = 8, .abort_multipart_days = 1 },
    { .prefix = "data/monthly/", .expiration_days = 373, .transition_days = 30,
      .transition_class = "COLDLINE" },
    { .prefix = "data/", .expired_delete_marker = 1 }, /* GCS has no markers: no rule */
    { .prefix = "manifest.json", .noncurrent_days = 30 },
    { .prefix = "offsite-probe/", .expiration_days = 1 },
};

/* the lifecycle document a sync of sync_rules writes: others' rules first, as they came */
static const char synced_lifecycle[] =
    "{\"lifecycle\":{\"rule\":[" FOREIGN_RULES ","
    "{\"action\":{\"type\":\"Delete\"},\"condition\":{\"matchesPrefix\":[\"h/data/daily/\"],"
    "\"age\":8}},"
    "{\"action\":{\"type\":\"AbortIncompleteMultipartUpload\"},\"condition\":{\"matchesPrefix\":"
    "[\"h/data/daily/\"],\"age\":1}},"
    "{\"action\":{\"type\":\"Delete\"},\"condition\":{\"matchesPrefix\":[\"h/data/monthly/\"],"
    "\"age\":373}},"
    "{\"action\":{\"type\":\"SetStorageClass\",\"storageClass\":\"COLDLINE\"},\"condition\":"
    "{\"matchesPrefix\":[\"h/data/monthly/\"],\"age\":30}},"
    "{\"action\":{\"type\":\"Delete\"},\"condition\":{\"matchesPrefix\":[\"h/manifest.json\"],"
    "\"isLive\":false,\"daysSinceNoncurrentTime\":30}},"
    "{\"action\":{\"type\":\"Delete\"},\"condition\":{\"matchesPrefix\":[\"h/offsite-probe/\"],"
    "\"age\":1}}]}}";

/* scripted GCS: the sync reads the bucket, PATCHes exactly the wanted rules next to the ones
 * it did not write (another tool's, another host's prefix, a whole-bucket rule), replaces its
 * own old one, reads back and finds them; a second sync finds them in place and writes none */
static void test_lifecycle_patch_body_keeps_foreign_rules_scripted(void **state)
{
    (void)state;
    char endpoint[64];
    canned_answer answers[] = {
        { 200, "{\"versioning\": {\"enabled\": true}}", NULL },
        { 200, "{\"versioning\":{\"enabled\":true},\"lifecycle\":{\"rule\":[" FOREIGN_RULES ","
               "{\"action\":{\"type\":\"Delete\"},\"condition\":{\"age\":3,\"matchesPrefix\":"
               "[\"h/data/daily/\"]}}]}}", NULL },
        { 200, synced_lifecycle, NULL },  /* the PATCH's answer */
        { 200, synced_lifecycle, NULL },  /* read back */
        { 200, synced_lifecycle, NULL },  /* the second sync: already in place */
    };
    pid_t pid = script_start(answers, 5, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART, NULL);
    int versioned = 0, changed = 0;

    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_LIFECYCLE);
    assert_int_equal(ofs_store_versioning(s, &versioned), 0);
    assert_int_equal(versioned, 1);
    if (ofs_store_lifecycle_sync(s, sync_rules, 5, &changed) != 0)
        fail_msg("sync: %s", ofs_error_last());
    assert_int_equal(changed, 1);
    assert_int_equal(ofs_store_lifecycle_sync(s, sync_rules, 5, &changed), 0);
    assert_int_equal(changed, 0);
    script_end(pid);
    char *log = read_log();
    assert_int_equal(count_requests(log), 5);
    free(log);
    request_has(0, "GET /storage/v1/b/bk?fields=versioning ", NULL);
    request_has(1, "GET /storage/v1/b/bk?fields=lifecycle,versioning ", NULL);
    char *patch = nth(2);
    assert_non_null(strstr(patch, "PATCH /storage/v1/b/bk?fields=lifecycle "));
    assert_non_null(strstr(patch, "Content-Type: application/json"));
    char *body = strstr(patch, "\r\n\r\n");
    assert_non_null(body);
    char expected[4096];
    snprintf(expected, sizeof(expected), "%s\n[body %zu bytes]", synced_lifecycle,
             strlen(synced_lifecycle));
    assert_string_equal(body + 4, expected);
    free(patch);
    request_has(3, "GET /storage/v1/b/bk?fields=lifecycle,versioning ", NULL);
    request_has(4, "GET /storage/v1/b/bk?fields=lifecycle,versioning ", NULL);
    ofs_store_free(s);
}

/* scripted GCS: the server takes the PATCH but reads back another age for the daily rule: the
 * sync fails naming the rule; a rule of ours it no longer has is a difference too */
static void test_lifecycle_read_back_differs_scripted(void **state)
{
    (void)state;
    char endpoint[64];
    static const char other_age[] =
        "{\"lifecycle\":{\"rule\":[{\"action\":{\"type\":\"Delete\"},\"condition\":{\"age\":9,"
        "\"matchesPrefix\":[\"h/data/daily/\"]}}]}}";
    static const char extra_rule[] =
        "{\"lifecycle\":{\"rule\":[{\"action\":{\"type\":\"Delete\"},\"condition\":{\"age\":8,"
        "\"matchesPrefix\":[\"h/data/daily/\"]}},{\"action\":{\"type\":\"Delete\"},"
        "\"condition\":{\"age\":40,\"matchesPrefix\":[\"h/data/weekly/\"]}}]}}";
    canned_answer answers[] = {
        { 200, "{}", NULL },
        { 200, "{}", NULL },
        { 200, other_age, NULL },
        { 200, "{}", NULL },
        { 200, "{}", NULL },
        { 200, extra_rule, NULL },
    };
    const ofs_lifecycle_rule daily[] = { { .prefix = "data/daily/", .expiration_days = 8 } };
    pid_t pid = script_start(answers, 6, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART, NULL);
    int changed = 0;

    assert_int_equal(ofs_store_lifecycle_sync(s, daily, 1, &changed), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "cloud: lifecycle rules of bucket bk: lifecycle rule "
                                          "for 'h/data/daily/' read back differs from what was "
                                          "written (bucket bk)");
    assert_int_equal(ofs_store_lifecycle_sync(s, daily, 1, &changed), OFS_ECORRUPT);
    assert_non_null(strstr(ofs_error_last(), "lifecycle rule for 'a rule no longer wanted' "
                                             "read back differs"));
    script_end(pid);
    request_has(1, "PATCH /storage/v1/b/bk?fields=lifecycle ",
                "{\"lifecycle\":{\"rule\":[{\"action\":{\"type\":\"Delete\"},"
                "\"condition\":{\"matchesPrefix\":[\"h/data/daily/\"],\"age\":8}}]}}");
    ofs_store_free(s);
}

/* ---- provider retention: object retention (what the emulator does not have) ---- */

/* iso_in(days): now + days, as retainUntilTime is written */
static void iso_in(int64_t now, int days, char out[32])
{
    time_t t = (time_t)(now + (int64_t)days * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* scripted GCS: with object_lock = governance the bucket is asked once whether it has object
 * retention; a data object - even a small one - is a resumable upload whose first request
 * carries retention {Unlocked, now + daily + 1 day}; manifest.json stays a plain media upload
 * without retention. A bucket without object retention is refused before any upload. */
static void test_object_retention_in_upload_scripted(void **state)
{
    (void)state;
    const char *key = "data/daily/20260302_220000/vol-0001.ofs";
    unsigned char data[] = "a small volume";
    char done[512], done2[512], endpoint[64], before[32], after[32];
    canned_answer answers[] = {
        { 200, "{\"objectRetention\": {\"mode\": \"Enabled\"}}", NULL },
        { 200, "", "Location: {ENDPOINT}/upload/storage/v1/b/bk/o?upload_id=L1\r\n" },
        { 200, object_json(data, sizeof(data), done, sizeof(done)), NULL },
        { 200, object_json(data, sizeof(data), done2, sizeof(done2)), NULL },
        { 200, "", "Location: {ENDPOINT}/upload/storage/v1/b/bk/o?upload_id=L2\r\n" },
        { 200, done, NULL },
        /* another store, on a bucket without object retention */
        { 200, "{}", NULL },
    };
    pid_t pid = script_start(answers, 7, log_path, endpoint);
    ofs_config_target t = target(endpoint, PART, NULL);
    const ofs_config_retention policy = { .daily = 7, .weekly = 4, .monthly = 12 };
    ofs_store *s = NULL;

    t.object_lock = (char *)"governance";
    if (ofs_store_gcs_new_with_retention(&s, &t, &policy, scratch) != 0)
        fail_msg("open: %s", ofs_error_last());
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_OBJECT_LOCK);
    iso_in((int64_t)time(NULL), 8, before);
    if (ofs_store_put_buffer(s, key, 0, data, sizeof(data)) != 0)
        fail_msg("put: %s", ofs_error_last());
    iso_in((int64_t)time(NULL), 8, after);
    assert_int_equal(ofs_store_put_buffer(s, "manifest.json", 0, data, sizeof(data)), 0);
    /* the bucket was asked once: the next locked object goes straight to its session */
    assert_int_equal(ofs_store_put_buffer(s, "data/weekly/b2/vol", 0, data, sizeof(data)), 0);
    ofs_store_free(s);
    s = NULL;
    if (ofs_store_gcs_new_with_retention(&s, &t, &policy, scratch) != 0)
        fail_msg("open: %s", ofs_error_last());
    assert_int_equal(ofs_store_put_buffer(s, key, 0, data, sizeof(data)), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "cloud: object_lock is on (Unlocked mode), but bucket "
                                          "bk has no object retention enabled\nHINT: it can only "
                                          "be turned on when a bucket is created (gcloud storage "
                                          "buckets create --enable-per-object-retention); use "
                                          "such a bucket, or set object_lock = off");
    script_end(pid);
    char *log = read_log();
    assert_int_equal(count_requests(log), 7);
    free(log);
    request_has(0, "GET /storage/v1/b/bk?fields=objectRetention ", NULL);
    request_has(4, "POST /upload/storage/v1/b/bk/o?uploadType=resumable&name=h%2F"
                "data%2Fweekly%2Fb2%2Fvol ", "\"retention\":{\"mode\":\"Unlocked\"");
    char *start = nth(1), want[160], want2[160];
    assert_non_null(strstr(start, "POST /upload/storage/v1/b/bk/o?uploadType=resumable&name=h%2F"
                                  "data%2Fdaily%2F20260302_220000%2Fvol-0001.ofs "));
    snprintf(want, sizeof(want), "\"retention\":{\"mode\":\"Unlocked\",\"retainUntilTime\":"
             "\"%s\"}", before);
    snprintf(want2, sizeof(want2), "\"retention\":{\"mode\":\"Unlocked\",\"retainUntilTime\":"
             "\"%s\"}", after);
    if (!strstr(start, want) && !strstr(start, want2))
        fail_msg("no retention until %s in:\n%s", before, start);
    free(start);
    request_has(2, "PUT /upload/storage/v1/b/bk/o?upload_id=L1 ", "Content-Range: bytes 0-14/15");
    char *manifest = nth(3);
    assert_non_null(strstr(manifest, "POST /upload/storage/v1/b/bk/o?uploadType=media&name=h%2F"
                                     "manifest.json"));
    assert_null(strstr(manifest, "retention"));
    free(manifest);
    ofs_store_free(s);
}

/* scripted GCS: a delete refused with retentionPolicyNotMet reads the object's retention and
 * says until when (what prune keeps the backup with); when the object cannot be read, the
 * refusal's own message stays */
static void test_delete_retention_refused_scripted(void **state)
{
    (void)state;
    char endpoint[64];
    static const char refused[] =
        "{\"error\": {\"code\": 403, \"message\": \"Object 'bk/h/data/daily/b1/vol' is subject "
        "to an object retention configuration and cannot be deleted or overwritten\", "
        "\"errors\": [{\"reason\": \"retentionPolicyNotMet\"}]}}";
    canned_answer answers[] = {
        { 403, refused, NULL },
        { 200, "{\"retention\": {\"mode\": \"Locked\", \"retainUntilTime\": "
               "\"2026-04-10T22:00:00Z\"}}", NULL },
        { 403, refused, NULL },
        { 403, "{\"error\": {\"code\": 403, \"message\": \"no storage.objects.get\", \"errors\": "
               "[{\"reason\": \"forbidden\"}]}}", NULL },
    };
    pid_t pid = script_start(answers, 4, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART, NULL);

    assert_int_equal(ofs_store_del(s, "data/daily/b1/vol"), OFS_EDENIED);
    assert_string_equal(ofs_error_last(), "cloud: data/daily/b1/vol: object is locked until "
                                          "2026-04-10T22:00:00Z (Locked mode; bucket bk, object "
                                          "h/data/daily/b1/vol)\nHINT: it can be deleted once its "
                                          "retention has passed");
    assert_int_equal(ofs_store_del(s, "data/daily/b1/vol"), OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "retentionPolicyNotMet: Object 'bk/h/data/daily/b1/"
                                             "vol' is subject to an object retention"));
    script_end(pid);
    request_has(1, "GET /storage/v1/b/bk/o/h%2Fdata%2Fdaily%2Fb1%2Fvol?fields="
                "retention,retentionExpirationTime ", NULL);
    ofs_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resumable_chunks),
        cmocka_unit_test(test_resume_from_session_file),
        cmocka_unit_test(test_finished_early),
        cmocka_unit_test(test_replace_conflict),
        cmocka_unit_test(test_token_refresh),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_lifecycle_patch_body_keeps_foreign_rules_scripted),
        cmocka_unit_test(test_lifecycle_read_back_differs_scripted),
        cmocka_unit_test(test_object_retention_in_upload_scripted),
        cmocka_unit_test(test_delete_retention_refused_scripted),
    };
    return cmocka_run_group_tests(tests, setup, gcs_test_teardown);
}
