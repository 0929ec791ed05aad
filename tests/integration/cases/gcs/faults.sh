#!/usr/bin/env bash
# faults: downloads from the Cloud Storage emulator cut half-way (tools/faultproxy.py, every
# 2nd response over 1 MiB) - a clean machine's restore and verify --read-data through the cut
# link resume each download with a Range request from the byte reached (the shared resuming
# reader) instead of failing or starting over, and restore the tree exactly. Uploads go
# straight to the emulator: it finalises a resumable upload at its first chunk, so a cut
# upload is tested against the scripted server (test_gcs_scripted), not here.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/gcs.sh"

gcs_start

src=$SCRATCH/src
make_tree "$src"
head -c $((6 * 1024 * 1024)) /dev/urandom > "$src/files/big.bin"
# shellcheck disable=SC2034 # read by make_config
OFS_VOLUME_SIZE=4M
make_config "$CONFIG" "$src"
add_gcs_target "$CONFIG" cloud prefix=flaky
run_ok ofs init
run_ok ofs backup
id=$(latest_id "$SCRATCH/staging")

stats=$SCRATCH/faults.json
python3 "$TOOLS/faultproxy.py" "${GCS_ENDPOINT#http://}" --cut-download-every 2 \
    --stats "$stats" > "$SCRATCH/proxy.port" &
register_pid $!
for _ in $(seq 50); do [ -s "$SCRATCH/proxy.port" ] && break; sleep 0.1; done
[ -s "$SCRATCH/proxy.port" ] || fail "the fault proxy did not start"
sed -i "s|^endpoint = $GCS_ENDPOINT\$|endpoint = http://127.0.0.1:$(cat "$SCRATCH/proxy.port")|" "$CONFIG"
grep -q "127.0.0.1:$(cat "$SCRATCH/proxy.port")" "$CONFIG" || fail "the target does not go through the proxy"

rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
run_ok ofs restore --latest --from cloud --target "$SCRATCH/restore"
compare_trees "$src" "$SCRATCH/restore$src"
grep -q "resum" "$LAST_ERR" || fail "no resumed download was logged: $(cat "$LAST_ERR")"
run_ok ofs verify --from cloud --read-data
cuts=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["cut_download"])' "$stats")
[ "$cuts" -ge 1 ] || fail "no download was cut"
note "restore and verify: $cuts downloads cut and resumed"
echo "PASS: $CASE_NAME ($id)"
