#!/usr/bin/env bash
# kill9: kill -9 a backup at several moments, then: no record without all its data, list shows
# no partial backup, verify passes, and a rerun succeeds and leaves in staging no temporary
# file and no folder of an abandoned backup. The same for push: kill -9 during the
# push to a target, then a second push completes and the target verifies byte for byte.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/kill_rounds.sh"

src=$SCRATCH/src
mkdir -p "$src"
# ~200 MB: random (incompressible) and text, so a backup takes a few seconds
for i in $(seq 1 12); do head -c 12000000 /dev/urandom > "$src/random-$i.bin"; done
python3 -c '
import sys
line = "".join("%06d,XNAS,AAPL,BUY,100,187.25,fill\n" % i for i in range(100000))
for n in range(6):
    with open(sys.argv[1] + "/fills-%d.csv" % n, "w") as f:
        f.write(line * 2)' "$src"
OFS_VOLUME_SIZE=16M make_config "$CONFIG" "$src" nas
run_ok ofs init
staging=$SCRATCH/staging

# check_store ROOT: every record's objects exist with the recorded size and SHA-256
check_store() {
    python3 - "$1" << 'PY' || fail "store $1 holds a record without all its data (above)"
import glob, hashlib, json, os, sys
root = sys.argv[1]
bad = 0
for rec_path in glob.glob(os.path.join(root, "data", "*", "*", "backup.json")):
    rec = json.load(open(rec_path))
    d = os.path.dirname(rec_path)
    for o in rec["objects"]:
        p = os.path.join(d, o["name"])
        if not os.path.exists(p):
            print("%s: %s missing" % (rec["id"], o["name"])); bad = 1; continue
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for c in iter(lambda: f.read(1 << 20), b""):
                h.update(c)
        if os.path.getsize(p) != o["size"] or h.hexdigest() != o["sha256"]:
            print("%s: %s size/SHA-256 differ from the record" % (rec["id"], o["name"])); bad = 1
sys.exit(bad)
PY
}

# check_list ROOT [--from T]: every id list shows has a record in ROOT
check_list() {
    local root=$1; shift
    run_ok ofs list "$@"
    local listed
    for listed in $(grep -oE 'data_[0-9]{8}_[0-9]{6}(_[0-9]+)?' "$LAST_OUT" | sort -u); do
        compgen -G "$root/data/*/$listed/backup.json" > /dev/null ||
            fail "list shows '$listed', which has no backup.json in $root"
    done
}

killed=0
for delay in 0.2 0.5 1 1.5 2.5; do
    if kill_after "$delay" "$OFFSITE_BIN" -c "$CONFIG" backup --no-push; then
        killed=$((killed + 1)); note "backup killed after ${delay}s"
    else
        note "backup finished before ${delay}s"
    fi
    check_store "$staging"
    check_list "$staging"
    if [ "$(count_records "$staging")" -gt 0 ]; then run_ok ofs verify --all; fi
done
[ "$killed" -gt 0 ] || skip "every backup finished before it could be killed (machine too fast for this data)"
records=$(count_records "$staging")
junk=$(find "$staging" -name '.tmp-*' | wc -l)
note "the kills left $junk temporary file(s) in staging"
run_ok ofs backup --no-push
[ "$(count_records "$staging")" -eq $((records + 1)) ] || fail "the rerun did not commit a backup"
left=$(find "$staging" -name '.tmp-*')
[ -z "$left" ] || fail "temporary files left after the rerun: $left"
for d in "$staging"/data/*/*/; do
    [ -f "$d/backup.json" ] || fail "folder of an abandoned backup left after the rerun: $d ($(ls -A "$d"))"
done
check_store "$staging"
run_ok ofs verify --all

# push: kill -9 while copying to the target, then push again
pkilled=0
for delay in 0.2 0.5 1; do
    if kill_after "$delay" "$OFFSITE_BIN" -c "$CONFIG" push; then
        pkilled=$((pkilled + 1)); note "push killed after ${delay}s"
    else
        note "push finished before ${delay}s"
    fi
    check_store "$SCRATCH/targets/nas"
    [ ! -f "$SCRATCH/targets/nas/manifest.json" ] || check_list "$SCRATCH/targets/nas" --from nas
done
note "push killed $pkilled time(s)"
run_ok ofs push
[ "$(count_records "$SCRATCH/targets/nas")" -eq "$(count_records "$staging")" ] ||
    fail "after push, nas holds $(count_records "$SCRATCH/targets/nas") backups, staging $(count_records "$staging")"
check_store "$SCRATCH/targets/nas"
run_ok ofs verify --all --from nas --read-data
echo "PASS: $CASE_NAME"
