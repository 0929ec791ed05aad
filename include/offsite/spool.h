/*
 * spool.h - an append-only run of bytes that stays in memory up to a bound and then moves to
 * an unlinked temporary file: a list too long to keep in memory (restore's catalog of a
 * million entries, decode.c) written once, then read back by offset, by several threads at
 * once.
 *
 * Two phases: appends (one thread), then ofs_spool_finish, then reads (any number of threads:
 * pread, or memcpy from a buffer that no longer changes). The temporary file is created with
 * mode 0600 (O_TMPFILE, or mkstemp and unlink where the file system lacks it), so it never has
 * a name another process could open, and it disappears with the process, crash included.
 */
#ifndef OFFSITE_SPOOL_H
#define OFFSITE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ofs_spool ofs_spool;

/*
 * ofs_spool_new(&s, dir, memory): an empty spool keeping up to `memory` bytes in memory; past
 * that, everything moves to a temporary file in dir (NULL or "": $TMPDIR, else /tmp), created
 * only then. OFS_ERROR when out of memory. The caller frees s with ofs_spool_free.
 */
int ofs_spool_new(ofs_spool **out, const char *dir, size_t memory);

/*
 * ofs_spool_append(s, data, size, &offset): add size bytes at the end; *offset (may be NULL)
 * is where they start. Errors: the temporary file's creation or writes ("spool: cannot ...
 * in 'DIR'", OFS_ENOSPC for a full disk). Not after ofs_spool_finish.
 */
int ofs_spool_append(ofs_spool *s, const void *data, size_t size, uint64_t *offset);

/* ofs_spool_finish(s): the end of the appends (flushes what is buffered): reads may begin. */
int ofs_spool_finish(ofs_spool *s);

/* ofs_spool_size(s): the bytes appended so far. ofs_spool_spilled(s): 1 once in a file. */
uint64_t ofs_spool_size(const ofs_spool *s);
int ofs_spool_spilled(const ofs_spool *s);

/*
 * ofs_spool_read(s, offset, buf, size): copy size bytes from offset into buf; after
 * ofs_spool_finish only, from any thread. OFS_ERROR for a range past the end or a failed read.
 */
int ofs_spool_read(const ofs_spool *s, uint64_t offset, void *buf, size_t size);

/* ofs_spool_free(s): closes (and so removes) the temporary file; NULL is a no-op. */
void ofs_spool_free(ofs_spool *s);

#endif
