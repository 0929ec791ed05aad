/*
 * prefetch.h - a reader that runs its source (store get -> seal -> zstd) in a thread of its
 * own, a few 1 MiB buffers ahead, so a restore's decryption and decompression overlap with
 * hashing and writing files (internal to restore.c).
 */
#ifndef OFFSITE_PREFETCH_H
#define OFFSITE_PREFETCH_H

#include "offsite/stream.h"

/* prefetch_reader_new(&r, source): source is owned, even on failure. The source's error
 * (code and message) is returned by the read that reaches it. */
int prefetch_reader_new(ofs_reader **out, ofs_reader *source);

#endif
