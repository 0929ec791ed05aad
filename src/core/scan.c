/* scan.c - walk a set's paths in catalog order, streaming or into a list; see scan.h. */
#include "offsite/scan.h"
#include "offsite/error.h"
#include "offsite/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- user and group names: a small cache, owners repeat across a tree ---- */

typedef struct scan_name {
    uint32_t id;
    char *name; /* NULL when the id has no name */
} scan_name;

typedef struct scan_name_list {
    scan_name *items;
    size_t count, capacity;
} scan_name_list;

struct ofs_scan_names {
    scan_name_list users, groups;
    char *buf;
    size_t buf_size;
};

static void scan_name_list_free(scan_name_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].name);
    free(list->items);
}

void ofs_scan_names_free(ofs_scan_names *names)
{
    if (!names)
        return;
    scan_name_list_free(&names->users);
    scan_name_list_free(&names->groups);
    free(names->buf);
    free(names);
}

int ofs_scan_names_new(ofs_scan_names **out)
{
    ofs_scan_names *names = calloc(1, sizeof(*names));
    *out = NULL;
    if (!names || !(names->buf = malloc(16 * 1024))) {
        free(names);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    names->buf_size = 16 * 1024;
    *out = names;
    return 0;
}

/* Looks id up with getpwuid_r / getgrgid_r (growing the buffer on ERANGE). */
static int scan_name_lookup(ofs_scan_names *names, int is_group, uint32_t id, char **out)
{
    *out = NULL;
    for (;;) {
        int err;
        const char *found = NULL;
        if (is_group) {
            struct group gr, *result = NULL;
            err = getgrgid_r((gid_t)id, &gr, names->buf, names->buf_size, &result);
            if (err == 0 && result)
                found = result->gr_name;
        } else {
            struct passwd pw, *result = NULL;
            err = getpwuid_r((uid_t)id, &pw, names->buf, names->buf_size, &result);
            if (err == 0 && result)
                found = result->pw_name;
        }
        if (err == ERANGE && names->buf_size < (1u << 20)) {
            char *bigger = realloc(names->buf, names->buf_size * 2);
            if (!bigger)
                return ofs_error_set(OFS_ERROR, "out of memory");
            names->buf = bigger;
            names->buf_size *= 2;
            continue;
        }
        /* An unknown id (or a broken name service) is not an error: the number is kept. */
        if (found && !(*out = strdup(found)))
            return ofs_error_set(OFS_ERROR, "out of memory");
        return 0;
    }
}

static int scan_name_get(ofs_scan_names *names, int is_group, uint32_t id, char **name)
{
    scan_name_list *list = is_group ? &names->groups : &names->users;
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i].id == id) {
            *name = list->items[i].name;
            return 0;
        }
    }
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 8;
        scan_name *bigger = realloc(list->items, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        list->items = bigger;
        list->capacity = capacity;
    }
    int rc = scan_name_lookup(names, is_group, id, name);
    if (rc < 0)
        return rc;
    list->items[list->count].id = id;
    list->items[list->count].name = *name;
    list->count++;
    return 0;
}

/* ---- hard links: (dev, ino) -> path of the first entry, open addressing ---- */

typedef struct scan_inode {
    uint64_t dev, ino;
    char *path; /* NULL = empty slot */
} scan_inode;

typedef struct scan_inode_table {
    scan_inode *slots;
    size_t used, capacity; /* capacity is a power of two */
} scan_inode_table;

static size_t scan_inode_hash(uint64_t dev, uint64_t ino)
{
    uint64_t h = ino * 0x9e3779b97f4a7c15ull ^ (dev + 0x632be59bd9b4e019ull);
    h ^= h >> 29;
    return (size_t)h;
}

static scan_inode *scan_inode_slot(scan_inode_table *t, uint64_t dev, uint64_t ino)
{
    size_t mask = t->capacity - 1;
    for (size_t i = scan_inode_hash(dev, ino) & mask;; i = (i + 1) & mask) {
        scan_inode *s = &t->slots[i];
        if (!s->path || (s->dev == dev && s->ino == ino))
            return s;
    }
}

static int scan_inode_grow(scan_inode_table *t)
{
    size_t capacity = t->capacity ? t->capacity * 2 : 64;
    scan_inode *old = t->slots;
    size_t old_capacity = t->capacity;
    if (!(t->slots = calloc(capacity, sizeof(*t->slots)))) {
        t->slots = old;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    t->capacity = capacity;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].path)
            *scan_inode_slot(t, old[i].dev, old[i].ino) = old[i];
    free(old);
    return 0;
}

static void scan_inode_free(scan_inode_table *t)
{
    for (size_t i = 0; i < t->capacity; i++)
        free(t->slots[i].path);
    free(t->slots);
}

/* ---- the walk ---- */

/*
 * The walk holds the sorted names of each open directory (its depth, not the tree) and the
 * first path of every multiply linked inode: memory does not grow with the number of files.
 */
typedef struct scan_walk {
    ofs_scan_fn fn;
    void *ctx;
    ofs_scan_names *names;
    ofs_scan_counts *counts;
    char *const *excludes;
    size_t exclude_count;
    char *path;        /* current catalog path (no leading '/') */
    size_t len, cap;
    size_t rel_start;  /* where the path relative to the set path starts */
    char *last;        /* the last path emitted (ancestors shared by set paths) */
    size_t last_cap;
    scan_inode_table inodes;
} scan_walk;

static int scan_path_reserve(scan_walk *w, size_t more)
{
    if (w->len + more + 1 <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + more + 1)
        cap *= 2;
    char *bigger = realloc(w->path, cap);
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    w->path = bigger;
    w->cap = cap;
    return 0;
}

static int scan_path_push(scan_walk *w, const char *name)
{
    size_t n = strlen(name);
    int rc = scan_path_reserve(w, n + 1);
    if (rc < 0)
        return rc;
    if (w->len > 0)
        w->path[w->len++] = '/';
    memcpy(w->path + w->len, name, n + 1);
    w->len += n;
    return 0;
}

static void scan_path_pop(scan_walk *w, size_t len)
{
    w->len = len;
    w->path[len] = '\0';
}

int ofs_scan_match(const char *pattern, const char *path, const char *name)
{
    return fnmatch(pattern, path, FNM_PATHNAME) == 0 || fnmatch(pattern, name, 0) == 0;
}

static int scan_excluded(const scan_walk *w, const char *name)
{
    const char *relative = w->path + w->rel_start;
    for (size_t i = 0; i < w->exclude_count; i++) {
        if (ofs_scan_match(w->excludes[i], relative, name))
            return 1;
    }
    return 0;
}

static int scan_readlink(int dirfd, const char *name, const char *shown, char **out)
{
    size_t size = 256;
    *out = NULL;
    for (;;) {
        char *buf = malloc(size);
        if (!buf)
            return ofs_error_set(OFS_ERROR, "out of memory");
        ssize_t n = readlinkat(dirfd, name, buf, size);
        if (n < 0) {
            int err = errno;
            free(buf);
            return ofs_error_from_errno(err, "cannot read symlink '/%s'", shown);
        }
        if ((size_t)n < size) {
            buf[n] = '\0';
            *out = buf;
            return 0;
        }
        free(buf);
        if (size >= (1u << 20))
            return ofs_error_set(OFS_ERROR, "symlink '/%s' has a target over 1 MiB", shown);
        size *= 2;
    }
}

/* Hands an entry for w->path (from st) to the callback. link_target is the caller's. */
static int scan_emit(scan_walk *w, const struct stat *st, ofs_entry_type type,
                     const char *link_target)
{
    ofs_scan_counts *counts = w->counts;
    ofs_catalog_entry e = { 0 };
    int rc;

    e.path = w->path;
    e.type = type;
    e.mode = (uint32_t)(st->st_mode & 07777);
    e.uid = (uint32_t)st->st_uid;
    e.gid = (uint32_t)st->st_gid;
    e.mtime_sec = (int64_t)st->st_mtim.tv_sec;
    e.mtime_nsec = (int32_t)st->st_mtim.tv_nsec;
    e.ctime_sec = (int64_t)st->st_ctim.tv_sec;
    e.ctime_nsec = (int32_t)st->st_ctim.tv_nsec;
    e.ino = (uint64_t)st->st_ino;
    e.dev = (uint64_t)st->st_dev;
    e.link_target = (char *)link_target;
    if (e.type == OFS_ENTRY_FILE) {
        e.size = (uint64_t)st->st_size;
        if (st->st_nlink > 1) {
            if (w->inodes.used * 2 >= w->inodes.capacity &&
                (rc = scan_inode_grow(&w->inodes)) < 0)
                return rc;
            scan_inode *slot = scan_inode_slot(&w->inodes, e.dev, e.ino);
            if (slot->path) {
                e.type = OFS_ENTRY_HARDLINK;
                e.size = 0;
                e.link_target = slot->path;
            } else {
                if (!(slot->path = strdup(w->path)))
                    return ofs_error_set(OFS_ERROR, "out of memory");
                slot->dev = e.dev;
                slot->ino = e.ino;
                w->inodes.used++;
            }
        }
    }
    if ((rc = scan_name_get(w->names, 0, e.uid, &e.user)) < 0 ||
        (rc = scan_name_get(w->names, 1, e.gid, &e.group)) < 0)
        return rc;
    if (w->len + 1 > w->last_cap) {
        char *bigger = realloc(w->last, w->cap);
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        w->last = bigger;
        w->last_cap = w->cap;
    }
    memcpy(w->last, w->path, w->len + 1);
    switch (e.type) {
    case OFS_ENTRY_FILE: counts->files++; counts->bytes += e.size; break;
    case OFS_ENTRY_DIR: counts->dirs++; break;
    case OFS_ENTRY_SYMLINK: counts->symlinks++; break;
    case OFS_ENTRY_HARDLINK: counts->hardlinks++; break;
    case OFS_ENTRY_FIFO: counts->fifos++; break;
    }
    counts->entries++;
    return w->fn(w->ctx, &e);
}

static int scan_name_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scan_children(scan_walk *w, int dirfd);

/* Lists one directory entry (already stat'ed) and descends into it when it is a directory. */
static int scan_one(scan_walk *w, int dirfd, const char *name, const struct stat *st)
{
    char *target = NULL;
    int rc;

    if (S_ISREG(st->st_mode))
        return scan_emit(w, st, OFS_ENTRY_FILE, NULL);
    if (S_ISFIFO(st->st_mode))
        return scan_emit(w, st, OFS_ENTRY_FIFO, NULL);
    if (S_ISLNK(st->st_mode)) {
        if ((rc = scan_readlink(dirfd, name, w->path, &target)) == OFS_ENOTFOUND) {
            ofs_log_warn("'/%s' vanished during the scan, skipped", w->path);
            w->counts->skipped++;
            return 0;
        }
        if (rc == 0)
            rc = scan_emit(w, st, OFS_ENTRY_SYMLINK, target);
        free(target);
        return rc;
    }
    if (S_ISSOCK(st->st_mode)) {
        ofs_log_debug("'/%s' is a socket, skipped", w->path);
        w->counts->skipped++;
        return 0;
    }
    if (!S_ISDIR(st->st_mode)) {
        ofs_log_warn("'/%s' is a device file, skipped", w->path);
        w->counts->skipped++;
        return 0;
    }
    /* opened before it is listed: a directory that vanished is never half listed */
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
            ofs_log_warn("'/%s' vanished during the scan, skipped", w->path);
            w->counts->skipped++;
            return 0;
        }
        return ofs_error_from_errno(err, "cannot open directory '/%s'", w->path);
    }
    if ((rc = scan_emit(w, st, OFS_ENTRY_DIR, NULL)) == 0)
        rc = scan_children(w, fd);
    close(fd);
    return rc;
}

static int scan_children(scan_walk *w, int dirfd)
{
    char **names = NULL;
    size_t count = 0, capacity = 0, saved = w->len;
    DIR *dir = NULL;
    int rc = 0, copy = dup(dirfd);

    if (copy < 0)
        return ofs_error_from_errno(errno, "cannot read directory '/%s'", w->path);
    if (!(dir = fdopendir(copy))) {
        rc = ofs_error_from_errno(errno, "cannot read directory '/%s'", w->path);
        close(copy);
        return rc;
    }
    for (;;) {
        errno = 0;
        struct dirent *d = readdir(dir);
        if (!d) {
            if (errno != 0) {
                rc = ofs_error_from_errno(errno, "cannot read directory '/%s'", w->path);
                goto cleanup;
            }
            break;
        }
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        if (count == capacity) {
            size_t bigger_capacity = capacity ? capacity * 2 : 32;
            char **bigger = realloc(names, bigger_capacity * sizeof(*bigger));
            if (!bigger) {
                rc = ofs_error_set(OFS_ERROR, "out of memory");
                goto cleanup;
            }
            names = bigger;
            capacity = bigger_capacity;
        }
        if (!(names[count] = strdup(d->d_name))) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        count++;
    }
    closedir(dir);
    dir = NULL;
    if (count > 1)
        qsort(names, count, sizeof(*names), scan_name_compare);

    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if ((rc = scan_path_push(w, names[i])) < 0)
            goto cleanup;
        if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) {
                ofs_log_warn("'/%s' vanished during the scan, skipped", w->path);
                w->counts->skipped++;
                scan_path_pop(w, saved);
                continue;
            }
            rc = ofs_error_from_errno(errno, "cannot stat '/%s'", w->path);
            goto cleanup;
        }
        if (scan_excluded(w, names[i])) {
            ofs_log_debug("'/%s' excluded", w->path);
        } else if ((rc = scan_one(w, dirfd, names[i], &st)) < 0) {
            goto cleanup;
        }
        scan_path_pop(w, saved);
        free(names[i]); /* a wide directory's names go as they are walked */
        names[i] = NULL;
    }
cleanup:
    if (dir)
        closedir(dir);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    if (w->path)
        scan_path_pop(w, saved);
    return rc;
}

/* Walks one set path ("srv/trading", or "" for /). */
static int scan_set_path(scan_walk *w, const char *relative)
{
    struct stat st;
    int rc = 0;
    char *absolute = NULL;
    size_t n = strlen(relative);

    if (!(absolute = malloc(n + 2)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    absolute[0] = '/';
    memcpy(absolute + 1, relative, n + 1);

    /* Ancestors, unless an earlier set path listed them already. */
    scan_path_pop(w, 0);
    for (size_t i = 1; i < n; i++) {
        if (relative[i] != '/')
            continue;
        /* the ancestor is relative[0, i) and absolute[0, i + 1) */
        if ((rc = scan_path_reserve(w, i)) < 0)
            goto cleanup;
        memcpy(w->path, relative, i);
        scan_path_pop(w, i);
        if (w->counts->entries > 0 && ofs_path_compare(w->path, w->last) <= 0)
            continue;
        absolute[i + 1] = '\0';
        int failed = stat(absolute, &st) < 0 ? errno : 0;
        if (failed)
            rc = ofs_error_from_errno(failed, "cannot stat '%s'", absolute);
        else if (!S_ISDIR(st.st_mode))
            rc = ofs_error_set(OFS_ECONFIG, "'%s' is not a directory", absolute);
        absolute[i + 1] = '/';
        if (rc < 0 || (rc = scan_emit(w, &st, OFS_ENTRY_DIR, NULL)) < 0)
            goto cleanup;
    }

    if ((rc = scan_path_reserve(w, n)) < 0)
        goto cleanup;
    memcpy(w->path, relative, n + 1);
    w->len = n;
    w->rel_start = n + (n > 0 ? 1 : 0);
    if (lstat(absolute, &st) < 0) {
        if (errno == ENOENT)
            rc = ofs_error_set(OFS_ENOTFOUND, "set path '%s' does not exist", absolute);
        else
            rc = ofs_error_from_errno(errno, "cannot stat '%s'", absolute);
        goto cleanup;
    }
    if (S_ISLNK(st.st_mode)) {
        struct stat followed;
        if (stat(absolute, &followed) == 0 && S_ISDIR(followed.st_mode))
            st = followed; /* the operator named it: a link to a directory is followed */
    }
    if (!S_ISDIR(st.st_mode)) {
        /* A single file (or link, fifo) as a set path: list it from its parent directory. */
        char *slash = strrchr(absolute, '/');
        *slash = '\0';
        int dirfd = open(slash == absolute ? "/" : absolute, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *slash = '/';
        if (dirfd < 0) {
            rc = ofs_error_from_errno(errno, "cannot open directory of '%s'", absolute);
            goto cleanup;
        }
        rc = scan_one(w, dirfd, slash + 1, &st);
        close(dirfd);
        goto cleanup;
    }
    int fd = open(absolute, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = ofs_error_from_errno(errno, "cannot open directory '%s'", absolute);
        goto cleanup;
    }
    if (n == 0 || (rc = scan_emit(w, &st, OFS_ENTRY_DIR, NULL)) == 0)
        rc = scan_children(w, fd);
    close(fd);
cleanup:
    free(absolute);
    return rc;
}

/* "/srv//trading/" -> "srv/trading"; OFS_ECONFIG for relative paths and "." or "..". */
static int scan_normalise(const char *path, char **out)
{
    size_t n = strlen(path), len = 0;
    char *norm = NULL;
    *out = NULL;
    if (path[0] != '/')
        return ofs_error_set(OFS_ECONFIG, "set path '%s' is not absolute", path);
    if (!(norm = malloc(n + 1)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t part = (size_t)(end - p);
        if (part == 0)
            break;
        if ((part == 1 && p[0] == '.') || (part == 2 && p[0] == '.' && p[1] == '.')) {
            free(norm);
            return ofs_error_set(OFS_ECONFIG, "set path '%s' holds a '.' or '..' component",
                                 path);
        }
        if (len > 0)
            norm[len++] = '/';
        memcpy(norm + len, p, part);
        len += part;
        p = end;
    }
    norm[len] = '\0';
    *out = norm;
    return 0;
}

static int scan_set_compare(const void *a, const void *b)
{
    return ofs_path_compare(*(char *const *)a, *(char *const *)b);
}

int ofs_scan_walk(char *const *paths, size_t path_count, char *const *excludes,
                  size_t exclude_count, ofs_scan_names *names, ofs_scan_fn fn, void *ctx,
                  ofs_scan_counts *counts)
{
    char **sorted = NULL;
    scan_walk w = { 0 };
    ofs_scan_counts local;
    int rc = 0;

    if (!counts)
        counts = &local;
    memset(counts, 0, sizeof(*counts));
    if (!(sorted = calloc(path_count ? path_count : 1, sizeof(*sorted))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < path_count; i++)
        if ((rc = scan_normalise(paths[i], &sorted[i])) < 0)
            goto cleanup;
    qsort(sorted, path_count, sizeof(*sorted), scan_set_compare);

    w.fn = fn;
    w.ctx = ctx;
    w.names = names;
    w.counts = counts;
    w.excludes = excludes;
    w.exclude_count = exclude_count;
    if ((rc = scan_path_reserve(&w, 256)) < 0)
        goto cleanup;
    const char *previous = NULL;
    for (size_t i = 0; i < path_count; i++) {
        const char *p = sorted[i];
        size_t pn = previous ? strlen(previous) : 0;
        if (previous && (pn == 0 || (strncmp(p, previous, pn) == 0 &&
                                     (p[pn] == '\0' || p[pn] == '/')))) {
            ofs_log_debug("set path '/%s' is inside '/%s', skipped", p, previous);
            continue;
        }
        if ((rc = scan_set_path(&w, p)) < 0)
            goto cleanup;
        previous = p;
    }
cleanup:
    for (size_t i = 0; i < path_count; i++)
        free(sorted[i]);
    free(sorted);
    free(w.path);
    free(w.last);
    scan_inode_free(&w.inodes);
    return rc;
}

/* ---- the whole list (small sets, tests) ---- */

static int scan_collect(void *ctx, const ofs_catalog_entry *e)
{
    ofs_scan *scan = ctx;
    if (scan->count == scan->capacity) {
        size_t capacity = scan->capacity ? scan->capacity * 2 : 1024;
        ofs_catalog_entry *bigger = realloc(scan->entries, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        scan->entries = bigger;
        scan->capacity = capacity;
    }
    int rc = ofs_catalog_entry_copy_paths(&scan->entries[scan->count], e);
    if (rc == 0)
        scan->count++;
    return rc;
}

int ofs_scan_run(ofs_scan **out, char *const *paths, size_t path_count, char *const *excludes,
                 size_t exclude_count)
{
    ofs_scan *scan = NULL;
    ofs_scan_counts counts;
    int rc;

    *out = NULL;
    if (!(scan = calloc(1, sizeof(*scan))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    if ((rc = ofs_scan_names_new(&scan->names)) < 0 ||
        (rc = ofs_scan_walk(paths, path_count, excludes, exclude_count, scan->names,
                            scan_collect, scan, &counts)) < 0) {
        ofs_scan_free(scan);
        return rc;
    }
    scan->files = counts.files;
    scan->dirs = counts.dirs;
    scan->symlinks = counts.symlinks;
    scan->hardlinks = counts.hardlinks;
    scan->fifos = counts.fifos;
    scan->bytes = counts.bytes;
    scan->skipped = counts.skipped;
    *out = scan;
    return 0;
}

void ofs_scan_free(ofs_scan *scan)
{
    if (!scan)
        return;
    for (size_t i = 0; i < scan->count; i++)
        ofs_catalog_entry_free_paths(&scan->entries[i]);
    free(scan->entries);
    ofs_scan_names_free(scan->names);
    free(scan);
}
