/* verify.c - check backups and the manifest of a store; see verify.h. */
#include "offsite/verify.h"
#include "offsite/decode.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/manifest.h"
#include "offsite/record.h"
#include "offsite/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_BUFFER (1u << 20)
#define VERIFY_KEY_MAX 1200

typedef struct verify_run {
    const char *id;
    ofs_verify_report_fn report;
    void *ctx;
    ofs_verify_stats *stats;
    const char *spool_dir;      /* the decoder's catalog spool (read_data) */
    int first_code;
    uint64_t problems;          /* found by this call */
    uint8_t *buf;
    const ofs_record *rec;
    const uint8_t *object_ok;   /* per record object: its stored size and SHA-256 matched */
} verify_run;

/* Reports message as a problem of backup (v->id if NULL) and remembers the first code. */
static void verify_report(verify_run *v, int code, const char *backup, const char *object,
                          const char *file, const char *message)
{
    ofs_verify_problem p = { .code = code, .backup = backup ? backup : v->id, .object = object,
                             .file = file, .message = message };
    if (v->first_code == 0)
        v->first_code = code;
    v->stats->problems++;
    v->problems++;
    if (v->report)
        v->report(v->ctx, &p);
}

/* Reports the current error message as a problem of v's backup. */
static void verify_problem(verify_run *v, int code, const char *object, const char *file)
{
    verify_report(v, code, NULL, object, file, ofs_error_last());
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

/* A problem the decoder found; one in a volume whose stored object already failed its check
 * was reported then. */
static void verify_on_decode(void *ctx, const ofs_decode_problem *p)
{
    verify_run *v = ctx;
    char object[32];
    if (p->volume > 0) {
        ofs_record_volume_name(p->volume, object);
        if (!p->backup_id || strcmp(p->backup_id, v->id) == 0) {
            for (size_t i = 0; i < v->rec->object_count; i++)
                if (!v->object_ok[i] && strcmp(v->rec->objects[i].name, object) == 0)
                    return;
        }
    }
    verify_report(v, p->code, p->backup_id, p->volume > 0 ? object : NULL, p->path,
                  p->message);
}

/*
 * Every byte, the way restore reads it: the decoder with the sink that writes nothing, so
 * whatever restore would refuse is reported here (a differential's base volumes included).
 */
static void verify_read_data(verify_run *v, ofs_store *store, const ofs_keyring *ring,
                             const ofs_record *rec)
{
    ofs_decode_options o = { .keep_going = 1, .report = verify_on_decode, .ctx = v,
                             .spool_dir = v->spool_dir };
    ofs_decode *d = NULL;
    ofs_decode_stats ds = { 0 };
    int rc;
    for (size_t i = 0; i < rec->object_count; i++)
        if (strcmp(rec->objects[i].name, OFS_CATALOG_NAME) == 0 && !v->object_ok[i])
            return; /* reported: nothing to decode without it */
    if ((rc = ofs_decode_open(&d, store, ring, rec, &o)) < 0) {
        verify_problem(v, rc, NULL, NULL);
        return;
    }
    ofs_decode_run(d, &ofs_null_sink, NULL, NULL, &ds);
    v->stats->files += ds.files;
    ofs_decode_free(d);
}

int ofs_verify_backup(ofs_store *store, const ofs_keyring *ring, const char *id, int read_data,
                      const char *spool_dir, ofs_verify_report_fn report, void *ctx,
                      ofs_verify_stats *stats)
{
    verify_run v = { .id = id, .report = report, .ctx = ctx, .stats = stats,
                     .spool_dir = spool_dir };
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
    v.rec = rec;
    v.object_ok = object_ok;
    if (read_data)
        verify_read_data(&v, store, ring, rec);
cleanup:
    free(v.buf);
    free(object_ok);
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
