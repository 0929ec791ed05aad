/* notify.c - [notify] command and webhook, and alerts that recover; see
 * include/offsite/notify.h. */
#include "offsite/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/http.h"
#include "offsite/log.h"
#include "offsite/runstate.h"

#define NOTIFY_EVENT_MAX 8192

extern char **environ;

json_t *ofs_notify_event_json(const ofs_config *cfg, const char *event,
                              const ofs_notify_fields *fields)
{
    char when[32], text[1024];
    ofs_time_format_iso(ofs_clock_now(), when, sizeof(when));
    const char *message = fields && fields->message ? fields->message : "";
    char what[64];
    snprintf(what, sizeof(what), "%s", event);
    for (char *p = what; *p; p++)
        if (*p == '_')
            *p = ' ';
    snprintf(text, sizeof(text), "offsite on %s: %s%s%s", cfg->host, what, *message ? ": " : "",
             message);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", event, "host", cfg->host,
                          "time", when, "message", message, "text", text);
    if (!o)
        return NULL;
    json_object_set_new(o, "set", fields && fields->set ? json_string(fields->set) : json_null());
    json_object_set_new(o, "target",
                        fields && fields->target ? json_string(fields->target) : json_null());
    return o;
}

/* notify_command(command, event, body, timeout): run it with the event on stdin. */
static int notify_command(const char *command, const char *event, const char *body,
                          int64_t timeout)
{
    posix_spawn_file_actions_t actions;
    char *env_event = NULL, **envp = NULL;
    int pipefd[2] = { -1, -1 }, rc = 0, wstatus = 0, have_actions = 0;
    size_t count = 0, n = 0, len = strlen(body);
    pid_t pid = -1;

    /* the event fits in the pipe's buffer, so it is written before the command starts: a
     * command that never reads stdin cannot block us or raise SIGPIPE */
    if (len >= 65536)
        return ofs_error_set(OFS_ERROR, "event too large for the command's stdin");
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return ofs_error_from_errno(errno, "notify command: pipe");
    if (write(pipefd[1], body, len) != (ssize_t)len) {
        rc = ofs_error_from_errno(errno, "notify command: writing the event");
        goto cleanup;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    while (environ && environ[count])
        count++;
    if (asprintf(&env_event, "OFFSITE_EVENT=%s", event) < 0) {
        env_event = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if (!(envp = calloc(count + 2, sizeof(*envp)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "OFFSITE_EVENT=", 14) != 0)
            envp[n++] = environ[i];
    envp[n] = env_event;
    posix_spawn_file_actions_init(&actions);
    have_actions = 1;
    posix_spawn_file_actions_adddup2(&actions, pipefd[0], STDIN_FILENO);
    char *argv[] = { "sh", "-c", (char *)command, NULL };
    int err = posix_spawn(&pid, "/bin/sh", &actions, NULL, argv, envp);
    if (err != 0) {
        pid = -1;
        rc = ofs_error_from_errno(err, "notify command: cannot run /bin/sh");
        goto cleanup;
    }
    /* wait at most `timeout`, then kill: a hung notifier must not hold the backup's exit */
    double deadline = ofs_clock_monotonic() + (double)timeout;
    for (;;) {
        pid_t done = waitpid(pid, &wstatus, WNOHANG);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR) {
            rc = ofs_error_from_errno(errno, "notify command: wait");
            pid = -1;
            goto cleanup;
        }
        if (ofs_clock_monotonic() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            rc = ofs_error_set(OFS_ETRANSIENT, "notify command did not finish within %llds "
                               "(killed)", (long long)timeout);
            pid = -1;
            goto cleanup;
        }
        struct timespec pause = { 0, 20 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    pid = -1;
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
        rc = ofs_error_set(OFS_ERROR, "notify command failed with exit status %d",
                           WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        rc = ofs_error_set(OFS_ERROR, "notify command was killed by signal %d",
                           WTERMSIG(wstatus));
cleanup:
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 2; i++)
        if (pipefd[i] >= 0)
            close(pipefd[i]);
    free(env_event);
    free(envp);
    return rc;
}

/* notify_webhook(url, body, timeout): POST the event; a 2xx answer is success. */
static int notify_webhook(const char *url, const char *body, int64_t timeout)
{
    ofs_http_options options = { .connect_timeout = (long)timeout,
                                 .low_speed_time = (long)timeout };
    static const char *const headers[] = { "Content-Type: application/json" };
    ofs_http_request req = { .method = "POST", .url = url, .headers = headers,
                             .header_count = 1, .body = body, .body_size = strlen(body) };
    ofs_http *h = NULL;
    char host[256];
    int rc;

    /* the URL itself may hold a token (Slack's do): messages name the host only */
    ofs_http_host(url, host, sizeof(host));
    if ((rc = ofs_http_new(&h, &options)) < 0)
        return rc;
    if ((rc = ofs_http_begin(h, &req)) < 0) {
        ofs_error_wrap(rc, "notify webhook at '%s'", host);
        goto cleanup;
    }
    long status = ofs_http_status(h);
    ofs_http_end(h);
    if (status < 200 || status > 299)
        rc = ofs_error_set(OFS_ERROR, "notify webhook at '%s' answered HTTP %ld", host, status);
cleanup:
    ofs_http_free(h);
    return rc;
}

/* notify_wanted(cfg, event): [notify] events empty (every event) or naming it. */
static int notify_wanted(const ofs_config *cfg, const char *event)
{
    if (cfg->notify.event_count == 0 || strcmp(event, "test") == 0)
        return 1;
    for (size_t i = 0; i < cfg->notify.event_count; i++)
        if (strcmp(cfg->notify.events[i], event) == 0)
            return 1;
    return 0;
}

/* notify_send_json(cfg, event, o): send an event object to every notifier. */
static int notify_send_json(const ofs_config *cfg, const char *event, json_t *o)
{
    int failed = 0;
    char *body = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!body) {
        ofs_log_warn("notify: out of memory building the '%s' event", event);
        return 1;
    }
    if (strlen(body) > NOTIFY_EVENT_MAX)
        body[NOTIFY_EVENT_MAX] = '\0'; /* never: messages are short; a cut body stays bounded */
    if (cfg->notify.command) {
        size_t len = strlen(body);
        char *line = malloc(len + 2);
        int rc = line ? 0 : ofs_error_set(OFS_ERROR, "out of memory");
        if (line) {
            memcpy(line, body, len);
            memcpy(line + len, "\n", 2);
            rc = notify_command(cfg->notify.command, event, line, cfg->notify.timeout);
            free(line);
        }
        if (rc < 0) {
            ofs_log_warn("notify: %s (event '%s' not delivered by the command)",
                         ofs_error_last(), event);
            failed++;
        }
    }
    if (cfg->notify.webhook &&
        notify_webhook(cfg->notify.webhook, body, cfg->notify.timeout) < 0) {
        ofs_log_warn("notify: %s (event '%s' not delivered)", ofs_error_last(), event);
        failed++;
    }
    if (!failed && (cfg->notify.command || cfg->notify.webhook))
        ofs_log_info("notify: sent '%s'", event);
    free(body);
    return failed;
}

int ofs_notify_send(const ofs_config *cfg, const char *event, const ofs_notify_fields *fields)
{
    if (!cfg || (!cfg->notify.command && !cfg->notify.webhook) || !notify_wanted(cfg, event))
        return 0;
    char *saved = ofs_error_save(); /* a notifier's failure must not replace the real one */
    json_t *o = ofs_notify_event_json(cfg, event, fields);
    int failed = notify_send_json(cfg, event, o);
    json_decref(o);
    ofs_error_restore(0, saved);
    free(saved);
    return failed;
}

/* ---- alerts ---- */

typedef struct notify_alert_ctx {
    const char *key, *event, *message;
    int repeat, send;      /* in: repeat; out: whether to send */
    int clear;             /* clear the key instead of raising it */
    char *recovered_from;  /* out, for clear: the event that was open */
} notify_alert_ctx;

static int notify_alert_change(json_t *root, void *ctx)
{
    notify_alert_ctx *a = ctx;
    json_t *alerts = json_object_get(root, "alerts");
    json_t *open = json_object_get(alerts, a->key);
    char when[32];

    if (a->clear) {
        if (!open)
            return 1; /* nothing to write */
        const char *from = json_string_value(json_object_get(open, "event"));
        a->recovered_from = strdup(from ? from : "");
        json_object_del(alerts, a->key);
        a->send = 1;
        return 0;
    }
    const char *was = json_string_value(json_object_get(open, "event"));
    a->send = !open || !was || strcmp(was, a->event) != 0 || a->repeat;
    if (!json_is_object(alerts)) {
        alerts = json_object();
        if (!alerts || json_object_set_new(root, "alerts", alerts) < 0)
            return ofs_error_set(OFS_ERROR, "out of memory");
    }
    ofs_time_format_iso(ofs_clock_now(), when, sizeof(when));
    json_t *entry = json_pack("{s:s, s:s, s:s}", "event", a->event,
                              "since", open && was && strcmp(was, a->event) == 0 &&
                                       json_string_value(json_object_get(open, "since"))
                                  ? json_string_value(json_object_get(open, "since"))
                                  : when,
                              "message", a->message ? a->message : "");
    if (!entry || json_object_set_new(alerts, a->key, entry) < 0)
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

/* notify_alert(cfg, a): update the alert under a's key; 1 if an event is to be sent. */
static int notify_alert(const ofs_config *cfg, notify_alert_ctx *a)
{
    int rc = ofs_runstate_update(cfg->state_dir, notify_alert_change, a);
    if (rc < 0) {
        /* the state cannot be kept: tell the problem anyway, a recovery cannot be known */
        ofs_log_warn("notify: %s", ofs_error_last());
        return !a->clear;
    }
    return a->send;
}

int ofs_notify_problem(const ofs_config *cfg, const char *key, const char *event,
                       const ofs_notify_fields *fields, int repeat)
{
    char *saved = ofs_error_save();
    int sent = 0;
    notify_alert_ctx a = { .key = key, .event = event, .repeat = repeat,
                           .message = fields ? fields->message : NULL };
    if (notify_alert(cfg, &a) && (cfg->notify.command || cfg->notify.webhook) &&
        notify_wanted(cfg, event)) {
        ofs_notify_send(cfg, event, fields);
        sent = 1;
    }
    ofs_error_restore(0, saved);
    free(saved);
    return sent;
}

void ofs_notify_clear(const ofs_config *cfg, const char *key, const ofs_notify_fields *fields)
{
    char *saved = ofs_error_save();
    notify_alert_ctx a = { .key = key, .clear = 1 };
    if (notify_alert(cfg, &a) && a.recovered_from &&
        (cfg->notify.command || cfg->notify.webhook) && notify_wanted(cfg, "recovered")) {
        json_t *o = ofs_notify_event_json(cfg, "recovered", fields);
        if (o)
            json_object_set_new(o, "recovered_from", json_string(a.recovered_from));
        notify_send_json(cfg, "recovered", o);
        json_decref(o);
    }
    free(a.recovered_from);
    ofs_error_restore(0, saved);
    free(saved);
}
