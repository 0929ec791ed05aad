#!/usr/bin/env bash
# roundtrip: two rsync targets at once, a real rsync daemon (password file, module) and a real
# sshd (own host key and authorized_keys), both on loopback. backup pushes to both; the objects
# on each remote disk are byte-identical to staging and no temporary name is left; a second
# push has nothing to do; then, as a clean machine (no state, no staging), list --from each
# target, restore from each, compare the trees, verify --read-data from each.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/rsyncd.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/sshd.sh"

rsyncd_start || fail "the rsync daemon did not start"
sshd_start || fail "sshd did not start"

src=$SCRATCH/src
make_tree "$src"
make_config "$CONFIG" "$src"
add_rsync_target "$CONFIG" daemon "$RSYNCD_URL/fleet/testhost" "password_file=$RSYNCD_PASSWORD_FILE"
mkdir -p "$SCRATCH/remote home"
add_rsync_target "$CONFIG" box "$SSHD_USER@127.0.0.1:$SCRATCH/remote home/offsite" \
    "ssh_command=$SSH_COMMAND"
run_ok ofs config check
run_ok ofs init
# rsync has no atomic conditional write: init says so, pointing at the docs
expect_glob "$LAST_OUT" "*target daemon: ok (*; manifest updates check-then-write: see docs/operator-guide.md, several hosts on one target)*target box: ok (*; manifest updates check-then-write*" "init output"

run_ok ofs backup
id=$(latest_id "$SCRATCH/staging")
note "backup $id"
daemon_root=$RSYNCD_DIR/fleet/testhost
box_root="$SCRATCH/remote home/offsite"

# check_copy ROOT: every staged data object is on ROOT byte for byte; no temporary name is
# visible outside the driver's .tmp-* directories
check_copy() {
    local root=$1 key n=0
    while IFS= read -r key; do
        cmp -s "$SCRATCH/staging/$key" "$root/$key" || fail "$root/$key differs from staging"
        n=$((n + 1))
    done < <(cd "$SCRATCH/staging" && find data -type f ! -name '.tmp*' | sort)
    [ "$n" -ge 4 ] || fail "only $n objects staged"
    [ -f "$root/manifest.json" ] || fail "no manifest.json on $root"
    local stray
    stray=$(cd "$root" && find . -name '.*' ! -path './.tmp-rsync' ! -path './.tmp-rsync/*' \
        ! -name '.tmp-partial' ! -path '*/.tmp-partial/*' ! -name '.')
    [ -z "$stray" ] || fail "temporary names left on $root: $stray"
    [ -z "$(ls -A "$root/.tmp-rsync" 2> /dev/null)" ] || fail "rsync temp files left in $root/.tmp-rsync"
}
check_copy "$daemon_root"
check_copy "$box_root"

# nothing left to push: a second run succeeds and rewrites no data object
before=$(cd "$daemon_root" && find data -type f -printf '%p %T@\n' | sort)
run_ok ofs push
after=$(cd "$daemon_root" && find data -type f -printf '%p %T@\n' | sort)
[ "$before" = "$after" ] || fail "a second push rewrote data objects on the daemon"

# rsync targets have no lifecycle rules: retention sync says prune enforces their retention
run_ok ofs retention sync
expect_glob "$LAST_OUT" "*target 'daemon' (rsync): no provider lifecycle rules*offsite prune*target 'box' (rsync): no provider lifecycle rules*" "retention sync"

# the clean machine: same config and key file, nothing else
rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
for t in daemon box; do
    run_ok ofs list --from "$t"
    expect_glob "$LAST_OUT" "*$id*" "list --from $t output"
    run_ok ofs restore --latest --from "$t" --target "$SCRATCH/restore-$t"
    compare_trees "$src" "$SCRATCH/restore-$t$src"
    run_ok ofs verify --from "$t" --read-data
    # the drill restores from the target too, and keeps the copy to compare
    run_ok ofs drill --from "$t" --rto 10m --target "$SCRATCH/drill-$t" --keep
    expect_glob "$LAST_OUT" "*restored $id from $t*every one matched*" "drill --from $t"
    compare_trees "$src" "$SCRATCH/drill-$t/$id$src"
done
echo "PASS: $CASE_NAME"
