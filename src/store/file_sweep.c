/*
 * file_sweep.c - removing what killed runs leave in a file store: the ".tmp-*" files a writer
 * never finished or unlinked (invisible to listings, so no cleanup that works on objects ever
 * saw them) and the empty folders of backups whose objects are gone. Only what was last
 * changed before the caller's cutoff goes: a live writer's file is newer (file_internal.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/store.h"
#include "file_internal.h"

/* sweep_dir(dirfd, path, depth, before, stats): sweep one open directory (consumed); depth 1
 * is data/, 3 a backup's folder (data/CLASS/ID). 1 is returned when the folder ended up
 * empty. */
static int sweep_dir(int dirfd, const char *path, int depth, int64_t before,
                     ofs_store_sweep_stats *stats)
{
    DIR *d = fdopendir(dirfd);
    int rc = 0, entries = 0;

    if (!d) {
        rc = ofs_error_from_errno(errno, "cannot list '%s'", path);
        close(dirfd);
        return rc;
    }
    for (struct dirent *e; rc >= 0 && (errno = 0, e = readdir(d)) != NULL;) {
        struct stat st;
        char sub[4096];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        entries++;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* gone meanwhile */
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (S_ISREG(st.st_mode) && strncmp(e->d_name, ".tmp-", 5) == 0 &&
            (int64_t)st.st_mtime < before) {
            if (unlinkat(dirfd, e->d_name, 0) < 0 && errno != ENOENT) {
                rc = ofs_error_from_errno(errno, "cannot remove '%s'", sub);
                break;
            }
            stats->objects++;
            stats->bytes += (uint64_t)st.st_size;
            entries--;
        } else if (S_ISDIR(st.st_mode) && depth < 3) {
            int fd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0)
                continue;
            int empty = sweep_dir(fd, sub, depth + 1, before, stats);
            if (empty < 0) {
                rc = empty;
                break;
            }
            /* only a backup's own folder goes (class folders stay for the next backup), and
             * only one unchanged since the cutoff: a writer may have just made it */
            if (empty && depth == 2 && (int64_t)st.st_mtime < before &&
                unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0) {
                stats->folders++;
                entries--;
            }
        }
    }
    if (rc >= 0 && errno != 0)
        rc = ofs_error_from_errno(errno, "cannot list '%s'", path);
    closedir(d);
    return rc < 0 ? rc : entries == 0;
}

int file_sweep_root(const char *root, int64_t before, ofs_store_sweep_stats *stats)
{
    char data[4096];
    /* the root holds the manifest's temporaries, data/ the backups' */
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : ofs_error_from_errno(errno, "cannot open '%s'", root);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return ofs_error_from_errno(errno, "cannot list '%s'", root);
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        struct stat st;
        if (strncmp(e->d_name, ".tmp-", 5) == 0 &&
            fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            (int64_t)st.st_mtime < before && unlinkat(fd, e->d_name, 0) == 0) {
            stats->objects++;
            stats->bytes += (uint64_t)st.st_size;
        }
    }
    closedir(d);
    snprintf(data, sizeof(data), "%s/data", root);
    if ((fd = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return errno == ENOENT ? 0 : ofs_error_from_errno(errno, "cannot open '%s'", data);
    int rc = sweep_dir(fd, data, 1, before, stats);
    return rc < 0 ? rc : 0;
}
