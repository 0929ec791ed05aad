/*
 * rsync_int.h - what the rsync driver's files share (private to src/store): the store's
 * state, the names of rsync's hidden directories, and the running of rsync (rsync_run.c).
 */
#ifndef OFFSITE_STORE_RSYNC_INT_H
#define OFFSITE_STORE_RSYNC_INT_H

#include <stdatomic.h>

#include "offsite/bwlimit.h"
#include "offsite/store_rsync.h"
#include "rsync_run.h"

#define RSYNC_TIMEOUT "--timeout=120"      /* seconds without I/O before rsync gives up */
#define RSYNC_CONTIMEOUT "--contimeout=30" /* daemon connect */
#define RSYNC_SSH_OPTIONS "-o", "BatchMode=yes", "-o", "ConnectTimeout=30"
#define RSYNC_TEMP_DIR ".tmp-rsync"        /* ROOT/.tmp-rsync: rsync's temporary files */
#define RSYNC_PARTIAL_DIR ".tmp-partial"   /* KEYDIR/.tmp-partial: interrupted uploads */

typedef struct rsync_store {
    ofs_store parent;
    ofs_rsync_url url;
    ofs_rsync_url base;    /* url with the path cut to "/" or "" (home, module root) */
    char *root_rel;        /* url's path without its leading '/', then "/.tmp-rsync" */
    char *rsh;             /* -e value (ssh urls), quoted for rsync's splitter */
    char *password_file;   /* daemon urls, or NULL */
    ofs_bwlimit *bw;  /* NULL: unlimited */
    char *cache_dir;
    atomic_int prepared;   /* ROOT/.tmp-rsync is known to exist */
} rsync_store;

#endif
