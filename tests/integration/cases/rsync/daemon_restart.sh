#!/usr/bin/env bash
# daemon_restart: the rsync daemon is stopped in the middle of a push (its listener and the
# connection receiving a volume, as when the box reboots), with bwlimit slowing the upload so
# the stop lands inside a file. The push fails, promptly and naming the target; the target
# holds no record of the backup and no partial object under a final name (only rsync's own
# hidden partial file). After a restart, the next push resumes from that partial file, the
# target then matches staging byte for byte, nothing temporary is left, and verify
# --read-data passes from the target.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/rsyncd.sh"

rsyncd_start || fail "the rsync daemon did not start"

src=$SCRATCH/src
mkdir -p "$src"
for i in 1 2 3; do head -c 7000000 /dev/urandom > "$src/ticks-$i.bin"; done
OFS_VOLUME_SIZE=8M make_config "$CONFIG" "$src"
add_rsync_target "$CONFIG" nas "$RSYNCD_URL/host1" "password_file=$RSYNCD_PASSWORD_FILE" \
    "bwlimit=2M"
run_ok ofs init
run_ok ofs backup --no-push
id=$(latest_id "$SCRATCH/staging")
root=$RSYNCD_DIR/host1
note "backup $id; pushing at 2 MiB/s"

ofs push > "$SCRATCH/push1.out" 2> "$SCRATCH/push1.err" &
push_pid=$!
# stop the daemon once rsync's temporary file for a volume holds a few MiB
stopped=0
for ((i = 0; i < 300; i++)); do
    big=$(find "$root/.tmp-rsync" -type f -size +3M 2> /dev/null | head -n 1)
    if [ -n "$big" ]; then
        rsyncd_stop
        stopped=1
        break
    fi
    kill -0 "$push_pid" 2> /dev/null || break
    sleep 0.1
done
[ "$stopped" = 1 ] || { cat "$SCRATCH/push1.err" >&2; fail "the push ended before a volume was half sent"; }
rc=0
wait "$push_pid" || rc=$?
note "first push exited $rc after the daemon stopped"
[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || { cat "$SCRATCH/push1.err" >&2; fail "push exited $rc with the daemon gone"; }
grep -q "nas" "$SCRATCH/push1.err" || { cat "$SCRATCH/push1.err" >&2; fail "the failure does not name the target"; }

# no record, and no object under its final name unless it is whole
[ -z "$(find "$root" -name backup.json)" ] || fail "a record reached the target before its data"
while IFS= read -r key; do
    [ -e "$root/$key" ] || continue
    cmp -s "$SCRATCH/staging/$key" "$root/$key" || fail "$key on the target is not whole"
done < <(cd "$SCRATCH/staging" && find data -type f | sort)
partials=$(find "$root" -path '*/.tmp-partial/*' -type f | wc -l)
note "$partials partial upload(s) kept for resuming"
[ "$partials" -ge 1 ] || fail "rsync kept no partial file to resume from"

rsyncd_restart || fail "the rsync daemon did not restart"
run_ok ofs push
while IFS= read -r key; do
    cmp -s "$SCRATCH/staging/$key" "$root/$key" || fail "$key differs from staging after the resumed push"
done < <(cd "$SCRATCH/staging" && find data -type f | sort)
[ -z "$(find "$root" -path '*/.tmp-partial/*' -type f)" ] || fail "partial files left after the resumed push"
[ -z "$(find "$root/.tmp-rsync" -type f 2> /dev/null)" ] || fail "rsync temp files left after the resumed push"
run_ok ofs list --from nas
expect_glob "$LAST_OUT" "*$id*" "list --from nas output"
run_ok ofs verify --from nas --read-data
echo "PASS: $CASE_NAME"
