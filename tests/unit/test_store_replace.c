/*
 * test_store_replace.c - ofs_store_replace (compare-and-swap of a small object) and
 * ofs_store_del_many on file stores, and the store layer's fallbacks for drivers without them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/store.h"
#include "store_contract.h"

static void test_file_replace(void **state)
{
    fixture *f = *state;
    check_replace(f->store, "staging");
    /* in a directory that does not exist yet */
    assert_int_equal(ofs_store_replace(f->store, "a/b/c.json", "", "{}", 2, NULL), 0);
    assert_int_equal(ofs_store_replace(f->store, "../c.json", "", "{}", 2, NULL), OFS_ECONFIG);
}

/* ---- a driver without replace or del_many: the store layer's fallbacks ---- */

typedef struct {
    ofs_store parent;
    ofs_store *inner;
    int deletes;
} plain_store;

static int plain_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out)
{
    return ofs_store_put(((plain_store *)s)->inner, key, flags, out);
}

static int plain_get(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                     ofs_reader **out)
{
    return ofs_store_get(((plain_store *)s)->inner, key, offset, length, out);
}

/* as rsync: size and mtime, no version of its own */
static int plain_stat(ofs_store *s, const char *key, ofs_object_info *info)
{
    int rc = ofs_store_stat(((plain_store *)s)->inner, key, info);
    info->version[0] = '\0';
    return rc;
}

static int plain_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    return ofs_store_list(((plain_store *)s)->inner, prefix, fn, ctx);
}

static int plain_del(ofs_store *s, const char *key)
{
    ((plain_store *)s)->deletes++;
    return ofs_store_del(((plain_store *)s)->inner, key);
}

static void plain_free(ofs_store *s)
{
    (void)s;
}

static const struct ofs_store_ops plain_ops = {
    .put = plain_put, .get = plain_get, .stat = plain_stat, .list = plain_list,
    .del = plain_del, .free = plain_free
};

static void test_fallback_replace(void **state)
{
    fixture *f = *state;
    plain_store p = { .parent = { .ops = &plain_ops, .name = "rsyncbox" }, .inner = f->store };
    ofs_object_info info;

    check_replace(&p.parent, "rsyncbox");
    /* the version the layer makes up for such a driver: size and mtime */
    assert_int_equal(ofs_store_put_buffer(&p.parent, "k", 0, "12345", 5), 0);
    assert_int_equal(ofs_store_stat(&p.parent, "k", &info), 0);
    assert_int_equal(strncmp(info.version, "5@", 2), 0);
}

static void test_del_many(void **state)
{
    fixture *f = *state;
    plain_store p = { .parent = { .ops = &plain_ops, .name = "rsyncbox" }, .inner = f->store };
    const char *keys[] = { "data/a/1", "data/a/2", "data/b/3", "data/never-there" };
    const char *bad[] = { "data/a/1", "data/../x" };
    ofs_object_info info;

    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ofs_store_put_buffer(f->store, keys[i], 0, "x", 1), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, "data/b/keep", 0, "x", 1), 0);
    /* a bad key anywhere: nothing is deleted */
    assert_int_equal(ofs_store_del_many(&p.parent, bad, 2), OFS_ECONFIG);
    assert_int_equal(p.deletes, 0);
    assert_int_equal(ofs_store_stat(f->store, "data/a/1", &info), 0);

    assert_int_equal(ofs_store_del_many(&p.parent, keys, 4), 0);
    assert_int_equal(p.deletes, 4); /* one by one, the absent one too */
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(ofs_store_stat(f->store, keys[i], &info), OFS_ENOTFOUND);
    assert_int_equal(ofs_store_stat(f->store, "data/b/keep", &info), 0);
    assert_int_equal(ofs_store_del_many(f->store, keys, 0), 0);
}

/* ---- four writers incrementing one counter: no update is lost ---- */

static ofs_store *open_file_store(void *ctx)
{
    ofs_store *s = NULL;
    return ofs_store_file_new(&s, "staging", ((fixture *)ctx)->root) == 0 ? s : NULL;
}

static void test_no_lost_update(void **state)
{
    fixture *f = *state;
    assert_int_equal(count_concurrently(f->store, open_file_store, f, 4, 25), 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_lost_update, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
