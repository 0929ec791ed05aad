/* fuzz_catalog.c - the catalog's JSON lines (as decrypted and decompressed): every entry is
 * read and checked; it must end or fail cleanly, and each entry's tar name is derivable. */
#include <stdlib.h>

#include "fuzz.h"
#include "offsite/catalog.h"
#include "offsite/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ofs_reader *source = NULL;
    ofs_catalog_reader *cr = NULL;
    const ofs_catalog_entry *e;

    if (ofs_memory_reader_new(&source, data, size, 0) < 0 ||
        ofs_catalog_reader_new(&cr, source) < 0)
        return 0;
    while (ofs_catalog_reader_next(cr, &e) == 1) {
        char *name = NULL;
        fuzz_check(e->path != NULL, "an entry has a path");
        if (ofs_catalog_tar_name(e, &name) == 0)
            fuzz_check(name != NULL, "a tar name");
        free(name);
    }
    ofs_catalog_reader_free(cr);
    return 0;
}
