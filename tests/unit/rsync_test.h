/* rsync_test.h - helpers shared by test_rsync.c (pure parts) and test_rsync_servers.c (the
 * driver against real servers). static inline: each test uses only some of them. */
#ifndef OFFSITE_TEST_RSYNC_H
#define OFFSITE_TEST_RSYNC_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/config.h"
#include "offsite/fsutil.h"

static inline int have_program(const char *name)
{
    const char *path = getenv("PATH");
    char buf[4096];

    if (strchr(name, '/'))
        return access(name, X_OK) == 0;
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, name);
        if (access(buf, X_OK) == 0)
            return 1;
        p += len;
        if (*p == ':')
            p++;
    }
    return 0;
}

static inline void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static inline char *read_text(const char *path)
{
    char *data = NULL;
    size_t size = 0;
    if (ofs_read_file(path, &data, &size, 1 << 20) < 0)
        return NULL;
    return data;
}

static inline void fill(uint8_t *data, size_t size, unsigned seed)
{
    for (size_t i = 0; i < size; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (uint8_t)(seed >> 16);
    }
}

static inline int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static inline ofs_config_target target_of(const char *url, const char *ssh_command,
                                   const char *password_file, const char *bwlimit)
{
    ofs_config_target t;
    memset(&t, 0, sizeof(t));
    t.name = (char *)"nas";
    t.line = 12;
    t.type = (char *)"rsync";
    t.url = (char *)url;
    t.ssh_command = (char *)ssh_command;
    t.password_file = (char *)password_file;
    t.bwlimit = (char *)bwlimit;
    return t;
}

#endif
