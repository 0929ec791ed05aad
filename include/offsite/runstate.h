/*
 * runstate.h - what the last runs did, kept in STATE_DIR/results.json for `status`, the
 * Prometheus file and notifications: the last push to each target, the last backup and the
 * last drill of each set, the last `backup` run as a whole, and the open alerts (problems
 * told and not yet recovered). docs/operator-guide.md ("Running it as a service") documents
 * the file; it is plain JSON for monitoring tools, not part of the repository format.
 *
 *     {"version": 1,
 *      "targets": {"nas": {"time": "...", "ok": false, "message": "...", "backups_pushed": 0, ...}},
 *      "backups": {"data": {"time": "...", "ok": true, "id": "...", "bytes": 123, "seconds": 1.5}},
 *      "drills":  {"data": {"time": "...", "ok": true, "rpo_ok": true, ...}},
 *      "prunes":  {"nas": {"time": "...", "ok": true, "delete_refused": false, "deleted": 2}},
 *      "run":     {"started": "...", "finished": "...", "exit": 15, "outcome": "push failed",
 *                  "invocation_id": "...", "notified": true},
 *      "alerts":  {"push_failed:nas": {"event": "push_failed", "since": "...", "message": "..."}}}
 *
 * Every update is read-modify-write under an exclusive flock on STATE_DIR/results.lock (drill
 * and status run without the backup lock) and written atomically (temporary file, fsync,
 * rename), so a reader never sees half a file and no update is lost.
 */
#ifndef OFFSITE_RUNSTATE_H
#define OFFSITE_RUNSTATE_H

#include <jansson.h>

#define OFS_RUNSTATE_NAME "results.json"

/*
 * ofs_runstate_load(state_dir, &root): the file as a JSON object (an empty one if the file
 * does not exist yet). OFS_ECORRUPT if it is not JSON. The caller json_decref's it.
 */
int ofs_runstate_load(const char *state_dir, json_t **out);

/*
 * ofs_runstate_update(state_dir, change, ctx): lock, load, change(root, ctx), write back if
 * change returned 0 (1: nothing changed, nothing written; a negative return is passed on and
 * nothing is written), unlock. The state directory is created (0700) if missing. A damaged
 * file is replaced (it holds only the last results).
 */
int ofs_runstate_update(const char *state_dir, int (*change)(json_t *root, void *ctx),
                        void *ctx);

/*
 * ofs_runstate_put(state_dir, section, name, entry): root[section][name] = entry (stolen;
 * a "time" member is expected in it). For the common case of one result.
 */
int ofs_runstate_put(const char *state_dir, const char *section, const char *name,
                     json_t *entry);

/* ofs_runstate_get(root, section, name): root[section][name] or NULL (borrowed). */
json_t *ofs_runstate_get(json_t *root, const char *section, const char *name);

#endif
