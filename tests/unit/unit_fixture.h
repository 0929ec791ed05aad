/*
 * unit_fixture.h - what many unit tests set up the same way: a scratch directory as a cmocka
 * setup/teardown pair (*state is its path), files of reproducible incompressible bytes, a
 * count of a directory's names, and a repository to back up into (a key, a file store, a set
 * of one source directory). Include after <cmocka.h>.
 */
#ifndef OFFSITE_UNIT_FIXTURE_H
#define OFFSITE_UNIT_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdio.h>
#include <sys/stat.h>

#include "offsite/config.h"
#include "offsite/fsutil.h"
#include "offsite/keyring.h"
#include "offsite/store.h"

/* unit_tmpdir_setup: *state = a new directory /tmp/ofs-unit.XXXXXX (malloc'd path). */
static inline int unit_tmpdir_setup(void **state)
{
    char tmpl[] = "/tmp/ofs-unit.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir || !(*state = strdup(dir)))
        return -1;
    return 0;
}

/* unit_tmpdir_teardown: removes *state's directory with what it holds. */
static inline int unit_tmpdir_teardown(void **state)
{
    ofs_rm_rf(*state);
    free(*state);
    return 0;
}

/* unit_write_random(path, size, seed, append): size bytes of a xorshift stream from seed
 * (incompressible: volumes fill up), written anew (mode 0644) or appended. */
static inline void unit_write_random(const char *path, size_t size, unsigned seed, int append)
{
    unsigned char *buf = malloc(size ? size : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, size), (ssize_t)size);
    close(fd);
    free(buf);
}

/* unit_dir_entries(path): the names in a directory, without . and ..; 0 if it is missing. */
static inline size_t unit_dir_entries(const char *path)
{
    DIR *dir = opendir(path);
    size_t n = 0;
    struct dirent *de;
    if (!dir)
        return 0;
    while ((de = readdir(dir)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(dir);
    return n;
}

/* A scratch repository: base/src (the set's one path), base/staging (a file store), a key. */
typedef struct unit_repo {
    char base[64], src[128], staging[128], key[128];
    char *paths[1];
    ofs_keyring *ring;
    ofs_store *store;
    ofs_config cfg;
    ofs_config_set set;
} unit_repo;

/* unit_repo_init(r, name): r in a new /tmp/NAME.XXXXXX with src/ made and empty; set "t" of
 * src with 64 KiB volumes at zstd level 3; 2 workers, host "testhost", UTC. 0 or -1. */
static inline int unit_repo_init(unit_repo *r, const char *name)
{
    snprintf(r->base, sizeof(r->base), "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(r->base))
        return -1;
    snprintf(r->src, sizeof(r->src), "%s/src", r->base);
    snprintf(r->staging, sizeof(r->staging), "%s/staging", r->base);
    snprintf(r->key, sizeof(r->key), "%s/offsite.key", r->base);
    if (mkdir(r->src, 0755) < 0 || ofs_keyring_generate(r->key, NULL) < 0 ||
        ofs_keyring_load(&r->ring, r->key) < 0 ||
        ofs_store_file_new(&r->store, "staging", r->staging) < 0)
        return -1;
    r->paths[0] = r->src;
    r->set.name = "t";
    r->set.paths = r->paths;
    r->set.path_count = 1;
    r->set.volume_size = 64 * 1024;
    r->set.compression_level = 3;
    r->cfg.parallel = 2;
    r->cfg.host = "testhost";
    r->cfg.time_zone = "UTC";
    return 0;
}

/* unit_repo_free(r): the store, the key and everything below base (made writable first). */
static inline int unit_repo_free(unit_repo *r)
{
    char cmd[256];
    ofs_store_free(r->store);
    ofs_keyring_free(r->ring);
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", r->base, r->base);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
