/*
 * tarread.h - the reading side of a volume's tar stage: a pax (or ustar) archive pulled from
 * an ofs_reader (already decrypted and decompressed) through libarchive, entry by entry, with
 * each entry's data streamed in blocks that point into libarchive's buffers (no copy).
 *
 * Only the tar formats are enabled and no filters: decompression happened before. Nothing is
 * written to disk here; the caller decides what an entry may become (extract.h).
 */
#ifndef OFFSITE_TARREAD_H
#define OFFSITE_TARREAD_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/catalog.h"
#include "offsite/stream.h"

typedef struct ofs_tar_reader ofs_tar_reader;

/* One extended attribute of an entry (pax SCHILY.xattr / LIBARCHIVE.xattr). */
typedef struct ofs_tar_xattr {
    const char *name;
    const void *value;
    size_t size;
} ofs_tar_xattr;

/*
 * One entry, valid until the next ofs_tar_reader_next. path and link_target are the raw bytes
 * of the archive (not checked: see ofs_path_is_safe). A regular file with a hard link name is
 * OFS_ENTRY_HARDLINK.
 */
typedef struct ofs_tar_entry {
    const char *path;
    ofs_entry_type type;
    uint64_t size;             /* data bytes that follow (files) */
    uint32_t mode;             /* permission bits */
    int64_t mtime_sec;
    int32_t mtime_nsec;
    const char *link_target;   /* symlink or hard link target, else NULL */
    const ofs_tar_xattr *xattrs;
    size_t xattr_count;
    uint64_t offset;           /* offset of the entry's first header in the uncompressed tar */
} ofs_tar_entry;

/*
 * ofs_tar_reader_new(&t, source, name): read a tar archive from source (owned, even on
 * failure). name ("vol-0001.ofs") prefixes format errors.
 */
int ofs_tar_reader_new(ofs_tar_reader **out, ofs_reader *source, const char *name);

/*
 * ofs_tar_reader_next(t, &e): 1 and the next entry (the rest of the previous entry's data is
 * skipped), 0 at the end of the archive (the source has then been read to its end, so its
 * authentication and frame checks ran), or a negative code: the source's own error (OFS_EAUTH,
 * OFS_ECORRUPT from zstd, ...) or OFS_ECORRUPT "NAME: ..." for a malformed archive (also a
 * header libarchive reads only with a warning, such as a malformed pax record) or an
 * entry type offsite never writes (devices, sockets).
 */
int ofs_tar_reader_next(ofs_tar_reader *t, ofs_tar_entry *e);

/*
 * ofs_tar_reader_data(t, &data, &size, &offset): 1 and the next block of the current entry's
 * data at byte offset (offsets only grow; a gap is a hole of zeros), 0 when the data is used up,
 * or a negative code. The block is valid until the next call.
 */
int ofs_tar_reader_data(ofs_tar_reader *t, const void **data, size_t *size, uint64_t *offset);

/* ofs_tar_reader_free(t): NULL is a no-op. */
void ofs_tar_reader_free(ofs_tar_reader *t);

#endif
