/*
 * notify.h - telling people: [notify] command and webhook, and alerts that recover.
 *
 * An event is one JSON object:
 *     {"event": "push_failed", "host": "db1", "time": "2026-11-25T22:17:03Z",
 *      "set": null, "target": "nas", "message": "push to target 'nas': ...",
 *      "text": "offsite on db1: push failed: push to target 'nas': ..."}
 * ("text" is what Slack-compatible webhooks show). Events: backup_failed, push_failed,
 * prune_failed, verify_failed, status_warning, status_critical, drill_missed, recovered,
 * unit_failed. The command runs with /bin/sh -c, the event on stdin and OFFSITE_EVENT set;
 * the webhook gets it as a JSON POST. Each gets [notify] timeout; a notifier that fails or
 * hangs is logged (warning) and never changes the command's result.
 *
 * Alerts make "recovered" possible and keep polled problems from repeating: a problem is
 * raised under a key ("push_failed:nas", "status:data"); a key already open with the same
 * event is told again only if `repeat` (a failed nightly push is news every night; status
 * still being critical at the next poll is not). Clearing an open key sends "recovered". Open
 * alerts live in STATE_DIR/results.json (runstate.h).
 */
#ifndef OFFSITE_NOTIFY_H
#define OFFSITE_NOTIFY_H

#include "offsite/config.h"

/* ofs_notify_fields: what an event is about; NULL members are sent as null. */
typedef struct ofs_notify_fields {
    const char *set, *target, *message;
} ofs_notify_fields;

/*
 * ofs_notify_send(cfg, event, fields): send one event to every configured notifier (if
 * [notify] events lists names, only those). Returns the number of notifiers that failed
 * (each logged); 0 also when none is configured.
 */
int ofs_notify_send(const ofs_config *cfg, const char *event, const ofs_notify_fields *fields);

/*
 * ofs_notify_problem(cfg, key, event, fields, repeat): open alert key with event and send it
 * - unless the key is open with this event already and repeat is 0. Never fails (logged);
 * returns 1 if the event was handed to the notifiers (configured and wanted), else 0.
 */
int ofs_notify_problem(const ofs_config *cfg, const char *key, const char *event,
                        const ofs_notify_fields *fields, int repeat);

/*
 * ofs_notify_clear(cfg, key, fields): if alert key is open, close it and send "recovered"
 * (with the event that recovered in "recovered_from"). Never fails (logged).
 */
void ofs_notify_clear(const ofs_config *cfg, const char *key, const ofs_notify_fields *fields);

/* ofs_notify_event_json(cfg, event, fields): the event object (new reference), or NULL. */
struct json_t;
struct json_t *ofs_notify_event_json(const ofs_config *cfg, const char *event,
                                     const ofs_notify_fields *fields);

#endif
