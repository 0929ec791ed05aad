/*
 * fsutil.h - small file-system helpers with the durability rules offsite relies on.
 */
#ifndef OFFSITE_FSUTIL_H
#define OFFSITE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* ofs_mkdir_p(path, mode): create path and missing parents; existing directories are fine. */
int ofs_mkdir_p(const char *path, mode_t mode);

/* ofs_fsync_dir(path): fsync a directory so a rename or create in it is durable. */
int ofs_fsync_dir(const char *path);

/*
 * ofs_write_file_atomic(path, data, size, mode): write to a temporary file in the same
 * directory, fsync, rename over path, fsync the directory. On failure path is untouched and
 * the temporary file is gone.
 */
int ofs_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* ofs_read_file(path, &data, &size, max): whole file, NUL-terminated; caller frees. */
int ofs_read_file(const char *path, char **data, size_t *size, size_t max);

/* ofs_path_join(a, b): "a/b" (one slash), malloc'd; NULL on out of memory. */
char *ofs_path_join(const char *a, const char *b);

/* ofs_rm_rf(path): remove a tree (tests and scratch directories only). */
int ofs_rm_rf(const char *path);

#endif
