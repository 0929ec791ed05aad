#!/usr/bin/env bash
# bwlimit: a file target (a NAS behind a thin link) honours bwlimit like the other targets:
# push sends at most the limit - bytes on the target / elapsed time stays under it, a bound
# the store layer's pacer guarantees (not a measure of speed). Then the same under a
# timetable that covers the whole day, and a restore from the target reads the data back.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
# incompressible, so the volumes on the target are about as large as the source
head -c $((3 * 1024 * 1024)) /dev/urandom > "$src/random.bin"
make_config "$CONFIG" "$src" nas
printf 'bwlimit = 1M\n' >> "$CONFIG"
run_ok ofs init

# push_rate LIMIT_BYTES: push every backup in staging to nas, then check bytes / elapsed
push_rate() {
    local limit=$1 start end bytes
    rm -rf "$SCRATCH/targets/nas"
    start=$(date +%s.%N)
    run_ok ofs push
    end=$(date +%s.%N)
    bytes=$(find "$SCRATCH/targets/nas" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
    note "pushed $bytes bytes in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s (limit $limit bytes/s)"
    [ "$bytes" -gt $((3 * 1024 * 1024)) ] || fail "only $bytes bytes reached the target"
    awk -v n="$bytes" -v a="$start" -v b="$end" -v l="$limit" 'BEGIN { exit !(n / (b - a) <= l) }' ||
        fail "push sent $bytes bytes faster than the bwlimit of $limit bytes/s"
}

run_ok ofs backup --no-push
push_rate $((1024 * 1024))

# a timetable: 1M all day (entries at 00:00 and 12:00, so the rate holds whenever this runs)
sed -i 's/^bwlimit = 1M$/bwlimit = 00:00,1M 12:00,1M/' "$CONFIG"
run_ok ofs config check
push_rate $((1024 * 1024))

mkdir "$SCRATCH/restore"
run_ok ofs restore --latest --from nas --target "$SCRATCH/restore"
cmp "$src/random.bin" "$SCRATCH/restore$src/random.bin" || fail "restored data differs"
