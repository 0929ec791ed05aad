/* replay.c - a fuzz target as a plain program: runs each file named (or each file in each
 * directory named, in name order) through LLVMFuzzerTestOneInput once. ctest replays the seed
 * corpora and tests/fuzz/regress/ (every input that once crashed) this way in every build,
 * so a fixed crash stays fixed without clang. Exit 0, or 77 (skip) if no input was found. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "offsite/fsutil.h"

static int replay_file(const char *path)
{
    char *data = NULL;
    size_t size = 0;
    if (ofs_read_file(path, &data, &size, 64u << 20) < 0) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        exit(1);
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, size);
    free(data);
    return 1;
}

static int replay_path(const char *path)
{
    struct stat st;
    struct dirent **names = NULL;
    int runs = 0, n;

    if (stat(path, &st) < 0)
        return 0; /* a target may have no regressions yet */
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    if ((n = scandir(path, &names, NULL, alphasort)) < 0)
        return 0;
    for (int i = 0; i < n; i++) {
        char *child = NULL;
        if (names[i]->d_name[0] != '.' && (child = ofs_path_join(path, names[i]->d_name)))
            runs += replay_path(child);
        free(child);
        free(names[i]);
    }
    free(names);
    return runs;
}

int main(int argc, char **argv)
{
    int runs = 0;
    for (int i = 1; i < argc; i++)
        runs += replay_path(argv[i]);
    printf("replayed %d input%s\n", runs, runs == 1 ? "" : "s");
    return runs > 0 ? 0 : 77;
}
