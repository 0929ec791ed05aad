/* test_s3_live.c - the s3 driver against a real server: a multipart upload an interrupted
 * process left behind is resumed (finished parts kept, changed parts sent again). Needs OFS_TEST_S3_ENDPOINT and OFS_TEST_S3_BUCKET (see s3_test.h);
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
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/store.h"
#include "offsite/store_s3.h"
#include "s3_test.h"

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
    s = live_store(&env, "resume", PART, 2);
    put_logged(s, "vol-0001.ofs", data, BIG, log, 1 << 16);
    if (!strstr(log, "resumed an interrupted upload: 2 of 3 parts were already there "
                     "(10485760 bytes not sent again)") ||
        strstr(log, "partNumber=1&") ||
        strstr(log, "partNumber=2&") || !strstr(log, "partNumber=3&"))
        fail_msg("not resumed as expected:\n%s", log);
    assert_object(s, "vol-0001.ofs", data, BIG);

    /* the bytes changed since (part 1 the same, part 2 not): part 2 is sent again */
    memcpy(other, data, PART);
    interrupted(&env, "resume", "vol-0002.ofs", data, 2 * PART + 100);
    put_logged(s, "vol-0002.ofs", other, BIG, log, 1 << 16);
    if (!strstr(log, "resumed an interrupted upload: 1 of 3 parts were already there") ||
        strstr(log, "partNumber=1&") || !strstr(log, "partNumber=2&"))
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_resume),
        cmocka_unit_test(live_cleanup),
    };
    return cmocka_run_group_tests(tests, setup_scratch, teardown_scratch);
}
