/* fuzz_seal.c - the sealed-object format (header, segments, final flag): a raw object is
 * opened with the seed key and read to its end - it must fail cleanly or authenticate; and
 * sealing arbitrary plaintext with any segment size must open back to exactly it. First byte:
 * even = open, odd = round trip (the second byte picks the segment size). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "offsite/error.h"
#include "offsite/seal.h"
#include "offsite/stream.h"

static int open_all(const uint8_t *data, size_t size, char **plain, size_t *plain_size)
{
    ofs_reader *source = NULL, *r = NULL;
    int rc;
    if ((rc = ofs_memory_reader_new(&source, data, size, 0)) < 0)
        return rc;
    if ((rc = ofs_seal_reader_new(&r, source, fuzz_keyring(), NULL)) < 0)
        return rc; /* source is owned, freed on failure too */
    rc = ofs_reader_read_all(r, plain, plain_size, 64u << 20);
    if (rc == 0)
        fuzz_check(ofs_seal_reader_name(r) != NULL, "an opened object has a name");
    ofs_reader_free(r);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *plain = NULL;
    size_t plain_size = 0;

    if (size < 2)
        return 0;
    if (!(data[0] & 1)) {
        int rc = open_all(data + 1, size - 1, &plain, &plain_size);
        fuzz_check(rc == 0 || rc == OFS_EAUTH || rc == OFS_ECORRUPT || rc == OFS_ENOTFOUND,
                   "a bad object is not authentic, corrupt or under an unknown key");
        free(plain);
        return 0;
    }
    size_t segment = (size_t)1024 << (data[1] % 5);
    ofs_writer *sink = NULL, *w = NULL;
    const void *sealed;
    size_t sealed_size = 0;
    fuzz_check(ofs_memory_writer_new(&sink) == 0, "memory writer");
    fuzz_check(ofs_seal_writer_new(&w, sink, ofs_keyring_current(fuzz_keyring()),
                                   "vol-0001.ofs", segment) == 0, "seal writer");
    fuzz_check(ofs_writer_write(w, data + 2, size - 2) == 0 && ofs_writer_finish(w) == 0,
               "sealing");
    sealed = ofs_memory_writer_data(sink, &sealed_size);
    fuzz_check(sealed_size == ofs_seal_sealed_size(size - 2, strlen("vol-0001.ofs"), segment),
               "sealed size as predicted");
    fuzz_check(open_all(sealed, sealed_size, &plain, &plain_size) == 0, "round trip opens");
    fuzz_check(plain_size == size - 2 && memcmp(plain, data + 2, plain_size) == 0,
               "round trip gives the plaintext back");
    free(plain);
    ofs_writer_free(w);
    return 0;
}
