/*
 * s3_xml.h - the S3 XML documents the s3 driver reads and writes, parsed with libxml2.
 *
 * Parsing is namespace-agnostic (elements are matched by local name): AWS, Ceph RGW and MinIO
 * answer with different namespaces or none. Network entities and DTDs are never loaded.
 * Everything returns 0 or a negative OFS_E* code; a document that is not what was expected is
 * OFS_ECORRUPT ("malformed S3 response: ..."). Exposed for the driver and its unit tests.
 */
#ifndef OFFSITE_S3_XML_H
#define OFFSITE_S3_XML_H

#include <stddef.h>
#include <stdint.h>

/*
 * ofs_s3_xml_error(xml, size, &code, &message): Code and Message of an <Error> document
 * (either may come back NULL if the element is absent). OFS_ECORRUPT if the root is not
 * <Error>. Caller frees both.
 */
int ofs_s3_xml_error(const char *xml, size_t size, char **code, char **message);

/* fn(ctx, key, size, mtime, etag): one <Contents> of a listing; non-zero stops the parse. */
typedef int (*ofs_s3_xml_object_fn)(void *ctx, const char *key, uint64_t size, int64_t mtime,
                                    const char *etag);

/*
 * ofs_s3_xml_list(xml, size, fn, ctx, &truncated, &next_token): a ListObjectsV2 result:
 * calls fn for each object in document order, then sets *truncated (IsTruncated) and
 * *next_token (NextContinuationToken, NULL if absent; caller frees). Returns fn's non-zero
 * value if it stopped the parse.
 */
int ofs_s3_xml_list(const char *xml, size_t size, ofs_s3_xml_object_fn fn, void *ctx,
                    int *truncated, char **next_token);

/* ofs_s3_xml_upload_id(xml, size, &id): UploadId of an InitiateMultipartUploadResult. */
int ofs_s3_xml_upload_id(const char *xml, size_t size, char **upload_id);

/*
 * ofs_s3_xml_complete_body(etags, count, &xml): the CompleteMultipartUpload request body for
 * parts 1..count with the given ETags (as the server returned them, quotes included).
 */
int ofs_s3_xml_complete_body(char *const *etags, size_t count, char **xml);

#define OFS_S3_XML_MAX_FIELDS 8

/* fn(ctx, element, values): one matching child of the root; values[i] is the text of
 * fields[i] inside it, or NULL if absent. Non-zero stops the parse. */
typedef int (*ofs_s3_xml_entry_fn)(void *ctx, const char *element, const char *const *values);

/*
 * ofs_s3_xml_each(xml, size, root, elements, fields, fn, ctx, top, top_values): for a document
 * whose root is `root` (else OFS_ECORRUPT), call fn for each child of the root named in
 * `elements` (NULL-terminated) with the texts of `fields` (NULL-terminated, at most
 * OFS_S3_XML_MAX_FIELDS) inside it, in document order; then top_values[i] = text of the
 * root's child top[i] (top NULL-terminated or NULL; caller frees each, NULL if absent).
 * Returns fn's non-zero value if it stopped the parse (top_values are then all NULL). With
 * elements NULL, only the top values are read (fn may be NULL).
 * Serves ListMultipartUploads, ListParts, ListObjectVersions, DeleteResult and
 * ObjectLockConfiguration.
 */
int ofs_s3_xml_each(const char *xml, size_t size, const char *root, const char *const *elements,
                    const char *const *fields, ofs_s3_xml_entry_fn fn, void *ctx,
                    const char *const *top, char **top_values);

/*
 * ofs_s3_xml_delete_body(keys, version_ids, count, &xml): a quiet multi-object Delete request
 * body; version_ids may be NULL, or hold NULL for a key without one.
 */
int ofs_s3_xml_delete_body(const char *const *keys, const char *const *version_ids,
                           size_t count, char **xml);

/* One rule of a bucket lifecycle configuration, as far as offsite reads and writes them. */
typedef struct ofs_s3_lifecycle_rule {
    char *id;
    char *prefix;              /* Filter/Prefix (or Filter/And/Prefix, or the legacy Prefix) */
    int enabled;               /* Status is Enabled */
    int expiration_days;       /* Expiration/Days; 0: none */
    int expired_delete_marker; /* Expiration/ExpiredObjectDeleteMarker is true (S3 allows it
                                  only in an Expiration without Days) */
    int noncurrent_days;       /* NoncurrentVersionExpiration/NoncurrentDays; 0: none */
    int abort_multipart_days;  /* AbortIncompleteMultipartUpload; 0: none */
    int transition_days;       /* the first Transition's Days; 0: none */
    char *transition_class;
    char *xml;                 /* parse: the <Rule> as found, to write back verbatim; render:
                                  if set, written instead of the fields */
} ofs_s3_lifecycle_rule;

/*
 * ofs_s3_xml_lifecycle_parse(xml, size, &rules, &count): the rules of a
 * LifecycleConfiguration document. ofs_s3_xml_lifecycle_free(rules, count) frees them.
 */
int ofs_s3_xml_lifecycle_parse(const char *xml, size_t size, ofs_s3_lifecycle_rule **rules,
                               size_t *count);
void ofs_s3_xml_lifecycle_free(ofs_s3_lifecycle_rule *rules, size_t count);

/* ofs_s3_xml_lifecycle_render(rules, count, &xml): a LifecycleConfiguration document; each
 * rule's elements in the order AWS documents them (ID, Filter, Status, Transition, Expiration,
 * NoncurrentVersionExpiration, AbortIncompleteMultipartUpload), only those that are set. */
int ofs_s3_xml_lifecycle_render(const ofs_s3_lifecycle_rule *rules, size_t count, char **xml);

/* ofs_s3_xml_parse_time("2013-05-24T00:00:00.000Z", &t): Unix seconds; OFS_ECORRUPT if not. */
int ofs_s3_xml_parse_time(const char *text, int64_t *t);

#endif
