/* test_decode.c - the decoder's catalog spool (decode.h): a differential with tails, hard
 * links and symlinks decoded with the catalog in memory and spilled to a file at once give
 * the same entries (read forwards, backwards, by jumps and by find through separate cursors),
 * the same selection and plan, and the same run; the spilled file has no name. */
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

#include "offsite/backup.h"
#include "offsite/decode.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/keyring.h"
#include "offsite/record.h"
#include "offsite/store.h"
#include "unit_fixture.h"

#define DIRS 12
#define FILES 40 /* per directory: ~500 entries, a spool of more than one 64 KiB window */

typedef struct fixture {
    unit_repo r;
    char spool[128];
    ofs_record *full, *diff;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char path[512], other[512];
    if (!f || unit_repo_init(&f->r, "test_decode") < 0)
        return -1;
    snprintf(f->spool, sizeof(f->spool), "%s/cache", f->r.base);
    for (unsigned d = 0; d < DIRS; d++) {
        snprintf(path, sizeof(path), "%s/dir-%02u", f->r.src, d);
        mkdir(path, 0755);
        for (unsigned i = 0; i < FILES; i++) {
            snprintf(path, sizeof(path), "%s/dir-%02u/file-with-a-longer-name-%03u", f->r.src,
                     d, i);
            /* the 11th is big enough to become a tail when it grows (OFS_DIFF_TAIL_MIN) */
            unit_write_random(path, i == 11 ? 70000 : 5000 + (d * FILES + i) % 3000,
                              d * FILES + i + 1, 0);
        }
    }
    snprintf(path, sizeof(path), "%s/dir-03/file-with-a-longer-name-007", f->r.src);
    snprintf(other, sizeof(other), "%s/dir-05/zz-hardlink", f->r.src);
    if (link(path, other) < 0)
        return -1;
    snprintf(other, sizeof(other), "%s/dir-05/zz-symlink", f->r.src);
    if (symlink("../dir-03/file-with-a-longer-name-007", other) < 0)
        return -1;
    f->r.set.volume_size = 256 * 1024;
    f->r.set.compression_level = 1;
    f->r.set.full_every = 7 * 86400;
    setenv("OFFSITE_NOW", "2026-11-03T17:15:00Z", 1);
    if (ofs_backup_run(&f->r.cfg, &f->r.set, f->r.store, f->r.ring, NULL, &f->full, NULL) < 0)
        return -1;
    /* files that grow become tails in the differential */
    for (unsigned d = 0; d < DIRS; d += 3) {
        snprintf(path, sizeof(path), "%s/dir-%02u/file-with-a-longer-name-011", f->r.src, d);
        unit_write_random(path, 777, d + 99, 1);
    }
    setenv("OFFSITE_NOW", "2026-11-04T17:15:00Z", 1); /* the next night: a differential */
    if (ofs_backup_run(&f->r.cfg, &f->r.set, f->r.store, f->r.ring, NULL, &f->diff, NULL) < 0)
        return -1;
    unsetenv("OFFSITE_NOW");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ofs_record_free(f->full);
    ofs_record_free(f->diff);
    if (unit_repo_free(&f->r) < 0)
        return -1;
    free(f);
    return 0;
}

static void same_entry(const ofs_catalog_entry *a, const ofs_catalog_entry *b)
{
    assert_string_equal(a->path, b->path);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->mtime_sec, b->mtime_sec);
    assert_int_equal(a->mtime_nsec, b->mtime_nsec);
    assert_int_equal(!a->link_target, !b->link_target);
    if (a->link_target)
        assert_string_equal(a->link_target, b->link_target);
    assert_int_equal(a->has_sha256, b->has_sha256);
    assert_int_equal(a->changed, b->changed);
    assert_memory_equal(a->sha256, b->sha256, sizeof(a->sha256));
    assert_string_equal(a->backup_id, b->backup_id);
    assert_int_equal(a->volume, b->volume);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->base_size, b->base_size);
    if (a->base_size > 0) {
        assert_string_equal(a->base_backup, b->base_backup);
        assert_int_equal(a->base_volume, b->base_volume);
        assert_int_equal(a->base_offset, b->base_offset);
        assert_memory_equal(a->base_sha256, b->base_sha256, sizeof(a->base_sha256));
        assert_memory_equal(a->tail_sha256, b->tail_sha256, sizeof(a->tail_sha256));
    }
}

/* In memory and spilled: the same entries however they are read. */
static void test_spilled_same(void **state)
{
    fixture *f = *state;
    ofs_decode_options in_memory = { 0 }, spilled = { .spool_dir = f->spool, .spool_memory = 1 };
    ofs_decode *a = NULL, *b = NULL;
    ofs_decode_cursor *ca = NULL, *cb = NULL, *jump = NULL;
    const ofs_catalog_entry *ea = NULL, *eb = NULL;
    size_t tails = 0, links = 0;

    assert_string_equal(f->diff->kind, "diff");
    assert_int_equal(ofs_decode_open(&a, f->r.store, f->r.ring, f->diff, &in_memory), 0);
    assert_int_equal(ofs_decode_open(&b, f->r.store, f->r.ring, f->diff, &spilled), 0);
    assert_int_equal(unit_dir_entries(f->spool), 0); /* made, and the spool in it has no name */
    size_t n = ofs_decode_count(a);
    assert_int_equal(n, ofs_decode_count(b));
    assert_true(n > DIRS * FILES);
    assert_int_equal(ofs_decode_selected_bytes(a), ofs_decode_selected_bytes(b));
    assert_int_equal(ofs_decode_selected_bytes(a), f->diff->bytes);
    assert_int_equal(ofs_decode_cursor_new(a, &ca), 0);
    assert_int_equal(ofs_decode_cursor_new(b, &cb), 0);
    assert_int_equal(ofs_decode_cursor_new(b, &jump), 0);
    for (size_t i = 0; i < n; i++) { /* forwards */
        assert_int_equal(ofs_decode_entry(ca, i, &ea), 0);
        assert_int_equal(ofs_decode_entry(cb, i, &eb), 0);
        same_entry(ea, eb);
        assert_int_equal(ofs_decode_type(b, i), eb->type);
        assert_int_equal(ofs_decode_selected(b, i), 1);
        assert_int_equal(ofs_decode_matched(b, i), 1);
        tails += eb->base_size > 0;
        links += eb->type == OFS_ENTRY_HARDLINK;
        /* another cursor's jumps leave this one's entry alone */
        size_t found = 0;
        assert_int_equal(ofs_decode_find(jump, eb->path, &found), 1);
        assert_int_equal(found, i);
        const ofs_catalog_entry *ej = NULL;
        assert_int_equal(ofs_decode_entry(jump, (i * 7919) % n, &ej), 0);
        assert_int_equal(ofs_decode_entry(ca, (i * 7919) % n, &ea), 0);
        same_entry(ej, ea);
        assert_int_equal(ofs_decode_entry(ca, i, &ea), 0);
        same_entry(ea, eb);
    }
    assert_int_equal(tails, DIRS / 3);
    assert_int_equal(links, 1);
    for (size_t i = n; i-- > 0;) { /* backwards, as directories' metadata is given */
        assert_int_equal(ofs_decode_entry(ca, i, &ea), 0);
        assert_int_equal(ofs_decode_entry(cb, i, &eb), 0);
        same_entry(ea, eb);
    }
    size_t index = 42;
    assert_int_equal(ofs_decode_find(cb, "no/such/path", &index), 0);
    assert_int_equal(index, 42);
    assert_int_equal(ofs_decode_entry(cb, n, &eb), OFS_ERROR);
    assert_null(eb);
    char message[64];
    snprintf(message, sizeof(message), "catalog entry %zu of %zu", n, n);
    assert_string_equal(ofs_error_last(), message);

    /* the run: every volume, base and own, read the same way */
    ofs_decode_stats sa = { 0 }, sb = { 0 };
    ofs_decode_cursor_free(ca);
    ofs_decode_cursor_free(cb);
    ofs_decode_cursor_free(jump);
    assert_int_equal(ofs_decode_run(a, &ofs_null_sink, NULL, NULL, &sa), 0);
    assert_int_equal(ofs_decode_run(b, &ofs_null_sink, NULL, NULL, &sb), 0);
    assert_int_equal(sa.files, sb.files);
    assert_int_equal(sa.bytes, sb.bytes);
    assert_int_equal(sa.dirs, sb.dirs);
    assert_int_equal(sa.hardlinks, 1);
    assert_int_equal(sb.hardlinks, 1);
    assert_int_equal(sb.symlinks, 1);
    assert_int_equal(sb.bytes, f->diff->bytes);
    ofs_decode_free(a);
    ofs_decode_free(b);
    ofs_decode_cursor_free(NULL);
    ofs_decode_free(NULL);
}

/* A pattern: the hard link's first path and the directories above both are selected. */
static void test_spilled_selection(void **state)
{
    fixture *f = *state;
    char *patterns[] = { "zz-hardlink" };
    ofs_decode_options o = { .patterns = patterns, .pattern_count = 1, .spool_dir = f->spool,
                             .spool_memory = 1 };
    ofs_decode *d = NULL;
    ofs_decode_cursor *c = NULL;
    const ofs_catalog_entry *e = NULL;
    size_t selected = 0, matched = 0;
    assert_int_equal(ofs_decode_open(&d, f->r.store, f->r.ring, f->diff, &o), 0);
    assert_int_equal(ofs_decode_cursor_new(d, &c), 0);
    for (size_t i = 0; i < ofs_decode_count(d); i++) {
        if (!ofs_decode_selected(d, i))
            continue;
        assert_int_equal(ofs_decode_entry(c, i, &e), 0);
        selected++;
        matched += ofs_decode_matched(d, i);
        if (ofs_decode_matched(d, i))
            assert_non_null(strstr(e->path, "dir-05/zz-hardlink"));
        else
            assert_true(e->type == OFS_ENTRY_DIR ||
                        strstr(e->path, "dir-03/file-with-a-longer-name-007"));
    }
    assert_int_equal(matched, 1);
    /* the link, its first path, dir-03, dir-05 and the directories above src */
    assert_true(selected >= 4);
    ofs_decode_stats s = { 0 };
    assert_int_equal(ofs_decode_run(d, &ofs_null_sink, NULL, NULL, &s), 0);
    assert_int_equal(s.files, 1);
    assert_int_equal(s.hardlinks, 1);
    ofs_decode_cursor_free(c);
    ofs_decode_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spilled_same),
        cmocka_unit_test(test_spilled_selection),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
