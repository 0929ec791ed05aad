/*
 * range_reader.h - a streamed object download that survives a cut connection: the get reader
 * the object-store drivers (s3, gcs) share. A driver opens a GET (ranged if asked); when the
 * connection drops mid-body, the reader asks again with a Range from the byte reached, pinned
 * to the version the first answer named (the driver's If-Match ETag or ifGenerationMatch), so a
 * flaky link costs the lost bytes, not the whole object, and never mixes two versions.
 *
 * The driver embeds an ofs_range_reader as the first member of its reader and supplies ops:
 *   open(r, from, length): begin GET [from, from+length) (length 0: to the end), pinned once
 *       r->pinned is set; on success set r->h (the open transfer) and r->status, and the first
 *       time set r->pinned if the answer named a version. A failed pin is OFS_EEXISTS, a 416
 *       OFS_ECORRUPT; on failure r->h stays NULL.
 *   close(r): end the open transfer, if any; r->h NULL afterwards.
 *   delivered(r, buf, n) (may be NULL): sees every byte handed to the caller, in order, and
 *       n == 0 once at the end of a body read to its Content-Length (a check such as a
 *       checksum returns OFS_ECORRUPT there).
 *   free(r): free the driver's own fields (not r itself; after close).
 * Resumes are counted: at most OFS_RANGE_RESUMES per reader, each one logged as a warning.
 */
#ifndef OFFSITE_RANGE_READER_H
#define OFFSITE_RANGE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/http.h"
#include "offsite/stream.h"

#define OFS_RANGE_RESUMES 10

typedef struct ofs_range_reader ofs_range_reader;

typedef struct ofs_range_reader_ops {
    int (*open)(ofs_range_reader *r, uint64_t from, uint64_t length);
    void (*close)(ofs_range_reader *r);
    int (*delivered)(ofs_range_reader *r, const void *buf, size_t n);
    void (*free)(ofs_range_reader *r);
} ofs_range_reader_ops;

struct ofs_range_reader {
    ofs_reader parent;               /* set by ofs_range_reader_init */
    const ofs_range_reader_ops *ops;
    ofs_http *h;                     /* the open transfer, or NULL */
    long status;                     /* its HTTP status */
    int pinned;                      /* the version is known: resuming is safe */
    uint64_t start;                  /* object offset of the first byte returned */
    uint64_t expected;               /* bytes returned in all; UINT64_MAX if unknown */
    uint64_t done;                   /* bytes returned so far */
    uint64_t skip;                   /* bytes to drop: the server ignored the Range */
    int resumes;
    int ended;                       /* delivered(r, NULL, 0) was called */
    char *log_name;                  /* "STORE: get KEY", for the log */
    char *where;                     /* "bucket B, key K", for messages */
};

/*
 * ofs_range_reader_init(r, ops, store_name, bucket, noun, name): fill in a zeroed r ("noun" is
 * "key" or "object", as the provider calls it). OFS_ERROR when out of memory.
 */
int ofs_range_reader_init(ofs_range_reader *r, const ofs_range_reader_ops *ops,
                          const char *store_name, const char *bucket, const char *noun,
                          const char *name);

/*
 * ofs_range_reader_start(r, offset, length): open the first GET and size the read from its
 * Content-Length (a 200 to a ranged request drops the bytes before offset; a 416 when reading
 * to the end is an empty read). Errors are the driver's open's. On success r is a ready
 * ofs_reader (free it with ofs_reader_free); on failure free it the same way.
 */
int ofs_range_reader_start(ofs_range_reader *r, uint64_t offset, uint64_t length);

#endif
