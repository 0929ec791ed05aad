/* doctor.c - can a compromised host destroy its backups? See doctor.h. */
#include "offsite/doctor.h"

#include <stdio.h>

#include "offsite/store_check.h"

int ofs_doctor_verdict(const ofs_doctor_facts *f, char *why, size_t size)
{
    /* a lock outlives every permission a host may hold, except governance's bypass */
    if (f->lock_objects) {
        snprintf(why, size, "every backup object is written under object lock (%s mode) until "
                 "its class expires%s", f->lock_mode ? f->lock_mode : "?",
                 f->lock_mode && f->lock_mode[0] == 'G'
                     ? "; governance mode yields to s3:BypassGovernanceRetention: keep it from "
                       "these credentials, or use object_lock = compliance" : "");
        return 0;
    }
    if (f->may_delete == OFS_ABLE_YES) {
        snprintf(why, size, "these credentials may delete objects; deny them s3:DeleteObject "
                 "and s3:DeleteObjectVersion (docs/operator-guide.md, \"Write-only targets\") "
                 "and prune from an admin host (prune_profile, prune --all-hosts), or set "
                 "object_lock");
        return 1;
    }
    if (f->may_put_lifecycle == OFS_ABLE_YES) {
        snprintf(why, size, "these credentials may write lifecycle rules, which can expire "
                 "every object at once; deny them s3:PutLifecycleConfiguration");
        return 1;
    }
    if (f->versioned == 1 && f->may_delete_versions == OFS_ABLE_YES) {
        snprintf(why, size, "these credentials may delete old versions, which destroys what "
                 "an overwrite left; deny them s3:DeleteObjectVersion");
        return 1;
    }
    if (f->versioned != 1 && f->may_put == OFS_ABLE_YES) {
        snprintf(why, size, "these credentials may overwrite objects and the bucket %s; turn "
                 "versioning on (with offsite retention sync's rule for old versions), or use "
                 "an object-lock bucket", f->versioned < 0 ? "would not say whether it keeps "
                 "old versions (s3:GetBucketVersioning refused)" : "keeps no old versions");
        return 1;
    }
    snprintf(why, size, "these credentials may not delete objects%s%s",
             f->versioned == 1 ? ", and an overwrite leaves the old data as a version" : "",
             f->may_put_lifecycle == OFS_ABLE_NO ? " or write lifecycle rules" : "");
    return 0;
}
