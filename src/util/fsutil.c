/*
 * fsutil.c - small file-system helpers with the durability rules offsite relies on.
 */
#include "offsite/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/error.h"

int ofs_mkdir_p(const char *path, mode_t mode)
{
    char *copy = NULL;
    struct stat st;
    int rc = 0;

    if (!path || !*path)
        return ofs_error_set(OFS_ECONFIG, "empty directory path");
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return ofs_error_set(OFS_ERROR, "'%s' exists and is not a directory", path);
    }
    if (!(copy = strdup(path)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    /* create each missing component from the top; EEXIST from a racing creator is fine */
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST) {
            rc = ofs_error_from_errno(errno, "cannot create directory '%s'", copy);
            goto cleanup;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        rc = ofs_error_set(OFS_ERROR, "'%s' is not a directory", path);
cleanup:
    free(copy);
    return rc;
}

int ofs_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return ofs_error_from_errno(errno, "cannot open directory '%s'", path);
    if (fsync(fd) < 0 && errno != EINVAL)
        rc = ofs_error_from_errno(errno, "cannot fsync directory '%s'", path);
    close(fd);
    return rc;
}

/* dir_of(path): the directory part, malloc'd ("." when there is none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int ofs_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode)
{
    char *tmp = NULL, *dir = NULL;
    const char *p = data;
    int fd = -1, rc = 0;
    size_t len = strlen(path) + 16;

    if (!(tmp = malloc(len)) || !(dir = dir_of(path))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    snprintf(tmp, len, "%s.tmp-XXXXXX", path);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        rc = ofs_error_from_errno(errno, "cannot create a temporary file beside '%s'", path);
        goto cleanup;
    }
    if (fchmod(fd, mode) < 0) {
        rc = ofs_error_from_errno(errno, "cannot set the mode of '%s'", tmp);
        goto cleanup;
    }
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ofs_error_from_errno(errno, "cannot write '%s'", path);
            goto cleanup;
        }
        p += n;
        size -= (size_t)n;
    }
    if (fsync(fd) < 0) {
        rc = ofs_error_from_errno(errno, "cannot fsync '%s'", path);
        goto cleanup;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = ofs_error_from_errno(errno, "cannot close '%s'", path);
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = ofs_error_from_errno(errno, "cannot rename into '%s'", path);
        goto cleanup;
    }
    tmp[0] = '\0'; /* renamed: nothing to unlink */
    rc = ofs_fsync_dir(dir);
cleanup:
    if (fd >= 0)
        close(fd);
    if (tmp && tmp[0])
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

int ofs_read_file(const char *path, char **data, size_t *size, size_t max)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int fd, rc = 0;

    *data = NULL;
    if (size)
        *size = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return ofs_error_from_errno(errno, "cannot read '%s'", path);
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *nbuf;
            if (!(nbuf = realloc(buf, ncap + 1))) {
                rc = ofs_error_set(OFS_ERROR, "out of memory reading '%s'", path);
                goto cleanup;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ofs_error_from_errno(errno, "cannot read '%s'", path);
            goto cleanup;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            rc = ofs_error_set(OFS_ECORRUPT, "'%s' is larger than %zu bytes", path, max);
            goto cleanup;
        }
    }
    buf[len] = '\0';
    *data = buf;
    buf = NULL;
    if (size)
        *size = len;
cleanup:
    close(fd);
    free(buf);
    return rc;
}

char *ofs_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    char *out;

    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    if (!*b)
        return strndup(a, la);
    if (!(out = malloc(la + strlen(b) + 2)))
        return NULL;
    if (la == 1 && a[0] == '/')
        la = 0; /* "/" + "x" is "/x", not "//x" */
    memcpy(out, a, la);
    out[la] = '/';
    strcpy(out + la + 1, b);
    return out;
}

static int rm_rf_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* a first pass makes directories writable, so read-only test trees can be removed */
static int rm_rf_chmod(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_D && (st->st_mode & 0700) != 0700)
        chmod(path, st->st_mode | 0700);
    return 0;
}

int ofs_rm_rf(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : ofs_error_from_errno(errno, "cannot remove '%s'", path);
    nftw(path, rm_rf_chmod, 32, FTW_PHYS);
    if (nftw(path, rm_rf_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
        return ofs_error_from_errno(errno, "cannot remove '%s'", path);
    return 0;
}
