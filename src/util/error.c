/* error.c - per-thread error messages; see include/offsite/error.h. */
#include "offsite/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/log.h"

#define OFS_ERROR_MAX 2048

static _Thread_local char error_message[OFS_ERROR_MAX];

int ofs_error_setv(int code, const char *fmt, va_list ap)
{
    vsnprintf(error_message, sizeof(error_message), fmt, ap);
    return code;
}

int ofs_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ofs_error_setv(code, fmt, ap);
    va_end(ap);
    return code;
}

/* join(a, b): error_message = "a: b", cut at the buffer's end (truncation is acceptable). */
static void join(const char *a, const char *b)
{
    char out[OFS_ERROR_MAX];
    size_t n = 0;
    for (const char *p = a; *p && n < sizeof(out) - 1; p++)
        out[n++] = *p;
    for (const char *p = ": "; *p && n < sizeof(out) - 1; p++)
        out[n++] = *p;
    for (const char *p = b; *p && n < sizeof(out) - 1; p++)
        out[n++] = *p;
    out[n] = '\0';
    memcpy(error_message, out, n + 1);
}

static int code_from_errno(int err)
{
    switch (err) {
    case ENOENT: case ENOTDIR: return OFS_ENOTFOUND;
    case ENOSPC: case EDQUOT: case EFBIG: return OFS_ENOSPC;
    case EACCES: case EPERM: case EROFS: return OFS_EDENIED;
    case EEXIST: return OFS_EEXISTS;
    case EINTR: return OFS_ECANCELED;
    default: return OFS_ERROR;
    }
}

int ofs_error_from_errno(int err, const char *fmt, ...)
{
    char prefix[OFS_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    join(prefix, strerror(err));
    return code_from_errno(err);
}

int ofs_error_wrap(int code, const char *fmt, ...)
{
    char context[OFS_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof(context), fmt, ap);
    va_end(ap);
    if (error_message[0] == '\0')
        snprintf(error_message, sizeof(error_message), "%s", context);
    else
        join(context, error_message);
    return code;
}

const char *ofs_error_last(void)
{
    return error_message;
}

void ofs_error_clear(void)
{
    error_message[0] = '\0';
}

char *ofs_error_save(void)
{
    return strdup(error_message);
}

int ofs_error_restore(int code, const char *saved)
{
    if (saved)
        snprintf(error_message, sizeof(error_message), "%s", saved);
    return code;
}

const char *ofs_error_name(int code)
{
    switch (code) {
    case OFS_OK: return "ok";
    case OFS_ENOTFOUND: return "not found";
    case OFS_EEXISTS: return "already exists";
    case OFS_EAUTH: return "authentication failed";
    case OFS_ECORRUPT: return "corrupt";
    case OFS_ECONFIG: return "configuration error";
    case OFS_EDENIED: return "permission denied";
    case OFS_ETRANSIENT: return "transient failure";
    case OFS_ENOSPC: return "no space left";
    case OFS_ECANCELED: return "canceled";
    case OFS_EUNSUPPORTED: return "unsupported";
    case OFS_ECONFLICT: return "conflict";
    case OFS_EWRONGKEY: return "wrong key";
    default: return "error";
    }
}

/* One table from error code to exit code (pgBackRest's error.yaml); the outcome codes 13-18
 * are chosen by the commands (error.h). Documented in docs/operator-guide.md. */
int ofs_error_exit_code(int code)
{
    switch (code) {
    case OFS_OK: return OFS_EXIT_OK;
    case OFS_ECONFIG: return OFS_EXIT_CONFIG;
    case OFS_ENOTFOUND: return OFS_EXIT_NOTFOUND;
    case OFS_EAUTH: return OFS_EXIT_AUTH;
    case OFS_EWRONGKEY: return OFS_EXIT_AUTH; /* the key's exit code, as a failed tag */
    case OFS_ECORRUPT: return OFS_EXIT_CORRUPT;
    case OFS_EDENIED: return OFS_EXIT_DENIED;
    case OFS_ETRANSIENT: return OFS_EXIT_TRANSIENT;
    case OFS_ENOSPC: return OFS_EXIT_NOSPC;
    case OFS_ECANCELED: return OFS_EXIT_CANCELED;
    case OFS_EUNSUPPORTED: return OFS_EXIT_UNSUPPORTED;
    case OFS_EEXISTS: return OFS_EXIT_EXISTS;
    case OFS_ECONFLICT: return OFS_EXIT_CONFLICT;
    default: return OFS_EXIT_ERROR;
    }
}

const char *ofs_exit_name(int exit_code)
{
    static const int kinds[] = { OFS_OK, OFS_ECONFIG, OFS_ENOTFOUND, OFS_EAUTH, OFS_ECORRUPT,
                                 OFS_EDENIED, OFS_ETRANSIENT, OFS_ENOSPC, OFS_ECANCELED,
                                 OFS_EUNSUPPORTED, OFS_EEXISTS, OFS_ECONFLICT };
    switch (exit_code) {
    case OFS_EXIT_WARNINGS: return "committed with warnings";
    case OFS_EXIT_SET_FAILED: return "set failed";
    case OFS_EXIT_PUSH_FAILED: return "push failed";
    case OFS_EXIT_PRUNE_FAILED: return "prune failed";
    case OFS_EXIT_MISSED: return "objective missed";
    case OFS_EXIT_VERIFY_FAILED: return "verify failed";
    case OFS_EXIT_USAGE: return "usage";
    }
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (ofs_error_exit_code(kinds[i]) == exit_code)
            return ofs_error_name(kinds[i]);
    return "error";
}

void ofs_error_first_add(ofs_error_first *first, int rc)
{
    first->failures++;
    if (!first->code) {
        first->code = rc;
        first->message = ofs_error_save();
    } else {
        ofs_log_error("%s", ofs_error_last());
    }
}

int ofs_error_first_end(ofs_error_first *first, const char *many_fmt, ...)
{
    char context[OFS_ERROR_MAX];
    va_list ap;
    int rc = first->code;

    if (rc) {
        ofs_error_restore(rc, first->message);
        if (first->failures > 1) {
            va_start(ap, many_fmt);
            vsnprintf(context, sizeof(context), many_fmt, ap);
            va_end(ap);
            ofs_error_wrap(rc, "%s", context);
        }
    }
    ofs_error_first_free(first);
    return rc;
}

void ofs_error_first_free(ofs_error_first *first)
{
    free(first->message);
    memset(first, 0, sizeof(*first));
}
