/* fuzz_keyfile.c - the key file (format.md, "Key file") and the paper-key import: a key file
 * either loads with every key's id matching or fails cleanly; a paper copy either imports
 * (then the key file it wrote loads) or fails naming its line. First byte: even = key file,
 * odd = paper copy. */
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "offsite/error.h"
#include "offsite/keyring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ofs_keyring *ring = NULL;
    char path[256];

    if (size < 1)
        return 0;
    if (!(data[0] & 1)) {
        if (ofs_keyring_load(&ring, fuzz_file(data + 1, size - 1, 0600)) == 0)
            fuzz_check(ofs_keyring_count(ring) > 0, "a loaded key file holds a key");
        ofs_keyring_free(ring);
        return 0;
    }
    FILE *in = fmemopen((void *)(data + 1), size - 1, "r");
    int imported = 0;
    if (!in)
        return 0;
    snprintf(path, sizeof(path), "%s/imported.key", fuzz_dir());
    unlink(path);
    if (ofs_keyring_import(in, "paper", path, &imported) == 0 && imported > 0) {
        fuzz_check(ofs_keyring_load(&ring, path) == 0, "an imported key file loads");
        fuzz_check(ofs_keyring_count(ring) == (size_t)imported, "every imported key is there");
        ofs_keyring_free(ring);
    }
    fclose(in);
    return 0;
}
