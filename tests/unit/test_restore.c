/* test_restore.c - ofs_restore_run: round trip of a generated tree through ofs_backup_run
 * (content and metadata), .bak and overwrite, patterns, dry run, and hostile or damaged
 * backups (crafted here: tar -> zstd -> seal -> SHA-256 -> store, catalog, record) that must
 * fail with nothing written in place for the affected files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "offsite/backup.h"
#include "offsite/cli.h"
#include "offsite/catalog.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/restore.h"
#include "offsite/seal.h"
#include "offsite/store.h"
#include "offsite/zstdstream.h"

#define LONG_NAME "L123456789012345678901234567890123456789012345678901234567890123456789" \
                  "0123456789012345678901234567890123456789012345678901234567890123456789" \
                  "0123456789012345678901234567890123456789012345678901234567890123456789" \
                  "01234567890123456789012345678901" /* 243 bytes */

typedef struct fixture {
    char base[64];
    char src[128], staging[128], key[128], target[128];
    char *paths[1];
    ofs_keyring *ring;
    ofs_store *store;
    ofs_config cfg;
    ofs_config_set set;
} fixture;

static char *join(const char *a, const char *b)
{
    static char buf[8][1024];
    static int n;
    char *out = buf[n++ % 8], tmp[1024];
    /* through tmp: a or b may be an earlier result living in buf */
    snprintf(tmp, sizeof tmp, "%s/%s", a, b);
    memcpy(out, tmp, sizeof tmp);
    return out;
}

/* the restored copy of an absolute source path */
static char *restored(const fixture *f, const char *source)
{
    return join(f->target, source + 1);
}

static void write_bytes(const char *path, const void *data, size_t size, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    if (size)
        assert_int_equal(write(fd, data, size), (ssize_t)size);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void write_random(const char *path, size_t size, unsigned seed)
{
    unsigned char *buf = malloc(size ? size : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    write_bytes(path, buf, size, 0644);
    free(buf);
}

static void set_mtime(const char *path, time_t sec, long nsec)
{
    struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
    assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static char *read_all(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    fstat(fd, &st);
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *size = got;
    return buf;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->base, "/tmp/test_restore.XXXXXX");
    if (!mkdtemp(f->base))
        return -1;
    snprintf(f->src, sizeof(f->src), "%s/src", f->base);
    snprintf(f->staging, sizeof(f->staging), "%s/staging", f->base);
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->base);
    snprintf(f->target, sizeof(f->target), "%s/target", f->base);
    if (mkdir(f->src, 0755) < 0 || ofs_keyring_generate(f->key, NULL) < 0 ||
        ofs_keyring_load(&f->ring, f->key) < 0 ||
        ofs_store_file_new(&f->store, "staging", f->staging) < 0)
        return -1;
    f->paths[0] = f->src;
    f->set.name = "t";
    f->set.paths = f->paths;
    f->set.path_count = 1;
    f->set.volume_size = 64 * 1024;
    f->set.compression_level = 3;
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
    free(f);
    return 0;
}

/* The generated tree of the round trip. */
static void make_tree(fixture *f)
{
    char path[1024];
    mkdir(join(f->src, "desk"), 0750);
    mkdir(join(f->src, "private"), 0700);
    mkdir(join(f->src, "empty dir"), 0755);
    for (unsigned i = 0; i < 8; i++) {
        snprintf(path, sizeof(path), "%s/desk/acct-%u.json", f->src, i);
        write_random(path, 20000 + i * 7000, i + 1);
    }
    write_random(join(f->src, "big.bin"), 300000, 99);
    write_bytes(join(f->src, "empty"), "", 0, 0600);
    write_bytes(join(f->src, "private/secret"), "s3cret\n", 7, 0600);
    write_bytes(join(f->src, "desk/run.sh"), "#!/bin/sh\n", 10, 0750);
    write_bytes(join(f->src, "with space.csv"), "a,b\n", 4, 0644);
    write_bytes(join(f->src, "d\xc3\xa9j\xc3\xa0 vu \xe2\x82\xac.txt"), "utf8\n", 5, 0644);
    /* a path over 255 bytes, and a name long enough to need the temporary name cut */
    snprintf(path, sizeof(path), "%s/%s", f->src, LONG_NAME);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", f->src, LONG_NAME, LONG_NAME);
    write_bytes(path, "deep\n", 5, 0644);
    /* sparse: 4 MiB with two islands of data */
    int fd = open(join(f->src, "sparse.img"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4 << 20), 0);
    assert_int_equal(pwrite(fd, "start", 5, 0), 5);
    assert_int_equal(pwrite(fd, "middle", 6, 2 << 20), 6);
    close(fd);
    assert_int_equal(symlink("desk/acct-0.json", join(f->src, "link")), 0);
    assert_int_equal(symlink("/nonexistent/absolute", join(f->src, "dangling")), 0);
    assert_int_equal(link(join(f->src, "desk/acct-1.json"), join(f->src, "hard")), 0);
    assert_int_equal(link(join(f->src, "desk/acct-1.json"), join(f->src, "private/hard2")), 0);
    assert_int_equal(mkfifo(join(f->src, "pipe"), 0640), 0);
    /* times with nanoseconds, directories last */
    const char *files[] = { "big.bin", "empty", "private/secret", "desk/run.sh",
                            "with space.csv", "sparse.img", "link", "dangling", "pipe",
                            "desk/acct-1.json" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        set_mtime(join(f->src, files[i]), 1700000000 + (time_t)i, 123456789 + (long)i);
    set_mtime(join(f->src, "desk"), 1600000000, 111);
    set_mtime(join(f->src, "private"), 1600000001, 222);
    set_mtime(join(f->src, "empty dir"), 1600000002, 333);
    set_mtime(f->src, 1600000003, 444);
}

static ofs_record *backup(fixture *f)
{
    ofs_record *rec = NULL;
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL), 0);
    assert_true(rec->volumes >= 3);
    return rec;
}

/* ---- comparing the source tree with its restored copy ---- */

static const fixture *compare_fixture;
static int compare_count;

static int compare_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    struct stat rt;
    const fixture *f = compare_fixture;
    const char *copy = restored(f, path);
    if (lstat(copy, &rt) < 0)
        fail_msg("'%s' was not restored", copy);
    assert_int_equal(st->st_mode, rt.st_mode);
    assert_int_equal(st->st_uid, rt.st_uid);
    assert_int_equal(st->st_gid, rt.st_gid);
    assert_int_equal(st->st_mtim.tv_sec, rt.st_mtim.tv_sec);
    assert_int_equal(st->st_mtim.tv_nsec, rt.st_mtim.tv_nsec);
    if (S_ISREG(st->st_mode)) {
        size_t a = 0, b = 0;
        char *x = read_all(path, &a), *y = read_all(copy, &b);
        assert_int_equal(a, b);
        assert_memory_equal(x, y, a);
        free(x);
        free(y);
    } else if (S_ISLNK(st->st_mode)) {
        char x[512], y[512];
        ssize_t a = readlink(path, x, sizeof(x)), b = readlink(copy, y, sizeof(y));
        assert_int_equal(a, b);
        assert_memory_equal(x, y, (size_t)a);
    }
    compare_count++;
    return 0;
}

static void compare_trees_min(const fixture *f, int min)
{
    compare_fixture = f;
    compare_count = 0;
    assert_int_equal(nftw(f->src, compare_one, 16, FTW_PHYS), 0);
    assert_true(compare_count > min);
}

static void compare_trees(const fixture *f)
{
    compare_trees_min(f, 20);
}

static int count_tmp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    return strstr(path + ftw->base, ".ofs-tmp-") ? 1 : 0;
}

static void assert_no_temp_files(const char *dir)
{
    assert_int_equal(nftw(dir, count_tmp, 16, FTW_PHYS), 0);
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    make_tree(f);
    ofs_record *rec = backup(f);
    ofs_restore_options o = { .target_dir = f->target };
    ofs_restore_stats stats;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    compare_trees(f);
    assert_no_temp_files(f->target);
    /* hard links share an inode again */
    struct stat a, b, c;
    assert_int_equal(stat(restored(f, join(f->src, "desk/acct-1.json")), &a), 0);
    assert_int_equal(stat(restored(f, join(f->src, "hard")), &b), 0);
    assert_int_equal(stat(restored(f, join(f->src, "private/hard2")), &c), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_ino, c.st_ino);
    assert_int_equal(a.st_nlink, 3);
    /* holes come back as holes */
    assert_int_equal(stat(restored(f, join(f->src, "sparse.img")), &a), 0);
    assert_int_equal(a.st_size, 4 << 20);
    assert_true(a.st_blocks * 512 < (1 << 20));
    assert_int_equal(stats.hardlinks, 2);
    assert_int_equal(stats.symlinks, 2);
    assert_int_equal(stats.backups_kept, 0);
    assert_int_equal(stats.files, 17); /* 16 regular files and the FIFO */
    assert_true(stats.bytes > 500000);

    /* again into the same target: identical files need no .bak; one edited file is kept */
    ofs_restore_stats again;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &again), 0);
    assert_int_equal(again.backups_kept, 0);
    compare_trees(f);
    FILE *edit = fopen(restored(f, join(f->src, "sparse.img")), "r+");
    assert_non_null(edit);
    fputs("local edit", edit);
    fclose(edit);
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &again), 0);
    assert_int_equal(again.backups_kept, 1);
    compare_trees(f);
    /* and with overwrite, nothing more is kept */
    o.overwrite = 1;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &again), 0);
    assert_int_equal(again.backups_kept, 0);
    compare_trees(f);
    ofs_record_free(rec);
}

/* ---- patterns and dry run ---- */

typedef struct seen {
    char lines[64][512];
    int count;
} seen;

static void on_entry(void *ctx, const char *path, const char *action)
{
    seen *s = ctx;
    const char *name = strrchr(path, '/');
    if (s->count < 64)
        snprintf(s->lines[s->count++], 512, "%s %s", action, name ? name + 1 : path);
}

static int seen_has(const seen *s, const char *line)
{
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->lines[i], line) == 0)
            return 1;
    return 0;
}

static void small_tree(fixture *f)
{
    mkdir(join(f->src, "desk"), 0750);
    mkdir(join(f->src, "other"), 0755);
    write_bytes(join(f->src, "desk/a.csv"), "a\n", 2, 0644);
    write_bytes(join(f->src, "desk/b.txt"), "b\n", 2, 0644);
    write_bytes(join(f->src, "other/c.csv"), "c\n", 2, 0644);
    write_bytes(join(f->src, "other/d.bin"), "d\n", 2, 0644);
    assert_int_equal(link(join(f->src, "other/d.bin"), join(f->src, "z-link")), 0);
}

static void test_patterns(void **state)
{
    fixture *f = *state;
    small_tree(f);
    ofs_record *rec = NULL;
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL), 0);
    char desk[300];
    snprintf(desk, sizeof(desk), "%s/desk/", f->src); /* leading '/' and trailing '/' */
    char *patterns[] = { desk, "*.csv", "*z-link" };
    ofs_restore_options o = { .target_dir = f->target, .patterns = patterns,
                              .pattern_count = 3 };
    ofs_restore_stats stats;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    struct stat st;
    assert_int_equal(lstat(restored(f, join(f->src, "desk/a.csv")), &st), 0);
    assert_int_equal(lstat(restored(f, join(f->src, "desk/b.txt")), &st), 0);
    assert_int_equal(lstat(restored(f, join(f->src, "other/c.csv")), &st), 0);
    /* the hard link brought its first path along */
    assert_int_equal(lstat(restored(f, join(f->src, "other/d.bin")), &st), 0);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(stats.files, 4);
    assert_int_equal(stats.hardlinks, 1);
    /* directories above the selection have their recorded mode */
    assert_int_equal(lstat(restored(f, join(f->src, "desk")), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);

    /* '*' stops at '/' in a pattern with a '/', as exclude's */
    char star[300];
    snprintf(star, sizeof(star), "%s/*.csv", f->src + 1);
    char *deep[] = { star };
    o.patterns = deep;
    o.pattern_count = 1;
    o.dry_run = 1;
    seen s = { .count = 0 };
    o.on_entry = on_entry;
    o.ctx = &s;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), OFS_ENOTFOUND);

    /* no match at all is an error naming the patterns, not an empty restore */
    char *nothing[] = { "no/such/*", "nope" };
    o.patterns = nothing;
    o.pattern_count = 2;
    o.dry_run = 0;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), OFS_ENOTFOUND);
    char want[512];
    snprintf(want, sizeof(want), "no file of backup '%s' matches 'no/such/*' or 'nope'\nHINT: ",
             rec->id);
    assert_true(strncmp(ofs_error_last(), want, strlen(want)) == 0);
    ofs_record_free(rec);
}

static void test_dry_run(void **state)
{
    fixture *f = *state;
    small_tree(f);
    ofs_record *rec = NULL;
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL), 0);
    seen s = { .count = 0 };
    ofs_restore_options o = { .target_dir = f->target, .dry_run = 1, .on_entry = on_entry,
                              .ctx = &s };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), 0);
    assert_true(seen_has(&s, "create a.csv"));
    assert_true(seen_has(&s, "create z-link"));
    assert_int_equal(access(f->target, F_OK), -1); /* nothing written */

    ofs_restore_options real = { .target_dir = f->target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &real, NULL), 0);
    write_bytes(restored(f, join(f->src, "desk/b.txt")), "changed\n", 8, 0644);
    assert_int_equal(unlink(restored(f, join(f->src, "other/c.csv"))), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), 0);
    assert_true(seen_has(&s, "unchanged a.csv"));
    assert_true(seen_has(&s, "replace b.txt"));
    assert_true(seen_has(&s, "create c.csv"));
    assert_true(seen_has(&s, "unchanged desk"));
    char *text = NULL;
    size_t size = 0;
    text = read_all(restored(f, join(f->src, "desk/b.txt")), &size);
    assert_string_equal(text, "changed\n");
    free(text);
    ofs_record_free(rec);
}

/* ---- mirror, skip_existing, the safety area, confirmation ---- */

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static void test_mirror(void **state)
{
    fixture *f = *state;
    small_tree(f);
    ofs_record *rec = NULL;
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL), 0);
    ofs_restore_options o = { .target_dir = f->target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), 0);
    /* extras: in a backed-up directory, in the set path itself, and beside the set path
       (an ancestor the backup never held whole) */
    write_bytes(restored(f, join(f->src, "desk/part-4.parquet")), "4\n", 2, 0644);
    write_bytes(restored(f, join(f->src, "top-extra")), "t\n", 2, 0644);
    write_bytes(restored(f, join(f->base, "beside")), "b\n", 2, 0644);
    write_bytes(restored(f, join(f->src, "other/c.csv")), "edited\n", 7, 0644);

    /* mirror needs the roots */
    o.mirror = 1;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), OFS_ECONFIG);
    o.roots = f->paths;
    o.root_count = 1;
    seen s = { .count = 0 };
    ofs_restore_stats stats;
    o.dry_run = 1;
    o.on_entry = on_entry;
    o.ctx = &s;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    assert_true(seen_has(&s, "remove part-4.parquet"));
    assert_true(seen_has(&s, "remove top-extra"));
    assert_false(seen_has(&s, "remove beside"));
    assert_true(seen_has(&s, "replace c.csv"));
    assert_int_equal(stats.plan.remove, 2);
    assert_int_equal(stats.plan.replace, 1);
    assert_int_equal(access(restored(f, join(f->src, "desk/part-4.parquet")), F_OK), 0);

    /* with a pattern: only the matched directory is mirrored, not the ones above it */
    char *desk[] = { "desk" };
    o.patterns = desk;
    o.pattern_count = 1;
    memset(&s, 0, sizeof(s));
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    assert_true(seen_has(&s, "remove part-4.parquet"));
    assert_false(seen_has(&s, "remove top-extra"));
    assert_int_equal(stats.plan.remove, 1);

    /* the real run: the safety area holds the extras; the rest is as backed up */
    o.patterns = NULL;
    o.pattern_count = 0;
    o.dry_run = 0;
    o.on_entry = NULL;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    assert_int_equal(stats.backups_kept, 3);
    assert_int_equal(access(restored(f, join(f->src, "desk/part-4.parquet")), F_OK), -1);
    assert_int_equal(access(restored(f, join(f->src, "top-extra")), F_OK), -1);
    assert_int_equal(access(restored(f, join(f->base, "beside")), F_OK), 0);
    compare_trees_min(f, 5);
    char area[512];
    snprintf(area, sizeof(area), "%.500s", stats.safety_path);
    assert_true(strncmp(area, f->target, strlen(f->target)) == 0);
    assert_int_equal(count_entries(area), 2); /* INDEX.txt and the tree ("tmp") */
    size_t size = 0;
    char *text = read_all(join(area, join(f->src + 1, "desk/part-4.parquet")), &size);
    assert_string_equal(text, "4\n");
    free(text);
    text = read_all(join(area, join(f->src + 1, "other/c.csv")), &size);
    assert_string_equal(text, "edited\n");
    free(text);

    /* mirror and skip_existing contradict each other */
    o.skip_existing = 1;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), OFS_ECONFIG);
    ofs_record_free(rec);
}

static int answer;
static ofs_restore_plan asked;

static int confirm(void *ctx, const ofs_restore_plan *plan)
{
    (void)ctx;
    asked = *plan;
    return answer;
}

static void test_skip_and_confirm(void **state)
{
    fixture *f = *state;
    small_tree(f);
    ofs_record *rec = NULL;
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL), 0);
    ofs_restore_options o = { .target_dir = f->target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), 0);
    write_bytes(restored(f, join(f->src, "desk/b.txt")), "local\n", 6, 0644);
    assert_int_equal(unlink(restored(f, join(f->src, "other/c.csv"))), 0);

    /* skip_existing: the dry run says skip, the run leaves the file and restores the rest */
    seen s = { .count = 0 };
    ofs_restore_stats stats;
    o.skip_existing = 1;
    o.dry_run = 1;
    o.on_entry = on_entry;
    o.ctx = &s;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    assert_true(seen_has(&s, "skip b.txt"));
    assert_true(seen_has(&s, "create c.csv"));
    o.dry_run = 0;
    o.on_entry = NULL;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    size_t size = 0;
    char *text = read_all(restored(f, join(f->src, "desk/b.txt")), &size);
    assert_string_equal(text, "local\n");
    free(text);
    assert_int_equal(access(restored(f, join(f->src, "other/c.csv")), F_OK), 0);
    assert_true(stats.skipped >= 4);
    assert_int_equal(stats.backups_kept, 0);

    /* confirmation: the plan's counts; no means nothing is written */
    o.skip_existing = 0;
    o.confirm = confirm;
    answer = 0;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), OFS_ECANCELED);
    assert_int_equal(asked.replace, 1);
    assert_int_equal(asked.create, 0);
    text = read_all(restored(f, join(f->src, "desk/b.txt")), &size);
    assert_string_equal(text, "local\n");
    free(text);
    answer = 1;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    compare_trees_min(f, 5);

    /* a safety_dir inside the restored data is refused; beside it is fine */
    o.confirm = NULL;
    o.roots = f->paths;
    o.root_count = 1;
    char inside[512], beside[512];
    snprintf(inside, sizeof(inside), "%s/desk/safety", restored(f, f->src));
    o.safety_dir = inside;
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), OFS_ECONFIG);
    snprintf(beside, sizeof(beside), "%s/safety", f->base);
    o.safety_dir = beside;
    write_bytes(restored(f, join(f->src, "desk/b.txt")), "again\n", 6, 0644);
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, &stats), 0);
    assert_true(strncmp(stats.safety_path, beside, strlen(beside)) == 0);
    assert_int_equal(count_entries(restored(f, f->src)), 3); /* desk, other, z-link: no more */
    ofs_record_free(rec);
}

/* restore's question at a terminal (cmd_restore.c): when it is asked, what counts as yes */
static void test_confirm_decision(void **state)
{
    (void)state;
    ofs_restore_plan create_only = { .create = 5, .unchanged = 3, .skip = 2 };
    ofs_restore_plan replace = { .replace = 1 };
    ofs_restore_plan remove = { .remove = 1 };
    assert_int_equal(ofs_cli_restore_asks(&create_only, 1, 0), 0);
    assert_int_equal(ofs_cli_restore_asks(&replace, 1, 0), 1);
    assert_int_equal(ofs_cli_restore_asks(&remove, 1, 0), 1);
    assert_int_equal(ofs_cli_restore_asks(&replace, 0, 0), 0); /* no terminal: scripts go on */
    assert_int_equal(ofs_cli_restore_asks(&replace, 1, 1), 0); /* --yes */
    assert_int_equal(ofs_cli_restore_answer("y\n"), 1);
    assert_int_equal(ofs_cli_restore_answer(" YES \n"), 1);
    assert_int_equal(ofs_cli_restore_answer("\n"), 0);
    assert_int_equal(ofs_cli_restore_answer("n\n"), 0);
    assert_int_equal(ofs_cli_restore_answer("yep\n"), 0);
    assert_int_equal(ofs_cli_restore_answer(NULL), 0); /* end of input */
}

/* ---- crafted backups ---- */

typedef struct craft_entry {
    const char *path;
    unsigned type;       /* AE_IFREG, AE_IFDIR, AE_IFLNK */
    const char *data;    /* file content, symlink target */
    int in_catalog, in_tar;
    const char *catalog_data; /* content the catalog's SHA-256 is of, if not data */
} craft_entry;

typedef struct tar_buf {
    char *data;
    size_t size;
} tar_buf;

static la_ssize_t buf_write(struct archive *a, void *client, const void *data, size_t size)
{
    tar_buf *b = client;
    (void)a;
    b->data = realloc(b->data, b->size + size);
    memcpy(b->data + b->size, data, size);
    b->size += size;
    return (la_ssize_t)size;
}

static void put_object(fixture *f, ofs_record *rec, const char *name, const void *data,
                       size_t size)
{
    char key[1100], seal_name[1100];
    ofs_writer *w = NULL, *hash = NULL;
    uint8_t digest[OFS_SHA256_BYTES];
    uint64_t stored = 0;
    assert_int_equal(ofs_repo_key(key, sizeof(key), rec->class_name, rec->id, name), 0);
    assert_int_equal(ofs_repo_seal_name(seal_name, sizeof(seal_name), rec->id, name), 0);
    assert_int_equal(ofs_store_put(f->store, key, 0, &w), 0);
    assert_int_equal(ofs_hash_writer_new(&w, w), 0);
    hash = w;
    assert_int_equal(ofs_seal_writer_new(&w, w, ofs_keyring_current(f->ring), seal_name, 0), 0);
    assert_int_equal(ofs_zstd_writer_new(&w, w, 3, 0), 0);
    assert_int_equal(ofs_writer_write(w, data, size), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_hash_writer_result(hash, digest, &stored);
    ofs_writer_free(w);
    assert_int_equal(ofs_record_add_object(rec, name, stored, digest), 0);
}

/* One volume from entries (tar and catalog each take the ones flagged), committed. */
static ofs_record *craft(fixture *f, const char *id, const craft_entry *entries, size_t count)
{
    tar_buf tar = { 0 };
    struct archive *a = archive_write_new();
    ofs_record *rec = NULL;
    ofs_writer *mem = NULL;
    ofs_catalog_writer *cw = NULL;
    assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
    /* unblocked: tar.size before a header, rounded up to a block, is its offset */
    assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
    assert_int_equal(archive_write_open2(a, &tar, NULL, buf_write, NULL, NULL), ARCHIVE_OK);
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_catalog_writer_new(&cw, mem), 0);
    assert_int_equal(ofs_record_new(&rec), 0);
    rec->id = strdup(id);
    rec->set = strdup("t");
    rec->kind = strdup("full");
    rec->class_name = strdup("daily");
    rec->host = strdup("testhost");
    rec->tool_version = strdup("0");
    rec->started = 1795281300;
    rec->finished = 1795281301;
    memcpy(rec->key_id, ofs_keyring_current(f->ring)->id, OFS_KEY_ID_BYTES);
    rec->volumes = 1;
    for (size_t i = 0; i < count; i++) {
        const craft_entry *c = &entries[i];
        size_t size = c->type == AE_IFREG && c->data ? strlen(c->data) : 0;
        uint64_t offset = (tar.size + 511) & ~(uint64_t)511; /* the last entry's padding */
        if (c->in_tar) {
            struct archive_entry *e = archive_entry_new();
            archive_entry_copy_pathname(e, c->path);
            archive_entry_set_filetype(e, c->type);
            archive_entry_set_perm(e, 0644);
            archive_entry_set_mtime(e, 1700000000, 0);
            if (c->type == AE_IFLNK)
                archive_entry_copy_symlink(e, c->data);
            archive_entry_set_size(e, (la_int64_t)size);
            assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
            if (size)
                assert_int_equal(archive_write_data(a, c->data, size), (la_ssize_t)size);
            archive_entry_free(e);
        }
        if (c->in_catalog) {
            ofs_catalog_entry e = { 0 };
            const char *hashed = c->catalog_data ? c->catalog_data : c->data;
            e.path = (char *)c->path;
            e.type = c->type == AE_IFDIR ? OFS_ENTRY_DIR
                     : c->type == AE_IFLNK ? OFS_ENTRY_SYMLINK : OFS_ENTRY_FILE;
            e.mode = 0644;
            e.size = size;
            e.mtime_sec = 1700000000;
            e.uid = getuid();
            e.gid = getgid();
            e.volume = 1;
            e.offset = offset;
            e.backup_id = (char *)id;
            if (c->type == AE_IFLNK)
                e.link_target = (char *)c->data;
            if (c->type == AE_IFREG) {
                e.has_sha256 = 1;
                ofs_sha256_buffer(hashed ? hashed : "", hashed ? strlen(hashed) : 0, e.sha256);
            }
            assert_int_equal(ofs_catalog_writer_add(cw, &e), 0);
            rec->files++;
            rec->bytes += size;
        }
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    put_object(f, rec, "vol-0001.ofs", tar.data, tar.size);
    assert_int_equal(ofs_catalog_writer_finish(cw), 0);
    size_t size = 0;
    const void *lines = ofs_memory_writer_data(mem, &size);
    put_object(f, rec, OFS_CATALOG_NAME, lines, size);
    ofs_catalog_writer_free(cw);
    char key[1100], *json = NULL;
    size_t json_size = 0;
    assert_int_equal(ofs_record_serialize(rec, f->ring, &json, &json_size), 0);
    assert_int_equal(ofs_repo_key(key, sizeof(key), "daily", id, OFS_RECORD_NAME), 0);
    assert_int_equal(ofs_store_put_buffer(f->store, key, 0, json, json_size), 0);
    free(json);
    free(tar.data);
    return rec;
}

static void test_crafted_ok(void **state)
{
    fixture *f = *state;
    craft_entry entries[] = {
        { "srv", AE_IFDIR, NULL, 1, 1, NULL },
        { "srv/a", AE_IFREG, "alpha", 1, 1, NULL },
        { "srv/l", AE_IFLNK, "/etc/passwd", 1, 1, NULL },
    };
    ofs_record *rec = craft(f, "t_20261121_171500", entries, 3);
    ofs_restore_options o = { .target_dir = f->target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), 0);
    size_t size = 0;
    char *text = read_all(join(f->target, "srv/a"), &size);
    assert_string_equal(text, "alpha");
    free(text);
    ofs_record_free(rec);
}

static void test_entry_not_in_catalog(void **state)
{
    fixture *f = *state;
    craft_entry entries[] = {
        { "srv", AE_IFDIR, NULL, 1, 1, NULL },
        { "srv/a", AE_IFREG, "alpha", 1, 1, NULL },
        { "srv/evil", AE_IFREG, "planted", 0, 1, NULL },
        { "srv/z", AE_IFREG, "zulu", 1, 1, NULL },
    };
    ofs_record *rec = craft(f, "t_20261121_171500", entries, 4);
    ofs_restore_options o = { .target_dir = f->target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "volume 1: unexpected entry 'srv/evil' in archive");
    assert_int_equal(access(join(f->target, "srv/evil"), F_OK), -1);
    assert_int_equal(access(join(f->target, "srv/z"), F_OK), -1);
    assert_no_temp_files(f->target);
    ofs_record_free(rec);
}

static void test_hostile_names_in_archive(void **state)
{
    fixture *f = *state;
    /* the catalog is honest; the archive carries an escape where "srv/a" should be */
    craft_entry entries[] = {
        { "srv", AE_IFDIR, NULL, 1, 1, NULL },
        { "srv/a", AE_IFREG, "alpha", 1, 0, NULL },
        { "../../escape", AE_IFREG, "evil", 0, 1, NULL },
    };
    ofs_record *rec = craft(f, "t_20261121_171500", entries, 3);
    ofs_restore_options o = { .target_dir = f->target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "volume 1: unexpected entry '../../escape' in archive");
    assert_int_equal(access(join(f->base, "escape"), F_OK), -1);
    assert_int_equal(access("/tmp/escape", F_OK), -1);
    ofs_record_free(rec);
}

static void test_missing_from_archive_and_order(void **state)
{
    fixture *f = *state;
    craft_entry entries[] = {
        { "srv", AE_IFDIR, NULL, 1, 1, NULL },
        { "srv/a", AE_IFREG, "alpha", 1, 1, NULL },
        { "srv/b", AE_IFREG, "bravo", 1, 0, NULL },
    };
    ofs_record *rec = craft(f, "t_20261121_171500", entries, 3);
    ofs_restore_options o = { .target_dir = f->target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "volume 1: entry 'srv/b' is missing from the archive");
    ofs_record_free(rec);
}

static void test_content_mismatch(void **state)
{
    fixture *f = *state;
    craft_entry entries[] = {
        { "srv", AE_IFDIR, NULL, 1, 1, NULL },
        { "srv/a", AE_IFREG, "tampered", 1, 1, "original" },
    };
    ofs_record *rec = craft(f, "t_20261121_171500", entries, 2);
    assert_int_equal(mkdir(f->target, 0700), 0);
    assert_int_equal(mkdir(join(f->target, "srv"), 0700), 0);
    write_bytes(join(f->target, "srv/a"), "current", 7, 0644);
    ofs_restore_options o = { .target_dir = f->target };
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "volume 1: srv/a: SHA-256 mismatch");
    size_t size = 0;
    char *text = read_all(join(f->target, "srv/a"), &size);
    assert_string_equal(text, "current"); /* untouched, and no .bak either */
    free(text);
    DIR *d = opendir(join(f->target, "srv"));
    int names = 0;
    for (struct dirent *de; (de = readdir(d));)
        names += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(names, 1);
    assert_no_temp_files(f->target);
    ofs_record_free(rec);
}

/* ---- damaged objects of a real backup ---- */

static void object_path(const fixture *f, const ofs_record *rec, const char *name, char *out,
                        size_t size)
{
    snprintf(out, size, "%s/data/%s/%s/%s", f->staging, rec->class_name, rec->id, name);
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

/* files whose content lives in volume `volume` (from the catalog) are not in place */
static void assert_volume_absent(fixture *f, const ofs_record *rec, uint32_t volume)
{
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e = NULL;
    int files = 0;
    assert_int_equal(ofs_repo_open_catalog(f->store, f->ring, rec, &cr), 0);
    while (ofs_catalog_reader_next(cr, &e) == 1) {
        if (e->type != OFS_ENTRY_FILE || e->volume != volume || e->size < 16384)
            continue;
        files++;
        assert_int_equal(access(join(f->target, e->path), F_OK), -1);
    }
    ofs_catalog_reader_free(cr);
    assert_true(files > 0);
}

static void test_damaged_volumes(void **state)
{
    fixture *f = *state;
    make_tree(f);
    ofs_record *rec = backup(f);
    char path[1024], other[1024];
    ofs_restore_options o = { .target_dir = f->target, .parallel = 1 };

    /* a flipped byte in the middle of volume 2 */
    object_path(f, rec, "vol-0002.ofs", path, sizeof(path));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    flip_byte(path, 100);
    int rc = ofs_restore_run(f->store, f->ring, rec, &o, NULL);
    assert_true(rc == OFS_EAUTH || rc == OFS_ECORRUPT);
    assert_true(strncmp(ofs_error_last(), "volume 2: ", 10) == 0);
    assert_volume_absent(f, rec, 2);
    assert_no_temp_files(f->target);
    flip_byte(path, 100);

    /* truncated */
    assert_int_equal(truncate(path, st.st_size - 100), 0);
    rc = ofs_restore_run(f->store, f->ring, rec, &o, NULL);
    assert_true(rc == OFS_EAUTH || rc == OFS_ECORRUPT);
    assert_true(strncmp(ofs_error_last(), "volume 2: ", 10) == 0);

    /* missing */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(ofs_restore_run(f->store, f->ring, rec, &o, NULL), OFS_ENOTFOUND);
    assert_true(strncmp(ofs_error_last(), "volume 2: ", 10) == 0);

    /* volumes 1 and 3 swapped */
    object_path(f, rec, "vol-0001.ofs", path, sizeof(path));
    object_path(f, rec, "vol-0003.ofs", other, sizeof(other));
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s.swap", path);
    assert_int_equal(rename(path, tmp), 0);
    assert_int_equal(rename(other, path), 0);
    assert_int_equal(rename(tmp, other), 0);
    rc = ofs_restore_run(f->store, f->ring, rec, &o, NULL);
    assert_true(rc == OFS_EAUTH || rc == OFS_ECORRUPT);
    assert_true(strncmp(ofs_error_last(), "volume 1: ", 10) == 0);
    assert_no_temp_files(f->target);
    ofs_record_free(rec);
}

static void test_wrong_key(void **state)
{
    fixture *f = *state;
    small_tree(f);
    ofs_record *rec = NULL;
    assert_int_equal(ofs_backup_run(&f->cfg, &f->set, f->store, f->ring, NULL, &rec, NULL), 0);
    char other_key[200];
    ofs_keyring *other = NULL;
    snprintf(other_key, sizeof(other_key), "%s/other.key", f->base);
    assert_int_equal(ofs_keyring_generate(other_key, NULL), 0);
    assert_int_equal(ofs_keyring_load(&other, other_key), 0);
    ofs_restore_options o = { .target_dir = f->target };
    int rc = ofs_restore_run(f->store, other, rec, &o, NULL);
    assert_true(rc == OFS_ENOTFOUND || rc == OFS_EAUTH);
    assert_non_null(strstr(ofs_error_last(), "catalog"));
    assert_int_equal(access(f->target, F_OK), -1);
    ofs_keyring_free(other);
    ofs_record_free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mirror, setup, teardown),
        cmocka_unit_test(test_confirm_decision),
        cmocka_unit_test_setup_teardown(test_skip_and_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crafted_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_not_in_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names_in_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_from_archive_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_volumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
