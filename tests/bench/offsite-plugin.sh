# shellcheck shell=bash
# offsite-plugin.sh - offsite as a tool for /work/shared/bench/peers.sh (-p offsite-plugin.sh -t offsite).
#
# peers.sh contract: tool_offsite_init REPO, tool_offsite_backup REPO SRC PHASE (run from inside
# SRC), tool_offsite_restore REPO DEST; each runs in a fresh bash under /usr/bin/time; $WORK is
# the scratch directory. The staging area is REPO (so repo_bytes counts exactly what offsite
# stores), no targets, compression level 3; the key and state live under $WORK/offsite.*.
# backup1 is a full (the set's first); backup2, after make-dataset.sh mutate, is a differential
# of it (same day, full_every 7d by default): it stores the changed files, the appended logs and
# CSVs as their tails, and a catalog of every file. restore restores backup2, reading both.
# OFFSITE_BIN selects the binary (default: build/offsite of this checkout).
: "${OFFSITE_BIN:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/offsite}"
export OFFSITE_BIN

# offsite_bench_config SRC: (re)write the config for a set over SRC
offsite_bench_config() {
    mkdir -p "$WORK/offsite.state" "$WORK/offsite.keydir"
    chmod 700 "$WORK/offsite.keydir"
    cat > "$WORK/offsite.ini" << INI
[agent]
state_dir = $WORK/offsite.state
staging_dir = $REPO
key_file = $WORK/offsite.keydir/offsite.key
host = bench
parallel = ${OFFSITE_BENCH_PARALLEL:-2}

[set bench]
paths = $1
compression_level = ${OFFSITE_BENCH_LEVEL:-3}
INI
}

tool_offsite_init() {
    REPO=$1
    mkdir -p "$REPO"
    # peers.sh copies the dataset to $WORK/data before backup1
    offsite_bench_config "$WORK/data"
    "$OFFSITE_BIN" -c "$WORK/offsite.ini" init
}

tool_offsite_backup() {
    REPO=$1
    offsite_bench_config "$(realpath "$2")"
    # its summary line ("backup ID (diff, daily): ...") lands in $WORK/offsite.log
    "$OFFSITE_BIN" -c "$WORK/offsite.ini" backup --no-push
}

# Catalog paths are absolute paths without the leading '/', so the latest backup of SRC lands
# at DEST/SRC; peers.sh wants the contents in DEST itself. It restores into DEST/.offsite-restore
# and moves the top-level entries up (renames within one file system: no data is copied).
tool_offsite_restore() {
    REPO=$1
    local dest=$2 src stage
    src=$(realpath "$WORK/data")
    stage=$dest/.offsite-restore
    "$OFFSITE_BIN" -c "$WORK/offsite.ini" restore --latest --target "$stage"
    find "$stage$src" -mindepth 1 -maxdepth 1 -exec mv -t "$dest" {} +
    rm -rf "$stage"
}
