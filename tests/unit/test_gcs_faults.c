/* test_gcs_faults.c - the gcs driver when things go wrong, against a scripted server
 * (scripted_server.h) that answers as Google's Cloud Storage and Compute Engine documentation
 * say: a download cut mid-body resumes with a Range from the byte reached, pinned to the
 * generation (a changed object and a crc32c mismatch are refused); an interrupted upload's
 * session older than the limit is started over, a younger one resumed; the GCE metadata
 * server's token (Metadata-Flavor sent, token used as Bearer, refused or absent: a clear
 * error, the token in no log line and no message). The Cloud Storage emulator can do none of
 * these; the integration case gcs/faults.sh shows the download resume through a cutting proxy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
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
    return gcs_test_setup("test_gcs_faults");
}

static ofs_store *open_store(const char *endpoint, uint64_t part_size)
{
    ofs_config_target t;
    ofs_store *s = NULL;

    memset(&t, 0, sizeof(t));
    t.name = (char *)"cloud";
    t.line = 3;
    t.type = (char *)"gcs";
    t.endpoint = (char *)endpoint;
    t.bucket = (char *)"bk";
    t.prefix = (char *)"h";
    t.part_size = part_size;
    if (ofs_store_gcs_new(&s, &t, scratch) != 0)
        fail_msg("ofs_store_gcs_new: %s", ofs_error_last());
    return s;
}

/* requests(): how many requests the scripted server logged */
static int requests(void)
{
    char *log = read_log();
    int n = count_requests(log);
    free(log);
    return n;
}

/* text(size): printable bytes (the scripted server sends C strings); caller frees */
static char *text(size_t size)
{
    char *p = malloc(size + 1);
    uint32_t seed = 11;
    assert_non_null(p);
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (char)('!' + (seed >> 16) % 90);
    }
    p[size] = '\0';
    return p;
}

#define OBJ ((size_t)300000)
#define CUT ((size_t)120000)

/* a download cut after CUT bytes (Content-Length promised more) resumes with Range from the
 * byte reached and ifGenerationMatch of the first answer; the bytes are exactly the object's
 * and match the crc32c of x-goog-hash (scripted as GCS answers alt=media: 200, then 206) */
static void test_download_cut_resumes_scripted_gcs(void **state)
{
    (void)state;
    char *full = text(OBJ), crc[9], first_headers[256], second_headers[256], endpoint[64];
    char *got = NULL, *part1 = strndup(full, CUT), *part2 = strdup(full + CUT);
    size_t got_size = 0;
    ofs_reader *r = NULL;

    crc_b64(full, OBJ, crc);
    snprintf(first_headers, sizeof(first_headers), "x-goog-generation: 1700000000000042\r\n"
             "x-goog-hash: crc32c=%s,md5=AAAAAAAAAAAAAAAAAAAAAA==\r\nContent-Length: %zu\r\n",
             crc, OBJ);
    snprintf(second_headers, sizeof(second_headers), "x-goog-generation: 1700000000000042\r\n"
             "Content-Range: bytes %zu-%zu/%zu\r\nContent-Length: %zu\r\n", CUT, OBJ - 1, OBJ,
             OBJ - CUT);
    canned_answer answers[] = {
        { 200, part1, first_headers },  /* promises OBJ bytes, sends CUT, closes */
        { 206, part2, second_headers },
    };
    pid_t pid = script_start(answers, 2, log_path, endpoint);
    ofs_store *s = open_store(endpoint, 0);

    assert_int_equal(ofs_store_get(s, "vol", 0, 0, &r), 0);
    assert_int_equal(ofs_reader_read_all(r, &got, &got_size, 1 << 20), 0);
    assert_int_equal(got_size, OBJ);
    assert_memory_equal(got, full, OBJ);
    ofs_reader_free(r);
    script_end(pid);
    assert_int_equal(requests(), 2);
    char *one = nth(0), *two = nth(1);
    assert_non_null(strstr(one, "GET /storage/v1/b/bk/o/h%2Fvol?alt=media "));
    assert_null(strstr(one, "Range:"));
    assert_non_null(strstr(two, "GET /storage/v1/b/bk/o/h%2Fvol?alt=media&ifGenerationMatch="
                                "1700000000000042 "));
    char want[64];
    snprintf(want, sizeof(want), "Range: bytes=%zu-%zu", CUT, OBJ - 1);
    assert_non_null(strstr(two, want));
    assert_non_null(strstr(two, "Authorization: Bearer test-token-XYZ"));
    free(one);
    free(two);
    ofs_store_free(s);
    free(got);
    free(part1);
    free(part2);
    free(full);
}

/* a ranged read [1000, 1000+50000) cut after 20000 bytes asks for exactly the remaining
 * range; no crc32c is claimed for part of an object (scripted GCS: 206 twice) */
static void test_ranged_download_cut_resumes_scripted_gcs(void **state)
{
    (void)state;
    char *full = text(OBJ), h1[256], h2[256], endpoint[64], *got = NULL;
    size_t got_size = 0;
    ofs_reader *r = NULL;
    char *part1 = strndup(full + 1000, 20000), *part2 = strndup(full + 21000, 30000);

    snprintf(h1, sizeof(h1), "x-goog-generation: 5\r\nContent-Range: bytes 1000-50999/%zu\r\n"
             "Content-Length: 50000\r\n", OBJ);
    snprintf(h2, sizeof(h2), "x-goog-generation: 5\r\nContent-Range: bytes 21000-50999/%zu\r\n"
             "Content-Length: 30000\r\n", OBJ);
    canned_answer answers[] = { { 206, part1, h1 }, { 206, part2, h2 } };
    pid_t pid = script_start(answers, 2, log_path, endpoint);
    ofs_store *s = open_store(endpoint, 0);

    assert_int_equal(ofs_store_get(s, "vol", 1000, 50000, &r), 0);
    assert_int_equal(ofs_reader_read_all(r, &got, &got_size, 1 << 20), 0);
    assert_int_equal(got_size, 50000);
    assert_memory_equal(got, full + 1000, 50000);
    ofs_reader_free(r);
    script_end(pid);
    char *one = nth(0), *two = nth(1);
    assert_non_null(strstr(one, "Range: bytes=1000-50999"));
    assert_non_null(strstr(two, "Range: bytes=21000-50999"));
    assert_non_null(strstr(two, "ifGenerationMatch=5 "));
    free(one);
    free(two);
    ofs_store_free(s);
    free(got);
    free(part1);
    free(part2);
    free(full);
}

/* the object was replaced between the cut and the resume: GCS answers the pinned generation
 * with 412, which is corruption of this read, not a retry (scripted GCS) */
static void test_download_object_replaced_scripted_gcs(void **state)
{
    (void)state;
    char *full = text(OBJ), h1[256], endpoint[64], *got = NULL;
    size_t got_size = 0;
    ofs_reader *r = NULL;
    char *part1 = strndup(full, CUT);

    snprintf(h1, sizeof(h1), "x-goog-generation: 7\r\nContent-Length: %zu\r\n", OBJ);
    canned_answer answers[] = {
        { 200, part1, h1 },
        { 412, "{\"error\": {\"code\": 412, \"message\": \"At least one of the pre-conditions "
               "you specified did not hold.\", \"errors\": [{\"reason\": \"conditionNotMet\"}]}}",
          NULL },
    };
    pid_t pid = script_start(answers, 2, log_path, endpoint);
    ofs_store *s = open_store(endpoint, 0);

    assert_int_equal(ofs_store_get(s, "vol", 0, 0, &r), 0);
    assert_int_equal(ofs_reader_read_all(r, &got, &got_size, 1 << 20), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "cloud: vol: object changed while it was read (bucket bk, "
                                          "object h/vol)");
    ofs_reader_free(r);
    script_end(pid);
    assert_int_equal(requests(), 2);
    ofs_store_free(s);
    free(got);
    free(part1);
    free(full);
}

/* the resumed part carries other bytes than the object's (a broken cache in the path): the
 * crc32c of x-goog-hash does not match the bytes delivered, and the read fails (scripted) */
static void test_download_crc32c_mismatch_scripted_gcs(void **state)
{
    (void)state;
    char *full = text(OBJ), crc[9], h1[256], h2[256], endpoint[64], *got = NULL;
    size_t got_size = 0;
    ofs_reader *r = NULL;
    char *part1 = strndup(full, CUT), *part2 = strdup(full + CUT);

    crc_b64(full, OBJ, crc);
    part2[100] ^= 1;
    snprintf(h1, sizeof(h1), "x-goog-generation: 8\r\nx-goog-hash: crc32c=%s\r\n"
             "Content-Length: %zu\r\n", crc, OBJ);
    snprintf(h2, sizeof(h2), "x-goog-generation: 8\r\nContent-Length: %zu\r\n", OBJ - CUT);
    canned_answer answers[] = { { 200, part1, h1 }, { 206, part2, h2 } };
    pid_t pid = script_start(answers, 2, log_path, endpoint);
    ofs_store *s = open_store(endpoint, 0);

    assert_int_equal(ofs_store_get(s, "vol", 0, 0, &r), 0);
    assert_int_equal(ofs_reader_read_all(r, &got, &got_size, 1 << 20), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "cloud: vol: downloaded bytes do not match the object's crc32c "
                                          "(bucket bk, object h/vol)");
    ofs_reader_free(r);
    script_end(pid);
    ofs_store_free(s);
    free(got);
    free(part1);
    free(part2);
    free(full);
}

/* ---- resumable sessions ---- */

#define PART ((size_t)5 << 20)

/* age_session(seconds): rewrite the one session file as made that long ago */
static void age_session(long long seconds)
{
    char dir[400], path[700], *body = NULL, *nl;
    size_t size = 0;
    struct dirent *e;
    DIR *d;
    int found = 0;

    snprintf(dir, sizeof(dir), "%s/gcs", scratch);
    assert_non_null(d = opendir(dir));
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".session"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        found++;
    }
    closedir(d);
    assert_int_equal(found, 1);
    assert_int_equal(ofs_read_file(path, &body, &size, 1 << 16), 0);
    assert_non_null(nl = strchr(body, '\n'));
    *nl = '\0';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n%lld\n", body, (long long)time(NULL) - seconds);
    fclose(f);
    free(body);
}

/* two_runs(data, size, later, n, age): on one scripted GCS (the session file is named by the
 * origin, port included) a first run opens session S1, has one chunk taken and the last one
 * fail (503), leaving the session file; it is aged by `age` seconds; a second run uploads the
 * same bytes against the `later` answers. The second run's requests are logged from index 3. */
static void two_runs(const char *data, size_t size, const canned_answer *later, size_t n,
                     long long age)
{
    char endpoint[64], dir[400];
    canned_answer answers[8] = {
        { 200, "", "Location: {ENDPOINT}/upload/storage/v1/b/bk/o?upload_id=S1\r\n" },
        { 308, "", "Range: bytes=0-5242879\r\n" },
        { 503, "{\"error\": {\"code\": 503, \"message\": \"Backend Error\"}}", NULL },
    };
    ofs_writer *w = NULL;

    assert_true(n <= 5);
    memcpy(answers + 3, later, n * sizeof(*later));
    snprintf(dir, sizeof(dir), "%s/gcs", scratch);
    ofs_rm_rf(dir);
    pid_t pid = script_start(answers, 3 + n, log_path, endpoint);
    ofs_store *s = open_store(endpoint, PART);
    assert_int_equal(ofs_store_put(s, "vol", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, data, size), 0);
    assert_int_equal(ofs_writer_finish(w), OFS_ETRANSIENT);
    ofs_writer_free(w);
    w = NULL;
    age_session(age);
    if (ofs_store_put(s, "vol", 0, &w) != 0)
        fail_msg("put: %s", ofs_error_last());
    if (ofs_writer_write(w, data, size) != 0)
        fail_msg("write: %s", ofs_error_last());
    if (ofs_writer_finish(w) != 0)
        fail_msg("finish: %s", ofs_error_last());
    ofs_writer_free(w);
    ofs_store_free(s);
    script_end(pid);
}

/* a session file 8 days old (past Google's week) is not resumed: the old session is
 * cancelled and a new one carries every byte (scripted GCS) */
static void test_session_past_a_week_restarted_scripted_gcs(void **state)
{
    (void)state;
    size_t size = PART + 100000;
    char *data = text(size), done[512];
    canned_answer answers[] = {
        { 499, "", NULL },  /* DELETE of S1: Google answers a cancelled session 499 */
        { 200, "", "Location: {ENDPOINT}/upload/storage/v1/b/bk/o?upload_id=S2\r\n" },
        { 308, "", "Range: bytes=0-5242879\r\n" },
        { 200, object_json(data, size, done, sizeof(done)), NULL },
    };

    two_runs(data, size, answers, 4, 8LL * 86400);
    assert_int_equal(requests(), 7);
    char *del = nth(3), *start = nth(4), *chunk = nth(5);
    assert_non_null(strstr(del, "DELETE /upload/storage/v1/b/bk/o?upload_id=S1 "));
    assert_non_null(strstr(start, "POST /upload/storage/v1/b/bk/o?uploadType=resumable&"
                                  "name=h%2Fvol "));
    assert_non_null(strstr(chunk, "PUT /upload/storage/v1/b/bk/o?upload_id=S2 "));
    assert_non_null(strstr(chunk, "Content-Range: bytes 0-5242879/*"));
    free(del);
    free(start);
    free(chunk);
    free(data);
}

/* a session file 5 days old is resumed: the session is asked what it holds (Content-Range
 * bytes *\/SIZE, 308 with Range) and only the rest is sent (scripted GCS) */
static void test_session_within_limit_resumed_scripted_gcs(void **state)
{
    (void)state;
    size_t size = PART + 100000;
    char *data = text(size), done[512];
    canned_answer answers[] = {
        { 308, "", "Range: bytes=0-5242879\r\n" },
        { 200, object_json(data, size, done, sizeof(done)), NULL },
    };

    two_runs(data, size, answers, 2, 5LL * 86400);
    assert_int_equal(requests(), 5);
    char *query = nth(3), *last = nth(4);
    assert_non_null(strstr(query, "PUT /upload/storage/v1/b/bk/o?upload_id=S1 "));
    assert_non_null(strstr(query, "Content-Range: bytes */"));
    assert_non_null(strstr(last, "Content-Range: bytes 5242880-5342879/5342880"));
    free(query);
    free(last);
    free(data);
}

/* ---- the GCE metadata server ---- */

/* with stderr captured at debug level: run stat on s, return what was logged (caller frees) */
static char *stat_logged(ofs_store *s, int *rc)
{
    char path[400], *out = NULL;
    size_t size = 0;
    ofs_object_info info;
    int fd, saved;

    snprintf(path, sizeof(path), "%s/stderr.log", scratch);
    fflush(stderr);
    assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
    saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    ofs_log_set_level(OFS_LOG_DEBUG);
    *rc = ofs_store_stat(s, "x", &info);
    ofs_log_set_level(OFS_LOG_ERROR);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    assert_int_equal(ofs_read_file(path, &out, &size, 1 << 20), 0);
    return out;
}

/* no key file, no OFFSITE_GCS_TOKEN: the token comes from the metadata server at
 * GCE_METADATA_HOST (asked with Metadata-Flavor: Google), is sent as Bearer, is fetched again
 * after a 401, and appears in no log line (scripted as the Compute Engine docs describe) */
static void test_metadata_token_scripted_gce(void **state)
{
    (void)state;
    char endpoint[64], host[64];
    int rc;
    canned_answer answers[] = {
        { 200, "{\"access_token\": \"ya29.META-FIRST\", \"expires_in\": 3599, \"token_type\": "
               "\"Bearer\"}", "Metadata-Flavor: Google\r\n" },
        { 200, "{\"name\": \"h/x\", \"size\": \"3\", \"generation\": \"9\"}", NULL },
        { 401, "{\"error\": {\"code\": 401, \"message\": \"Invalid Credentials\"}}", NULL },
        { 200, "{\"access_token\": \"ya29.META-SECOND\", \"expires_in\": 3599, "
               "\"token_type\": \"Bearer\"}", "Metadata-Flavor: Google\r\n" },
        { 200, "{\"name\": \"h/x\", \"size\": \"3\", \"generation\": \"9\"}", NULL },
    };
    unsetenv("OFFSITE_GCS_TOKEN");
    pid_t pid = script_start(answers, 5, log_path, endpoint);
    snprintf(host, sizeof(host), "%s", endpoint + strlen("http://"));
    setenv("GCE_METADATA_HOST", host, 1);
    ofs_store *s = open_store(endpoint, 0);

    char *logged = stat_logged(s, &rc);
    assert_int_equal(rc, 0);
    assert_null(strstr(logged, "ya29"));
    free(logged);
    logged = stat_logged(s, &rc);
    assert_int_equal(rc, 0);
    assert_null(strstr(logged, "ya29"));
    free(logged);
    ofs_store_free(s);
    script_end(pid);
    assert_int_equal(requests(), 5);
    char *tok = nth(0), *use = nth(1), *again = nth(3), *reuse = nth(4);
    assert_non_null(strstr(tok, "GET /computeMetadata/v1/instance/service-accounts/default/"
                                "token "));
    assert_non_null(strstr(tok, "Metadata-Flavor: Google"));
    assert_null(strstr(tok, "Authorization:"));
    assert_non_null(strstr(use, "Authorization: Bearer ya29.META-FIRST"));
    assert_non_null(strstr(again, "Metadata-Flavor: Google"));
    assert_non_null(strstr(reuse, "Authorization: Bearer ya29.META-SECOND"));
    free(tok);
    free(use);
    free(again);
    free(reuse);
    unsetenv("GCE_METADATA_HOST");
    setenv("OFFSITE_GCS_TOKEN", "test-token-XYZ", 1);
}

/* the metadata server refuses (404: the instance has no service account) or is not there at
 * all: clear errors with a HINT, nothing retried, no token quoted (scripted GCE) */
static void test_metadata_refused_scripted_gce(void **state)
{
    (void)state;
    char endpoint[64], host[64];
    int rc;
    canned_answer answers[] = {
        { 404, "Not Found ya29.LEAK", "Metadata-Flavor: Google\r\n" },
    };
    unsetenv("OFFSITE_GCS_TOKEN");
    pid_t pid = script_start(answers, 1, log_path, endpoint);
    snprintf(host, sizeof(host), "%s", endpoint + strlen("http://"));
    setenv("GCE_METADATA_HOST", host, 1);
    ofs_store *s = open_store(endpoint, 0);

    char *logged = stat_logged(s, &rc);
    assert_int_equal(rc, OFS_EDENIED);
    char want[512];
    snprintf(want, sizeof(want), "cloud: x: GCE metadata server gave no access token: HTTP 404 "
             "(http://%s/computeMetadata/v1/instance/service-accounts/default/token)\nHINT: "
             "give the instance a service account with a storage scope, or set "
             "'credentials_file' in the target (a service-account key)", host);
    assert_string_equal(ofs_error_last(), want);
    assert_null(strstr(logged, "ya29"));
    free(logged);
    ofs_store_free(s);
    script_end(pid);
    assert_int_equal(requests(), 1);

    /* the server is gone now: off Google Cloud, nothing answers */
    s = open_store(endpoint, 0);
    logged = stat_logged(s, &rc);
    assert_int_equal(rc, OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "no credentials: the GCE metadata server did not "
                                             "answer"));
    assert_non_null(strstr(ofs_error_last(), "HINT: off Google Cloud, set 'credentials_file'"));
    free(logged);
    ofs_store_free(s);
    unsetenv("GCE_METADATA_HOST");
    setenv("OFFSITE_GCS_TOKEN", "test-token-XYZ", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_download_cut_resumes_scripted_gcs),
        cmocka_unit_test(test_ranged_download_cut_resumes_scripted_gcs),
        cmocka_unit_test(test_download_object_replaced_scripted_gcs),
        cmocka_unit_test(test_download_crc32c_mismatch_scripted_gcs),
        cmocka_unit_test(test_session_past_a_week_restarted_scripted_gcs),
        cmocka_unit_test(test_session_within_limit_resumed_scripted_gcs),
        cmocka_unit_test(test_metadata_token_scripted_gce),
        cmocka_unit_test(test_metadata_refused_scripted_gce),
    };
    return cmocka_run_group_tests(tests, setup, gcs_test_teardown);
}
