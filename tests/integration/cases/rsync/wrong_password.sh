#!/usr/bin/env bash
# wrong_password: a daemon target whose password file holds the wrong password: backup still
# commits to staging, but the push to the target fails at once (no retries of an auth failure)
# with a message naming the target and saying the daemon refused the login; nothing reaches the
# module. A password file readable by others is refused before rsync runs, naming the file;
# then, with the right password, push delivers the backup.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/rsyncd.sh"

rsyncd_start || fail "the rsync daemon did not start"

src=$SCRATCH/src
mkdir -p "$src"
echo "positions" > "$src/positions.csv"
make_config "$CONFIG" "$src"
printf 'not-the-password\n' > "$SCRATCH/wrong.pw"
chmod 600 "$SCRATCH/wrong.pw"
cp "$CONFIG" "$SCRATCH/base.ini"
add_rsync_target "$CONFIG" vault "$RSYNCD_URL/host1" "password_file=$SCRATCH/wrong.pw"
run_ok ofs config check
mkdir -p "$SCRATCH/state" "$SCRATCH/staging"
run_ok ofs key generate

run_fails nonzero "*vault*refused the login*auth failed on module backup*" ofs -v backup
# a refused login is not transient: no retry
if grep -q 'retrying' "$LAST_ERR"; then fail "an auth failure was retried: $(cat "$LAST_ERR")"; fi
id=$(latest_id "$SCRATCH/staging")
note "backup $id committed to staging only"
[ -z "$(find "$RSYNCD_DIR" -type f)" ] || fail "files reached the module despite the wrong password"
run_fails nonzero "*vault*refused the login*" ofs push

# a password file others can read is refused by offsite itself, naming it
chmod 644 "$SCRATCH/wrong.pw"
run_fails nonzero "*vault*password_file '$SCRATCH/wrong.pw' is readable by group or others*" ofs push

# the right password: push delivers what staging holds
cp "$SCRATCH/base.ini" "$CONFIG"
add_rsync_target "$CONFIG" vault "$RSYNCD_URL/host1" "password_file=$RSYNCD_PASSWORD_FILE"
run_ok ofs push
[ -f "$(backup_dir "$RSYNCD_DIR/host1" "$id")/backup.json" ] || fail "backup $id not on the daemon after push"
run_ok ofs verify --from vault --read-data
echo "PASS: $CASE_NAME"
