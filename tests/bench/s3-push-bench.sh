#!/usr/bin/env bash
# s3-push-bench.sh BASE_BIN NEW_BIN - push the same staged backup (the 1 GiB bench dataset,
# 128M volumes: 539 MB in 11 objects) to a radosgw started here with two offsite binaries
# (parallel = 4) and with `aws s3 cp --recursive`, three rounds each in turn, printing wall
# time, peak RSS and CPU per run. Run by hand (docs/performance.md, "S3 push"):
#   /work/shared/bench/make-dataset.sh /var/tmp/offsite-bench-data-1024 1024
#   tests/bench/s3-push-bench.sh /tmp/offsite-old build-release/offsite
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cp "$1" /tmp/offsite-base && cp "$2" /tmp/offsite-overlap || exit 2
mkdir -p /tmp/exp
export OFS_SOURCE_DIR=$root OFFSITE_BIN=/tmp/offsite-base
. "$root/tests/integration/lib.sh"; . "$root/tests/integration/servers/radosgw.sh"
RGW_MEMSTORE_BYTES=$((6 << 30)) radosgw_start bench
OFS_VOLUME_SIZE=128M make_config "$CONFIG" /var/tmp/offsite-bench-data-1024
for r in 1 2 3; do for v in base overlap; do add_s3_target "$CONFIG" $v$r prefix=$v$r parallel=4; done; done
ofs init > /dev/null && ofs backup --no-push > /dev/null
OFFSITE_BIN=/tmp/offsite-base ofs push --target base1 > /dev/null # warm-up
s3cli s3 rm --recursive --only-show-errors s3://bench/base1/; radosgw-admin -c $RGW_DIR/ceph.conf -n client.admin gc process --include-all 2>/dev/null
for r in 1 2 3; do
  for v in base overlap; do
    s=$(date +%s.%N); OFFSITE_BIN=/tmp/offsite-$v /usr/bin/time -f "%M KB %U+%S" -o /tmp/exp/time.$v$r /tmp/offsite-$v -c "$CONFIG" push --target $v$r > /dev/null || echo FAIL; e=$(date +%s.%N)
    echo "$v round $r: $(echo "$e - $s" | bc) s $(cat /tmp/exp/time.$v$r)"
    s3cli s3 rm --recursive --only-show-errors s3://bench/$v$r/; radosgw-admin -c $RGW_DIR/ceph.conf -n client.admin gc process --include-all 2>/dev/null
  done
  s=$(date +%s.%N); s3cli s3 cp --recursive --only-show-errors "$SCRATCH/staging/data" s3://bench/aws$r/data; e=$(date +%s.%N)
  echo "aws round $r: $(echo "$e - $s" | bc) s"
  s3cli s3 rm --recursive --only-show-errors s3://bench/aws$r/; radosgw-admin -c $RGW_DIR/ceph.conf -n client.admin gc process --include-all 2>/dev/null
done
du -sb $SCRATCH/staging/data
