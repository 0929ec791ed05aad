#!/usr/bin/env bash
# s3-push-bench.sh OLD_BIN NEW_BIN - push the same staged backup (the 1 GiB bench dataset,
# 128M volumes: 539 MB in 11 objects) to a radosgw started here with two offsite binaries
# (parallel = 4) and with `aws s3 cp --recursive`, three rounds each in turn, printing wall
# time, peak RSS and CPU per run. Run by hand (docs/performance.md, "S3 push"):
#   /work/shared/bench/make-dataset.sh /var/tmp/offsite-bench-data-1024 1024
#   tests/bench/s3-push-bench.sh /tmp/offsite-old build-release/offsite
# OLD_PARALLEL=1 gives OLD's targets parallel = 1 (one binary twice: parallel 1 against 4).
set -u
[ $# -eq 2 ] || { echo "usage: $0 OLD_BIN NEW_BIN" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
data=/var/tmp/offsite-bench-data-1024
[ -d "$data" ] || { echo "$0: no dataset at $data (make-dataset.sh $data 1024)" >&2; exit 2; }
bins=$(mktemp -d)
cp "$1" "$bins/old" && cp "$2" "$bins/new" || exit 2
export OFS_SOURCE_DIR=$root OFFSITE_BIN=$bins/old
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/servers/radosgw.sh"
trap 'rm -rf "$bins"; _ofs_cleanup' EXIT

# empty NAME: remove a run's copy and let the gateway free its space at once
empty() {
    s3cli s3 rm --recursive --only-show-errors "s3://bench/$1/"
    radosgw-admin -c "$RGW_DIR/ceph.conf" -n client.admin gc process --include-all 2> /dev/null
}

RGW_MEMSTORE_BYTES=$((6 << 30)) radosgw_start bench
OFS_VOLUME_SIZE=128M make_config "$CONFIG" "$data"
for r in 1 2 3; do
    add_s3_target "$CONFIG" "old$r" "prefix=old$r" "parallel=${OLD_PARALLEL:-4}"
    add_s3_target "$CONFIG" "new$r" "prefix=new$r" parallel=4
done
ofs init > /dev/null && ofs backup --no-push > /dev/null
ofs push --target old1 > /dev/null # warm-up: the gateway creates its pools at the first write
empty old1
for r in 1 2 3; do
    for v in old new; do
        s=$(date +%s.%N)
        /usr/bin/time -f "%M KB, CPU %U + %S s" -o "$bins/time" "$bins/$v" -c "$CONFIG" \
            push --target "$v$r" > /dev/null || echo "push with $v FAILED"
        e=$(date +%s.%N)
        echo "$v round $r: $(echo "$e - $s" | bc) s, $(cat "$bins/time")"
        empty "$v$r"
    done
    s=$(date +%s.%N)
    s3cli s3 cp --recursive --only-show-errors "$SCRATCH/staging/data" "s3://bench/aws$r/data"
    e=$(date +%s.%N)
    echo "aws round $r: $(echo "$e - $s" | bc) s"
    empty "aws$r"
done
echo "staged: $(du -sb "$SCRATCH/staging/data" | cut -f1) bytes"
