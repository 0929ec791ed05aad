/*
 * store_check.h - what a target's credentials may do, found by trying each operation on a
 * probe object: the check `init` and `doctor` run, for every driver alike.
 *
 * Order, chosen so that nothing is left behind that the credentials cannot remove:
 *   1. delete: ofs_store_delete_check (a delete of a key that does not exist: permission is
 *      decided before existence, so the answer costs nothing and leaves nothing);
 *   2. put: OFS_STORE_PROBE_PREFIX "HOST/probe", created if absent (ofs_store_replace), or
 *      rewritten where a write-only run of this check left it - so a write-only target holds
 *      one probe per host, never one more per run;
 *   3. get: read it back, byte for byte;
 *   4. replace: rewrite it at the version read (the manifest's compare-and-swap; afterwards
 *      OFS_STORE_CAP_ATOMIC_REPLACE says whether that is atomic);
 *   5. list: the probes under OFS_STORE_PROBE_PREFIX, counted;
 *   6. delete the probe, where delete is allowed.
 * A refusal (OFS_EDENIED) is an answer, recorded, not a failure; a step that a refusal makes
 * impossible (get after a refused put) is "not tried".
 */
#ifndef OFFSITE_STORE_CHECK_H
#define OFFSITE_STORE_CHECK_H

#include <stdint.h>

#include "offsite/store.h"

enum { OFS_ABLE_UNTRIED = -1, OFS_ABLE_NO = 0, OFS_ABLE_YES = 1 };

typedef struct ofs_store_abilities {
    int put, get, list, del, replace; /* OFS_ABLE_*: replace is the manifest's update */
    int atomic;                       /* manifest updates are a true compare-and-swap */
    uint64_t probes;                  /* objects under OFS_STORE_PROBE_PREFIX after the check
                                         (listed; 0 if list was refused) */
    int probe_kept;                   /* this check's probe stays: delete refused */
    char probe_key[300];              /* the probe's key */
} ofs_store_abilities;

/*
 * ofs_store_check(s, host, &abilities): run the steps above. 0 when every step ran or was
 * refused (see abilities); < 0 for anything else (the server's error, a probe read back
 * wrong: OFS_ECORRUPT), with a message naming the step. OFS_ECONFIG errors (no such bucket,
 * a bad endpoint) keep the driver's message: the cause, not the step.
 */
int ofs_store_check(ofs_store *s, const char *host, ofs_store_abilities *abilities);

/* ofs_store_able_name(value): "yes", "no" or "not tried" */
const char *ofs_store_able_name(int value);

#endif
