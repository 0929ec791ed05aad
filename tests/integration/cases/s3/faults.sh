#!/usr/bin/env bash
# faults: a flaky link between offsite and radosgw (tools/faultproxy.py): every 4th request
# answered 503 SlowDown, every 2nd large upload (a multipart part) cut half-way, every 2nd
# large download cut half-way. The push still completes, every object is intact, and a
# clean machine restores and verifies --read-data through the same proxy (a cut download
# resumes with a Range request instead of starting over).
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

radosgw_start offsite-test || fail "radosgw did not start"

stats=$SCRATCH/faults.json
python3 "$TOOLS/faultproxy.py" "${S3_ENDPOINT#http://}" --slowdown-every 4 \
    --cut-upload-every 2 --cut-download-every 2 --stats "$stats" > "$SCRATCH/proxy.port" &
register_pid $!
for _ in $(seq 50); do [ -s "$SCRATCH/proxy.port" ] && break; sleep 0.1; done
[ -s "$SCRATCH/proxy.port" ] || fail "the fault proxy did not start"
proxy=http://127.0.0.1:$(cat "$SCRATCH/proxy.port")

src=$SCRATCH/src
make_tree "$src"
head -c $((12 * 1024 * 1024)) /dev/urandom > "$src/files/big.bin"
# shellcheck disable=SC2034 # read by make_config
OFS_VOLUME_SIZE=12M
make_config "$CONFIG" "$src"
S3_ENDPOINT=$proxy add_s3_target "$CONFIG" cloud prefix=flaky part_size=5M parallel=2
run_ok ofs init
run_ok ofs backup
id=$(latest_id "$SCRATCH/staging")
grep -q "retrying" "$LAST_ERR" || fail "no retry was logged: were faults injected?"

fault_count() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$stats" "$1"; }
[ "$(fault_count slowdown)" -ge 1 ] || fail "no SlowDown was injected"
[ "$(fault_count cut_upload)" -ge 1 ] || fail "no upload was cut"
note "push: $(fault_count requests) requests, $(fault_count slowdown) SlowDown, $(fault_count cut_upload) uploads cut"

# what reached the server is exactly what was staged (checked without the proxy)
while IFS= read -r key; do
    s3cli s3 cp --only-show-errors "s3://$S3_BUCKET/flaky/$key" "$SCRATCH/fetched" ||
        fail "aws s3 cp of $key failed"
    cmp -s "$SCRATCH/fetched" "$SCRATCH/staging/$key" || fail "$key differs from staging"
done < <(cd "$SCRATCH/staging" && find data -type f | sort)
run_ok s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --output json
grep -q UploadId "$LAST_OUT" && fail "multipart uploads were left behind"

rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
run_ok ofs restore --latest --from cloud --target "$SCRATCH/restore"
compare_trees "$src" "$SCRATCH/restore$src"
run_ok ofs verify --from cloud --read-data
[ "$(fault_count cut_download)" -ge 1 ] || fail "no download was cut"
note "after restore and verify: $(fault_count cut_download) downloads cut and resumed"
echo "PASS: $CASE_NAME ($id)"
