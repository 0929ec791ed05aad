#!/usr/bin/env bash
# driver: the s3 driver's own tests (tests/unit/test_s3.c) against a real, strict S3 server:
# radosgw checks every signature, Content-MD5 and the 5 MiB part minimum. Then, with the AWS
# CLI: no multipart upload is left behind (aborts and completions all happened) and the
# tests left no objects.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

test_bin=$OFS_BUILD_DIR/test_s3
[ -x "$test_bin" ] || fail "$test_bin not built (OFFSITE_TESTS=ON builds it)"
radosgw_start offsite-test || fail "radosgw did not start"

export OFS_TEST_S3_ENDPOINT=$S3_ENDPOINT OFS_TEST_S3_BUCKET=$S3_BUCKET
run_ok "$test_bin"
grep -q 'SKIP' "$LAST_OUT" "$LAST_ERR" && { cat "$LAST_OUT"; fail "live tests were skipped"; }
cat "$LAST_OUT" "$LAST_ERR" | grep -q 'PASSED' || { cat "$LAST_OUT"; fail "$test_bin did not report its tests passed"; }

run_ok s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --output json
[ ! -s "$LAST_OUT" ] || ! grep -q UploadId "$LAST_OUT" ||
    { cat "$LAST_OUT"; fail "multipart uploads were left behind"; }
run_ok s3cli s3 ls --recursive "s3://$S3_BUCKET/"
[ ! -s "$LAST_OUT" ] || { cat "$LAST_OUT"; fail "the tests left objects behind"; }
echo "PASS: $CASE_NAME"
