#!/usr/bin/env bash
# roundtrip: the full cycle against radosgw (a strict S3 server): backup to staging, push to an
# s3 target (a 12 MiB incompressible file makes a volume large enough for a 3-part multipart
# upload with part_size 5M), push again (nothing to do), check with the AWS CLI that every
# object is byte-identical to staging; then, as a clean machine, list --from the target,
# restore from it, verify --read-data. Interoperability the other way: a prefix filled with
# `aws s3 cp` of the staged objects restores too. A wrong secret fails at once.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

radosgw_start offsite-test || fail "radosgw did not start"

src=$SCRATCH/src
make_tree "$src"
head -c $((12 * 1024 * 1024)) /dev/urandom > "$src/files/big.bin"
# shellcheck disable=SC2034 # read by make_config
OFS_VOLUME_SIZE=12M
make_config "$CONFIG" "$src"
add_s3_target "$CONFIG" cloud prefix=fleet/testhost part_size=5M parallel=3
run_ok ofs config check
run_ok ofs init

run_ok ofs backup --no-push
id=$(latest_id "$SCRATCH/staging")
note "backup $id"
run_ok ofs -v push
run_ok ofs push

# every committed object, byte for byte, read back with the AWS CLI
staged=$(cd "$SCRATCH/staging" && find manifest.json data -type f | sort)
[ -n "$staged" ] || fail "nothing staged"
run_ok s3cli s3 ls --recursive "s3://$S3_BUCKET/fleet/testhost/"
listed=$(awk '{print $4}' "$LAST_OUT" | sed 's|^fleet/testhost/||' | sort)
[ "$staged" = "$listed" ] || fail "objects on the target differ from staging:
$(diff <(echo "$staged") <(echo "$listed"))"
# the manifest is each store's own index (its update time and MAC differ); the data and
# records must be the very bytes staged
multipart=0
while IFS= read -r key; do
    [ "$key" = manifest.json ] && continue
    s3cli s3 cp --only-show-errors "s3://$S3_BUCKET/fleet/testhost/$key" "$SCRATCH/fetched" ||
        fail "aws s3 cp of $key failed"
    cmp -s "$SCRATCH/fetched" "$SCRATCH/staging/$key" || fail "$key differs from staging"
    etag=$(s3cli s3api head-object --bucket "$S3_BUCKET" --key "fleet/testhost/$key" \
        --query ETag --output text)
    case $etag in *-[0-9]*) multipart=$((multipart + 1)) ;; esac
done <<< "$staged"
s3cli s3 cp --only-show-errors "s3://$S3_BUCKET/fleet/testhost/manifest.json" - |
    python3 -c 'import json, sys; m = json.load(sys.stdin); sys.exit(0 if "'"$id"'" in json.dumps(m) else 1)' ||
    fail "the target's manifest.json does not list $id"
[ "$multipart" -ge 1 ] || fail "no object was uploaded in parts (volume too small?)"
note "$(wc -l <<< "$staged") objects identical to staging, $multipart multipart"
run_ok s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --output json
grep -q UploadId "$LAST_OUT" && fail "multipart uploads were left behind"

# the clean machine: only the config and the key
rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
run_ok ofs list --from cloud
expect_glob "$LAST_OUT" "*$id*" "list --from cloud output"
run_ok ofs restore --latest --from cloud --target "$SCRATCH/restore"
compare_trees "$src" "$SCRATCH/restore$src"
run_ok ofs verify --from cloud --read-data

# objects copied there by the AWS CLI restore just the same
run_ok s3cli s3 cp --only-show-errors --recursive "s3://$S3_BUCKET/fleet/testhost/" "$SCRATCH/copy"
run_ok s3cli s3 cp --only-show-errors --recursive "$SCRATCH/copy" "s3://$S3_BUCKET/copied/"
add_s3_target "$CONFIG" copied prefix=copied
run_ok ofs restore "$id" --from copied --target "$SCRATCH/restore2"
compare_trees "$src" "$SCRATCH/restore2$src"

# a wrong secret: refused at once (no retry: an auth error is not transient), with the
# server's code and a hint, and the secret appears nowhere, not even in debug output or JSON
AWS_SECRET_ACCESS_KEY=wrong/secret/000000000000000000000000 \
    run_fails 6 "*SignatureDoesNotMatch*HINT: check the secret access key*" ofs -v list --from cloud
if grep -q 'retrying' "$LAST_ERR"; then fail "a wrong secret was retried: $(cat "$LAST_ERR")"; fi
if grep -q 'wrong/secret' "$LAST_ERR" "$LAST_OUT"; then fail "the secret reached the output"; fi
AWS_SECRET_ACCESS_KEY=wrong/secret/000000000000000000000000 \
    run_fails 6 "*SignatureDoesNotMatch*" ofs --json -v verify --from cloud
if grep -q 'wrong/secret' "$LAST_ERR" "$LAST_OUT"; then fail "the secret reached verify's output"; fi
echo "PASS: $CASE_NAME"
