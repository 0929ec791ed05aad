/*
 * verify.h - check backups in a store: record MAC, every object's size and SHA-256 against the
 * record, the manifest against the records, and with read_data every byte, read the way
 * restore reads it (the decoder of decode.h with a sink that writes nothing): whatever restore
 * would refuse, verify reports, a differential's base volumes included.
 */
#ifndef OFFSITE_VERIFY_H
#define OFFSITE_VERIFY_H

#include "offsite/keyring.h"
#include "offsite/store.h"

/* One problem found: kind is the OFS_E* code; backup/object/file may be NULL. */
typedef struct ofs_verify_problem {
    int code;
    const char *backup, *object, *file;
    const char *message;
} ofs_verify_problem;

typedef void (*ofs_verify_report_fn)(void *ctx, const ofs_verify_problem *problem);

typedef struct ofs_verify_stats {
    uint64_t backups, objects, files, bytes, problems;
} ofs_verify_stats;

/*
 * ofs_verify_backup(store, ring, id, read_data, spool_dir, report, ctx, &stats): verify one
 * backup (read_data: every byte, through the decoder, whose catalog spool goes to spool_dir
 * as decode.h says; NULL: $TMPDIR or /tmp), reporting every problem (not only the first: a
 * file that fails its check does not stop its volume, a volume that fails does not stop the
 * others). Returns 0 if none, else the code of
 * the first. A problem in a base's volume names the base as its backup.
 */
int ofs_verify_backup(ofs_store *store, const ofs_keyring *ring, const char *id, int read_data,
                      const char *spool_dir, ofs_verify_report_fn report, void *ctx,
                      ofs_verify_stats *stats);

/*
 * ofs_verify_manifest(store, ring, report, ctx, &stats): compare manifest.json with the
 * records: records the manifest lacks, entries whose record is gone or differs. (Whether a
 * record's data is all there is ofs_verify_backup's part.)
 */
int ofs_verify_manifest(ofs_store *store, const ofs_keyring *ring, ofs_verify_report_fn report,
                        void *ctx, ofs_verify_stats *stats);

/* One difference a repair made: change is "added" (a record the manifest lacked), "removed"
 * (an entry without a record that authenticates), "updated" (an entry that did not match its
 * record) or "replaced" (the manifest could not be read: id NULL, message says why). */
typedef struct ofs_verify_change {
    const char *id;
    const char *change;
    const char *message;
} ofs_verify_change;

typedef void (*ofs_verify_change_fn)(void *ctx, const ofs_verify_change *change);

/*
 * ofs_verify_repair(store, ring, fn, ctx, &changes): rebuild manifest.json from the records
 * (ofs_manifest_rebuild: records that fail their MAC are left out, with a warning) and save it
 * if it differs from the stored one, calling fn for each difference; *changes counts them
 * (0: the manifest was right and is not rewritten). A store with neither records nor manifest
 * is left alone. The caller holds the lock. Errors: the store's, OFS_EAUTH/OFS_ENOTFOUND for
 * the key (ring is required).
 */
int ofs_verify_repair(ofs_store *store, const ofs_keyring *ring, ofs_verify_change_fn fn,
                      void *ctx, size_t *changes);

#endif
