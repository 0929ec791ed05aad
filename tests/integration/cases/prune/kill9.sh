#!/usr/bin/env bash
# kill9 (prune): kill -9 `offsite prune` at random moments while it deletes ~150 backups of ~13
# objects each, several rounds from the same store. After each kill: no record without all its
# data (size and SHA-256), no manifest entry without its record, verify reports nothing but
# backups the manifest already dropped; then a second prune removes every orphan and leaves
# exactly what an uninterrupted prune leaves, and verify passes.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
OFS_VOLUME_SIZE=64K make_config "$CONFIG" "$src"
cat >> "$CONFIG" << 'EOF'

[retention]
daily = 1
weekly = 0
monthly = 0
keep_last = 1
EOF
run_ok ofs init
staging=$SCRATCH/staging

nights=150
for n in $(seq 1 $nights); do
    for k in 1 2 3 4 5 6 7 8 9 10; do head -c 70000 /dev/urandom > "$src/f$k.bin"; done
    OFFSITE_NOW=$(date -u -d "2026-01-01 22:00 UTC + $n days" +%Y-%m-%dT%H:%M:%SZ) run_ok ofs backup --no-push
done
now=$(date -u -d "2026-01-01 22:05 UTC + $nights days" +%Y-%m-%dT%H:%M:%SZ)
newest=$(latest_id "$staging")
objects=$(find "$staging/data" -type f | wc -l)
note "$(count_records "$staging") backups, $objects objects"
cp -a "$staging" "$SCRATCH/pristine"

# check_store: every record's objects with their size and SHA-256; every manifest entry has a
# record; prints "RECORDS ORPHAN-FOLDERS"
check_store() {
    python3 - "$staging" << 'PY' || fail "the store breaks an invariant after the kill (above)"
import glob, hashlib, json, os, sys
root = sys.argv[1]
bad = 0
records = set()
for rec_path in glob.glob(os.path.join(root, "data", "*", "*", "backup.json")):
    rec = json.load(open(rec_path))
    records.add(rec["id"])
    d = os.path.dirname(rec_path)
    for o in rec["objects"]:
        p = os.path.join(d, o["name"])
        if not os.path.exists(p):
            print("%s: record without its %s" % (rec["id"], o["name"])); bad = 1; continue
        with open(p, "rb") as f:
            data = f.read()
        if len(data) != o["size"] or hashlib.sha256(data).hexdigest() != o["sha256"]:
            print("%s: %s differs from its record" % (rec["id"], o["name"])); bad = 1
m = os.path.join(root, "manifest.json")
if os.path.exists(m):
    for e in json.load(open(m))["backups"]:
        if e["id"] not in records:
            print("the manifest lists %s, which has no record" % e["id"]); bad = 1
folders = {os.path.basename(d) for d in glob.glob(os.path.join(root, "data", "*", "*"))}
print(len(records), len(folders - records))
sys.exit(bad)
PY
}

# how long an uninterrupted prune takes, and what it leaves
start=$(date +%s%N)
OFFSITE_NOW=$now run_ok ofs prune
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(count_records "$staging")" -eq 1 ] || fail "an uninterrupted prune left $(count_records "$staging") backups"
note "an uninterrupted prune takes ${elapsed_ms} ms"
[ "$elapsed_ms" -ge 100 ] || skip "prune finishes in ${elapsed_ms} ms: too fast to be killed in the middle"

mid=0
for round in 1 2 3 4 5 6 7 8; do
    rm -rf "$staging"
    cp -a "$SCRATCH/pristine" "$staging"
    # a random moment within the run (the first ~30 ms are start-up and the listing)
    delay_ms=$(( 20 + RANDOM % (elapsed_ms * 9 / 10) ))
    OFFSITE_NOW=$now "$OFFSITE_BIN" -c "$CONFIG" prune > "$SCRATCH/killed.out" 2>&1 &
    pid=$!
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    if kill -9 "$pid" 2> /dev/null; then wait "$pid" 2> /dev/null || true; else wait "$pid" || true; fi
    read -r records orphans <<< "$(check_store)"
    note "round $round: killed after ${delay_ms} ms: $records backups, $orphans orphan folders left"
    [ "$records" -gt 1 ] && [ "$records" -lt "$nights" ] && mid=$((mid + 1))

    # verify: backups the manifest dropped before the kill are the only thing it may report
    LAST_RC=0
    ofs verify > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
    if [ "$LAST_RC" -ne 0 ]; then
        if grep -v "is missing from the manifest" "$LAST_ERR" | grep -v "problems\? found" | grep -q .; then
            cat "$LAST_ERR" >&2
            fail "round $round: verify reports more than backups the manifest already dropped"
        fi
    fi
    OFFSITE_NOW=$now run_ok ofs prune
    read -r records orphans <<< "$(check_store)"
    [ "$records" -eq 1 ] && [ "$orphans" -eq 0 ] ||
        fail "round $round: the second prune left $records backups and $orphans orphan folders"
    [ -f "$(backup_dir "$staging" "$newest")/backup.json" ] || fail "the newest backup is gone"
    [ "$(find "$staging/data" -type f | wc -l)" -eq "$(find "$(backup_dir "$staging" "$newest")" -type f | wc -l)" ] ||
        fail "round $round: objects outside the one backup left"
    run_ok ofs verify
done
[ "$mid" -gt 0 ] || skip "no kill landed in the middle of the deletions"
note "$mid of 8 kills landed in the middle of the deletions"
echo "PASS: $CASE_NAME"
