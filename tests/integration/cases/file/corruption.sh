#!/usr/bin/env bash
# corruption: damage a committed backup in six ways - a flipped byte, a truncated volume, a
# missing volume, two volumes swapped, the catalog swapped with another backup's, a wrong key.
# Each time verify must fail naming the object and the kind of damage, and a restore into a
# directory that already holds files must fail, leave no file of a damaged volume under its
# final name, leave no temporary files, and leave the files that were there untouched.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
make_tree "$src"
make_config "$CONFIG" "$src"
run_ok ofs init
run_ok ofs backup
first=$(latest_id "$SCRATCH/staging")
printf 'changed for the second backup\n' >> "$src/files/small.txt"
run_ok ofs backup --full
id=$(latest_id "$SCRATCH/staging")
[ "$id" != "$first" ] || fail "two backups got the same id"
note "backups $first and $id"
dir=$(backup_dir "$SCRATCH/staging" "$id")
first_dir=$(backup_dir "$SCRATCH/staging" "$first")
[ -f "$dir/vol-0003.ofs" ] || fail "expected at least 3 volumes in $dir"
cp -a "$SCRATCH/staging" "$SCRATCH/pristine"
run_ok ofs verify "$id" --read-data

# another key file, for the wrong-key case
python3 - "$SCRATCH/key/other.key" << 'PY'
import os, sys
sys.path.insert(0, os.environ["TOOLS"])
import ofs_format
key = os.urandom(32)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, ("offsite-key v1 %s 2026-01-01T00:00:00Z %s\n"
              % (ofs_format.key_id_of(key).hex(), key.hex())).encode())
os.close(fd)
PY
sed "s|^key_file = .*|key_file = $SCRATCH/key/other.key|" "$CONFIG" > "$SCRATCH/wrongkey.ini"

AUTH="authentication failed"
SHA="SHA-256 mismatch"

# check_restore_failed LABEL CONFIG AFFECTED_VOLS ("all" = nothing may be restored)
check_restore_failed() {
    local label=$1 config=$2 affected=$3 t=$SCRATCH/target-$1
    mkdir -p "$t/unrelated" "$t$src/files"
    printf 'keep me\n' > "$t/unrelated/keep.txt"
    # a pre-existing file where a file of the damaged volume would go
    local victim=""
    if [ "$affected" != all ]; then
        # shellcheck disable=SC2086
        victim=$(catalog_paths "$SCRATCH/pristine" "$id" $affected | sed -n 1p)
        [ -n "$victim" ] || fail "$label: no file in volume(s) $affected"
        mkdir -p "$(dirname "$t/$victim")"
        printf 'pre-existing\n' > "$t/$victim"
    fi
    touch -d "2020-01-01 00:00:00.5" "$t/unrelated/keep.txt" ${victim:+"$t/$victim"}
    local before
    before=$(cd "$t" && find . -type f -printf '%p %s %T@ %i\n' | sort)
    run_fails nonzero "*" "$OFFSITE_BIN" -c "$config" restore "$id" --target "$t"
    note "$label: restore exited $LAST_RC: $(head -c 300 "$LAST_ERR" | tr '\n' ' ')"
    [ "$(cat "$t/unrelated/keep.txt")" = "keep me" ] || fail "$label: restore changed unrelated/keep.txt"
    if [ -n "$victim" ]; then
        [ -f "$t/$victim" ] && [ "$(cat "$t/$victim")" = "pre-existing" ] ||
            fail "$label: restore replaced or removed the pre-existing '$victim'"
    fi
    python3 - "$t" "$src" "$label" "$affected" "$SCRATCH/cat.paths" "$SCRATCH/affected.paths" "$before" << 'PY' ||
import os, sys
t, src, label, affected, all_paths, affected_paths, before = sys.argv[1:8]
pre = {l.split(" ")[0][2:] for l in before.splitlines() if l}
catalog = set(open(all_paths).read().splitlines())
damaged = set(open(affected_paths).read().splitlines())
bad = []
for dirpath, dirs, files in os.walk(t):
    for n in files:
        rel = os.path.relpath(os.path.join(dirpath, n), t)
        if rel in pre:
            continue
        if affected == "all":
            bad.append("%s: restored although the backup is unreadable" % rel)
        elif rel not in catalog:
            bad.append("%s: not a file of the backup (temporary file?)" % rel)
        elif rel in damaged:
            bad.append("%s: from a damaged volume, left under its final name" % rel)
        else:
            with open(os.path.join(t, rel), "rb") as a, open("/" + rel, "rb") as b:
                if a.read() != b.read():
                    bad.append("%s: content differs from the source" % rel)
for b in bad:
    print("%s: %s" % (label, b))
sys.exit(1 if bad else 0)
PY
        fail "$label: restore left the files listed above"
    local after
    after=$(cd "$t" && find . -type f -printf '%p %s %T@ %i\n' | sort | grep -Fxf <(printf '%s\n' "$before") || true)
    [ "$after" = "$before" ] || fail "$label: pre-existing files changed"
}

# damage LABEL: reset staging to the pristine copy, then apply one kind of damage
reset_staging() {
    rm -rf "$SCRATCH/staging"
    cp -a "$SCRATCH/pristine" "$SCRATCH/staging"
}

catalog_paths "$SCRATCH/pristine" "$id" > "$SCRATCH/cat.paths"
affected_paths() { if [ "$1" = all ]; then : > "$SCRATCH/affected.paths"; else
    # shellcheck disable=SC2086
    catalog_paths "$SCRATCH/pristine" "$id" $1 > "$SCRATCH/affected.paths"; fi; }

# 1. a flipped byte in the middle of vol-0001
reset_staging
python3 - "$dir/vol-0001.ofs" << 'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    size = os.fstat(f.fileno()).st_size
    f.seek(size // 2); b = f.read(1); f.seek(size // 2); f.write(bytes([b[0] ^ 0x01]))
PY
run_fails nonzero "*vol-0001*@($AUTH|$SHA)*" ofs verify "$id" --read-data
affected_paths 1; check_restore_failed flip "$CONFIG" 1

# 2. a truncated volume (the last 100 bytes of vol-0002 cut off)
reset_staging
truncate -s -100 "$dir/vol-0002.ofs"
run_fails nonzero "*vol-0002*@($AUTH|$SHA|*size*)*" ofs verify "$id" --read-data
affected_paths 2; check_restore_failed truncate "$CONFIG" 2

# 3. a missing volume
reset_staging
rm "$dir/vol-0003.ofs"
run_fails nonzero "*vol-0003*not found*" ofs verify "$id" --read-data
affected_paths 3; check_restore_failed missing "$CONFIG" 3

# 4. two volumes swapped
reset_staging
mv "$dir/vol-0001.ofs" "$SCRATCH/swap.tmp"
mv "$dir/vol-0002.ofs" "$dir/vol-0001.ofs"
mv "$SCRATCH/swap.tmp" "$dir/vol-0002.ofs"
run_fails nonzero "*vol-000[12]*@($AUTH|$SHA|*size*|*object is*)*" ofs verify "$id" --read-data
affected_paths "1 2"; check_restore_failed swap "$CONFIG" "1 2"

# 5. the catalog replaced by the other backup's catalog
reset_staging
cp "$first_dir/catalog.ofs" "$dir/catalog.ofs"
run_fails nonzero "*catalog*@($AUTH|$SHA|*size*|*object is*)*" ofs verify "$id" --read-data
affected_paths all; check_restore_failed catalog "$CONFIG" all

# 6. the wrong key
reset_staging
run_fails nonzero "*@(key*|$AUTH|*MAC*)*" "$OFFSITE_BIN" -c "$SCRATCH/wrongkey.ini" verify "$id" --read-data
affected_paths all; check_restore_failed wrongkey "$SCRATCH/wrongkey.ini" all

# and the untouched backup still verifies and restores
reset_staging
run_ok ofs verify "$id" --read-data
echo "PASS: $CASE_NAME"
