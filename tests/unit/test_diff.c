/* test_diff.c - differential backups: the change decision and the base cursor as pure
 * functions; then real full and differential backups of a mutated tree (new, changed,
 * deleted, unchanged, type change, appended, rewritten, renamed, chmod, hard links whose
 * first link changed), restored and compared with snapshots of the tree; the volumes a
 * restore reads; a differential whose base is gone; when a backup is full. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/backup.h"
#include "offsite/catalog.h"
#include "offsite/diff.h"
#include "offsite/error.h"
#include "offsite/extract.h"
#include "offsite/hash.h"
#include "offsite/manifest.h"
#include "offsite/repo.h"
#include "offsite/restore.h"
#include "offsite/store.h"

#define DAY (24 * 3600)

/* ---- ofs_diff_compare ---- */

static ofs_catalog_entry file_entry(uint64_t size)
{
    ofs_catalog_entry e = { .path = "a", .type = OFS_ENTRY_FILE, .mode = 0644, .size = size,
                            .mtime_sec = 100, .mtime_nsec = 5, .ctime_sec = 100,
                            .ctime_nsec = 5, .ino = 7, .has_sha256 = 1, .volume = 1 };
    return e;
}

static void test_compare(void **state)
{
    (void)state;
    ofs_catalog_entry base = file_entry(100000), now = base;
    assert_int_equal(ofs_diff_compare(&now, NULL), OFS_DIFF_NEW);
    assert_int_equal(ofs_diff_compare(&now, &base), OFS_DIFF_UNCHANGED);
    now.mtime_nsec = 6; /* nanoseconds count */
    assert_int_equal(ofs_diff_compare(&now, &base), OFS_DIFF_CHANGED);
    now = base;
    now.ctime_sec++;
    assert_int_equal(ofs_diff_compare(&now, &base), OFS_DIFF_CHANGED);
    now = base;
    now.ino++;
    assert_int_equal(ofs_diff_compare(&now, &base), OFS_DIFF_CHANGED);
    now = base;
    now.mode = 0600;
    assert_int_equal(ofs_diff_compare(&now, &base), OFS_DIFF_CHANGED);
    now = base;
    now.uid = 5; /* an owner change moves ctime; the owner alone is not compared */
    assert_int_equal(ofs_diff_compare(&now, &base), OFS_DIFF_UNCHANGED);

    /* grown: only from a whole base copy of at least OFS_DIFF_TAIL_MIN bytes */
    now = base;
    now.size = 100001;
    now.mtime_sec++;
    assert_int_equal(ofs_diff_compare(&now, &base), OFS_DIFF_GROWN);
    now.size = 99999; /* shrank */
    assert_int_equal(ofs_diff_compare(&now, &base), OFS_DIFF_CHANGED);
    ofs_catalog_entry small = file_entry(OFS_DIFF_TAIL_MIN - 1), bigger = small;
    bigger.size += 10;
    assert_int_equal(ofs_diff_compare(&bigger, &small), OFS_DIFF_CHANGED);
    small.size = bigger.size - 10 + 1;
    assert_int_equal(ofs_diff_compare(&bigger, &small), OFS_DIFF_GROWN);
    now = base;
    now.size = 200000;
    ofs_catalog_entry torn = base;
    torn.changed = 1; /* changed while it was read: never kept, never a prefix */
    assert_int_equal(ofs_diff_compare(&now, &torn), OFS_DIFF_CHANGED);
    assert_int_equal(ofs_diff_compare(&base, &torn), OFS_DIFF_CHANGED);
    ofs_catalog_entry tail = base;
    tail.base_size = 1000; /* a tail is no prefix for another tail */
    assert_int_equal(ofs_diff_compare(&now, &tail), OFS_DIFF_CHANGED);

    /* type changes and targets */
    ofs_catalog_entry link = base;
    link.type = OFS_ENTRY_SYMLINK;
    link.size = 0;
    link.link_target = "x";
    assert_int_equal(ofs_diff_compare(&link, &base), OFS_DIFF_CHANGED);
    ofs_catalog_entry link2 = link;
    assert_int_equal(ofs_diff_compare(&link2, &link), OFS_DIFF_UNCHANGED);
    link2.link_target = "y";
    assert_int_equal(ofs_diff_compare(&link2, &link), OFS_DIFF_CHANGED);
    ofs_catalog_entry hard = link, hard2;
    hard.type = OFS_ENTRY_HARDLINK;
    hard2 = hard;
    assert_int_equal(ofs_diff_compare(&hard2, &hard), OFS_DIFF_UNCHANGED);
    hard2.link_target = "first-link-changed";
    assert_int_equal(ofs_diff_compare(&hard2, &hard), OFS_DIFF_CHANGED);
    ofs_catalog_entry dir = base, dir2;
    dir.type = OFS_ENTRY_DIR;
    dir.size = 0;
    dir2 = dir;
    assert_int_equal(ofs_diff_compare(&dir2, &dir), OFS_DIFF_UNCHANGED);
    dir2.mtime_sec++;
    assert_int_equal(ofs_diff_compare(&dir2, &dir), OFS_DIFF_CHANGED);
    assert_string_equal(ofs_diff_action_name(OFS_DIFF_GROWN), "grown");
}

/* ---- the base cursor ---- */

static void test_base_cursor(void **state)
{
    (void)state;
    const char *paths[] = { "a", "a/b", "a/c", "c", "d", "e" };
    ofs_writer *mem = NULL;
    ofs_catalog_writer *cw = NULL;
    ofs_reader *r = NULL;
    ofs_catalog_reader *cr = NULL;
    ofs_diff_base *b = NULL;
    const ofs_catalog_entry *e = NULL;
    uint64_t passed = 99;
    size_t size = 0;

    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_catalog_writer_new(&cw, mem), 0);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        ofs_catalog_entry x = file_entry(i);
        x.path = (char *)paths[i];
        assert_int_equal(ofs_catalog_writer_add(cw, &x), 0);
    }
    assert_int_equal(ofs_catalog_writer_finish(cw), 0);
    const void *data = ofs_memory_writer_data(mem, &size);
    assert_int_equal(ofs_memory_reader_new(&r, data, size, 1), 0);
    ofs_catalog_writer_free(cw);
    assert_int_equal(ofs_catalog_reader_new(&cr, r), 0);
    assert_int_equal(ofs_diff_base_new(&b, cr), 0);

    assert_int_equal(ofs_diff_base_seek(b, "a", &e, &passed), 0);
    assert_non_null(e);
    assert_string_equal(e->path, "a");
    assert_int_equal(passed, 0);
    /* "a/a" is new: nothing passed, "a/b" waits */
    assert_int_equal(ofs_diff_base_seek(b, "a/a", &e, &passed), 0);
    assert_null(e);
    assert_int_equal(passed, 0);
    /* "a/b" and "a/c" deleted, "b" new */
    assert_int_equal(ofs_diff_base_seek(b, "b", &e, &passed), 0);
    assert_null(e);
    assert_int_equal(passed, 2);
    assert_int_equal(ofs_diff_base_seek(b, "d", &e, &passed), 0);
    assert_string_equal(e->path, "d");
    assert_int_equal(e->size, 4);
    assert_int_equal(passed, 1);
    assert_int_equal(ofs_diff_base_rest(b, &passed), 0);
    assert_int_equal(passed, 1); /* "e" */
    assert_int_equal(ofs_diff_base_rest(b, &passed), 0);
    assert_int_equal(passed, 0);
    ofs_diff_base_free(b);
}

/* ---- real backups ---- */

typedef struct fixture {
    char base[64];
    char src[128], staging[128], key[128], work[128];
    char *paths[1];
    ofs_keyring *ring;
    ofs_store *store;
    ofs_config cfg;
    ofs_config_set set;
} fixture;

static char *at(const fixture *f, const char *rel)
{
    static char buf[8][1024];
    static int n;
    char *out = buf[n++ % 8];
    snprintf(out, 1024, "%s/%s", f->src, rel);
    return out;
}

static void write_data(const char *path, size_t size, unsigned seed, const char *mode)
{
    FILE *fp = fopen(path, mode);
    assert_non_null(fp);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        fputc((int)(x & 0xff), fp);
    }
    fclose(fp);
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("'%s' exited %d", cmd, rc);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->base, "/tmp/test_diff.XXXXXX");
    if (!mkdtemp(f->base))
        return -1;
    snprintf(f->src, sizeof(f->src), "%s/src", f->base);
    snprintf(f->staging, sizeof(f->staging), "%s/staging", f->base);
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->base);
    snprintf(f->work, sizeof(f->work), "%s/work", f->base);
    if (mkdir(f->src, 0755) < 0 || mkdir(f->work, 0755) < 0 ||
        ofs_keyring_generate(f->key, NULL) < 0 || ofs_keyring_load(&f->ring, f->key) < 0 ||
        ofs_store_file_new(&f->store, "staging", f->staging) < 0)
        return -1;
    f->paths[0] = f->src;
    f->set.name = "t";
    f->set.paths = f->paths;
    f->set.path_count = 1;
    f->set.volume_size = 64 * 1024;
    f->set.compression_level = 3;
    f->set.full_every = 7 * DAY;
    f->cfg.parallel = 2;
    f->cfg.host = "testhost";
    f->cfg.time_zone = "UTC";
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    ofs_store_free(f->store);
    ofs_keyring_free(f->ring);
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", f->base, f->base);
    if (system(cmd) != 0)
        return -1;
    unsetenv("OFFSITE_NOW");
    free(f);
    return 0;
}

static ofs_record *backup_at(fixture *f, const char *now, int full, ofs_backup_stats *stats)
{
    ofs_record *rec = NULL;
    ofs_backup_options opts = { .full = full };
    setenv("OFFSITE_NOW", now, 1);
    int rc = ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, &opts, &rec, stats);
    if (rc != 0)
        fail_msg("backup at %s: %s", now, ofs_error_last());
    return rec;
}

/* The catalog of rec, one entry per path. */
typedef struct catalog_copy {
    ofs_catalog_entry *entries;
    size_t count;
} catalog_copy;

static void load_catalog(fixture *f, const ofs_record *rec, catalog_copy *c)
{
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e;
    int rc;
    memset(c, 0, sizeof(*c));
    assert_int_equal(ofs_repo_open_catalog(f->store, f->ring, rec, &cr), 0);
    while ((rc = ofs_catalog_reader_next(cr, &e)) == 1) {
        c->entries = realloc(c->entries, (c->count + 1) * sizeof(*c->entries));
        assert_int_equal(ofs_catalog_entry_copy(&c->entries[c->count++], e), 0);
    }
    assert_int_equal(rc, 0);
    ofs_catalog_reader_free(cr);
}

static const ofs_catalog_entry *find(const fixture *f, const catalog_copy *c, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", f->src + 1, rel);
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->entries[i].path, path) == 0)
            return &c->entries[i];
    return NULL;
}

static void free_catalog(catalog_copy *c)
{
    for (size_t i = 0; i < c->count; i++)
        ofs_catalog_entry_clear(&c->entries[i]);
    free(c->entries);
}

/* Restores rec into a fresh directory and compares it with the snapshot dir (the independent
 * Python comparer of the integration tests: content, type, mode, owner, mtime ns, symlink
 * targets, hard-link groups, xattrs, and nothing missing or extra). */
static void restore_and_compare(fixture *f, const ofs_record *rec, const char *name,
                                const char *snapshot)
{
    char target[256];
    snprintf(target, sizeof(target), "%s/%s", f->work, name);
    ofs_restore_options o = { .target_dir = target, .parallel = 2 };
    if (ofs_restore_run(f->store, f->ring, rec, &o, NULL) != 0)
        fail_msg("restore of %s: %s", rec->id, ofs_error_last());
    const char *data = getenv("OFS_TEST_DATA");
    assert_non_null(data);
    run("python3 '%s/../../integration/tools/compare_trees.py' --no-xattrs '%s' '%s%s'", data,
        snapshot, target, f->src);
}

static void make_tree(fixture *f)
{
    run("mkdir -p '%s/logs' '%s/data' '%s/h' '%s/g'", f->src, f->src, f->src, f->src);
    FILE *fp = fopen(at(f, "logs/oms.log"), "w");
    assert_non_null(fp);
    for (int i = 0; i < 4000; i++)
        fprintf(fp, "%06d 08:00:00.%06d NEW ORDER AAPL 100 @ 187.%02d\n", i, i * 7, i % 100);
    fclose(fp);
    write_data(at(f, "logs/small.log"), 1000, 1, "w");
    write_data(at(f, "logs/rewritten.log"), 90000, 2, "w");
    write_data(at(f, "data/same.bin"), 30000, 3, "w");
    write_data(at(f, "data/changed.json"), 5000, 4, "w");
    write_data(at(f, "data/deleted.txt"), 100, 5, "w");
    write_data(at(f, "data/mode.sh"), 100, 6, "w");
    write_data(at(f, "data/old-name"), 2000, 7, "w");
    write_data(at(f, "data/kind"), 10, 8, "w");
    run("cd '%s' && ln -s same.bin data/link-same && ln -s same.bin data/link-moved && "
        "mkfifo data/pipe && chmod 755 data/mode.sh", f->src);
    /* h/a is the first link of h/b and h/c; g/x of g/y */
    write_data(at(f, "h/a"), 3000, 9, "w");
    write_data(at(f, "g/x"), 3000, 10, "w");
    run("cd '%s' && ln h/a h/b && ln h/a h/c && ln g/x g/y", f->src);
}

/* The nightly change: every kind of change a differential must get right. */
static void mutate(fixture *f)
{
    usleep(20000); /* past the file system's timestamp granularity */
    FILE *fp = fopen(at(f, "logs/oms.log"), "a");
    assert_non_null(fp);
    for (int i = 0; i < 300; i++)
        fprintf(fp, "%06d 16:00:00.000000 FILL MSFT 10 @ 411.%02d\n", i, i % 100);
    fclose(fp);
    write_data(at(f, "logs/small.log"), 500, 11, "a");         /* grew, but small */
    write_data(at(f, "logs/rewritten.log"), 95000, 12, "w");   /* grew, other bytes */
    write_data(at(f, "data/changed.json"), 5000, 13, "r+");    /* same size, rewritten */
    write_data(at(f, "data/new.txt"), 700, 14, "w");
    assert_int_equal(unlink(at(f, "data/deleted.txt")), 0);
    assert_int_equal(chmod(at(f, "data/mode.sh"), 0700), 0);
    assert_int_equal(rename(at(f, "data/old-name"), at(f, "data/new-name")), 0);
    assert_int_equal(unlink(at(f, "data/kind")), 0);
    assert_int_equal(symlink("new.txt", at(f, "data/kind")), 0);
    assert_int_equal(unlink(at(f, "data/link-moved")), 0);
    assert_int_equal(symlink("new.txt", at(f, "data/link-moved")), 0);
    assert_int_equal(unlink(at(f, "h/a")), 0);               /* h/b becomes the first link */
    write_data(at(f, "g/x"), 3000, 15, "r+");                  /* both links see new bytes */
}

static void test_diff_round_trip(void **state)
{
    fixture *f = *state;
    ofs_backup_stats stats;
    char snap_full[256], snap_diff[256];
    snprintf(snap_full, sizeof(snap_full), "%s/snap-full", f->work);
    snprintf(snap_diff, sizeof(snap_diff), "%s/snap-diff", f->work);

    make_tree(f);
    ofs_record *full = backup_at(f, "2026-11-03T17:15:00Z", 0, &stats);
    assert_string_equal(full->kind, "full");
    run("cp -a '%s' '%s'", f->src, snap_full);
    mutate(f);
    ofs_record *diff = backup_at(f, "2026-11-04T17:15:00Z", 0, &stats);
    run("cp -a '%s' '%s'", f->src, snap_diff);
    assert_string_equal(diff->kind, "diff");
    assert_string_equal(diff->base, full->id);
    assert_string_equal(diff->class_name, "daily");
    assert_int_equal(stats.appended, 1);
    assert_int_equal(stats.deleted, 3); /* data/deleted.txt, data/old-name, h/a */
    assert_true(stats.kept > 5);
    assert_true(diff->stored_bytes < full->stored_bytes);

    catalog_copy c;
    load_catalog(f, diff, &c);
    assert_int_equal(c.count, diff->files);
    const ofs_catalog_entry *e;
    /* unchanged: the base's entry, pointing at the base */
    const char *kept[] = { "data/same.bin", "data/link-same", "data/pipe", "logs" };
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        assert_non_null(e = find(f, &c, kept[i]));
        assert_string_equal(e->backup_id, full->id);
        assert_true(e->volume > 0);
    }
    /* appended: the tail here, the prefix in the base */
    assert_non_null(e = find(f, &c, "logs/oms.log"));
    assert_string_equal(e->backup_id, diff->id);
    assert_string_equal(e->base_backup, full->id);
    assert_true(e->base_size > 100000 && e->base_size < e->size);
    assert_true(e->base_volume > 0);
    /* grown but small, grown but rewritten, changed, new, chmod, renamed: whole, here */
    const char *stored[] = { "logs/small.log", "logs/rewritten.log", "data/changed.json",
                             "data/new.txt", "data/mode.sh", "data/new-name", "data/kind",
                             "data/link-moved", "h/b", "h/c", "g/x", "g/y", "data" };
    for (size_t i = 0; i < sizeof(stored) / sizeof(stored[0]); i++) {
        assert_non_null(e = find(f, &c, stored[i]));
        assert_string_equal(e->backup_id, diff->id);
        assert_int_equal(e->base_size, 0);
    }
    assert_int_equal(find(f, &c, "data/kind")->type, OFS_ENTRY_SYMLINK);
    /* the first link changed: h/b is the file now, h/c links to it */
    assert_int_equal(find(f, &c, "h/b")->type, OFS_ENTRY_FILE);
    e = find(f, &c, "h/c");
    assert_int_equal(e->type, OFS_ENTRY_HARDLINK);
    assert_non_null(strstr(e->link_target, "/h/b"));
    /* deleted: absent */
    assert_null(find(f, &c, "data/deleted.txt"));
    assert_null(find(f, &c, "data/old-name"));
    assert_null(find(f, &c, "h/a"));
    free_catalog(&c);

    /* only the appended log: its prefix from the full's volume, its tail from the diff's */
    char target[256], pattern[256], got_path[512], want_path[512];
    snprintf(target, sizeof(target), "%s/only-log", f->work);
    snprintf(pattern, sizeof(pattern), "%s/logs/oms.log", f->src + 1);
    char *patterns[] = { pattern };
    ofs_restore_options one = { .target_dir = target, .patterns = patterns,
                                .pattern_count = 1 };
    assert_int_equal(ofs_restore_run(f->store, f->ring, diff, &one, NULL), 0);
    snprintf(got_path, sizeof(got_path), "%s%s/logs/oms.log", target, f->src);
    snprintf(want_path, sizeof(want_path), "%s/logs/oms.log", snap_diff);
    run("cmp '%s' '%s'", want_path, got_path);
    snprintf(got_path, sizeof(got_path), "%s%s/logs/small.log", target, f->src);
    assert_int_equal(access(got_path, F_OK), -1);

    /* both restore what was there at their moment; the full is untouched by the diff */
    restore_and_compare(f, diff, "restore-diff", snap_diff);
    restore_and_compare(f, full, "restore-full", snap_full);

    /* a second differential still has the full as its base (never a diff) */
    usleep(20000);
    write_data(at(f, "logs/oms.log"), 100, 16, "a");
    ofs_record *second = backup_at(f, "2026-11-05T17:15:00Z", 0, &stats);
    assert_string_equal(second->kind, "diff");
    assert_string_equal(second->base, full->id);
    assert_int_equal(stats.appended, 1);
    run("rm -rf '%s' && cp -a '%s' '%s'", snap_diff, f->src, snap_diff);
    restore_and_compare(f, second, "restore-second", snap_diff);
    ofs_record_free(second);
    ofs_record_free(diff);
    ofs_record_free(full);
}

/* ---- which volumes a restore reads ---- */

/* A store that forwards to another and records the keys it was asked to get. */
typedef struct counting_store {
    ofs_store base;
    ofs_store *inner;
    char gets[4096];
} counting_store;

static int counting_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out)
{
    return ofs_store_put(((counting_store *)s)->inner, key, flags, out);
}

static int counting_get(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                        ofs_reader **out)
{
    counting_store *c = (counting_store *)s;
    const char *slash = strrchr(key, '/');
    size_t n = strlen(c->gets);
    /* "<id>/<name>;" for volumes and catalogs */
    if (slash && strncmp(slash + 1, "backup.json", 11) != 0) {
        const char *id = slash - 1;
        while (id > key && id[-1] != '/')
            id--;
        snprintf(c->gets + n, sizeof(c->gets) - n, "%s;", id);
    }
    return ofs_store_get(c->inner, key, offset, length, out);
}

static int counting_stat(ofs_store *s, const char *key, ofs_object_info *info)
{
    return ofs_store_stat(((counting_store *)s)->inner, key, info);
}

static int counting_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    return ofs_store_list(((counting_store *)s)->inner, prefix, fn, ctx);
}

static int counting_del(ofs_store *s, const char *key)
{
    return ofs_store_del(((counting_store *)s)->inner, key);
}

static void counting_free(ofs_store *s)
{
    (void)s;
}

static const struct ofs_store_ops counting_ops = {
    .put = counting_put, .get = counting_get, .stat = counting_stat, .list = counting_list,
    .del = counting_del, .free = counting_free
};

static int got(const counting_store *c, const char *id, const char *name)
{
    char want[256];
    snprintf(want, sizeof(want), "%s/%s;", id, name);
    return strstr(c->gets, want) != NULL;
}

static void test_restore_reads_only_needed_volumes(void **state)
{
    fixture *f = *state;
    char path[256], pattern[256], target[256];
    /* one 40 KB file per 64 KB volume: f1 (with the directories) in 1, ..., f6 in 6 */
    for (int i = 1; i <= 6; i++) {
        snprintf(path, sizeof(path), "f%d", i);
        write_data(at(f, path), 40000, (unsigned)i, "w");
    }
    ofs_record *full = backup_at(f, "2026-11-03T17:15:00Z", 0, NULL);
    assert_int_equal(full->volumes, 6);
    usleep(20000);
    write_data(at(f, "f3"), 40000, 33, "r+");
    write_data(at(f, "f4"), 40000, 44, "r+");
    ofs_record *diff = backup_at(f, "2026-11-04T17:15:00Z", 0, NULL);
    assert_string_equal(diff->kind, "diff");
    assert_int_equal(diff->volumes, 2); /* f3, f4 */

    counting_store c = { .base = { .ops = &counting_ops, .name = "counting" },
                         .inner = f->store };
    /* everything: the base's volumes of f3 and f4 hold nothing this backup needs */
    snprintf(target, sizeof(target), "%s/all", f->work);
    ofs_restore_options o = { .target_dir = target, .parallel = 2 };
    assert_int_equal(ofs_restore_run(&c.base, f->ring, diff, &o, NULL), 0);
    assert_true(got(&c, diff->id, "catalog.ofs") && got(&c, diff->id, "vol-0001.ofs") &&
                got(&c, diff->id, "vol-0002.ofs"));
    assert_true(got(&c, full->id, "vol-0001.ofs") && got(&c, full->id, "vol-0002.ofs") &&
                got(&c, full->id, "vol-0005.ofs") && got(&c, full->id, "vol-0006.ofs"));
    assert_false(got(&c, full->id, "vol-0003.ofs") || got(&c, full->id, "vol-0004.ofs"));
    assert_false(got(&c, full->id, "catalog.ofs"));

    /* only a changed file: of the base, only the volume of its directories (their xattrs) */
    c.gets[0] = '\0';
    snprintf(target, sizeof(target), "%s/changed", f->work);
    snprintf(pattern, sizeof(pattern), "%s/f3", f->src + 1);
    char *patterns[] = { pattern };
    ofs_restore_options one = { .target_dir = target, .patterns = patterns,
                                .pattern_count = 1 };
    assert_int_equal(ofs_restore_run(&c.base, f->ring, diff, &one, NULL), 0);
    assert_true(got(&c, diff->id, "vol-0001.ofs"));
    assert_false(got(&c, diff->id, "vol-0002.ofs"));
    assert_false(got(&c, full->id, "vol-0002.ofs") || got(&c, full->id, "vol-0003.ofs") ||
                 got(&c, full->id, "vol-0005.ofs"));
    /* only an unchanged file: its base volume and no other */
    c.gets[0] = '\0';
    snprintf(target, sizeof(target), "%s/unchanged", f->work);
    snprintf(pattern, sizeof(pattern), "%s/f5", f->src + 1);
    assert_int_equal(ofs_restore_run(&c.base, f->ring, diff, &one, NULL), 0);
    assert_true(got(&c, full->id, "vol-0005.ofs"));
    assert_false(got(&c, full->id, "vol-0004.ofs") || got(&c, full->id, "vol-0006.ofs"));
    /* (the diff's volume 1 may hold /tmp itself, changed by anything made there meanwhile) */
    assert_false(got(&c, diff->id, "vol-0002.ofs"));
    ofs_record_free(diff);
    ofs_record_free(full);
}

/* ---- a differential whose base is gone ---- */

static void test_base_deleted(void **state)
{
    fixture *f = *state;
    char key[256], target[256];
    write_data(at(f, "big.log"), 100000, 1, "w");
    write_data(at(f, "other"), 1000, 2, "w");
    ofs_record *full = backup_at(f, "2026-11-03T17:15:00Z", 0, NULL);
    usleep(20000);
    write_data(at(f, "big.log"), 1000, 3, "a");
    ofs_record *diff = backup_at(f, "2026-11-04T17:15:00Z", 0, NULL);
    assert_string_equal(diff->kind, "diff");
    snprintf(key, sizeof(key), "data/%s/%s/backup.json", full->class_name, full->id);
    assert_int_equal(ofs_store_del(f->store, key), 0);

    snprintf(target, sizeof(target), "%s/restore", f->work);
    ofs_restore_options o = { .target_dir = target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, diff, &o, NULL), OFS_ENOTFOUND);
    char want[512];
    snprintf(want, sizeof(want), "backup '%s' is a differential of '%s', which is not in store "
             "'staging'", diff->id, full->id);
    assert_non_null(strstr(ofs_error_last(), want));
    struct stat st;
    assert_int_equal(stat(target, &st), -1); /* nothing was written, not even the target */

    /* the next backup cannot use it as a base: a full */
    ofs_record *next = backup_at(f, "2026-11-05T17:15:00Z", 0, NULL);
    assert_string_equal(next->kind, "full");
    ofs_record_free(next);
    ofs_record_free(diff);
    ofs_record_free(full);
}

/* ---- full or differential ---- */

static void test_when_full(void **state)
{
    fixture *f = *state;
    write_data(at(f, "a"), 1000, 1, "w");
    ofs_record *r[8] = { NULL };
    r[0] = backup_at(f, "2026-11-03T17:15:00Z", 0, NULL); /* first of the month */
    assert_string_equal(r[0]->kind, "full");
    assert_string_equal(r[0]->class_name, "monthly");
    r[1] = backup_at(f, "2026-11-04T17:15:00Z", 0, NULL);
    assert_string_equal(r[1]->kind, "diff");
    assert_string_equal(r[1]->base, r[0]->id);
    r[2] = backup_at(f, "2026-11-04T18:00:00Z", 1, NULL); /* --full */
    assert_string_equal(r[2]->kind, "full");
    assert_string_equal(r[2]->class_name, "daily");
    r[3] = backup_at(f, "2026-11-05T17:15:00Z", 0, NULL); /* base: the latest full */
    assert_string_equal(r[3]->kind, "diff");
    assert_string_equal(r[3]->base, r[2]->id);
    r[4] = backup_at(f, "2026-11-09T17:15:00Z", 0, NULL); /* a Monday: weekly */
    assert_string_equal(r[4]->class_name, "weekly");
    assert_string_equal(r[4]->kind, "full");
    f->set.full_every = 12 * 3600; /* the weekly full is a day old: too old */
    r[5] = backup_at(f, "2026-11-10T17:15:00Z", 0, NULL);
    assert_string_equal(r[5]->class_name, "daily");
    assert_string_equal(r[5]->kind, "full");
    f->set.full_every = 0; /* every backup full */
    r[6] = backup_at(f, "2026-11-10T18:15:00Z", 0, NULL);
    assert_string_equal(r[6]->kind, "full");
    f->set.full_every = 7 * DAY;
    r[7] = backup_at(f, "2026-12-01T01:00:00Z", 0, NULL); /* first of December */
    assert_string_equal(r[7]->class_name, "monthly");
    assert_string_equal(r[7]->kind, "full");

    /* the manifest carries kind and base */
    ofs_manifest *m = NULL;
    assert_int_equal(ofs_manifest_load(&m, f->store, f->ring), 0);
    const ofs_manifest_entry *e = ofs_manifest_find(m, r[3]->id);
    assert_non_null(e);
    assert_string_equal(e->kind, "diff");
    assert_string_equal(e->base, r[2]->id);
    ofs_manifest_free(m);
    for (int i = 0; i < 8; i++)
        ofs_record_free(r[i]);
}

/* ---- restoring a tail: the base's prefix staged, then completed ---- */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_extract_tail(void **state)
{
    fixture *f = *state;
    ofs_extract *x = NULL;
    ofs_extract_worker *w = NULL;
    char *staged = NULL, dir[256];
    ofs_extract_options xo = { .target_dir = f->work };
    ofs_catalog_entry e = { .path = "d/f", .type = OFS_ENTRY_FILE, .mode = 0640, .size = 10,
                            .has_sha256 = 1, .base_size = 4, .mtime_sec = 1700000000 };
    assert_int_equal(ofs_sha256_buffer("abcdefghij", 10, e.sha256), 0);
    assert_int_equal(ofs_sha256_buffer("abcd", 4, e.base_sha256), 0);
    snprintf(dir, sizeof(dir), "%s/d", f->work);
    assert_int_equal(ofs_extract_new(&x, &xo), 0);
    assert_int_equal(ofs_extract_worker_new(&w, x), 0);

    /* the prefix waits under a temporary name; the tail completes it in place */
    assert_int_equal(ofs_extract_prefix_begin(w, &e), 0);
    assert_int_equal(ofs_extract_file_write(w, 0, "abcd", 4), 0);
    assert_int_equal(ofs_extract_prefix_stage(w, &staged), 0);
    assert_non_null(strstr(staged, ".ofs-tmp-"));
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(ofs_extract_tail_begin(w, &e, staged), 0);
    assert_int_equal(ofs_extract_file_write(w, 4, "efghij", 6), 0);
    assert_int_equal(ofs_extract_file_commit(w, NULL, 0), 0);
    free(staged);
    char path[300], buf[32] = "";
    snprintf(path, sizeof(path), "%s/f", dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    assert_string_equal(buf, "abcdefghij");
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(unlink(path), 0);

    /* a prefix aborted (the decoder found it is not the base's bytes) leaves nothing */
    assert_int_equal(ofs_extract_prefix_begin(w, &e), 0);
    assert_int_equal(ofs_extract_file_write(w, 0, "abcX", 4), 0);
    ofs_extract_file_abort(w);
    assert_int_equal(count_entries(dir), 0);
    /* a tail aborted after its prefix: nothing under the final name, nothing staged left */
    assert_int_equal(ofs_extract_prefix_begin(w, &e), 0);
    assert_int_equal(ofs_extract_file_write(w, 0, "abcd", 4), 0);
    assert_int_equal(ofs_extract_prefix_stage(w, &staged), 0);
    assert_int_equal(ofs_extract_tail_begin(w, &e, staged), 0);
    assert_int_equal(ofs_extract_file_write(w, 4, "efghiX", 6), 0);
    ofs_extract_file_abort(w);
    assert_int_equal(count_entries(dir), 0);
    /* a staged prefix is discarded when its tail never comes */
    assert_int_equal(ofs_extract_prefix_begin(w, &e), 0);
    assert_int_equal(ofs_extract_file_write(w, 0, "abcd", 4), 0);
    free(staged);
    assert_int_equal(ofs_extract_prefix_stage(w, &staged), 0);
    assert_int_equal(count_entries(dir), 1);
    ofs_extract_staged_discard(w, &e, staged);
    assert_int_equal(count_entries(dir), 0);
    free(staged);
    /* and a tail without its prefix is an error */
    assert_int_equal(ofs_extract_tail_begin(w, &e, NULL), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "d/f: the base's part was not restored");
    ofs_extract_worker_free(w);
    ofs_extract_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_base_cursor),
        cmocka_unit_test_setup_teardown(test_diff_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_reads_only_needed_volumes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_base_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_when_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extract_tail, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
