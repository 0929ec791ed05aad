/*
 * rsync_run.h - running the rsync program for the rsync driver (private to src/store).
 */
#ifndef OFFSITE_STORE_RSYNC_RUN_H
#define OFFSITE_STORE_RSYNC_RUN_H

#include <stddef.h>

#define RSYNC_ERR_KEEP 4096 /* bytes of stderr kept: the end, where rsync says why */

/* line_fn(ctx, line): one line of stdout, without its newline (modifiable). Non-zero stops
 * the reading: the child is killed and rsync_run returns that value. */
typedef int (*rsync_line_fn)(void *ctx, char *line);

typedef struct rsync_result {
    int exit_code;               /* -1 if killed by a signal */
    int term_signal;             /* 0 unless killed */
    char err[RSYNC_ERR_KEEP + 1];/* the last bytes of stderr, NUL-terminated */
} rsync_result;

/*
 * rsync_run(argv, line_fn, ctx, &res): run argv (argv[0] looked up in PATH) with stdin on
 * /dev/null, in a new session (no terminal to prompt on), TZ=UTC and LC_ALL=C; hand each
 * stdout line to line_fn (may be NULL: discarded); wait for it. Returns 0 when the program
 * ran to its end whatever its exit status (read res), or a negative OFS_E* code when it could
 * not be started (OFS_EUNSUPPORTED: rsync is not installed) or line_fn stopped it.
 */
int rsync_run(char *const argv[], rsync_line_fn line_fn, void *ctx, rsync_result *res);

#endif
