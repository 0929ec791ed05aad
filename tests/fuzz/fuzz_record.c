/* fuzz_record.c - backup.json: parsed as is (the MAC check stops most inputs), and, when the
 * input is a JSON object, again after signing it with the seed key so the field checks behind
 * the MAC are reached. A record that parses must serialize and parse back. First byte: even =
 * as is, odd = signed first. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "offsite/error.h"
#include "offsite/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ofs_keyring *ring = fuzz_keyring();
    ofs_record *rec = NULL, *again = NULL;
    char *text = NULL, *json = NULL;
    size_t text_size = 0, json_size = 0;
    json_t *obj = NULL;

    if (size < 1)
        return 0;
    if (data[0] & 1) {
        obj = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(obj) ||
            ofs_record_mac_sign(obj, ring, ofs_keyring_current(ring)->id) < 0 ||
            ofs_record_json_dump(obj, &text, &text_size) < 0)
            goto cleanup;
    } else if (!(text = malloc(size))) {
        goto cleanup;
    } else {
        memcpy(text, data + 1, size - 1);
        text_size = size - 1;
    }
    if (ofs_record_parse(&rec, text, text_size, ring, "backup.json") == 0) {
        fuzz_check(ofs_record_serialize(rec, ring, &json, &json_size) == 0,
                   "a parsed record serializes");
        fuzz_check(ofs_record_parse(&again, json, json_size, ring, "again") == 0,
                   "a serialized record parses back");
        fuzz_check(again->object_count == rec->object_count && again->files == rec->files,
                   "the round trip keeps the record");
    }
cleanup:
    ofs_record_free(rec);
    ofs_record_free(again);
    json_decref(obj);
    free(text);
    free(json);
    return 0;
}
