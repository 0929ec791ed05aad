#!/usr/bin/env bash
# prune: retention on rsync targets is the agent's own (no lifecycle rules there): six nightly
# backups pushed to a daemon target and an ssh target, then prune with daily = 3 leaves each
# target holding exactly what staging keeps (nights 1 and 2 gone); the expired backups'
# objects are gone from the remote disks (records and data, nothing left but empty
# directories), list --from shows the kept ones, verify --read-data passes from each target,
# and a second prune has nothing to do.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/rsyncd.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/sshd.sh"

rsyncd_start || fail "the rsync daemon did not start"
sshd_start || fail "sshd did not start"

src=$SCRATCH/src
mkdir -p "$src"
make_config "$CONFIG" "$src"
add_rsync_target "$CONFIG" daemon "$RSYNCD_URL/host1" "password_file=$RSYNCD_PASSWORD_FILE"
add_rsync_target "$CONFIG" box "$SSHD_USER@127.0.0.1:$SCRATCH/box" "ssh_command=$SSH_COMMAND"
printf '\n[retention]\ndaily = 3\nweekly = 0\nmonthly = 0\nkeep_last = 1\n' >> "$CONFIG"
run_ok ofs config check
run_ok ofs init
daemon=$RSYNCD_DIR/host1 box=$SCRATCH/box

night() { date -u -d "2026-05-01 22:00 UTC + $1 days" +%Y-%m-%dT%H:%M:%SZ; }
id_of() { date -u -d "2026-05-01 22:00 UTC + $1 days" +data_%Y%m%d_%H%M%S; }
ids() { find "$1/data" -name backup.json 2> /dev/null | awk -F/ '{ print $(NF-1) }' | sort | tr '\n' ' '; }
expect_ids() {
    local want="" n
    for n in $(seq "$2" "$3"); do want+="$(id_of "$n") "; done
    [ "$(ids "$1")" = "$want" ] || fail "$1 holds: $(ids "$1"); expected nights $2..$3: $want"
}

for n in 1 2 3 4 5 6; do
    head -c 300000 /dev/urandom > "$src/night-$n.bin"
    OFFSITE_NOW=$(night "$n") run_ok ofs backup
done
expect_ids "$daemon" 1 6
expect_ids "$box" 1 6

now=$(date -u -d "2026-05-07 22:05 UTC" +%Y-%m-%dT%H:%M:%SZ)
OFFSITE_NOW=$now run_ok ofs prune
# the policy's verdict (a full that kept differentials need stays) is the same for every
# store: the targets hold exactly what staging holds, and nights 1 and 2 are gone
kept=$(ids "$SCRATCH/staging")
note "kept: $kept"
case "$kept" in *"$(id_of 1)"* | *"$(id_of 2)"*) fail "prune kept an expired night: $kept" ;; esac
case "$kept" in *"$(id_of 6)"*) ;; *) fail "prune did not keep the newest night: $kept" ;; esac
for root in "$daemon" "$box"; do
    [ "$(ids "$root")" = "$kept" ] || fail "$root holds $(ids "$root"), staging $kept"
    for n in 1 2; do
        left=$(find "$root/data" -path "*/$(id_of "$n")/*" -type f)
        [ -z "$left" ] || fail "objects of pruned backup $(id_of "$n") left on $root: $left"
    done
done
for t in daemon box; do
    run_ok ofs list --from "$t"
    expect_glob "$LAST_OUT" "*$(id_of 6)*" "list --from $t"
    if grep -q "$(id_of 2)" "$LAST_OUT"; then fail "list --from $t still shows $(id_of 2)"; fi
    run_ok ofs verify --from "$t" --read-data
done
OFFSITE_NOW=$now run_ok ofs prune
expect_glob "$LAST_OUT" "*daemon: kept *, deleted 0 backups*" "second prune output"
[ "$(ids "$daemon")" = "$kept" ] && [ "$(ids "$box")" = "$kept" ] || fail "a second prune changed the targets"
echo "PASS: $CASE_NAME"
