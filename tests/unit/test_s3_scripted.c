/* test_s3_scripted.c - the s3 driver against a scripted server (a child process that answers
 * each connection with the next canned answer and logs every request): what a real server
 * cannot be made to do here - the lifecycle read-back differing from what was written, and a
 * server that ignores If-Match and If-None-Match (the probe finds out; the manifest falls back
 * to check-then-write and records to a HEAD first), odd answers to ?versioning, and a HEAD
 * refused for clock skew (no body to say so). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/store.h"
#include "offsite/store_s3.h"
#include "s3_test.h"
#include "scripted_server.h"

#define LC_DOC(rules) "<LifecycleConfiguration>" rules "</LifecycleConfiguration>"
#define LC_RULE(key, inner)                                                                    \
    "<Rule><ID>offsite:h/:" key "</ID><Filter><Prefix>h/" key "</Prefix></Filter>"            \
    "<Status>Enabled</Status>" inner "</Rule>"
#define LC_NONCURRENT(days)                                                                    \
    "<NoncurrentVersionExpiration><NoncurrentDays>" days "</NoncurrentDays>"                   \
    "</NoncurrentVersionExpiration>"
#define LC_MARKERS "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"   \
                   "</Expiration>"
#define LC_FOREIGN "<Rule><ID>other-tool</ID><Filter><Prefix>logs/</Prefix></Filter>"          \
                   "<Status>Enabled</Status><Expiration><Days>90</Days></Expiration></Rule>"

/* a versioned bucket's rules outside the classes: the manifest's history (noncurrent
 * expiration alone) and the probe's leftovers (noncurrent expiration and delete markers)
 * are written as such, read back, and any difference in them is seen */
static void test_lifecycle_readback(void **state)
{
    (void)state;
    static const ofs_lifecycle_rule rules[] = {
        { .prefix = "data/", .expired_delete_marker = 1 },
        { .prefix = "manifest.json", .noncurrent_days = 30 },
        { .prefix = OFS_S3_PROBE_PREFIX, .noncurrent_days = 1, .expired_delete_marker = 1 } };
    static const char want[] = LC_DOC(
        LC_FOREIGN LC_RULE("data/", LC_MARKERS)
        LC_RULE("manifest.json", LC_NONCURRENT("30"))
        LC_RULE("offsite-probe/", LC_MARKERS LC_NONCURRENT("1")));
    const struct {
        const char *what;
        canned_answer answers[3];
        size_t count;
        int rc, changed;
        const char *message;
    } runs[] = {
        { "the probe's noncurrent expiration dropped by the server",
          { { .status = 200, .body = LC_DOC(LC_FOREIGN) }, { .status = 200, .body = "" },
            { .status = 200, .body = LC_DOC(LC_FOREIGN LC_RULE("data/", LC_MARKERS)
                          LC_RULE("manifest.json", LC_NONCURRENT("30"))
                          LC_RULE("offsite-probe/", LC_MARKERS)) } }, 3, OFS_ECORRUPT, 1,
          "lifecycle rule 'offsite:h/:offsite-probe/' read back differs from what was written "
          "(bucket acme-backups)" },
        { "the probe's delete markers dropped by the server",
          { { .status = 200, .body = LC_DOC(LC_FOREIGN) }, { .status = 200, .body = "" },
            { .status = 200, .body = LC_DOC(LC_FOREIGN LC_RULE("data/", LC_MARKERS)
                          LC_RULE("manifest.json", LC_NONCURRENT("30"))
                          LC_RULE("offsite-probe/", LC_NONCURRENT("1"))) } }, 3, OFS_ECORRUPT,
          1, "lifecycle rule 'offsite:h/:offsite-probe/' read back differs from what was "
          "written (bucket acme-backups)" },
        { "the manifest's history kept a day longer by the server",
          { { .status = 200, .body = LC_DOC(LC_FOREIGN) }, { .status = 200, .body = "" },
            { .status = 200, .body = LC_DOC(LC_FOREIGN LC_RULE("data/", LC_MARKERS)
                          LC_RULE("manifest.json", LC_NONCURRENT("31"))
                          LC_RULE("offsite-probe/", LC_MARKERS LC_NONCURRENT("1"))) } }, 3,
          OFS_ECORRUPT, 1, "lifecycle rule 'offsite:h/:manifest.json' read back differs from "
          "what was written (bucket acme-backups)" },
        { "a bucket with a different manifest history: rewritten",
          { { .status = 200, .body = LC_DOC(LC_FOREIGN LC_RULE("data/", LC_MARKERS)
                          LC_RULE("manifest.json", LC_NONCURRENT("7"))
                          LC_RULE("offsite-probe/", LC_MARKERS LC_NONCURRENT("1"))) },
            { .status = 200, .body = "" }, { .status = 200, .body = want } }, 3, 0, 1, NULL },
        { "already in place: one GET, nothing written", { { .status = 200, .body = want } }, 1, 0, 0, NULL },
    };
    ofs_config_target t = base_target();
    char endpoint[64], log_path[300];

    snprintf(log_path, sizeof(log_path), "%s/requests.log", scratch);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "very/secret/value", 1);
    setenv("OFFSITE_RETRY_BUDGET", "0", 1);
    t.prefix = (char *)"h";
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        ofs_store *s = NULL;
        int changed = -1;
        pid_t pid = script_start(runs[i].answers, runs[i].count, log_path, endpoint);

        print_message("lifecycle read-back: %s\n", runs[i].what);
        t.endpoint = endpoint;
        assert_int_equal(ofs_store_s3_new(&s, &t), 0);
        int rc = ofs_store_s3_lifecycle_sync(s, rules, 3, &changed);
        if (rc != runs[i].rc)
            fail_msg("%s: rc %d: %s", runs[i].what, rc, ofs_error_last());
        assert_int_equal(changed, runs[i].changed);
        if (runs[i].message)
            assert_string_equal(ofs_error_last(), runs[i].message);
        ofs_store_free(s);
        script_end(pid);

        char *log = NULL; /* what the server was sent */
        size_t size = 0, requests = 0;
        assert_int_equal(ofs_read_file(log_path, &log, &size, 1 << 20), 0);
        for (const char *p = log; (p = strstr(p, "\n----\n")); p += 6)
            requests++;
        assert_int_equal(requests, runs[i].count); /* nothing else was asked */
        assert_non_null(strstr(log, "GET /acme-backups?lifecycle"));
        if (runs[i].count == 3) {
            /* the foreign rule first, verbatim; ours in the order given, only what they set */
            const char *put = strstr(log, "PUT /acme-backups?lifecycle");
            assert_non_null(put);
            assert_non_null(strstr(put, want + strlen("<LifecycleConfiguration>")));
        }
        free(log);
    }
    unsetenv("OFFSITE_RETRY_BUDGET");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
}


static char *read_log(const char *path)
{
    char *log = NULL;
    size_t size = 0;
    assert_int_equal(ofs_read_file(path, &log, &size, 1 << 20), 0);
    return log;
}

/* nth_request(log, n): the start of the n-th request (0-based) in the log, or NULL */
static const char *nth_request(const char *log, int n)
{
    const char *p = log;
    for (int i = 0; p && i < n; i++)
        if ((p = strstr(p, "\n----\n")))
            p += 6;
    return p;
}

/* the request's head only (up to the blank line), for header checks */
static int request_has(const char *log, int n, const char *what)
{
    const char *r = nth_request(log, n), *end = r ? strstr(r, "\r\n\r\n") : NULL;
    const char *hit = r ? strcasestr(r, what) : NULL;
    return hit && end && hit < end;
}

/* A server that ignores conditional headers: the probe writes its object, sees If-Match with
 * the right and a wrong ETag and If-None-Match all go through, deletes it; then replace falls
 * back to a HEAD and a plain PUT, and an if-absent put HEADs first - refusing when something
 * is there. */
static void test_conditions_ignored(void **state)
{
    (void)state;
    static const canned_answer answers[] = {
        { .status = 204 },                                     /* may delete? (absent key) */
        { .status = 200, .headers = "ETag: \"0123\"\r\n" },           /* 0 probe PUT */
        { .status = 200, .headers = "ETag: \"0123\"\r\n" },           /* 1 If-Match right */
        { .status = 200, .headers = "ETag: \"0123\"\r\n" },           /* 2 If-Match wrong */
        { .status = 200, .headers = "ETag: \"0123\"\r\n" },           /* 3 If-None-Match */
        { .status = 204 },                                                /* 4 DELETE probe */
        { .status = 200, .headers = "ETag: \"v1\"\r\nContent-Length: 2\r\n" }, /* 5 HEAD */
        { .status = 200, .headers = "ETag: \"v2\"\r\n" },             /* 6 PUT manifest */
        { .status = 200, .headers = "ETag: \"v2\"\r\nContent-Length: 4\r\n" }, /* 7 HEAD */
        { .status = 404, .headers = "Content-Length: 0\r\n" },          /* 8 HEAD record */
        { .status = 200, .headers = "ETag: \"r1\"\r\n" },             /* 9 PUT record */
        { .status = 200, .headers = "ETag: \"r1\"\r\nContent-Length: 3\r\n" }, /* 10 HEAD */
        { .status = 200, .headers = "ETag: \"r1\"\r\nContent-Length: 3\r\n" }, /* 11 HEAD */
    };
    ofs_config_target t = base_target();
    char endpoint[64], log_path[300], written[OFS_STORE_VERSION_MAX];
    ofs_store *s = NULL;
    pid_t pid;
    char *log;

    snprintf(log_path, sizeof(log_path), "%s/conditions.log", scratch);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "very/secret/value", 1);
    setenv("OFFSITE_RETRY_BUDGET", "0", 1);
    pid = script_start(answers, sizeof(answers) / sizeof(answers[0]), log_path, endpoint);
    t.endpoint = endpoint;
    t.prefix = (char *)"h";
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);

    if (ofs_store_replace(s, "manifest.json", "\"v1\"", "next", 4, written) != 0)
        fail_msg("replace: %s", ofs_error_last());
    assert_string_equal(written, "\"v2\"");
    if (ofs_store_put_buffer(s, "data/daily/x_1/backup.json", OFS_PUT_IF_ABSENT, "rec", 3) != 0)
        fail_msg("first record: %s", ofs_error_last());
    assert_int_equal(ofs_store_put_buffer(s, "data/daily/x_1/backup.json", OFS_PUT_IF_ABSENT,
                                          "new", 3), OFS_EEXISTS);
    assert_non_null(strstr(ofs_error_last(), "already exists"));
    ofs_store_free(s);
    script_end(pid);

    char *full = read_log(log_path);
    /* delete is asked first, of the probe's key before it exists: allowed, so a random name */
    assert_non_null(strstr(nth_request(full, 0), "DELETE /acme-backups/h/offsite-probe/if-match-"));
    log = strdup(nth_request(full, 1)); /* the rest numbered as before */
    free(full);
    assert_non_null(strstr(nth_request(log, 0), "PUT /acme-backups/h/offsite-probe/if-match-"));
    assert_true(request_has(log, 1, "\r\nIf-Match: \"0123\""));
    assert_true(request_has(log, 2, "\r\nIf-Match: \"00000000000000000000000000000000\""));
    assert_true(request_has(log, 3, "\r\nIf-None-Match: *"));
    assert_non_null(strstr(nth_request(log, 4), "DELETE /acme-backups/h/offsite-probe/"));
    assert_non_null(strstr(nth_request(log, 5), "HEAD /acme-backups/h/manifest.json"));
    assert_non_null(strstr(nth_request(log, 6), "PUT /acme-backups/h/manifest.json"));
    assert_false(request_has(log, 6, "If-Match")); /* the server would not honour it */
    assert_non_null(strstr(nth_request(log, 8), "HEAD /acme-backups/h/data/daily/x_1/"));
    assert_non_null(strstr(nth_request(log, 9), "PUT /acme-backups/h/data/daily/x_1/"));
    assert_false(request_has(log, 9, "If-None-Match"));
    /* the second record: two HEADs (is one there? is it these bytes?), no PUT */
    assert_non_null(strstr(nth_request(log, 11), "HEAD /acme-backups/h/data/daily/x_1/"));
    assert_string_equal(nth_request(log, 12), "");
    free(log);
    unsetenv("OFFSITE_RETRY_BUDGET");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
}

/* scripted_store(answers, n, log_path, &pid): an s3 store on a scripted server */
static ofs_store *scripted_store(const canned_answer *answers, size_t n, const char *name,
                                 char log_path[300], pid_t *pid)
{
    static char endpoint[64];
    ofs_config_target t = base_target();
    ofs_store *s = NULL;

    snprintf(log_path, 300, "%s/%s.log", scratch, name);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "very/secret/value", 1);
    setenv("OFFSITE_RETRY_BUDGET", "0", 1);
    *pid = script_start(answers, n, log_path, endpoint);
    t.endpoint = endpoint;
    t.prefix = (char *)"h";
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    return s;
}

static void scripted_end(ofs_store *s, pid_t pid)
{
    ofs_store_free(s);
    script_end(pid);
    unsetenv("OFFSITE_RETRY_BUDGET");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
}

/* servers that answer ?versioning with another document (a bucket listing) or an unknown
 * status: "not versioned", as awscli takes it, and no failure (retention sync goes on) */
static void test_versioning_odd_answers(void **state)
{
    (void)state;
    static const canned_answer answers[] = {
        { .status = 200, .body = "<ListBucketResult><Name>acme-backups</Name></ListBucketResult>" },
        { .status = 200, .body = "<VersioningConfiguration><Status>Sometimes</Status>"
                                 "</VersioningConfiguration>" },
        { .status = 200, .body = "<VersioningConfiguration><Status>Enabled</Status>"
                                 "</VersioningConfiguration>" },
    };
    char log_path[300];
    pid_t pid;
    int versioned = -1;
    ofs_store *s = scripted_store(answers, 3, "versioning", log_path, &pid);

    if (ofs_store_s3_versioning(s, &versioned) != 0)
        fail_msg("a listing for an answer: %s", ofs_error_last());
    assert_int_equal(versioned, 0);
    versioned = -1;
    assert_int_equal(ofs_store_s3_versioning(s, &versioned), 0);
    assert_int_equal(versioned, 0);
    assert_int_equal(ofs_store_s3_versioning(s, &versioned), 0);
    assert_int_equal(versioned, 1); /* the real answer still counts */
    scripted_end(s, pid);
}

/* a HEAD refused for clock skew has no body to say so: the server's Date tells, the clock is
 * corrected and the HEAD signed again at once - the stat succeeds */
static void test_head_clock_skew(void **state)
{
    (void)state;
    char date[64], headers[128], amz[17], log_path[300];
    time_t ahead = time(NULL) + 3600;
    struct tm tm;
    pid_t pid;
    ofs_object_info info;

    gmtime_r(&ahead, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(headers, sizeof(headers), "Date: %s\r\nContent-Length: 0\r\n", date);
    canned_answer answers[] = {
        { .status = 403, .headers = headers },
        { .status = 200, .headers = "ETag: \"e\"\r\nContent-Length: 5\r\n" },
    };
    ofs_store *s = scripted_store(answers, 2, "skew", log_path, &pid);
    if (ofs_store_stat(s, "manifest.json", &info) != 0)
        fail_msg("stat after a skewed HEAD: %s", ofs_error_last());
    assert_int_equal(info.size, 5);
    scripted_end(s, pid);

    char *log = read_log(log_path);
    assert_non_null(strstr(nth_request(log, 1), "HEAD /acme-backups/h/manifest.json"));
    /* signed again with the server's hour: x-amz-date says the hour ahead */
    strftime(amz, sizeof(amz), "%Y%m%dT%H", &tm);
    assert_true(request_has(log, 1, amz));
    free(log);
}

/* a malformed session token: Ceph RGW answers 400 InvalidArgument, which alone says nothing;
 * the message names the token and the variable to fix, and it is not retried */
static void test_session_token_refused(void **state)
{
    (void)state;
    static const canned_answer answers[] = {
        { .status = 400, .body = "<Error><Code>InvalidArgument</Code></Error>" },
    };
    char log_path[300], *data = NULL;
    size_t size = 0;
    pid_t pid;

    setenv("AWS_SESSION_TOKEN", "not a token!", 1);
    ofs_store *s = scripted_store(answers, 1, "token", log_path, &pid);
    assert_int_equal(ofs_store_get_buffer(s, "manifest.json", &data, &size, 1024), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "the session token was refused: InvalidArgument"));
    assert_non_null(strstr(ofs_error_last(), "HINT: the session token (AWS_SESSION_TOKEN"));
    scripted_end(s, pid);
    unsetenv("AWS_SESSION_TOKEN");
    char *log = read_log(log_path);
    assert_true(request_has(log, 0, "x-amz-security-token: not a token!"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle_readback),
        cmocka_unit_test(test_conditions_ignored),
        cmocka_unit_test(test_versioning_odd_answers),
        cmocka_unit_test(test_head_clock_skew),
        cmocka_unit_test(test_session_token_refused),
    };
    return cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
}
