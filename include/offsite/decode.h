/*
 * decode.h - the one decoder of a backup, shared by restore and verify --read-data.
 *
 * A backup is decoded in one way only: its record, a differential's base record (a full of
 * the same set), its catalog (every entry checked before anything is read: paths, parents
 * that are earlier directories, the backups and volumes it points at, hard links to earlier
 * files, tails, the record's counts; decode_check.c), then the volumes holding the selected
 * entries (a differential's own, and of its base only those holding an entry it kept or a
 * tail's prefix), each decrypted, decompressed and read as a tar whose entries must be
 * exactly the catalog's, in order, with the catalog's types, sizes, link names and offsets
 * (a header libarchive reads only with a warning is refused); every file's content is hashed
 * here and checked against the catalog's SHA-256 (a tail's prefix against base_sha256, the
 * tail against tail_sha256) before its sink is told to keep it. What the decoder finds wrong, restore refuses and verify
 * reports: the two can never disagree (docs/format.md lists the reader's obligations).
 *
 * What happens to the decoded entries is the sink's business (ofs_sink_ops below): restore's
 * sink writes them below the target directory (extract.h), verify's (ofs_null_sink) writes
 * nothing. A sink performs no check of the backup's consistency; it only reports its own
 * failures (a full disk, a permission, something in the way on the file system).
 */
#ifndef OFFSITE_DECODE_H
#define OFFSITE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/catalog.h"
#include "offsite/keyring.h"
#include "offsite/progress.h"
#include "offsite/record.h"
#include "offsite/store.h"
#include "offsite/tarread.h"

/*
 * What a sink is told. `worker` is the sink's per-thread state (worker_new runs on the thread
 * that uses it); every call on one worker comes from one thread. Each returns 0 or a negative
 * OFS_E* code with the message set, which stops the decode (or, with keep_going, the volume).
 *
 * A regular file is file_begin, file_write for its data in order, then file_commit (the
 * decoder has checked its size and SHA-256 by then) or file_abort. A file a differential
 * stores as a tail (catalog.h: base_size > 0) arrives in two parts, the base's volumes being
 * read first: prefix_begin, file_write for the base's copy, prefix_stage (checked against
 * base_sha256; *staged is the sink's handle of the part, NULL allowed), then from the
 * differential's volume tail_begin(staged), file_write at offsets from base_size on,
 * file_commit. tail_begin and staged_discard take ownership of staged. Offsets are in the
 * whole file and only grow; the range skipped between two writes is a hole of zeros.
 * Directories are made when met (dir) and get their metadata last, deepest first
 * (dir_metadata); hard links come after every volume, when their target exists; finish runs
 * once after everything (restore makes the files durable there).
 *
 * The entry `e` a call is given is the decoder's, read back from its spool of the catalog
 * (below): it is valid until the call that ends its file (file_commit, file_abort or
 * prefix_stage; staged_discard and tail_begin: that call), or for the other types during the
 * call. A sink copies what it keeps longer.
 */
typedef struct ofs_sink_ops {
    int (*worker_new)(void *sink, void **worker);
    void (*worker_free)(void *worker); /* also aborts an open file; NULL is a no-op */
    int (*file_begin)(void *worker, const ofs_catalog_entry *e);
    int (*prefix_begin)(void *worker, const ofs_catalog_entry *e);
    int (*tail_begin)(void *worker, const ofs_catalog_entry *e, void *staged);
    int (*file_write)(void *worker, uint64_t offset, const void *data, size_t size);
    int (*prefix_stage)(void *worker, void **staged);
    int (*file_commit)(void *worker, const ofs_tar_xattr *xattrs, size_t xattr_count);
    void (*file_abort)(void *worker);
    void (*staged_discard)(void *worker, const ofs_catalog_entry *e, void *staged);
    int (*dir)(void *worker, const ofs_catalog_entry *e, const ofs_tar_xattr *xattrs,
               size_t xattr_count);
    int (*symlink)(void *worker, const ofs_catalog_entry *e);
    int (*fifo)(void *worker, const ofs_catalog_entry *e, const ofs_tar_xattr *xattrs,
                size_t xattr_count);
    int (*hardlink)(void *worker, const ofs_catalog_entry *e);
    int (*dir_metadata)(void *worker, const ofs_catalog_entry *e);
    int (*finish)(void *sink);
} ofs_sink_ops;

/* The sink that writes nothing (verify --read-data): every call succeeds. */
extern const ofs_sink_ops ofs_null_sink;

/* One problem, for a keep_going decode: code is the OFS_E* code; backup_id names the backup
 * whose object it is in (the decoded one or its base), volume its volume (0: none); path the
 * entry, or NULL. message is the failure without that context. Valid during the call. */
typedef struct ofs_decode_problem {
    int code;
    const char *backup_id;
    uint32_t volume;
    const char *path;
    const char *message;
} ofs_decode_problem;

typedef struct ofs_decode_options {
    char *const *patterns;   /* matched as exclude is (ofs_scan_match, scan.h) against each
                                catalog path and its ancestors, so a pattern naming a directory
                                selects everything below it; NULL/0 = every entry */
    size_t pattern_count;
    int parallel;            /* volume workers; 0 = 2 */
    /* keep_going (verify): report each problem and go on (a file that fails its check with
     * the next entry, a volume that fails with the next volume); without it the first
     * problem stops the decode and is returned (restore) */
    int keep_going;
    void (*report)(void *ctx, const ofs_decode_problem *problem); /* called one at a time */
    void *ctx;
    /* where the catalog spills once past spool_memory (an unlinked file of mode 0600, 88
       bytes an entry plus its paths; the directory is made 0700 if missing); NULL =
       $TMPDIR, else /tmp */
    const char *spool_dir;
    size_t spool_memory;     /* 0 = 8 MiB (tests spill at once with 1) */
} ofs_decode_options;

typedef struct ofs_decode_stats {
    uint64_t files, fifos, dirs, symlinks, hardlinks;
    uint64_t bytes;          /* content bytes of the files given to the sink */
    /* where the time went, in seconds: since the run began, the first content byte given to
     * the sink (0: none) and the end of the volumes; the sink's finish; and summed over the
     * workers, the time waiting for a volume's data (download, decryption, decompression and
     * the tar reader run ahead in a thread of their own) and the time in the sink's calls */
    double first_byte, volumes, finish, fetch_busy, sink_busy;
} ofs_decode_stats;

typedef struct ofs_decode ofs_decode;

/*
 * ofs_decode_open(&d, store, ring, rec, opts): read and check rec's catalog, select the
 * entries matching opts' patterns (with the directories above them and the first path of
 * each selected hard link) and plan the volumes to read; load the record of the base whose
 * volumes will be read. Nothing is written anywhere. Errors: the catalog's (OFS_EAUTH,
 * OFS_ENOTFOUND, OFS_ECORRUPT "catalog: ..." for a broken reader's rule, docs/format.md 5.2),
 * OFS_ENOTFOUND naming a base that is not in the store, OFS_ECORRUPT for a base that is a
 * differential or of another set, OFS_ECORRUPT for a catalog of more than 2^31 - 1 entries,
 * the spool's errors (a full disk: OFS_ENOSPC). store, ring and rec must outlive d.
 */
int ofs_decode_open(ofs_decode **out, ofs_store *store, const ofs_keyring *ring,
                    const ofs_record *rec, const ofs_decode_options *opts);

/*
 * The catalog as loaded, in catalog order. It is not held as structs: memory would grow by
 * ~390 bytes a file. Each entry is packed into a spool (spool.h; past opts.spool_memory, an
 * unlinked file in opts.spool_dir) and read back through a cursor, one per thread:
 * ofs_decode_cursor_new(d, &c) (OFS_ERROR out of memory), freed with ofs_decode_cursor_free
 * (NULL: a no-op) before d. ofs_decode_entry(c, i, &e) points e at entry i (user, group,
 * ctime, ino and dev are NULL or 0): e and its strings are valid until the cursor's next
 * call, so a caller that keeps one entry while reading another uses a second cursor. Reads in
 * order (ascending or descending) go through the cursor's 64 KiB window, a jump reads the
 * one entry. OFS_ERROR for i out of range or the spool's read error.
 * ofs_decode_find(c, path, &i): a binary search through c: 1 and *i when path is in the
 * catalog (sorted by path), 0 when not, or a read error.
 * ofs_decode_count: entries; ofs_decode_type: entry i's type, without a read;
 * ofs_decode_selected: whether i is decoded; ofs_decode_matched: whether a pattern selected i
 * itself or a directory above it (not only as a directory above a match, nor as a hard link's
 * first path); every entry when there are no patterns. ofs_decode_selected_bytes: the content
 * bytes of the selected files.
 */
typedef struct ofs_decode_cursor ofs_decode_cursor;
int ofs_decode_cursor_new(const ofs_decode *d, ofs_decode_cursor **out);
void ofs_decode_cursor_free(ofs_decode_cursor *c);
int ofs_decode_entry(ofs_decode_cursor *c, size_t i, const ofs_catalog_entry **e);
int ofs_decode_find(ofs_decode_cursor *c, const char *path, size_t *index);
size_t ofs_decode_count(const ofs_decode *d);
ofs_entry_type ofs_decode_type(const ofs_decode *d, size_t i);
int ofs_decode_selected(const ofs_decode *d, size_t i);
int ofs_decode_matched(const ofs_decode *d, size_t i);
uint64_t ofs_decode_selected_bytes(const ofs_decode *d);

/*
 * ofs_decode_run(d, ops, sink, progress, &stats): read the planned volumes with `parallel`
 * workers and give the selected entries to the sink; progress (may be NULL) advances by the
 * content bytes decoded. Without keep_going: 0, or the first failure with its context
 * ("volume 2: PATH: SHA-256 mismatch", "backup 'BASE' volume 1: ..."); nothing that failed
 * its check was committed to the sink. With keep_going: every problem went to report, and
 * the code of the first is returned. Run once per ofs_decode.
 */
int ofs_decode_run(ofs_decode *d, const ofs_sink_ops *ops, void *sink, ofs_progress *progress,
                   ofs_decode_stats *stats);

/* ofs_decode_free(d): NULL is a no-op. */
void ofs_decode_free(ofs_decode *d);

#endif
