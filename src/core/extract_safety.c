/* extract_safety.c - a restore's safety area: what a restore replaces or (with mirror)
 * removes is moved there under its relative path, never left in a data directory where a
 * reader could pick it up, and INDEX.txt says how to put each entry back. See extract.h. */
#include "extract_internal.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAFETY_INDEX "INDEX.txt"

struct extract_safety {
    pthread_mutex_t lock;         /* moves are rare: one at a time, index lines in order */
    const ofs_extract *x;
    char *parent;                 /* where the area is made: safety_dir, or NULL = the target */
    char *label;
    char name[128];               /* [.]offsite-pre-restore-STAMP */
    char *path;                   /* the area, once made (absolute) */
    char *target;                 /* the target, absolute: the index's commands work from
                                     any directory */
    int fd, parent_fd, index_fd;  /* -1 until made; parent_fd may be x->target_fd */
};

int extract_safety_new(extract_safety **out, const ofs_extract *x,
                       const ofs_extract_options *opts)
{
    extract_safety *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s)
        return ofs_error_set(OFS_ERROR, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    s->x = x;
    s->fd = s->parent_fd = s->index_fd = -1;
    /* a hidden name at the top of the target; a name of its own in a directory made for it */
    snprintf(s->name, sizeof(s->name), "%soffsite-pre-restore-%s",
             opts->safety_dir ? "" : ".", x->stamp);
    if ((opts->safety_dir && !(s->parent = strdup(opts->safety_dir))) ||
        (opts->label && !(s->label = strdup(opts->label)))) {
        extract_safety_free(s);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    *out = s;
    return 0;
}

void extract_safety_free(extract_safety *s)
{
    if (!s)
        return;
    if (s->index_fd >= 0)
        close(s->index_fd);
    if (s->fd >= 0)
        close(s->fd);
    if (s->parent_fd >= 0 && s->parent_fd != s->x->target_fd)
        close(s->parent_fd);
    pthread_mutex_destroy(&s->lock);
    free(s->parent);
    free(s->label);
    free(s->path);
    free(s->target);
    free(s);
}

const char *extract_safety_path(const extract_safety *s)
{
    return s ? s->path : NULL;
}

static int safety_write(extract_safety *s, const char *text)
{
    size_t n = strlen(text);
    while (n > 0) {
        ssize_t w = write(s->index_fd, text, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return ofs_error_from_errno(errno, "cannot write '%s/%s'", s->path, SAFETY_INDEX);
        text += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Makes the area (caller holds the lock): its directory, 0700, and the index's header. */
static int safety_make(extract_safety *s)
{
    char base[160], header[1024], started[32];
    int rc;
    if (s->fd >= 0)
        return 0;
    free(s->path); /* an earlier attempt that failed half-way */
    free(s->target);
    s->path = s->target = NULL;
    if (s->index_fd >= 0)
        close(s->index_fd);
    s->index_fd = -1;
    if (!s->parent) {
        s->parent_fd = s->x->target_fd;
    } else if (s->parent_fd < 0) {
        if ((rc = ofs_mkdir_p(s->parent, 0700)) < 0)
            return ofs_error_wrap(rc, "safety_dir");
        s->parent_fd = open(s->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->parent_fd < 0)
            return ofs_error_from_errno(errno, "cannot open safety_dir '%s'", s->parent);
    }
    for (int n = 1;; n++) {
        if (n == 1)
            snprintf(base, sizeof(base), "%s", s->name);
        else
            snprintf(base, sizeof(base), "%s_%d", s->name, n);
        if (mkdirat(s->parent_fd, base, 0700) == 0)
            break;
        if (errno != EEXIST || n == 999)
            return ofs_error_from_errno(errno, "cannot create the safety area '%s' in '%s'",
                                        base, s->parent ? s->parent : s->x->target_dir);
    }
    char *made = ofs_path_join(s->parent ? s->parent : s->x->target_dir, base);
    if (!made)
        return ofs_error_set(OFS_ERROR, "out of memory");
    s->path = realpath(made, NULL);
    s->target = realpath(s->x->target_dir, NULL);
    if (!s->path || !s->target) {
        rc = ofs_error_from_errno(errno, "cannot resolve the safety area '%s'", made);
        free(made);
        return rc;
    }
    free(made);
    s->fd = openat(s->parent_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s->fd >= 0)
        s->index_fd = openat(s->fd, SAFETY_INDEX, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
                             O_NOFOLLOW | O_CLOEXEC, 0600);
    if (s->fd < 0 || s->index_fd < 0) {
        rc = ofs_error_from_errno(errno, "cannot open the safety area '%s'", s->path);
        if (s->fd >= 0)
            close(s->fd);
        s->fd = -1;
        return rc;
    }
    ofs_time_format_iso(s->x->started, started, sizeof(started));
    snprintf(header, sizeof(header),
             "# offsite restore%s%s into %s, started %s: what it moved out of the way.\n"
             "# One line each: why, the path below the target, and the command that puts it\n"
             "# back (over what the restore wrote there). Delete this directory when done.\n",
             s->label ? " of " : "", s->label ? s->label : "", s->target, started);
    return safety_write(s, header);
}

/* Opens (creating 0700) the directory dir[0, len) below the area; the caller closes it. */
static int safety_open_dir(extract_safety *s, const char *dir, size_t len, int *out)
{
    int fd = dup(s->fd);
    size_t at = 0;
    *out = -1;
    if (fd < 0)
        return ofs_error_from_errno(errno, "cannot open the safety area '%s'", s->path);
    while (at < len) {
        const char *slash = memchr(dir + at, '/', len - at);
        size_t end = slash ? (size_t)(slash - dir) : len;
        char name[EXTRACT_NAME_MAX + 1];
        snprintf(name, sizeof(name), "%.*s", (int)(end - at), dir + at);
        if (mkdirat(fd, name, 0700) < 0 && errno != EEXIST) {
            close(fd);
            return ofs_error_from_errno(errno, "cannot create '%.*s' in the safety area '%s'",
                                        (int)end, dir, s->path);
        }
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        if (next < 0)
            return ofs_error_from_errno(errno, "cannot open '%.*s' in the safety area '%s'",
                                        (int)end, dir, s->path);
        fd = next;
        at = end + 1;
    }
    *out = fd;
    return 0;
}

/* ---- across file systems: copy, then remove ---- */

static int safety_copy_data(int from, int to, const char *path)
{
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = read(from, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ofs_error_from_errno(errno, "%s: cannot read it to keep a copy", path);
        if (n == 0)
            return 0;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(to, buf + done, (size_t)(n - done));
            if (w < 0 && errno != EINTR)
                return ofs_error_from_errno(errno, "%s: cannot keep a copy", path);
            done += w > 0 ? w : 0;
        }
    }
}

/* Copies from_dir/from (path names it in messages) to to_dir/to with its mode and mtime. */
static int safety_copy(int from_dir, const char *from, int to_dir, const char *to,
                       const char *path)
{
    struct stat st;
    int in = -1, out = -1, rc = 0;
    DIR *dir = NULL;
    if (fstatat(from_dir, from, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ofs_error_from_errno(errno, "cannot stat '%s'", path);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(from_dir, from, target, sizeof(target) - 1);
        if (n < 0)
            return ofs_error_from_errno(errno, "cannot read the symlink '%s'", path);
        target[n] = '\0';
        if (symlinkat(target, to_dir, to) < 0)
            return ofs_error_from_errno(errno, "%s: cannot keep a copy", path);
        return 0;
    }
    if (S_ISFIFO(st.st_mode))
        return mkfifoat(to_dir, to, st.st_mode & 07777) < 0
                   ? ofs_error_from_errno(errno, "%s: cannot keep a copy", path) : 0;
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return ofs_error_set(OFS_EUNSUPPORTED, "%s: cannot copy a device or socket into the "
                             "safety area on another file system\nHINT: set [agent] "
                             "safety_dir to a directory on the file system of '%s'", path, path);
    in = openat(from_dir, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return ofs_error_from_errno(errno, "cannot open '%s'", path);
    if (S_ISREG(st.st_mode)) {
        out = openat(to_dir, to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
            rc = ofs_error_from_errno(errno, "%s: cannot keep a copy", path);
        else
            rc = safety_copy_data(in, out, path);
    } else if (mkdirat(to_dir, to, 0700) < 0 ||
               (out = openat(to_dir, to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        rc = ofs_error_from_errno(errno, "%s: cannot keep a copy", path);
    } else if (!(dir = fdopendir(in))) {
        rc = ofs_error_from_errno(errno, "cannot read directory '%s'", path);
    } else {
        in = -1; /* the DIR owns it now */
        struct dirent *d;
        while (rc == 0 && (d = readdir(dir))) {
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            char *child = ofs_path_join(path, d->d_name);
            rc = child ? safety_copy(dirfd(dir), d->d_name, out, d->d_name, child)
                       : ofs_error_set(OFS_ERROR, "out of memory");
            free(child);
        }
    }
    struct timespec times[2] = { { 0, UTIME_OMIT }, st.st_mtim };
    if (rc == 0 && (fchmod(out, st.st_mode & 07777) < 0 || futimens(out, times) < 0 ||
                    fsync(out) < 0))
        rc = ofs_error_from_errno(errno, "%s: cannot keep a copy", path);
    if (dir)
        closedir(dir);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int extract_remove_tree(int dir_fd, const char *base, const char *path)
{
    struct stat st;
    int rc = 0;
    if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : ofs_error_from_errno(errno, "cannot stat '%s'", path);
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
        if (!dir) {
            rc = ofs_error_from_errno(errno, "cannot read directory '%s'", path);
            if (fd >= 0)
                close(fd);
            return rc;
        }
        (void)fchmod(fd, (st.st_mode & 07777) | 0700); /* a read-only directory too */
        struct dirent *d;
        while (rc == 0 && (d = readdir(dir))) {
            if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
                continue;
            char *child = ofs_path_join(path, d->d_name);
            rc = child ? extract_remove_tree(fd, d->d_name, child)
                       : ofs_error_set(OFS_ERROR, "out of memory");
            free(child);
        }
        closedir(dir);
    }
    if (rc == 0 && unlinkat(dir_fd, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 &&
        errno != ENOENT)
        rc = ofs_error_from_errno(errno, "cannot remove '%s'", path);
    return rc;
}

/* ---- moving an entry in ---- */

/* Renames dir_fd/base to to_dir/name, never over anything: 0, 1 if name is taken, or an
 * error; across file systems a copy and then the removal of the original. */
static int safety_rename(int dir_fd, const char *base, int to_dir, const char *name,
                         const char *path)
{
    if (renameat2(dir_fd, base, to_dir, name, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return 1;
    if (errno == EINVAL) { /* no RENAME_NOREPLACE here: nothing else writes the area */
        struct stat st;
        if (fstatat(to_dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return 1;
        if (renameat(dir_fd, base, to_dir, name) == 0)
            return 0;
    }
    if (errno == ENOENT)
        return ofs_error_set(OFS_ENOTFOUND, "%s: gone", path);
    if (errno != EXDEV)
        return ofs_error_from_errno(errno, "%s: cannot move it into the safety area", path);
    int rc = safety_copy(dir_fd, base, to_dir, name, path);
    if (rc == 0)
        return extract_remove_tree(dir_fd, base, path);
    (void)extract_remove_tree(to_dir, name, path); /* the partial copy; the original stays */
    return rc;
}

/* Appends the index line: why, the path as printed, and the command putting it back. */
static int safety_index(extract_safety *s, const char *why, const char *path,
                        const char *kept_name)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    char *kept = NULL, *rel = NULL, *original = ofs_path_join(s->target, path);
    char *from = NULL, *to = NULL, *line = NULL;
    ofs_text_buf shown = { 0 };
    int rc = OFS_ERROR;
    if ((rel = malloc(dir_len + strlen(kept_name) + 1))) {
        memcpy(rel, path, dir_len);
        strcpy(rel + dir_len, kept_name);
        kept = ofs_path_join(s->path, rel);
    }
    if (kept && original) {
        size_t nf = ofs_text_shell_quote(NULL, 0, kept) + 1;
        size_t nt = ofs_text_shell_quote(NULL, 0, original) + 1;
        from = malloc(nf);
        to = malloc(nt);
        if (from && to) {
            ofs_text_shell_quote(from, nf, kept);
            ofs_text_shell_quote(to, nt, original);
            const char *p = ofs_text_show(&shown, rel);
            size_t n = strlen(why) + strlen(p) + nf + nt + 32;
            if ((line = malloc(n))) {
                snprintf(line, n, "%s\t%s\tmv -T -f -- %s %s\n", why, p, from, to);
                rc = safety_write(s, line);
            }
        }
    }
    if (rc == OFS_ERROR && !line)
        rc = ofs_error_set(OFS_ERROR, "out of memory");
    ofs_text_buf_free(&shown);
    free(line);
    free(from);
    free(to);
    free(kept);
    free(rel);
    free(original);
    return rc;
}

int extract_safety_move(extract_safety *s, int dir_fd, const char *base, const char *path,
                        const char *why)
{
    const char *slash = strrchr(path, '/');
    char name[EXTRACT_NAME_MAX + 1];
    int to_dir = -1, rc;
    pthread_mutex_lock(&s->lock);
    if ((rc = safety_make(s)) < 0 ||
        (rc = safety_open_dir(s, path, slash ? (size_t)(slash - path) : 0, &to_dir)) < 0)
        goto cleanup;
    /* the same path moved twice in one run (something put back meanwhile): NAME~2 ... */
    rc = 1;
    for (int n = 1; rc == 1 && n < 1000; n++) {
        if (n == 1)
            snprintf(name, sizeof(name), "%s", base);
        else
            snprintf(name, sizeof(name), "%.*s~%d", (int)(EXTRACT_NAME_MAX - 8), base, n);
        rc = safety_rename(dir_fd, base, to_dir, name, path);
    }
    if (rc == OFS_ENOTFOUND) {
        rc = 0; /* gone meanwhile: nothing to keep */
        goto cleanup;
    }
    if (rc == 1)
        rc = ofs_error_set(OFS_EEXISTS, "%s: too many copies in the safety area", path);
    if (rc < 0 || (rc = safety_index(s, why, path, name)) < 0)
        goto cleanup;
    /* the entry is in the area for good before the restore writes over its old place */
    if (fsync(to_dir) < 0)
        rc = ofs_error_from_errno(errno, "cannot make the safety area '%s' durable", s->path);
cleanup:
    if (to_dir >= 0)
        close(to_dir);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int extract_safety_sync(extract_safety *s)
{
    int rc = 0;
    if (!s)
        return 0;
    pthread_mutex_lock(&s->lock);
    if (s->fd >= 0 && (fsync(s->index_fd) < 0 || fsync(s->fd) < 0 || fsync(s->parent_fd) < 0))
        rc = ofs_error_from_errno(errno, "cannot make the safety area '%s' durable", s->path);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- mirror: what the backup does not have ---- */

static int safety_name_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ofs_extract_names_free(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        free(names[i]);
    free(names);
}

int ofs_extract_names(ofs_extract_worker *w, const char *path, char ***names, size_t *count)
{
    const char *base = NULL;
    int dir_fd = -1, fd = -1, rc = 0;
    DIR *dir = NULL;
    char **list = NULL;
    size_t n = 0, capacity = 0;
    *names = NULL;
    *count = 0;
    if (path[0] == '\0')
        fd = dup(w->x->target_fd);
    else if ((rc = extract_parent(w, path, 0, &dir_fd, &base)) < 0)
        return rc;
    else
        fd = openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ofs_error_set(OFS_ENOTFOUND, "%s: no such directory", path);
        if (errno == ENOTDIR || errno == ELOOP)
            return ofs_error_set(OFS_ERROR, "%s: not a directory", path);
        return ofs_error_from_errno(errno, "cannot open directory '%s'", path);
    }
    if (!(dir = fdopendir(fd))) {
        rc = ofs_error_from_errno(errno, "cannot read directory '%s'", path);
        close(fd);
        return rc;
    }
    struct dirent *d;
    while ((d = readdir(dir))) {
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        if (n == capacity) {
            capacity = capacity ? capacity * 2 : 32;
            char **bigger = realloc(list, capacity * sizeof(*list));
            if (!bigger)
                break;
            list = bigger;
        }
        if (!(list[n] = strdup(d->d_name)))
            break;
        n++;
    }
    if (d) {
        ofs_extract_names_free(list, n);
        closedir(dir);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    closedir(dir);
    if (n > 1)
        qsort(list, n, sizeof(*list), safety_name_compare);
    *names = list;
    *count = n;
    return 0;
}

int ofs_extract_remove(ofs_extract_worker *w, const char *path)
{
    const char *base = NULL;
    int dir_fd = -1;
    struct stat st;
    int rc = extract_parent(w, path, 0, &dir_fd, &base);
    if (rc == OFS_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : ofs_error_from_errno(errno, "cannot stat '%s'", path);
    return extract_set_aside(w, dir_fd, base, path, "removed");
}
