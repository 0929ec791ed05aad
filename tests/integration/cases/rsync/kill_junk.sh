#!/usr/bin/env bash
# kill_junk: backup and push to an rsync daemon killed -9 at 20 random moments each (a seed in
# the log repeats them); one rerun of each leaves on the remote disk no file in rsync's temp
# or partial directories and no folder of an abandoned backup, no spool directory of a dead
# run in the local cache, and no debris in staging; both verify.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/rsyncd.sh"
. "$OFS_SOURCE_DIR/tests/integration/kill_rounds.sh"

rsyncd_start || fail "the rsync daemon did not start"

src=$SCRATCH/src
kill_rounds_data "$src"
OFS_VOLUME_SIZE=4M make_config "$CONFIG" "$src"
add_rsync_target "$CONFIG" daemon "$RSYNCD_URL/fleet/testhost" \
    "password_file=$RSYNCD_PASSWORD_FILE" bwlimit=20M
run_ok ofs init
kill_rounds_seed

# rsync's own temporary and partial directories (.tmp-rsync, KEYDIR/.tmp-partial)
target_junk() {
    folder_junk "$RSYNCD_DIR/fleet/testhost" -path '*/.tmp*'
    find "$SCRATCH/state/cache" -maxdepth 1 -name 'rsync-*' 2> /dev/null | sed 's/^/local spool /'
}
# a spool of a process that is gone: the PID of a subshell that has ended
plant_junk() {
    local pid
    pid=$(sh -c 'echo $$')
    mkdir -p "$SCRATCH/state/cache/rsync-$pid-PLANTD/data"
    head -c 4096 /dev/urandom > "$SCRATCH/state/cache/rsync-$pid-PLANTD/data/vol-0001.ofs"
}

kill_rounds_push 20 daemon
kill_rounds_backup 20
echo "PASS: $CASE_NAME"
