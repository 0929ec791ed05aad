/* test_s3_live.c - the s3 driver against a real server: a multipart upload an interrupted
 * process left behind is resumed (finished parts kept, changed parts sent again);
 * multi-object delete; object lock (OFS_TEST_S3_LOCK_BUCKET: a bucket created with object
 * lock enabled) - retention dates per class, refused deletes, the manifest never locked;
 * replace (If-Match, probed) with four concurrent writers. Needs OFS_TEST_S3_ENDPOINT and
 * OFS_TEST_S3_BUCKET (see s3_test.h);
 * without them every test is skipped, saying so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/retention.h"
#include "offsite/store.h"
#include "offsite/store_s3.h"
#include "s3_test.h"
#include "store_contract.h"

#define PART ((size_t)5 << 20)
#define BIG (12 * ((size_t)1 << 20) + 4321) /* three parts: 5 MiB, 5 MiB, the rest */

/* interrupted(env, sub, key, data, size): in a child process, write size bytes of data to a
 * multipart put and die without finishing or freeing, as a push killed -9 would */
static void interrupted(const live_env *env, const char *sub, const char *key,
                        const unsigned char *data, size_t size)
{
    pid_t pid = fork();
    int status = 0;

    assert_true(pid >= 0);
    if (pid == 0) {
        ofs_store *s = NULL;
        ofs_writer *w = NULL;
        char prefix[160];
        ofs_config_target t = live_target(env, sub, PART, 1, prefix);
        /* one part at a time: every part but the buffered last is stored when write returns */
        if (ofs_store_s3_new(&s, &t) != 0 || ofs_store_put(s, key, 0, &w) != 0 ||
            ofs_writer_write(w, data, size) != 0)
            _exit(1);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* put_logged(s, key, data, size, log, log_size): put at debug level with stderr captured */
static void put_logged(ofs_store *s, const char *key, const unsigned char *data, size_t size,
                       char *log, size_t log_size)
{
    char path[512];
    ofs_log_level level = ofs_log_get_level();
    int saved = dup(STDERR_FILENO), fd, rc;
    ssize_t got;

    snprintf(path, sizeof(path), "%s/put.log", scratch);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, STDERR_FILENO);
    ofs_log_set_level(OFS_LOG_DEBUG);
    rc = ofs_store_put_buffer(s, key, 0, data, size);
    ofs_log_set_level(level);
    dup2(saved, STDERR_FILENO);
    close(saved);
    got = pread(fd, log, log_size - 1, 0);
    close(fd);
    log[got > 0 ? got : 0] = '\0';
    if (rc != 0)
        fail_msg("put %s: %s\n%s", key, ofs_error_last(), log);
}

static void assert_object(ofs_store *s, const char *key, const unsigned char *data, size_t size)
{
    unsigned char *back = malloc(size + 1);
    ofs_reader *r = NULL;
    size_t got = 0;

    assert_non_null(back);
    assert_int_equal(ofs_store_get(s, key, 0, 0, &r), 0);
    assert_int_equal(ofs_reader_read_full(r, back, size + 1, &got), 0);
    ofs_reader_free(r);
    assert_int_equal(got, size);
    assert_memory_equal(back, data, size);
    free(back);
}

static void test_live_resume(void **state)
{
    (void)state;
    unsigned char *data = malloc(BIG), *other = malloc(BIG);
    char *log = malloc(1 << 16);
    live_env env;
    ofs_store *s;

    assert_non_null(data);
    assert_non_null(other);
    assert_non_null(log);
    if (live_skip(&env)) {
        free(data);
        free(other);
        free(log);
        skip();
    }
    fill(data, BIG, 11);

    /* killed after one part of other bytes; then the second attempt, killed after two
     * parts, continues that upload and replaces its part 1 (stale uploads that are not
     * continued are aborted: tests/integration/cases/s3/resume.sh makes one) */
    fill(other, BIG, 12);
    interrupted(&env, "resume", "vol-0001.ofs", other, PART + 100);
    interrupted(&env, "resume", "vol-0001.ofs", data, 2 * PART + 100);
    setenv("OFFSITE_S3_MAX_KEYS", "1", 1); /* a page per part: the listing goes on */
    s = live_store(&env, "resume", PART, 2);
    unsetenv("OFFSITE_S3_MAX_KEYS");
    put_logged(s, "vol-0001.ofs", data, BIG, log, 1 << 16);
    if (!strstr(log, "resumed an interrupted upload: 2 of 3 parts were already there "
                     "(10485760 bytes not sent again)") ||
        strstr(log, "partNumber=1&") || !strstr(log, "part-number-marker=1") ||
        strstr(log, "partNumber=2&") || !strstr(log, "partNumber=3&"))
        fail_msg("not resumed as expected:\n%s", log);
    assert_object(s, "vol-0001.ofs", data, BIG);

    /* the bytes changed since (part 1 the same, part 2 not): part 2 is sent again */
    memcpy(other, data, PART);
    interrupted(&env, "resume", "vol-0002.ofs", data, 2 * PART + 100);
    put_logged(s, "vol-0002.ofs", other, BIG, log, 1 << 16);
    if (!strstr(log, "resumed an interrupted upload: 1 of 3 parts were already there") ||
        strstr(log, "partNumber=1&") || !strstr(log, "part-number-marker=1") || !strstr(log, "partNumber=2&"))
        fail_msg("not resumed as expected:\n%s", log);
    assert_object(s, "vol-0002.ofs", other, BIG);

    /* nothing left to resume: a plain upload */
    put_logged(s, "vol-0003.ofs", data, BIG, log, 1 << 16);
    if (strstr(log, "resuming") || strstr(log, "resumed") ||
        !strstr(log, "multipart upload started"))
        fail_msg("a fresh upload logged:\n%s", log);
    ofs_store_free(s);
    free(data);
    free(other);
    free(log);
}

static void test_live_delete_many(void **state)
{
    (void)state;
    const char *keys[] = { "data/daily/b1/vol-0001.ofs", "data/daily/b1/a b+c=d.ofs",
                           "data/daily/b1/x&y<z>.ofs", "data/daily/b1/backup.json",
                           "manifest.json", "never/written" };
    char **many = calloc(1001, sizeof(*many));
    list_result l = { 0 };
    ofs_store *s, *file = NULL;
    live_env env;
    char root[512];

    assert_non_null(many);
    if (live_skip(&env)) {
        free(many);
        skip();
    }
    s = live_store(&env, "delete", 0, 0);
    for (size_t i = 0; i < 5; i++)
        put_ok(s, keys[i], keys[i], strlen(keys[i]));
    put_ok(s, "data/daily/b2/kept", "kept", 4);
    /* absent keys are deleted already */
    if (ofs_store_s3_delete_many(s, keys, 6) != 0)
        fail_msg("delete_many: %s", ofs_error_last());
    assert_int_equal(ofs_store_list(s, "", list_collect, &l), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.keys[0], "data/daily/b2/kept");
    assert_int_equal(ofs_store_s3_delete_many(s, keys, 0), 0);

    /* more than one request's worth */
    for (size_t i = 0; i < 1001; i++) {
        assert_true(asprintf(&many[i], "many/%04zu", i) > 0);
        put_ok(s, many[i], "x", 1);
    }
    if (ofs_store_s3_delete_many(s, (const char *const *)many, 1001) != 0)
        fail_msg("delete_many of 1001: %s", ofs_error_last());
    memset(&l, 0, sizeof(l));
    assert_int_equal(ofs_store_list(s, "many/", list_collect, &l), 0);
    assert_int_equal(l.count, 0);

    /* a bad key is refused before anything is sent; other stores have no such thing */
    const char *bad[] = { "data/daily/b2/kept", "../escape" };
    assert_int_equal(ofs_store_s3_delete_many(s, bad, 2), OFS_ECONFIG);
    assert_int_equal(ofs_store_stat(s, "data/daily/b2/kept", &(ofs_object_info){ 0 }), 0);
    snprintf(root, sizeof(root), "%s/file-store", scratch);
    assert_int_equal(ofs_store_file_new(&file, "nas", root), 0);
    assert_int_equal(ofs_store_s3_delete_many(file, keys, 1), OFS_EUNSUPPORTED);
    ofs_store_free(file);
    for (size_t i = 0; i < 1001; i++)
        free(many[i]);
    free(many);
    ofs_store_free(s);
}

/* locked_until(message): the time in "object is locked until 2030-01-01T00:00:00Z" */
static int64_t locked_until(const char *message)
{
    const char *at = strstr(message, "object is locked until ");
    struct tm tm;

    if (!at)
        fail_msg("not a lock refusal: %s", message);
    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(at + strlen("object is locked until "), "%Y-%m-%dT%H:%M:%SZ", &tm));
    return (int64_t)timegm(&tm);
}

static void test_live_object_lock(void **state)
{
    (void)state;
    const char *daily = "data/daily/data_20300101_000000/vol-0001.ofs";
    const char *monthly = "data/monthly/data_20300101_000000/vol-0001.ofs";
    const size_t big = PART + 1000; /* multipart: the lock rides on CreateMultipartUpload */
    ofs_config_retention policy = { .daily = 2, .weekly = 1, .monthly = 1, .keep_last = 1 };
    const char *lock_bucket = getenv("OFS_TEST_S3_LOCK_BUCKET");
    unsigned char *data = malloc(big);
    ofs_object_info info;
    ofs_config_target t;
    char prefix[160];
    ofs_store *s = NULL;
    live_env env;
    int64_t now = (int64_t)time(NULL), until;

    assert_non_null(data);
    if (live_skip(&env) || !lock_bucket || !*lock_bucket) {
        free(data);
        if (!lock_bucket)
            print_message("SKIP: set OFS_TEST_S3_LOCK_BUCKET to a bucket created with object "
                          "lock enabled\n");
        skip();
    }
    fill(data, big, 5);

    /* a bucket without object lock: the first put says so, nothing is written */
    t = live_target(&env, "object-lock", 0, 0, prefix);
    t.object_lock = (char *)"governance";
    assert_int_equal(ofs_store_s3_new_with_retention(&s, &t, &policy), 0);
    assert_true(ofs_store_caps(s) & OFS_STORE_CAP_OBJECT_LOCK);
    assert_int_equal(ofs_store_put_buffer(s, daily, 0, "x", 1), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "object_lock = GOVERNANCE, but bucket "));
    assert_non_null(strstr(ofs_error_last(), "has no object lock enabled\nHINT: "));
    assert_int_equal(ofs_store_stat(s, daily, &info), OFS_ENOTFOUND);
    ofs_store_free(s);

    t.bucket = (char *)lock_bucket;
    setenv("OFFSITE_S3_MAX_KEYS", "1", 1); /* the manifest's two versions on two pages */
    assert_int_equal(ofs_store_s3_new_with_retention(&s, &t, &policy), 0);
    unsetenv("OFFSITE_S3_MAX_KEYS");
    put_ok(s, daily, "locked for 3 days", 17);
    put_ok(s, monthly, data, big);
    put_ok(s, "manifest.json", "{}", 2);
    put_ok(s, "manifest.json", "{\"v\": 2}", 8);

    /* the manifest is never locked: it goes, every version of it */
    assert_int_equal(ofs_store_del(s, "manifest.json"), 0);
    assert_int_equal(ofs_store_stat(s, "manifest.json", &info), OFS_ENOTFOUND);
    assert_int_equal(ofs_store_del(s, "manifest.json"), 0);

    /* a locked object stays, and the refusal says until when: daily 2 days + 1 */
    assert_int_equal(ofs_store_del(s, daily), OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "(GOVERNANCE mode; bucket "));
    until = locked_until(ofs_error_last());
    assert_true(until >= now + 3 * 86400 - 5 && until <= now + 3 * 86400 + 120);
    assert_int_equal(ofs_store_stat(s, daily, &info), 0);
    assert_int_equal(info.size, 17);

    /* monthly: a calendar month + 1 day */
    const char *both[] = { daily, monthly };
    assert_int_equal(ofs_store_s3_delete_many(s, both, 2), OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "2 of 2 object versions not deleted; the first: "));
    assert_int_equal(ofs_store_s3_delete_many(s, &monthly, 1), OFS_EDENIED);
    until = locked_until(ofs_error_last());
    assert_true(until >= ofs_retention_add_months(now, 1) + 86400 - 5 &&
                until <= ofs_retention_add_months(now, 1) + 86400 + 120);
    assert_int_equal(ofs_store_stat(s, monthly, &info), 0);
    assert_int_equal(info.size, big);
    ofs_store_free(s);

    /* without a policy there is no date: refused at once */
    assert_int_equal(ofs_store_s3_new(&s, &t), OFS_EUNSUPPORTED);
    assert_non_null(strstr(ofs_error_last(), "needs the target's retention policy"));
    free(data);
}

/* ---- replace: If-Match, probed ---- */

static live_env replace_env;

static ofs_store *open_replace_store(void *ctx)
{
    (void)ctx;
    return live_store(&replace_env, "replace-counter", 5 << 20, 1);
}

/* The compare-and-swap the manifest is saved with, on the real server: the probe finds how it
 * takes If-Match and leaves nothing behind; four writers on one counter lose no update. */
static void test_live_replace(void **state)
{
    (void)state;
    ofs_store *s, *counter;
    list_result l = { .count = 0 };

    if (live_skip(&replace_env))
        skip();
    s = live_store(&replace_env, "replace", 5 << 20, 1);
    check_replace(s, "remote");
    assert_int_equal(ofs_store_list(s, "offsite-probe/", list_collect, &l), 0);
    assert_int_equal(l.count, 0);
    ofs_store_free(s);

    counter = open_replace_store(NULL);
    assert_int_equal(count_concurrently(counter, open_replace_store, NULL, 4, 10), 40);
    ofs_store_free(counter);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_resume),
        cmocka_unit_test(test_live_delete_many),
        cmocka_unit_test(test_live_object_lock),
        cmocka_unit_test(test_live_replace),
        cmocka_unit_test(live_cleanup),
    };
    return cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
}
