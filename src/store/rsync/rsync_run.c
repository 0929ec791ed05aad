/*
 * rsync_run.c - run rsync with an argument vector (never a shell), capture its output.
 *
 * posix_spawn rather than fork: uploads run on several threads at once, and only spawn (or
 * vfork+exec) is safe in a threaded process. The child gets its own session so neither rsync
 * (getpass on /dev/tty) nor ssh can prompt, stdin on /dev/null, default signal dispositions
 * (the agent may ignore SIGPIPE; rsync relies on it), TZ=UTC so --list-only times parse as
 * UTC, and LC_ALL=C so the messages we classify are in English. Every descriptor we open is
 * close-on-exec, so a parallel spawn never inherits another's pipes.
 */
#include "rsync_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/log.h"

extern char **environ;

#define RSYNC_LINE_MAX (64 * 1024) /* a listing line: 1024-byte key plus the columns */

/* child_env(): environ with TZ and LC_ALL replaced; the strings are borrowed. */
static char **child_env(void)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ && environ[n])
        n++;
    if (!(env = calloc(n + 3, sizeof(*env))))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TZ=", 3) != 0 && strncmp(environ[i], "LC_ALL=", 7) != 0)
            env[k++] = environ[i];
    env[k++] = "TZ=UTC";
    env[k++] = "LC_ALL=C";
    env[k] = NULL;
    return env;
}

typedef struct {
    char *buf;
    size_t len;
} line_buf;

/* feed(lb, data, n, fn, ctx): split into lines, calling fn for each complete one. */
static int feed(line_buf *lb, const char *data, size_t n, rsync_line_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        if (data[i] != '\n') {
            if (lb->len == RSYNC_LINE_MAX)
                return ofs_error_set(OFS_ECORRUPT, "a line of rsync's output is longer than "
                                     "%d bytes", RSYNC_LINE_MAX);
            lb->buf[lb->len++] = data[i];
            continue;
        }
        lb->buf[lb->len] = '\0';
        lb->len = 0;
        if (fn) {
            int rc = fn(ctx, lb->buf);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* keep_err(res, data, n): keep the last RSYNC_ERR_KEEP bytes of stderr. */
static void keep_err(rsync_result *res, size_t *have, const char *data, size_t n)
{
    if (n >= RSYNC_ERR_KEEP) {
        memcpy(res->err, data + n - RSYNC_ERR_KEEP, RSYNC_ERR_KEEP);
        *have = RSYNC_ERR_KEEP;
    } else {
        if (*have + n > RSYNC_ERR_KEEP) {
            size_t drop = *have + n - RSYNC_ERR_KEEP;
            memmove(res->err, res->err + drop, *have - drop);
            *have -= drop;
        }
        memcpy(res->err + *have, data, n);
        *have += n;
    }
    res->err[*have] = '\0';
}

static int spawn(pid_t *pid, char *const argv[], int out_fd, int err_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    char **env = child_env();
    int err;

    if (!env)
        return ofs_error_set(OFS_ERROR, "out of memory");
    sigemptyset(&none);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    err = posix_spawnp(pid, argv[0], &fa, &attr, argv, env);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (err == ENOENT)
        return ofs_error_set(OFS_EUNSUPPORTED, "cannot run '%s': not found in PATH\nHINT: "
                             "install rsync (apt-get install rsync)", argv[0]);
    if (err)
        return ofs_error_from_errno(err, "cannot run '%s'", argv[0]);
    return 0;
}

int rsync_run(char *const argv[], rsync_line_fn line_fn, void *ctx, rsync_result *res)
{
    int out[2] = { -1, -1 }, errp[2] = { -1, -1 };
    line_buf lb = { NULL, 0 };
    size_t err_have = 0;
    pid_t pid = -1;
    char chunk[16384];
    int rc = 0, status = 0;

    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    if (!(lb.buf = malloc(RSYNC_LINE_MAX + 1))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        rc = ofs_error_from_errno(errno, "cannot create a pipe for rsync");
        goto cleanup;
    }
    if ((rc = spawn(&pid, argv, out[1], errp[1])) < 0)
        goto cleanup;
    close(out[1]);
    close(errp[1]);
    out[1] = errp[1] = -1;

    while (out[0] >= 0 || errp[0] >= 0) {
        struct pollfd pfd[2] = { { out[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = ofs_error_from_errno(errno, "cannot read rsync's output");
            break;
        }
        for (int i = 0; i < 2; i++) {
            int *fd = i == 0 ? &out[0] : &errp[0];
            ssize_t n;
            if (*fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(*fd, chunk, sizeof(chunk));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                close(*fd);
                *fd = -1;
                continue;
            }
            if (i == 1)
                keep_err(res, &err_have, chunk, (size_t)n);
            else if (rc == 0)
                rc = feed(&lb, chunk, (size_t)n, line_fn, ctx);
        }
        if (rc != 0)
            break;
    }
    if (rc != 0) {
        /* we stopped listening: closing our ends makes any write of its fail, so it cannot
         * block on a full pipe while we wait */
        for (int i = 0; i < 2; i++) {
            int *fd = i == 0 ? &out[0] : &errp[0];
            if (*fd >= 0)
                close(*fd);
            *fd = -1;
        }
        kill(pid, SIGTERM);
    } else if (lb.len > 0)
        rc = feed(&lb, "\n", 1, line_fn, ctx); /* a last line without its newline */
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            if (rc == 0)
                rc = ofs_error_from_errno(errno, "cannot wait for rsync");
            goto cleanup;
        }
    }
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->term_signal = WTERMSIG(status);
    }
cleanup:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    free(lb.buf);
    return rc;
}
