/*
 * test_consistency.c - verify --read-data and restore judge a backup alike (issue 13): one
 * table of hand-made backups, each validly sealed and MAC'd (made with offsite's own tar,
 * catalog, zstd and seal writers and a test key) but inconsistent in one way, given to
 * ofs_verify_backup(read_data) and to ofs_restore_run; both must refuse it with the same code
 * and the same cause, or both accept it. docs/format.md states each rule as a reader's
 * obligation; tests/integration/cases/format/consistency.sh runs similar cases through the
 * binary and the Python decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/catalog.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/repo.h"
#include "offsite/restore.h"
#include "offsite/seal.h"
#include "offsite/store.h"
#include "offsite/tarwrite.h"
#include "offsite/verify.h"
#include "offsite/zstdstream.h"

#define MAX_ENTRIES 16

struct fixture;

typedef struct consistency_case {
    const char *name;
    void (*build)(struct fixture *f); /* makes the backup named by id */
    const char *id;
    int code;                    /* both verdicts: 0 or the OFS_E* code */
    const char *cause;           /* in restore's message and verify's first problem */
    uint64_t extra_files, extra_bytes; /* added to the record's counts */
} consistency_case;

typedef struct fixture {
    char base[200];
    char src[256], staging[256], key[256];
    ofs_keyring *ring;
    ofs_store *store;
    unsigned files;              /* source files written so far (their names) */
    const consistency_case *c;
} fixture;

/* A backup being made by hand: its entries (catalog order), its open volume, its record. */
typedef struct built {
    fixture *f;
    ofs_record *rec;
    ofs_catalog_entry entries[MAX_ENTRIES];
    size_t count;
    ofs_writer *mem;             /* the open volume's tar, before zstd and the seal */
    ofs_tar_writer *tar;
} built;

/* Rewrites the plaintext of a volume (tar bytes) before it is sealed. */
typedef void (*patch_fn)(char *tar, size_t size);

/* ---- the builder ---- */

static void put_object(built *b, const char *name, const void *data, size_t size)
{
    char key[1100], seal_name[1100];
    ofs_writer *w = NULL, *hash = NULL;
    uint8_t digest[OFS_SHA256_BYTES];
    uint64_t stored = 0;
    const ofs_record *rec = b->rec;
    assert_int_equal(ofs_repo_key(key, sizeof(key), rec->class_name, rec->id, name), 0);
    assert_int_equal(ofs_repo_seal_name(seal_name, sizeof(seal_name), rec->id, name), 0);
    assert_int_equal(ofs_store_put(b->f->store, key, 0, &w), 0);
    assert_int_equal(ofs_hash_writer_new(&w, w), 0);
    hash = w;
    assert_int_equal(ofs_seal_writer_new(&w, w, ofs_keyring_current(b->f->ring), seal_name, 0),
                     0);
    assert_int_equal(ofs_zstd_writer_new(&w, w, 3, 0), 0);
    assert_int_equal(ofs_writer_write(w, data, size), 0);
    assert_int_equal(ofs_writer_finish(w), 0);
    ofs_hash_writer_result(hash, digest, &stored);
    ofs_writer_free(w);
    assert_int_equal(ofs_record_add_object(b->rec, name, stored, digest), 0);
}

static void b_begin(built *b, fixture *f, const char *id, const char *base)
{
    memset(b, 0, sizeof(*b));
    b->f = f;
    assert_int_equal(ofs_record_new(&b->rec), 0);
    ofs_record *rec = b->rec;
    rec->id = strdup(id);
    rec->set = strdup("t");
    rec->kind = strdup(base ? "diff" : "full");
    rec->base = base ? strdup(base) : NULL;
    rec->class_name = strdup("daily");
    rec->host = strdup("testhost");
    rec->tool_version = strdup("0");
    rec->started = 1795281300;
    rec->finished = 1795281301;
    memcpy(rec->key_id, ofs_keyring_current(f->ring)->id, OFS_KEY_ID_BYTES);
}

/* Seals the open volume (its tar patched first, if patch) and lists it in the record. */
static void b_close_volume(built *b, patch_fn patch)
{
    char name[32];
    size_t size = 0;
    if (!b->tar)
        return;
    assert_int_equal(ofs_tar_writer_finish(b->tar), 0);
    char *tar = (char *)ofs_memory_writer_data(b->mem, &size);
    if (patch)
        patch(tar, size);
    b->rec->volumes++;
    ofs_record_volume_name(b->rec->volumes, name);
    put_object(b, name, tar, size);
    ofs_tar_writer_free(b->tar); /* frees mem too */
    b->tar = NULL;
    b->mem = NULL;
}

static ofs_catalog_entry *b_entry(built *b, const char *path, ofs_entry_type type)
{
    assert_true(b->count < MAX_ENTRIES);
    ofs_catalog_entry *e = &b->entries[b->count++];
    memset(e, 0, sizeof(*e));
    e->path = strdup(path);
    e->type = type;
    e->mode = type == OFS_ENTRY_DIR ? 0755 : 0644;
    e->uid = getuid();
    e->gid = getgid();
    e->mtime_sec = 1700000000;
    e->backup_id = strdup(b->rec->id);
    return e;
}

/* Writes content as a source file and gives e its inode, size and times (the tar writer
 * refuses another inode, and warns of a file that changed). */
static char *b_source(built *b, ofs_catalog_entry *e, const char *content)
{
    static char path[300];
    struct stat st;
    snprintf(path, sizeof(path), "%s/f%u", b->f->src, b->f->files++);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    assert_int_equal(stat(path, &st), 0);
    e->size = (uint64_t)st.st_size;
    e->ino = (uint64_t)st.st_ino;
    e->dev = (uint64_t)st.st_dev;
    e->mtime_sec = st.st_mtim.tv_sec;
    e->mtime_nsec = (int32_t)st.st_mtim.tv_nsec;
    e->ctime_sec = st.st_ctim.tv_sec;
    e->ctime_nsec = (int32_t)st.st_ctim.tv_nsec;
    return path;
}

static void b_write(built *b, ofs_catalog_entry *e, const char *source)
{
    if (!b->tar) {
        assert_int_equal(ofs_memory_writer_new(&b->mem), 0);
        assert_int_equal(ofs_tar_writer_new(&b->tar, b->mem, NULL, NULL), 0);
    }
    e->volume = b->rec->volumes + 1;
    assert_int_equal(ofs_tar_writer_add(b->tar, source, e), 0);
}

/* An entry of this backup, in its open volume: data is a file's content or a link's target. */
static ofs_catalog_entry *b_add(built *b, const char *path, ofs_entry_type type,
                                const char *data)
{
    ofs_catalog_entry *e = b_entry(b, path, type);
    const char *source = b->f->src;
    if (type == OFS_ENTRY_FILE)
        source = b_source(b, e, data);
    else if (data)
        e->link_target = strdup(data);
    b_write(b, e, source);
    return e;
}

static const ofs_catalog_entry *b_find(const built *b, const char *path)
{
    for (size_t i = 0; i < b->count; i++)
        if (strcmp(b->entries[i].path, path) == 0)
            return &b->entries[i];
    fail_msg("no entry '%s'", path);
    return NULL;
}

/* A differential's entry kept from its base: the base's catalog line as it is. */
static ofs_catalog_entry *b_keep(built *b, const built *base, const char *path)
{
    assert_true(b->count < MAX_ENTRIES);
    ofs_catalog_entry *e = &b->entries[b->count++];
    assert_int_equal(ofs_catalog_entry_copy(e, b_find(base, path)), 0);
    return e;
}

/* A differential's file that grew: the base's copy, then `more`, stored as a tail. */
static ofs_catalog_entry *b_tail(built *b, const built *base, const char *path,
                                 const char *before, const char *more)
{
    const ofs_catalog_entry *old = b_find(base, path);
    char whole[4096];
    snprintf(whole, sizeof(whole), "%s%s", before, more);
    ofs_catalog_entry *e = b_entry(b, path, OFS_ENTRY_FILE);
    const char *source = b_source(b, e, whole);
    e->base_size = old->size;
    e->base_backup = strdup(old->backup_id);
    e->base_volume = old->volume;
    e->base_offset = old->offset;
    memcpy(e->base_sha256, old->sha256, OFS_SHA256_BYTES);
    b_write(b, e, source);
    assert_true(e->base_size > 0); /* the writer stored a tail */
    return e;
}

/* Seals the volume (patched), writes the catalog and the record (counts from the catalog). */
static void b_commit(built *b, patch_fn patch)
{
    ofs_writer *mem = NULL;
    ofs_catalog_writer *cw = NULL;
    char key[1100], *json = NULL;
    size_t size = 0, json_size = 0;
    b_close_volume(b, patch);
    assert_int_equal(ofs_memory_writer_new(&mem), 0);
    assert_int_equal(ofs_catalog_writer_new(&cw, mem), 0);
    for (size_t i = 0; i < b->count; i++) {
        assert_int_equal(ofs_catalog_writer_add(cw, &b->entries[i]), 0);
        b->rec->files++;
        if (b->entries[i].type == OFS_ENTRY_FILE)
            b->rec->bytes += b->entries[i].size;
    }
    assert_int_equal(ofs_catalog_writer_finish(cw), 0);
    const void *lines = ofs_memory_writer_data(mem, &size);
    put_object(b, OFS_CATALOG_NAME, lines, size);
    ofs_catalog_writer_free(cw);
    b->rec->files += b->f->c->extra_files;
    b->rec->bytes += b->f->c->extra_bytes;
    assert_int_equal(ofs_record_serialize(b->rec, b->f->ring, &json, &json_size), 0);
    assert_int_equal(ofs_repo_key(key, sizeof(key), "daily", b->rec->id, OFS_RECORD_NAME), 0);
    assert_int_equal(ofs_store_put_buffer(b->f->store, key, 0, json, json_size), 0);
    free(json);
}

static void b_free(built *b)
{
    ofs_tar_writer_free(b->tar);
    for (size_t i = 0; i < b->count; i++)
        ofs_catalog_entry_clear(&b->entries[i]);
    ofs_record_free(b->rec);
}

static void set_string(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
}

/* ---- the cases ---- */

#define FULL "t_20261121_171500"
#define DIFF "t_20261122_171500"
#define OTHER "t_20261123_171500"
#define DIFF2 "t_20261124_171500"

/* The tree most cases start from: srv/, srv/a, srv/g (a file that grows), srv/l -> a. */
static void base_tree(built *b)
{
    b_add(b, "srv", OFS_ENTRY_DIR, NULL);
    b_add(b, "srv/a", OFS_ENTRY_FILE, "alpha\n");
    b_add(b, "srv/g", OFS_ENTRY_FILE, "growing log, first part\n");
    b_add(b, "srv/l", OFS_ENTRY_SYMLINK, "a");
}

/* A full backup of the base tree, mutated before its catalog (and its tar patched). */
static void build_full_with(fixture *f, void (*mutate)(built *b), patch_fn patch)
{
    built b;
    b_begin(&b, f, FULL, NULL);
    base_tree(&b);
    if (mutate)
        mutate(&b);
    b_commit(&b, patch);
    b_free(&b);
}

static void build_full(fixture *f) { build_full_with(f, NULL, NULL); }

/* A full, and a differential of it keeping srv/ and srv/a, growing srv/g, with a new file. */
typedef enum diff_flaw { DIFF_OK, DIFF_TAIL_PREFIX, DIFF_KEPT_HASH, DIFF_THIRD } diff_flaw;

static void build_diff_with(fixture *f, diff_flaw flaw)
{
    built full, other, diff;
    b_begin(&full, f, FULL, NULL);
    base_tree(&full);
    b_commit(&full, NULL);
    b_begin(&other, f, OTHER, NULL);
    base_tree(&other);
    b_commit(&other, NULL);
    b_begin(&diff, f, DIFF, FULL);
    b_keep(&diff, &full, "srv");
    ofs_catalog_entry *a = b_keep(&diff, &full, "srv/a");
    b_add(&diff, "srv/b", OFS_ENTRY_FILE, "bravo\n");
    ofs_catalog_entry *g = b_tail(&diff, &full, "srv/g", "growing log, first part\n",
                                  "second part\n");
    b_keep(&diff, &full, "srv/l");
    if (flaw == DIFF_TAIL_PREFIX)
        g->base_sha256[0] ^= 1;
    else if (flaw == DIFF_KEPT_HASH)
        a->sha256[0] ^= 1;
    else if (flaw == DIFF_THIRD)
        set_string(&a->backup_id, OTHER);
    b_commit(&diff, NULL);
    b_free(&full);
    b_free(&other);
    b_free(&diff);
}

static void build_diff(fixture *f) { build_diff_with(f, DIFF_OK); }
static void build_tail_prefix(fixture *f) { build_diff_with(f, DIFF_TAIL_PREFIX); }
static void build_kept_hash(fixture *f) { build_diff_with(f, DIFF_KEPT_HASH); }
static void build_third_backup(fixture *f) { build_diff_with(f, DIFF_THIRD); }

/* A differential whose base is itself a differential. */
static void build_base_is_diff(fixture *f)
{
    built full, diff, diff2;
    b_begin(&full, f, FULL, NULL);
    base_tree(&full);
    b_commit(&full, NULL);
    b_begin(&diff, f, DIFF, FULL);
    base_tree(&diff);
    b_commit(&diff, NULL);
    b_begin(&diff2, f, DIFF2, DIFF);
    b_keep(&diff2, &diff, "srv");
    b_keep(&diff2, &diff, "srv/a");
    b_keep(&diff2, &diff, "srv/g");
    b_keep(&diff2, &diff, "srv/l");
    b_commit(&diff2, NULL);
    b_free(&full);
    b_free(&diff);
    b_free(&diff2);
}

typedef struct entry_spec {
    const char *path;
    ofs_entry_type type;
    const char *data;
} entry_spec;

/* A full backup of these entries, with nothing else wrong. */
static void build_entries(fixture *f, const entry_spec *list, size_t count)
{
    built b;
    b_begin(&b, f, FULL, NULL);
    for (size_t i = 0; i < count; i++)
        b_add(&b, list[i].path, list[i].type, list[i].data);
    b_commit(&b, NULL);
    b_free(&b);
}

static void build_below_symlink(fixture *f)
{
    static const entry_spec list[] = { { "srv", OFS_ENTRY_DIR, NULL },
                                       { "srv/l", OFS_ENTRY_SYMLINK, "/tmp" },
                                       { "srv/l/x", OFS_ENTRY_FILE, "through a symlink\n" } };
    build_entries(f, list, 3);
}

static void build_below_file(fixture *f)
{
    static const entry_spec list[] = { { "srv", OFS_ENTRY_DIR, NULL },
                                       { "srv/a", OFS_ENTRY_FILE, "alpha\n" },
                                       { "srv/a/b", OFS_ENTRY_FILE, "below a file\n" } };
    build_entries(f, list, 3);
}

static void build_no_parent(fixture *f)
{
    static const entry_spec list[] = { { "srv", OFS_ENTRY_DIR, NULL },
                                       { "srv/x/y", OFS_ENTRY_FILE, "no parent\n" } };
    build_entries(f, list, 2);
}

static void build_unsafe_path(fixture *f)
{
    static const entry_spec list[] = { { "srv", OFS_ENTRY_DIR, NULL },
                                       { "srv/..", OFS_ENTRY_FILE, "dot-dot\n" } };
    build_entries(f, list, 2);
}

/* srv/h, a hard link to `target` (its tar link name `tar_target`, if different). */
static void build_hardlink(fixture *f, const char *target, const char *tar_target)
{
    built b;
    b_begin(&b, f, FULL, NULL);
    b_add(&b, "srv", OFS_ENTRY_DIR, NULL);
    b_add(&b, "srv/a", OFS_ENTRY_FILE, "alpha\n");
    b_add(&b, "srv/b", OFS_ENTRY_FILE, "bravo\n");
    ofs_catalog_entry *h = b_add(&b, "srv/h", OFS_ENTRY_HARDLINK,
                                 tar_target ? tar_target : target);
    b_add(&b, "srv/s", OFS_ENTRY_SYMLINK, ".");
    b_add(&b, "srv/z", OFS_ENTRY_FILE, "zulu\n");
    set_string(&h->link_target, target);
    b_commit(&b, NULL);
    b_free(&b);
}

static void build_hardlink_ok(fixture *f) { build_hardlink(f, "srv/a", NULL); }
static void build_hardlink_absolute(fixture *f) { build_hardlink(f, "/etc/passwd", NULL); }
static void build_hardlink_escaping(fixture *f) { build_hardlink(f, "../srv/a", NULL); }
static void build_hardlink_symlink(fixture *f) { build_hardlink(f, "srv/s/a", NULL); }
static void build_hardlink_later(fixture *f) { build_hardlink(f, "srv/z", NULL); }
static void build_hardlink_tar_name(fixture *f) { build_hardlink(f, "srv/a", "srv/b"); }

static void build_symlink_tar_target(fixture *f)
{
    built b;
    b_begin(&b, f, FULL, NULL);
    b_add(&b, "srv", OFS_ENTRY_DIR, NULL);
    ofs_catalog_entry *l = b_add(&b, "srv/l", OFS_ENTRY_SYMLINK, "/etc/passwd");
    set_string(&l->link_target, "a");
    b_commit(&b, NULL);
    b_free(&b);
}

/* The pax record "21 hdrcharset=BINARY\n" made to claim 99 bytes: past the header's end. */
static void patch_pax_length(char *tar, size_t size)
{
    static const char record[] = "21 hdrcharset=BINARY\n";
    for (size_t i = 0; i + sizeof(record) - 1 <= size; i++) {
        if (memcmp(tar + i, record, sizeof(record) - 1) == 0) {
            memcpy(tar + i, "99", 2);
            return;
        }
    }
    fail_msg("no hdrcharset record in the tar");
}




static void move_to_volume_2(built *b) { b->entries[1].volume = 2; }
static void move_to_no_volume(built *b) { b->entries[1].volume = 0; }
static void shift_offset(built *b) { b->entries[2].offset += 512; }
static void build_pax_length(fixture *f) { build_full_with(f, NULL, patch_pax_length); }
static void build_volume_missing(fixture *f) { build_full_with(f, move_to_volume_2, NULL); }
static void build_no_volume(fixture *f) { build_full_with(f, move_to_no_volume, NULL); }
static void build_offset(fixture *f) { build_full_with(f, shift_offset, NULL); }

static const consistency_case cases[] = {
    { "consistent full", build_full, FULL, 0, NULL, 0, 0 },
    { "consistent differential with a tail", build_diff, DIFF, 0, NULL, 0, 0 },
    { "consistent hard link", build_hardlink_ok, FULL, 0, NULL, 0, 0 },
    { "entry below a symlink", build_below_symlink, FULL, OFS_ECORRUPT,
      "catalog: 'srv/l/x' is below 'srv/l', which is a symlink, not a directory", 0, 0 },
    { "entry below a file", build_below_file, FULL, OFS_ECORRUPT,
      "catalog: 'srv/a/b' is below 'srv/a', which is a file, not a directory", 0, 0 },
    { "parent not in the catalog", build_no_parent, FULL, OFS_ECORRUPT,
      "catalog: 'srv/x/y': its parent 'srv/x' is not in the catalog", 0, 0 },
    { "unsafe path", build_unsafe_path, FULL, OFS_ECORRUPT, "catalog: unsafe path 'srv/..'",
      0, 0 },
    { "hard link to an absolute path", build_hardlink_absolute, FULL, OFS_ECORRUPT,
      "catalog: hard link 'srv/h' points at '/etc/passwd', which is not an earlier file", 0, 0 },
    { "hard link escaping", build_hardlink_escaping, FULL, OFS_ECORRUPT,
      "catalog: hard link 'srv/h' points at '../srv/a', which is not an earlier file", 0, 0 },
    { "hard link through a symlink", build_hardlink_symlink, FULL, OFS_ECORRUPT,
      "catalog: hard link 'srv/h' points at 'srv/s/a', which is not an earlier file", 0, 0 },
    { "hard link to a later file", build_hardlink_later, FULL, OFS_ECORRUPT,
      "catalog: hard link 'srv/h' points at 'srv/z', which is not an earlier file", 0, 0 },
    { "hard link name differs in the tar", build_hardlink_tar_name, FULL, OFS_ECORRUPT,
      "'srv/h' links to 'srv/b' in the archive, to 'srv/a' in the catalog", 0, 0 },
    { "symlink target differs in the tar", build_symlink_tar_target, FULL, OFS_ECORRUPT,
      "'srv/l' links to '/etc/passwd' in the archive, to 'a' in the catalog", 0, 0 },
    { "malformed pax record", build_pax_length, FULL, OFS_ECORRUPT,
      "vol-0001.ofs: cannot read an entry header", 0, 0 },
    { "tail prefix against base_sha256", build_tail_prefix, DIFF, OFS_ECORRUPT,
      "srv/g: SHA-256 mismatch in the base's part", 0, 0 },
    { "kept entry's base copy", build_kept_hash, DIFF, OFS_ECORRUPT, "srv/a: SHA-256 mismatch",
      0, 0 },
    { "differential naming a third backup", build_third_backup, DIFF, OFS_ECORRUPT,
      "catalog: 'srv/a' points at backup '" OTHER "', which is neither", 0, 0 },
    { "base is a differential", build_base_is_diff, DIFF2, OFS_ECORRUPT,
      "which is itself a differential", 0, 0 },
    { "volume the record lacks", build_volume_missing, FULL, OFS_ECORRUPT,
      "catalog: 'srv/a' is in volume 2 of backup '" FULL "', which has 1", 0, 0 },
    { "entry in no volume", build_no_volume, FULL, OFS_ECORRUPT,
      "catalog: 'srv/a' is in no volume", 0, 0 },
    { "record files count", build_full, FULL, OFS_ECORRUPT,
      "catalog: the record counts 5 entries of 30 bytes, the catalog 4 of 30", 1, 0 },
    { "record bytes count", build_full, FULL, OFS_ECORRUPT,
      "catalog: the record counts 4 entries of 31 bytes, the catalog 4 of 30", 0, 1 },
    { "catalog offset", build_offset, FULL, OFS_ECORRUPT, "'srv/g' is at offset", 0, 0 },
};

/* ---- the runner ---- */

typedef struct verdicts {
    int count, first_code;
    char first[1024];
} verdicts;

static void on_problem(void *ctx, const ofs_verify_problem *p)
{
    verdicts *v = ctx;
    if (v->count++ == 0) {
        v->first_code = p->code;
        snprintf(v->first, sizeof(v->first), "%s", p->message);
    }
}

/* A fresh key and file store in f->base (which exists). */
static int fixture_open(fixture *f)
{
    snprintf(f->src, sizeof(f->src), "%s/src", f->base);
    snprintf(f->staging, sizeof(f->staging), "%s/staging", f->base);
    snprintf(f->key, sizeof(f->key), "%s/offsite.key", f->base);
    if (mkdir(f->src, 0755) < 0 || ofs_keyring_generate(f->key, NULL) < 0 ||
        ofs_keyring_load(&f->ring, f->key) < 0 ||
        ofs_store_file_new(&f->store, "staging", f->staging) < 0)
        return -1;
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->c = *state;
    strcpy(f->base, "/tmp/test_consistency.XXXXXX");
    if (!mkdtemp(f->base) || fixture_open(f) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[600];
    ofs_store_free(f->store);
    ofs_keyring_free(f->ring);
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", f->base, f->base);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Both consumers of the decoder on the case's backup: the same code, the same cause. */
static void run_case(void **state)
{
    fixture *f = *state;
    const consistency_case *c = f->c;
    verdicts v = { 0 };
    ofs_record *rec = NULL;
    char target[300], *restore_message = NULL;

    c->build(f);
    int verify_rc = ofs_verify_backup(f->store, f->ring, c->id, 1, NULL, on_problem, &v, NULL);
    assert_int_equal(ofs_repo_load_record(f->store, f->ring, c->id, &rec, NULL, NULL), 0);
    snprintf(target, sizeof(target), "%s/target", f->base);
    ofs_restore_options o = { .target_dir = target };
    int restore_rc = ofs_restore_run(f->store, f->ring, rec, &o, NULL);
    restore_message = strdup(ofs_error_last());
    ofs_record_free(rec);
    if (verify_rc != c->code || restore_rc != c->code || (c->cause &&
        (!strstr(restore_message, c->cause) || !strstr(v.first, c->cause))))
        print_error("%s: verify %d (%s), restore %d (%s), expected %d (%s)\n", c->name,
                    verify_rc, v.first, restore_rc, restore_message, c->code,
                    c->cause ? c->cause : "");
    assert_int_equal(verify_rc, c->code);
    assert_int_equal(restore_rc, c->code);
    if (c->code == 0) {
        assert_int_equal(v.count, 0);
    } else {
        assert_int_equal(v.first_code, c->code);
        assert_non_null(strstr(restore_message, c->cause));
        assert_non_null(strstr(v.first, c->cause));
    }
    free(restore_message);
}

/*
 * test_consistency --write DIR: the table's backups for the integration case
 * (tests/integration/cases/format/consistency.sh), each in DIR/NN/: staging/ (the store),
 * offsite.key, and `case`: the backup id, the exit code offsite gives (0, or 5 for corrupt),
 * the case's name and the cause its messages hold, one per line.
 */
static int write_cases(const char *dir, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fixture f = { .c = &cases[i] };
        char path[600];
        snprintf(f.base, sizeof(f.base), "%s/%02zu", dir, i);
        if (mkdir(f.base, 0700) < 0 || fixture_open(&f) < 0) {
            fprintf(stderr, "test_consistency: cannot make '%s'\n", f.base);
            return 1;
        }
        cases[i].build(&f);
        snprintf(path, sizeof(path), "%s/case", f.base);
        FILE *out = fopen(path, "w");
        if (!out)
            return 1;
        fprintf(out, "%s\n%d\n%s\n%s\n", cases[i].id, cases[i].code == 0 ? 0 : 5,
                cases[i].name, cases[i].cause ? cases[i].cause : "");
        fclose(out);
        ofs_store_free(f.store);
        ofs_keyring_free(f.ring);
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = sizeof(cases) / sizeof(cases[0]);
    if (argc == 3 && strcmp(argv[1], "--write") == 0)
        return write_cases(argv[2], n);
    struct CMUnitTest *tests = calloc(n, sizeof(*tests));
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){ cases[i].name, run_case, setup, teardown,
                                        (void *)&cases[i] };
    int failed = _cmocka_run_group_tests("test_consistency", tests, n, NULL, NULL);
    free(tests);
    return failed;
}
