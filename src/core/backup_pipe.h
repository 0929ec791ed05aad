/*
 * backup_pipe.h - the streaming middle of a backup (internal to backup.c): scanned entries in,
 * volumes and catalog lines out, with memory bounded whatever the number of files.
 *
 * The caller walks the set (ofs_scan_walk) and hands each entry to backup_pipe_add. For a
 * differential the pipe merges it with the base's catalog (diff.h) and decides: keep the
 * base's entry, or store the entry in this backup. Decisions go into batches in path order:
 * runs of "keep n base entries", "skip n base entries" and "store these entries". A batch is
 * cut near volume_size of stored content (as a full backup's volumes always were), or after
 * BACKUP_PIPE_BATCH_MAX items; its stored entries become one volume, packed by one of
 * `parallel` worker threads (tar -> zstd -> seal -> SHA-256 -> store). The calling thread
 * writes the catalog in order as batches finish: stored entries with their new locations,
 * and kept entries read again from a second reader of the base catalog (so unchanged entries
 * are never held in memory). At most parallel + 1 batches are in flight.
 */
#ifndef OFFSITE_BACKUP_PIPE_H
#define OFFSITE_BACKUP_PIPE_H

#include <stdint.h>

#include "offsite/catalog.h"
#include "offsite/keyring.h"
#include "offsite/progress.h"
#include "offsite/store.h"

#define BACKUP_PIPE_BATCH_MAX 16384

typedef struct backup_pipe backup_pipe;

typedef struct backup_pipe_config {
    ofs_store *staging;
    const ofs_key *key;
    const char *id, *class_name;
    int compression_level;
    uint64_t volume_size;            /* 0 = 128 MiB */
    int parallel;                    /* worker threads, at least 1 */
    ofs_progress *progress;          /* may be NULL */
    ofs_catalog_writer *catalog;     /* where the catalog lines go (not owned) */
    /* a differential: two readers of the base's catalog (owned, even on failure), else NULL */
    const char *base_id;
    ofs_catalog_reader *base_merge, *base_keep;
} backup_pipe_config;

typedef struct backup_pipe_stats {
    uint64_t entries, files, dirs, symlinks, hardlinks, fifos, bytes; /* the catalog */
    uint64_t stored;            /* entries stored in this backup's volumes */
    uint64_t appended;          /* files stored as their tail */
    uint64_t kept;              /* entries kept from the base */
    uint64_t deleted;           /* base entries no longer present */
    uint64_t changed_while_read;
    uint64_t vanished;          /* skipped: gone between the scan and the read */
} backup_pipe_stats;

/* backup_pipe_new(&p, cfg): starts the workers. */
int backup_pipe_new(backup_pipe **out, const backup_pipe_config *cfg);

/* backup_pipe_add(ctx, e): an ofs_scan_fn; ctx is the pipe. */
int backup_pipe_add(void *ctx, const ofs_catalog_entry *e);

/* backup_pipe_finish(p): after the walk: packs and writes everything left (not the catalog's
 * end: the caller finishes its writer). */
int backup_pipe_finish(backup_pipe *p);

/* The volumes written: their count, and each one's stored size and SHA-256 (index 0-based). */
uint32_t backup_pipe_volume_count(const backup_pipe *p);
void backup_pipe_volume(const backup_pipe *p, uint32_t index, uint64_t *size,
                        uint8_t sha256[OFS_SHA256_BYTES]);

/* backup_pipe_stats(p): what was written so far. */
const backup_pipe_stats *backup_pipe_get_stats(const backup_pipe *p);

/* backup_pipe_free(p): stops and joins the workers (a volume being written is aborted). */
void backup_pipe_free(backup_pipe *p);

#endif
