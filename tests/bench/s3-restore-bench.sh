#!/usr/bin/env bash
# s3-restore-bench.sh [BIN] - restore the 1 GiB bench dataset straight from a radosgw started
# here, against `aws s3 cp --recursive` of the very same objects (the plain download) and a
# restore of that downloaded copy from local disk; three rounds, each in turn, printing wall
# time (each ends with a sync inside its timing), peak RSS, CPU and, for offsite, the time to
# the first byte written. The aim (issue 15): the restore within 1.2x of the download alone.
# Run by hand (docs/performance.md, "Restore from S3"):
#   /work/shared/bench/make-dataset.sh /var/tmp/offsite-bench-data-1024 1024
#   tests/bench/s3-restore-bench.sh build/offsite
# Each restore and the download go into a freshly made ext4 (a loop image on the disk under
# test, in RESTORE_DIR, default /var/tmp) when run as root, as peers.sh does: files created
# where many were just deleted are slow on ext4, which would time the file system, not the
# tool (2026-12-04: 7.7-9.4 s and 8-10 s of system CPU for a local restore that takes 3-4 s on
# a fresh one). RGW_MEMSTORE_BYTES sizes the gateway's in-memory store (default 3 GiB).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(realpath "${1:-$root/build/offsite}")
data=/var/tmp/offsite-bench-data-1024
[ -d "$data" ] || { echo "$0: no dataset at $data (make-dataset.sh $data 1024)" >&2; exit 2; }
[ -x "$bin" ] || { echo "$0: no offsite binary at $bin" >&2; exit 2; }
export OFS_SOURCE_DIR=$root OFFSITE_BIN=$bin
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/servers/radosgw.sh"
out=$(mktemp -d "${RESTORE_DIR:-/var/tmp}/offsite-s3-restore.XXXXXX")
trap 'fresh_fs_drop "$out/restore" "$out/download" "$out/local"; rm -rf "$out"; _ofs_cleanup' EXIT
trap 'exit 1' INT TERM

RGW_MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-$((3 << 30))} radosgw_start bench
OFS_VOLUME_SIZE=128M make_config "$CONFIG" "$data"
add_s3_target "$CONFIG" cloud prefix=bench
ofs init > /dev/null && ofs backup > /dev/null || { echo "backup and push failed" >&2; exit 1; }
staged=$(du -sb "$SCRATCH/staging/data" | cut -f1)
rm -rf "$SCRATCH/staging"/* # a clean machine: the restore must come from the target

. "$root/tests/bench/fresh-fs.sh"
# fresh_fs_drop DIR...: unmount and remove what fresh_fs made
fresh_fs_drop() {
    local d
    for d in "$@"; do
        fresh_fs_umount "$d"
        rm -rf "$d" "$d.img"
    done
}

# timed NAME COMMAND...: wall time including a sync, GNU time's peak RSS and CPU
timed() {
    local name=$1 s e; shift
    s=$(date +%s.%N)
    /usr/bin/time -f "%M %U %S" -o "$out/time" "$@" > "$out/stdout" 2> "$out/stderr" ||
        { echo "$name FAILED: $(tail -3 "$out/stderr")"; return 1; }
    sync
    e=$(date +%s.%N)
    read -r rss user sys < "$out/time"
    printf '%-22s %6.2f s  peak %4d MiB  CPU %.1f + %.1f s' "$name" "$(echo "$e - $s" | bc)" \
        $((rss / 1024)) "$user" "$sys"
}

echo "# $(git -C "$root" rev-parse --short HEAD 2>/dev/null) $bin; $staged bytes in $(find "$data" -type f | wc -l) files' backup; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for r in 1 2 3; do
    fresh_fs_drop "$out/restore" "$out/download" "$out/local"
    fresh_fs "$out/restore" 3G || true
    timed "offsite restore (S3)" "$bin" -c "$CONFIG" --json restore --latest --from cloud \
        --target "$out/restore/r" &&
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print("  first byte %.2f s, sync wait %.2f s" % (d["first_byte_seconds"], d["sync_wait_seconds"]))' "$out/stdout"
    fresh_fs_drop "$out/restore"
    fresh_fs "$out/download" 3G || true
    aws=aws
    [ -x /usr/bin/aws ] && aws=/usr/bin/aws # as s3cli does (a shell function: time needs a program)
    timed "aws s3 cp --recursive" "$aws" --endpoint-url "$S3_ENDPOINT" --no-cli-pager s3 cp \
        --recursive --only-show-errors "s3://$S3_BUCKET/bench/" "$out/download/s" && echo
    # the downloaded objects as a staging directory and no target: the local half of the same
    # restore (never falling back to the gateway)
    sed -e "s|^staging_dir = .*|staging_dir = $out/download/s|" -e '/^\[target /,$d' "$CONFIG" \
        > "$out/local.ini"
    fresh_fs "$out/local" 3G || true
    timed "offsite restore (local)" "$bin" -c "$out/local.ini" restore --latest \
        --target "$out/local/r" && echo
done
