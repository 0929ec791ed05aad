/*
 * stream.h - writers and readers, the pipes every byte of offsite flows through.
 *
 * A writer is a stage of a pipeline (libgit2's git_writestream, with tarsnap's transaction
 * rule): write() takes bytes, finish() flushes and COMMITS (a store object becomes visible,
 * a file is renamed into place), free() without finish() ABORTS (temp file unlinked,
 * multipart upload aborted). A filter (zstd, seal, hash) holds the next writer and owns it:
 * finishing the filter finishes the next one, freeing it frees the next one. Chains are built
 * from the end, so a volume write reads as:
 *
 *     ofs_store_put(store, key, 0, &w);          -- the sink
 *     ofs_hash_writer_new(&w, w);                -- SHA-256 of what is stored
 *     ofs_seal_writer_new(&w, w, key, name, 0);  -- AES-256-GCM STREAM
 *     ofs_zstd_writer_new(&w, w, level, 0);      -- compression
 *
 * A constructor that takes a `next` writer or `source` reader takes ownership of it EVEN WHEN
 * IT FAILS (it frees it), so a caller's cleanup is always one free of the outermost stage.
 *
 * A reader is the other direction: read() fills up to `size` bytes and sets *got; *got == 0
 * with return 0 means end of stream. A filter reader owns its source.
 *
 * Every _free(NULL) is a no-op. All functions return 0 or a negative OFS_E* code with the
 * message set (error.h).
 */
#ifndef OFFSITE_STREAM_H
#define OFFSITE_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct ofs_writer ofs_writer;
typedef struct ofs_reader ofs_reader;

struct ofs_writer_ops {
    int (*write)(ofs_writer *w, const void *data, size_t size);
    int (*finish)(ofs_writer *w);  /* flush, then finish next; commits */
    void (*free)(ofs_writer *w);   /* without finish: abort; frees next */
};

/* Implementations embed this as their first member. */
struct ofs_writer {
    const struct ofs_writer_ops *ops;
    int finished; /* set by ofs_writer_finish on success; write after finish is a bug */
};

struct ofs_reader_ops {
    int (*read)(ofs_reader *r, void *buf, size_t size, size_t *got);
    void (*free)(ofs_reader *r);
};

struct ofs_reader {
    const struct ofs_reader_ops *ops;
};

/* ofs_writer_write(w, data, size): pass all size bytes on (loops until used up). */
int ofs_writer_write(ofs_writer *w, const void *data, size_t size);

/* ofs_writer_finish(w): flush and commit the whole chain. Calling it twice is an error. */
int ofs_writer_finish(ofs_writer *w);

/* ofs_writer_free(w): release the chain; aborts whatever was not finished. NULL is a no-op. */
void ofs_writer_free(ofs_writer *w);

/* ofs_reader_read(r, buf, size, got): read up to size bytes; *got == 0 means end of stream. */
int ofs_reader_read(ofs_reader *r, void *buf, size_t size, size_t *got);

/* ofs_reader_read_full(r, buf, size, got): read until size bytes or end of stream. */
int ofs_reader_read_full(ofs_reader *r, void *buf, size_t size, size_t *got);

/* ofs_reader_free(r): release the reader and its sources. NULL is a no-op. */
void ofs_reader_free(ofs_reader *r);

/*
 * ofs_stream_copy(r, w, copied): read r to its end and write everything to w (w is not
 * finished). *copied (may be NULL) gets the byte count.
 */
int ofs_stream_copy(ofs_reader *r, ofs_writer *w, uint64_t *copied);

/*
 * ofs_reader_read_all(r, out, size, max): read r to its end into a malloc'd buffer (NUL
 * terminated, not counted in *size). More than max bytes -> OFS_ECORRUPT. Caller frees *out.
 */
int ofs_reader_read_all(ofs_reader *r, char **out, size_t *size, size_t max);

/*
 * Memory sink: ofs_memory_writer_new(&w) collects everything written; after finish,
 * ofs_memory_writer_data(w, &size) returns the bytes (owned by w, valid until free).
 */
int ofs_memory_writer_new(ofs_writer **out);
const void *ofs_memory_writer_data(ofs_writer *w, size_t *size);

/* Memory source: reads size bytes from data (copied if copy != 0, else borrowed). */
int ofs_memory_reader_new(ofs_reader **out, const void *data, size_t size, int copy);

/*
 * File-descriptor ends: read from / write to an open descriptor (stdin/stdout for
 * `offsite decrypt`). The descriptor is not closed by free; finish does not fsync.
 */
int ofs_fd_reader_new(ofs_reader **out, int fd, const char *name);
int ofs_fd_writer_new(ofs_writer **out, int fd, const char *name);

/* Null sink: discards everything (verify --read-data of parts it only needs to hash). */
int ofs_null_writer_new(ofs_writer **out);

#endif
