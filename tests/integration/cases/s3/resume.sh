#!/usr/bin/env bash
# resume: a push killed (-9) in the middle of a multipart upload leaves the upload on the
# server; the next push finds it (ListMultipartUploads, ListParts), keeps every part whose
# size and MD5 match what it is about to send, sends only the rest under the same upload id,
# and completes it. Shown by the server's part list before the second push, the upload id
# and the "already there" count the second push logs, and the part requests it made (part 1
# is not sent again). The object is byte-identical to staging, no upload is left over, and
# a clean machine's verify --read-data passes.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

radosgw_start offsite-test || fail "radosgw did not start"

src=$SCRATCH/src
mkdir -p "$src"
head -c $((12 * 1024 * 1024)) /dev/urandom > "$src/big.bin"
echo "small file" > "$src/small.txt"
# shellcheck disable=SC2034 # read by make_config
OFS_VOLUME_SIZE=12M
make_config "$CONFIG" "$src"
# 2 MiB/s and one part at a time: a 5 MiB part takes 2.5 s, a wide window for the kill
add_s3_target "$CONFIG" cloud prefix=resume part_size=5M parallel=1 bwlimit=2M
run_ok ofs init
run_ok ofs backup --no-push
id=$(latest_id "$SCRATCH/staging")
big_key=$(cd "$SCRATCH/staging" && find data -name 'vol-*.ofs' -size +10M | head -n 1)
[ -n "$big_key" ] || fail "no volume over 10 MiB was staged"

# push, and kill it -9 as soon as the first part of the large volume is stored
# (the binary itself, not the ofs function: $! must be offsite's PID, not a subshell's)
"$OFFSITE_BIN" -c "$CONFIG" -v push > "$SCRATCH/push1.out" 2> "$SCRATCH/push1.err" &
push_pid=$!
register_pid "$push_pid"
for _ in $(seq 600); do
    grep -q "PUT /$S3_BUCKET/resume/$big_key?partNumber=1&uploadId=.* -> 200" \
        "$SCRATCH/push1.err" && break
    kill -0 "$push_pid" 2> /dev/null || break
    sleep 0.05
done
kill -9 "$push_pid" 2> /dev/null || fail "the push ended before it could be killed: $(tail -n 5 "$SCRATCH/push1.err")"
wait "$push_pid" 2> /dev/null || true
grep -q "partNumber=1&.* -> 200" "$SCRATCH/push1.err" || fail "part 1 was never stored"

# the server holds the unfinished upload and its finished parts
run_ok s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --prefix "resume/$big_key" \
    --query 'Uploads[].UploadId' --output text
upload_id=$(cat "$LAST_OUT")
[ -n "$upload_id" ] && [ "$upload_id" != None ] && [ "$(wc -w <<< "$upload_id")" = 1 ] ||
    fail "expected one unfinished upload of $big_key, found '$upload_id'"
run_ok s3cli s3api list-parts --bucket "$S3_BUCKET" --key "resume/$big_key" \
    --upload-id "$upload_id" --query 'Parts[].PartNumber' --output text
parts_before=$(wc -w < "$LAST_OUT")
[ "$parts_before" -ge 1 ] && [ "$parts_before" -lt 3 ] ||
    fail "expected 1 or 2 parts stored before the kill, the server lists: $(cat "$LAST_OUT")"
note "killed with $parts_before of 3 parts of $big_key stored (upload $upload_id)"

# a stale second upload of the same key: the push must abort it, not resume it (no parts)
run_ok s3cli s3api create-multipart-upload --bucket "$S3_BUCKET" --key "resume/$big_key" \
    --query UploadId --output text
stale_id=$(cat "$LAST_OUT")

run_ok ofs -v push
grep -q "resuming multipart upload $upload_id" "$LAST_ERR" ||
    { cat "$LAST_ERR"; fail "the second push did not resume upload $upload_id"; }
reused=$(sed -n 's/.*resumed an interrupted upload: \([0-9]*\) of 3 parts were already there.*/\1/p' "$LAST_ERR")
[ -n "$reused" ] && [ "$reused" -ge "$parts_before" ] ||
    { cat "$LAST_ERR"; fail "expected at least $parts_before of 3 parts kept, the log says '$reused'"; }
grep -q "aborted stale multipart upload $stale_id" "$LAST_ERR" ||
    fail "the stale upload $stale_id was not aborted"
sent=$(grep -c "PUT /$S3_BUCKET/resume/$big_key?partNumber=[0-9]*&uploadId=$upload_id -> 200" "$LAST_ERR" || true)
grep -q "PUT /$S3_BUCKET/resume/$big_key?partNumber=1&" "$LAST_ERR" && fail "part 1 was sent again"
[ "$sent" -eq $((3 - reused)) ] || fail "the second push sent $sent parts, expected $((3 - reused))"
note "second push: $reused parts kept, $sent sent"

run_ok s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --output json
grep -q UploadId "$LAST_OUT" && fail "multipart uploads were left behind: $(cat "$LAST_OUT")"
while IFS= read -r key; do
    s3cli s3 cp --only-show-errors "s3://$S3_BUCKET/resume/$key" "$SCRATCH/fetched" ||
        fail "aws s3 cp of $key failed"
    cmp -s "$SCRATCH/fetched" "$SCRATCH/staging/$key" || fail "$key differs from staging"
done < <(cd "$SCRATCH/staging" && find data -type f | sort)

# the clean machine
rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
run_ok ofs verify --from cloud --read-data
run_ok ofs restore --latest --from cloud --target "$SCRATCH/restore"
cmp "$src/big.bin" "$SCRATCH/restore$src/big.bin" || fail "big.bin restored differs"
echo "PASS: $CASE_NAME ($id)"
