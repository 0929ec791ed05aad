/*
 * tarwrite.h - the tar stage of a volume: catalog entries in, a POSIX pax archive out
 * (libarchive), streamed into an ofs_writer.
 *
 * Every entry gets a pax extended header, so long paths, nanosecond mtimes, owner names and
 * extended attributes are kept; names are written as raw bytes (hdrcharset=BINARY), so
 * non-UTF-8 names survive. Bytes reach `next` as libarchive produces them (no blocking), which
 * makes the offset of each entry's header in the uncompressed tar exact. The archive ends with
 * the two zero blocks of the tar format; it is not padded to a record size.
 */
#ifndef OFFSITE_TARWRITE_H
#define OFFSITE_TARWRITE_H

#include <stdatomic.h>
#include <stdint.h>

#include "offsite/catalog.h"
#include "offsite/progress.h"
#include "offsite/stream.h"

typedef struct ofs_tar_writer ofs_tar_writer;

/*
 * ofs_tar_writer_new(&t, next): a pax writer into next (owned, even on failure). progress
 * (may be NULL) is advanced by the content bytes read; stop (may be NULL) is polled between
 * entries and between reads: when it becomes non-zero, ofs_tar_writer_add returns
 * OFS_ECANCELED.
 */
int ofs_tar_writer_new(ofs_tar_writer **out, ofs_writer *next, ofs_progress *progress,
                       atomic_int *stop);

/*
 * ofs_tar_writer_add(t, source, e): append e (its path, type, metadata; link_target for
 * symlinks and hard links) with e->path as the name in the archive. source is the file to read
 * (NULL means "/" + e->path); only regular files and extended attributes are read from it.
 * Sets e->offset (the header's offset in the uncompressed tar) and, for files, e->sha256 /
 * e->has_sha256 (SHA-256 of the stored content) and e->changed.
 *
 * A regular file is stored with exactly e->size bytes: if it grew, the rest is not read; if
 * it shrank, zeros are added so the archive stays valid. If its size, mtime or ctime differ
 * from e (at open or after reading), e->changed is set and a warning names the file.
 * Returns OFS_ENOTFOUND, with nothing written, when the file vanished or was replaced by
 * another file or type since the scan (the caller skips it with a warning); any other failure
 * to read it is an error naming it.
 *
 * A file the caller marked as grown since a base (e->base_size > 0, e->base_sha256 = the
 * base's SHA-256; catalog.h) is stored as its tail when its first base_size bytes still hash
 * to base_sha256: the entry is named ofs_catalog_tar_name(e), holds the size - base_size bytes
 * after the prefix, and e->tail_sha256 is set (e->sha256 is the whole file's, prefix read
 * again). Otherwise (rewritten in place, or shrunk) e->base_size is set to 0 and the whole
 * file is stored. The other base_ members are the caller's and left as they are.
 */
int ofs_tar_writer_add(ofs_tar_writer *t, const char *source, ofs_catalog_entry *e);

/* ofs_tar_writer_offset(t): bytes of uncompressed tar produced so far. */
uint64_t ofs_tar_writer_offset(ofs_tar_writer *t);

/* ofs_tar_writer_finish(t): write the end of the archive, then finish next (commits). */
int ofs_tar_writer_finish(ofs_tar_writer *t);

/* ofs_tar_writer_free(t): without finish, aborts next. NULL is a no-op. */
void ofs_tar_writer_free(ofs_tar_writer *t);

#endif
