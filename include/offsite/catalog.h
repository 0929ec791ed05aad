/*
 * catalog.h - the file catalog of a backup: every file present at backup time, in path order
 * (ofs_path_compare: bytes compared with '/' below every other byte, which is the order of a
 * depth-first walk with each directory's names sorted), with its metadata, SHA-256 and where
 * its content lives. Paths are the absolute source paths without the leading '/', so
 * `restore --target /` puts every file back where it was; the ancestors of each set path are
 * included as directory entries so they restore with their metadata.
 *
 * Stored as catalog.ofs: JSON lines (one object per entry, docs/format.md "Catalog"),
 * zstd-compressed, sealed. The writer and reader are streaming: memory does not grow with the
 * number of files. Entries must be added in strictly increasing path order.
 */
#ifndef OFFSITE_CATALOG_H
#define OFFSITE_CATALOG_H

#include <stdint.h>
#include <sys/types.h>

#include "offsite/hash.h"
#include "offsite/stream.h"

typedef enum ofs_entry_type {
    OFS_ENTRY_FILE = 0,
    OFS_ENTRY_DIR,
    OFS_ENTRY_SYMLINK,
    OFS_ENTRY_HARDLINK, /* link_target = path of the first entry with the same inode */
    OFS_ENTRY_FIFO
} ofs_entry_type;

typedef struct ofs_catalog_entry {
    char *path;          /* relative to the set root, no leading '/'; may be non-UTF-8 bytes */
    ofs_entry_type type;
    uint32_t mode;       /* permission bits incl. setuid/setgid/sticky (st_mode & 07777) */
    uint32_t uid, gid;
    char *user, *group;  /* names at backup time, or NULL */
    uint64_t size;       /* content bytes (regular files) */
    int64_t mtime_sec;
    int32_t mtime_nsec;
    int64_t ctime_sec;   /* change detection (differentials) */
    int32_t ctime_nsec;
    uint64_t ino, dev;
    char *link_target;   /* symlink or hard link target, else NULL */
    int has_sha256;      /* regular files */
    int changed;         /* the file changed while it was read (stored as read, warned) */
    uint8_t sha256[OFS_SHA256_BYTES];
    char *backup_id;     /* backup holding the content (this backup, or a base) */
    uint32_t volume;     /* volume number, 1-based; 0 for entries without content in a volume */
    uint64_t offset;     /* offset of the entry's tar header in the volume's uncompressed tar */
    /*
     * A file stored as a tail (differentials; docs/format.md 5.3): base_size > 0 means its first
     * base_size bytes are the content of the tar entry at (base_backup, base_volume,
     * base_offset), whose SHA-256 is base_sha256, and the tar entry at (backup_id, volume,
     * offset), named ofs_catalog_tar_name(), holds the remaining size - base_size bytes, whose
     * SHA-256 is tail_sha256. sha256 is always the whole file's. With base_size 0 the other
     * base_ members and tail_sha256 mean nothing (and are not written).
     */
    uint64_t base_size;
    char *base_backup;
    uint32_t base_volume;
    uint64_t base_offset;
    uint8_t base_sha256[OFS_SHA256_BYTES];
    uint8_t tail_sha256[OFS_SHA256_BYTES];
} ofs_catalog_entry;

/* Suffix of a tail's name in the tar: a hand extraction of a differential's volume over its
 * base then leaves the base's copy in place beside "PATH.offsite-tail" (never a file cut to
 * its tail), and `cat PATH.offsite-tail >> PATH` completes it. */
#define OFS_TAIL_SUFFIX ".offsite-tail"

/*
 * ofs_catalog_tar_name(e, &name): the name of e's tar entry in its volume: e->path, or for a
 * tail (base_size > 0) e->path followed by OFS_TAIL_SUFFIX. Caller frees *name.
 */
int ofs_catalog_tar_name(const ofs_catalog_entry *e, char **name);

/* ofs_catalog_stored_size(e): the content bytes e's own tar entry holds (size - base_size). */
uint64_t ofs_catalog_stored_size(const ofs_catalog_entry *e);

/* ofs_catalog_entry_clear(e): free the strings inside e and zero it. */
void ofs_catalog_entry_clear(ofs_catalog_entry *e);

/* ofs_catalog_entry_copy(dst, src): deep copy. */
int ofs_catalog_entry_copy(ofs_catalog_entry *dst, const ofs_catalog_entry *src);

/*
 * ofs_catalog_entry_copy_paths(dst, src): *dst = *src with dst's own copies of path and
 * link_target; every other string stays borrowed from src (lists that own only those two,
 * freeing them with ofs_catalog_entry_free_paths). On failure dst owns nothing.
 */
int ofs_catalog_entry_copy_paths(ofs_catalog_entry *dst, const ofs_catalog_entry *src);
void ofs_catalog_entry_free_paths(ofs_catalog_entry *e);

typedef struct ofs_catalog_writer ofs_catalog_writer;
typedef struct ofs_catalog_reader ofs_catalog_reader;

/*
 * ofs_catalog_writer_new(&cw, next): write entries as JSON lines into next (owned; the caller
 * builds next as zstd -> seal -> store). finish finishes next; free without finish aborts.
 */
int ofs_catalog_writer_new(ofs_catalog_writer **out, ofs_writer *next);
/* ofs_catalog_writer_add(cw, e): OFS_ERROR if e->path does not sort after the previous path. */
int ofs_catalog_writer_add(ofs_catalog_writer *cw, const ofs_catalog_entry *e);
/*
 * ofs_catalog_writer_add_raw(cw, line, len): append an entry's JSON line exactly as
 * ofs_catalog_reader_next_raw read it from another catalog (a differential keeping its base's
 * entries without parsing them twice). Its path is not checked against the order: the caller
 * guarantees it (OFS_ERROR only for something that is not one JSON object line).
 */
int ofs_catalog_writer_add_raw(ofs_catalog_writer *cw, const char *line, size_t len);
int ofs_catalog_writer_finish(ofs_catalog_writer *cw);
void ofs_catalog_writer_free(ofs_catalog_writer *cw);

/*
 * ofs_catalog_reader_new(&cr, source): parse JSON lines from source (owned; already decrypted
 * and decompressed). ofs_catalog_reader_next(cr, &e) returns 1 and points e at the next entry
 * (owned by the reader, valid until the next call), 0 at the end, or a negative code
 * (OFS_ECORRUPT "catalog line N: ..." for a malformed or out-of-order line).
 */
int ofs_catalog_reader_new(ofs_catalog_reader **out, ofs_reader *source);
int ofs_catalog_reader_next(ofs_catalog_reader *cr, const ofs_catalog_entry **e);
/*
 * ofs_catalog_reader_next_raw(cr, &line, &len): like next, but the entry's JSON line as stored
 * (without its newline, valid until the next call), neither parsed nor checked: 1, 0 at the
 * end, or an error of the stream or the header.
 */
int ofs_catalog_reader_next_raw(ofs_catalog_reader *cr, const char **line, size_t *len);
void ofs_catalog_reader_free(ofs_catalog_reader *cr);

/* ofs_path_compare(a, b): <0, 0, >0 like strcmp, with '/' sorting below every other byte. */
int ofs_path_compare(const char *a, const char *b);

/* ofs_entry_type_name(type): "file", "dir", "symlink", "hardlink", "fifo". */
const char *ofs_entry_type_name(ofs_entry_type type);

#endif
