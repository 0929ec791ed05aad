#!/usr/bin/env bash
# roundtrip: init, backup (pushed to a file target), list, ls, restore --latest into an empty
# directory and compare everything; verify --read-data on staging and on the target; status.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
make_tree "$src"
make_config "$CONFIG" "$src" nas

run_ok ofs config check
run_ok ofs init
expect_glob "$LAST_OUT" "*target nas: ok (file *; manifest updates atomic)*" "init output"
[ -f "$SCRATCH/key/offsite.key" ] || fail "init did not create the key file"
[ "$(stat -c %a "$SCRATCH/key/offsite.key")" = 600 ] || fail "key file mode is not 0600"

run_ok ofs backup
id=$(latest_id "$SCRATCH/staging")
note "backup $id"
dir=$(backup_dir "$SCRATCH/staging" "$id")
vols=$(find "$dir" -name 'vol-*.ofs' | wc -l)
[ "$vols" -ge 3 ] || fail "expected several volumes with volume_size $OFS_VOLUME_SIZE, got $vols"
[ -f "$dir/catalog.ofs" ] || fail "no catalog.ofs in $dir"
[ -f "$SCRATCH/staging/manifest.json" ] || fail "no manifest.json in staging"
[ -f "$(backup_dir "$SCRATCH/targets/nas" "$id")/backup.json" ] || fail "backup $id was not pushed to nas"

run_ok ofs list
expect_glob "$LAST_OUT" "*$id*" "list output"

run_ok ofs ls "$id"
expect_glob "$LAST_OUT" "*résumé café.txt*" "ls output"
expect_glob "$LAST_OUT" "*files/sparse.img*" "ls output"
expect_glob "$LAST_OUT" "*日本語/日本語.txt*" "ls output"

mkdir "$SCRATCH/restore"
run_ok ofs restore --latest --target "$SCRATCH/restore"
compare_trees "$src" "$SCRATCH/restore$src"

run_ok ofs verify --read-data
run_ok ofs verify --from nas --read-data
run_ok ofs status
echo "PASS: $CASE_NAME"
