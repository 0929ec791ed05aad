#!/usr/bin/env bash
# roundtrip: the full cycle against the Cloud Storage emulator (firebase-tools; one start for
# every check): config check, init (the emulator ignores preconditions: init must say manifest
# updates are check-then-write), backup, push, push again (nothing to do), a differential
# backup and its push, every object byte-identical to staging (read back with curl), a small
# listing page size (pageToken); then as a clean machine list --from the target, restore,
# verify --read-data, drill; prune with a short policy deletes from the target too. What the
# emulator cannot check (chunked resumable uploads, ifGenerationMatch, auth) is in
# test_gcs_scripted, not claimed here.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/gcs.sh"

gcs_start

src=$SCRATCH/src
make_tree "$src"
head -c $((3 * 1024 * 1024)) /dev/urandom > "$src/files/big.bin"
# shellcheck disable=SC2034 # read by make_config
OFS_VOLUME_SIZE=1M
make_config "$CONFIG" "$src"
add_gcs_target "$CONFIG" cloud prefix=fleet/testhost parallel=3
run_ok ofs config check
run_ok ofs init
expect_glob "$LAST_OUT" "*target cloud: ok (gcs gs://$GCS_BUCKET/fleet/testhost/ at $GCS_ENDPOINT; manifest updates check-then-write*" "init output"
[ -z "$(gcs_objects fleet/testhost/offsite-probe/)" ] || fail "init left its probe objects behind"

night() { date -u -d "2026-03-0$1 22:00 UTC" +%Y-%m-%dT%H:%M:%SZ; }
OFFSITE_NOW=$(night 2) run_ok ofs backup
full=$(latest_id "$SCRATCH/staging")
expect_glob "$LAST_OUT" "*push cloud: 1 backup pushed*" "first push"
echo "appended" >> "$src/files/big.bin"
head -c 100000 /dev/urandom > "$src/new.bin"
OFFSITE_NOW=$(night 3) run_ok ofs backup --no-push
diff_id=$(latest_id "$SCRATCH/staging")
[ "$diff_id" != "$full" ] || fail "no second backup"
run_ok ofs push
expect_glob "$LAST_OUT" "*push cloud: 1 backup pushed, 1 already there*" "differential push"
run_ok ofs push
expect_glob "$LAST_OUT" "*0 backups pushed, 2 already there*" "push with nothing to do"

# every committed object, byte for byte, read back over the JSON API with curl
staged=$(cd "$SCRATCH/staging" && find manifest.json data -type f | sort)
listed=$(gcs_objects fleet/testhost/ | sed 's|^fleet/testhost/||')
[ "$staged" = "$listed" ] || fail "objects on the target differ from staging:
$(diff <(echo "$staged") <(echo "$listed"))"
while IFS= read -r key; do
    [ "$key" = manifest.json ] && continue
    enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "fleet/testhost/$key")
    curl -sf -o "$SCRATCH/fetched" "$GCS_ENDPOINT/storage/v1/b/$GCS_BUCKET/o/$enc?alt=media" ||
        fail "curl of $key failed"
    cmp -s "$SCRATCH/fetched" "$SCRATCH/staging/$key" || fail "$key differs from staging"
done <<< "$staged"
note "$(wc -l <<< "$staged") objects identical to staging"

# the clean machine: only the config and the key; listing pages of 2 objects
rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
OFFSITE_GCS_MAX_RESULTS=2 run_ok ofs list --from cloud
expect_glob "$LAST_OUT" "*$diff_id*diff*$full*full*" "list --from cloud"
OFFSITE_GCS_MAX_RESULTS=2 run_ok ofs verify --from cloud --read-data
run_ok ofs restore --latest --from cloud --target "$SCRATCH/restore"
compare_trees "$src" "$SCRATCH/restore$src"
run_ok ofs drill --from cloud
expect_glob "$LAST_OUT" "*$diff_id*" "drill output"
# the bearer token never reaches the output, not with -v, not in --json, not in an error
run_ok ofs -v --json list --from cloud
if grep -q "$OFFSITE_GCS_TOKEN" "$LAST_OUT" "$LAST_ERR"; then fail "the token reached the output"; fi
run_fails nonzero "*data_20000101_000000*" ofs -v --json verify data_20000101_000000 --from cloud
if grep -q "$OFFSITE_GCS_TOKEN" "$LAST_OUT" "$LAST_ERR"; then fail "the token reached an error"; fi

# prune with a one-day policy: the full stays (the differential needs it), nothing is lost;
# then a later full makes both older backups expire on the target too
printf '\n[retention]\ndaily = 1\nweekly = 0\nmonthly = 0\nkeep_last = 1\n' >> "$CONFIG"
OFFSITE_NOW=$(night 9) run_ok ofs backup --full
latest=$(latest_id "$SCRATCH/staging")
OFFSITE_NOW=$(night 9) run_ok ofs prune
left=$(gcs_objects fleet/testhost/data/ | grep -c backup.json || true)
[ "$left" = 1 ] || fail "prune left $left records on the target: $(gcs_objects fleet/testhost/data/)"
gcs_objects fleet/testhost/data/ | grep -q "$latest/backup.json" || fail "prune deleted the newest backup"
run_ok ofs verify --from cloud
run_ok ofs list --from cloud
if grep -q "$full" "$LAST_OUT"; then fail "the pruned backup is still listed"; fi
echo "PASS: $CASE_NAME"
