/* s3_test.h - helpers shared by test_s3.c (settings, credentials, the basic operations) and
 * test_s3_live.c (resume, multi-object delete, object lock). The live tests run against a
 * real S3 server when OFS_TEST_S3_ENDPOINT and OFS_TEST_S3_BUCKET are set (with
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); tests/integration/cases/s3/driver.sh runs both
 * binaries against radosgw. static inline: each test uses only some of them. Include after
 * cmocka.h. */
#ifndef OFFSITE_TEST_S3_H
#define OFFSITE_TEST_S3_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/store.h"
#include "offsite/store_s3.h"

static char scratch[256];
static char run_prefix[64];

static inline int setup_scratch(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof(scratch), "%s/test_s3.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(scratch));
    snprintf(run_prefix, sizeof(run_prefix), "test-s3-%ld-%d", (long)time(NULL), (int)getpid());
    return 0;
}

static inline int teardown_scratch(void **state)
{
    (void)state;
    ofs_rm_rf(scratch);
    return 0;
}

static inline ofs_config_target base_target(void)
{
    ofs_config_target t;
    memset(&t, 0, sizeof(t));
    t.name = (char *)"remote";
    t.line = 12;
    t.type = (char *)"s3";
    t.endpoint = (char *)"http://127.0.0.1:9";
    t.bucket = (char *)"acme-backups";
    t.url_style = (char *)"path";
    return t;
}

typedef struct {
    const char *endpoint, *bucket;
} live_env;

static inline int live_skip(live_env *env)
{
    env->endpoint = getenv("OFS_TEST_S3_ENDPOINT");
    env->bucket = getenv("OFS_TEST_S3_BUCKET");
    if (!env->endpoint || !*env->endpoint || !env->bucket || !*env->bucket ||
        !getenv("AWS_ACCESS_KEY_ID") || !getenv("AWS_SECRET_ACCESS_KEY")) {
        print_message("SKIP: set OFS_TEST_S3_ENDPOINT, OFS_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID and "
                      "AWS_SECRET_ACCESS_KEY to test against a real S3 server "
                      "(tests/integration/cases/s3/driver.sh does, with radosgw)\n");
        return 1;
    }
    return 0;
}

/* live_target(env, sub, part_size, parallel, prefix): a target under run_prefix/sub */
static inline ofs_config_target live_target(const live_env *env, const char *sub,
                                            uint64_t part_size, int parallel, char prefix[160])
{
    ofs_config_target t = base_target();

    snprintf(prefix, 160, "%s/%s", run_prefix, sub);
    t.endpoint = (char *)env->endpoint;
    t.bucket = (char *)env->bucket;
    t.prefix = prefix;
    t.part_size = part_size;
    t.parallel = parallel;
    return t;
}

static inline ofs_store *live_store(const live_env *env, const char *sub, uint64_t part_size,
                                    int parallel)
{
    char prefix[160];
    ofs_config_target t = live_target(env, sub, part_size, parallel, prefix);
    ofs_store *s = NULL;

    if (ofs_store_s3_new(&s, &t) != 0)
        fail_msg("ofs_store_s3_new: %s", ofs_error_last());
    return s;
}

static inline void put_ok(ofs_store *s, const char *key, const void *data, size_t size)
{
    if (ofs_store_put_buffer(s, key, 0, data, size) != 0)
        fail_msg("put %s: %s", key, ofs_error_last());
}

typedef struct {
    char keys[16][128];
    uint64_t sizes[16];
    int count;
} list_result;

static inline int list_collect(void *ctx, const char *key, const ofs_object_info *info)
{
    list_result *l = ctx;
    if (l->count >= 16)
        return 7;
    snprintf(l->keys[l->count], sizeof(l->keys[0]), "%s", key);
    l->sizes[l->count++] = info->size;
    return 0;
}

static inline int delete_listed(void *ctx, const char *key, const ofs_object_info *info)
{
    (void)info;
    return ofs_store_del(ctx, key);
}

/* fill(buf, size, seed): incompressible, reproducible bytes */
static inline void fill(unsigned char *buf, size_t size, uint32_t seed)
{
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (unsigned char)(seed >> 16);
    }
}

/* live_cleanup(): last test of a binary: leave nothing behind on a shared server */
static inline void live_cleanup(void **state)
{
    (void)state;
    live_env env;
    ofs_store *s;
    list_result l = { 0 };

    if (live_skip(&env))
        skip();
    s = live_store(&env, "/", 0, 0);
    assert_int_equal(ofs_store_list(s, "", delete_listed, s), 0);
    assert_int_equal(ofs_store_list(s, "", list_collect, &l), 0);
    assert_int_equal(l.count, 0);
    ofs_store_free(s);
}

#endif
