#!/usr/bin/env bash
# kill_junk: backup and push to a file target killed -9 at 20 random moments each (a seed in
# the log repeats them); one rerun of each leaves no .tmp file and no folder of an abandoned
# backup in staging or on the target, and both verify.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/kill_rounds.sh"

src=$SCRATCH/src
kill_rounds_data "$src"
# 4 MiB volumes: many objects, many moments inside a write; 20 MiB/s: a push takes seconds
OFS_VOLUME_SIZE=4M make_config "$CONFIG" "$src" nas
sed -i '/^\[target nas\]/a bwlimit = 20M' "$CONFIG"
run_ok ofs init
kill_rounds_seed

target_junk() { folder_junk "$SCRATCH/targets/nas"; }
plant_junk() {
    mkdir -p "$SCRATCH/targets/nas/data/daily/planted"
    head -c 4096 /dev/urandom > "$SCRATCH/targets/nas/data/daily/planted/.tmp-vol-0001.ofs-00000000deadbeef"
}

kill_rounds_push 20 nas
kill_rounds_backup 20
echo "PASS: $CASE_NAME"
