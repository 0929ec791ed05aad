/* verify.c - check backups and the manifest of a store; see verify.h. */
#include "offsite/verify.h"
#include "offsite/catalog.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/manifest.h"
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/restore.h"
#include "offsite/tarread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_BUFFER (1u << 20)
#define VERIFY_KEY_MAX 1200

/* The file entries of one volume as the catalog lists them (every entry, for the order). */
typedef struct verify_item {
    char *path;
    ofs_entry_type type;
    uint64_t size;
    int has_sha256;
    uint8_t sha256[OFS_SHA256_BYTES];
    uint32_t volume;
} verify_item;

typedef struct verify_run {
    const char *id;
    ofs_verify_report_fn report;
    void *ctx;
    ofs_verify_stats *stats;
    int first_code;
    uint64_t problems;          /* found by this call */
    verify_item *items;         /* this backup's entries with content in a volume */
    size_t count, capacity;
    uint8_t *buf;
    ofs_sha256 *sha;
} verify_run;

/* Reports the current error message as a problem and remembers the first code. */
static void verify_problem(verify_run *v, int code, const char *object, const char *file)
{
    ofs_verify_problem p = { .code = code, .backup = v->id, .object = object, .file = file,
                             .message = ofs_error_last() };
    if (v->first_code == 0)
        v->first_code = code;
    v->stats->problems++;
    v->problems++;
    if (v->report)
        v->report(v->ctx, &p);
}

/* Stat and a full read of one stored object, hashed, against the record. */
static int verify_object_hash(verify_run *v, ofs_store *store, const char *key,
                              const ofs_record_object *o)
{
    ofs_object_info info = { 0 };
    ofs_reader *r = NULL;
    uint8_t digest[OFS_SHA256_BYTES];
    uint64_t bytes = 0;
    int rc;

    if ((rc = ofs_store_stat(store, key, &info)) < 0)
        return rc;
    if (info.size != o->size)
        return ofs_error_set(OFS_ECORRUPT, "%s: size %llu, expected %llu", key,
                             (unsigned long long)info.size, (unsigned long long)o->size);
    if ((rc = ofs_store_get(store, key, 0, 0, &r)) < 0 || (rc = ofs_hash_reader_new(&r, r)) < 0)
        goto cleanup;
    for (;;) {
        size_t got = 0;
        if ((rc = ofs_reader_read(r, v->buf, VERIFY_BUFFER, &got)) < 0)
            goto cleanup;
        if (got == 0)
            break;
    }
    ofs_hash_reader_result(r, digest, &bytes);
    v->stats->bytes += bytes;
    if (bytes != o->size)
        rc = ofs_error_set(OFS_ECORRUPT, "%s: size %llu, expected %llu", key,
                           (unsigned long long)bytes, (unsigned long long)o->size);
    else if (memcmp(digest, o->sha256, sizeof(digest)) != 0)
        rc = ofs_error_set(OFS_ECORRUPT, "%s: SHA-256 mismatch", key);
cleanup:
    ofs_reader_free(r);
    return rc;
}

static int verify_load_catalog(verify_run *v, ofs_store *store, const ofs_keyring *ring,
                               const ofs_record *rec)
{
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e = NULL;
    int rc = ofs_repo_open_catalog(store, ring, rec, &cr);
    if (rc < 0)
        return rc;
    while ((rc = ofs_catalog_reader_next(cr, &e)) == 1) {
        if (e->volume == 0 || (e->backup_id && strcmp(e->backup_id, rec->id) != 0))
            continue; /* content in a base backup: verified with that backup */
        if (v->count == v->capacity) {
            size_t capacity = v->capacity ? v->capacity * 2 : 1024;
            verify_item *bigger = realloc(v->items, capacity * sizeof(*bigger));
            if (!bigger) {
                rc = ofs_error_set(OFS_ERROR, "out of memory");
                break;
            }
            v->items = bigger;
            v->capacity = capacity;
        }
        verify_item *it = &v->items[v->count];
        /* a differential's tail (format.md 5.3): PATH.offsite-tail, the bytes after base_size */
        if ((rc = ofs_catalog_tar_name(e, &it->path)) < 0)
            break;
        it->type = e->type;
        it->size = ofs_catalog_stored_size(e);
        it->has_sha256 = e->has_sha256;
        memcpy(it->sha256, e->base_size > 0 ? e->tail_sha256 : e->sha256, sizeof(it->sha256));
        it->volume = e->volume;
        v->count++;
    }
    ofs_catalog_reader_free(cr);
    return rc < 0 ? rc : 0;
}

/* Hashes the data of the current tar entry. */
static int verify_entry_data(verify_run *v, ofs_tar_reader *tar, uint64_t *size,
                             uint8_t digest[OFS_SHA256_BYTES])
{
    static const uint8_t zeros[64 * 1024];
    const void *data;
    size_t n;
    uint64_t offset;
    int rc;
    *size = 0;
    if ((rc = ofs_sha256_reset(v->sha)) < 0)
        return rc;
    while ((rc = ofs_tar_reader_data(tar, &data, &n, &offset)) == 1) {
        if (offset < *size)
            return ofs_error_set(OFS_ECORRUPT, "data out of order");
        while (*size < offset) { /* a hole: zeros */
            uint64_t gap = offset - *size;
            size_t step = gap < sizeof(zeros) ? (size_t)gap : sizeof(zeros);
            if ((rc = ofs_sha256_update(v->sha, zeros, step)) < 0)
                return rc;
            *size += step;
        }
        if ((rc = ofs_sha256_update(v->sha, data, n)) < 0)
            return rc;
        *size += n;
    }
    if (rc < 0)
        return rc;
    return ofs_sha256_final(v->sha, digest);
}

/*
 * Decrypts and decompresses one volume and reads its tar. With the catalog loaded, checks the
 * entry order against it and each file's SHA-256; file problems are reported and reading goes
 * on. Returns the error that stopped the volume, if any.
 */
static int verify_volume_data(verify_run *v, ofs_store *store, const ofs_keyring *ring,
                              const ofs_record *rec, uint32_t number, const char *name,
                              int have_catalog)
{
    ofs_reader *source = NULL;
    ofs_tar_reader *tar = NULL;
    ofs_tar_entry te;
    size_t next = 0;
    int rc;

    while (have_catalog && next < v->count && v->items[next].volume != number)
        next++;
    if ((rc = ofs_repo_open_object(store, ring, rec, name, &source)) < 0)
        return rc;
    rc = ofs_tar_reader_new(&tar, source, name);
    if (rc < 0)
        return rc;
    while ((rc = ofs_tar_reader_next(tar, &te)) == 1) {
        const verify_item *it = NULL;
        if (have_catalog) {
            it = next < v->count && v->items[next].volume == number ? &v->items[next] : NULL;
            if (!ofs_path_is_safe(te.path) || !it || strcmp(it->path, te.path) != 0) {
                rc = ofs_error_set(OFS_ECORRUPT, "%s: unexpected entry '%s' in archive", name,
                                   te.path);
                goto cleanup;
            }
            next++;
            if (it->type != te.type) {
                ofs_error_set(OFS_ECORRUPT, "%s: '%s' is a %s in the archive, a %s in the "
                              "catalog", name, it->path, ofs_entry_type_name(te.type),
                              ofs_entry_type_name(it->type));
                verify_problem(v, OFS_ECORRUPT, name, it->path);
                continue;
            }
        }
        if (te.type != OFS_ENTRY_FILE)
            continue;
        uint64_t size = 0;
        uint8_t digest[OFS_SHA256_BYTES];
        if ((rc = verify_entry_data(v, tar, &size, digest)) < 0)
            goto cleanup;
        if (!it)
            continue;
        v->stats->files++;
        if (size != it->size) {
            ofs_error_set(OFS_ECORRUPT, "%s: size %llu, expected %llu", it->path,
                          (unsigned long long)size, (unsigned long long)it->size);
            verify_problem(v, OFS_ECORRUPT, name, it->path);
        } else if (!it->has_sha256 || memcmp(digest, it->sha256, sizeof(digest)) != 0) {
            ofs_error_set(OFS_ECORRUPT, "%s: SHA-256 mismatch", it->path);
            verify_problem(v, OFS_ECORRUPT, name, it->path);
        }
    }
    if (rc < 0)
        goto cleanup;
    if (have_catalog && next < v->count && v->items[next].volume == number)
        rc = ofs_error_set(OFS_ECORRUPT, "%s: entry '%s' is missing from the archive", name,
                           v->items[next].path);
cleanup:
    ofs_tar_reader_free(tar);
    return rc;
}

static int verify_read_data(verify_run *v, ofs_store *store, const ofs_keyring *ring,
                            const ofs_record *rec, const uint8_t *object_ok)
{
    int have_catalog = 0, rc;
    const char *catalog_key = OFS_CATALOG_NAME;
    for (size_t i = 0; i < rec->object_count; i++) {
        if (strcmp(rec->objects[i].name, OFS_CATALOG_NAME) != 0)
            continue;
        if (object_ok[i]) {
            rc = verify_load_catalog(v, store, ring, rec);
            if (rc < 0)
                verify_problem(v, rc, catalog_key, NULL);
            else
                have_catalog = 1;
        }
    }
    for (size_t i = 0; i < rec->object_count; i++) {
        const char *name = rec->objects[i].name;
        unsigned number = 0;
        char check[32];
        if (!object_ok[i] || sscanf(name, "vol-%u.ofs", &number) != 1)
            continue;
        ofs_record_volume_name(number, check);
        if (strcmp(check, name) != 0)
            continue;
        if ((rc = verify_volume_data(v, store, ring, rec, number, name, have_catalog)) < 0)
            verify_problem(v, rc, name, NULL);
    }
    return 0;
}

int ofs_verify_backup(ofs_store *store, const ofs_keyring *ring, const char *id, int read_data,
                      ofs_verify_report_fn report, void *ctx, ofs_verify_stats *stats)
{
    verify_run v = { .id = id, .report = report, .ctx = ctx, .stats = stats };
    ofs_verify_stats local = { 0 };
    ofs_record *rec = NULL;
    uint8_t *object_ok = NULL;
    int rc;

    if (!v.stats)
        v.stats = &local;
    v.stats->backups++;
    if ((rc = ofs_repo_load_record(store, ring, id, &rec, NULL, NULL)) < 0) {
        verify_problem(&v, rc, OFS_RECORD_NAME, NULL);
        goto cleanup;
    }
    if (!(v.buf = malloc(VERIFY_BUFFER)) ||
        !(object_ok = calloc(rec->object_count ? rec->object_count : 1, 1))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        verify_problem(&v, rc, NULL, NULL);
        goto cleanup;
    }
    if ((rc = ofs_sha256_new(&v.sha)) < 0) {
        verify_problem(&v, rc, NULL, NULL);
        goto cleanup;
    }
    uint32_t volumes = 0;
    int has_catalog = 0;
    for (size_t i = 0; i < rec->object_count; i++) {
        const ofs_record_object *o = &rec->objects[i];
        char key[VERIFY_KEY_MAX];
        if (strncmp(o->name, "vol-", 4) == 0)
            volumes++;
        if (strcmp(o->name, OFS_CATALOG_NAME) == 0)
            has_catalog = 1;
        v.stats->objects++;
        if ((rc = ofs_repo_key(key, sizeof(key), rec->class_name, id, o->name)) < 0 ||
            (rc = verify_object_hash(&v, store, key, o)) < 0) {
            verify_problem(&v, rc, o->name, NULL);
            continue;
        }
        object_ok[i] = 1;
    }
    if (volumes != rec->volumes) {
        ofs_error_set(OFS_ECORRUPT, "the record lists %u volume objects, expected %u", volumes,
                      rec->volumes);
        verify_problem(&v, OFS_ECORRUPT, OFS_RECORD_NAME, NULL);
    }
    if (!has_catalog) {
        ofs_error_set(OFS_ECORRUPT, "the record lists no %s", OFS_CATALOG_NAME);
        verify_problem(&v, OFS_ECORRUPT, OFS_RECORD_NAME, NULL);
    }
    if (read_data)
        verify_read_data(&v, store, ring, rec, object_ok);
cleanup:
    for (size_t i = 0; i < v.count; i++)
        free(v.items[i].path);
    free(v.items);
    free(v.buf);
    free(object_ok);
    ofs_sha256_free(v.sha);
    ofs_record_free(rec);
    if (v.first_code < 0)
        return ofs_error_set(v.first_code, "backup '%s': %llu problem%s found", id,
                             (unsigned long long)v.problems, v.problems == 1 ? "" : "s");
    return 0;
}

/* ---- the manifest against the records ---- */

int ofs_verify_manifest(ofs_store *store, const ofs_keyring *ring, ofs_verify_report_fn report,
                        void *ctx, ofs_verify_stats *stats)
{
    verify_run v = { .report = report, .ctx = ctx, .stats = stats };
    ofs_verify_stats local = { 0 };
    char **keys = NULL;
    size_t key_count = 0;
    ofs_manifest *m = NULL;
    uint8_t *seen = NULL;
    int rc;

    if (!v.stats)
        v.stats = &local;
    if ((rc = ofs_manifest_load(&m, store, ring)) < 0) {
        verify_problem(&v, rc, OFS_MANIFEST_KEY, NULL);
        goto cleanup;
    }
    if ((rc = ofs_repo_list_records(store, &keys, &key_count)) < 0) {
        verify_problem(&v, rc, NULL, NULL);
        goto cleanup;
    }
    if (!(seen = calloc(m->count ? m->count : 1, 1))) {
        verify_problem(&v, ofs_error_set(OFS_ERROR, "out of memory"), NULL, NULL);
        goto cleanup;
    }
    for (size_t i = 0; i < key_count; i++) {
        const char *key = keys[i];
        const char *end = key + strlen(key) - strlen("/" OFS_RECORD_NAME);
        const char *start = end;
        while (start > key && start[-1] != '/')
            start--;
        char *id = strndup(start, (size_t)(end - start));
        char *json = NULL;
        size_t size = 0;
        if (!id) {
            verify_problem(&v, ofs_error_set(OFS_ERROR, "out of memory"), NULL, NULL);
            goto cleanup;
        }
        v.id = id;
        size_t index = 0;
        while (index < m->count && strcmp(m->entries[index].id, id) != 0)
            index++;
        if (index == m->count) {
            ofs_error_set(OFS_ECORRUPT, "backup '%s' is missing from the manifest", id);
            verify_problem(&v, OFS_ECORRUPT, OFS_MANIFEST_KEY, NULL);
        } else {
            uint8_t digest[OFS_SHA256_BYTES];
            seen[index] = 1;
            if ((rc = ofs_store_get_buffer(store, key, &json, &size, OFS_RECORD_MAX)) < 0 ||
                (rc = ofs_sha256_buffer(json, size, digest)) < 0) {
                verify_problem(&v, rc, OFS_RECORD_NAME, NULL);
            } else if (memcmp(digest, m->entries[index].record_sha256, sizeof(digest)) != 0) {
                ofs_error_set(OFS_ECORRUPT, "the manifest entry of backup '%s' does not match "
                              "its record", id);
                verify_problem(&v, OFS_ECORRUPT, OFS_MANIFEST_KEY, NULL);
            }
        }
        free(json);
        free(id);
        v.id = NULL;
    }
    for (size_t i = 0; i < m->count; i++) {
        if (seen[i])
            continue;
        v.id = m->entries[i].id;
        ofs_error_set(OFS_ENOTFOUND, "the manifest lists backup '%s', which has no record",
                      m->entries[i].id);
        verify_problem(&v, OFS_ENOTFOUND, OFS_RECORD_NAME, NULL);
        v.id = NULL;
    }
cleanup:
    ofs_repo_free_keys(keys, key_count);
    free(seen);
    ofs_manifest_free(m);
    if (v.first_code < 0)
        return ofs_error_set(v.first_code, "manifest: %llu problem%s found",
                             (unsigned long long)v.problems, v.problems == 1 ? "" : "s");
    return 0;
}

/* ---- repair: the manifest rebuilt from the records ---- */

static void verify_change(ofs_verify_change_fn fn, void *ctx, size_t *changes, const char *id,
                          const char *change, const char *message)
{
    ofs_verify_change c = { .id = id, .change = change, .message = message };
    (*changes)++;
    if (fn)
        fn(ctx, &c);
}

int ofs_verify_repair(ofs_store *store, const ofs_keyring *ring, ofs_verify_change_fn fn,
                      void *ctx, size_t *changes)
{
    ofs_manifest *old = NULL, *fresh = NULL;
    char message[1024] = "";
    int rc, load_rc;

    *changes = 0;
    load_rc = ofs_manifest_load(&old, store, ring);
    if (load_rc < 0 && load_rc != OFS_ENOTFOUND && load_rc != OFS_EAUTH &&
        load_rc != OFS_ECORRUPT)
        return load_rc;
    if (load_rc < 0)
        snprintf(message, sizeof(message), "%s", ofs_error_last());
    if ((rc = ofs_manifest_rebuild(&fresh, store, ring)) < 0)
        goto cleanup;
    if (load_rc == OFS_ENOTFOUND && fresh->count == 0) {
        rc = 0; /* a new store: nothing to repair, nothing to write */
        goto cleanup;
    }
    if (!old) {
        verify_change(fn, ctx, changes, NULL, "replaced", message);
    } else {
        for (size_t i = 0; i < fresh->count; i++) {
            const ofs_manifest_entry *e = &fresh->entries[i], *was = ofs_manifest_find(old, e->id);
            if (!was)
                verify_change(fn, ctx, changes, e->id, "added", "a record the manifest lacked");
            else if (memcmp(was->record_sha256, e->record_sha256, sizeof(e->record_sha256)) != 0)
                verify_change(fn, ctx, changes, e->id, "updated",
                              "the entry did not match its record");
        }
        for (size_t i = 0; i < old->count; i++)
            if (!ofs_manifest_find(fresh, old->entries[i].id))
                verify_change(fn, ctx, changes, old->entries[i].id, "removed",
                              "listed, but its record is gone or fails its MAC");
    }
    if (*changes && (rc = ofs_manifest_save(fresh, store, ring)) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    ofs_manifest_free(old);
    ofs_manifest_free(fresh);
    return rc;
}
