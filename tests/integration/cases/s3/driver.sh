#!/usr/bin/env bash
# driver: the s3 driver's own tests (tests/unit/test_s3.c, test_s3_live.c) against a real,
# strict S3 server: radosgw checks every signature, Content-MD5 and the 5 MiB part minimum.
# Then, with the AWS CLI: no multipart upload is left behind (aborts and completions all happened) and the
# tests left no objects, and a lifecycle rule another tool wrote is still there, unchanged.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

for test_bin in "$OFS_BUILD_DIR/test_s3" "$OFS_BUILD_DIR/test_s3_live"; do
    [ -x "$test_bin" ] || fail "$test_bin not built (OFFSITE_TESTS=ON builds it)"
done
radosgw_start offsite-test || fail "radosgw did not start"

# a rule some other tool wrote: the lifecycle tests must keep it as it is
cat > "$SCRATCH/foreign.json" << 'EOF'
{"Rules": [{"ID": "not-offsite", "Filter": {"Prefix": "elsewhere/"}, "Status": "Enabled",
            "Expiration": {"Days": 3}}]}
EOF
run_ok s3cli s3api put-bucket-lifecycle-configuration --bucket "$S3_BUCKET" \
    --lifecycle-configuration "file://$SCRATCH/foreign.json"

export OFS_TEST_S3_ENDPOINT=$S3_ENDPOINT OFS_TEST_S3_BUCKET=$S3_BUCKET
for test_bin in "$OFS_BUILD_DIR/test_s3" "$OFS_BUILD_DIR/test_s3_live"; do
    run_ok "$test_bin"
    grep -q 'SKIP' "$LAST_OUT" "$LAST_ERR" && { cat "$LAST_OUT"; fail "live tests were skipped"; }
    cat "$LAST_OUT" "$LAST_ERR" | grep -q 'PASSED' || { cat "$LAST_OUT"; fail "$test_bin did not report its tests passed"; }
done

run_ok s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --output json
[ ! -s "$LAST_OUT" ] || ! grep -q UploadId "$LAST_OUT" ||
    { cat "$LAST_OUT"; fail "multipart uploads were left behind"; }
run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$S3_BUCKET" --output json
python3 - "$LAST_OUT" << 'PY' || fail "the foreign lifecycle rule was not kept as it was"
import json, sys
rules = json.load(open(sys.argv[1]))["Rules"]
assert [r["ID"] for r in rules] == ["not-offsite"], rules
assert rules[0]["Filter"] == {"Prefix": "elsewhere/"} and rules[0]["Expiration"] == {"Days": 3}
PY
run_ok s3cli s3 ls --recursive "s3://$S3_BUCKET/"
[ ! -s "$LAST_OUT" ] || { cat "$LAST_OUT"; fail "the tests left objects behind"; }
echo "PASS: $CASE_NAME"
