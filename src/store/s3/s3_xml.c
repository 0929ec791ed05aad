/*
 * s3_xml.c - S3 XML documents with libxml2 (see include/offsite/s3_xml.h).
 */
#include "offsite/s3_xml.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "offsite/error.h"

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

/* libxml2 wants its global state set up once before threads parse concurrently */
static void xml_init(void)
{
    xmlInitParser();
}

static int is_element(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* xml_read(xml, size, root_name, &doc, &root): parse a document whose root must be root_name */
static int xml_read(const char *xml, size_t size, const char *root_name, xmlDoc **doc,
                    xmlNode **root)
{
    int rc;

    pthread_once(&xml_once, xml_init);
    *root = NULL;
    if (size > (size_t)INT32_MAX)
        return ofs_error_set(OFS_ECORRUPT, "malformed S3 response: too large");
    /* no network, no DTD loading, no entity substitution (XXE), quiet */
    *doc = xmlReadMemory(xml, (int)size, "s3.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!*doc || !(*root = xmlDocGetRootElement(*doc))) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        return ofs_error_set(OFS_ECORRUPT, "malformed S3 response: not XML");
    }
    if (!is_element(*root, root_name)) {
        rc = ofs_error_set(OFS_ECORRUPT, "malformed S3 response: <%s> where <%s> was expected",
                           (const char *)(*root)->name, root_name);
        xmlFreeDoc(*doc);
        *doc = NULL;
        *root = NULL;
        return rc;
    }
    return 0;
}

static xmlNode *child(const xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
        if (is_element(n, name))
            return n;
    return NULL;
}

/* child_text(parent, name): malloc'd text of the named child, or NULL (also when absent) */
static char *child_text(const xmlNode *parent, const char *name)
{
    xmlNode *n = child(parent, name);
    xmlChar *t;
    char *copy;

    if (!n || !(t = xmlNodeGetContent(n)))
        return NULL;
    copy = strdup((const char *)t);
    xmlFree(t);
    return copy;
}

int ofs_s3_xml_error(const char *xml, size_t size, char **code, char **message)
{
    xmlDoc *doc = NULL;
    xmlNode *root = NULL;
    int rc;

    *code = *message = NULL;
    if ((rc = xml_read(xml, size, "Error", &doc, &root)) < 0)
        return rc;
    *code = child_text(root, "Code");
    *message = child_text(root, "Message");
    xmlFreeDoc(doc);
    return 0;
}

int ofs_s3_xml_parse_time(const char *text, int64_t *t)
{
    struct tm tm;
    int n = 0;

    memset(&tm, 0, sizeof(tm));
    *t = 0;
    if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return ofs_error_set(OFS_ECORRUPT, "malformed S3 response: bad time '%s'",
                             text ? text : "");
    /* optional fraction, then 'Z' */
    text += n;
    if (*text == '.')
        for (text++; *text >= '0' && *text <= '9'; text++)
            ;
    if (strcmp(text, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return ofs_error_set(OFS_ECORRUPT, "malformed S3 response: bad time");
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *t = (int64_t)timegm(&tm);
    return 0;
}

static int list_entry(xmlNode *n, ofs_s3_xml_object_fn fn, void *ctx)
{
    char *key = child_text(n, "Key"), *size_text = child_text(n, "Size");
    char *mtime_text = child_text(n, "LastModified"), *etag = child_text(n, "ETag");
    unsigned long long size = 0;
    int64_t mtime = 0;
    char *end = NULL;
    int rc;

    if (!key || !*key || !size_text) {
        rc = ofs_error_set(OFS_ECORRUPT, "malformed S3 response: listed object without Key or "
                           "Size");
        goto cleanup;
    }
    size = strtoull(size_text, &end, 10);
    if (end == size_text || *end || size_text[0] == '-') {
        rc = ofs_error_set(OFS_ECORRUPT, "malformed S3 response: bad Size '%s'", size_text);
        goto cleanup;
    }
    /* an unreadable time is not worth failing a listing: 0 means unknown */
    if (mtime_text && ofs_s3_xml_parse_time(mtime_text, &mtime) < 0)
        mtime = 0;
    rc = fn(ctx, key, (uint64_t)size, mtime, etag);
cleanup:
    free(key);
    free(size_text);
    free(mtime_text);
    free(etag);
    return rc;
}

int ofs_s3_xml_list(const char *xml, size_t size, ofs_s3_xml_object_fn fn, void *ctx,
                    int *truncated, char **next_token)
{
    xmlDoc *doc = NULL;
    xmlNode *root = NULL;
    char *flag = NULL;
    int rc;

    *truncated = 0;
    *next_token = NULL;
    if ((rc = xml_read(xml, size, "ListBucketResult", &doc, &root)) < 0)
        return rc;
    for (xmlNode *n = root->children; n; n = n->next)
        if (is_element(n, "Contents") && (rc = list_entry(n, fn, ctx)) != 0)
            goto cleanup;
    flag = child_text(root, "IsTruncated");
    *truncated = flag && strcmp(flag, "true") == 0;
    *next_token = child_text(root, "NextContinuationToken");
    if (*truncated && (!*next_token || !**next_token)) {
        free(*next_token);
        *next_token = NULL;
        rc = ofs_error_set(OFS_ECORRUPT, "malformed S3 response: truncated listing without "
                           "NextContinuationToken");
    }
cleanup:
    free(flag);
    xmlFreeDoc(doc);
    return rc;
}

int ofs_s3_xml_upload_id(const char *xml, size_t size, char **upload_id)
{
    xmlDoc *doc = NULL;
    xmlNode *root = NULL;
    int rc;

    *upload_id = NULL;
    if ((rc = xml_read(xml, size, "InitiateMultipartUploadResult", &doc, &root)) < 0)
        return rc;
    *upload_id = child_text(root, "UploadId");
    xmlFreeDoc(doc);
    if (!*upload_id || !**upload_id) {
        free(*upload_id);
        *upload_id = NULL;
        return ofs_error_set(OFS_ECORRUPT, "malformed S3 response: no UploadId in the answer to "
                             "CreateMultipartUpload");
    }
    return 0;
}

/* memstream_done(f, &buf, &out): close a memstream and hand its text over (NULL on failure) */
static int memstream_done(FILE *f, char **buf, char **out)
{
    int bad = ferror(f), closed = fclose(f);

    *out = NULL;
    if (closed != 0 || bad) {
        free(*buf);
        *buf = NULL;
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    *out = *buf;
    *buf = NULL;
    return 0;
}

/* xml_escape_into: text content escaping; ETags hold quotes, which are fine as is */
static void xml_escape_into(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else
            fputc(*s, f);
    }
}

/* memstream_begin(&buf, &len, xml, root): a memstream holding <root xmlns="..."> (NULL when
 * out of memory) */
static FILE *memstream_begin(char **buf, size_t *len, char **xml, const char *root)
{
    FILE *f = open_memstream(buf, len);

    *xml = NULL;
    if (f)
        fprintf(f, "<%s xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", root);
    return f;
}

/* xml_element(f, name, text): <name>text</name>, text escaped */
static void xml_element(FILE *f, const char *name, const char *text)
{
    fprintf(f, "<%s>", name);
    xml_escape_into(f, text);
    fprintf(f, "</%s>", name);
}

int ofs_s3_xml_complete_body(char *const *etags, size_t count, char **xml)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = memstream_begin(&buf, &len, xml, "CompleteMultipartUpload");

    if (!f)
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < count; i++) {
        fprintf(f, "<Part><PartNumber>%zu</PartNumber>", i + 1);
        xml_element(f, "ETag", etags[i] ? etags[i] : "");
        fputs("</Part>", f);
    }
    fputs("</CompleteMultipartUpload>", f);
    return memstream_done(f, &buf, xml);
}

/* ---- generic entries (uploads, parts, versions, delete results, lock configuration) ---- */

static int name_in(const xmlNode *n, const char *const *names)
{
    for (size_t i = 0; names && names[i]; i++)
        if (is_element(n, names[i]))
            return 1;
    return 0;
}

int ofs_s3_xml_each(const char *xml, size_t size, const char *root_name,
                    const char *const *elements, const char *const *fields,
                    ofs_s3_xml_entry_fn fn, void *ctx, const char *const *top, char **top_values)
{
    xmlDoc *doc = NULL;
    xmlNode *root = NULL;
    char *values[OFS_S3_XML_MAX_FIELDS] = { NULL };
    size_t nfields = 0, ntop = 0;
    int rc;

    while (fields && fields[nfields])
        nfields++;
    while (top && top[ntop])
        top_values[ntop++] = NULL;
    if (nfields > OFS_S3_XML_MAX_FIELDS)
        return ofs_error_set(OFS_ERROR, "s3 xml: too many fields (a bug)");
    if ((rc = xml_read(xml, size, root_name, &doc, &root)) < 0)
        return rc;
    for (xmlNode *n = root->children; n && rc == 0; n = n->next) {
        if (!name_in(n, elements))
            continue;
        for (size_t i = 0; i < nfields; i++)
            values[i] = child_text(n, fields[i]);
        rc = fn(ctx, (const char *)n->name, (const char *const *)values);
        for (size_t i = 0; i < nfields; i++) {
            free(values[i]);
            values[i] = NULL;
        }
    }
    for (size_t i = 0; rc == 0 && i < ntop; i++)
        top_values[i] = child_text(root, top[i]);
    xmlFreeDoc(doc);
    return rc;
}

int ofs_s3_xml_delete_body(const char *const *keys, const char *const *version_ids,
                           size_t count, char **xml)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = memstream_begin(&buf, &len, xml, "Delete");

    if (!f)
        return ofs_error_set(OFS_ERROR, "out of memory");
    /* quiet: the answer lists only the keys that could not be deleted */
    fputs("<Quiet>true</Quiet>", f);
    for (size_t i = 0; i < count; i++) {
        fputs("<Object>", f);
        xml_element(f, "Key", keys[i]);
        if (version_ids && version_ids[i])
            xml_element(f, "VersionId", version_ids[i]);
        fputs("</Object>", f);
    }
    fputs("</Delete>", f);
    return memstream_done(f, &buf, xml);
}

/* ---- lifecycle ---- */

static int child_int(const xmlNode *parent, const char *name)
{
    char *text = child_text(parent, name);
    long v = text ? strtol(text, NULL, 10) : 0;

    free(text);
    return v > 0 && v < 1000000 ? (int)v : 0;
}

static int child_true(const xmlNode *parent, const char *name)
{
    char *text = child_text(parent, name);
    int yes = text && strcasecmp(text, "true") == 0;

    free(text);
    return yes;
}

/* node_dump(n): the element as XML text, malloc'd, or NULL */
static char *node_dump(xmlDoc *doc, xmlNode *n)
{
    xmlBuffer *buf = xmlBufferCreate();
    char *copy = NULL;

    if (!buf)
        return NULL;
    if (xmlNodeDump(buf, doc, n, 0, 0) >= 0)
        copy = strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return copy;
}

static int lifecycle_rule(xmlDoc *doc, xmlNode *n, ofs_s3_lifecycle_rule *r)
{
    xmlNode *filter = child(n, "Filter"), *t;
    char *status = child_text(n, "Status");

    memset(r, 0, sizeof(*r));
    r->id = child_text(n, "ID");
    if (filter)
        r->prefix = child(filter, "Prefix") ? child_text(filter, "Prefix")
                                            : child_text(child(filter, "And"), "Prefix");
    else
        r->prefix = child_text(n, "Prefix");
    r->enabled = status && strcmp(status, "Enabled") == 0;
    free(status);
    r->expiration_days = child_int(child(n, "Expiration"), "Days");
    r->expired_delete_marker = child_true(child(n, "Expiration"), "ExpiredObjectDeleteMarker");
    r->noncurrent_days = child_int(child(n, "NoncurrentVersionExpiration"), "NoncurrentDays");
    r->abort_multipart_days = child_int(child(n, "AbortIncompleteMultipartUpload"),
                                        "DaysAfterInitiation");
    if ((t = child(n, "Transition"))) {
        r->transition_days = child_int(t, "Days");
        r->transition_class = child_text(t, "StorageClass");
    }
    if (!(r->xml = node_dump(doc, n)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

int ofs_s3_xml_lifecycle_parse(const char *xml, size_t size, ofs_s3_lifecycle_rule **rules,
                               size_t *count)
{
    xmlDoc *doc = NULL;
    xmlNode *root = NULL;
    size_t n = 0, i = 0;
    int rc;

    *rules = NULL;
    *count = 0;
    if ((rc = xml_read(xml, size, "LifecycleConfiguration", &doc, &root)) < 0)
        return rc;
    for (xmlNode *c = root->children; c; c = c->next)
        n += is_element(c, "Rule");
    if (n > 0 && !(*rules = calloc(n, sizeof(**rules)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    for (xmlNode *c = root->children; c; c = c->next) {
        if (!is_element(c, "Rule"))
            continue;
        rc = lifecycle_rule(doc, c, &(*rules)[i++]);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        ofs_s3_xml_lifecycle_free(*rules, i);
        *rules = NULL;
        goto cleanup;
    }
    *count = n;
cleanup:
    xmlFreeDoc(doc);
    return rc;
}

void ofs_s3_xml_lifecycle_free(ofs_s3_lifecycle_rule *rules, size_t count)
{
    for (size_t i = 0; rules && i < count; i++) {
        free(rules[i].id);
        free(rules[i].prefix);
        free(rules[i].transition_class);
        free(rules[i].xml);
    }
    free(rules);
}

int ofs_s3_xml_lifecycle_render(const ofs_s3_lifecycle_rule *rules, size_t count, char **xml)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = memstream_begin(&buf, &len, xml, "LifecycleConfiguration");

    if (!f)
        return ofs_error_set(OFS_ERROR, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const ofs_s3_lifecycle_rule *r = &rules[i];
        if (r->xml) {
            fputs(r->xml, f);
            continue;
        }
        fputs("<Rule>", f);
        xml_element(f, "ID", r->id ? r->id : "");
        fputs("<Filter>", f);
        xml_element(f, "Prefix", r->prefix ? r->prefix : "");
        fprintf(f, "</Filter><Status>%s</Status>", r->enabled ? "Enabled" : "Disabled");
        if (r->transition_days > 0 && r->transition_class) {
            fprintf(f, "<Transition><Days>%d</Days>", r->transition_days);
            xml_element(f, "StorageClass", r->transition_class);
            fputs("</Transition>", f);
        }
        if (r->expiration_days > 0 || r->expired_delete_marker) {
            fputs("<Expiration>", f);
            if (r->expiration_days > 0)
                fprintf(f, "<Days>%d</Days>", r->expiration_days);
            if (r->expired_delete_marker)
                fputs("<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>", f);
            fputs("</Expiration>", f);
        }
        if (r->noncurrent_days > 0)
            fprintf(f, "<NoncurrentVersionExpiration><NoncurrentDays>%d</NoncurrentDays>"
                    "</NoncurrentVersionExpiration>", r->noncurrent_days);
        if (r->abort_multipart_days > 0)
            fprintf(f, "<AbortIncompleteMultipartUpload><DaysAfterInitiation>%d"
                    "</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
                    r->abort_multipart_days);
        fputs("</Rule>", f);
    }
    fputs("</LifecycleConfiguration>", f);
    return memstream_done(f, &buf, xml);
}
