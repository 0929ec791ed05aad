#!/usr/bin/env bash
# kill9: a push to the Cloud Storage emulator killed -9 in the middle of a volume (a bwlimit
# slows it down): the target holds no record of the backup (it does not exist there yet), the
# next push completes it - objects already there skipped - and a clean machine verifies every
# byte and restores. On the emulator each volume is one request (it has no chunked resumable
# uploads), so the killed volume is sent again whole; resuming a session mid-volume is
# test_gcs_scripted's.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/gcs.sh"

gcs_start

src=$SCRATCH/src
mkdir -p "$src"
for i in 1 2 3; do head -c $((1024 * 1024)) /dev/urandom > "$src/part-$i.bin"; done
# shellcheck disable=SC2034 # read by make_config
OFS_VOLUME_SIZE=1M
make_config "$CONFIG" "$src"
add_gcs_target "$CONFIG" cloud prefix=k9 bwlimit=400K
run_ok ofs init
run_ok ofs backup --no-push
id=$(latest_id "$SCRATCH/staging")

"$OFFSITE_BIN" -c "$CONFIG" -v push > "$SCRATCH/killed.out" 2>&1 &
pid=$!
# wait for the first volume to be on the target, then kill in the middle of a later one
for ((i = 0; i < 150; i++)); do
    [ -n "$(gcs_objects "k9/data/" | grep vol-)" ] && break
    sleep 0.2
done
sleep 1
kill -9 "$pid" 2> /dev/null || fail "the push ended before it could be killed: $(cat "$SCRATCH/killed.out")"
wait "$pid" 2> /dev/null || true
before=$(gcs_objects k9/data/ | grep -c vol- || true)
note "killed with $before volumes on the target"
[ "$before" -ge 1 ] || fail "no volume reached the target before the kill"
if gcs_objects k9/data/ | grep -q backup.json; then fail "a record reached the target before its volumes"; fi

sed -i '/^bwlimit = /d' "$CONFIG"
run_ok ofs -v push
expect_glob "$LAST_OUT" "*push cloud: 1 backup pushed*" "push after the kill"
expect_glob "$LAST_OUT" "*$before skipped*" "push after the kill (objects already there)"

rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
run_ok ofs verify --from cloud --read-data
run_ok ofs restore "$id" --from cloud --target "$SCRATCH/restore"
for i in 1 2 3; do cmp "$src/part-$i.bin" "$SCRATCH/restore$src/part-$i.bin" || fail "part-$i differs"; done
echo "PASS: $CASE_NAME"
