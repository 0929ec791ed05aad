/* test_s3_xml.c - S3 XML documents: errors, ListObjectsV2 pages (with and without the
 * namespace, as AWS, Ceph RGW and MinIO send them), CreateMultipartUpload, the
 * CompleteMultipartUpload body, times, malformed input, the generic entry reader (uploads,
 * parts, versions, delete results), the multi-object Delete body, and lifecycle
 * configurations (transitions, a versioned bucket's noncurrent and delete-marker rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"
#include "offsite/s3_xml.h"

#define XML(s) s, strlen(s)

static void test_error_document(void **state)
{
    (void)state;
    char *code = NULL, *message = NULL;

    assert_int_equal(ofs_s3_xml_error(XML("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                          "<Error><Code>AccessDenied</Code>"
                                          "<Message>Access Denied</Message>"
                                          "<RequestId>4442587FB7D0A2F9</RequestId></Error>"),
                                      &code, &message), 0);
    assert_string_equal(code, "AccessDenied");
    assert_string_equal(message, "Access Denied");
    free(code);
    free(message);

    /* Ceph answers without a Message; entities are decoded */
    assert_int_equal(ofs_s3_xml_error(XML("<Error><Code>NoSuchKey</Code><BucketName>b</BucketName>"
                                          "</Error>"), &code, &message), 0);
    assert_string_equal(code, "NoSuchKey");
    assert_null(message);
    free(code);
    assert_int_equal(ofs_s3_xml_error(XML("<Error><Code>X</Code><Message>a &lt; b &amp; "
                                          "c</Message></Error>"), &code, &message), 0);
    assert_string_equal(message, "a < b & c");
    free(code);
    free(message);

    assert_int_equal(ofs_s3_xml_error(XML("<html><body>502 Bad Gateway</body></html>"), &code,
                                      &message), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "malformed S3 response: <html> where <Error> was "
                                          "expected");
    assert_null(code);
    assert_int_equal(ofs_s3_xml_error(XML("not xml at all"), &code, &message), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "malformed S3 response: not XML");
}

typedef struct {
    char keys[8][64];
    uint64_t sizes[8];
    int64_t mtimes[8];
    int count;
    int stop_after;
} listed;

static int collect(void *ctx, const char *key, uint64_t size, int64_t mtime, const char *etag)
{
    listed *l = ctx;
    (void)etag;
    assert_true(l->count < 8);
    snprintf(l->keys[l->count], sizeof(l->keys[0]), "%s", key);
    l->sizes[l->count] = size;
    l->mtimes[l->count] = mtime;
    l->count++;
    return l->stop_after && l->count == l->stop_after ? 42 : 0;
}

static const char list_aws[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>acme</Name><Prefix>fleet/h1/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>fleet/h1/data/daily/a b+c=d.ofs</Key>"
    "<LastModified>2013-05-24T00:00:01.000Z</LastModified>"
    "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1234</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>fleet/h1/日本語.json</Key><LastModified>2024-02-29T23:59:59Z</LastModified>"
    "<Size>0</Size></Contents>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "</ListBucketResult>";

static void test_list_page(void **state)
{
    (void)state;
    listed l = { 0 };
    char *token = NULL;
    int truncated = 0;

    assert_int_equal(ofs_s3_xml_list(XML(list_aws), collect, &l, &truncated, &token), 0);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.keys[0], "fleet/h1/data/daily/a b+c=d.ofs");
    assert_int_equal(l.sizes[0], 1234);
    assert_int_equal(l.mtimes[0], 1369353601);
    assert_string_equal(l.keys[1], "fleet/h1/日本語.json");
    assert_int_equal(l.sizes[1], 0);
    assert_int_equal(l.mtimes[1], 1709251199);
    assert_true(truncated);
    assert_string_equal(token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    free(token);

    /* the callback stops the parse: its value comes back, nothing after it is seen */
    memset(&l, 0, sizeof(l));
    l.stop_after = 1;
    assert_int_equal(ofs_s3_xml_list(XML(list_aws), collect, &l, &truncated, &token), 42);
    assert_int_equal(l.count, 1);
    assert_null(token);
}

static void test_list_last_page_no_namespace(void **state)
{
    (void)state;
    listed l = { 0 };
    char *token = (char *)"stale";
    int truncated = 1;

    assert_int_equal(ofs_s3_xml_list(XML("<ListBucketResult><Name>b</Name>"
                                         "<IsTruncated>false</IsTruncated>"
                                         "<Contents><Key>k</Key><Size>5</Size>"
                                         "<LastModified>garbage</LastModified></Contents>"
                                         "</ListBucketResult>"),
                                     collect, &l, &truncated, &token), 0);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.mtimes[0], 0); /* unreadable time: unknown, not a failure */
    assert_false(truncated);
    assert_null(token);

    /* an empty listing */
    memset(&l, 0, sizeof(l));
    assert_int_equal(ofs_s3_xml_list(XML("<ListBucketResult xmlns=\"urn:x\"><KeyCount>0"
                                         "</KeyCount></ListBucketResult>"),
                                     collect, &l, &truncated, &token), 0);
    assert_int_equal(l.count, 0);
}

static void test_list_malformed(void **state)
{
    (void)state;
    listed l = { 0 };
    char *token = NULL;
    int truncated = 0;

    assert_int_equal(ofs_s3_xml_list(XML("<ListBucketResult><Contents><Key>k</Key>"
                                         "<Size>-1</Size></Contents></ListBucketResult>"),
                                     collect, &l, &truncated, &token), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "malformed S3 response: bad Size '-1'");
    assert_int_equal(ofs_s3_xml_list(XML("<ListBucketResult><Contents><Size>1</Size></Contents>"
                                         "</ListBucketResult>"),
                                     collect, &l, &truncated, &token), OFS_ECORRUPT);
    assert_int_equal(ofs_s3_xml_list(XML("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                         "</ListBucketResult>"),
                                     collect, &l, &truncated, &token), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "malformed S3 response: truncated listing without "
                                          "NextContinuationToken");
    assert_null(token);
    assert_int_equal(ofs_s3_xml_list(XML("<Error><Code>AccessDenied</Code></Error>"), collect,
                                     &l, &truncated, &token), OFS_ECORRUPT);
    assert_int_equal(l.count, 0);
}

static void test_upload_id(void **state)
{
    (void)state;
    char *id = NULL;

    assert_int_equal(ofs_s3_xml_upload_id(XML("<?xml version=\"1.0\"?><InitiateMultipartUploadResult "
                                              "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                              "<Bucket>b</Bucket><Key>k</Key><UploadId>2~abc.DEF"
                                              "</UploadId></InitiateMultipartUploadResult>"),
                                          &id), 0);
    assert_string_equal(id, "2~abc.DEF");
    free(id);
    assert_int_equal(ofs_s3_xml_upload_id(XML("<InitiateMultipartUploadResult><UploadId/>"
                                              "</InitiateMultipartUploadResult>"), &id),
                     OFS_ECORRUPT);
    assert_null(id);
}

static void test_complete_body(void **state)
{
    (void)state;
    char *etags[] = { (char *)"\"a54357aff0632cce46d942af68356b38\"",
                      (char *)"\"0c78aef83f66abc1fa1e8477f296d394\"" };
    char *xml = NULL;

    assert_int_equal(ofs_s3_xml_complete_body(etags, 2, &xml), 0);
    assert_string_equal(xml, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/"
                             "2006-03-01/\"><Part><PartNumber>1</PartNumber><ETag>"
                             "\"a54357aff0632cce46d942af68356b38\"</ETag></Part><Part>"
                             "<PartNumber>2</PartNumber><ETag>\"0c78aef83f66abc1fa1e8477f296d394\""
                             "</ETag></Part></CompleteMultipartUpload>");
    free(xml);
    char *odd[] = { (char *)"a<b&c" };
    assert_int_equal(ofs_s3_xml_complete_body(odd, 1, &xml), 0);
    assert_non_null(strstr(xml, "<ETag>a&lt;b&amp;c</ETag>"));
    free(xml);
}

static void test_times(void **state)
{
    (void)state;
    int64_t t = -1;

    assert_int_equal(ofs_s3_xml_parse_time("2013-05-24T00:00:00.000Z", &t), 0);
    assert_int_equal(t, 1369353600);
    assert_int_equal(ofs_s3_xml_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(ofs_s3_xml_parse_time("2013-05-24 00:00:00", &t), OFS_ECORRUPT);
    assert_int_equal(ofs_s3_xml_parse_time("2013-13-24T00:00:00Z", &t), OFS_ECORRUPT);
    assert_int_equal(ofs_s3_xml_parse_time("2013-05-24T00:00:00+01:00", &t), OFS_ECORRUPT);
}

static void test_no_external_entities(void **state)
{
    (void)state;
    char *code = NULL, *message = NULL;
    /* an XXE attempt must not read the file into the message */
    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE e [<!ENTITY x SYSTEM "
                      "\"file:///etc/passwd\">]><Error><Code>C</Code><Message>&x;</Message>"
                      "</Error>";
    int rc = ofs_s3_xml_error(XML(xxe), &code, &message);
    if (rc == 0) {
        assert_true(!message || !strstr(message, "root:"));
        free(code);
        free(message);
    } else {
        assert_int_equal(rc, OFS_ECORRUPT);
    }
}

static void test_lifecycle(void **state)
{
    (void)state;
    /* Ceph's answer, plus a legacy rule (Prefix outside Filter), an And filter, a transition */
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><LifecycleConfiguration "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule><ID>foreign</ID><Filter>"
        "<Prefix>other/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>5</Days>"
        "</Expiration></Rule><Rule><ID>offsite:h1/:data/daily/</ID><Filter><Prefix>h1/data/"
        "daily/</Prefix></Filter><Status>Enabled</Status><Transition><Days>7</Days>"
        "<StorageClass>GLACIER</StorageClass></Transition><Expiration><Days>31</Days>"
        "</Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
        "</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
        "<Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Disabled</Status></Rule>"
        "<Rule><ID>and</ID><Filter><And><Prefix>x/</Prefix><Tag><Key>k</Key><Value>v</Value>"
        "</Tag></And></Filter><Status>Enabled</Status></Rule></LifecycleConfiguration>";
    ofs_s3_lifecycle_rule *rules = NULL, *again = NULL;
    size_t count = 0, count2 = 0;
    char *xml = NULL;

    assert_int_equal(ofs_s3_xml_lifecycle_parse(XML(doc), &rules, &count), 0);
    assert_int_equal(count, 4);
    assert_string_equal(rules[0].id, "foreign");
    assert_string_equal(rules[0].prefix, "other/");
    assert_true(rules[0].enabled);
    assert_int_equal(rules[0].expiration_days, 5);
    assert_int_equal(rules[1].transition_days, 7);
    assert_string_equal(rules[1].transition_class, "GLACIER");
    assert_int_equal(rules[1].expiration_days, 31);
    assert_int_equal(rules[1].abort_multipart_days, 1);
    assert_string_equal(rules[2].prefix, "old/");
    assert_false(rules[2].enabled);
    assert_string_equal(rules[3].prefix, "x/");
    assert_non_null(strstr(rules[3].xml, "<Tag><Key>k</Key><Value>v</Value></Tag>"));

    /* written back: verbatim rules stay as they were, a rendered one reads back the same */
    free(rules[1].xml);
    rules[1].xml = NULL;
    assert_int_equal(ofs_s3_xml_lifecycle_render(rules, count, &xml), 0);
    assert_non_null(strstr(xml, "<Transition><Days>7</Days><StorageClass>GLACIER</StorageClass>"
                                "</Transition><Expiration><Days>31</Days></Expiration>"));
    assert_int_equal(ofs_s3_xml_lifecycle_parse(XML(xml), &again, &count2), 0);
    assert_int_equal(count2, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(again[i].id, rules[i].id);
        assert_string_equal(again[i].prefix, rules[i].prefix);
        assert_int_equal(again[i].enabled, rules[i].enabled);
        assert_int_equal(again[i].expiration_days, rules[i].expiration_days);
        assert_int_equal(again[i].abort_multipart_days, rules[i].abort_multipart_days);
    }
    assert_non_null(strstr(again[3].xml, "<Tag><Key>k</Key>"));
    free(xml);
    ofs_s3_xml_lifecycle_free(again, count2);
    ofs_s3_xml_lifecycle_free(rules, count);

    assert_int_equal(ofs_s3_xml_lifecycle_parse(XML("<Error><Code>NoSuchLifecycleConfiguration"
                                                    "</Code></Error>"), &rules, &count),
                     OFS_ECORRUPT);
    assert_null(rules);
}

/* a versioned bucket's rules: noncurrent expiration, and delete markers in a rule of their
 * own (an Expiration without Days); a rule with a noncurrent expiration alone (the manifest's
 * history), one with delete markers and a noncurrent expiration (the probe's leftovers); as
 * AWS answers them, and rendered back */
static void test_lifecycle_versioned(void **state)
{
    (void)state;
    const char *doc =
        "<LifecycleConfiguration><Rule><ID>offsite::data/weekly/</ID><Filter><Prefix>data/"
        "weekly/</Prefix></Filter><Status>Enabled</Status><Transition><Days>30</Days>"
        "<StorageClass>STANDARD_IA</StorageClass></Transition><Expiration><Days>85</Days>"
        "</Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
        "</NoncurrentVersionExpiration></Rule><Rule><ID>offsite::data/</ID><Filter><Prefix>"
        "data/</Prefix></Filter><Status>Enabled</Status><Expiration>"
        "<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>"
        "<Rule><ID>off</ID><Filter><Prefix>x/</Prefix></Filter><Status>Enabled</Status>"
        "<Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>"
        "</Rule><Rule><ID>offsite::manifest.json</ID><Filter><Prefix>manifest.json</Prefix>"
        "</Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30"
        "</NoncurrentDays></NoncurrentVersionExpiration></Rule><Rule><ID>offsite::offsite-"
        "probe/</ID><Filter><Prefix>offsite-probe/</Prefix></Filter><Status>Enabled</Status>"
        "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
        "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
        "</NoncurrentVersionExpiration></Rule></LifecycleConfiguration>";
    ofs_s3_lifecycle_rule *rules = NULL, *again = NULL;
    size_t count = 0, count2 = 0;
    char *xml = NULL;

    assert_int_equal(ofs_s3_xml_lifecycle_parse(XML(doc), &rules, &count), 0);
    assert_int_equal(count, 5);
    assert_int_equal(rules[0].expiration_days, 85);
    assert_false(rules[0].expired_delete_marker);
    assert_int_equal(rules[0].noncurrent_days, 1);
    assert_int_equal(rules[0].transition_days, 30);
    assert_string_equal(rules[0].transition_class, "STANDARD_IA");
    assert_string_equal(rules[1].prefix, "data/");
    assert_int_equal(rules[1].expiration_days, 0);
    assert_true(rules[1].expired_delete_marker);
    assert_int_equal(rules[1].noncurrent_days, 0);
    assert_false(rules[2].expired_delete_marker);
    assert_string_equal(rules[3].prefix, "manifest.json");
    assert_true(rules[3].enabled);
    assert_int_equal(rules[3].expiration_days, 0);
    assert_false(rules[3].expired_delete_marker);
    assert_int_equal(rules[3].noncurrent_days, 30);
    assert_int_equal(rules[3].abort_multipart_days, 0);
    assert_string_equal(rules[4].prefix, "offsite-probe/");
    assert_int_equal(rules[4].expiration_days, 0);
    assert_true(rules[4].expired_delete_marker);
    assert_int_equal(rules[4].noncurrent_days, 1);

    for (size_t i = 0; i < count; i++) {
        free(rules[i].xml);
        rules[i].xml = NULL;
    }
    assert_int_equal(ofs_s3_xml_lifecycle_render(rules, count, &xml), 0);
    /* the order AWS documents: Transition, Expiration, NoncurrentVersionExpiration */
    assert_non_null(strstr(xml, "<Status>Enabled</Status><Transition><Days>30</Days>"
                                "<StorageClass>STANDARD_IA</StorageClass></Transition>"
                                "<Expiration><Days>85</Days></Expiration>"
                                "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                                "</NoncurrentVersionExpiration></Rule>"));
    assert_non_null(strstr(xml, "<Prefix>data/</Prefix></Filter><Status>Enabled</Status>"
                                "<Expiration><ExpiredObjectDeleteMarker>true"
                                "</ExpiredObjectDeleteMarker></Expiration></Rule>"));
    /* a false flag and no days: nothing to expire, no empty Expiration */
    assert_non_null(strstr(xml, "<Prefix>x/</Prefix></Filter><Status>Enabled</Status></Rule>"));
    /* a noncurrent expiration alone: no Expiration element at all */
    assert_non_null(strstr(xml, "<Prefix>manifest.json</Prefix></Filter><Status>Enabled</Status>"
                                "<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays>"
                                "</NoncurrentVersionExpiration></Rule>"));
    assert_non_null(strstr(xml, "<Prefix>offsite-probe/</Prefix></Filter><Status>Enabled"
                                "</Status><Expiration><ExpiredObjectDeleteMarker>true"
                                "</ExpiredObjectDeleteMarker></Expiration>"
                                "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                                "</NoncurrentVersionExpiration></Rule>"));
    assert_int_equal(ofs_s3_xml_lifecycle_parse(XML(xml), &again, &count2), 0);
    assert_int_equal(count2, count);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(again[i].expiration_days, rules[i].expiration_days);
        assert_int_equal(again[i].expired_delete_marker, rules[i].expired_delete_marker);
        assert_int_equal(again[i].noncurrent_days, rules[i].noncurrent_days);
        assert_int_equal(again[i].transition_days, rules[i].transition_days);
    }
    free(xml);
    ofs_s3_xml_lifecycle_free(again, count2);
    ofs_s3_xml_lifecycle_free(rules, count);
}

/* collects "element:v0,v1,..." lines */
typedef struct {
    char text[1024];
    int stop_at;
    int calls;
} each_result;

static int each_collect(void *ctx, const char *element, const char *const *values)
{
    each_result *r = ctx;
    size_t n = strlen(r->text);

    snprintf(r->text + n, sizeof(r->text) - n, "%s:%s,%s,%s;", element,
             values[0] ? values[0] : "-", values[1] ? values[1] : "-",
             values[2] ? values[2] : "-");
    return ++r->calls == r->stop_at ? 42 : 0;
}

static void test_each(void **state)
{
    (void)state;
    static const char *const versions[] = { "Version", "DeleteMarker", NULL };
    static const char *const fields[] = { "Key", "VersionId", "IsLatest", NULL };
    static const char *const top[] = { "IsTruncated", "NextKeyMarker", "Missing", NULL };
    const char *doc = "<?xml version=\"1.0\"?>"
                      "<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                      "<Name>b</Name><IsTruncated>true</IsTruncated>"
                      "<NextKeyMarker>k &amp; 2</NextKeyMarker>"
                      "<Version><Key>a b</Key><VersionId>v1</VersionId>"
                      "<IsLatest>false</IsLatest></Version>"
                      "<DeleteMarker><Key>a b</Key><VersionId>v2</VersionId>"
                      "<IsLatest>true</IsLatest></DeleteMarker>"
                      "<CommonPrefixes><Prefix>x/</Prefix></CommonPrefixes>"
                      "<Version><Key>c</Key></Version></ListVersionsResult>";
    char *values[3] = { NULL };
    each_result r = { "", 0, 0 };

    assert_int_equal(ofs_s3_xml_each(XML(doc), "ListVersionsResult", versions, fields,
                                     each_collect, &r, top, values), 0);
    assert_string_equal(r.text, "Version:a b,v1,false;DeleteMarker:a b,v2,true;Version:c,-,-;");
    assert_string_equal(values[0], "true");
    assert_string_equal(values[1], "k & 2");
    assert_null(values[2]);
    free(values[0]);
    free(values[1]);

    /* the callback stops the parse; no top values then */
    memset(&r, 0, sizeof(r));
    r.stop_at = 2;
    assert_int_equal(ofs_s3_xml_each(XML(doc), "ListVersionsResult", versions, fields,
                                     each_collect, &r, top, values), 42);
    assert_int_equal(r.calls, 2);
    assert_null(values[0]);

    /* another root: malformed */
    assert_int_equal(ofs_s3_xml_each(XML("<Error><Code>AccessDenied</Code></Error>"),
                                     "ListPartsResult", versions, fields, each_collect, &r,
                                     NULL, NULL), OFS_ECORRUPT);
    assert_string_equal(ofs_error_last(), "malformed S3 response: <Error> where "
                                          "<ListPartsResult> was expected");
}

static void test_delete_body(void **state)
{
    (void)state;
    const char *keys[] = { "p/a&b <1>", "p/c" };
    const char *versions[] = { NULL, "v.2" };
    char *xml = NULL;

    assert_int_equal(ofs_s3_xml_delete_body(keys, versions, 2, &xml), 0);
    assert_string_equal(xml, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                             "<Quiet>true</Quiet><Object><Key>p/a&amp;b &lt;1&gt;</Key></Object>"
                             "<Object><Key>p/c</Key><VersionId>v.2</VersionId></Object>"
                             "</Delete>");
    free(xml);
    assert_int_equal(ofs_s3_xml_delete_body(keys, NULL, 1, &xml), 0);
    assert_non_null(strstr(xml, "<Object><Key>p/a&amp;b &lt;1&gt;</Key></Object></Delete>"));
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_document),
        cmocka_unit_test(test_list_page),
        cmocka_unit_test(test_list_last_page_no_namespace),
        cmocka_unit_test(test_list_malformed),
        cmocka_unit_test(test_upload_id),
        cmocka_unit_test(test_complete_body),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_no_external_entities),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_lifecycle_versioned),
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_delete_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
