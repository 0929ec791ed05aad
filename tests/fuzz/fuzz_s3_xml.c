/* fuzz_s3_xml.c - S3 response bodies (libxml2 behind offsite's readers): an error, a listing
 * page, an upload id and a lifecycle configuration are each read from the same input; every
 * parsed lifecycle must render back to XML. */
#include <stdlib.h>

#include "fuzz.h"
#include "offsite/s3_xml.h"

static int count_object(void *ctx, const char *key, uint64_t size, int64_t mtime,
                        const char *etag)
{
    (void)size;
    (void)mtime;
    (void)etag;
    fuzz_check(key != NULL, "a listed object has a key");
    (*(size_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    char *code = NULL, *message = NULL, *token = NULL, *upload = NULL, *rendered = NULL;
    ofs_s3_lifecycle_rule *rules = NULL;
    size_t objects = 0, count = 0;
    int truncated = 0;

    if (ofs_s3_xml_error(xml, size, &code, &message) == 0) {
        free(code);
        free(message);
    }
    if (ofs_s3_xml_list(xml, size, count_object, &objects, &truncated, &token) == 0)
        free(token);
    if (ofs_s3_xml_upload_id(xml, size, &upload) == 0)
        free(upload);
    if (ofs_s3_xml_lifecycle_parse(xml, size, &rules, &count) == 0) {
        fuzz_check(ofs_s3_xml_lifecycle_render(rules, count, &rendered) == 0 ||
                       count == 0,
                   "a parsed lifecycle renders");
        free(rendered);
        ofs_s3_xml_lifecycle_free(rules, count);
    }
    return 0;
}
