#!/usr/bin/env bash
# wrong_key: a repository is bound to its key. With a newly generated key in place of the
# repository's, every command that reads or writes staging or a target is refused with exit 4
# (status: critical, exit 2) and one message naming both key ids - list never says "no backups", backup commits nothing,
# no manifest is rewritten (also when staging's manifest was lost and would be rebuilt). With
# the right key back everything verifies. `key generate` refuses an existing key file; `key
# rotate` adds a key that encrypts new backups while the old ones still restore.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
echo "AAPL 100" > "$src/positions.csv"
make_config "$CONFIG" "$src" nas
run_ok ofs init
run_ok ofs backup
echo "MSFT 50" >> "$src/positions.csv"
run_ok ofs backup --full
first=$(latest_id "$SCRATCH/staging")
key=$SCRATCH/key/offsite.key
old_id=$(ofs key id | awk 'NR == 1 { print $1 }')

# generate refuses an existing key file
run_fails 11 "*key file*exists already*HINT: *key rotate*" ofs key generate

# the wrong key: a new key file in place of the repository's
mv "$key" "$SCRATCH/right.key"
run_ok ofs key generate
new_id=$(ofs key id | awk 'NR == 1 { print $1 }')
[ "$new_id" != "$old_id" ] || fail "the new key has the old id"
snapshot() { find "$SCRATCH/staging" "$SCRATCH/targets" -type f -exec sha256sum {} + | sort; }
before=$(snapshot)
records=$(count_records "$SCRATCH/staging")

both="*$old_id*not in the key file*$new_id*HINT: *another key*"
run_fails 4 "$both" ofs list
if grep -qi "no backups" "$LAST_OUT"; then fail "list said 'no backups' under the wrong key"; fi
run_fails 4 "$both" ofs --json list
python3 - "$LAST_OUT" << 'PY' || fail "list --json under the wrong key is not an error of kind 'wrong key'"
import json, sys
doc = json.load(open(sys.argv[1]))
assert "backups" not in doc, doc
assert doc["error"]["code"] == "wrong key" and doc["error"]["exit"] == 4, doc
PY
run_fails 4 "$both" ofs list --from nas
run_fails 4 "$both" ofs backup
run_fails 4 "$both" ofs backup --no-push
run_fails 4 "$both" ofs push
run_fails 4 "$both" ofs prune
run_fails 4 "$both" ofs verify
run_fails 4 "$both" ofs verify --from nas
run_fails 4 "$both" ofs verify --repair
run_fails 4 "*$old_id*not in the key file*$new_id*" ofs restore --latest --target "$SCRATCH/r0"
run_fails 4 "$both" ofs drill
run_fails 4 "$both" ofs forget "$first" --yes
run_fails 4 "$both" ofs rebuild --yes --target "$SCRATCH/r0"
# status keeps its monitoring exits (0 ok, 1 warning, 2 critical): critical, with both ids
run_fails 2 "*" ofs status
expect_glob "$LAST_OUT" "*critical*data*$old_id*not in the key file*$new_id*" "status under the wrong key"
[ "$(count_records "$SCRATCH/staging")" = "$records" ] || fail "a backup was committed under the wrong key"
[ "$(snapshot)" = "$before" ] || fail "the repository changed under the wrong key"
[ ! -e "$SCRATCH/r0/${src#/}/positions.csv" ] || fail "restore wrote a file under the wrong key"

# staging's manifest lost: the rebuild refuses what it cannot check instead of leaving it out
mv "$SCRATCH/staging/manifest.json" "$SCRATCH/manifest.saved"
run_fails 4 "*backup.json*$old_id*not in the key file*$new_id*" ofs list
run_fails 4 "*$old_id*not in the key file*" ofs backup --no-push
[ ! -e "$SCRATCH/staging/manifest.json" ] || fail "a manifest was written under the wrong key"
[ "$(count_records "$SCRATCH/staging")" = "$records" ] || fail "a backup was committed under the wrong key"

# the right key back: the lost manifest is rebuilt, both backups list and verify
cp "$key" "$SCRATCH/wrong.key"
mv "$SCRATCH/right.key" "$key"
run_ok ofs list
[ "$(grep -c "^data_" "$LAST_OUT")" = 2 ] || fail "list with the right key: $(cat "$LAST_OUT")"
run_ok ofs verify
run_ok ofs verify --from nas --read-data

# rotation: the new key encrypts new backups, the old ones still restore and verify
run_ok ofs key rotate
expect_glob "$LAST_OUT" "*added key*rotation*" "key rotate"
[ "$(ofs key id | wc -l)" = 2 ] || fail "key rotate did not add a key"
rotated_id=$(ofs key id | awk 'NR == 2 { print $1 }')
echo "TSLA 7" >> "$src/positions.csv"
run_ok ofs backup
third=$(latest_id "$SCRATCH/staging")
grep -q "\"key_id\": \"$rotated_id\"" "$(backup_dir "$SCRATCH/staging" "$third")/backup.json" ||
    fail "the backup after rotation is not under the new key"
grep -q "\"key_id\": \"$old_id\"" "$(backup_dir "$SCRATCH/staging" "$first")/backup.json" ||
    fail "the old backup's record changed"
run_ok ofs verify --from nas --read-data
run_ok ofs restore "$first" --target "$SCRATCH/r1"
grep -q MSFT "$SCRATCH/r1/${src#/}/positions.csv" || fail "the old backup did not restore after rotation"
# rotate on a missing key file: nothing to rotate
run_fails 3 "*does not exist: nothing to rotate*" ofs key rotate --key-file "$SCRATCH/nokey/k"

# a key file holding only a foreign key is still refused after rotation (the repository now
# names two ids; the wrong key holds neither)
mv "$key" "$SCRATCH/right.key"
cp "$SCRATCH/wrong.key" "$key"
run_fails 4 "*not in the key file*$new_id*" ofs list
mv "$SCRATCH/right.key" "$key"
run_ok ofs list
echo "PASS: $CASE_NAME"
