#!/usr/bin/env bash
# manifest_enospc: staging on a small tmpfs that fills exactly at manifest.json. The backup is
# committed (its record is written) but the manifest is not: backup exits 8, as a target's
# manifest failure at push does, with a HINT that holds - verify then rebuilds the manifest
# from the records (exit 0), and so does the next backup when verify did not run first. The
# push still delivers the committed backup.
. "$(dirname "$0")/../../lib.sh"

[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
mnt=$SCRATCH/mnt
mkdir -p "$mnt"
mount -t tmpfs -o size=4m tmpfs "$mnt" 2> /dev/null || skip "cannot mount a tmpfs here"
trap 'rc=$?; umount "$mnt" 2> /dev/null; (exit $rc); _ofs_cleanup' EXIT

src=$SCRATCH/src
mkdir -p "$src"
make_config "$CONFIG" "$src" nas
sed -i "s|^staging_dir = .*|staging_dir = $mnt/staging|" "$CONFIG"
run_ok ofs init
# a manifest of several pages: each backup adds an entry
for i in $(seq 1 24); do
    echo "fill $i" >> "$src/fills.log"
    run_ok ofs backup
done
manifest=$mnt/staging/manifest.json
[ "$(stat -c %s "$manifest")" -gt 8192 ] || fail "the manifest is smaller than expected: $(stat -c %s "$manifest")"

# fill the file system: room for the new backup's volume, catalog and record (a page each),
# not for a new copy of the manifest
fill_to() {
    rm -f "$mnt/fill"
    local avail
    avail=$(df -B1 --output=avail "$mnt" | tail -1)
    head -c $((avail - $1)) /dev/zero > "$mnt/fill"
}
records=$(count_records "$mnt/staging")
echo "fill 25" >> "$src/fills.log"
fill_to $((5 * 4096))
run_fails 8 "*committed, but staging's manifest was not updated*No space left*HINT: *verify*rebuilds*" ofs backup
[ "$(count_records "$mnt/staging")" = $((records + 1)) ] || fail "the backup was not committed"
id=$(latest_id "$mnt/staging")
grep -q "$id" "$manifest" && fail "the manifest names $id although its save failed"
# the push delivered it all the same
[ -f "$(backup_dir "$SCRATCH/targets/nas" "$id")/backup.json" ] || { ls "$mnt/staging/data/"*/ "$SCRATCH/targets/nas/data/"*/; cat "$LAST_OUT" "$LAST_ERR"; fail "$id was not pushed"; }

# verify rebuilds it, as the hint says
rm -f "$mnt/fill"
run_ok ofs verify
expect_glob "$LAST_OUT" "*added $id*rebuilt from the records*0 problems*" "verify after the full disk"
grep -q "$id" "$manifest" || fail "verify did not put $id into the manifest"
run_ok ofs verify
expect_glob "$LAST_OUT" "*0 problems*" "second verify"

# again, and this time the next backup repairs it (no verify between)
echo "fill 26" >> "$src/fills.log"
fill_to $((5 * 4096))
run_fails 8 "*manifest was not updated*" ofs backup
lost=$(latest_id "$mnt/staging")
rm -f "$mnt/fill"
echo "fill 27" >> "$src/fills.log"
run_ok ofs backup
grep -q "$lost" "$manifest" || fail "the next backup did not put $lost back into the manifest"
run_ok ofs verify
run_ok ofs list
expect_glob "$LAST_OUT" "*$lost*" "list"
echo "PASS: $CASE_NAME"
