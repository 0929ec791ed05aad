/*
 * repo.c - the repository layout and the reads every command shares: keys and sealed names,
 * finding and loading a backup's record, opening an object for decryption. See repo.h and
 * docs/format.md section 7.
 */
#include "offsite/repo.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/seal.h"
#include "offsite/zstdstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPO_KEY_MAX 1100

static const char *const repo_classes[] = { "daily", "weekly", "monthly" };

/* One component of a key: not empty, ".", ".." and without '/'. */
static int repo_part_ok(const char *part)
{
    return part[0] != '\0' && strcmp(part, ".") != 0 && strcmp(part, "..") != 0 &&
           !strchr(part, '/');
}

static int repo_parts_check(const char *what, const char *const *parts, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!parts[i] || !repo_part_ok(parts[i]))
            return ofs_error_set(OFS_ECONFIG, "%s: '%s' cannot be part of an object key", what,
                                 parts[i] ? parts[i] : "(null)");
    return 0;
}

int ofs_repo_key(char *buf, size_t size, const char *class_name, const char *id,
                 const char *name)
{
    const char *parts[] = { class_name, id, name };
    int rc = repo_parts_check("object key", parts, 3);
    if (rc < 0)
        return rc;
    int n = snprintf(buf, size, "data/%s/%s/%s", class_name, id, name);
    if (n < 0 || (size_t)n >= size)
        return ofs_error_set(OFS_ECONFIG, "the object key of '%s' in backup '%s' is longer than "
                             "%zu bytes", name, id, size ? size - 1 : 0);
    return 0;
}

int ofs_repo_seal_name(char *buf, size_t size, const char *id, const char *name)
{
    const char *parts[] = { id, name };
    int rc = repo_parts_check("object name", parts, 2);
    if (rc < 0)
        return rc;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".ofs") == 0)
        len -= 4;
    int n = snprintf(buf, size, "%s/%.*s", id, (int)len, name);
    if (n < 0 || (size_t)n >= size)
        return ofs_error_set(OFS_ECONFIG, "the sealed name of '%s' in backup '%s' is longer "
                             "than %zu bytes", name, id, size ? size - 1 : 0);
    return 0;
}

int ofs_repo_find_record(ofs_store *store, const char *id, char **class_name)
{
    char key[REPO_KEY_MAX];
    int rc;

    *class_name = NULL;
    for (size_t i = 0; i < sizeof(repo_classes) / sizeof(repo_classes[0]); i++) {
        ofs_object_info info;
        if ((rc = ofs_repo_key(key, sizeof(key), repo_classes[i], id, OFS_RECORD_NAME)) < 0)
            return rc;
        rc = ofs_store_stat(store, key, &info);
        if (rc == OFS_ENOTFOUND)
            continue;
        if (rc < 0)
            return rc;
        if (!(*class_name = strdup(repo_classes[i])))
            return ofs_error_set(OFS_ERROR, "out of memory");
        return 0;
    }
    return ofs_error_set(OFS_ENOTFOUND, "%s: no backup '%s'", ofs_store_name(store), id);
}

int ofs_repo_read_record(ofs_store *store, const ofs_keyring *ring, const char *class_name,
                         const char *id, ofs_record **rec, char **json, size_t *size)
{
    char key[REPO_KEY_MAX], name[REPO_KEY_MAX + 256];
    char *text = NULL;
    size_t text_size = 0;
    ofs_record *parsed = NULL;
    int rc;

    *rec = NULL;
    if (json)
        *json = NULL;
    if (size)
        *size = 0;
    if ((rc = ofs_repo_key(key, sizeof(key), class_name, id, OFS_RECORD_NAME)) < 0 ||
        (rc = ofs_store_get_buffer(store, key, &text, &text_size, OFS_RECORD_MAX)) < 0)
        goto cleanup;
    snprintf(name, sizeof(name), "%s: %s", ofs_store_name(store), key);
    if ((rc = ofs_record_parse(&parsed, text, text_size, ring, name)) < 0)
        goto cleanup;
    /* The MAC proves who wrote the record, not where it belongs: a record copied over another
     * backup's would otherwise pass as that backup. */
    if (strcmp(parsed->id, id) != 0 || strcmp(parsed->class_name, class_name) != 0) {
        rc = ofs_error_set(OFS_EAUTH, "%s: the record is of backup '%s' (class %s), not of this "
                           "place (swapped or copied)", name, parsed->id, parsed->class_name);
        goto cleanup;
    }
    *rec = parsed;
    parsed = NULL;
    if (json) {
        *json = text;
        text = NULL;
    }
    if (size)
        *size = text_size;
cleanup:
    ofs_record_free(parsed);
    free(text);
    return rc;
}

int ofs_repo_load_record(ofs_store *store, const ofs_keyring *ring, const char *id,
                         ofs_record **rec, char **json, size_t *size)
{
    char *class_name = NULL;
    int rc;

    *rec = NULL;
    if (json)
        *json = NULL;
    if (size)
        *size = 0;
    if ((rc = ofs_repo_find_record(store, id, &class_name)) == 0)
        rc = ofs_repo_read_record(store, ring, class_name, id, rec, json, size);
    free(class_name);
    return rc;
}

typedef struct repo_keys {
    char **keys;
    size_t count, capacity;
} repo_keys;

static int repo_list_record(void *ctx, const char *key, const ofs_object_info *info)
{
    repo_keys *list = ctx;
    size_t n = strlen(key), tail = strlen("/" OFS_RECORD_NAME);
    (void)info;
    if (n <= tail || strcmp(key + n - tail, "/" OFS_RECORD_NAME) != 0)
        return 0;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        char **bigger = realloc(list->keys, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        list->keys = bigger;
        list->capacity = capacity;
    }
    if (!(list->keys[list->count] = strdup(key)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    list->count++;
    return 0;
}

int ofs_repo_list_records(ofs_store *store, char ***keys, size_t *count)
{
    repo_keys list = { 0 };
    int rc = ofs_store_list(store, "data/", repo_list_record, &list);
    *keys = NULL;
    *count = 0;
    if (rc < 0 && rc != OFS_ENOTFOUND) { /* ENOTFOUND: a new store, no data/ yet */
        ofs_repo_free_keys(list.keys, list.count);
        return rc;
    }
    *keys = list.keys;
    *count = list.count;
    return 0;
}

void ofs_repo_free_keys(char **keys, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(keys[i]);
    free(keys);
}

/* ---- objects ---- */

/* Puts "KEY: " in front of read errors that do not name the object yet. */
typedef struct repo_reader {
    ofs_reader parent;
    ofs_reader *source;
    char *key;
} repo_reader;

static int repo_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    repo_reader *rr = (repo_reader *)r;
    int rc = ofs_reader_read(rr->source, buf, size, got);
    if (rc < 0 && !strstr(ofs_error_last(), rr->key))
        ofs_error_wrap(rc, "%s", rr->key);
    return rc;
}

static void repo_reader_free(ofs_reader *r)
{
    repo_reader *rr = (repo_reader *)r;
    ofs_reader_free(rr->source);
    free(rr->key);
    free(rr);
}

static const struct ofs_reader_ops repo_reader_ops = { repo_read, repo_reader_free };

static int repo_reader_new(ofs_reader **out, ofs_reader *source, const char *key)
{
    repo_reader *rr = calloc(1, sizeof(*rr));
    *out = NULL;
    if (!rr || !(rr->key = strdup(key))) {
        free(rr);
        ofs_reader_free(source);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    rr->parent.ops = &repo_reader_ops;
    rr->source = source;
    *out = &rr->parent;
    return 0;
}

int ofs_repo_open_object(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                         const char *name, ofs_reader **out)
{
    char key[REPO_KEY_MAX], seal_name[OFS_SEAL_NAME_MAX + 1];
    const ofs_record_object *o = ofs_record_find_object(rec, name);
    ofs_reader *r = NULL;
    int rc;

    *out = NULL;
    if ((rc = ofs_repo_key(key, sizeof(key), rec->class_name, rec->id, name)) < 0 ||
        (rc = ofs_repo_seal_name(seal_name, sizeof(seal_name), rec->id, name)) < 0)
        return rc;
    if (!o)
        return ofs_error_set(OFS_ENOTFOUND, "%s: the record of backup '%s' lists no '%s'", key,
                             rec->id, name);
    /* Each constructor owns its source even when it fails, so r is always the whole chain. */
    if ((rc = ofs_store_get(store, key, 0, 0, &r)) < 0 ||
        (rc = ofs_verify_reader_new(&r, r, o->size, o->sha256, key)) < 0 ||
        (rc = ofs_seal_reader_new(&r, r, ring, seal_name)) < 0 ||
        (rc = ofs_zstd_reader_new(&r, r)) < 0 ||
        (rc = repo_reader_new(&r, r, key)) < 0)
        goto cleanup;
    *out = r;
    r = NULL;
cleanup:
    ofs_reader_free(r);
    if (rc < 0 && !strstr(ofs_error_last(), key))
        ofs_error_wrap(rc, "%s", key);
    return rc;
}

int ofs_repo_open_catalog(ofs_store *store, const ofs_keyring *ring, const ofs_record *rec,
                          ofs_catalog_reader **out)
{
    ofs_reader *r = NULL;
    int rc;

    *out = NULL;
    if ((rc = ofs_repo_open_object(store, ring, rec, OFS_CATALOG_NAME, &r)) < 0)
        return rc;
    return ofs_catalog_reader_new(out, r);
}
