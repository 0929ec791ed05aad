#!/usr/bin/env bash
# driver: the s3 driver's own tests (tests/unit/test_s3.c, test_s3_live.c) against a real,
# strict S3 server: radosgw checks every signature, Content-MD5 and the 5 MiB part minimum.
# Then, with the AWS CLI: no multipart upload is left behind (aborts and completions all
# happened), the tests left no objects, a lifecycle rule another tool wrote is still there,
# unchanged, and in the bucket with object lock the data objects the lock test could not
# delete carry the lock it asked for.
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

# object lock can only be turned on when a bucket is created
lock_bucket=offsite-lock
radosgw_bucket "$lock_bucket" --object-lock || fail "could not create a bucket with object lock"
export OFS_TEST_S3_ENDPOINT=$S3_ENDPOINT OFS_TEST_S3_BUCKET=$S3_BUCKET
export OFS_TEST_S3_LOCK_BUCKET=$lock_bucket
for test_bin in "$OFS_BUILD_DIR/test_s3" "$OFS_BUILD_DIR/test_s3_live"; do
    run_ok "$test_bin"
    grep -q 'SKIP' "$LAST_OUT" "$LAST_ERR" && { cat "$LAST_OUT"; fail "live tests were skipped"; }
    cat "$LAST_OUT" "$LAST_ERR" | grep -q 'PASSED' || { cat "$LAST_OUT"; fail "$test_bin did not report its tests passed"; }
done

for b in "$S3_BUCKET" "$lock_bucket"; do
    run_ok s3cli s3api list-multipart-uploads --bucket "$b" --output json
    [ ! -s "$LAST_OUT" ] || ! grep -q UploadId "$LAST_OUT" ||
        { cat "$LAST_OUT"; fail "multipart uploads were left behind in $b"; }
done
run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$S3_BUCKET" --output json
python3 - "$LAST_OUT" << 'PY' || fail "the foreign lifecycle rule was not kept as it was"
import json, sys
rules = json.load(open(sys.argv[1]))["Rules"]
assert [r["ID"] for r in rules] == ["not-offsite"], rules
assert rules[0]["Filter"] == {"Prefix": "elsewhere/"} and rules[0]["Expiration"] == {"Days": 3}
PY
run_ok s3cli s3 ls --recursive "s3://$S3_BUCKET/"
[ ! -s "$LAST_OUT" ] || { cat "$LAST_OUT"; fail "the tests left objects behind"; }

# what the object lock test left, seen by another client: the data objects carry the lock
# (daily: 2 days + 1, the test's policy), the manifest is gone, every version of it
run_ok s3cli s3api list-object-versions --bucket "$lock_bucket" --output json
python3 - "$LAST_OUT" << 'PY' || fail "the lock bucket does not hold what the lock test left"
import json, sys
doc = json.load(open(sys.argv[1]))
keys = sorted(v["Key"] for v in doc.get("Versions", []))
assert not doc.get("DeleteMarkers"), doc.get("DeleteMarkers")
assert not [k for k in keys if k.endswith("manifest.json")], keys
assert len(keys) == 2 and all("/object-lock/data/" in k for k in keys), keys
PY
daily_key=$(python3 -c 'import json, sys; print([v["Key"] for v in json.load(open(sys.argv[1]))["Versions"] if "/data/daily/" in v["Key"]][0])' "$LAST_OUT")
run_ok s3cli s3api head-object --bucket "$lock_bucket" --key "$daily_key" --output json
python3 - "$LAST_OUT" << 'PY' || { cat "$LAST_OUT"; fail "$daily_key has no lock for 3 days"; }
import json, sys, datetime
h = json.load(open(sys.argv[1]))
assert h["ObjectLockMode"] == "GOVERNANCE", h
until = datetime.datetime.fromisoformat(h["ObjectLockRetainUntilDate"])
left = until - datetime.datetime.now(datetime.timezone.utc)
assert datetime.timedelta(days=2, hours=23) < left <= datetime.timedelta(days=3), left
PY
note "$daily_key locked (GOVERNANCE) for 3 days"
echo "PASS: $CASE_NAME"
