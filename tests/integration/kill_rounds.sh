# kill_rounds.sh - sourced by the */kill_junk.sh cases (after lib.sh): kill -9 backup and push
# at random moments, then assert that one rerun leaves no debris (issue 9: temporary files,
# unfinished uploads, folders of abandoned backups). The case supplies target_junk, which
# prints the target's debris (one line each, nothing if clean), and plant_junk, which leaves
# one piece of debris of the kind a killed push leaves there.

# kill_rounds_data DIR [FILES]: FILES (8) files of 6 MB of random bytes and 6 MB of text, so a
# backup takes about a second
kill_rounds_data() {
    mkdir -p "$1"
    local i
    for i in $(seq 1 "${2:-8}"); do head -c 6000000 /dev/urandom > "$1/random-$i.bin"; done
    python3 -c '
import sys
line = "".join("%06d,XNAS,AAPL,BUY,100,187.25,fill\n" % i for i in range(50000))
with open(sys.argv[1] + "/fills.csv", "w") as f:
    f.write(line * 2)' "$1"
}

# kill_rounds_seed: a seed for $RANDOM (OFS_KILL_SEED repeats a run), noted in the log
kill_rounds_seed() {
    KILL_SEED=${OFS_KILL_SEED:-$(( $(date +%s) % 32768 ))}
    RANDOM=$KILL_SEED
    note "kill moments from seed $KILL_SEED (OFS_KILL_SEED=$KILL_SEED repeats them)"
}

# kill_after SECONDS CMD...: start CMD, kill -9 it after SECONDS; 0 if it was killed
kill_after() {
    local delay=$1; shift
    "$@" > "$SCRATCH/killed.out" 2>&1 &
    local pid=$!
    sleep "$delay"
    if kill -9 "$pid" 2> /dev/null; then
        wait "$pid" 2> /dev/null || true
        return 0
    fi
    wait "$pid" 2> /dev/null || true
    return 1
}

# _kill_window SECONDS: a random moment in (0.02 s, SECONDS)
_kill_window() {
    python3 -c 'import sys; print("%.3f" % (0.02 + (float(sys.argv[1]) - 0.02) * int(sys.argv[2]) / 32767))' "$1" "$RANDOM"
}

# _timed CMD...: run CMD (it must succeed), print its wall seconds
_timed() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > "$SCRATCH/timed.out" 2>&1 || { cat "$SCRATCH/timed.out"; fail "$* failed"; }
    t1=$(date +%s.%N)
    python3 -c 'import sys; print("%.3f" % max(0.2, float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1"
}

# folder_junk ROOT [FIND_TEST...]: the debris in a store on the local disk, one line each:
# temporary files (default: named .tmp-*) and folders of backups without a record
folder_junk() {
    local root=$1 d; shift
    [ "$#" -gt 0 ] || set -- -name '.tmp-*'
    find "$root" "$@" -type f | sed 's/^/temporary file /'
    for d in "$root"/data/*/*/; do
        [ -d "$d" ] && [ ! -f "$d/backup.json" ] && echo "abandoned backup folder $d"
    done
    return 0
}

staging_junk() { folder_junk "$SCRATCH/staging"; }

# kill_rounds_backup N: N backups --full --no-push, each killed -9 at a random moment within
# a full backup's duration; then one rerun; staging must hold no debris
kill_rounds_backup() {
    local n=$1 i delay window killed=0 junk
    window=$(_timed "$OFFSITE_BIN" -c "$CONFIG" backup --full --no-push)
    note "a full backup takes ${window}s"
    for i in $(seq 1 "$n"); do
        delay=$(_kill_window "$window")
        if kill_after "$delay" "$OFFSITE_BIN" -c "$CONFIG" backup --full --no-push; then
            killed=$((killed + 1))
        fi
    done
    junk=$(staging_junk | wc -l)
    note "backup: $killed of $n runs killed; they left $junk temporary files and folders"
    [ "$killed" -gt 0 ] || skip "no backup could be killed (machine too fast for this data)"
    run_ok ofs backup --no-push
    junk=$(staging_junk)
    [ -z "$junk" ] || fail "after one rerun of backup, staging still holds: $junk"
    run_ok ofs verify --all
}

# kill_rounds_push N TARGET: N pushes to TARGET, each killed -9 at a random moment within the
# push of one full backup (a new full is staged whenever a round finished its push, so every
# round has work); then plant_junk, one rerun; target_junk must print nothing. Run it before
# kill_rounds_backup: the backups that round commits would all have to be pushed first.
kill_rounds_push() {
    local n=$1 target=$2 i delay window killed=0 junk
    run_ok ofs push --target "$target"
    run_ok ofs backup --full --no-push
    window=$(_timed "$OFFSITE_BIN" -c "$CONFIG" push --target "$target")
    note "a push of a full backup takes ${window}s"
    run_ok ofs backup --full --no-push
    for i in $(seq 1 "$n"); do
        delay=$(_kill_window "$window")
        if kill_after "$delay" "$OFFSITE_BIN" -c "$CONFIG" push --target "$target"; then
            killed=$((killed + 1))
        else
            run_ok ofs backup --full --no-push
        fi
    done
    junk=$(target_junk | wc -l)
    note "push: $killed of $n runs killed; they left $junk temporary objects and folders"
    [ "$killed" -gt 0 ] || skip "no push could be killed (machine too fast for this data)"
    # whatever the last kill left, the rerun meets debris: the case plants one (plant_junk)
    # and target_junk must see it, so a clean result below is the sweep's doing
    plant_junk
    [ -n "$(target_junk)" ] || fail "target_junk does not see the planted debris"
    sleep 1 # planted before the rerun's start, in an earlier second
    run_ok ofs push --target "$target"
    junk=$(target_junk)
    [ -z "$junk" ] || fail "after one rerun of push, $target still holds: $junk"
    run_ok ofs verify --all --from "$target"
}
