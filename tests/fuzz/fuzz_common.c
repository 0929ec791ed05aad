/* fuzz_common.c - the seed key, scratch files and property checks of the fuzz targets; see
 * fuzz.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"

#ifndef OFS_FUZZ_DIR
#define OFS_FUZZ_DIR "tests/fuzz"
#endif

static char scratch[64];
static char file_path[96];
static ofs_keyring *ring;

static void fuzz_cleanup(void)
{
    ofs_keyring_free(ring);
    if (scratch[0])
        ofs_rm_rf(scratch);
}

const char *fuzz_dir(void)
{
    if (!scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof(scratch), "%.40s/ofs-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch))
            fuzz_fail("cannot make a scratch directory", __FILE__, __LINE__);
        atexit(fuzz_cleanup);
        ofs_log_set_level(OFS_LOG_ERROR); /* parsers' warnings would drown the fuzzer's output */
    }
    return scratch;
}

const char *fuzz_file(const uint8_t *data, size_t size, unsigned mode)
{
    snprintf(file_path, sizeof(file_path), "%s/input", fuzz_dir());
    int fd = open(file_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || fchmod(fd, mode) < 0)
        fuzz_fail("cannot write the input file", __FILE__, __LINE__);
    close(fd);
    return file_path;
}

const ofs_keyring *fuzz_keyring(void)
{
    char *text = NULL, path[128];
    size_t size = 0;

    if (ring)
        return ring;
    const char *dir = getenv("OFS_FUZZ_DIR");
    char source[4096];
    snprintf(source, sizeof(source), "%s/seed.key", dir && *dir ? dir : OFS_FUZZ_DIR);
    snprintf(path, sizeof(path), "%s/seed.key", fuzz_dir());
    /* git keeps no 0600 mode, and the key file loader insists on it: copy */
    if (ofs_read_file(source, &text, &size, 1 << 20) < 0 ||
        ofs_write_file_atomic(path, text, size, 0600) < 0 || ofs_keyring_load(&ring, path) < 0) {
        fprintf(stderr, "fuzz: seed key '%s': %s\n", source, ofs_error_last());
        abort();
    }
    free(text);
    return ring;
}

void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz: %s:%d: %s (last error: %s)\n", file, line, what, ofs_error_last());
    abort();
}
