/* prune.c - delete what the retention policy does not keep, record first; see prune.h. */
#include "offsite/prune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/error.h"
#include "offsite/log.h"
#include "offsite/manifest.h"
#include "offsite/repo.h"
#include "offsite/sweep.h"

#define PRUNE_KEY_MAX 1100

/* ---- the listing of data/, grouped into backup folders ---- */

typedef struct prune_key {
    char *key;
    uint64_t size;
    int64_t mtime;
} prune_key;

typedef struct prune_folder {
    char *prefix;           /* "data/<class>/<id>/" */
    char *class_name, *id;
    size_t first, end;      /* its keys: listing.keys[first..end) */
    uint64_t bytes;
    int has_record;
    int in_manifest;
} prune_folder;

typedef struct prune_listing {
    prune_key *keys;
    size_t count, capacity;
    prune_folder *folders;  /* sorted by prefix (the keys are sorted) */
    size_t folder_count;
    int leave_orphans;      /* forget: folders without a record are neither listed nor deleted */
} prune_listing;

static int prune_list_key(void *ctx, const char *key, const ofs_object_info *info)
{
    prune_listing *l = ctx;
    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 256;
        prune_key *bigger = realloc(l->keys, capacity * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        l->keys = bigger;
        l->capacity = capacity;
    }
    if (!(l->keys[l->count].key = strdup(key)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    l->keys[l->count].size = info->size;
    l->keys[l->count++].mtime = info->mtime;
    return 0;
}

static int prune_key_compare(const void *a, const void *b)
{
    return strcmp(((const prune_key *)a)->key, ((const prune_key *)b)->key);
}

static int prune_class_ok(const char *name, size_t n)
{
    static const char *const classes[] = { "daily", "weekly", "monthly" };
    for (size_t i = 0; i < 3; i++)
        if (strlen(classes[i]) == n && strncmp(classes[i], name, n) == 0)
            return 1;
    return 0;
}

/* prune_folder_of(key, &class_len, &id_len): length of key's "data/<class>/<id>/" prefix, or
 * 0 for a key that is not inside a backup folder of a known class (never touched). */
static size_t prune_folder_of(const char *key, size_t *class_len, size_t *id_len)
{
    if (strncmp(key, "data/", 5) != 0)
        return 0;
    const char *class_name = key + 5, *id = strchr(class_name, '/');
    if (!id || !prune_class_ok(class_name, (size_t)(id - class_name)))
        return 0;
    const char *end = strchr(++id, '/');
    if (!end || end == id || !end[1])
        return 0;
    *class_len = (size_t)(id - 1 - class_name);
    *id_len = (size_t)(end - id);
    return (size_t)(end + 1 - key);
}

static int prune_listing_load(ofs_store *store, prune_listing *l)
{
    int rc = ofs_store_list(store, "data/", prune_list_key, l);
    if (rc < 0 && rc != OFS_ENOTFOUND)
        return ofs_error_wrap(rc, "%s: cannot list data/", ofs_store_name(store));
    /* drivers list in key order; sorting again keeps the grouping right whatever they do */
    if (l->count > 1)
        qsort(l->keys, l->count, sizeof(*l->keys), prune_key_compare);
    for (size_t i = 0; i < l->count; i++) {
        const char *key = l->keys[i].key;
        size_t class_len = 0, id_len = 0, n = prune_folder_of(key, &class_len, &id_len);
        if (n == 0)
            continue;
        prune_folder *f = l->folder_count ? &l->folders[l->folder_count - 1] : NULL;
        if (!f || f->end != i || strncmp(f->prefix, key, n) != 0 || f->prefix[n] != '\0') {
            prune_folder *bigger = realloc(l->folders, (l->folder_count + 1) * sizeof(*bigger));
            if (!bigger)
                return ofs_error_set(OFS_ERROR, "out of memory");
            l->folders = bigger;
            f = &l->folders[l->folder_count++];
            *f = (prune_folder){ .prefix = strndup(key, n), .first = i, .end = i,
                                 .class_name = strndup(key + 5, class_len),
                                 .id = strndup(key + 6 + class_len, id_len) };
            if (!f->prefix || !f->class_name || !f->id)
                return ofs_error_set(OFS_ERROR, "out of memory");
        }
        f->end = i + 1;
        f->bytes += l->keys[i].size;
        if (strcmp(key + n, OFS_RECORD_NAME) == 0)
            f->has_record = 1;
    }
    return 0;
}

static void prune_listing_free(prune_listing *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->keys[i].key);
    for (size_t i = 0; i < l->folder_count; i++) {
        free(l->folders[i].prefix);
        free(l->folders[i].class_name);
        free(l->folders[i].id);
    }
    free(l->keys);
    free(l->folders);
}

static prune_folder *prune_find_folder(prune_listing *l, const char *class_name, const char *id)
{
    char prefix[PRUNE_KEY_MAX];
    size_t low = 0, high = l->folder_count;
    snprintf(prefix, sizeof(prefix), "data/%s/%s/", class_name, id);
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int c = strcmp(l->folders[mid].prefix, prefix);
        if (c == 0)
            return &l->folders[mid];
        if (c < 0)
            low = mid + 1;
        else
            high = mid;
    }
    return NULL;
}

/* ---- the manifest, checked against the listing ---- */

/* 1 if every manifest entry has its record in the listing and every record an entry. */
static int prune_manifest_matches(const ofs_manifest *m, prune_listing *l)
{
    size_t records = 0, matched = 0;
    for (size_t i = 0; i < l->folder_count; i++) {
        records += l->folders[i].has_record;
        l->folders[i].in_manifest = 0;
    }
    for (size_t i = 0; i < m->count; i++) {
        prune_folder *f = prune_find_folder(l, m->entries[i].class_name, m->entries[i].id);
        if (!f || !f->has_record || f->in_manifest)
            return 0;
        f->in_manifest = 1;
        matched++;
    }
    return matched == records;
}

/* prune_manifest(store, ring, l, &m, &rebuilt): the manifest to decide from: the stored one
 * if it agrees with the records, else one rebuilt from them (*rebuilt = 1). */
static int prune_manifest(ofs_store *store, const ofs_keyring *ring, prune_listing *l,
                          ofs_manifest **out, int *rebuilt)
{
    ofs_manifest *m = NULL;
    int rc = ofs_manifest_load(&m, store, ring);

    *rebuilt = 0;
    if (rc == OFS_EAUTH || rc == OFS_ECORRUPT) {
        ofs_log_warn("%s; rebuilding it from the backup records", ofs_error_last());
    } else if (rc == OFS_ENOTFOUND) {
        rc = ofs_manifest_new(&m);
        if (rc == 0 && prune_manifest_matches(m, l)) { /* a new, empty store */
            *out = m;
            return 0;
        }
        ofs_manifest_free(m);
        m = NULL;
        ofs_log_warn("%s: no manifest; rebuilding it from the backup records",
                     ofs_store_name(store));
    } else if (rc < 0) {
        return ofs_error_wrap(rc, "%s: manifest", ofs_store_name(store));
    } else if (prune_manifest_matches(m, l)) {
        *out = m;
        return 0;
    } else {
        ofs_log_warn("%s: the manifest disagrees with the backup records; rebuilding it",
                     ofs_store_name(store));
        ofs_manifest_free(m);
        m = NULL;
    }
    if ((rc = ofs_manifest_rebuild(&m, store, ring)) < 0)
        return rc;
    prune_manifest_matches(m, l); /* marks in_manifest for the records it holds */
    *rebuilt = 1;
    *out = m;
    return 0;
}

/* ---- the result ---- */

static int prune_strdup(char **out, const char *s)
{
    if (s && !(*out = strdup(s)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

static int prune_result_fill(ofs_prune_result *r, const ofs_manifest *m,
                             const ofs_retention_decision *decisions, prune_listing *l,
                             int64_t grace)
{
    int rc;
    if (m->count && !(r->backups = calloc(m->count, sizeof(*r->backups))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < m->count; i++, r->count++) {
        const ofs_manifest_entry *e = &m->entries[i];
        ofs_prune_backup *b = &r->backups[i];
        if ((rc = prune_strdup(&b->id, e->id)) < 0 || (rc = prune_strdup(&b->set, e->set)) < 0 ||
            (rc = prune_strdup(&b->kind, e->kind)) < 0 ||
            (rc = prune_strdup(&b->base, e->base)) < 0 ||
            (rc = prune_strdup(&b->class_name, e->class_name)) < 0 ||
            (rc = prune_strdup(&b->host, e->host)) < 0)
            return rc;
        b->started = e->started;
        b->stored_bytes = e->stored_bytes;
        b->decision = decisions[i];
    }
    for (size_t i = 0; i < r->count; i++) {
        ofs_prune_backup *b = &r->backups[i];
        if (b->decision.reasons & OFS_RETAIN_BASE)
            b->needed_by = r->backups[b->decision.needed_by].id;
        if (b->decision.reasons) {
            r->kept++;
            continue;
        }
        r->deleted++;
        prune_folder *f = prune_find_folder(l, b->class_name, b->id);
        if (f) {
            r->objects_deleted += f->end - f->first;
            r->bytes_freed += f->bytes;
        }
    }
    for (size_t i = 0; !l->leave_orphans && i < l->folder_count; i++) {
        const prune_folder *f = &l->folders[i];
        if (f->has_record)
            continue;
        ofs_prune_orphan *bigger = realloc(r->orphans, (r->orphan_count + 1) * sizeof(*bigger));
        if (!bigger)
            return ofs_error_set(OFS_ERROR, "out of memory");
        r->orphans = bigger;
        ofs_prune_orphan *o = &r->orphans[r->orphan_count++];
        *o = (ofs_prune_orphan){ .folder = strdup(f->prefix), .objects = f->end - f->first,
                                 .bytes = f->bytes };
        if (!o->folder)
            return ofs_error_set(OFS_ERROR, "out of memory");
        for (size_t k = f->first; k < f->end; k++)
            if (l->keys[k].mtime > o->newest)
                o->newest = l->keys[k].mtime;
        /* the real clock: object times are real even when OFFSITE_NOW is not */
        o->young = grace > 0 && (int64_t)time(NULL) - o->newest < grace;
        if (o->young)
            continue;
        r->objects_deleted += o->objects;
        r->bytes_freed += o->bytes;
    }
    return 0;
}

void ofs_prune_result_free(ofs_prune_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++) {
        ofs_prune_backup *b = &r->backups[i];
        free(b->id);
        free(b->set);
        free(b->host);
        free(b->kind);
        free(b->base);
        free(b->class_name);
        free(b->locked);
    }
    for (size_t i = 0; i < r->orphan_count; i++)
        free(r->orphans[i].folder);
    free(r->backups);
    free(r->orphans);
    free(r);
}

/* ---- deleting ---- */

/* prune_delete_folder(store, l, f, &record_kept): backup.json first (the backup stops
 * existing), then every other object of the folder in batches (s3: multi-object deletes).
 * *record_kept: the record's delete was refused, so the backup is still whole. */
static int prune_delete_folder(ofs_store *store, const prune_listing *l, const prune_folder *f,
                               int *record_kept)
{
    char key[PRUNE_KEY_MAX];
    const char **rest = NULL;
    size_t n = 0;
    int rc = 0;

    *record_kept = 0;
    if (f->has_record) {
        snprintf(key, sizeof(key), "%s%s", f->prefix, OFS_RECORD_NAME);
        if ((rc = ofs_store_del(store, key)) < 0) {
            *record_kept = 1;
            return rc;
        }
    }
    if (f->end > f->first && !(rest = malloc((f->end - f->first) * sizeof(*rest))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = f->first; i < f->end; i++)
        if (strcmp(l->keys[i].key + strlen(f->prefix), OFS_RECORD_NAME) != 0)
            rest[n++] = l->keys[i].key;
    if (n > 0)
        rc = ofs_store_del_many(store, rest, n);
    free(rest);
    return rc;
}

/* prune_relist_locked(store, ring, m, id): put a backup whose deletion the store refused back
 * into the manifest (saved first without it), from its record. */
static int prune_relist_locked(ofs_store *store, const ofs_keyring *ring, ofs_manifest *m,
                               const char *id)
{
    ofs_record *rec = NULL;
    char *json = NULL;
    size_t size = 0;
    int rc = ofs_repo_load_record(store, ring, id, &rec, &json, &size);
    if (rc == 0)
        rc = ofs_manifest_add(m, rec, json, size);
    ofs_record_free(rec);
    free(json);
    return rc;
}

/* prune_apply(store, ring, m, r, l, rebuilt): steps 3 to 5 of prune.h. */
static int prune_apply(ofs_store *store, const ofs_keyring *ring, ofs_manifest *m,
                       ofs_prune_result *r, prune_listing *l, int rebuilt)
{
    int rc = 0, relisted = 0;
    for (size_t i = 0; i < r->count; i++)
        if (!r->backups[i].decision.reasons && (rc = ofs_manifest_remove(m, r->backups[i].id)) < 0)
            return rc;
    if ((r->deleted > 0 || rebuilt) && (rc = ofs_manifest_save(m, store, ring)) < 0)
        return ofs_error_wrap(rc, "%s: nothing deleted", ofs_store_name(store));
    /* oldest first: if the run stops, what is left is the newer part of the history */
    for (size_t i = 0; i < r->count; i++) {
        ofs_prune_backup *b = &r->backups[i];
        if (b->decision.reasons)
            continue;
        prune_folder *f = prune_find_folder(l, b->class_name, b->id);
        int record_kept = 0;
        if (f && (rc = prune_delete_folder(store, l, f, &record_kept)) == OFS_EDENIED &&
            record_kept) {
            /* object lock or the credentials: the record is the first delete, so the backup
             * is still whole; it stays, listed again (until its retain-until date passes) */
            if (!(b->locked = strdup(ofs_error_last())) ||
                (rc = prune_relist_locked(store, ring, m, b->id)) < 0)
                return b->locked ? rc : ofs_error_set(OFS_ERROR, "out of memory");
            ofs_log_info("%s: backup '%s' kept: %s", ofs_store_name(store), b->id, b->locked);
            relisted = 1;
            r->deleted--;
            r->kept++;
            r->objects_deleted -= f->end - f->first;
            r->bytes_freed -= f->bytes;
            continue;
        }
        if (f && rc < 0)
            return ofs_error_wrap(rc, "cannot delete backup '%s'", b->id);
        rc = 0;
        b->deleted = 1;
    }
    if (relisted && (rc = ofs_manifest_save(m, store, ring)) < 0)
        return ofs_error_wrap(rc, "%s: listing the locked backups again", ofs_store_name(store));
    for (size_t i = 0, o = 0; !l->leave_orphans && i < l->folder_count; i++) {
        const prune_folder *f = &l->folders[i];
        if (f->has_record)
            continue;
        int record_kept = 0;
        if (r->orphans[o++].young)
            continue;
        if ((rc = prune_delete_folder(store, l, f, &record_kept)) < 0)
            return ofs_error_wrap(rc, "cannot delete the unfinished backup '%s'", f->prefix);
        r->orphans[o - 1].deleted = 1;
    }
    return 0;
}

/* prune_policies(opts, m, &policies): each entry's policy (opts->config: by set and target,
 * else opts->policy for all). */
static int prune_policies(const ofs_prune_options *opts, const ofs_manifest *m,
                          const ofs_config_retention ***out)
{
    const ofs_config_retention **policies = NULL;
    *out = NULL;
    if (m->count && !(policies = calloc(m->count, sizeof(*policies))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < m->count; i++)
        policies[i] = opts->config ? ofs_config_policy(opts->config, opts->target,
                                                       m->entries[i].set)
                                   : opts->policy;
    *out = policies;
    return 0;
}

/* prune_forget_plan(m, id, decisions): every backup kept (held: the caller keeps all but id)
 * except id; OFS_ENOTFOUND if the store lacks it, OFS_ECONFLICT naming the differentials of
 * the store that need it. */
static int prune_forget_plan(ofs_store *store, const ofs_manifest *m, const char *id,
                             ofs_retention_decision *decisions)
{
    char dependents[512] = "";
    size_t used = 0, found = m->count, n = 0;
    for (size_t i = 0; i < m->count; i++) {
        decisions[i] = (ofs_retention_decision){ .reasons = OFS_RETAIN_HELD,
                                                 .needed_by = m->count };
        if (strcmp(m->entries[i].id, id) == 0)
            found = i;
        else if (m->entries[i].base && strcmp(m->entries[i].base, id) == 0 && used < sizeof(dependents)) {
            used += (size_t)snprintf(dependents + used, sizeof(dependents) - used, "%s'%s'",
                                     n ? ", " : "", m->entries[i].id);
            n++;
        }
    }
    if (found == m->count)
        return ofs_error_set(OFS_ENOTFOUND, "%s: no backup '%s'", ofs_store_name(store), id);
    if (n)
        return ofs_error_set(OFS_ECONFLICT, "%s: backup '%s' is the base of %s, which %s it "
                             "to restore\nHINT: forget %s first", ofs_store_name(store), id,
                             dependents, n == 1 ? "needs" : "need",
                             n == 1 ? "that differential" : "those differentials");
    decisions[found].reasons = 0;
    return 0;
}

/* prune_run(store, ring, opts, forget, &result): ofs_prune_run, or with forget the run that
 * deletes that one backup and leaves every other one and every orphan. */
static int prune_run(ofs_store *store, const ofs_keyring *ring, const ofs_prune_options *opts,
                     const char *forget, ofs_prune_result **result)
{
    prune_listing listing = { 0 };
    ofs_manifest *m = NULL;
    ofs_retention_decision *decisions = NULL;
    const ofs_config_retention **policies = NULL;
    ofs_prune_result *r = NULL;
    uint8_t *held = NULL;
    int rc, rebuilt = 0;
    int64_t run_start = (int64_t)time(NULL);

    *result = NULL;
    if ((rc = prune_listing_load(store, &listing)) < 0 ||
        (rc = prune_manifest(store, ring, &listing, &m, &rebuilt)) < 0)
        goto cleanup;
    if (!(r = calloc(1, sizeof(*r))) ||
        (m->count && (!(decisions = calloc(m->count, sizeof(*decisions))) ||
                      !(held = calloc(m->count, 1))))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    r->manifest_rebuilt = rebuilt;
    if (forget) {
        if ((rc = prune_forget_plan(store, m, forget, decisions)) < 0)
            goto cleanup;
        listing.leave_orphans = 1; /* an unfinished folder is prune's business, not forget's */
    } else {
        for (size_t i = 0; i < opts->held_count; i++) {
            const ofs_manifest_entry *e = ofs_manifest_find(m, opts->held[i]);
            if (e)
                held[e - m->entries] = 1;
        }
        if ((rc = prune_policies(opts, m, &policies)) < 0 ||
            (rc = ofs_retention_decide_each(policies, m->entries, m->count, opts->now, held,
                                            decisions)) < 0)
            goto cleanup;
        for (size_t i = 0; opts->host && i < m->count; i++)
            if (m->entries[i].host && strcmp(m->entries[i].host, opts->host) != 0)
                decisions[i].reasons = OFS_RETAIN_HOST; /* that host's own prune decides */
    }
    if ((rc = prune_result_fill(r, m, decisions, &listing, opts->orphan_grace)) < 0)
        goto cleanup;
    if (!opts->dry_run && (rc = ofs_store_delete_check(store, opts->probe_host)) == 0) {
        /* a write-only target: the plan stands as a report; the manifest is not touched */
        r->delete_refused = 1;
        ofs_log_info("%s: these credentials may not delete: planned only, nothing changed",
                     ofs_store_name(store));
    } else if (!opts->dry_run && rc > 0) {
        rc = prune_apply(store, ring, m, r, &listing, rebuilt);
        /* staging (no grace) is this host's alone under the lock; a target may be shared */
        if (rc == 0)
            ofs_sweep(store, ofs_sweep_cutoff(opts->orphan_grace &&
                                                  ofs_sweep_shared(m, NULL, opts->host),
                                              run_start), &r->swept);
    }
cleanup:
    *result = r;
    prune_listing_free(&listing);
    ofs_manifest_free(m);
    free(decisions);
    free(policies);
    free(held);
    return rc;
}

int ofs_prune_run(ofs_store *store, const ofs_keyring *ring, const ofs_prune_options *opts,
                  ofs_prune_result **result)
{
    return prune_run(store, ring, opts, NULL, result);
}

int ofs_prune_forget(ofs_store *store, const ofs_keyring *ring, const ofs_prune_options *opts,
                     const char *id, ofs_prune_result **result)
{
    return prune_run(store, ring, opts, id, result);
}
