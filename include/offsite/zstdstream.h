/*
 * zstdstream.h - zstd compression as stream stages (one zstd frame per stream).
 */
#ifndef OFFSITE_ZSTDSTREAM_H
#define OFFSITE_ZSTDSTREAM_H

#include "offsite/stream.h"

/*
 * ofs_zstd_writer_new(&w, next, level, threads): compress into next (owned) at level (1..19;
 * negative levels allowed) with threads zstd workers (0 = compress in the caller's thread).
 * finish ends the frame (flushing until nothing is left), then finishes next.
 */
int ofs_zstd_writer_new(ofs_writer **out, ofs_writer *next, int level, int threads);

/*
 * ofs_zstd_reader_new(&r, source): decompress source (owned). A truncated frame or trailing
 * garbage is OFS_ECORRUPT.
 */
int ofs_zstd_reader_new(ofs_reader **out, ofs_reader *source);

#endif
