#!/usr/bin/env bash
# clean_machine: back up and push to a file target; then lose the host's state and staging
# (a fresh, empty state dir and no staging dir) and, with only the config and the key, list
# the target and restore from it.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
make_tree "$src"
make_config "$CONFIG" "$src" nas
run_ok ofs init
run_ok ofs backup
id=$(latest_id "$SCRATCH/targets/nas")
note "backup $id on nas"

# the clean machine: same config and key file, nothing else
rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"

run_ok ofs list --from nas
expect_glob "$LAST_OUT" "*$id*" "list --from nas output"

run_ok ofs restore --latest --from nas --target "$SCRATCH/restore"
compare_trees "$src" "$SCRATCH/restore$src"

run_ok ofs verify --from nas --read-data

# without --from, restore must find the backup on the first target that has it
run_ok ofs restore "$id" --target "$SCRATCH/restore2"
compare_trees "$src" "$SCRATCH/restore2$src"
echo "PASS: $CASE_NAME"
