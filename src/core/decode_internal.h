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

/* flags[i]: decoded at all; matched by a pattern itself (or below a match), not only added
 * as a directory above a match or a hard link's first path; and the entry's type (so that
 * the walks for directories and hard links read only those back from the spool) */
#define DECODE_SELECTED 1u
#define DECODE_MATCHED 2u
#define DECODE_TYPE_SHIFT 4
#define DECODE_TYPE(flags) ((ofs_entry_type)((flags) >> DECODE_TYPE_SHIFT))
#include "offsite/hash.h"
#include "offsite/spool.h"

/* One tar entry a volume holds for the catalog, as an index into the catalog with
 * DECODE_PREFIX set for the base's copy of a file the catalog stores as a tail (its prefix),
 * clear for an entry's own (the whole file, or a tail). 4 bytes, not a size_t and an int:
 * a million files' plan is 4 MiB. Catalogs are refused past DECODE_MAX_ENTRIES. */
#define DECODE_PREFIX 0x80000000u
#define DECODE_MAX_ENTRIES 0x7fffffffu

/* The entries of one volume, in catalog (= archive) order. */
typedef struct decode_volume {
    const char *backup_id;      /* interned: rec->id or its base's id */
    uint32_t number;
    uint32_t *refs;
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

/*
 * The catalog is not kept as structs: each entry is packed (decode_spool.c) into a spool
 * (spool.h: memory up to DECODE_SPOOL_MEMORY, then an unlinked file in opts.spool_dir) and
 * read back through cursors. What stays in memory per entry is its offset there (8 bytes),
 * its flags (1) and its place in the plan (4, twice for a tail): 13 bytes where a struct and
 * its path took ~390.
 */
#define DECODE_SPOOL_MEMORY (8u << 20)

struct ofs_decode {
    ofs_store *store;
    const ofs_keyring *ring;
    const ofs_record *rec;
    ofs_decode_options opts;
    ofs_spool *spool;
    uint64_t *offsets;          /* entry i is spool bytes [offsets[i], offsets[i + 1]) */
    uint8_t *flags;             /* DECODE_SELECTED | DECODE_MATCHED | type per entry */
    size_t count, capacity;
    uint8_t *pack;              /* decode_spool_add's scratch */
    size_t pack_size;
    uint64_t selected_bytes;
    decode_base *bases;         /* ids seen in the catalog; [0] is rec itself */
    size_t base_count;
    decode_volume *volumes;
    size_t volume_count;
    int tails;                  /* selected tail entries: bases' volumes go first */
    uint32_t *tail_index;       /* the tail entries (catalog.h: base_size > 0), in order */
    size_t tail_count;
    decode_staged *staged;      /* staged[k] for tail_index[k], when tails */
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

/* A reader of the spooled catalog (decode.h): one per thread. The entry it returns points
 * into its window: valid until its next read. */
struct ofs_decode_cursor {
    const ofs_decode *d;
    uint8_t *buf;               /* the window: spool bytes [start, start + len) */
    size_t cap, len;
    uint64_t start;
    size_t last;                /* the entry read last (SIZE_MAX: none): sets the direction */
    ofs_catalog_entry e;
};

#define DECODE_ALL 0
#define DECODE_BASES 1
#define DECODE_OWN 2

/* decode_volume_record(d, backup_id, &rec): the record of the backup holding a volume: the
 * decoded one, or a base (loaded by ofs_decode_open). */
int decode_volume_record(ofs_decode *d, const char *backup_id, const ofs_record **out);

/* decode_intern_id(d, id): the one copy of a backup id in d->bases (added if new; NULL: this
 * backup), or NULL when out of memory; decode_intern_index: its index there, or -1. */
const char *decode_intern_id(ofs_decode *d, const char *id);
int decode_intern_index(ofs_decode *d, const char *id);

/* decode_spool.c: decode_spool_add(d, e): pack e (what restore and verify read of it; no
 * user, group, ctime, ino or dev) at the end of the spool as entry d->count (the caller
 * grows offsets and flags first). decode_staged_of(d, index): entry index's staged slot, or
 * NULL (no tails selected, or not a tail). */
int decode_spool_add(ofs_decode *d, const ofs_catalog_entry *e);
decode_staged *decode_staged_of(const ofs_decode *d, size_t index);

/*
 * decode_stack: the directories open at a point of the catalog, which is a depth-first walk
 * (catalog.h's order): each pushed entry is an ancestor of the next path entered, or is
 * popped by it. Only the last pushed path is kept: every entry on the stack is a prefix of
 * it (len[k] bytes). decode_stack_enter pops what is not an ancestor of path.
 */
typedef struct decode_stack {
    char *path;
    size_t path_cap;
    size_t *len, *index;
    uint8_t *type;
    size_t depth, cap;
} decode_stack;

void decode_stack_enter(decode_stack *s, const char *path);
int decode_stack_push(decode_stack *s, const char *path, size_t index, ofs_entry_type type);
void decode_stack_free(decode_stack *s);


/* decode_check.c: a differential's base record is a full of the same set (loaded here); the
 * catalog's structure, places and the record's counts (docs/format.md 5.2, 5.3, 6.2).
 * OFS_ECORRUPT naming the entry, or the base's load error. */
int decode_check_base(ofs_decode *d);
int decode_check_catalog(ofs_decode *d);

#endif
