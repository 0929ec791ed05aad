/* test_extract.c - the safe writer: hostile archives (.., absolute, symlink in the way, file in
 * the way), the safety area (index, across file systems, mirror's removal), skip_existing, .bak
 * copies and overwrite, sparse files, hash and size mismatches leave nothing,
 * metadata of files, symlinks, FIFOs, hard links and read-only directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "offsite/error.h"
#include "offsite/extract.h"
#include "offsite/hash.h"
#include "offsite/restore.h"
#include "offsite/tarread.h"
/* the durability pool and the temporary names are internal to the file-system sink */
#include "../../src/core/extract_internal.h"

#define STARTED 1795281300 /* 2026-11-21T17:15:00Z */

typedef struct fixture {
    char dir[64];
    char target[96];
    char outside[96];
    ofs_extract *x;
    ofs_extract_worker *w;
} fixture;

enum { SAFETY_AREA, OVERWRITE, BAK_BESIDE, SKIP_EXISTING };

static int open_extract_in(fixture *f, int mode, const char *safety_dir)
{
    ofs_extract_worker_free(f->w);
    ofs_extract_free(f->x);
    f->w = NULL;
    f->x = NULL;
    ofs_extract_options o = { .target_dir = f->target, .overwrite = mode == OVERWRITE,
                              .bak_beside = mode == BAK_BESIDE,
                              .skip_existing = mode == SKIP_EXISTING, .safety_dir = safety_dir,
                              .label = "backup b1", .started = STARTED };
    int rc = ofs_extract_new(&f->x, &o);
    if (rc == 0)
        rc = ofs_extract_worker_new(&f->w, f->x);
    return rc;
}

static int open_extract(fixture *f, int mode)
{
    return open_extract_in(f, mode, NULL);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/test_extract.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->target, sizeof(f->target), "%s/target/sub", f->dir);
    snprintf(f->outside, sizeof(f->outside), "%s/outside", f->dir);
    if (mkdir(f->outside, 0700) < 0 || open_extract(f, 0) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[256];
    ofs_extract_worker_free(f->w);
    ofs_extract_free(f->x);
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", f->dir, f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static char *path_in(const char *dir, const char *name)
{
    static char buf[4][512];
    static int n;
    char *out = buf[n++ % 4];
    snprintf(out, 512, "%s/%s", dir, name);
    return out;
}

static char *read_text(const char *path)
{
    static char buf[4096];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

static void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* Names in dir, sorted and joined with ' ' (so a stray temporary file shows). */
static char *list_dir(const char *dir)
{
    static char out[4096];
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
            if (out[0])
                strcat(out, " ");
            strcat(out, names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
    return out;
}

static ofs_catalog_entry file_entry(const char *path, const void *data, size_t size)
{
    ofs_catalog_entry e = { 0 };
    e.path = (char *)path;
    e.type = OFS_ENTRY_FILE;
    e.mode = 0640;
    e.uid = getuid();
    e.gid = getgid();
    e.size = size;
    e.mtime_sec = 1700000000;
    e.mtime_nsec = 987654321;
    e.has_sha256 = 1;
    ofs_sha256_buffer(data, size, e.sha256);
    return e;
}

static int put_file(fixture *f, const ofs_catalog_entry *e, const void *data, size_t size)
{
    int rc = ofs_extract_file_begin(f->w, e);
    if (rc < 0)
        return rc;
    if (size > 0 && (rc = ofs_extract_file_write(f->w, 0, data, size)) < 0) {
        ofs_extract_file_abort(f->w);
        return rc;
    }
    return ofs_extract_file_commit(f->w, NULL, 0);
}

static void test_path_is_safe(void **state)
{
    (void)state;
    assert_true(ofs_path_is_safe("a"));
    assert_true(ofs_path_is_safe("srv/trading/positions.csv"));
    assert_true(ofs_path_is_safe("..a/b..c/.d"));
    assert_false(ofs_path_is_safe(""));
    assert_false(ofs_path_is_safe(NULL));
    assert_false(ofs_path_is_safe("/abs"));
    assert_false(ofs_path_is_safe(".."));
    assert_false(ofs_path_is_safe("../x"));
    assert_false(ofs_path_is_safe("a/../../x"));
    assert_false(ofs_path_is_safe("a/./b"));
    assert_false(ofs_path_is_safe("."));
    assert_false(ofs_path_is_safe("a//b"));
    assert_false(ofs_path_is_safe("a/"));
    assert_false(ofs_path_is_safe("a/.."));
}

/* ---- a hostile tar, extracted entry by entry as restore would without a catalog ---- */

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

static void tar_add(struct archive *a, const char *path, unsigned type, const char *data,
                    const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, 0644);
    if (link)
        archive_entry_copy_symlink(e, link);
    archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (data)
        assert_int_equal(archive_write_data(a, data, strlen(data)), (la_ssize_t)strlen(data));
    archive_entry_free(e);
}

/* Extracts every entry; returns the first failure with its message, 0 if all went in. */
static int extract_all(fixture *f, const tar_buf *b, int *failures)
{
    ofs_reader *r = NULL;
    ofs_tar_reader *t = NULL;
    ofs_tar_entry te;
    int rc, first = 0;
    static char first_message[512];
    assert_int_equal(ofs_memory_reader_new(&r, b->data, b->size, 0), 0);
    assert_int_equal(ofs_tar_reader_new(&t, r, "hostile"), 0);
    *failures = 0;
    while ((rc = ofs_tar_reader_next(t, &te)) == 1) {
        char data[256] = "";
        size_t n = 0;
        const void *block;
        size_t size;
        uint64_t offset;
        while (ofs_tar_reader_data(t, &block, &size, &offset) == 1) {
            memcpy(data + offset, block, size);
            n = offset + size;
        }
        ofs_catalog_entry e = file_entry(te.path, data, n);
        e.type = te.type;
        e.link_target = (char *)te.link_target;
        switch (te.type) {
        case OFS_ENTRY_FILE: rc = put_file(f, &e, data, n); break;
        case OFS_ENTRY_SYMLINK: rc = ofs_extract_symlink(f->w, &e); break;
        case OFS_ENTRY_DIR: rc = ofs_extract_dir(f->w, &e, NULL, 0); break;
        default: rc = 0; break;
        }
        if (rc < 0) {
            (*failures)++;
            if (!first) {
                first = rc;
                snprintf(first_message, sizeof(first_message), "%s", ofs_error_last());
            }
        }
    }
    assert_int_equal(rc, 0);
    ofs_tar_reader_free(t);
    if (first)
        ofs_error_set(first, "%s", first_message);
    return first;
}

static void test_hostile_paths(void **state)
{
    fixture *f = *state;
    tar_buf b = { 0 };
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    archive_write_open2(a, &b, NULL, buf_write, NULL, NULL);
    tar_add(a, "../x", AE_IFREG, "escape 1", NULL);
    tar_add(a, "/abs", AE_IFREG, "escape 2", NULL);
    tar_add(a, "a/../../x", AE_IFREG, "escape 3", NULL);
    archive_write_close(a);
    archive_write_free(a);

    int failures = 0;
    int rc = extract_all(f, &b, &failures);
    assert_int_equal(rc, OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "'../x': unsafe path (absolute, empty or with '..')");
    assert_int_equal(failures, 3);
    /* each was refused before anything was created, anywhere */
    assert_string_equal(list_dir(f->target), "");
    assert_string_equal(list_dir(path_in(f->dir, "target")), "sub");
    assert_string_equal(list_dir(f->dir), "outside target");
    assert_int_equal(access("/abs", F_OK), -1);
    free(b.data);
}

static void test_symlink_in_the_way(void **state)
{
    fixture *f = *state;
    tar_buf b = { 0 };
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    archive_write_open2(a, &b, NULL, buf_write, NULL, NULL);
    tar_add(a, "link", AE_IFLNK, NULL, f->outside);
    tar_add(a, "link/file", AE_IFREG, "through the link", NULL);
    tar_add(a, "link/deeper/file", AE_IFREG, "through the link", NULL);
    archive_write_close(a);
    archive_write_free(a);

    int failures = 0;
    int rc = extract_all(f, &b, &failures);
    assert_int_equal(rc, OFS_ERROR);
    assert_string_equal(ofs_error_last(), "link: not a directory (symlink in the way?)");
    assert_int_equal(failures, 2);
    assert_string_equal(list_dir(f->outside), "");
    struct stat st;
    assert_int_equal(lstat(path_in(f->target, "link"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    free(b.data);
}

static void test_file_in_the_way(void **state)
{
    fixture *f = *state;
    tar_buf b = { 0 };
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    archive_write_open2(a, &b, NULL, buf_write, NULL, NULL);
    tar_add(a, "plain", AE_IFREG, "a file", NULL);
    tar_add(a, "plain/inside", AE_IFREG, "needs a directory", NULL);
    archive_write_close(a);
    archive_write_free(a);

    int failures = 0;
    assert_int_equal(extract_all(f, &b, &failures), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "plain: not a directory (symlink in the way?)");
    assert_int_equal(failures, 1);
    assert_string_equal(read_text(path_in(f->target, "plain")), "a file");
    free(b.data);
}

static void test_directory_in_the_way(void **state)
{
    fixture *f = *state;
    assert_int_equal(mkdir(path_in(f->target, "d"), 0755), 0);
    ofs_catalog_entry e = file_entry("d", "x", 1);
    assert_int_equal(put_file(f, &e, "x", 1), OFS_EEXISTS);
    assert_string_equal(ofs_error_last(), "d: a directory is in the way");
    assert_string_equal(list_dir(f->target), "d");
    assert_string_equal(list_dir(path_in(f->target, "d")), "");
}

/* ---- files ---- */

static void test_file_metadata(void **state)
{
    fixture *f = *state;
    const char *text = "positions,42\n";
    ofs_catalog_entry e = file_entry("srv/trading/pos.csv", text, strlen(text));
    e.mode = 0750;
    assert_int_equal(put_file(f, &e, text, strlen(text)), 0);
    const char *p = path_in(f->target, "srv/trading/pos.csv");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_string_equal(read_text(p), text);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtim.tv_sec, 1700000000);
    assert_int_equal(st.st_mtim.tv_nsec, 987654321);
    assert_int_equal(st.st_uid, getuid());
    /* parents made on the way are private until their own entry says otherwise */
    assert_int_equal(stat(path_in(f->target, "srv/trading"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    ofs_extract_stats s;
    ofs_extract_get_stats(f->x, &s);
    assert_int_equal(s.files, 1);
    assert_int_equal(s.bytes, strlen(text));
    assert_int_equal(s.backups_kept, 0);
}

/* A file the decoder refuses is aborted: nothing reaches its final name, what was there stays,
 * and no temporary file is left (the checks themselves are the decoder's: test_consistency). */
static void test_abort_leaves_nothing(void **state)
{
    fixture *f = *state;
    ofs_catalog_entry e = file_entry("f", "expected", 8);
    write_text(path_in(f->target, "f"), "old");
    assert_int_equal(ofs_extract_file_begin(f->w, &e), 0);
    assert_int_equal(ofs_extract_file_write(f->w, 0, "tampered", 8), 0);
    assert_int_not_equal(strstr(list_dir(f->target), ".f.ofs-tmp-"), NULL);
    ofs_extract_file_abort(f->w);
    assert_string_equal(list_dir(f->target), "f");
    assert_string_equal(read_text(path_in(f->target, "f")), "old");

    ofs_catalog_entry g = file_entry("g", "expected", 8);
    assert_int_equal(ofs_extract_file_begin(f->w, &g), 0);
    assert_int_equal(ofs_extract_file_write(f->w, 0, "expected and more", 17), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "g: data beyond its size 8 in the archive");
    ofs_extract_file_abort(f->w);
    /* a file left open when the worker goes away is removed too */
    assert_int_equal(ofs_extract_file_begin(f->w, &g), 0);
    assert_int_equal(ofs_extract_file_write(f->w, 0, "exp", 3), 0);
    assert_int_not_equal(strstr(list_dir(f->target), ".g.ofs-tmp-"), NULL);
    ofs_extract_worker_free(f->w);
    f->w = NULL;
    assert_string_equal(list_dir(f->target), "f");
}

static void test_bak_and_overwrite(void **state)
{
    fixture *f = *state;
    ofs_catalog_entry e = file_entry("data.csv", "new", 3);
    assert_int_equal(open_extract(f, BAK_BESIDE), 0);
    write_text(path_in(f->target, "data.csv"), "old");
    assert_int_equal(put_file(f, &e, "new", 3), 0);
    assert_string_equal(list_dir(f->target),
                        "data.csv data.csv.pre_restore_20261121_171500.bak");
    assert_string_equal(read_text(path_in(f->target, "data.csv")), "new");
    assert_string_equal(read_text(path_in(f->target, "data.csv.pre_restore_20261121_171500.bak")),
                        "old");
    /* a second restore in the same second never overwrites the first copy */
    ofs_catalog_entry e2 = file_entry("data.csv", "newer", 5);
    assert_int_equal(put_file(f, &e2, "newer", 5), 0);
    assert_string_equal(list_dir(f->target),
                        "data.csv data.csv.pre_restore_20261121_171500.bak "
                        "data.csv.pre_restore_20261121_171500_2.bak");
    assert_string_equal(read_text(path_in(f->target,
                                          "data.csv.pre_restore_20261121_171500_2.bak")),
                        "new");
    ofs_extract_stats s;
    ofs_extract_get_stats(f->x, &s);
    assert_int_equal(s.backups_kept, 2);

    /* a symlink in place of a file is kept aside, never written through */
    assert_int_equal(symlink(path_in(f->outside, "victim"), path_in(f->target, "l")), 0);
    ofs_catalog_entry l = file_entry("l", "mine", 4);
    assert_int_equal(put_file(f, &l, "mine", 4), 0);
    assert_string_equal(list_dir(f->outside), "");
    struct stat st;
    assert_int_equal(lstat(path_in(f->target, "l.pre_restore_20261121_171500.bak"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    assert_int_equal(open_extract(f, OVERWRITE), 0);
    ofs_catalog_entry e3 = file_entry("data.csv", "final", 5);
    assert_int_equal(put_file(f, &e3, "final", 5), 0);
    assert_string_equal(read_text(path_in(f->target, "data.csv")), "final");
    ofs_extract_get_stats(f->x, &s);
    assert_int_equal(s.backups_kept, 0);
    assert_int_equal(strstr(list_dir(f->target), "_3.bak"), NULL);
}

/* The lines of the safety area's index below its 3 header lines. */
static char *index_lines(const char *area)
{
    static char out[4096];
    char *text = read_text(path_in(area, "INDEX.txt"));
    assert_non_null(text);
    assert_true(strncmp(text, "# offsite restore of backup b1 into ", 36) == 0);
    char *p = text;
    for (int i = 0; i < 3 && p; i++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    snprintf(out, sizeof(out), "%s", p ? p : "");
    return out;
}

static void test_safety_area(void **state)
{
    fixture *f = *state;
    char area[256], want[2048];
    snprintf(area, sizeof(area), "%s/.offsite-pre-restore-20261121_171500", f->target);
    /* nothing replaced: no safety area */
    ofs_catalog_entry fresh = file_entry("a/fresh", "x", 1);
    assert_int_equal(put_file(f, &fresh, "x", 1), 0);
    assert_string_equal(list_dir(f->target), "a");
    /* an edited file: moved under its path, the data directory holds only the restored file */
    write_text(path_in(f->target, "a/part-1.parquet"), "edited");
    ofs_catalog_entry e = file_entry("a/part-1.parquet", "orig", 4);
    assert_int_equal(put_file(f, &e, "orig", 4), 0);
    assert_string_equal(list_dir(path_in(f->target, "a")), "fresh part-1.parquet");
    assert_string_equal(read_text(path_in(area, "a/part-1.parquet")), "edited");
    struct stat st;
    assert_int_equal(stat(area, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    /* mirror's removal: a whole directory, and a name that needs quoting */
    mkdir(path_in(f->target, "a/extra"), 0755);
    write_text(path_in(f->target, "a/extra/x"), "1");
    write_text(path_in(f->target, "a/it's"), "2");
    assert_int_equal(ofs_extract_remove(f->w, "a/extra"), 0);
    assert_int_equal(ofs_extract_remove(f->w, "a/it's"), 0);
    assert_int_equal(ofs_extract_remove(f->w, "a/not-there"), 0);
    assert_int_equal(ofs_extract_remove(f->w, "nowhere/x"), 0);
    assert_string_equal(list_dir(path_in(f->target, "a")), "fresh part-1.parquet");
    assert_string_equal(read_text(path_in(area, "a/extra/x")), "1");
    /* the same path again in the same run: NAME~2 */
    write_text(path_in(f->target, "a/part-1.parquet"), "edited again");
    assert_int_equal(put_file(f, &e, "orig", 4), 0);
    assert_string_equal(list_dir(path_in(area, "a")), "extra it's part-1.parquet part-1.parquet~2");
    snprintf(want, sizeof(want),
             "replaced\ta/part-1.parquet\tmv -T -f -- '%s/a/part-1.parquet' '%s/a/part-1.parquet'\n"
             "removed\ta/extra\tmv -T -f -- '%s/a/extra' '%s/a/extra'\n"
             "removed\ta/it's\tmv -T -f -- '%s/a/it'\\''s' '%s/a/it'\\''s'\n"
             "replaced\ta/part-1.parquet~2\tmv -T -f -- '%s/a/part-1.parquet~2' "
             "'%s/a/part-1.parquet'\n",
             area, f->target, area, f->target, area, f->target, area, f->target);
    assert_string_equal(index_lines(area), want);
    ofs_extract_stats s;
    ofs_extract_get_stats(f->x, &s);
    assert_int_equal(s.backups_kept, 4);
    assert_string_equal(s.safety_path, area);
    assert_int_equal(ofs_extract_sync(f->x), 0);
    /* a second run in the same second gets an area of its own */
    assert_int_equal(open_extract(f, SAFETY_AREA), 0);
    write_text(path_in(f->target, "a/fresh"), "changed");
    assert_int_equal(put_file(f, &fresh, "x", 1), 0);
    assert_string_equal(read_text(path_in(f->target,
                                          ".offsite-pre-restore-20261121_171500_2/a/fresh")),
                        "changed");
}

static void test_safety_dir_elsewhere(void **state)
{
    fixture *f = *state;
    char safety[160], area[256];
    struct stat a, b;
    /* /dev/shm is another file system on most machines: the move becomes copy and remove */
    snprintf(safety, sizeof(safety), "/dev/shm/test_extract.%d", (int)getpid());
    snprintf(area, sizeof(area), "%s/offsite-pre-restore-20261121_171500", safety);
    int other = stat("/dev/shm", &a) == 0 && stat(f->dir, &b) == 0 && a.st_dev != b.st_dev;
    const char *where = other ? safety : path_in(f->dir, "safety");
    snprintf(area, sizeof(area), "%s/offsite-pre-restore-20261121_171500", where);
    assert_int_equal(open_extract_in(f, SAFETY_AREA, where), 0);
    mkdir(path_in(f->target, "d"), 0755);
    mkdir(path_in(f->target, "d/old"), 0750);
    write_text(path_in(f->target, "d/old/f"), "old file");
    assert_int_equal(symlink("f", path_in(f->target, "d/old/link")), 0);
    write_text(path_in(f->target, "d/g"), "old g");
    ofs_catalog_entry g = file_entry("d/g", "new", 3);
    assert_int_equal(put_file(f, &g, "new", 3), 0);
    assert_int_equal(ofs_extract_remove(f->w, "d/old"), 0);
    assert_string_equal(list_dir(path_in(f->target, "d")), "g");
    assert_string_equal(list_dir(f->target), "d"); /* nothing at the top of the target */
    assert_string_equal(read_text(path_in(area, "d/g")), "old g");
    assert_string_equal(read_text(path_in(area, "d/old/f")), "old file");
    char link[16] = "";
    assert_int_equal(readlink(path_in(area, "d/old/link"), link, sizeof(link) - 1), 1);
    struct stat st;
    assert_int_equal(stat(path_in(area, "d/old"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(ofs_extract_sync(f->x), 0);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", where);
    assert_int_equal(system(cmd), 0);
}

static void test_skip_existing(void **state)
{
    fixture *f = *state;
    assert_int_equal(open_extract(f, SKIP_EXISTING), 0);
    write_text(path_in(f->target, "kept"), "local");
    ofs_catalog_entry kept = file_entry("kept", "backed up", 9);
    ofs_catalog_entry missing = file_entry("missing", "restored", 8);
    assert_int_equal(put_file(f, &kept, "backed up", 9), 0);
    assert_int_equal(put_file(f, &missing, "restored", 8), 0);
    assert_string_equal(read_text(path_in(f->target, "kept")), "local");
    assert_string_equal(read_text(path_in(f->target, "missing")), "restored");
    assert_int_equal(symlink("elsewhere", path_in(f->target, "link")), 0);
    ofs_catalog_entry l = { .path = "link", .type = OFS_ENTRY_SYMLINK, .link_target = "t" };
    assert_int_equal(ofs_extract_symlink(f->w, &l), 0);
    char target[16] = "";
    assert_int_equal(readlink(path_in(f->target, "link"), target, sizeof(target) - 1), 9);
    assert_string_equal(list_dir(f->target), "kept link missing");
    ofs_extract_stats s;
    ofs_extract_get_stats(f->x, &s);
    assert_int_equal(s.skipped, 2);
    assert_int_equal(s.backups_kept, 0);
    assert_string_equal(s.safety_path, "");
}

static void test_names(void **state)
{
    fixture *f = *state;
    char **names = NULL;
    size_t count = 0;
    mkdir(path_in(f->target, "d"), 0755);
    write_text(path_in(f->target, "d/b"), "");
    write_text(path_in(f->target, "d/a"), "");
    assert_int_equal(ofs_extract_names(f->w, "d", &names, &count), 0);
    assert_int_equal(count, 2);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "b");
    ofs_extract_names_free(names, count);
    assert_int_equal(ofs_extract_names(f->w, "none", &names, &count), OFS_ENOTFOUND);
    assert_int_equal(ofs_extract_names(f->w, "d/a", &names, &count), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "d/a: not a directory");
    /* a symlink to a directory is not followed */
    assert_int_equal(symlink(f->outside, path_in(f->target, "l")), 0);
    assert_int_equal(ofs_extract_names(f->w, "l", &names, &count), OFS_ERROR);
}

static void test_sparse_round_trip(void **state)
{
    fixture *f = *state;
    size_t size = 8u << 20;
    unsigned char *data = calloc(1, size);
    memset(data, 'a', 5000);                /* first block and part of the second */
    memset(data + (4u << 20) + 100, 'b', 10);
    memset(data + size - 3, 'z', 3);        /* the tail, so the size is not all hole */
    ofs_catalog_entry e = file_entry("sparse.bin", data, size);
    assert_int_equal(ofs_extract_file_begin(f->w, &e), 0);
    /* odd block sizes, as libarchive hands them out */
    for (size_t at = 0; at < size;) {
        size_t n = 12345;
        if (n > size - at)
            n = size - at;
        assert_int_equal(ofs_extract_file_write(f->w, at, data + at, n), 0);
        at += n;
    }
    assert_int_equal(ofs_extract_file_commit(f->w, NULL, 0), 0);
    struct stat st;
    const char *p = path_in(f->target, "sparse.bin");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, size);
    assert_true((uint64_t)st.st_blocks * 512 < 1u << 20);
    unsigned char *back = malloc(size);
    int fd = open(p, O_RDONLY);
    assert_int_equal(read(fd, back, size), (ssize_t)size);
    close(fd);
    assert_memory_equal(back, data, size);

    /* a hole in the archive itself (offset jumps ahead), ending in a hole */
    memset(data, 0, size);
    memcpy(data, "head", 4);
    ofs_catalog_entry g = file_entry("holes.bin", data, size);
    assert_int_equal(ofs_extract_file_begin(f->w, &g), 0);
    assert_int_equal(ofs_extract_file_write(f->w, 0, "head", 4), 0);
    assert_int_equal(ofs_extract_file_write(f->w, size, "", 0), 0);
    assert_int_equal(ofs_extract_file_write(f->w, 1, "x", 1), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "holes.bin: data out of order in the archive");
    assert_int_equal(ofs_extract_file_commit(f->w, NULL, 0), 0);
    assert_int_equal(stat(path_in(f->target, "holes.bin"), &st), 0);
    assert_int_equal(st.st_size, size);
    assert_true(st.st_blocks <= 16);
    free(back);
    free(data);
}

/* ---- other types ---- */

static void test_symlink_fifo_hardlink(void **state)
{
    fixture *f = *state;
    ofs_catalog_entry e = file_entry("dir/first", "shared", 6);
    assert_int_equal(put_file(f, &e, "shared", 6), 0);

    ofs_catalog_entry l = { .path = "dir/link", .type = OFS_ENTRY_SYMLINK,
                            .link_target = "../../outside/anything", .mtime_sec = 1600000000,
                            .mtime_nsec = 5, .uid = getuid(), .gid = getgid() };
    assert_int_equal(ofs_extract_symlink(f->w, &l), 0);
    char buf[256];
    ssize_t n = readlink(path_in(f->target, "dir/link"), buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "../../outside/anything");
    struct stat st;
    assert_int_equal(lstat(path_in(f->target, "dir/link"), &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1600000000);
    assert_int_equal(st.st_mtim.tv_nsec, 5);

    ofs_catalog_entry p = { .path = "dir/pipe", .type = OFS_ENTRY_FIFO, .mode = 0620,
                            .mtime_sec = 1600000001, .uid = getuid(), .gid = getgid() };
    assert_int_equal(ofs_extract_fifo(f->w, &p, NULL, 0), 0);
    assert_int_equal(lstat(path_in(f->target, "dir/pipe"), &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0620);

    ofs_catalog_entry h = { .path = "other/second", .type = OFS_ENTRY_HARDLINK,
                            .link_target = "dir/first" };
    assert_int_equal(ofs_extract_hardlink(f->w, &h), 0);
    struct stat a, b;
    assert_int_equal(stat(path_in(f->target, "dir/first"), &a), 0);
    assert_int_equal(stat(path_in(f->target, "other/second"), &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_nlink, 2);

    ofs_catalog_entry bad = { .path = "other/third", .type = OFS_ENTRY_HARDLINK,
                              .link_target = "../x" };
    assert_int_equal(ofs_extract_hardlink(f->w, &bad), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "other/third: unsafe hard link target '../x'");
    ofs_catalog_entry to_link = { .path = "other/fourth", .type = OFS_ENTRY_HARDLINK,
                                  .link_target = "dir/link" };
    assert_int_equal(ofs_extract_hardlink(f->w, &to_link), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(),
                        "other/fourth: hard link target 'dir/link' is not a regular file");
    ofs_catalog_entry missing = { .path = "other/fifth", .type = OFS_ENTRY_HARDLINK,
                                  .link_target = "dir/none" };
    assert_int_equal(ofs_extract_hardlink(f->w, &missing), OFS_ENOTFOUND);
    assert_string_equal(ofs_error_last(),
                        "other/fifth: hard link target 'dir/none': No such file or directory");
    assert_string_equal(list_dir(path_in(f->target, "other")), "second");
    ofs_extract_stats s;
    ofs_extract_get_stats(f->x, &s);
    assert_int_equal(s.symlinks, 1);
    assert_int_equal(s.fifos, 1);
    assert_int_equal(s.hardlinks, 1);
}

static void test_directories_last(void **state)
{
    fixture *f = *state;
    ofs_catalog_entry top = { .path = "ro", .type = OFS_ENTRY_DIR, .mode = 0555,
                              .mtime_sec = 1500000000, .mtime_nsec = 42, .uid = getuid(),
                              .gid = getgid() };
    ofs_catalog_entry sub = { .path = "ro/sub", .type = OFS_ENTRY_DIR, .mode = 0750,
                              .mtime_sec = 1500000001, .uid = getuid(), .gid = getgid() };
    assert_int_equal(ofs_extract_dir(f->w, &top, NULL, 0), 0);
    assert_int_equal(ofs_extract_dir(f->w, &sub, NULL, 0), 0);
    ofs_catalog_entry e = file_entry("ro/sub/file", "x", 1);
    assert_int_equal(put_file(f, &e, "x", 1), 0);
    /* deepest first, as restore does */
    assert_int_equal(ofs_extract_dir_metadata(f->w, &sub), 0);
    assert_int_equal(ofs_extract_dir_metadata(f->w, &top), 0);
    struct stat st;
    assert_int_equal(stat(path_in(f->target, "ro"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0555);
    assert_int_equal(st.st_mtim.tv_sec, 1500000000);
    assert_int_equal(st.st_mtim.tv_nsec, 42);
    assert_int_equal(stat(path_in(f->target, "ro/sub"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_mtim.tv_sec, 1500000001);

    /* a file where a directory entry goes is moved into the safety area */
    write_text(path_in(f->target, "was-file"), "keep me");
    ofs_catalog_entry d = { .path = "was-file", .type = OFS_ENTRY_DIR, .mode = 0755 };
    assert_int_equal(ofs_extract_dir(f->w, &d, NULL, 0), 0);
    assert_int_equal(stat(path_in(f->target, "was-file"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_string_equal(read_text(path_in(f->target,
                                          ".offsite-pre-restore-20261121_171500/was-file")),
                        "keep me");
    assert_int_equal(ofs_extract_sync(f->x), 0);
}

static void test_lookup(void **state)
{
    fixture *f = *state;
    struct stat st;
    write_text(path_in(f->target, "file"), "x");
    assert_int_equal(symlink(f->outside, path_in(f->target, "link")), 0);
    assert_int_equal(ofs_extract_lookup(f->w, "file", &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(ofs_extract_lookup(f->w, "none", &st), OFS_ENOTFOUND);
    assert_int_equal(ofs_extract_lookup(f->w, "none/deeper", &st), OFS_ENOTFOUND);
    /* a symlink in place of a parent is what a restore would replace */
    assert_int_equal(ofs_extract_lookup(f->w, "link/x", &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_string_equal(list_dir(f->target), "file link");
}

static void test_target_errors(void **state)
{
    fixture *f = *state;
    ofs_extract *x = NULL;
    char missing[200];
    snprintf(missing, sizeof(missing), "%s/missing", f->dir);
    ofs_extract_options o = { .target_dir = missing };
    assert_int_equal(ofs_extract_open(&x, &o), OFS_ENOTFOUND);
    char expected[300];
    snprintf(expected, sizeof(expected),
             "cannot open the target directory '%s': No such file or directory", missing);
    assert_string_equal(ofs_error_last(), expected);
    assert_null(x);
    assert_int_equal(access(missing, F_OK), -1);
}

/* ---- fewer calls per file, and durability ---- */

/* Files are created with their own permission bits, so most need no fchmod; whatever the
 * umask takes off, a read-only or a setuid mode, the result is the catalog's mode. */
static void test_modes_through_creation(void **state)
{
    fixture *f = *state;
    static const struct { const char *name; unsigned mode; } cases[] = {
        { "plain", 0644 }, { "private", 0600 }, { "group", 0664 }, { "readonly", 0444 },
        { "none", 0000 }, { "exec", 0755 }, { "setuid", 04755 }, { "sticky", 01777 },
    };
    mode_t old = umask(077);
    assert_int_equal(open_extract(f, 0), 0); /* the umask is read when the extract opens */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ofs_catalog_entry e = file_entry(cases[i].name, "x", 1);
        e.mode = cases[i].mode;
        assert_int_equal(put_file(f, &e, "x", 1), 0);
        struct stat st;
        assert_int_equal(stat(path_in(f->target, cases[i].name), &st), 0);
        assert_int_equal(st.st_mode & 07777, cases[i].mode);
        assert_int_equal(st.st_size, 1);
    }
    umask(old);
    assert_string_equal(list_dir(f->target),
                        "exec group none plain private readonly setuid sticky");
}

/* As root, the owner is set only where creation did not give it: into a setgid directory a
 * file gets the directory's group, which the catalog's group must replace. */
static void test_owner_through_creation(void **state)
{
    fixture *f = *state;
    if (geteuid() != 0)
        skip();
    assert_int_equal(mkdir(path_in(f->target, "shared"), 0755), 0);
    assert_int_equal(chown(path_in(f->target, "shared"), 0, 4242), 0);
    assert_int_equal(chmod(path_in(f->target, "shared"), 02755), 0);
    ofs_catalog_entry mine = file_entry("shared/root-owned", "a", 1);
    mine.uid = 0;
    mine.gid = getegid();
    ofs_catalog_entry theirs = file_entry("shared/theirs", "b", 1);
    theirs.uid = 1234;
    theirs.gid = 5678;
    theirs.mode = 02750;
    ofs_catalog_entry top = file_entry("top", "c", 1);
    top.uid = 0;
    top.gid = getegid();
    assert_int_equal(put_file(f, &mine, "a", 1), 0);
    assert_int_equal(put_file(f, &theirs, "b", 1), 0);
    assert_int_equal(put_file(f, &top, "c", 1), 0);
    struct stat st;
    assert_int_equal(stat(path_in(f->target, "shared/root-owned"), &st), 0);
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_gid, getegid());
    assert_int_equal(stat(path_in(f->target, "shared/theirs"), &st), 0);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    assert_int_equal(st.st_mode & 07777, 02750); /* set after the chown that clears it */
    assert_int_equal(stat(path_in(f->target, "top"), &st), 0);
    assert_int_equal(st.st_gid, getegid());
}

/* Temporary names come from a per-worker sequence: distinct, in the documented form. */
static void test_tmp_names(void **state)
{
    fixture *f = *state;
    enum { N = 2000 };
    static char names[N][EXTRACT_NAME_MAX + 1];
    for (int i = 0; i < N; i++) {
        extract_tmp_name(f->w, names[i], "file.csv");
        assert_int_equal(strlen(names[i]), strlen(".file.csv.ofs-tmp-XXXXXX"));
        assert_memory_equal(names[i], ".file.csv.ofs-tmp-", 18);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(names[i], names[j]);
    }
}

/* ofs_extract_sync never reports success past a failed fsync, and names what failed (a pipe
 * stands in for a file the disk could not take: fsync on it fails with EINVAL). */
static void test_sync_failure_reported(void **state)
{
    fixture *f = *state;
    int p[2];
    ofs_catalog_entry e = file_entry("ok.csv", "fine", 4);
    assert_int_equal(put_file(f, &e, "fine", 4), 0);
    assert_int_equal(pipe(p), 0);
    close(p[1]);
    assert_int_equal(extract_sync_add(f->x->sync, p[0], "srv/lost.csv", 1), 0);
    assert_int_equal(ofs_extract_sync(f->x), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "srv/lost.csv: cannot make it durable: Invalid argument");
    /* the failure stays: a second wait does not turn it into success */
    assert_int_equal(ofs_extract_sync(f->x), OFS_ERROR);
    ofs_extract_stats s;
    ofs_extract_get_stats(f->x, &s);
    assert_true(s.sync_seconds >= 0);
    assert_string_equal(read_text(path_in(f->target, "ok.csv")), "fine");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_is_safe),
        cmocka_unit_test_setup_teardown(test_hostile_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_in_the_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_in_the_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_in_the_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bak_and_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_safety_area, setup, teardown),
        cmocka_unit_test_setup_teardown(test_safety_dir_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sparse_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_fifo_hardlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directories_last, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modes_through_creation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_through_creation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmp_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_failure_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
