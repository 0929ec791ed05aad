/* store_contract.h - checks of the store contract that every driver must pass, shared by
 * test_store_replace.c (file stores, and the store layer's fallbacks) and test_s3_live.c
 * (a real S3 server). static inline: each test uses only some. Include after cmocka.h. */
#ifndef OFFSITE_TEST_STORE_CONTRACT_H
#define OFFSITE_TEST_STORE_CONTRACT_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/store.h"

/* A file store named "staging" under a scratch directory: the fixture of the store tests. */
typedef struct fixture {
    char base[64];
    char root[128];
    ofs_store *store;
} fixture;

static inline int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    if (!f)
        return -1;
    snprintf(f->base, sizeof(f->base), "%s/test_store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->base))
        return -1;
    snprintf(f->root, sizeof(f->root), "%s/staging/root", f->base);
    if (ofs_store_file_new(&f->store, "staging", f->root) < 0)
        return -1;
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fixture *f = *state;
    ofs_store_free(f->store);
    ofs_rm_rf(f->base);
    free(f);
    return 0;
}

static inline char *read_object(ofs_store *s, const char *key)
{
    char *data = NULL;
    size_t size = 0;
    if (ofs_store_get_buffer(s, key, &data, &size, 1 << 20) != 0)
        fail_msg("get %s: %s", key, ofs_error_last());
    return data;
}

/* expect_conflict(name, what): the last message names the store and key and says what */
static inline void expect_conflict(const char *name, const char *what)
{
    char start[160];
    snprintf(start, sizeof(start), "%s: manifest.json: ", name);
    assert_int_equal(strncmp(ofs_error_last(), start, strlen(start)), 0);
    if (!strstr(ofs_error_last(), what))
        fail_msg("'%s' does not say '%s'", ofs_error_last(), what);
}

/* check_replace(s, name): create-if-absent, replace-if-unchanged, refuse a stale version. */
static inline void check_replace(ofs_store *s, const char *name)
{
    char v1[OFS_STORE_VERSION_MAX], v2[OFS_STORE_VERSION_MAX], *text;
    ofs_object_info info;

    if (ofs_store_replace(s, "manifest.json", "", "one", 3, v1) != 0)
        fail_msg("replace: %s", ofs_error_last());
    assert_int_equal(ofs_store_stat(s, "manifest.json", &info), 0);
    assert_string_equal(info.version, v1);
    assert_true(v1[0] != '\0');

    /* "" means absent: someone created it first */
    assert_int_equal(ofs_store_replace(s, "manifest.json", "", "two", 3, v2), OFS_ECONFLICT);
    expect_conflict(name, "created by another writer");

    assert_int_equal(ofs_store_replace(s, "manifest.json", v1, "second", 6, v2), 0);
    assert_string_not_equal(v1, v2);
    /* the version read before that write is stale now */
    assert_int_equal(ofs_store_replace(s, "manifest.json", v1, "third!", 6, NULL),
                     OFS_ECONFLICT);
    expect_conflict(name, "changed");
    text = read_object(s, "manifest.json");
    assert_string_equal(text, "second");
    free(text);

    /* a version for an object deleted meanwhile is stale too */
    assert_int_equal(ofs_store_del(s, "manifest.json"), 0);
    assert_int_equal(ofs_store_replace(s, "manifest.json", v2, "x", 1, NULL), OFS_ECONFLICT);
    assert_int_equal(ofs_store_stat(s, "manifest.json", &info), OFS_ENOTFOUND);
}

/* count_concurrently(s, open, ctx, writers, rounds): writers threads, each with a store of its
 * own (open(ctx), as another host would have), add 1 to the number in "counter" rounds times
 * by read, replace, and on a conflict read again. Returns the final number: writers * rounds
 * unless an update was lost; -1 if a thread failed otherwise. */
typedef ofs_store *(*store_open_fn)(void *ctx);

typedef struct {
    store_open_fn open;
    void *ctx;
    int rounds;
} counter_job;

static inline void *counter_thread(void *arg)
{
    const counter_job *job = arg;
    ofs_store *s = job->open(job->ctx);
    intptr_t failed = !s;

    for (int done = 0; !failed && done < job->rounds;) {
        ofs_object_info info;
        char *text = NULL, number[64];
        size_t size = 0;
        int rc = ofs_store_stat(s, "counter", &info);
        if (rc == 0)
            rc = ofs_store_get_buffer(s, "counter", &text, &size, 64);
        if (rc < 0) {
            failed = 1;
            break;
        }
        /* the writer's mark makes every text unique: identical bytes already stored count as
         * this write done (store.h), which two writers' equal numbers would fool */
        snprintf(number, sizeof(number), "%ld %p-%d", strtol(text, NULL, 10) + 1, (void *)s,
                 done);
        free(text);
        rc = ofs_store_replace(s, "counter", info.version, number, strlen(number), NULL);
        if (rc == 0)
            done++;
        else if (rc != OFS_ECONFLICT)
            failed = 1;
    }
    ofs_store_free(s);
    return (void *)failed;
}

static inline long count_concurrently(ofs_store *s, store_open_fn open, void *ctx, int writers,
                                      int rounds)
{
    pthread_t threads[16];
    counter_job job = { open, ctx, rounds };
    int failed = 0;
    char *text;
    long n;

    assert_true(writers <= 16);
    if (ofs_store_put_buffer(s, "counter", 0, "0", 1) != 0)
        fail_msg("put counter: %s", ofs_error_last());
    for (int i = 0; i < writers; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, counter_thread, &job), 0);
    for (int i = 0; i < writers; i++) {
        void *thread_failed = NULL;
        assert_int_equal(pthread_join(threads[i], &thread_failed), 0);
        failed |= thread_failed != NULL;
    }
    text = read_object(s, "counter");
    n = failed ? -1 : strtol(text, NULL, 10);
    free(text);
    return n;
}

#endif
