#!/usr/bin/env bash
# kill9 (prune): kill -9 `offsite prune` at random moments while it deletes ~150 backups of ~13
# objects each, several rounds from the same store: early (start-up, listing, manifest) after a
# random few milliseconds, then when a random number of records is left (polled, so the kill
# falls anywhere in the deletion of a backup, whatever the machine's speed). After each kill: no record without all its
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

# ids: the committed backups in staging, sorted, on one line
ids() { find "$staging/data" -name backup.json | awk -F/ '{ print $(NF-1) }' | sort | tr '\n' ' '; }

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
# a folder is an orphan if it holds objects without a record; a kill between the file store's
# last unlink and its rmdir can leave an empty directory, which holds no object at all
folders = {os.path.basename(d) for d in glob.glob(os.path.join(root, "data", "*", "*"))
           if any(files for _, _, files in os.walk(d))}
print(len(records), len(folders - records))
sys.exit(bad)
PY
}

# how long an uninterrupted prune takes, and what it leaves: the newest backup, and its base
# if it is a differential
start=$(date +%s%N)
OFFSITE_NOW=$now run_ok ofs prune
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kept=$(ids)
kept_count=$(count_records "$staging")
kept_files=$(find "$staging/data" -type f | wc -l)
[ "$kept_count" -le 2 ] && [[ " $kept" == *" $newest "* ]] || fail "an uninterrupted prune left: $kept"
note "an uninterrupted prune takes ${elapsed_ms} ms and leaves $kept"

mid=0
for round in 1 2 3 4 5 6 7 8; do
    rm -rf "$staging"
    cp -a "$SCRATCH/pristine" "$staging"
    OFFSITE_NOW=$now "$OFFSITE_BIN" -c "$CONFIG" prune > "$SCRATCH/killed.out" 2>&1 &
    pid=$!
    if [ "$round" -le 2 ]; then
        when="after $((round * 15 + RANDOM % 40)) ms"
        sleep "$(awk -v ms="${when//[^0-9]/}" 'BEGIN { printf "%.3f", ms / 1000 }')"
    else
        left=$(( kept_count + 1 + RANDOM % (nights - kept_count - 1) ))
        when="with $left records left"
        while kill -0 "$pid" 2> /dev/null && [ "$(count_records "$staging")" -gt "$left" ]; do
            sleep 0.005
        done
    fi
    if kill -9 "$pid" 2> /dev/null; then wait "$pid" 2> /dev/null || true; else wait "$pid" || true; fi
    read -r records orphans <<< "$(check_store)"
    note "round $round: killed $when: $records backups, $orphans orphan folders left"
    [ "$records" -gt "$kept_count" ] && [ "$records" -lt "$nights" ] && mid=$((mid + 1))

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
    [ "$orphans" -eq 0 ] || fail "round $round: the second prune left $orphans orphan folders"
    [ "$(ids)" = "$kept" ] || fail "round $round: the second prune left $(ids), not $kept"
    [ "$(find "$staging/data" -type f | wc -l)" -eq "$kept_files" ] ||
        fail "round $round: objects outside the kept backups left"
    run_ok ofs verify
done
[ "$mid" -gt 0 ] || skip "no kill landed in the middle of the deletions"
note "$mid of 8 kills landed in the middle of the deletions"
echo "PASS: $CASE_NAME"
