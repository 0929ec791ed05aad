/*
 * error.h - error codes and per-thread error messages (the libgit2 model).
 *
 * Every function that can fail returns int: 0 on success or one of the negative OFS_E* codes.
 * The code says what kind of failure it was, so callers can act on it ("missing" and
 * "not authentic" are never folded into a generic error); the message says what happened to
 * which thing, and is read with ofs_error_last().
 *
 * Messages follow pgBackRest's rules: lowercase, no final period, names in quotes, advice on a
 * separate line starting with "HINT: ". Config errors start with "FILE:LINE: ".
 */
#ifndef OFFSITE_ERROR_H
#define OFFSITE_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum {
    OFS_OK = 0,
    OFS_ERROR = -1,        /* generic failure (I/O error, out of memory, bug) */
    OFS_ENOTFOUND = -2,    /* a backup, object, key or file does not exist */
    OFS_EEXISTS = -3,      /* the thing to create exists already */
    OFS_EAUTH = -4,        /* authentication tag or MAC failed: wrong key or corrupted data */
    OFS_ECORRUPT = -5,     /* bad format, size or hash mismatch */
    OFS_ECONFIG = -6,      /* bad configuration or usage */
    OFS_EDENIED = -7,      /* credentials or permission refused */
    OFS_ETRANSIENT = -8,   /* timeout, 5xx, 429, reset connection: may be retried */
    OFS_ENOSPC = -9,       /* no space left on a device */
    OFS_ECANCELED = -10,   /* interrupted by a signal or the user */
    OFS_EUNSUPPORTED = -11, /* the store or platform cannot do this */
    OFS_ECONFLICT = -12,   /* the object changed since it was read (another writer got there) */
    OFS_EWRONGKEY = -13    /* written with a key the key file lacks: not ours to read or rewrite */
};

/*
 * ofs_error_set(code, fmt, ...): record a printf-style message for this thread and return
 * code, so a failure is one line: return ofs_error_set(OFS_ENOTFOUND, "backup '%s' not found", id);
 */
int ofs_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ofs_error_setv(code, fmt, ap): as ofs_error_set with a va_list. */
int ofs_error_setv(int code, const char *fmt, va_list ap);

/*
 * ofs_error_from_errno(err, fmt, ...): record "MESSAGE: strerror(err)" and return the code that
 * matches err (ENOENT -> OFS_ENOTFOUND, ENOSPC/EDQUOT -> OFS_ENOSPC, EACCES/EPERM ->
 * OFS_EDENIED, EEXIST -> OFS_EEXISTS, EINTR -> OFS_ECANCELED, anything else -> OFS_ERROR).
 */
int ofs_error_from_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * ofs_error_wrap(code, fmt, ...): put "CONTEXT: " in front of this thread's message and return
 * code unchanged, to add context on the way up: return ofs_error_wrap(rc, "volume %u", n);
 * A message that already starts with a "HINT:" line keeps it at the end.
 */
int ofs_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ofs_error_last(): this thread's last message; "" if none. Valid until the next set/clear. */
const char *ofs_error_last(void);

/* ofs_error_clear(): forget this thread's message. */
void ofs_error_clear(void);

/*
 * ofs_error_save() / ofs_error_restore(...): move a message between threads: a worker keeps
 * its message with ofs_error_save() and the coordinating thread re-raises it with
 * ofs_error_restore(code, saved). The saved string is malloc'd; the caller frees it.
 */
char *ofs_error_save(void);
int ofs_error_restore(int code, const char *saved);

/*
 * ofs_error_first: "keep the first failure, tell the others, go on", for loops over sets,
 * stores, targets and backups where one failure must not stop the rest. After a failed step,
 * ofs_error_first_add(&first, rc) keeps the first failure's code and message (main prints it
 * when it is returned) and logs every later one at error level at once. At the end,
 * ofs_error_first_end(&first, many_fmt, ...) frees what it kept and returns 0, or the first
 * failure's code with its message - wrapped by many_fmt and its arguments ("%zu of %zu
 * targets failed, the first", first.failures, tried) when more than one step failed.
 */
typedef struct ofs_error_first {
    int code;
    char *message;
    size_t failures;
} ofs_error_first;

void ofs_error_first_add(ofs_error_first *first, int rc);
int ofs_error_first_end(ofs_error_first *first, const char *many_fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* ofs_error_first_free(&first): drop what was kept, leaving the current message alone (a
 * cleanup path that returns another error); after _end, a no-op. */
void ofs_error_first_free(ofs_error_first *first);

/* ofs_error_name(code): a short stable name ("not found", "authentication failed", ...). */
const char *ofs_error_name(int code);

/*
 * The process's exit codes, one meaning each (the table in docs/operator-guide.md, `offsite
 * --help` and offsite(1) say the same). 1-12 name the kind of failure (ofs_error_exit_code);
 * 13-18 name an outcome of a run that got past its start, whatever the kind of the failure
 * behind it (--json's error.code still names that kind). `status` keeps its own 0/1/2.
 * Numbers never change meaning: scripts and alerts depend on them.
 */
enum {
    OFS_EXIT_OK = 0,
    OFS_EXIT_ERROR = 1,          /* generic failure */
    OFS_EXIT_CONFIG = 2,
    OFS_EXIT_NOTFOUND = 3,
    OFS_EXIT_AUTH = 4,
    OFS_EXIT_CORRUPT = 5,
    OFS_EXIT_DENIED = 6,
    OFS_EXIT_TRANSIENT = 7,
    OFS_EXIT_NOSPC = 8,
    OFS_EXIT_CANCELED = 9,
    OFS_EXIT_UNSUPPORTED = 10,
    OFS_EXIT_EXISTS = 11,        /* in particular: another offsite holds the lock */
    OFS_EXIT_CONFLICT = 12,
    OFS_EXIT_WARNINGS = 13,      /* backup committed, with warnings (a file changed while read) */
    OFS_EXIT_SET_FAILED = 14,    /* backup: a set failed (the other sets were still backed up) */
    OFS_EXIT_PUSH_FAILED = 15,   /* backup committed in staging; a push to a target failed */
    OFS_EXIT_PRUNE_FAILED = 16,  /* backup committed and pushed; the automatic prune failed */
    OFS_EXIT_MISSED = 17,        /* drill restored everything but missed an RPO/RTO objective */
    OFS_EXIT_VERIFY_FAILED = 18, /* backup committed (and pushed); verify_after found a problem */
    OFS_EXIT_USAGE = 64          /* unknown command or option, missing argument */
};

/* ofs_error_exit_code(code): the exit code for an error kind, OFS_EXIT_OK..OFS_EXIT_CONFLICT. */
int ofs_error_exit_code(int code);

/* ofs_exit_name(exit_code): a short stable name of an exit code ("push failed", ...), as in
 * the documented table; "error" for numbers the table does not have. */
const char *ofs_exit_name(int exit_code);

#endif
