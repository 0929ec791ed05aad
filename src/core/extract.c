/* extract.c - the safe file-system writer of restore: the target, the directory walk,
 * temporary names and installing, metadata, and every entry type but regular files
 * (extract_file.c); see extract.h. */
#include "extract_internal.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* ---- paths ---- */

int ofs_path_is_safe(const char *path)
{
    if (!path || path[0] == '\0' || path[0] == '/')
        return 0;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (!slash)
            return 1;
        p = slash + 1;
    }
}

/* mkdir -p for the target itself (the only path that is followed: the operator named it). */
static int extract_mkdir_p(const char *path)
{
    char *copy = strdup(path);
    int rc = 0;
    if (!copy)
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
            rc = ofs_error_from_errno(errno, "cannot create '%s'", copy);
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(copy);
    return rc;
}

static int extract_open_target(ofs_extract **out, const ofs_extract_options *opts, int create)
{
    ofs_extract *x = NULL;
    int rc = 0;
    *out = NULL;
    if (!opts->target_dir || !opts->target_dir[0])
        return ofs_error_set(OFS_ECONFIG, "no target directory");
    if (!(x = calloc(1, sizeof(*x))) || !(x->target_dir = strdup(opts->target_dir))) {
        free(x);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    x->target_fd = -1;
    x->overwrite = opts->overwrite;
    x->bak_beside = opts->bak_beside;
    x->skip_existing = opts->skip_existing;
    x->started = opts->started;
    x->euid = geteuid();
    x->egid = getegid();
    x->is_root = x->euid == 0;
    x->umask = umask(0); /* no other thread creates files yet: read it and put it back */
    umask(x->umask);
    time_t t = (time_t)opts->started;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(x->stamp, sizeof(x->stamp), "%Y%m%d_%H%M%S", &tm);
    if ((rc = extract_safety_new(&x->safety, x, opts)) < 0)
        goto fail;
    if (create && (rc = extract_mkdir_p(opts->target_dir)) < 0)
        goto fail;
    x->target_fd = open(opts->target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (x->target_fd < 0) {
        rc = ofs_error_from_errno(errno, "cannot open the target directory '%s'",
                                  opts->target_dir);
        goto fail;
    }
    struct stat st;
    if (fstat(x->target_fd, &st) < 0) {
        rc = ofs_error_from_errno(errno, "cannot open the target directory '%s'",
                                  opts->target_dir);
        goto fail;
    }
    x->target_gid = (st.st_mode & S_ISGID) ? st.st_gid : x->egid;
    if (create && (rc = extract_sync_new(&x->sync)) < 0)
        goto fail;
    *out = x;
    return 0;
fail:
    ofs_extract_free(x);
    return rc;
}

int ofs_extract_new(ofs_extract **out, const ofs_extract_options *opts)
{
    return extract_open_target(out, opts, 1);
}

int ofs_extract_open(ofs_extract **out, const ofs_extract_options *opts)
{
    return extract_open_target(out, opts, 0);
}

void ofs_extract_free(ofs_extract *x)
{
    if (!x)
        return;
    extract_sync_free(x->sync);
    extract_safety_free(x->safety);
    if (x->target_fd >= 0)
        close(x->target_fd);
    free(x->target_dir);
    free(x);
}

void ofs_extract_get_stats(ofs_extract *x, ofs_extract_stats *s)
{
    s->files = atomic_load(&x->files);
    s->dirs = atomic_load(&x->dirs);
    s->symlinks = atomic_load(&x->symlinks);
    s->fifos = atomic_load(&x->fifos);
    s->hardlinks = atomic_load(&x->hardlinks);
    s->bytes = atomic_load(&x->bytes);
    s->backups_kept = atomic_load(&x->backups_kept);
    s->skipped = atomic_load(&x->skipped);
    s->sync_seconds = x->sync_seconds;
    const char *safety = extract_safety_path(x->safety);
    snprintf(s->safety_path, sizeof(s->safety_path), "%s", safety ? safety : "");
}

int ofs_extract_sync(ofs_extract *x)
{
    double t0 = ofs_clock_monotonic();
    int rc = 0;
    if (!x->sync)
        return ofs_error_set(OFS_ERROR, "nothing was restored into '%s'", x->target_dir);
    /* the files and directories went to the pool as they were finished; the target holds
     * the top of the restored tree */
    if ((rc = extract_sync_wait(x->sync)) == 0 && (rc = extract_safety_sync(x->safety)) == 0 &&
        fsync(x->target_fd) < 0)
        rc = ofs_error_from_errno(errno, "cannot make the restored files in '%s' durable",
                                  x->target_dir);
    x->sync_seconds = ofs_clock_monotonic() - t0;
    return rc;
}

/* ---- workers and the directory walk ---- */

int ofs_extract_worker_new(ofs_extract_worker **out, ofs_extract *x)
{
    ofs_extract_worker *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (!w)
        return ofs_error_set(OFS_ERROR, "out of memory");
    w->x = x;
    w->fd = -1;
    w->dir_fd = -1;
    if (getrandom(&w->tmp_state, sizeof(w->tmp_state), 0) != (ssize_t)sizeof(w->tmp_state)) {
        static atomic_uint counter;
        w->tmp_state = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^
                       ((uint64_t)atomic_fetch_add(&counter, 1) << 48) ^ (uintptr_t)w;
    }
    *out = w;
    return 0;
}

static void extract_walk_reset(ofs_extract_worker *w, size_t keep)
{
    while (w->depth > keep)
        close(w->fds[--w->depth]);
}

void ofs_extract_worker_free(ofs_extract_worker *w)
{
    if (!w)
        return;
    ofs_extract_file_abort(w);
    extract_walk_reset(w, 0);
    free(w->parent);
    free(w->fds);
    free(w->ends);
    free(w->gids);
    free(w);
}

static int extract_not_dir(const char *path, size_t len)
{
    return ofs_error_set(OFS_ERROR, "%.*s: not a directory (symlink in the way?)", (int)len,
                         path);
}

/*
 * Opens the directory parent[0, len) with the worker's stack: components shared with the
 * previous walk are reused, the rest opened with O_NOFOLLOW (created 0700 if create). Returns
 * the fd of the directory (owned by the stack) in *dir_fd.
 */
static int extract_walk(ofs_extract_worker *w, const char *path, size_t len, int create,
                        int *dir_fd)
{
    size_t keep = 0;
    /* how many components of the cached parent are a prefix of the new one */
    while (keep < w->depth) {
        size_t end = w->ends[keep];
        if (end > len || memcmp(w->parent, path, end) != 0 || (end < len && path[end] != '/'))
            break;
        keep++;
    }
    extract_walk_reset(w, keep);
    if (len + 1 > w->parent_size) {
        char *bigger = realloc(w->parent, len + 1);
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        w->parent = bigger;
        w->parent_size = len + 1;
    }
    memcpy(w->parent, path, len);
    w->parent[len] = '\0';
    size_t at = w->depth ? w->ends[w->depth - 1] + 1 : 0;
    while (at < len) {
        const char *slash = memchr(path + at, '/', len - at);
        size_t end = slash ? (size_t)(slash - path) : len;
        char name[EXTRACT_NAME_MAX + 1];
        int parent_fd = w->depth ? w->fds[w->depth - 1] : w->x->target_fd;
        if (end - at > EXTRACT_NAME_MAX)
            return ofs_error_set(OFS_ERROR, "%.*s: file name too long", (int)end, path);
        memcpy(name, path + at, end - at);
        name[end - at] = '\0';
        int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
            if (mkdirat(parent_fd, name, 0700) < 0 && errno != EEXIST)
                return ofs_error_from_errno(errno, "cannot create directory '%.*s'", (int)end,
                                            path);
            fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) {
            if (errno == ENOTDIR || errno == ELOOP)
                return extract_not_dir(path, end);
            if (errno == ENOENT)
                return ofs_error_set(OFS_ENOTFOUND, "%.*s: no such directory", (int)end, path);
            return ofs_error_from_errno(errno, "cannot open directory '%.*s'", (int)end, path);
        }
        if (w->depth == w->capacity) {
            size_t capacity = w->capacity ? w->capacity * 2 : 16;
            int *fds = realloc(w->fds, capacity * sizeof(*fds));
            if (fds)
                w->fds = fds;
            size_t *ends = fds ? realloc(w->ends, capacity * sizeof(*ends)) : NULL;
            if (ends)
                w->ends = ends;
            gid_t *gids = ends ? realloc(w->gids, capacity * sizeof(*gids)) : NULL;
            if (!gids) {
                close(fd);
                return ofs_error_set(OFS_ERROR, "out of memory");
            }
            w->gids = gids;
            w->capacity = capacity;
        }
        /* only root sets owners: what creation gives matters only then */
        struct stat st;
        gid_t gid = w->x->egid;
        if (w->x->is_root && fstat(fd, &st) == 0 && (st.st_mode & S_ISGID))
            gid = st.st_gid;
        w->fds[w->depth] = fd;
        w->ends[w->depth] = end;
        w->gids[w->depth] = gid;
        w->depth++;
        at = end + 1;
    }
    *dir_fd = w->depth ? w->fds[w->depth - 1] : w->x->target_fd;
    return 0;
}

gid_t extract_parent_gid(const ofs_extract_worker *w, int dir_fd)
{
    if (w->depth > 0 && dir_fd == w->fds[w->depth - 1])
        return w->gids[w->depth - 1];
    return w->x->target_gid;
}

/* The parent directory of path (created as needed) and the final component. */
int extract_parent(ofs_extract_worker *w, const char *path, int create, int *dir_fd,
                          const char **base)
{
    if (!ofs_path_is_safe(path))
        return ofs_error_set(OFS_ECORRUPT, "'%s': unsafe path (absolute, empty or with '..')",
                             path);
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (strlen(*base) > EXTRACT_NAME_MAX)
        return ofs_error_set(OFS_ERROR, "%s: file name too long", path);
    return extract_walk(w, path, slash ? (size_t)(slash - path) : 0, create, dir_fd);
}

/* ---- temporary names and installing under the final name ---- */

/* ".NAME.ofs-tmp-XXXXXX" (NAME cut so the whole stays within NAME_MAX). The names need not be
 * secret (O_EXCL | O_NOFOLLOW make a guessed one harmless), only unlikely to collide: a
 * splitmix64 step over a per-worker random seed. */
void extract_tmp_name(ofs_extract_worker *w, char out[EXTRACT_NAME_MAX + 1], const char *base)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char suffix[7];
    uint64_t z = (w->tmp_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (int i = 0; i < 6; i++, z /= sizeof(letters) - 1)
        suffix[i] = letters[z % (sizeof(letters) - 1)];
    suffix[6] = '\0';
    int room = (int)(EXTRACT_NAME_MAX - strlen(".") - strlen(".ofs-tmp-") - 6);
    snprintf(out, EXTRACT_NAME_MAX + 1, ".%.*s.ofs-tmp-%s", room, base, suffix);
}

/* Moves what is at base aside as BASE.pre_restore_STAMP[_N].bak, never over another file. */
static int extract_keep_copy(ofs_extract_worker *w, int dir_fd, const char *base,
                             const char *path)
{
    char bak[EXTRACT_NAME_MAX + 1];
    for (int n = 1; n < 1000; n++) {
        char suffix[64];
        if (n == 1)
            snprintf(suffix, sizeof(suffix), ".pre_restore_%s.bak", w->x->stamp);
        else
            snprintf(suffix, sizeof(suffix), ".pre_restore_%s_%d.bak", w->x->stamp, n);
        int room = (int)(EXTRACT_NAME_MAX - strlen(suffix));
        snprintf(bak, sizeof(bak), "%.*s%s", room, base, suffix);
        if (renameat2(dir_fd, base, dir_fd, bak, RENAME_NOREPLACE) == 0) {
            atomic_fetch_add(&w->x->backups_kept, 1);
            return 0;
        }
        if (errno == ENOENT)
            return 0; /* gone meanwhile: nothing to keep */
        if (errno != EEXIST)
            return ofs_error_from_errno(errno, "%s: cannot keep the existing copy as '%s'",
                                        path, bak);
    }
    return ofs_error_set(OFS_EEXISTS, "%s: too many earlier copies kept", path);
}

/* extract_same_files(a_fd, b_fd): 1 if both regular files hold the same bytes. */
static int extract_same_files(int a_fd, int b_fd)
{
    char a[64 * 1024], b[64 * 1024];
    for (;;) {
        ssize_t na = read(a_fd, a, sizeof(a));
        if (na < 0)
            return 0;
        size_t got = 0;
        while (got < (size_t)na) {
            ssize_t nb = read(b_fd, b + got, (size_t)na - got);
            if (nb <= 0)
                return 0;
            got += (size_t)nb;
        }
        if (na == 0)
            return read(b_fd, b, 1) == 0;
        if (memcmp(a, b, (size_t)na) != 0)
            return 0;
    }
}

/*
 * extract_same(dir_fd, base, tmp, st): 1 if what is at base (st) is already what tmp holds, so
 * replacing it loses nothing and needs no .bak copy: the same inode, regular files with equal
 * bytes, symlinks with the same target, or two FIFOs.
 */
static int extract_same(int dir_fd, const char *base, const char *tmp, const struct stat *st)
{
    struct stat tst;
    if (fstatat(dir_fd, tmp, &tst, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (tst.st_ino == st->st_ino && tst.st_dev == st->st_dev)
        return 1;
    if (S_ISFIFO(st->st_mode) && S_ISFIFO(tst.st_mode))
        return 1; /* a FIFO holds no data to lose */
    if (S_ISLNK(st->st_mode) && S_ISLNK(tst.st_mode)) {
        char a[PATH_MAX + 1], b[PATH_MAX + 1];
        ssize_t na = readlinkat(dir_fd, base, a, sizeof(a));
        ssize_t nb = readlinkat(dir_fd, tmp, b, sizeof(b));
        return na >= 0 && na == nb && memcmp(a, b, (size_t)na) == 0;
    }
    if (!S_ISREG(st->st_mode) || !S_ISREG(tst.st_mode) || st->st_size != tst.st_size)
        return 0;
    int a_fd = openat(dir_fd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int b_fd = openat(dir_fd, tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int same = a_fd >= 0 && b_fd >= 0 && extract_same_files(a_fd, b_fd);
    if (a_fd >= 0)
        close(a_fd);
    if (b_fd >= 0)
        close(b_fd);
    return same;
}

int extract_set_aside(ofs_extract_worker *w, int dir_fd, const char *base, const char *path,
                      const char *why)
{
    int rc;
    if (w->x->overwrite)
        return extract_remove_tree(dir_fd, base, path);
    if (w->x->bak_beside)
        return extract_keep_copy(w, dir_fd, base, path);
    if ((rc = extract_safety_move(w->x->safety, dir_fd, base, path, why)) == 0)
        atomic_fetch_add(&w->x->backups_kept, 1);
    return rc;
}

/*
 * Renames tmp to base: what is there is moved aside (extract_set_aside; replaced with
 * overwrite or when it already holds the same content; left with skip_existing, and tmp
 * removed); a directory in the way is an error. On failure tmp is left for the caller to
 * remove. The rename is tried first: into an empty place (the usual case) it is the only
 * call.
 */
int extract_install(ofs_extract_worker *w, int dir_fd, const char *tmp, const char *base,
                           const char *path)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        struct stat st;
        if (renameat2(dir_fd, tmp, dir_fd, base, RENAME_NOREPLACE) == 0)
            return 0;
        int noreplace = errno != EINVAL; /* EINVAL: the file system lacks RENAME_NOREPLACE */
        if (noreplace && errno != EEXIST)
            return ofs_error_from_errno(errno, "cannot rename into '%s'", path);
        if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT)
                return ofs_error_from_errno(errno, "cannot stat '%s'", path);
            if (noreplace)
                continue; /* gone meanwhile: try again */
            /* nothing is in the way: rename plainly */
            if (renameat(dir_fd, tmp, dir_fd, base) == 0)
                return 0;
            return ofs_error_from_errno(errno, "cannot rename into '%s'", path);
        }
        if (w->x->skip_existing) {
            unlinkat(dir_fd, tmp, 0);
            atomic_fetch_add(&w->x->skipped, 1);
            return 0;
        }
        if (S_ISDIR(st.st_mode))
            return ofs_error_set(OFS_EEXISTS, "%s: a directory is in the way", path);
        if (w->x->overwrite || extract_same(dir_fd, base, tmp, &st)) {
            if (renameat(dir_fd, tmp, dir_fd, base) == 0)
                return 0;
            return ofs_error_from_errno(errno, "cannot rename into '%s'", path);
        }
        int rc = extract_set_aside(w, dir_fd, base, path, "replaced");
        if (rc < 0)
            return rc;
    }
    return ofs_error_set(OFS_ERROR, "%s: keeps changing while it is restored", path);
}

/* ---- metadata ---- */

static int extract_set_xattrs(ofs_extract_worker *w, int fd, const char *path,
                              const ofs_tar_xattr *xattrs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (fsetxattr(fd, xattrs[i].name, xattrs[i].value, xattrs[i].size, 0) == 0)
            continue;
        if (errno == ENOTSUP || errno == EPERM || errno == EACCES) {
            /* once per restore: the file system (or our privilege) cannot hold them */
            if (atomic_exchange(&w->x->xattr_warned, 1) == 0)
                ofs_log_warn("%s: cannot restore extended attribute '%s': %s (further such "
                             "failures are not reported)", path, xattrs[i].name,
                             strerror(errno));
            continue;
        }
        return ofs_error_from_errno(errno, "%s: cannot restore extended attribute '%s'", path,
                                    xattrs[i].name);
    }
    return 0;
}

/* Owner before mode (chown clears setuid bits), then extended attributes, then times; owner
 * and mode only when asked (a file this restore created may have them already). */
static int extract_metadata(ofs_extract_worker *w, int fd, const ofs_catalog_entry *e,
                            const ofs_tar_xattr *xattrs, size_t xattr_count, int set_owner,
                            int set_mode)
{
    if (set_owner && fchown(fd, (uid_t)e->uid, (gid_t)e->gid) < 0)
        return ofs_error_from_errno(errno, "%s: cannot set the owner", e->path);
    if (set_mode && fchmod(fd, (mode_t)(e->mode & 07777)) < 0)
        return ofs_error_from_errno(errno, "%s: cannot set the mode", e->path);
    int rc = extract_set_xattrs(w, fd, e->path, xattrs, xattr_count);
    if (rc < 0)
        return rc;
    struct timespec times[2] = { { 0, UTIME_OMIT }, { (time_t)e->mtime_sec, e->mtime_nsec } };
    if (futimens(fd, times) < 0)
        return ofs_error_from_errno(errno, "%s: cannot set the modification time", e->path);
    return 0;
}

int extract_fd_metadata(ofs_extract_worker *w, int fd, const ofs_catalog_entry *e,
                        const ofs_tar_xattr *xattrs, size_t xattr_count)
{
    return extract_metadata(w, fd, e, xattrs, xattr_count, w->x->is_root, 1);
}

int extract_file_metadata(ofs_extract_worker *w, int fd, const ofs_catalog_entry *e,
                          const ofs_tar_xattr *xattrs, size_t xattr_count)
{
    int set_owner = w->x->is_root && ((uid_t)e->uid != w->x->euid ||
                                      (gid_t)e->gid != w->created_gid);
    /* a setuid or setgid mode always differs: creation never sets those bits */
    int set_mode = (mode_t)(e->mode & 07777) != w->created_mode;
    return extract_metadata(w, fd, e, xattrs, xattr_count, set_owner, set_mode);
}

/* ---- other entry types ---- */

/* Creates a temporary name with make(dir_fd, tmp) until it does not collide. */
static int extract_make_tmp(ofs_extract_worker *w, int dir_fd, const char *base,
                            char tmp[EXTRACT_NAME_MAX + 1],
                            int (*make)(int dir_fd, const char *tmp, const void *arg),
                            const void *arg)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        extract_tmp_name(w, tmp, base);
        if (make(dir_fd, tmp, arg) == 0)
            return 0;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

static int extract_make_symlink(int dir_fd, const char *tmp, const void *target)
{
    return symlinkat(target, dir_fd, tmp);
}

static int extract_make_fifo(int dir_fd, const char *tmp, const void *arg)
{
    (void)arg;
    return mkfifoat(dir_fd, tmp, 0600);
}

int ofs_extract_symlink(ofs_extract_worker *w, const ofs_catalog_entry *e)
{
    char tmp[EXTRACT_NAME_MAX + 1];
    const char *base = NULL;
    int dir_fd = -1, rc;
    if (!e->link_target)
        return ofs_error_set(OFS_ECORRUPT, "%s: symlink without a target", e->path);
    if ((rc = extract_parent(w, e->path, 1, &dir_fd, &base)) < 0)
        return rc;
    if (extract_make_tmp(w, dir_fd, base, tmp, extract_make_symlink, e->link_target) < 0)
        return ofs_error_from_errno(errno, "%s: cannot create the symlink", e->path);
    struct timespec times[2] = { { 0, UTIME_OMIT }, { (time_t)e->mtime_sec, e->mtime_nsec } };
    if (w->x->is_root &&
        fchownat(dir_fd, tmp, (uid_t)e->uid, (gid_t)e->gid, AT_SYMLINK_NOFOLLOW) < 0)
        rc = ofs_error_from_errno(errno, "%s: cannot set the owner", e->path);
    else if (utimensat(dir_fd, tmp, times, AT_SYMLINK_NOFOLLOW) < 0)
        rc = ofs_error_from_errno(errno, "%s: cannot set the modification time", e->path);
    else
        rc = extract_install(w, dir_fd, tmp, base, e->path);
    if (rc < 0) {
        unlinkat(dir_fd, tmp, 0);
        return rc;
    }
    atomic_fetch_add(&w->x->symlinks, 1);
    return 0;
}

int ofs_extract_fifo(ofs_extract_worker *w, const ofs_catalog_entry *e,
                     const ofs_tar_xattr *xattrs, size_t xattr_count)
{
    char tmp[EXTRACT_NAME_MAX + 1];
    const char *base = NULL;
    int dir_fd = -1, fd = -1, rc;
    if ((rc = extract_parent(w, e->path, 1, &dir_fd, &base)) < 0)
        return rc;
    if (extract_make_tmp(w, dir_fd, base, tmp, extract_make_fifo, NULL) < 0)
        return ofs_error_from_errno(errno, "%s: cannot create the FIFO", e->path);
    /* a FIFO opens for reading without blocking when O_NONBLOCK is given */
    fd = openat(dir_fd, tmp, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        rc = ofs_error_from_errno(errno, "%s: cannot open the FIFO", e->path);
    else if ((rc = extract_fd_metadata(w, fd, e, xattrs, xattr_count)) == 0)
        rc = extract_install(w, dir_fd, tmp, base, e->path);
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        unlinkat(dir_fd, tmp, 0);
        return rc;
    }
    atomic_fetch_add(&w->x->fifos, 1);
    return 0;
}

/* Opens the parent of path on a fresh walk from the target (no creation), for a second
 * directory next to the worker's stack. The caller closes *dir_fd unless it is the target. */
static int extract_open_parent(ofs_extract_worker *w, const char *path, int *dir_fd,
                               const char **base)
{
    ofs_extract_worker other = { .x = w->x, .fd = -1, .dir_fd = -1 };
    int fd = -1;
    int rc = extract_parent(&other, path, 0, &fd, base);
    if (rc == 0)
        *dir_fd = fd == w->x->target_fd ? fd : dup(fd);
    extract_walk_reset(&other, 0);
    free(other.parent);
    free(other.fds);
    free(other.ends);
    free(other.gids);
    if (rc == 0 && *dir_fd < 0)
        rc = ofs_error_from_errno(errno, "cannot open the parent of '%s'", path);
    return rc;
}

typedef struct extract_link_source {
    int dir_fd;
    const char *name;
} extract_link_source;

static int extract_make_link(int dir_fd, const char *tmp, const void *arg)
{
    const extract_link_source *source = arg;
    return linkat(source->dir_fd, source->name, dir_fd, tmp, 0); /* flags 0: never follows */
}

int ofs_extract_hardlink(ofs_extract_worker *w, const ofs_catalog_entry *e)
{
    char tmp[EXTRACT_NAME_MAX + 1];
    const char *base = NULL, *target_base = NULL;
    int dir_fd = -1, target_dir = -1, rc;
    struct stat st;
    if (!e->link_target || !ofs_path_is_safe(e->link_target))
        return ofs_error_set(OFS_ECORRUPT, "%s: unsafe hard link target '%s'", e->path,
                             e->link_target ? e->link_target : "");
    if ((rc = extract_open_parent(w, e->link_target, &target_dir, &target_base)) < 0)
        return ofs_error_wrap(rc, "%s: hard link target", e->path);
    if (fstatat(target_dir, target_base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        rc = ofs_error_from_errno(errno, "%s: hard link target '%s'", e->path, e->link_target);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s: hard link target '%s' is not a regular file",
                           e->path, e->link_target);
        goto cleanup;
    }
    if ((rc = extract_parent(w, e->path, 1, &dir_fd, &base)) < 0)
        goto cleanup;
    extract_link_source source = { target_dir, target_base };
    if (extract_make_tmp(w, dir_fd, base, tmp, extract_make_link, &source) < 0) {
        rc = ofs_error_from_errno(errno, "%s: cannot link to '%s'", e->path, e->link_target);
        goto cleanup;
    }
    if ((rc = extract_install(w, dir_fd, tmp, base, e->path)) < 0) {
        unlinkat(dir_fd, tmp, 0);
        goto cleanup;
    }
    atomic_fetch_add(&w->x->hardlinks, 1);
cleanup:
    if (target_dir >= 0 && target_dir != w->x->target_fd)
        close(target_dir);
    return rc;
}

int ofs_extract_dir(ofs_extract_worker *w, const ofs_catalog_entry *e,
                    const ofs_tar_xattr *xattrs, size_t xattr_count)
{
    const char *base = NULL;
    int dir_fd = -1, fd = -1, rc;
    if ((rc = extract_parent(w, e->path, 1, &dir_fd, &base)) < 0)
        return rc;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        fd = openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
            break;
        if (errno == ENOTDIR || errno == ELOOP) { /* something else has its name */
            if ((rc = extract_set_aside(w, dir_fd, base, e->path, "replaced")) < 0)
                return rc;
        } else if (errno != ENOENT) {
            return ofs_error_from_errno(errno, "cannot open directory '%s'", e->path);
        }
        if (mkdirat(dir_fd, base, 0700) < 0 && errno != EEXIST)
            return ofs_error_from_errno(errno, "cannot create directory '%s'", e->path);
    }
    if (fd < 0)
        return ofs_error_set(OFS_ERROR, "%s: keeps changing while it is restored", e->path);
    rc = extract_set_xattrs(w, fd, e->path, xattrs, xattr_count);
    close(fd);
    if (rc == 0)
        atomic_fetch_add(&w->x->dirs, 1);
    return rc;
}

int ofs_extract_dir_metadata(ofs_extract_worker *w, const ofs_catalog_entry *e)
{
    const char *base = NULL;
    int dir_fd = -1, rc;
    if ((rc = extract_parent(w, e->path, 0, &dir_fd, &base)) < 0)
        return rc;
    int fd = openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR || errno == ELOOP)
            return extract_not_dir(e->path, strlen(e->path));
        return ofs_error_from_errno(errno, "cannot open directory '%s'", e->path);
    }
    if ((rc = extract_fd_metadata(w, fd, e, NULL, 0)) < 0) {
        close(fd);
        return rc;
    }
    /* its entries are in place by now (directories come last): durable with the files */
    return w->x->sync ? extract_sync_add(w->x->sync, fd, e->path, 0) : (close(fd), 0);
}

int ofs_extract_lookup(ofs_extract_worker *w, const char *path, struct stat *st)
{
    const char *base = NULL;
    int dir_fd = -1;
    int rc = extract_parent(w, path, 0, &dir_fd, &base);
    if (rc < 0) {
        /* a non-directory where a parent should be: report that thing */
        const char *reason = ofs_error_last();
        const char *colon = strstr(reason, ": not a directory");
        if (rc == OFS_ERROR && colon) {
            char *in_way = strndup(reason, (size_t)(colon - reason));
            int found = in_way && fstatat(w->x->target_fd, in_way, st, AT_SYMLINK_NOFOLLOW) == 0;
            free(in_way);
            if (found)
                return 0;
        }
        return rc;
    }
    if (fstatat(dir_fd, base, st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return ofs_error_set(OFS_ENOTFOUND, "%s: not found", path);
        return ofs_error_from_errno(errno, "cannot stat '%s'", path);
    }
    return 0;
}
