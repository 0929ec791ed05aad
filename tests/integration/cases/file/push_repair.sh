#!/usr/bin/env bash
# push_repair: objects on a target damaged after they arrived - a volume with flipped bytes
# (same size), a truncated catalog, a volume deleted - are found by verify (exit 5 or 3); a
# plain push does not see them (the backup is there); push --repair reads back every object,
# sends again from staging exactly the damaged ones and verify --read-data passes. A damaged
# staging copy is never sent as a repair.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
make_tree "$src"
OFS_VOLUME_SIZE=1M make_config "$CONFIG" "$src" nas
run_ok ofs init
run_ok ofs backup
id=$(latest_id "$SCRATCH/staging")
nas=$SCRATCH/targets/nas
dir=$(backup_dir "$nas" "$id")
mapfile -t vols < <(cd "$dir" && ls vol-*.ofs)
[ "${#vols[@]}" -ge 3 ] || fail "expected 3 or more volumes, got ${#vols[@]}"
total=$(( ${#vols[@]} + 1 ))

# flip bytes in the middle of one volume, truncate the catalog, delete another volume
python3 - "$dir/${vols[0]}" << 'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(200)
    b = f.read(8)
    f.seek(200)
    f.write(bytes(x ^ 0xff for x in b))
PY
truncate -s 100 "$dir/catalog.ofs"
rm "$dir/${vols[1]}"
run_fails nonzero "*" ofs verify --from nas
run_ok ofs push
expect_glob "$LAST_OUT" "*0 backups pushed, 1 already there*" "a plain push"

run_ok ofs push --repair
expect_glob "$LAST_OUT" "*repair: $total objects read back, 3 sent again*" "push --repair"
expect_glob "$LAST_ERR" "*'data/*/$id/${vols[0]}' has another SHA-256 than the record*" "the flipped volume"
expect_glob "$LAST_ERR" "*'data/*/$id/catalog.ofs' has another size than the record*" "the truncated catalog"
expect_glob "$LAST_ERR" "*'data/*/$id/${vols[1]}' is missing*" "the deleted volume"
run_ok ofs verify --from nas --read-data
for f in catalog.ofs "${vols[@]}"; do
    cmp -s "$dir/$f" "$(backup_dir "$SCRATCH/staging" "$id")/$f" || fail "$f on nas differs from staging"
done

# damage on both sides: the staging copy is checked before it is sent, nothing is committed
printf 'X' | dd of="$dir/${vols[2]}" bs=1 seek=300 conv=notrunc 2> /dev/null
sdir=$(backup_dir "$SCRATCH/staging" "$id")
printf 'X' | dd of="$sdir/${vols[2]}" bs=1 seek=300 conv=notrunc 2> /dev/null
before=$(sha256sum "$dir/${vols[2]}")
run_fails 5 "*${vols[2]}*the source copy is damaged*" ofs push --repair
[ "$(sha256sum "$dir/${vols[2]}")" = "$before" ] || fail "a damaged staging copy replaced the target's"
echo "PASS: $CASE_NAME"
