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

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_FORMAT "offsite-manifest"
#define MANIFEST_VERSION 1
#define MANIFEST_MAX (256u << 20) /* ~500 bytes per backup: room for hundreds of thousands */
#define MANIFEST_NAME_MAX 1200

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

void ofs_manifest_free(ofs_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        manifest_entry_clear(&m->entries[i]);
    free(m->entries);
    free(m);
}

/* Oldest first: by start time, then by id (ids of one second differ by their suffix). */
static int manifest_entry_compare(const void *a, const void *b)
{
    const ofs_manifest_entry *x = a, *y = b;
    if (x->started != y->started)
        return x->started < y->started ? -1 : 1;
    return strcmp(x->id, y->id);
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

int ofs_manifest_remove(ofs_manifest *m, const char *id)
{
    size_t i = manifest_index(m, id);
    if (i == m->count)
        return ofs_error_set(OFS_ENOTFOUND, "backup '%s' is not in the manifest", id);
    manifest_entry_clear(&m->entries[i]);
    memmove(&m->entries[i], &m->entries[i + 1], (m->count - i - 1) * sizeof(*m->entries));
    m->count--;
    return 0;
}

static int manifest_strdup(char **dst, const char *src)
{
    if (src && !(*dst = strdup(src)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

int ofs_manifest_add(ofs_manifest *m, const ofs_record *rec, const char *record_json,
                     size_t record_size)
{
    ofs_manifest_entry e = { 0 };
    size_t at;
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
    ofs_manifest_entry *bigger = realloc(m->entries, (m->count + 1) * sizeof(*bigger));
    if (!bigger) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    m->entries = bigger;
    if (manifest_index(m, e.id) < m->count)
        ofs_manifest_remove(m, e.id); /* replace: a record rewritten (verify, push) */
    for (at = m->count; at > 0 && manifest_entry_compare(&m->entries[at - 1], &e) > 0; at--)
        ;
    memmove(&m->entries[at + 1], &m->entries[at], (m->count - at) * sizeof(*m->entries));
    m->entries[at] = e;
    m->count++;
    return 0;
cleanup:
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

int ofs_manifest_load(ofs_manifest **out, ofs_store *store, const ofs_keyring *ring)
{
    char name[MANIFEST_NAME_MAX], *text = NULL;
    size_t size = 0;
    int rc;

    *out = NULL;
    if ((rc = ofs_store_get_buffer(store, OFS_MANIFEST_KEY, &text, &size, MANIFEST_MAX)) < 0)
        return rc;
    snprintf(name, sizeof(name), "%s: %s", ofs_store_name(store), OFS_MANIFEST_KEY);
    rc = manifest_parse(out, text, size, ring, name);
    free(text);
    return rc;
}

int ofs_manifest_save(ofs_manifest *m, ofs_store *store, const ofs_keyring *ring)
{
    const ofs_key *key = ofs_keyring_current(ring);
    json_t *obj = json_object(), *backups = json_array();
    char *text = NULL;
    size_t size = 0;
    int64_t updated = ofs_clock_now(), previous = m->updated;
    int rc;

    m->updated = updated;
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
        (rc = ofs_record_json_dump(obj, &text, &size)) < 0 ||
        (rc = ofs_store_put_buffer(store, OFS_MANIFEST_KEY, 0, text, size)) < 0)
        goto cleanup;
    memcpy(m->key_id, key->id, OFS_KEY_ID_BYTES);
cleanup:
    if (rc < 0) {
        m->updated = previous;
        ofs_error_wrap(rc, "cannot save the manifest");
    }
    free(text);
    json_decref(backups);
    json_decref(obj);
    return rc;
}

/* ---- rebuild from the records ---- */

/* Adds the record at key ("data/<class>/<id>/backup.json") to m; a record that is misplaced,
 * damaged, forged or under an unknown key is skipped with a warning (1 returned). */
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
    for (size_t i = 0; rc >= 0 && i < count; i++)
        rc = manifest_rebuild_one(m, store, ring, keys[i]);
    if (rc < 0)
        goto cleanup;
    rc = 0;
    *out = m;
    m = NULL;
cleanup:
    ofs_repo_free_keys(keys, count);
    ofs_manifest_free(m);
    return rc;
}
