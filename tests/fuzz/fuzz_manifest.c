/* fuzz_manifest.c - manifest.json as a command loads it from a store (a file store in a
 * scratch directory): as is, or - when the input is a JSON object - signed with the seed key
 * first, so the checks of every entry behind the MAC are reached. First byte: even = as is,
 * odd = signed first. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "offsite/manifest.h"
#include "offsite/record.h"
#include "offsite/store.h"

/* manifest_write(data, size): the store's manifest.json, written in place (a store put
 * would fsync every input) */
static void manifest_write(const uint8_t *data, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/" OFS_MANIFEST_KEY, fuzz_dir());
    FILE *f = fopen(path, "w");
    fuzz_check(f && fwrite(data, 1, size, f) == size && fclose(f) == 0, "writing the manifest");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ofs_store *store;
    const ofs_keyring *ring = fuzz_keyring();
    ofs_manifest *m = NULL;
    char *text = NULL;
    size_t text_size = 0;
    json_t *obj = NULL;

    if (size < 1)
        return 0;
    if (!store)
        fuzz_check(ofs_store_file_new(&store, "fuzz", fuzz_dir()) == 0, "file store");
    if (data[0] & 1) {
        obj = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(obj) ||
            ofs_record_mac_sign(obj, ring, ofs_keyring_current(ring)->id) < 0 ||
            ofs_record_json_dump(obj, &text, &text_size) < 0)
            goto cleanup;
        manifest_write((const uint8_t *)text, text_size);
    } else {
        manifest_write(data + 1, size - 1);
    }
    if (ofs_manifest_load(&m, store, ring) == 0) {
        fuzz_check(m->count == 0 || ofs_manifest_latest(m, m->entries[0].set) != NULL,
                   "a loaded manifest answers for its own sets");
    }
cleanup:
    ofs_manifest_free(m);
    json_decref(obj);
    free(text);
    return 0;
}
