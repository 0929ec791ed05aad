/*
 * file.c - the `file` store driver: objects are regular files under a root directory, the key
 * being the path below the root. Used for staging, NAS mounts and tests.
 *
 * Commit (after tarsnap's chunks_directory.c and pgBackRest's posix/write.c): an object is
 * written to "<dir>/.tmp-<name>-<random>" beside its final name, fsync'd, then renamed into
 * place (or, with OFS_PUT_IF_ABSENT, moved there only if the name is free), and the directory
 * is fsync'd, with the parents of any directory the put created, so that after a crash the
 * object is either whole under its key or absent. A writer freed without finish unlinks its
 * temporary file. Listings never show ".tmp*" names. Replace (the manifest's compare-and-swap)
 * holds an flock of the object's directory across its version check and rename.
 *
 * Messages are bare ("not found", "cannot write '...': ..."); store.c adds "NAME: KEY: ".
 * A ranged get whose offset lies past the end of the object returns an empty reader (the
 * caller sees end of stream at once), as a short object does for any range.
 */
#include "offsite/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "file_internal.h"

#define FILE_WRITE_BUFFER (256 * 1024)
#define FILE_READ_BUFFER (256 * 1024)
#define FILE_DIR_MODE 0700
#define FILE_OBJECT_MODE 0600
#define FILE_KEY_MAX 1024

typedef struct {
    ofs_store parent;
    char *root;
} file_store;

/* file_error(err, fmt, ...): a failed write-side syscall. ofs_error_from_errno's mapping suits
 * lookups, but when writing EEXIST would read as "the key exists" and ENOENT/ENOTDIR as "not
 * found"; here only space and permission keep their own codes. */
static int file_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int file_error(int err, const char *fmt, ...)
{
    char what[1400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    switch (err) {
    case ENOSPC: case EDQUOT: case EFBIG:
        return ofs_error_set(OFS_ENOSPC, "%s: %s\nHINT: free space on the file system holding "
                             "the store, or lower the retention", what, strerror(err));
    case EACCES: case EPERM: case EROFS:
        return ofs_error_set(OFS_EDENIED, "%s: %s", what, strerror(err));
    case EINTR:
        return ofs_error_set(OFS_ECANCELED, "%s: %s", what, strerror(err));
    default:
        return ofs_error_set(OFS_ERROR, "%s: %s", what, strerror(err));
    }
}

static int file_oom(void)
{
    return ofs_error_set(OFS_ERROR, "out of memory");
}

/* parent_of(path): the directory part, malloc'd; path always holds a '/' below the root. */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
}

/* remove_empty_parents(f, path): rmdir each directory above path up to (not including) the
 * root while they are empty (or already gone: a concurrent del got there first); returns the
 * first directory left standing (malloc'd) or NULL if out of memory. */
static char *remove_empty_parents(const file_store *f, const char *path)
{
    size_t root_len = strlen(f->root);
    char *dir = parent_of(path);

    while (dir && strlen(dir) > root_len && (rmdir(dir) == 0 || errno == ENOENT)) {
        char *up = parent_of(dir);
        free(dir);
        dir = up;
    }
    return dir;
}

/* ---- put ---- */

typedef struct {
    ofs_writer parent;
    file_store *store;
    char *path, *tmp, *dir;
    char *sync_top;   /* highest directory whose entries the put changed (created dirs) */
    unsigned flags;
    int fd;
    char *buf;
    size_t used;
} file_writer;

static int file_write_all(file_writer *fw, const char *p, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fw->fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return file_error(errno, "cannot write '%s'", fw->path);
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

static int file_writer_write(ofs_writer *w, const void *data, size_t size)
{
    file_writer *fw = (file_writer *)w;
    int rc;

    if (fw->used + size <= FILE_WRITE_BUFFER) {
        memcpy(fw->buf + fw->used, data, size);
        fw->used += size;
        return 0;
    }
    if (fw->used > 0) {
        if ((rc = file_write_all(fw, fw->buf, fw->used)) < 0)
            return rc;
        fw->used = 0;
    }
    if (size >= FILE_WRITE_BUFFER)
        return file_write_all(fw, data, size);
    memcpy(fw->buf, data, size);
    fw->used = size;
    return 0;
}

/* file_commit_name(fw): move the temporary file to its final name. With IF_ABSENT the move
 * must not replace anything: renameat2(NOREPLACE) where the file system has it, else link()
 * (atomic too), else - on file systems without hard links - a check then rename. */
static int file_commit_name(file_writer *fw)
{
    if (!(fw->flags & OFS_PUT_IF_ABSENT)) {
        if (rename(fw->tmp, fw->path) < 0)
            return file_error(errno, "cannot rename into '%s'", fw->path);
        return 0;
    }
    if (renameat2(AT_FDCWD, fw->tmp, AT_FDCWD, fw->path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return ofs_error_set(OFS_EEXISTS, "already exists");
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return file_error(errno, "cannot rename into '%s'", fw->path);
    if (link(fw->tmp, fw->path) == 0) {
        unlink(fw->tmp);
        return 0;
    }
    if (errno == EEXIST)
        return ofs_error_set(OFS_EEXISTS, "already exists");
    if (errno != EPERM && errno != ENOTSUP)
        return file_error(errno, "cannot link into '%s'", fw->path);
    if (access(fw->path, F_OK) == 0)
        return ofs_error_set(OFS_EEXISTS, "already exists");
    if (rename(fw->tmp, fw->path) < 0)
        return file_error(errno, "cannot rename into '%s'", fw->path);
    return 0;
}

static int file_writer_finish(ofs_writer *w)
{
    file_writer *fw = (file_writer *)w;
    int rc;

    if (fw->used > 0) {
        if ((rc = file_write_all(fw, fw->buf, fw->used)) < 0)
            return rc;
        fw->used = 0;
    }
    if (fsync(fw->fd) < 0)
        return file_error(errno, "cannot fsync '%s'", fw->path);
    rc = close(fw->fd);
    fw->fd = -1;
    if (rc < 0)
        return file_error(errno, "cannot close '%s'", fw->path);
    if ((rc = file_commit_name(fw)) < 0)
        return rc;
    free(fw->tmp);
    fw->tmp = NULL; /* committed: nothing left to unlink */
    /* the new entry, then every directory entry this put created, up to sync_top */
    char *dir = strdup(fw->dir);
    while (dir) {
        if ((rc = ofs_fsync_dir(dir)) < 0)
            break;
        if (!fw->sync_top || strlen(dir) <= strlen(fw->sync_top))
            break;
        char *up = parent_of(dir);
        free(dir);
        dir = up;
    }
    if (!dir)
        rc = file_oom();
    free(dir);
    return rc;
}

static void file_writer_free(ofs_writer *w)
{
    file_writer *fw = (file_writer *)w;
    if (!fw)
        return;
    if (fw->fd >= 0)
        close(fw->fd);
    if (fw->tmp) {
        unlink(fw->tmp);
        free(remove_empty_parents(fw->store, fw->tmp));
    }
    free(fw->path);
    free(fw->tmp);
    free(fw->dir);
    free(fw->sync_top);
    free(fw->buf);
    free(fw);
}

static const struct ofs_writer_ops file_writer_ops = { file_writer_write, file_writer_finish,
                                                       file_writer_free };

/* deepest_existing(f, dir): the deepest existing ancestor of dir, if dir is missing
 * (so the put will create directories whose entries need an fsync); NULL if dir exists. */
static char *deepest_existing(const file_store *f, const char *dir)
{
    struct stat st;
    char *d;

    if (stat(dir, &st) == 0)
        return NULL;
    d = strdup(dir);
    while (d && strlen(d) > strlen(f->root) && stat(d, &st) < 0) {
        char *up = parent_of(d);
        free(d);
        d = up;
    }
    return d;
}

/* file_open_tmp(fw, base): create the temporary file; the directory is made first, and made
 * again if a concurrent del removed it as empty in between (a few times at most). */
static int file_open_tmp(file_writer *fw, const char *base)
{
    size_t base_len = strlen(base);
    size_t len;
    int rc;

    /* a name of at most 255 bytes: ".tmp-" + up to 200 of the base + "-" + 16 hex */
    if (base_len > 200)
        base_len = 200;
    len = strlen(fw->dir) + base_len + 32;
    if (!(fw->tmp = malloc(len)))
        return file_oom();
    /* many tries: under load, a del emptying the directory can win the race several times */
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned char rnd[8] = { 0 };
        if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
            /* never fatal: O_EXCL below catches a collision */
            unsigned long v = (unsigned long)getpid() * 2654435761u + (unsigned long)attempt;
            memcpy(rnd, &v, sizeof(rnd) < sizeof(v) ? sizeof(rnd) : sizeof(v));
        }
        snprintf(fw->tmp, len, "%s/.tmp-%.*s-%02x%02x%02x%02x%02x%02x%02x%02x", fw->dir,
                 (int)base_len, base, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
                 rnd[7]);
        if ((rc = ofs_mkdir_p(fw->dir, FILE_DIR_MODE)) < 0) {
            /* a concurrent del may remove a directory as empty while it is being made (ENOENT,
             * or gone again at mkdir_p's last check): try again. For a put "not found" means
             * nothing (ENOTDIR: a parent is an object), so it ends as OFS_ERROR. */
            if (rc == OFS_ENOTFOUND)
                rc = OFS_ERROR;
            if (rc == OFS_ERROR)
                continue;
            break;
        }
        fw->fd = open(fw->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_OBJECT_MODE);
        if (fw->fd >= 0)
            return 0;
        int err = errno;
        rc = file_error(err, "cannot create a temporary file in '%s'", fw->dir);
        if (err != ENOENT && err != EEXIST && err != EINTR)
            break;
    }
    free(fw->tmp);
    fw->tmp = NULL;
    return rc;
}

static int file_put(ofs_store *s, const char *key, unsigned flags, ofs_writer **out)
{
    file_store *f = (file_store *)s;
    file_writer *fw = NULL;
    int rc = 0;

    if (!(fw = calloc(1, sizeof(*fw)))) {
        rc = file_oom();
        goto cleanup;
    }
    fw->parent.ops = &file_writer_ops;
    fw->store = f;
    fw->flags = flags;
    fw->fd = -1;
    if (!(fw->path = ofs_path_join(f->root, key)) || !(fw->dir = parent_of(fw->path)) ||
        !(fw->buf = malloc(FILE_WRITE_BUFFER))) {
        rc = file_oom();
        goto cleanup;
    }
    fw->sync_top = deepest_existing(f, fw->dir);
    if ((rc = file_open_tmp(fw, strrchr(fw->path, '/') + 1)) < 0)
        goto cleanup;
    *out = &fw->parent;
    fw = NULL;
cleanup:
    file_writer_free(fw ? &fw->parent : NULL);
    return rc;
}

/* ---- get ---- */

typedef struct {
    ofs_reader parent;
    int fd;
    char *path;
    uint64_t left;     /* bytes of the range still to read */
    char *buf;         /* for small reads: one big read() serves many */
    size_t pos, have;
} file_reader;

static int file_read_fd(file_reader *fr, char *buf, size_t size, size_t *got)
{
    if (size > fr->left)
        size = (size_t)fr->left;
    *got = 0;
    while (size > 0) {
        ssize_t n = read(fr->fd, buf, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ofs_error_from_errno(errno, "cannot read '%s'", fr->path);
        *got = (size_t)n;
        fr->left -= (uint64_t)n;
        break;
    }
    return 0;
}

static int file_reader_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    file_reader *fr = (file_reader *)r;
    int rc;

    if (fr->pos == fr->have) {
        if (size >= FILE_READ_BUFFER / 4)
            return file_read_fd(fr, buf, size, got); /* big reads need no copy */
        if (!fr->buf && !(fr->buf = malloc(FILE_READ_BUFFER)))
            return file_oom();
        fr->pos = fr->have = 0;
        if ((rc = file_read_fd(fr, fr->buf, FILE_READ_BUFFER, &fr->have)) < 0)
            return rc;
    }
    *got = fr->have - fr->pos < size ? fr->have - fr->pos : size;
    memcpy(buf, fr->buf + fr->pos, *got);
    fr->pos += *got;
    return 0;
}

static void file_reader_free(ofs_reader *r)
{
    file_reader *fr = (file_reader *)r;
    if (!fr)
        return;
    if (fr->fd >= 0)
        close(fr->fd);
    free(fr->path);
    free(fr->buf);
    free(fr);
}

static const struct ofs_reader_ops file_reader_ops = { file_reader_read, file_reader_free };

/* An object is a regular file; anything else under a key (a directory left by a failed
 * write, a socket) is "not found" - the listing does not show it either. */
static int file_not_object(const char *path)
{
    return ofs_error_set(OFS_ENOTFOUND, "not found ('%s' is not a regular file)", path);
}

static int file_get(ofs_store *s, const char *key, uint64_t offset, uint64_t length,
                    ofs_reader **out)
{
    file_store *f = (file_store *)s;
    file_reader *fr = NULL;
    struct stat st;
    int rc = 0;

    if (!(fr = calloc(1, sizeof(*fr)))) {
        rc = file_oom();
        goto cleanup;
    }
    fr->parent.ops = &file_reader_ops;
    if (!(fr->path = ofs_path_join(f->root, key))) {
        rc = file_oom();
        goto cleanup;
    }
    fr->fd = open(fr->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fr->fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR
                 ? ofs_error_set(OFS_ENOTFOUND, "not found")
                 : ofs_error_from_errno(errno, "cannot open '%s'", fr->path);
        goto cleanup;
    }
    if (fstat(fr->fd, &st) < 0) {
        rc = ofs_error_from_errno(errno, "cannot stat '%s'", fr->path);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = file_not_object(fr->path);
        goto cleanup;
    }
    fcntl(fr->fd, F_SETFL, 0); /* O_NONBLOCK was only so a FIFO under a key cannot hang open */
    if (offset >= (uint64_t)st.st_size)
        fr->left = 0;
    else
        fr->left = length ? length : UINT64_MAX;
    if (offset > 0 && fr->left > 0 && lseek(fr->fd, (off_t)offset, SEEK_SET) < 0) {
        rc = ofs_error_from_errno(errno, "cannot seek in '%s'", fr->path);
        goto cleanup;
    }
    posix_fadvise(fr->fd, (off_t)offset, length > INT64_MAX ? 0 : (off_t)length,
                  POSIX_FADV_SEQUENTIAL);
    *out = &fr->parent;
    fr = NULL;
cleanup:
    file_reader_free(fr ? &fr->parent : NULL);
    return rc;
}

/* ---- stat ---- */

/* file_version(st, out): inode, size and mtime in ns - every commit renames a new inode in */
static void file_version(const struct stat *st, char out[OFS_STORE_VERSION_MAX])
{
    snprintf(out, OFS_STORE_VERSION_MAX, "%ju-%jd-%jd.%09ld", (uintmax_t)st->st_ino,
             (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
}

static int file_stat(ofs_store *s, const char *key, ofs_object_info *info)
{
    file_store *f = (file_store *)s;
    char *path = ofs_path_join(f->root, key);
    struct stat st;
    int rc = 0;

    if (!path)
        return file_oom();
    if (stat(path, &st) < 0)
        rc = errno == ENOENT || errno == ENOTDIR ? ofs_error_set(OFS_ENOTFOUND, "not found")
                                                 : ofs_error_from_errno(errno, "cannot stat '%s'",
                                                                        path);
    else if (!S_ISREG(st.st_mode))
        rc = file_not_object(path);
    else {
        info->size = (uint64_t)st.st_size;
        info->mtime = (int64_t)st.st_mtime;
        file_version(&st, info->version);
    }
    free(path);
    return rc;
}

/* file_replace: the store layer's check-then-write under an exclusive flock of the object's
 * directory, so two processes - or two hosts sharing the directory over NFS, where flock is a
 * lock on the server - cannot interleave. Where the lock cannot be had the check still runs
 * (a narrow window, as store.h says of stores without an atomic replace). */
static int file_replace(ofs_store *s, const char *key, const char *version, const void *data,
                        size_t size, char new_version[OFS_STORE_VERSION_MAX])
{
    file_store *f = (file_store *)s;
    char *path = ofs_path_join(f->root, key), *dir = path ? parent_of(path) : NULL;
    int dirfd = -1, rc;

    if (!dir) {
        rc = file_oom();
        goto cleanup;
    }
    if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        while ((rc = flock(dirfd, LOCK_EX)) < 0 && errno == EINTR)
            ;
        if (rc < 0)
            ofs_log_debug("%s: %s: no lock on '%s' (%s): checking without one", s->name, key,
                          dir, strerror(errno));
    }
    /* the version read after the write is still under the lock: nobody else's in between */
    rc = ofs_store_replace_checked(s, key, version, data, size, new_version);
cleanup:
    if (dirfd >= 0)
        close(dirfd); /* releases the lock */
    free(dir);
    free(path);
    return rc;
}

/* ---- list ---- */

typedef struct {
    char *key;
    ofs_object_info info;
} list_entry;

typedef struct {
    list_entry *items;
    size_t count, cap;
    char *root_path; /* for messages */
} list_state;

static int list_add(list_state *l, const char *key, const struct stat *st)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        list_entry *bigger = realloc(l->items, cap * sizeof(*bigger));
        if (!bigger)
            return file_oom();
        l->items = bigger;
        l->cap = cap;
    }
    if (!(l->items[l->count].key = strdup(key)))
        return file_oom();
    l->items[l->count].info.size = (uint64_t)st->st_size;
    l->items[l->count].info.mtime = (int64_t)st->st_mtime;
    l->count++;
    return 0;
}

/* list_walk(l, dirfd, rel, match): add every object below the open directory dirfd, whose
 * key prefix is rel ("" or ending in '/'); at the top only names starting with match count.
 * dirfd is consumed. Entries vanishing under us (a concurrent del) are skipped. */
static int list_walk(list_state *l, int dirfd, const char *rel, const char *match)
{
    DIR *d = fdopendir(dirfd);
    size_t match_len = strlen(match), rel_len = strlen(rel);
    char *key = NULL;
    int rc = 0;

    if (!d) {
        rc = ofs_error_from_errno(errno, "cannot list '%s/%s'", l->root_path, rel);
        close(dirfd);
        return rc;
    }
    for (;;) {
        struct dirent *e;
        struct stat st;
        size_t name_len;

        errno = 0;
        if (!(e = readdir(d))) {
            if (errno != 0)
                rc = ofs_error_from_errno(errno, "cannot list '%s/%s'", l->root_path, rel);
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strncmp(e->d_name, ".tmp", 4) == 0 || strncmp(e->d_name, match, match_len) != 0)
            continue;
        name_len = strlen(e->d_name);
        if (rel_len + name_len > FILE_KEY_MAX)
            continue; /* too long to be a key, or to lead to one */
        free(key);
        if (!(key = malloc(rel_len + name_len + 2))) {
            rc = file_oom();
            break;
        }
        memcpy(key, rel, rel_len);
        memcpy(key + rel_len, e->d_name, name_len + 1);
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            rc = ofs_error_from_errno(errno, "cannot stat '%s/%s'", l->root_path, key);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                if (errno == ENOENT)
                    continue;
                rc = ofs_error_from_errno(errno, "cannot list '%s/%s'", l->root_path, key);
                break;
            }
            key[rel_len + name_len] = '/';
            key[rel_len + name_len + 1] = '\0';
            if ((rc = list_walk(l, sub, key, "")) < 0)
                break;
        } else if (S_ISREG(st.st_mode) && ofs_store_key_check(key) == 0) {
            /* a stray file whose name is no valid key is not an object of ours */
            if ((rc = list_add(l, key, &st)) < 0)
                break;
        }
    }
    free(key);
    closedir(d);
    return rc;
}

static int list_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const list_entry *)a)->key, ((const list_entry *)b)->key);
}

/* Keys are collected, then sorted as whole strings: a directory walk cannot give byte order
 * by itself ("a-c" sorts before "a/b", but the directory "a" comes before the file "a-c"). */
static int file_list(ofs_store *s, const char *prefix, ofs_store_list_fn fn, void *ctx)
{
    file_store *f = (file_store *)s;
    list_state l = { .root_path = f->root };
    const char *slash = strrchr(prefix, '/');
    char *rel = NULL, *dir = NULL;
    int fd = -1, rc = 0;

    /* start in the deepest directory the prefix names in full; match the rest by name */
    if (!(rel = strndup(prefix, slash ? (size_t)(slash - prefix) + 1 : 0)) ||
        !(dir = ofs_path_join(f->root, rel))) {
        rc = file_oom();
        goto cleanup;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            rc = ofs_error_from_errno(errno, "cannot list '%s'", dir);
        goto cleanup; /* nothing stored under that prefix yet */
    }
    rc = list_walk(&l, fd, rel, slash ? slash + 1 : prefix);
    fd = -1;
    if (rc < 0)
        goto cleanup;
    if (l.count > 1)
        qsort(l.items, l.count, sizeof(*l.items), list_entry_cmp);
    for (size_t i = 0; i < l.count && rc == 0; i++)
        rc = fn(ctx, l.items[i].key, &l.items[i].info);
cleanup:
    for (size_t i = 0; i < l.count; i++)
        free(l.items[i].key);
    free(l.items);
    free(rel);
    free(dir);
    return rc;
}

/* ---- del ---- */

/* Unlink, then remove directories the object leaves empty (a pruned backup leaves no empty
 * "data/daily/ID/"), then fsync the directory that lost an entry: one fsync per delete, so a
 * deleted record stays deleted after a crash. */
static int file_del(ofs_store *s, const char *key)
{
    file_store *f = (file_store *)s;
    char *path = ofs_path_join(f->root, key), *standing = NULL;
    int rc = 0;

    if (!path)
        return file_oom();
    if (unlink(path) < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            rc = errno == EISDIR || errno == EPERM
                     ? ofs_error_set(OFS_ERROR, "cannot delete '%s': not a regular file", path)
                     : file_error(errno, "cannot delete '%s'", path);
        goto cleanup;
    }
    standing = remove_empty_parents(f, path);
    if (!standing)
        rc = file_oom();
    else if ((rc = ofs_fsync_dir(standing)) == OFS_ENOTFOUND)
        rc = 0; /* emptied and removed meanwhile by another del, which syncs its parent */
cleanup:
    free(path);
    free(standing);
    return rc;
}

/* ---- the store ---- */

static void file_free(ofs_store *s)
{
    file_store *f = (file_store *)s;
    free(f->parent.name);
    free(f->parent.description);
    free(f->root);
    free(f);
}

static int file_sweep(ofs_store *s, int64_t before, ofs_store_sweep_stats *stats)
{
    return file_sweep_root(((file_store *)s)->root, before, stats);
}

static const struct ofs_store_ops file_store_ops = {
    .put = file_put, .get = file_get, .stat = file_stat, .list = file_list, .del = file_del,
    .free = file_free, .replace = file_replace, .sweep = file_sweep
};

int ofs_store_file_new(ofs_store **out, const char *name, const char *root)
{
    file_store *f = NULL;
    size_t len;
    int rc = 0;

    *out = NULL;
    if (!root || !*root)
        return ofs_error_set(OFS_ECONFIG, "%s: file store without a path", name);
    if (!(f = calloc(1, sizeof(*f))) || !(f->root = strdup(root)) ||
        !(f->parent.name = strdup(name))) {
        rc = file_oom();
        goto cleanup;
    }
    len = strlen(f->root);
    while (len > 1 && f->root[len - 1] == '/')
        f->root[--len] = '\0'; /* "ROOT/" + key stays one slash, and parents stop at ROOT */
    if (asprintf(&f->parent.description, "file %s", f->root) < 0) {
        f->parent.description = NULL;
        rc = file_oom();
        goto cleanup;
    }
    f->parent.ops = &file_store_ops;
    f->parent.caps = OFS_STORE_CAP_RANGE | OFS_STORE_CAP_CONDITIONAL | OFS_STORE_CAP_LOCAL |
                     OFS_STORE_CAP_CONCURRENT | OFS_STORE_CAP_ATOMIC_REPLACE;
    if ((rc = ofs_mkdir_p(f->root, FILE_DIR_MODE)) < 0) {
        rc = ofs_error_wrap(rc, "%s: cannot create the store's directory", name);
        goto cleanup;
    }
    *out = &f->parent;
    f = NULL;
cleanup:
    if (f)
        file_free(&f->parent);
    return rc;
}
