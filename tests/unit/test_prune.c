/* test_prune.c - ofs_prune_run on a file store of real backups: what goes and what stays, the
 * store and manifest afterwards, dry run, held backups, orphans and a manifest that disagrees
 * with the records, records that fail their MAC left alone, and a failure injected at every
 * delete and at the manifest write: never a record without its data, never a manifest entry
 * without its record, and the next run finishes the job; ofs_prune_forget of one backup. */
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
#include <time.h>
#include <unistd.h>

#include "offsite/backup.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/keyring.h"
#include "offsite/log.h"
#include "offsite/manifest.h"
#include "offsite/prune.h"
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/store.h"

#define NIGHTS 6

typedef struct fixture {
    char base[64];
    char src[128], staging[128], key[128], pristine[128];
    char *paths[1];
    ofs_keyring *ring;
    ofs_store *store;
    ofs_config cfg;
    ofs_config_set set;
    char ids[NIGHTS][64];
} fixture;

static const char *const nights[NIGHTS] = {
    "2026-03-02T22:00:00Z", "2026-03-03T22:00:00Z", "2026-03-04T22:00:00Z",
    "2026-03-05T22:00:00Z", "2026-03-06T22:00:00Z", "2026-03-07T22:00:00Z",
};

static void write_file(const char *path, unsigned seed, size_t size)
{
    unsigned char *buf = malloc(size);
    uint32_t x = seed * 2654435761u + 7;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, size), (ssize_t)size);
    close(fd);
    free(buf);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* Six nightly backups of a small tree that changes every night (several volumes each). */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char path[256];
    strcpy(f->base, "/tmp/test_prune.XXXXXX");
    if (!f || !mkdtemp(f->base))
        return -1;
    snprintf(f->src, sizeof(f->src), "%s/src", f->base);
    snprintf(f->staging, sizeof(f->staging), "%s/staging", f->base);
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->base);
    snprintf(f->pristine, sizeof(f->pristine), "%s/pristine", f->base);
    mkdir(f->src, 0755);
    if (ofs_keyring_generate(f->key, NULL) < 0 || ofs_keyring_load(&f->ring, f->key) < 0 ||
        ofs_store_file_new(&f->store, "staging", f->staging) < 0)
        return -1;
    f->paths[0] = f->src;
    f->set.name = "t";
    f->set.paths = f->paths;
    f->set.path_count = 1;
    f->set.volume_size = 64 * 1024;
    f->set.compression_level = 1;
    f->cfg.parallel = 2;
    f->cfg.host = "testhost";
    f->cfg.time_zone = "UTC";
    for (int n = 0; n < NIGHTS; n++) {
        ofs_record *rec = NULL;
        for (unsigned i = 0; i < 3; i++) {
            snprintf(path, sizeof(path), "%s/file-%u", f->src, i);
            write_file(path, (unsigned)(n * 10 + i), 50000);
        }
        setenv("OFFSITE_NOW", nights[n], 1);
        int rc = ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL);
        unsetenv("OFFSITE_NOW");
        if (rc < 0)
            return -1;
        snprintf(f->ids[n], sizeof(f->ids[n]), "%s", rec->id);
        ofs_record_free(rec);
    }
    if (sh("cp -a '%s' '%s'", f->staging, f->pristine) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ofs_store_free(f->store);
    ofs_keyring_free(f->ring);
    int rc = sh("rm -rf '%s'", f->base);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Back to the store as saved by save(). */
static void reset(fixture *f)
{
    assert_int_equal(sh("rm -rf '%s' && cp -a '%s' '%s'", f->staging, f->pristine, f->staging), 0);
}

static void save(fixture *f)
{
    assert_int_equal(sh("rm -rf '%s' && cp -a '%s' '%s'", f->pristine, f->staging, f->pristine), 0);
}

static ofs_prune_options options(const ofs_config_retention *p, const char *now, int dry_run)
{
    int64_t t = 0;
    assert_int_equal(ofs_time_parse_iso(now, &t), 0);
    return (ofs_prune_options){ .policy = p, .now = t, .dry_run = dry_run };
}

static int folder_exists(const fixture *f, const char *id)
{
    static const char *const classes[] = { "daily", "weekly", "monthly" };
    char path[512];
    struct stat st;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/data/%s/%s", f->staging, classes[i], id);
        if (stat(path, &st) == 0)
            return 1;
    }
    return 0;
}

/* The invariants of prune.h, checked from the files: every record's objects are there with
 * their recorded size; every manifest entry has a record. Returns the number of records. */
static size_t check_store(fixture *f)
{
    char **keys = NULL;
    size_t count = 0;
    ofs_manifest *m = NULL;
    assert_int_equal(ofs_repo_list_records(f->store, &keys, &count), 0);
    for (size_t i = 0; i < count; i++) {
        char class_name[32], id[128];
        ofs_record *rec = NULL;
        assert_int_equal(sscanf(keys[i], "data/%31[^/]/%127[^/]/", class_name, id), 2);
        assert_int_equal(ofs_repo_read_record(f->store, f->ring, class_name, id, &rec, NULL,
                                              NULL), 0);
        for (size_t k = 0; k < rec->object_count; k++) {
            char key[512];
            ofs_object_info info;
            assert_int_equal(ofs_repo_key(key, sizeof(key), class_name, id,
                                          rec->objects[k].name), 0);
            if (ofs_store_stat(f->store, key, &info) != 0)
                fail_msg("record %s without its object %s", id, rec->objects[k].name);
            assert_int_equal(info.size, rec->objects[k].size);
        }
        ofs_record_free(rec);
    }
    int rc = ofs_manifest_load(&m, f->store, f->ring);
    if (rc == 0) {
        for (size_t i = 0; i < m->count; i++) {
            char *class_name = NULL;
            if (ofs_repo_find_record(f->store, m->entries[i].id, &class_name) != 0)
                fail_msg("the manifest lists %s, which has no record", m->entries[i].id);
            free(class_name);
        }
    } else {
        assert_int_equal(rc, OFS_ENOTFOUND);
    }
    ofs_manifest_free(m);
    ofs_repo_free_keys(keys, count);
    return count;
}

/* Folders under data/<class>/ in the staging directory (backups and orphans). */
static size_t count_folders(const fixture *f)
{
    static const char *const classes[] = { "daily", "weekly", "monthly" };
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/data/%s", f->staging, classes[i]);
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)))
            n += e->d_name[0] != '.';
        if (d)
            closedir(d);
    }
    return n;
}

static const ofs_config_retention two_days = { .daily = 2, .weekly = 0, .monthly = 0,
                                               .keep_last = 1 };
#define LAST_NIGHT "2026-03-07T22:00:00Z"

static void test_deletes_expired(void **state)
{
    fixture *f = *state;
    ofs_prune_options o = options(&two_days, LAST_NIGHT, 0);
    ofs_prune_result *r = NULL;
    ofs_manifest *m = NULL;

    assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
    assert_non_null(r);
    assert_int_equal(r->count, NIGHTS);
    assert_int_equal(r->kept, 2);
    assert_int_equal(r->deleted, 4);
    assert_int_equal(r->orphan_count, 0);
    assert_int_equal(r->manifest_rebuilt, 0);
    assert_true(r->objects_deleted >= 4 * 3);
    assert_true(r->bytes_freed > 4 * 150000);
    for (int n = 0; n < NIGHTS; n++) {
        const ofs_prune_backup *b = &r->backups[n];
        assert_string_equal(b->id, f->ids[n]); /* oldest first */
        assert_int_equal(b->deleted, n < 4);
        assert_int_equal(b->decision.reasons == 0, n < 4);
        assert_int_equal(folder_exists(f, f->ids[n]), n >= 4);
    }
    assert_int_equal(r->backups[5].decision.reasons,
                     OFS_RETAIN_DAILY | OFS_RETAIN_LAST | OFS_RETAIN_NEWEST_FULL);
    assert_int_equal(r->backups[4].decision.reasons, OFS_RETAIN_DAILY);
    ofs_prune_result_free(r);

    assert_int_equal(check_store(f), 2);
    assert_int_equal(count_folders(f), 2);
    assert_int_equal(ofs_manifest_load(&m, f->store, f->ring), 0);
    assert_int_equal(m->count, 2);
    assert_string_equal(m->entries[0].id, f->ids[4]);
    assert_string_equal(m->entries[1].id, f->ids[5]);
    ofs_manifest_free(m);

    /* a second run has nothing to do and writes nothing */
    struct stat before, after;
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", f->staging, OFS_MANIFEST_KEY);
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
    assert_int_equal(r->deleted, 0);
    assert_int_equal(r->kept, 2);
    assert_int_equal(r->objects_deleted, 0);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    ofs_prune_result_free(r);
}

static void test_dry_run_and_held(void **state)
{
    fixture *f = *state;
    ofs_prune_options o = options(&two_days, LAST_NIGHT, 1);
    ofs_prune_result *r = NULL;

    assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
    assert_int_equal(r->deleted, 4);
    assert_true(r->objects_deleted >= 12);
    for (size_t i = 0; i < r->count; i++)
        assert_int_equal(r->backups[i].deleted, 0);
    ofs_prune_result_free(r);
    assert_int_equal(count_folders(f), NIGHTS);
    assert_int_equal(check_store(f), NIGHTS);

    /* held: the second night stays, with its reason */
    char *held[] = { f->ids[1], "t_19990101_000000" };
    o.dry_run = 0;
    o.held = held;
    o.held_count = 2;
    assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
    assert_int_equal(r->deleted, 3);
    assert_int_equal(r->backups[1].decision.reasons, OFS_RETAIN_HELD);
    ofs_prune_result_free(r);
    assert_int_equal(check_store(f), 3);
    assert_true(folder_exists(f, f->ids[1]));
    assert_false(folder_exists(f, f->ids[0]));
}

/* Orphans (data without a record) go; a record whose MAC fails stays; a manifest that lacks a
 * record or lists a gone one is rebuilt first. */
static void test_orphans_and_manifest_repair(void **state)
{
    fixture *f = *state;
    ofs_prune_options o = options(&two_days, LAST_NIGHT, 0);
    ofs_prune_result *r = NULL;
    char path[512], *class0 = NULL, *class3 = NULL;

    /* night 0: its record gone (an earlier prune stopped after it) -> orphan, and the
     * manifest lists a backup without a record */
    assert_int_equal(ofs_repo_find_record(f->store, f->ids[0], &class0), 0);
    snprintf(path, sizeof(path), "%s/data/%s/%s/%s", f->staging, class0, f->ids[0],
             OFS_RECORD_NAME);
    assert_int_equal(unlink(path), 0);
    /* an unfinished backup: one volume, no record */
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/t_20260308_220000/vol-0001.ofs",
                                          0, "x", 1), 0);
    /* night 3: a record edited by hand fails its MAC; it must not be touched */
    assert_int_equal(ofs_repo_find_record(f->store, f->ids[3], &class3), 0);
    snprintf(path, sizeof(path), "%s/data/%s/%s/%s", f->staging, class3, f->ids[3],
             OFS_RECORD_NAME);
    assert_int_equal(sh("sed -i 's/testhost/evilhost/' '%s'", path), 0);

    assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
    assert_int_equal(r->manifest_rebuilt, 1);
    assert_int_equal(r->count, 4); /* nights 1, 2, 4, 5: the records that authenticate */
    assert_int_equal(r->deleted, 2);
    assert_int_equal(r->orphan_count, 2);
    char folder[256];
    snprintf(folder, sizeof(folder), "data/%s/%s/", class0, f->ids[0]);
    /* in key order: night 0 is the month's first backup, so under monthly/ */
    assert_string_equal(class0, "monthly");
    assert_string_equal(r->orphans[0].folder, "data/daily/t_20260308_220000/");
    assert_string_equal(r->orphans[1].folder, folder);
    assert_int_equal(r->orphans[0].objects, 1);
    assert_int_equal(r->orphans[0].bytes, 1);
    assert_true(r->orphans[1].objects >= 2); /* its volumes and catalog */
    assert_true(r->orphans[0].deleted && r->orphans[1].deleted);
    ofs_prune_result_free(r);

    assert_false(folder_exists(f, f->ids[0]));
    assert_false(folder_exists(f, "t_20260308_220000"));
    assert_true(folder_exists(f, f->ids[3])); /* left alone */
    assert_int_equal(count_folders(f), 3);
    ofs_manifest *m = NULL;
    assert_int_equal(ofs_manifest_load(&m, f->store, f->ring), 0);
    assert_int_equal(m->count, 2);
    ofs_manifest_free(m);
    free(class0);
    free(class3);

    /* no manifest at all: rebuilt and saved even when nothing is deleted */
    reset(f);
    snprintf(path, sizeof(path), "%s/%s", f->staging, OFS_MANIFEST_KEY);
    assert_int_equal(unlink(path), 0);
    ofs_config_retention all = { .daily = 100, .weekly = 0, .monthly = 0, .keep_last = 1 };
    o.policy = &all;
    assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
    assert_int_equal(r->manifest_rebuilt, 1);
    assert_int_equal(r->deleted, 0);
    assert_int_equal(r->kept, NIGHTS);
    ofs_prune_result_free(r);
    assert_int_equal(ofs_manifest_load(&m, f->store, f->ring), 0);
    assert_int_equal(m->count, NIGHTS);
    ofs_manifest_free(m);

    /* an empty new store: nothing to do, nothing written */
    ofs_store *empty = NULL;
    snprintf(path, sizeof(path), "%s/empty", f->base);
    assert_int_equal(ofs_store_file_new(&empty, "empty", path), 0);
    assert_int_equal(ofs_prune_run(empty, f->ring, &o, &r), 0);
    assert_int_equal(r->count, 0);
    assert_int_equal(r->manifest_rebuilt, 0);
    ofs_prune_result_free(r);
    assert_int_equal(ofs_manifest_load(&m, empty, f->ring), OFS_ENOTFOUND);
    ofs_store_free(empty);
}

/* ---- a store that fails after a number of deletes (or at the manifest write) ---- */

typedef struct failing_store {
    ofs_store parent;
    ofs_store *inner;
    int deletes_left; /* -1: never fail */
    int fail_puts;
    int deletes;
} failing_store;

/* A target several hosts push to: another host's backups are its own prune's business, and
 * an unfinished folder written in the last grace period may be its push at work. */
static void test_shared_target(void **state)
{
    fixture *f = *state;
    ofs_prune_options o = options(&two_days, LAST_NIGHT, 0);
    ofs_prune_result *r = NULL;
    ofs_config other = f->cfg;
    ofs_config_set set = f->set;
    ofs_record *rec = NULL;
    char path[512], other_id[64];
    struct timespec old[2] = { { .tv_sec = time(NULL) - 2 * 86400 },
                               { .tv_sec = time(NULL) - 2 * 86400 } };

    other.host = "otherhost";
    set.name = "u";
    setenv("OFFSITE_NOW", nights[0], 1); /* long expired by testhost's policy */
    assert_int_equal(ofs_backup_run(&other, &set, f->store, f->ring, NULL, &rec, NULL), 0);
    unsetenv("OFFSITE_NOW");
    snprintf(other_id, sizeof(other_id), "%s", rec->id);
    ofs_record_free(rec);
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/u_20260308_220000/vol-0001.ofs",
                                          0, "young", 5), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/u_20260301_220000/vol-0001.ofs",
                                          0, "old", 3), 0);
    snprintf(path, sizeof(path), "%s/data/daily/u_20260301_220000/vol-0001.ofs", f->staging);
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);

    o.host = "testhost";
    o.orphan_grace = 86400;
    assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
    assert_int_equal(r->count, NIGHTS + 1);
    assert_int_equal(r->deleted, 4); /* testhost's four expired nights only */
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->backups[i].id, other_id) == 0) {
            assert_int_equal(r->backups[i].decision.reasons, OFS_RETAIN_HOST);
            assert_string_equal(r->backups[i].host, "otherhost");
        }
    assert_true(folder_exists(f, other_id));
    assert_int_equal(r->orphan_count, 2);
    assert_string_equal(r->orphans[0].folder, "data/daily/u_20260301_220000/");
    assert_int_equal(r->orphans[0].young, 0);
    assert_int_equal(r->orphans[0].deleted, 1);
    assert_string_equal(r->orphans[1].folder, "data/daily/u_20260308_220000/");
    assert_int_equal(r->orphans[1].young, 1);
    assert_int_equal(r->orphans[1].deleted, 0);
    assert_true(folder_exists(f, "u_20260308_220000"));
    assert_false(folder_exists(f, "u_20260301_220000"));
    ofs_prune_result_free(r);

    /* this host's own staging (no host, no grace): every backup by the one policy - the
     * other set's only backup is its newest - and every unfinished folder goes */
    o.host = NULL;
    o.orphan_grace = 0;
    assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
    assert_int_equal(r->deleted, 0);
    for (size_t i = 0; i < r->count; i++)
        if (strcmp(r->backups[i].id, other_id) == 0)
            assert_int_equal(r->backups[i].decision.reasons,
                             OFS_RETAIN_LAST | OFS_RETAIN_NEWEST_FULL);
    assert_int_equal(r->orphan_count, 1);
    assert_int_equal(r->orphans[0].deleted, 1);
    assert_false(folder_exists(f, "u_20260308_220000"));
    ofs_prune_result_free(r);
}

static int failing_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out)
{
    failing_store *fs = (failing_store *)s;
    if (fs->fail_puts)
        return ofs_error_set(OFS_ERROR, "injected put failure");
    return ofs_store_put(fs->inner, key, flags, out);
}

static int failing_get(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                       ofs_reader **out)
{
    return ofs_store_get(((failing_store *)s)->inner, key, offset, length, out);
}

static int failing_stat(ofs_store *s, const char *key, ofs_object_info *info)
{
    return ofs_store_stat(((failing_store *)s)->inner, key, info);
}

static int failing_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    return ofs_store_list(((failing_store *)s)->inner, prefix, fn, ctx);
}

static int failing_del(ofs_store *s, const char *key)
{
    failing_store *fs = (failing_store *)s;
    /* prune's "may I delete?" question (a key that does not exist) is not one of the run's
     * deletes: it neither counts nor fails */
    if (strncmp(key, OFS_STORE_PROBE_PREFIX, strlen(OFS_STORE_PROBE_PREFIX)) == 0)
        return ofs_store_del(fs->inner, key);
    if (fs->deletes_left == 0)
        return ofs_error_set(OFS_ERROR, "injected delete failure");
    if (fs->deletes_left > 0)
        fs->deletes_left--;
    fs->deletes++;
    return ofs_store_del(fs->inner, key);
}

static void failing_free(ofs_store *s)
{
    free(s);
}

static const struct ofs_store_ops failing_ops = {
    .put = failing_put, .get = failing_get, .stat = failing_stat, .list = failing_list,
    .del = failing_del, .free = failing_free
};

static ofs_store *failing_new(ofs_store *inner, int deletes_left, int fail_puts)
{
    failing_store *fs = calloc(1, sizeof(*fs));
    assert_non_null(fs);
    fs->parent.ops = &failing_ops;
    fs->parent.name = "failing";
    fs->inner = inner;
    fs->deletes_left = deletes_left;
    fs->fail_puts = fail_puts;
    return &fs->parent;
}

/* ofs_prune_forget: one named backup goes through the same delete path, whatever the policy;
 * an unknown id and the base of a differential are refused with nothing changed; unfinished
 * folders are left to prune. */
static void test_forget(void **state)
{
    fixture *f = *state;
    ofs_prune_options o = options(&two_days, LAST_NIGHT, 0);
    ofs_prune_result *r = NULL;
    ofs_manifest *m = NULL;
    ofs_record *rec = NULL;
    char message[512];

    /* a differential on night 7, based on night 6's full */
    f->set.full_every = 7 * 86400;
    setenv("OFFSITE_NOW", "2026-03-08T22:00:00Z", 1);
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL), 0);
    unsetenv("OFFSITE_NOW");
    assert_string_equal(rec->kind, "diff");
    assert_string_equal(rec->base, f->ids[5]);
    assert_int_equal(ofs_store_put_buffer(f->store, "data/daily/t_20260309_220000/vol-0001.ofs",
                                          0, "x", 1), 0);
    size_t folders = count_folders(f);

    assert_int_equal(ofs_prune_forget(f->store, f->ring, &o, "t_19990101_000000", &r),
                     OFS_ENOTFOUND);
    assert_string_equal(ofs_error_last(), "staging: no backup 't_19990101_000000'");
    ofs_prune_result_free(r);
    assert_int_equal(ofs_prune_forget(f->store, f->ring, &o, f->ids[5], &r), OFS_ECONFLICT);
    snprintf(message, sizeof(message), "staging: backup '%s' is the base of '%s', which needs it "
             "to restore\nHINT: forget that differential first", f->ids[5], rec->id);
    assert_string_equal(ofs_error_last(), message);
    ofs_prune_result_free(r);
    assert_int_equal(count_folders(f), folders);
    assert_int_equal(check_store(f), NIGHTS + 1);

    /* dry run: planned, nothing deleted */
    o.dry_run = 1;
    assert_int_equal(ofs_prune_forget(f->store, f->ring, &o, rec->id, &r), 0);
    assert_int_equal(r->deleted, 1);
    assert_int_equal(r->kept, NIGHTS);
    assert_int_equal(r->orphan_count, 0);
    ofs_prune_result_free(r);
    assert_int_equal(count_folders(f), folders);

    /* the differential, then its base; the old nights stay whatever the policy says, and so
     * does the unfinished folder */
    o.dry_run = 0;
    assert_int_equal(ofs_prune_forget(f->store, f->ring, &o, rec->id, &r), 0);
    ofs_prune_result_free(r);
    assert_int_equal(ofs_prune_forget(f->store, f->ring, &o, f->ids[5], &r), 0);
    assert_int_equal(r->deleted, 1);
    assert_int_equal(r->kept, NIGHTS - 1);
    assert_int_equal(r->orphan_count, 0);
    for (size_t i = 0; i < r->count; i++) {
        int gone = strcmp(r->backups[i].id, f->ids[5]) == 0;
        assert_int_equal(r->backups[i].deleted, gone);
        assert_int_equal(r->backups[i].decision.reasons, gone ? 0 : OFS_RETAIN_HELD);
    }
    ofs_prune_result_free(r);
    assert_false(folder_exists(f, rec->id));
    assert_false(folder_exists(f, f->ids[5]));
    assert_true(folder_exists(f, "t_20260309_220000"));
    assert_int_equal(count_folders(f), folders - 2);
    assert_int_equal(check_store(f), NIGHTS - 1);
    assert_int_equal(ofs_manifest_load(&m, f->store, f->ring), 0);
    assert_int_equal(m->count, NIGHTS - 1);
    assert_null(ofs_manifest_find(m, f->ids[5]));
    ofs_manifest_free(m);
    ofs_record_free(rec);
}

/* A failure at every point of a prune (as a crash there would leave things, minus what a crash
 * adds: nothing, since each object is deleted whole): the invariants hold, and a second run
 * leaves exactly what an uninterrupted run leaves. */
static void test_failure_at_every_step(void **state)
{
    fixture *f = *state;
    ofs_config_retention one = { .daily = 1, .weekly = 0, .monthly = 0, .keep_last = 1 };
    ofs_prune_options o = options(&one, LAST_NIGHT, 0);
    ofs_prune_result *r = NULL;

    /* an uninterrupted run, to count its deletes; an orphan too */
    assert_int_equal(ofs_store_put_buffer(f->store, "data/weekly/t_20260309_220000/catalog.ofs",
                                          0, "yz", 2), 0);
    save(f); /* the orphan is part of every reset from now on */
    ofs_store *counting = failing_new(f->store, -1, 0);
    assert_int_equal(ofs_prune_run(counting, f->ring, &o, &r), 0);
    int total = ((failing_store *)counting)->deletes;
    assert_int_equal(r->deleted, NIGHTS - 1);
    assert_int_equal((uint64_t)total, r->objects_deleted);
    ofs_prune_result_free(r);
    ofs_store_free(counting);
    assert_int_equal(check_store(f), 1);
    assert_int_equal(count_folders(f), 1);

    /* the manifest write fails: nothing is deleted */
    reset(f);
    ofs_store *failing = failing_new(f->store, -1, 1);
    assert_int_equal(ofs_prune_run(failing, f->ring, &o, &r), OFS_ERROR);
    assert_non_null(strstr(ofs_error_last(), "nothing deleted"));
    assert_int_equal(((failing_store *)failing)->deletes, 0);
    ofs_prune_result_free(r);
    ofs_store_free(failing);
    assert_int_equal(check_store(f), NIGHTS);

    for (int k = 0; k < total; k++) {
        reset(f);
        failing = failing_new(f->store, k, 0);
        assert_int_equal(ofs_prune_run(failing, f->ring, &o, &r), OFS_ERROR);
        assert_non_null(r);
        ofs_prune_result_free(r);
        ofs_store_free(failing);
        size_t records = check_store(f);
        assert_true(records >= 1 && records <= NIGHTS);
        /* the next run finishes: one backup, no orphan */
        o.dry_run = 0;
        assert_int_equal(ofs_prune_run(f->store, f->ring, &o, &r), 0);
        ofs_prune_result_free(r);
        assert_int_equal(check_store(f), 1);
        assert_int_equal(count_folders(f), 1);
        assert_true(folder_exists(f, f->ids[NIGHTS - 1]));
    }
}

int main(void)
{
    ofs_log_set_level(OFS_LOG_WARN); /* the warnings of a rebuild are part of what is shown */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deletes_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_and_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphans_and_manifest_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_at_every_step, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
