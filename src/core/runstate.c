/* runstate.c - STATE_DIR/results.json: the last results, under a lock, written atomically;
 * see include/offsite/runstate.h. */
#include "offsite/runstate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"

#define RUNSTATE_MAX (16u << 20)
#define RUNSTATE_LOCK "results.lock"

int ofs_runstate_load(const char *state_dir, json_t **out)
{
    char *path = ofs_path_join(state_dir, OFS_RUNSTATE_NAME), *text = NULL;
    size_t size = 0;
    json_error_t error;
    int rc;

    *out = NULL;
    if (!path)
        return ofs_error_set(OFS_ERROR, "out of memory");
    rc = ofs_read_file(path, &text, &size, RUNSTATE_MAX);
    if (rc == OFS_ENOTFOUND) {
        rc = (*out = json_object()) ? 0 : ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if (rc < 0)
        goto cleanup;
    *out = json_loadb(text, size, 0, &error);
    if (!*out || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = ofs_error_set(OFS_ECORRUPT, "'%s' is not a JSON object (line %d: %s)\nHINT: it "
                           "only holds the last results; remove it and the next runs write it "
                           "again", path, error.line, error.text);
    }
cleanup:
    free(text);
    free(path);
    return rc;
}

int ofs_runstate_update(const char *state_dir, int (*change)(json_t *root, void *ctx),
                        void *ctx)
{
    char *lock_path = NULL, *path = NULL, *text = NULL;
    json_t *root = NULL;
    int fd = -1, rc;

    if ((rc = ofs_mkdir_p(state_dir, 0700)) < 0)
        return ofs_error_wrap(rc, "state directory '%s'", state_dir);
    if (!(lock_path = ofs_path_join(state_dir, RUNSTATE_LOCK)) ||
        !(path = ofs_path_join(state_dir, OFS_RUNSTATE_NAME))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        rc = ofs_error_from_errno(errno, "cannot open '%s'", lock_path);
        goto cleanup;
    }
    /* held for a read and a small write: waiting is right, failing is not */
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            rc = ofs_error_from_errno(errno, "cannot lock '%s'", lock_path);
            goto cleanup;
        }
    }
    rc = ofs_runstate_load(state_dir, &root);
    if (rc == OFS_ECORRUPT && (root = json_object())) /* a damaged file is replaced */
        rc = 0;
    if (rc < 0 || (rc = change(root, ctx)) != 0) {
        if (rc > 0)
            rc = 0; /* nothing changed: nothing to write */
        goto cleanup;
    }
    json_object_set_new(root, "version", json_integer(1));
    if (!(text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = ofs_write_file_atomic(path, text, strlen(text), 0600)) < 0)
        ofs_error_wrap(rc, "cannot write '%s'", path);
cleanup:
    if (fd >= 0)
        close(fd); /* releases the flock */
    json_decref(root);
    free(text);
    free(path);
    free(lock_path);
    return rc;
}

typedef struct runstate_put_ctx {
    const char *section, *name;
    json_t *entry;
} runstate_put_ctx;

static int runstate_put_change(json_t *root, void *ctx)
{
    runstate_put_ctx *p = ctx;
    json_t *section = json_object_get(root, p->section);
    if (!json_is_object(section)) {
        section = json_object();
        if (!section || json_object_set_new(root, p->section, section) < 0)
            return ofs_error_set(OFS_ERROR, "out of memory");
    }
    if (json_object_set(section, p->name, p->entry) < 0)
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

int ofs_runstate_put(const char *state_dir, const char *section, const char *name,
                     json_t *entry)
{
    runstate_put_ctx ctx = { section, name, entry };
    int rc = entry ? ofs_runstate_update(state_dir, runstate_put_change, &ctx)
                   : ofs_error_set(OFS_ERROR, "out of memory");
    json_decref(entry);
    return rc;
}

json_t *ofs_runstate_get(json_t *root, const char *section, const char *name)
{
    return json_object_get(json_object_get(root, section), name);
}
