#!/usr/bin/env bash
# unknown_host_key: an ssh target whose host key is not in the known_hosts file ssh_command
# names: push fails at once (BatchMode, strict checking: never a prompt, never trust on first
# use) with a message naming the target and the host key, and a HINT; nothing is written on the
# remote side. The same with a key sshd does not authorize ("ssh refused the login"). With the
# host key known, push delivers and the backup verifies from the target.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/sshd.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/rsyncd.sh" # add_rsync_target

sshd_start || fail "sshd did not start"

src=$SCRATCH/src
mkdir -p "$src"
echo "fills" > "$src/fills.csv"
make_config "$CONFIG" "$src"
cp "$CONFIG" "$SCRATCH/base.ini"
remote=$SCRATCH/remote/offsite
add_rsync_target "$CONFIG" dr "$SSHD_USER@127.0.0.1:$remote" "ssh_command=$SSH_UNKNOWN_COMMAND"
mkdir -p "$SCRATCH/state" "$SCRATCH/staging"
run_ok ofs key generate
run_ok ofs backup --no-push
id=$(latest_id "$SCRATCH/staging")

# stdin is a terminal-less pipe here; ssh must not wait for a yes/no answer either way
run_fails nonzero "*dr*ssh host key could not be verified*Host key verification failed*HINT: *known_hosts*" \
    ofs -v push < /dev/null
# a refused host key is not transient: no retry
if grep -q 'retrying' "$LAST_ERR"; then fail "a host key failure was retried: $(cat "$LAST_ERR")"; fi
[ ! -e "$remote" ] || fail "something was written on the remote side: $(find "$remote")"
grep -q 127.0.0.1 "$SSHD_DIR/empty_known_hosts" && fail "the unknown host key was accepted into known_hosts"

# a key the server does not authorize
ssh-keygen -q -t ed25519 -N '' -f "$SCRATCH/stranger_key"
cp "$SCRATCH/base.ini" "$CONFIG"
add_rsync_target "$CONFIG" dr "$SSHD_USER@127.0.0.1:$remote" \
    "ssh_command=${SSH_COMMAND/-i $SSH_KEY/-i $SCRATCH/stranger_key}"
run_fails nonzero "*dr*ssh refused the login*Permission denied*" ofs push

# the host key known: push delivers
cp "$SCRATCH/base.ini" "$CONFIG"
add_rsync_target "$CONFIG" dr "$SSHD_USER@127.0.0.1:$remote" "ssh_command=$SSH_COMMAND"
run_ok ofs push
[ -f "$(backup_dir "$remote" "$id")/backup.json" ] || fail "backup $id not on the ssh target after push"
run_ok ofs verify --from dr --read-data
echo "PASS: $CASE_NAME"
