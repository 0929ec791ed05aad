/*
 * decode_internal.h - what decode.c (the catalog, its checks, the selection and the plan) and
 * decode_run.c (the volumes, read by workers, and the sink) share; see
 * include/offsite/decode.h for the contract.
 */
#ifndef OFFSITE_DECODE_INTERNAL_H
#define OFFSITE_DECODE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "offsite/decode.h"

/* selected[i]: decoded at all; matched by a pattern itself (or below a match), not only
 * added as a directory above a match or a hard link's first path */
#define DECODE_SELECTED 1u
#define DECODE_MATCHED 2u
#include "offsite/hash.h"

/* One tar entry a volume holds for the catalog: an entry's own (the whole file, or a tail),
 * or the base's copy of a file the catalog stores as a tail (its prefix). */
typedef struct decode_ref {
    size_t index;               /* into ofs_decode.entries */
    int prefix;
} decode_ref;

/* The entries of one volume, in catalog (= archive) order. */
typedef struct decode_volume {
    const char *backup_id;      /* interned: rec->id or its base's id */
    uint32_t number;
    decode_ref *refs;
    size_t count, capacity;
    int wanted;                 /* holds a selected entry: it is read */
} decode_volume;

typedef struct decode_base {
    char *id;
    ofs_record *rec;            /* NULL for the decoded backup itself */
} decode_base;

/* A tail's prefix between the base's volume and the differential's: the sink's handle, and
 * the whole file's SHA-256 so far (the tail's bytes continue it). */
typedef struct decode_staged {
    void *token;
    ofs_sha256 *sha;
    int ready;                  /* staged: the tail may complete it */
    int failed;                 /* keep_going: the prefix failed (and was reported) */
} decode_staged;

struct ofs_decode {
    ofs_store *store;
    const ofs_keyring *ring;
    const ofs_record *rec;
    ofs_decode_options opts;
    ofs_catalog_entry *entries; /* path, link_target owned; user/group NULL; ids interned */
    uint8_t *selected;            /* DECODE_SELECTED | DECODE_MATCHED bits per entry */
    size_t count, capacity;
    decode_base *bases;         /* ids seen in the catalog; [0] is rec itself */
    size_t base_count;
    decode_volume *volumes;
    size_t volume_count;
    int tails;                  /* selected tail entries: bases' volumes go first */
    decode_staged *staged;      /* per entry, when tails */
    /* the run */
    int ran;
    int phase;                  /* which volumes the workers take (DECODE_*) */
    const ofs_sink_ops *ops;
    void *sink;
    ofs_progress *progress;
    atomic_size_t next_volume;
    atomic_int stop;
    pthread_mutex_t lock;       /* guards the failure and the report callback */
    int error_code;
    char *error_message;
    atomic_uint_fast64_t files, fifos, dirs, symlinks, hardlinks, bytes;
    double started;             /* ofs_clock_monotonic() at the run's start */
    atomic_int first_byte_seen;
    double first_byte;          /* written once, by the thread that set first_byte_seen */
    double fetch_busy, sink_busy; /* the workers' sums, added under lock */
};

#define DECODE_ALL 0
#define DECODE_BASES 1
#define DECODE_OWN 2

/* decode_volume_record(d, backup_id, &rec): the record of the backup holding a volume: the
 * decoded one, or a base (loaded by ofs_decode_open). */
int decode_volume_record(ofs_decode *d, const char *backup_id, const ofs_record **out);

/* decode_intern_id(d, id): the one copy of a backup id in d->bases (added if new; NULL: this
 * backup), or NULL when out of memory. */
const char *decode_intern_id(ofs_decode *d, const char *id);


/* decode_check.c: a differential's base record is a full of the same set (loaded here); the
 * catalog's structure, places and the record's counts (docs/format.md 5.2, 5.3, 6.2).
 * OFS_ECORRUPT naming the entry, or the base's load error. */
int decode_check_base(ofs_decode *d);
int decode_check_catalog(ofs_decode *d);

#endif
