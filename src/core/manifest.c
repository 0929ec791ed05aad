/*
 * manifest.c - manifest.json, the index of a store's committed backups: load and check, save
 * (MAC'd, replaced atomically by the store), edit in memory, rebuild from the records. See
 * manifest.h and docs/format.md section 6.3.
 */
#include "offsite/manifest.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/log.h"
#include "offsite/repo.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MANIFEST_FORMAT "offsite-manifest"
#define MANIFEST_VERSION 1
#define MANIFEST_MAX (256u << 20) /* ~500 bytes per backup: room for hundreds of thousands */
#define MANIFEST_NAME_MAX 1200
#define MANIFEST_SAVE_TRIES 8

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const ofs_record_json_field entry_fields[] = {
    { "id", OFS_RECORD_JSON_STRING, offsetof(ofs_manifest_entry, id) },
    { "set", OFS_RECORD_JSON_STRING, offsetof(ofs_manifest_entry, set) },
    { "kind", OFS_RECORD_JSON_STRING, offsetof(ofs_manifest_entry, kind) },
    { "base", OFS_RECORD_JSON_STRING_OPTIONAL, offsetof(ofs_manifest_entry, base) },
    { "class", OFS_RECORD_JSON_STRING, offsetof(ofs_manifest_entry, class_name) },
    { "host", OFS_RECORD_JSON_STRING, offsetof(ofs_manifest_entry, host) },
    { "description", OFS_RECORD_JSON_STRING_OPTIONAL, offsetof(ofs_manifest_entry, description) },
    { "started", OFS_RECORD_JSON_TIME, offsetof(ofs_manifest_entry, started) },
    { "finished", OFS_RECORD_JSON_TIME, offsetof(ofs_manifest_entry, finished) },
    { "files", OFS_RECORD_JSON_UINT64, offsetof(ofs_manifest_entry, files) },
    { "bytes", OFS_RECORD_JSON_UINT64, offsetof(ofs_manifest_entry, bytes) },
    { "stored_bytes", OFS_RECORD_JSON_UINT64, offsetof(ofs_manifest_entry, stored_bytes) },
    { "record_sha256", OFS_RECORD_JSON_SHA256, offsetof(ofs_manifest_entry, record_sha256) },
};

static const ofs_record_json_field manifest_fields[] = {
    { "updated", OFS_RECORD_JSON_TIME, offsetof(ofs_manifest, updated) },
};

/* ---- in memory ---- */

static void manifest_entry_clear(ofs_manifest_entry *e)
{
    free(e->id);
    free(e->set);
    free(e->kind);
    free(e->base);
    free(e->class_name);
    free(e->host);
    free(e->description);
    memset(e, 0, sizeof(*e));
}

int ofs_manifest_new(ofs_manifest **out)
{
    if (!(*out = calloc(1, sizeof(**out))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

/* One edit since the manifest was read: a removal (removed_id) or an add (entry). */
struct ofs_manifest_change {
    char *removed_id;
    ofs_manifest_entry entry;
};

static void manifest_changes_clear(ofs_manifest *m)
{
    for (size_t i = 0; i < m->change_count; i++) {
        free(m->changes[i].removed_id);
        manifest_entry_clear(&m->changes[i].entry);
    }
    free(m->changes);
    m->changes = NULL;
    m->change_count = 0;
}

static void manifest_entries_clear(ofs_manifest *m)
{
    for (size_t i = 0; i < m->count; i++)
        manifest_entry_clear(&m->entries[i]);
    free(m->entries);
    m->entries = NULL;
    m->count = 0;
}

void ofs_manifest_free(ofs_manifest *m)
{
    if (!m)
        return;
    manifest_entries_clear(m);
    manifest_changes_clear(m);
    free(m);
}

/* manifest_change_new(m): a zeroed change at the end of m's list, or NULL (out of memory) */
static ofs_manifest_change *manifest_change_new(ofs_manifest *m)
{
    ofs_manifest_change *bigger = realloc(m->changes, (m->change_count + 1) * sizeof(*bigger));
    if (!bigger)
        return NULL;
    m->changes = bigger;
    memset(&bigger[m->change_count], 0, sizeof(*bigger));
    return &bigger[m->change_count++];
}

/* id_split(id, &n): the length of id without its "_N" suffix (SET_YYYYmmdd_HHMMSS_N), and N
 * (1 without one) */
static size_t id_split(const char *id, unsigned long *n)
{
    size_t len = strlen(id), i = len;
    *n = 1;
    while (i > 0 && id[i - 1] >= '0' && id[i - 1] <= '9')
        i--;
    /* a suffix follows "_HHMMSS": 6 digits, '_', the number */
    if (i < len && i >= 8 && id[i - 1] == '_' && len - i <= 9) {
        size_t d = i - 1;
        int stamp = 1;
        for (size_t k = d - 6; k < d; k++)
            stamp &= id[k] >= '0' && id[k] <= '9';
        if (stamp && id[d - 7] == '_') {
            *n = strtoul(id + i, NULL, 10);
            return d;
        }
    }
    return len;
}

int ofs_manifest_id_compare(const char *a, const char *b)
{
    unsigned long na, nb;
    size_t la = id_split(a, &na), lb = id_split(b, &nb);
    int c = strncmp(a, b, la < lb ? la : lb);
    if (c || la != lb)
        return c ? c : (la < lb ? -1 : 1);
    return na == nb ? 0 : na < nb ? -1 : 1;
}

int ofs_manifest_entry_order(const ofs_manifest_entry *x, const ofs_manifest_entry *y)
{
    if (x->started != y->started)
        return x->started < y->started ? -1 : 1;
    return ofs_manifest_id_compare(x->id, y->id);
}

/* Oldest first: by start time, then by id (ids of one second differ by their suffix). */
static int manifest_entry_compare(const void *a, const void *b)
{
    return ofs_manifest_entry_order(a, b);
}

static size_t manifest_index(const ofs_manifest *m, const char *id)
{
    size_t i = 0;
    while (i < m->count && strcmp(m->entries[i].id, id) != 0)
        i++;
    return i;
}

const ofs_manifest_entry *ofs_manifest_find(const ofs_manifest *m, const char *id)
{
    size_t i = manifest_index(m, id);
    return i < m->count ? &m->entries[i] : NULL;
}

const ofs_manifest_entry *ofs_manifest_latest(const ofs_manifest *m, const char *set)
{
    for (size_t i = m->count; i > 0; i--)
        if (!set || strcmp(m->entries[i - 1].set, set) == 0)
            return &m->entries[i - 1];
    return NULL;
}

/* manifest_drop(m, id): remove the entry if there is one; 1 if there was */
static int manifest_drop(ofs_manifest *m, const char *id)
{
    size_t i = manifest_index(m, id);
    if (i == m->count)
        return 0;
    manifest_entry_clear(&m->entries[i]);
    memmove(&m->entries[i], &m->entries[i + 1], (m->count - i - 1) * sizeof(*m->entries));
    m->count--;
    return 1;
}

int ofs_manifest_remove(ofs_manifest *m, const char *id)
{
    ofs_manifest_change *c;

    if (!manifest_drop(m, id))
        return ofs_error_set(OFS_ENOTFOUND, "backup '%s' is not in the manifest", id);
    if (!(c = manifest_change_new(m)) || !(c->removed_id = strdup(id)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

static int manifest_strdup(char **dst, const char *src)
{
    if (src && !(*dst = strdup(src)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

/* manifest_entry_copy(dst, src): a deep copy */
static int manifest_entry_copy(ofs_manifest_entry *dst, const ofs_manifest_entry *src)
{
    *dst = *src;
    dst->id = dst->set = dst->kind = dst->base = dst->class_name = dst->host = NULL;
    dst->description = NULL;
    if (manifest_strdup(&dst->id, src->id) < 0 || manifest_strdup(&dst->set, src->set) < 0 ||
        manifest_strdup(&dst->kind, src->kind) < 0 || manifest_strdup(&dst->base, src->base) < 0 ||
        manifest_strdup(&dst->class_name, src->class_name) < 0 ||
        manifest_strdup(&dst->host, src->host) < 0 ||
        manifest_strdup(&dst->description, src->description) < 0) {
        manifest_entry_clear(dst);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

/* manifest_insert(m, e): put e in its place, replacing an entry of the same id; takes e's
 * strings (e is zeroed) */
static int manifest_insert(ofs_manifest *m, ofs_manifest_entry *e)
{
    ofs_manifest_entry *bigger = realloc(m->entries, (m->count + 1) * sizeof(*bigger));
    size_t at;

    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    m->entries = bigger;
    manifest_drop(m, e->id); /* replace: a record rewritten (verify, push) */
    for (at = m->count; at > 0 && manifest_entry_compare(&m->entries[at - 1], e) > 0; at--)
        ;
    memmove(&m->entries[at + 1], &m->entries[at], (m->count - at) * sizeof(*m->entries));
    m->entries[at] = *e;
    m->count++;
    memset(e, 0, sizeof(*e));
    return 0;
}

int ofs_manifest_add(ofs_manifest *m, const ofs_record *rec, const char *record_json,
                     size_t record_size)
{
    ofs_manifest_entry e = { 0 }, c = { 0 };
    ofs_manifest_change *change;
    int rc;

    if (!record_json)
        return ofs_error_set(OFS_ERROR, "manifest: no record text for backup '%s'", rec->id);
    if (!rec->id || !rec->set || !rec->kind || !rec->class_name || !rec->host)
        return ofs_error_set(OFS_ERROR, "manifest: the record lacks a required member");
    /* the rules load checks, so a saved manifest always loads again */
    if ((rc = ofs_record_json_check("manifest", "", rec->id, rec->set, rec->kind, rec->base,
                                    rec->class_name)) < 0)
        return rc;
    if ((rc = manifest_strdup(&e.id, rec->id)) < 0 ||
        (rc = manifest_strdup(&e.set, rec->set)) < 0 ||
        (rc = manifest_strdup(&e.kind, rec->kind)) < 0 ||
        (rc = manifest_strdup(&e.base, rec->base)) < 0 ||
        (rc = manifest_strdup(&e.class_name, rec->class_name)) < 0 ||
        (rc = manifest_strdup(&e.host, rec->host)) < 0 ||
        (rc = manifest_strdup(&e.description, rec->description)) < 0 ||
        (rc = ofs_sha256_buffer(record_json, record_size, e.record_sha256)) < 0)
        goto cleanup;
    e.started = rec->started;
    e.finished = rec->finished;
    e.files = rec->files;
    e.bytes = rec->bytes;
    e.stored_bytes = rec->stored_bytes;
    if ((rc = manifest_entry_copy(&c, &e)) < 0 || (rc = manifest_insert(m, &e)) < 0)
        goto cleanup;
    if (!(change = manifest_change_new(m))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    change->entry = c;
    return 0;
cleanup:
    manifest_entry_clear(&c);
    manifest_entry_clear(&e);
    return rc;
}

/* ---- JSON ---- */

static int manifest_compare_ids(const void *a, const void *b)
{
    return strcmp((*(const ofs_manifest_entry *const *)a)->id,
                  (*(const ofs_manifest_entry *const *)b)->id);
}

/* A backup listed twice would make the index ambiguous. */
static int manifest_check_unique(const ofs_manifest *m, const char *name)
{
    const ofs_manifest_entry **by_id = NULL;
    int rc = 0;
    if (m->count < 2)
        return 0;
    if (!(by_id = malloc(m->count * sizeof(*by_id))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < m->count; i++)
        by_id[i] = &m->entries[i];
    qsort(by_id, m->count, sizeof(*by_id), manifest_compare_ids);
    for (size_t i = 1; i < m->count && rc == 0; i++)
        if (strcmp(by_id[i - 1]->id, by_id[i]->id) == 0)
            rc = ofs_error_set(OFS_ECORRUPT, "%s: backup '%s' is listed twice", name,
                               by_id[i]->id);
    free(by_id);
    return rc;
}

static int manifest_parse(ofs_manifest **out, const char *text, size_t size,
                          const ofs_keyring *ring, const char *name)
{
    json_t *obj = NULL;
    const json_t *backups;
    ofs_manifest *m = NULL;
    int rc;

    *out = NULL;
    if ((rc = ofs_record_json_load(&obj, text, size, MANIFEST_FORMAT, name)) < 0 ||
        (rc = ofs_record_mac_check(obj, ring, name, "manifest")) < 0 ||
        (rc = ofs_manifest_new(&m)) < 0 ||
        (rc = ofs_record_json_read(obj, manifest_fields, COUNT(manifest_fields), m, name,
                                   "")) < 0)
        goto cleanup;
    {
        /* parsed into a local first: GCC's -Wstringop-overflow misreads m->key_id here */
        uint8_t key_id[OFS_KEY_ID_BYTES];
        if ((rc = ofs_key_id_parse(json_string_value(json_object_get(obj, "key_id")),
                                   key_id)) < 0)
            goto cleanup;
        memcpy(m->key_id, key_id, sizeof key_id);
    }
    backups = json_object_get(obj, "backups");
    if (!json_is_array(backups)) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s: member 'backups' %s", name,
                           backups ? "must be an array" : "is missing");
        goto cleanup;
    }
    if (json_array_size(backups) > 0 &&
        !(m->entries = calloc(json_array_size(backups), sizeof(*m->entries)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    m->count = json_array_size(backups);
    for (size_t i = 0; i < m->count; i++) {
        const json_t *b = json_array_get(backups, i);
        ofs_manifest_entry *e = &m->entries[i];
        char where[64];
        snprintf(where, sizeof(where), "backups[%zu].", i);
        if (!json_is_object(b)) {
            rc = ofs_error_set(OFS_ECORRUPT, "%s: member 'backups[%zu]' must be an object",
                               name, i);
            goto cleanup;
        }
        if ((rc = ofs_record_json_read(b, entry_fields, COUNT(entry_fields), e, name,
                                       where)) < 0 ||
            (rc = ofs_record_json_check(name, where, e->id, e->set, e->kind, e->base,
                                        e->class_name)) < 0)
            goto cleanup;
    }
    if ((rc = manifest_check_unique(m, name)) < 0)
        goto cleanup;
    if (m->count > 1)
        qsort(m->entries, m->count, sizeof(*m->entries), manifest_entry_compare);
    *out = m;
    m = NULL;
cleanup:
    ofs_manifest_free(m);
    json_decref(obj);
    return rc;
}

/* manifest_stored_version(store, version): the stored manifest's version, "" if absent;
 * version holds OFS_STORE_VERSION_MAX bytes (a plain pointer: gcc 12 at -O2 misreads the array
 * parameter through a freshly allocated manifest as a region of size 0) */
static int manifest_stored_version(ofs_store *store, char *version)
{
    ofs_object_info info;
    int rc = ofs_store_stat(store, OFS_MANIFEST_KEY, &info);

    version[0] = '\0';
    if (rc == OFS_ENOTFOUND) {
        ofs_error_clear();
        return 0;
    }
    if (rc == 0)
        memcpy(version, info.version, OFS_STORE_VERSION_MAX);
    return rc;
}

/* manifest_wrong_key_hint(): OFS_EWRONGKEY, with what to do appended to the message. The
 * repository is never rewritten under another key: that would drop its backups from the
 * manifest, as a rebuild that skipped them would. */
static int manifest_wrong_key_hint(void)
{
    char message[2048];
    snprintf(message, sizeof(message), "%s", ofs_error_last());
    return ofs_error_set(OFS_EWRONGKEY, "%s\nHINT: this repository was written with another "
                         "key; put its key file back (or 'offsite key import' its paper copy). "
                         "To start over with a new key, use a new staging_dir and a new target "
                         "prefix: nothing here is deleted or hidden", message);
}

int ofs_manifest_load(ofs_manifest **out, ofs_store *store, const ofs_keyring *ring)
{
    char name[MANIFEST_NAME_MAX], *text = NULL, version[OFS_STORE_VERSION_MAX];
    size_t size = 0;
    int rc;

    *out = NULL;
    /* the version first: if the object changes before the read, the save finds it stale and
     * merges again (the other order could save over a change it never saw) */
    if ((rc = manifest_stored_version(store, version)) < 0)
        return rc;
    if ((rc = ofs_store_get_buffer(store, OFS_MANIFEST_KEY, &text, &size, MANIFEST_MAX)) < 0)
        return rc;
    snprintf(name, sizeof(name), "%s: %s", ofs_store_name(store), OFS_MANIFEST_KEY);
    if ((rc = manifest_parse(out, text, size, ring, name)) == 0) {
        (*out)->origin = store;
        memcpy((*out)->version, version, OFS_STORE_VERSION_MAX);
    }
    if (rc == OFS_EWRONGKEY)
        rc = manifest_wrong_key_hint();
    free(text);
    return rc;
}

/* manifest_render(m, ring, &text, &size): the MAC'd JSON of m (m->updated set to now) */
static int manifest_render(ofs_manifest *m, const ofs_keyring *ring, char **text, size_t *size)
{
    const ofs_key *key = ofs_keyring_current(ring);
    json_t *obj = json_object(), *backups = json_array();
    int rc;

    m->updated = ofs_clock_now();
    if (!obj || !backups || json_object_set_new(obj, "format", json_string(MANIFEST_FORMAT)) ||
        json_object_set_new(obj, "version", json_integer(MANIFEST_VERSION)) ||
        json_object_set(obj, "backups", backups)) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = ofs_record_json_write(obj, manifest_fields, COUNT(manifest_fields), m)) < 0)
        goto cleanup;
    for (size_t i = 0; i < m->count; i++) {
        json_t *b = json_object();
        if (!b || json_array_append_new(backups, b) != 0) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        if ((rc = ofs_record_json_write(b, entry_fields, COUNT(entry_fields),
                                        &m->entries[i])) < 0)
            goto cleanup;
    }
    if ((rc = ofs_record_mac_sign(obj, ring, key->id)) < 0 ||
        (rc = ofs_record_json_dump(obj, text, size)) < 0)
        goto cleanup;
    memcpy(m->key_id, key->id, OFS_KEY_ID_BYTES);
cleanup:
    json_decref(backups);
    json_decref(obj);
    return rc;
}

/* manifest_refresh(m, store, ring): after a lost race, m becomes the stored manifest (or the
 * records' rebuild, if m was one or the stored one is unreadable) with m's changes applied */
static int manifest_refresh(ofs_manifest *m, ofs_store *store, const ofs_keyring *ring)
{
    ofs_manifest *fresh = NULL;
    int rc = 0;

    if (!m->rebuilt && (rc = ofs_manifest_load(&fresh, store, ring)) < 0) {
        /* missing, damaged, or under a key this ring lacks: the records decide */
        if (rc != OFS_ENOTFOUND && rc != OFS_EAUTH && rc != OFS_ECORRUPT)
            return rc;
        ofs_error_clear();
    }
    /* a rebuild's version is "" when there is no manifest: the next write must find none */
    if (!fresh && (rc = ofs_manifest_rebuild(&fresh, store, ring)) < 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < m->change_count; i++) {
        ofs_manifest_change *c = &m->changes[i];
        ofs_manifest_entry e;
        if (c->removed_id)
            manifest_drop(fresh, c->removed_id);
        else if ((rc = manifest_entry_copy(&e, &c->entry)) == 0 &&
                 (rc = manifest_insert(fresh, &e)) < 0)
            manifest_entry_clear(&e);
    }
    if (rc == 0) {
        /* m keeps its changes (another lost race replays them again) and takes the rest */
        manifest_entries_clear(m);
        m->entries = fresh->entries;
        m->count = fresh->count;
        m->origin = fresh->origin;
        memcpy(m->version, fresh->version, OFS_STORE_VERSION_MAX);
        fresh->entries = NULL;
        fresh->count = 0;
    }
    ofs_manifest_free(fresh);
    return rc;
}

/* manifest_pause(attempt): a short random wait, so two hosts that collided do not again */
static void manifest_pause(int attempt)
{
    unsigned char r = 0;
    long ms = 50L * attempt + (getrandom(&r, 1, 0) == 1 ? r : 128);
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int ofs_manifest_save(ofs_manifest *m, ofs_store *store, const ofs_keyring *ring)
{
    char *text = NULL, written[OFS_STORE_VERSION_MAX];
    size_t size = 0;
    int64_t previous = m->updated;
    int rc;

    /* a new manifest (no origin) expects none to be there; one read from another store
     * replaces whatever this one has */
    if (m->origin && m->origin != store &&
        (rc = manifest_stored_version(store, m->version)) < 0)
        goto cleanup;
    m->origin = store;
    for (int attempt = 1;; attempt++) {
        free(text);
        text = NULL;
        if ((rc = manifest_render(m, ring, &text, &size)) < 0)
            break;
        rc = ofs_store_replace(store, OFS_MANIFEST_KEY, m->version, text, size, written);
        if (rc != OFS_ECONFLICT || attempt == MANIFEST_SAVE_TRIES)
            break;
        ofs_log_info("%s: %s was changed by another writer meanwhile; merging and writing it "
                     "again", ofs_store_name(store), OFS_MANIFEST_KEY);
        ofs_error_clear();
        manifest_pause(attempt);
        if ((rc = manifest_refresh(m, store, ring)) < 0)
            break;
    }
    if (rc == 0) {
        memcpy(m->version, written, OFS_STORE_VERSION_MAX);
        manifest_changes_clear(m);
    }
cleanup:
    if (rc < 0) {
        m->updated = previous;
        ofs_error_wrap(rc, "cannot save the manifest");
    }
    free(text);
    return rc;
}

/* ---- rebuild from the records ---- */

/* Adds the record at key ("data/<class>/<id>/backup.json") to m; a record that is misplaced,
 * damaged or forged is skipped with a warning (1 returned); one under a key the ring lacks
 * fails the rebuild (OFS_EWRONGKEY). */
static int manifest_rebuild_one(ofs_manifest *m, ofs_store *store, const ofs_keyring *ring,
                                const char *key)
{
    char class_name[MANIFEST_NAME_MAX], id[MANIFEST_NAME_MAX];
    ofs_record *rec = NULL;
    char *json = NULL;
    size_t size = 0;
    int rc;

    if (sscanf(key, "data/%1199[^/]/%1199[^/]/", class_name, id) != 2 ||
        strlen(key) != strlen("data///" OFS_RECORD_NAME) + strlen(class_name) + strlen(id)) {
        ofs_log_warn("%s: %s: not where a backup record belongs; ignored", ofs_store_name(store),
                     key);
        return 1;
    }
    rc = ofs_repo_read_record(store, ring, class_name, id, &rec, &json, &size);
    if (rc == OFS_EAUTH || rc == OFS_ECORRUPT || rc == OFS_ENOTFOUND) {
        ofs_log_warn("%s; backup '%s' is left out of the manifest", ofs_error_last(), id);
        rc = 1;
    } else if (rc == 0 && ofs_manifest_find(m, id)) {
        ofs_log_warn("%s: %s: backup '%s' has a record in another class folder too; this one "
                     "is left out of the manifest", ofs_store_name(store), key, id);
        rc = 1;
    } else if (rc == 0) {
        rc = ofs_manifest_add(m, rec, json, size);
    } else if (rc == OFS_EWRONGKEY) {
        rc = manifest_wrong_key_hint(); /* never left out: the key in hand is the wrong one */
    }
    ofs_record_free(rec);
    free(json);
    return rc;
}

int ofs_manifest_rebuild(ofs_manifest **out, ofs_store *store, const ofs_keyring *ring)
{
    char **keys = NULL;
    size_t count = 0;
    ofs_manifest *m = NULL;
    int rc;

    *out = NULL;
    if ((rc = ofs_manifest_new(&m)) < 0 || (rc = ofs_repo_list_records(store, &keys, &count)) < 0)
        goto cleanup;
    /* the version before the listing, as load does */
    if ((rc = manifest_stored_version(store, m->version)) < 0)
        goto cleanup;
    for (size_t i = 0; rc >= 0 && i < count; i++)
        rc = manifest_rebuild_one(m, store, ring, keys[i]);
    if (rc < 0)
        goto cleanup;
    rc = 0;
    manifest_changes_clear(m); /* what the records say is the base, not an edit */
    m->origin = store;
    m->rebuilt = 1;
    *out = m;
    m = NULL;
cleanup:
    ofs_repo_free_keys(keys, count);
    ofs_manifest_free(m);
    return rc;
}

int ofs_manifest_lacked(const ofs_manifest *m, ofs_store *store, char *id, size_t size)
{
    char **keys = NULL;
    size_t count = 0;
    int rc = ofs_repo_list_records(store, &keys, &count);

    for (size_t i = 0; rc == 0 && i < count; i++) {
        /* data/<class>/<id>/backup.json */
        const char *end = keys[i] + strlen(keys[i]) - strlen("/" OFS_RECORD_NAME), *start = end;
        while (start > keys[i] && start[-1] != '/')
            start--;
        snprintf(id, size, "%.*s", (int)(end - start), start);
        if (!ofs_manifest_find(m, id))
            rc = 1;
    }
    ofs_repo_free_keys(keys, count);
    return rc;
}
