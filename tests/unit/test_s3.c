/* test_s3.c - the s3 store driver.
 *
 * Offline: settings and credential errors, the shared credentials file,
 * a refused connection (OFS_ETRANSIENT, no server needed), lifecycle rules S3
 * would refuse (the scripted-server tests are in test_s3_scripted.c).
 * Live: against a real S3 server when OFS_TEST_S3_ENDPOINT and OFS_TEST_S3_BUCKET are set
 * (with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); tests/integration/cases/s3/driver.sh runs
 * this binary against radosgw. Without them the live tests are skipped, saying so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/hash.h"
#include "offsite/store.h"
#include "offsite/store_s3.h"
#include "s3_test.h"


/* the offline tests play with the AWS variables; the live ones need the real ones back */
static const char *const aws_vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                        "AWS_SESSION_TOKEN", "AWS_PROFILE",
                                        "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
                                        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                                        "AWS_ENDPOINT_URL_S3",
                                        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", NULL };
static char *aws_saved[16];

static void env_save(void)
{
    for (size_t i = 0; aws_vars[i]; i++)
        aws_saved[i] = getenv(aws_vars[i]) ? strdup(getenv(aws_vars[i])) : NULL;
}

static void env_restore(void)
{
    for (size_t i = 0; aws_vars[i]; i++) {
        if (aws_saved[i])
            setenv(aws_vars[i], aws_saved[i], 1);
        else
            unsetenv(aws_vars[i]);
    }
}

/* ---- offline ---- */

static void test_settings_errors(void **state)
{
    (void)state;
    ofs_config_target t = base_target();
    ofs_store *s = NULL;

    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "very/secret/value", 1);

    t.bucket = NULL;
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'remote' (line 12): type 's3' needs 'bucket' "
                                          "(a bucket name, without '/')");
    assert_null(s);
    t = base_target();
    t.part_size = 1 << 20;
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'remote' (line 12): part_size must be between "
                                          "5M and 5G (S3's limits)");
    t = base_target();
    t.object_lock = (char *)"compliance";
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_EUNSUPPORTED); /* no policy, no date */
    assert_string_equal(ofs_error_last(), "target 'remote' (line 12): object_lock = compliance "
                                          "needs the target's retention policy to date the "
                                          "locks, and none was given to the s3 driver");
    t.object_lock = (char *)"forever";
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'remote' (line 12): object_lock 'forever' is "
                                          "not 'off', 'governance' or 'compliance'");
    ofs_config_retention policy = { .daily = 30, .weekly = 12, .monthly = 12 };
    t.object_lock = (char *)"off";
    assert_int_equal(ofs_store_s3_new_with_retention(&s, &t, &policy), 0);
    assert_false(ofs_store_caps(s) & OFS_STORE_CAP_OBJECT_LOCK);
    ofs_store_free(s);
    t.object_lock = (char *)"compliance";
    assert_int_equal(ofs_store_s3_new_with_retention(&s, &t, &policy), 0);
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_OBJECT_LOCK);
    ofs_store_free(s);
    t = base_target();
    t.endpoint = (char *)"http://127.0.0.1:9/some/path";
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "must be scheme://host[:port] without a path"));
    t = base_target();
    t.bwlimit = (char *)"25:00,5M";
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'remote' (line 12): bwlimit '25:00,5M': "
                                          "'25:00,5M' is not HH:MM,RATE (a time from 00:00 "
                                          "to 23:59)");

    t = base_target();
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    assert_string_equal(ofs_store_name(s), "remote");
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_RANGE);
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_CONDITIONAL);
    assert_false(ofs_store_caps(s) & OFS_STORE_CAP_LOCAL);
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_CONCURRENT);
    assert_false(ofs_store_caps(s) & OFS_STORE_CAP_ATOMIC_REPLACE); /* not probed yet */
    assert_non_null(strstr(s->description, "s3://acme-backups/"));
    assert_null(strstr(s->description, "very/secret"));
    ofs_store_free(s);
    /* under a bwlimit push sends one object at a time: the limit holds */
    t.bwlimit = (char *)"5M";
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    assert_false(ofs_store_caps(s) & OFS_STORE_CAP_CONCURRENT);
    ofs_store_free(s);
    t.bwlimit = NULL;

    /* AWS by default: the regional endpoint, virtual-hosted style */
    t.endpoint = NULL;
    t.url_style = NULL;
    t.region = (char *)"eu-west-1";
    t.prefix = (char *)"/fleet/h1/";
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    assert_string_equal(s->description, "s3 s3://acme-backups/fleet/h1/ at "
                                        "https://acme-backups.s3.eu-west-1.amazonaws.com");
    ofs_store_free(s);
    env_restore();
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_credentials(void **state)
{
    (void)state;
    ofs_config_target t = base_target();
    char path[512], token[1500], text[2000];
    ofs_store *s = NULL;

    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_PROFILE");
    snprintf(path, sizeof(path), "%s/credentials", scratch);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);

    /* no environment, no file: the hint names both ways */
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "target 'remote' (line 12): no S3 credentials\n"
                                          "HINT: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                                          "or 'credentials_file' and 'profile' in the target");
    /* a named file that does not exist */
    t.credentials_file = path;
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ENOTFOUND);
    assert_non_null(strstr(ofs_error_last(), "target 'remote' (line 12): S3 credentials: "));

    /* a 1400-character session token, both section spellings, comments */
    memset(token, 'T', 1400);
    token[1400] = '\0';
    snprintf(text, sizeof(text),
             "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n"
             "aws_secret_access_key = default/secret\n\n"
             "[profile backup]\n; another comment\n aws_access_key_id=AKIDBACKUP \n"
             "aws_secret_access_key = backup/secret\naws_session_token = %s\n"
             "[broken]\naws_access_key_id = AKIDBROKEN\n", token);
    write_text(path, text);
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    ofs_store_free(s);
    t.profile = (char *)"backup";
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    ofs_store_free(s);
    t.profile = (char *)"broken";
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "profile 'broken' in"));
    assert_non_null(strstr(ofs_error_last(), "lacks aws_access_key_id or aws_secret_access_key"));
    t.profile = (char *)"nobody";
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "no profile 'nobody' in S3 credentials file"));
    /* secrets never appear in the messages */
    assert_null(strstr(ofs_error_last(), "secret"));
    env_restore();
}

/* description(t): the store's description ("s3 s3://BUCKET/PREFIX at ORIGIN"), malloc'd */
static char *description(const ofs_config_target *t)
{
    ofs_store *s = NULL;
    if (ofs_store_s3_new(&s, t) != 0)
        fail_msg("open: %s", ofs_error_last());
    char *d = strdup(s->description);
    ofs_store_free(s);
    return d;
}

/* the endpoint as the AWS CLI finds it: the target's key, else AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL, else the profile's endpoint_url in the config file (not its nested "s3 ="
 * block); AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true drops all but the target's */
static void test_aws_config(void **state)
{
    (void)state;
    char path[300], *d;
    ofs_config_target t = base_target();

    for (size_t i = 0; aws_vars[i]; i++)
        unsetenv(aws_vars[i]);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "very/secret/value", 1);
    snprintf(path, sizeof(path), "%s/aws-config", scratch);
    write_text(path, "[default]\nregion = eu-west-1\n"
                     "[profile lab]\nregion = us-west-2\ns3 =\n"
                     "  endpoint_url = http://nested.invalid:1\n"
                     "endpoint_url = http://127.0.0.1:7480\n");
    setenv("AWS_CONFIG_FILE", path, 1);
    setenv("AWS_PROFILE", "lab", 1);
    t.endpoint = NULL;
    assert_non_null(strstr(d = description(&t), " at http://127.0.0.1:7480")); /* the file */
    free(d);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.2:1", 1);
    assert_non_null(strstr(d = description(&t), " at http://127.0.0.2:1")); /* env over file */
    free(d);
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.3:1", 1);
    assert_non_null(strstr(d = description(&t), " at http://127.0.0.3:1")); /* the s3 one */
    free(d);
    t.endpoint = (char *)"http://127.0.0.4:1";
    assert_non_null(strstr(d = description(&t), " at http://127.0.0.4:1")); /* the target */
    free(d);
    t.endpoint = NULL;
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    setenv("AWS_REGION", "ap-south-1", 1);
    /* AWS itself, virtual-hosted, in the environment's region over the file's */
    t.url_style = NULL;
    assert_non_null(strstr(d = description(&t),
                            " at https://acme-backups.s3.ap-south-1.amazonaws.com"));
    free(d);
    unsetenv("AWS_REGION");
    assert_non_null(strstr(d = description(&t),
                            " at https://acme-backups.s3.us-west-2.amazonaws.com")); /* file */
    free(d);
    env_restore();
}

static void test_connection_refused(void **state)
{
    (void)state;
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof(a);
    char endpoint[64];
    ofs_config_target t = base_target();
    ofs_object_info info;
    ofs_store *s = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* a port that was free a moment ago: nothing listens there */
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", ntohs(a.sin_port));
    t.endpoint = endpoint;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "very/secret/value", 1);
    setenv("OFFSITE_RETRY_BUDGET", "0.6", 1);
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    assert_int_equal(ofs_store_stat(s, "manifest.json", &info), OFS_ETRANSIENT);
    assert_non_null(strstr(ofs_error_last(), "connection to 127.0.0.1:"));
    assert_non_null(strstr(ofs_error_last(), "failed "));
    assert_null(strstr(ofs_error_last(), "very/secret"));
    ofs_store_free(s);
    unsetenv("OFFSITE_RETRY_BUDGET");
    env_restore();
}

static void test_stalled_server(void **state)
{
    (void)state;
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof(a);
    char endpoint[64];
    ofs_config_target t = base_target();
    ofs_writer *w = NULL;
    ofs_store *s = NULL;
    struct timespec t0, t1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* listening, never answering: the kernel completes the connection, nobody reads */
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", ntohs(a.sin_port));
    t.endpoint = endpoint;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "very/secret/value", 1);
    setenv("OFFSITE_RETRY_BUDGET", "0.3", 1);
    setenv("OFFSITE_S3_STALL_TIMEOUT", "1", 1);
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ofs_store_put(s, "vol-0001.ofs", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, "data", 4), 0);
    assert_int_equal(ofs_writer_finish(w), OFS_ETRANSIENT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_non_null(strstr(ofs_error_last(), "too slow"));
    /* a couple of short stalls (curl measures speed over ~5 s) and sleeps, not minutes */
    assert_true(t1.tv_sec - t0.tv_sec < 25);
    ofs_writer_free(w);
    ofs_store_free(s);
    close(fd);
    unsetenv("OFFSITE_RETRY_BUDGET");
    unsetenv("OFFSITE_S3_STALL_TIMEOUT");
    env_restore();
}

/* ---- live ---- */

static void test_live_small_objects(void **state)
{
    (void)state;
    live_env env;
    ofs_store *s;
    ofs_object_info info;
    ofs_reader *r = NULL;
    char *data = NULL, buf[64];
    size_t size = 0, got = 0;
    const char *odd = "data/daily/a b+c=d$e/日本語 résumé.ofs";

    if (live_skip(&env))
        skip();
    s = live_store(&env, "small", 0, 0);
    put_ok(s, "manifest.json", "{\"hello\": 1}\n", 13);
    put_ok(s, odd, "0123456789abcdef", 16);
    put_ok(s, "empty", "", 0);

    assert_int_equal(ofs_store_get_buffer(s, "manifest.json", &data, &size, 1024), 0);
    assert_int_equal(size, 13);
    assert_memory_equal(data, "{\"hello\": 1}\n", 13);
    free(data);
    assert_int_equal(ofs_store_get_buffer(s, "empty", &data, &size, 1024), 0);
    assert_int_equal(size, 0);
    free(data);

    assert_int_equal(ofs_store_stat(s, odd, &info), 0);
    assert_int_equal(info.size, 16);
    assert_true(info.mtime > 1700000000);

    /* ranges: middle, to the end, from the end */
    assert_int_equal(ofs_store_get(s, odd, 3, 4, &r), 0);
    assert_int_equal(ofs_reader_read_full(r, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "3456", 4);
    ofs_reader_free(r);
    assert_int_equal(ofs_store_get(s, odd, 10, 0, &r), 0);
    assert_int_equal(ofs_reader_read_full(r, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, "abcdef", 6);
    ofs_reader_free(r);
    assert_int_equal(ofs_store_get(s, odd, 16, 0, &r), 0);
    assert_int_equal(ofs_reader_read_full(r, buf, sizeof(buf), &got), 0);
    assert_int_equal(got, 0);
    ofs_reader_free(r);

    /* absent objects */
    assert_int_equal(ofs_store_stat(s, "nothing/here", &info), OFS_ENOTFOUND);
    assert_non_null(strstr(ofs_error_last(), "nothing/here"));
    assert_int_equal(ofs_store_get(s, "nothing/here", 0, 0, &r), OFS_ENOTFOUND);
    assert_non_null(strstr(ofs_error_last(), "NoSuchKey"));
    assert_non_null(strstr(ofs_error_last(), "(bucket "));
    assert_null(r);

    /* delete is idempotent */
    assert_int_equal(ofs_store_del(s, odd), 0);
    assert_int_equal(ofs_store_del(s, odd), 0);
    assert_int_equal(ofs_store_stat(s, odd, &info), OFS_ENOTFOUND);
    ofs_store_free(s);
}

static void test_live_conditional(void **state)
{
    (void)state;
    live_env env;
    ofs_store *s;
    char *data = NULL;
    size_t size = 0;

    if (live_skip(&env))
        skip();
    s = live_store(&env, "cond", 0, 0);
    assert_int_equal(ofs_store_put_buffer(s, "backup.json", OFS_PUT_IF_ABSENT, "first", 5), 0);
    /* the same bytes again: a retried put that had landed, not a conflict */
    assert_int_equal(ofs_store_put_buffer(s, "backup.json", OFS_PUT_IF_ABSENT, "first", 5), 0);
    assert_int_equal(ofs_store_put_buffer(s, "backup.json", OFS_PUT_IF_ABSENT, "other", 5),
                     OFS_EEXISTS);
    assert_non_null(strstr(ofs_error_last(), "already exists"));
    assert_int_equal(ofs_store_get_buffer(s, "backup.json", &data, &size, 100), 0);
    assert_string_equal(data, "first");
    free(data);
    ofs_store_free(s);
}

static void test_live_list_pages(void **state)
{
    (void)state;
    live_env env;
    ofs_store *s;
    list_result l = { 0 };
    const char *keys[] = { "a/1", "a/2", "a/3 x", "a/4+y", "a/5=z", "b/1", "ab" };

    if (live_skip(&env))
        skip();
    setenv("OFFSITE_S3_MAX_KEYS", "2", 1); /* four pages for five keys */
    s = live_store(&env, "list", 0, 0);
    unsetenv("OFFSITE_S3_MAX_KEYS");
    for (size_t i = 0; i < 7; i++)
        put_ok(s, keys[i], keys[i], strlen(keys[i]));
    assert_int_equal(ofs_store_list(s, "a/", list_collect, &l), 0);
    assert_int_equal(l.count, 5);
    assert_string_equal(l.keys[0], "a/1");
    assert_string_equal(l.keys[2], "a/3 x");
    assert_string_equal(l.keys[3], "a/4+y");
    assert_string_equal(l.keys[4], "a/5=z");
    assert_int_equal(l.sizes[4], 5);
    memset(&l, 0, sizeof(l));
    assert_int_equal(ofs_store_list(s, "", list_collect, &l), 0);
    assert_int_equal(l.count, 7);
    assert_string_equal(l.keys[5], "ab"); /* byte order: "a/..." < "ab" < "b/..." */
    assert_string_equal(l.keys[6], "b/1");
    memset(&l, 0, sizeof(l));
    assert_int_equal(ofs_store_list(s, "zzz", list_collect, &l), 0);
    assert_int_equal(l.count, 0);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(ofs_store_del(s, keys[i]), 0);
    ofs_store_free(s);
}

static void test_live_multipart(void **state)
{
    (void)state;
    const size_t size = 12 * 1024 * 1024 + 12345; /* three parts of 5 MiB */
    unsigned char *data = malloc(size), *back = malloc(size);
    uint8_t want[32], have[32];
    ofs_writer *w = NULL;
    ofs_reader *r = NULL;
    ofs_object_info info;
    size_t got = 0;
    live_env env;
    ofs_store *s;

    assert_non_null(data);
    assert_non_null(back);
    if (live_skip(&env)) {
        free(data);
        free(back);
        skip();
    }
    fill(data, size, 7);
    s = live_store(&env, "multi", 5 << 20, 3);
    assert_int_equal(ofs_store_put(s, "vol-0001.ofs", 0, &w), 0);
    /* odd write sizes across part boundaries */
    for (size_t off = 0; off < size;) {
        size_t n = off % 3 ? 777777 : 1000003;
        if (n > size - off)
            n = size - off;
        assert_int_equal(ofs_writer_write(w, data + off, n), 0);
        off += n;
    }
    if (ofs_writer_finish(w) != 0)
        fail_msg("finish: %s", ofs_error_last());
    ofs_writer_free(w);
    assert_int_equal(ofs_store_stat(s, "vol-0001.ofs", &info), 0);
    assert_int_equal(info.size, size);
    assert_int_equal(ofs_store_get(s, "vol-0001.ofs", 0, 0, &r), 0);
    assert_int_equal(ofs_reader_read_full(r, back, size, &got), 0);
    assert_int_equal(got, size);
    ofs_reader_free(r);
    ofs_sha256_buffer(data, size, want);
    ofs_sha256_buffer(back, got, have);
    assert_memory_equal(want, have, 32);

    /* a range across a part boundary */
    assert_int_equal(ofs_store_get(s, "vol-0001.ofs", (5 << 20) - 10, 20, &r), 0);
    assert_int_equal(ofs_reader_read_full(r, back, 100, &got), 0);
    assert_int_equal(got, 20);
    assert_memory_equal(back, data + (5 << 20) - 10, 20);
    ofs_reader_free(r);

    /* free without finish aborts: nothing appears under the key */
    assert_int_equal(ofs_store_put(s, "vol-0002.ofs", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, data, 11 << 20), 0);
    ofs_writer_free(w);
    assert_int_equal(ofs_store_stat(s, "vol-0002.ofs", &info), OFS_ENOTFOUND);

    /* exactly part_size bytes: one PUT */
    assert_int_equal(ofs_store_put_buffer(s, "exact", 0, data, 5 << 20), 0);
    assert_int_equal(ofs_store_stat(s, "exact", &info), 0);
    assert_int_equal(info.size, 5 << 20);

    /* sequential parts (parallel = 1) give the same object */
    ofs_store_free(s);
    s = live_store(&env, "multi", 5 << 20, 1);
    assert_int_equal(ofs_store_put_buffer(s, "vol-0003.ofs", 0, data, size), 0);
    assert_int_equal(ofs_store_get(s, "vol-0003.ofs", 0, 0, &r), 0);
    assert_int_equal(ofs_reader_read_full(r, back, size, &got), 0);
    assert_int_equal(got, size);
    assert_memory_equal(back, data, size);
    ofs_reader_free(r);
    ofs_store_free(s);
    free(data);
    free(back);
}

static void test_live_refusals(void **state)
{
    (void)state;
    ofs_config_target t = base_target();
    char *secret = NULL;
    ofs_object_info info;
    ofs_store *s = NULL;
    live_env env;
    double t0;
    struct timespec ts;

    if (live_skip(&env))
        skip();
    t.endpoint = (char *)env.endpoint;
    t.bucket = (char *)env.bucket;
    /* a wrong secret: refused at once with the server's code and a hint, never retried */
    secret = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
    setenv("AWS_SECRET_ACCESS_KEY", "wrong/secret/0000000000000000000000000", 1);
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    assert_int_equal(ofs_store_stat(s, "x", &info), OFS_EDENIED);
    assert_int_equal(ofs_store_put_buffer(s, "x", 0, "x", 1), OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "SignatureDoesNotMatch"));
    assert_non_null(strstr(ofs_error_last(), "HINT: check the secret access key"));
    assert_null(strstr(ofs_error_last(), "wrong/secret"));
    assert_null(strstr(ofs_error_last(), "failed "));
    clock_gettime(CLOCK_MONOTONIC, &ts);
    assert_true((double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t0 < 2.0);
    ofs_store_free(s);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    free(secret);

    /* a bucket that does not exist is a configuration error */
    t.bucket = (char *)"no-such-bucket-offsite";
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    assert_int_equal(ofs_store_put_buffer(s, "x", 0, "x", 1), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "NoSuchBucket"));
    assert_non_null(strstr(ofs_error_last(), "bucket 'no-such-bucket-offsite' does not exist"));
    assert_non_null(strstr(ofs_error_last(), "HINT: create it"));
    ofs_store_free(s);
}

/* rules S3 would refuse are refused before anything is sent (the endpoint is closed); a
 * target with object lock is versioned without asking */
static void test_lifecycle_offline(void **state)
{
    (void)state;
    ofs_config_target t = base_target();
    ofs_config_retention policy = { .daily = 7, .weekly = 4, .monthly = 6, .keep_last = 1 };
    ofs_store *s = NULL;
    int versioned = -1, changed = -1;
    static const struct {
        ofs_lifecycle_rule rule;
        const char *message;
    } bad[] = {
        { { .prefix = "data/daily/", .transition_class = "GLACIER" },
          "lifecycle rule for 'data/daily/': needs an action (expiration, delete-marker cleanup, "
          "noncurrent expiration, transition or multipart abort)" },
        { { .prefix = "data/", .expiration_days = 8, .expired_delete_marker = 1,
            .noncurrent_days = 1 },
          "lifecycle rule for 'data/': expiration days and the delete-marker cleanup cannot "
          "share a rule" },
        { { .noncurrent_days = 30 }, "lifecycle rule for '': needs a prefix" },
        { { .prefix = "data/daily/", .expiration_days = 8, .transition_days = 8,
            .transition_class = "GLACIER" },
          "lifecycle rule for 'data/daily/': transition after 8 days is not before the "
          "expiration after 8" },
        { { .prefix = "data/daily/", .expiration_days = 8, .transition_days = 3 },
          "lifecycle rule for 'data/daily/': bad expiration, transition, noncurrent or abort "
          "days" },
        { { .prefix = "manifest.json", .noncurrent_days = -1 },
          "lifecycle rule for 'manifest.json': bad expiration, transition, noncurrent or abort "
          "days" },
        { { .prefix = "data/", .expiration_days = -1, .expired_delete_marker = 1 },
          "lifecycle rule for 'data/': bad expiration, transition, noncurrent or abort days" },
    };

    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "very/secret/value", 1);
    assert_int_equal(ofs_store_s3_new(&s, &t), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ofs_store_s3_lifecycle_sync(s, &bad[i].rule, 1, &changed), OFS_ECONFIG);
        assert_string_equal(ofs_error_last(), bad[i].message);
        assert_int_equal(changed, 0);
    }
    const ofs_lifecycle_rule twice[] = { { .prefix = "data/", .expired_delete_marker = 1 },
                                         { .prefix = "data/", .expiration_days = 3 } };
    assert_int_equal(ofs_store_s3_lifecycle_sync(s, twice, 2, &changed), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "lifecycle rule for 'data/': given twice");
    ofs_store_free(s);

    t.object_lock = (char *)"governance";
    assert_int_equal(ofs_store_s3_new_with_retention(&s, &t, &policy), 0);
    assert_int_equal(ofs_store_s3_versioning(s, &versioned), 0);
    assert_int_equal(versioned, 1);
    ofs_store_free(s);
    assert_int_equal(ofs_store_s3_versioning(NULL, &versioned), OFS_EUNSUPPORTED);
    assert_int_equal(versioned, 0);
    env_restore();
}

static void test_live_lifecycle(void **state)
{
    (void)state;
    const ofs_lifecycle_rule a_rules[] = {
        { .prefix = "data/daily/", .expiration_days = 31, .abort_multipart_days = 1 },
        { .prefix = "data/weekly/", .expiration_days = 85, .abort_multipart_days = 1,
          .transition_days = 30, .transition_class = "STANDARD_IA" } };
    const ofs_lifecycle_rule b_rules[] = {
        { .prefix = "data/daily/", .expiration_days = 8, .abort_multipart_days = 1 } };
    /* what a versioned bucket gets: every element the read-back has to compare, and the
     * rules over the manifest's key (a noncurrent expiration alone) and the probe's prefix */
    const ofs_lifecycle_rule v_rules[4] = {
        { .prefix = "data/weekly/", .expiration_days = 85, .abort_multipart_days = 1,
          .transition_days = 30, .transition_class = "GLACIER", .noncurrent_days = 1 },
        { .prefix = "data/", .expired_delete_marker = 1 },
        { .prefix = "manifest.json", .noncurrent_days = 30 },
        { .prefix = OFS_S3_PROBE_PREFIX, .noncurrent_days = 1, .expired_delete_marker = 1 } };
    const char *lock_bucket = getenv("OFS_TEST_S3_LOCK_BUCKET");
    ofs_store *a, *b;
    live_env env;
    int changed = -1, versioned = -1;

    if (live_skip(&env))
        skip();
    a = live_store(&env, "host-a", 0, 0);
    b = live_store(&env, "host-b", 0, 0);
    assert_true(ofs_store_caps(a) & OFS_STORE_CAP_LIFECYCLE);
    if (ofs_store_s3_versioning(a, &versioned) != 0)
        fail_msg("versioning: %s", ofs_error_last());
    assert_int_equal(versioned, 0);
    if (ofs_store_s3_lifecycle_sync(a, a_rules, 2, &changed) != 0)
        fail_msg("lifecycle sync: %s", ofs_error_last());
    assert_int_equal(changed, 1);
    /* another host's rules in the same bucket leave ours alone, and the reverse */
    assert_int_equal(ofs_store_s3_lifecycle_sync(b, b_rules, 1, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, a_rules, 2, &changed), 0);
    assert_int_equal(changed, 0);
    /* a changed policy replaces ours */
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, a_rules, 1, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(ofs_store_s3_lifecycle_sync(b, b_rules, 1, &changed), 0);
    assert_int_equal(changed, 0);
    /* a transition class, noncurrent days, the delete-marker rules, a noncurrent expiration
     * alone: each is written, read back the same (else OFS_ECORRUPT), and a change in any of
     * them is seen */
    if (ofs_store_s3_lifecycle_sync(a, v_rules, 4, &changed) != 0)
        fail_msg("lifecycle sync of a versioned bucket's rules: %s", ofs_error_last());
    assert_int_equal(changed, 1);
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, v_rules, 4, &changed), 0);
    assert_int_equal(changed, 0);
    ofs_lifecycle_rule other_class[4];
    memcpy(other_class, v_rules, sizeof(other_class));
    other_class[0].transition_class = "DEEP_ARCHIVE";
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, other_class, 4, &changed), 0);
    assert_int_equal(changed, 1);
    other_class[2].noncurrent_days = 31; /* a longer manifest history */
    if (ofs_store_s3_lifecycle_sync(a, other_class, 4, &changed) != 0)
        fail_msg("lifecycle sync of a longer manifest history: %s", ofs_error_last());
    assert_int_equal(changed, 1);
    other_class[3].expired_delete_marker = 0; /* the probe's versions, not its markers */
    if (ofs_store_s3_lifecycle_sync(a, other_class, 4, &changed) != 0)
        fail_msg("lifecycle sync of the probe's rule without markers: %s", ofs_error_last());
    assert_int_equal(changed, 1);
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, other_class, 4, &changed), 0);
    assert_int_equal(changed, 0);
    ofs_lifecycle_rule no_noncurrent[2] = { other_class[0], other_class[1] };
    no_noncurrent[0].noncurrent_days = 0;
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, no_noncurrent, 2, &changed), 0);
    assert_int_equal(changed, 1); /* and the manifest's and the probe's rules went */
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, no_noncurrent, 1, &changed), 0);
    assert_int_equal(changed, 1); /* the delete-marker rule went */
    /* bad rules are refused before anything is sent */
    const ofs_lifecycle_rule bad[] = { { .prefix = "data/daily/" } };
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, bad, 1, &changed), OFS_ECONFIG);
    /* and removed again */
    assert_int_equal(ofs_store_s3_lifecycle_sync(a, NULL, 0, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(ofs_store_s3_lifecycle_sync(b, NULL, 0, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(ofs_store_s3_lifecycle_sync(b, NULL, 0, &changed), 0);
    assert_int_equal(changed, 0);
    ofs_store_free(a);
    ofs_store_free(b);

    /* a bucket with object lock is versioned, and the server says so to a target without
     * object_lock too */
    if (lock_bucket && *lock_bucket) {
        char prefix[160];
        ofs_config_target t = live_target(&env, "versioning", 0, 0, prefix);
        t.bucket = (char *)lock_bucket;
        assert_int_equal(ofs_store_s3_new(&a, &t), 0);
        versioned = -1;
        if (ofs_store_s3_versioning(a, &versioned) != 0)
            fail_msg("versioning of %s: %s", lock_bucket, ofs_error_last());
        assert_int_equal(versioned, 1);
        ofs_store_free(a);
    }
}

static void test_live_clock_skew(void **state)
{
    (void)state;
    live_env env;
    ofs_store *s;
    char *data = NULL;
    size_t size = 0;

    if (live_skip(&env))
        skip();
    /* a host clock an hour behind: RequestTimeTooSkewed, corrected from the server's Date */
    setenv("OFFSITE_S3_CLOCK_SKEW", "-3600", 1);
    s = live_store(&env, "skew", 0, 0);
    unsetenv("OFFSITE_S3_CLOCK_SKEW");
    if (ofs_store_put_buffer(s, "k", 0, "skewed", 6) != 0)
        fail_msg("put with a skewed clock: %s", ofs_error_last());
    assert_int_equal(ofs_store_get_buffer(s, "k", &data, &size, 100), 0);
    assert_string_equal(data, "skewed");
    free(data);
    ofs_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_aws_config),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_stalled_server),
        cmocka_unit_test(test_lifecycle_offline),
        cmocka_unit_test(test_live_small_objects),
        cmocka_unit_test(test_live_conditional),
        cmocka_unit_test(test_live_list_pages),
        cmocka_unit_test(test_live_multipart),
        cmocka_unit_test(test_live_refusals),
        cmocka_unit_test(test_live_clock_skew),
        cmocka_unit_test(test_live_lifecycle),
        cmocka_unit_test(live_cleanup),
    };
    int rc;

    env_save();
    rc = cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
    for (size_t i = 0; aws_vars[i]; i++)
        free(aws_saved[i]);
    return rc;
}
