/*
 * file_internal.h - what the file driver's parts share (file.c, file_sweep.c).
 */
#ifndef OFFSITE_FILE_INTERNAL_H
#define OFFSITE_FILE_INTERNAL_H

#include <stdint.h>

#include "offsite/store.h"

/*
 * file_sweep_root(root, before, stats): the file driver's sweep (ofs_store_sweep): every
 * ".tmp-*" file in root and under root/data/ last changed before `before`, and every empty
 * data/CLASS/ID folder unchanged since before it, removed; adds to stats. A missing root or
 * data/ is nothing to do.
 */
int file_sweep_root(const char *root, int64_t before, ofs_store_sweep_stats *stats);

#endif
