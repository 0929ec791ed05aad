/*
 * doctor.h - the verdict of `offsite doctor`: could a host holding these credentials (taken
 * over by an attacker) destroy its own off-site backups, and what to change if so. A pure
 * function over what store_check.h and the driver found out, so every case is unit-tested.
 */
#ifndef OFFSITE_DOCTOR_H
#define OFFSITE_DOCTOR_H

#include <stddef.h>

typedef struct ofs_doctor_facts {
    int may_put, may_delete;   /* OFS_ABLE_* (store_check.h) */
    int versioned;             /* 1 old data survives an overwrite as a version, 0 not, -1
                                  could not be read */
    int may_delete_versions;   /* OFS_ABLE_*; OFS_ABLE_UNTRIED where the store has none */
    int may_put_lifecycle;     /* OFS_ABLE_*; OFS_ABLE_UNTRIED where the store has none */
    int lock_objects;          /* every data object is written under object lock, and the
                                  bucket has it enabled */
    const char *lock_mode;     /* "GOVERNANCE" or "COMPLIANCE" with lock_objects */
} ofs_doctor_facts;

/*
 * ofs_doctor_verdict(facts, why, size): 1 if a compromised host can delete or destroy its
 * backups, 0 if it cannot; why gets one sentence on the reason and, for 1, what to change
 * (the key, permission or bucket setting).
 */
int ofs_doctor_verdict(const ofs_doctor_facts *facts, char *why, size_t size);

#endif
