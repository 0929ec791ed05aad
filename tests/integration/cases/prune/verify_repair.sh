#!/usr/bin/env bash
# verify_repair: verify reports a manifest entry whose record is gone and a record the manifest
# lacks (exit 5, both named); verify --repair rebuilds the manifest from the records, says
# what changed, and verify then passes; a second --repair has nothing to do; the data left
# without its record is an orphan the next prune removes.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
make_config "$CONFIG" "$src"
run_ok ofs init
staging=$SCRATCH/staging

for d in 01 02 03; do
    echo "night $d" > "$src/file"
    OFFSITE_NOW=2026-04-${d}T22:00:00Z run_ok ofs backup --no-push
done
old_manifest=$SCRATCH/manifest.old
cp "$staging/manifest.json" "$old_manifest"
echo "night 04" > "$src/file"
OFFSITE_NOW=2026-04-04T22:00:00Z run_ok ofs backup --no-push
lacked=data_20260404_220000
gone=data_20260402_220000
# the manifest from before the fourth backup: it lacks that backup's record
cp "$old_manifest" "$staging/manifest.json"
# the second backup's record deleted by hand: the manifest lists a backup without a record
rm "$(backup_dir "$staging" "$gone")/backup.json"

run_fails 5 "*'$lacked' is missing from the manifest*" ofs verify
expect_glob "$LAST_ERR" "*the manifest lists backup '$gone', which has no record*" "verify stderr"
run_fails 5 "*" ofs verify --json
python3 - "$LAST_OUT" "$lacked" "$gone" << 'PY' || fail "verify --json does not list both problems"
import json, sys
out = json.load(open(sys.argv[1]))
problems = {(p["backup"], p["code"]) for p in out["problems"]}
assert (sys.argv[2], "corrupt") in problems and (sys.argv[3], "not found") in problems, problems
assert out["error"]["exit"] == 5
PY

run_ok ofs verify --repair
expect_glob "$LAST_OUT" "*staging: manifest: added $lacked (a record the manifest lacked)*" "verify --repair"
expect_glob "$LAST_OUT" "*staging: manifest: removed $gone (*" "verify --repair"
expect_glob "$LAST_OUT" "*rebuilt from the records (2 changes)*0 problems*" "verify --repair"
python3 - "$staging/manifest.json" "$lacked" "$gone" << 'PY' || fail "the repaired manifest is wrong"
import json, sys
ids = [e["id"] for e in json.load(open(sys.argv[1]))["backups"]]
assert ids == ["data_20260401_220000", "data_20260403_220000", sys.argv[2]], ids
PY
run_ok ofs verify
run_ok ofs verify --repair --json
python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["repair"]; assert r == {"changes": [], "saved": False}, r' "$LAST_OUT" ||
    fail "a second repair changed something"
run_ok ofs list
expect_glob "$LAST_OUT" "*$lacked*" "list"

# --repair is for a whole store, and takes the lock
run_fails 64 "*--repair*no backup id*" ofs verify --repair "$lacked"

# what the deleted record left behind is an orphan: prune removes it, and nothing else
[ -d "$(backup_dir "$staging" "$gone")" ] || fail "the data of '$gone' should still be there"
OFFSITE_NOW=2026-04-04T22:05:00Z run_ok ofs prune
expect_glob "$LAST_OUT" "*delete*data/*/$gone/*no backup.json*" "prune output"
[ -z "$(compgen -G "$staging/data/*/$gone")" ] || fail "prune left the orphan '$gone'"
[ "$(count_records "$staging")" -eq 3 ] || fail "prune deleted a backup the policy keeps"
run_ok ofs verify
echo "PASS: $CASE_NAME"
