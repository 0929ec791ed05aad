/* fuzz_tar.c - the tar reader (libarchive behind offsite's entry checks) over an arbitrary
 * uncompressed archive: every entry and its data are read; it must end or fail cleanly. */
#include "fuzz.h"
#include "offsite/stream.h"
#include "offsite/tarread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ofs_reader *source = NULL;
    ofs_tar_reader *t = NULL;
    ofs_tar_entry e;
    int rc;

    if (ofs_memory_reader_new(&source, data, size, 0) < 0 ||
        ofs_tar_reader_new(&t, source, "vol-0001.ofs") < 0)
        return 0;
    while ((rc = ofs_tar_reader_next(t, &e)) == 1) {
        const void *chunk;
        size_t n;
        uint64_t offset;
        while (ofs_tar_reader_data(t, &chunk, &n, &offset) == 1)
            ;
    }
    ofs_tar_reader_free(t);
    return 0;
}
