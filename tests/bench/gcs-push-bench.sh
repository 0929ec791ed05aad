#!/usr/bin/env bash
# gcs-push-bench.sh [BIN] - push one staged backup (the 1 GiB bench dataset, 64M volumes: the
# emulator refuses objects over ~130 MB) to the Cloud Storage emulator with offsite and with
# curl uploads of the same objects (uploadType=media, one curl per object, one after another,
# as offsite's media uploads are), three rounds each in turn, printing wall time, peak RSS and
# CPU per run and the ratio of the medians. Run by hand (docs/performance.md, "GCS push"):
#   /work/shared/bench/make-dataset.sh /var/tmp/offsite-bench-data-1024 1024
#   tests/bench/gcs-push-bench.sh build/offsite
# The emulator is Node.js on the same two cores: it, not the link, bounds both clients.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "$(dirname "${1:-$root/build/offsite}")" && pwd)/$(basename "${1:-build/offsite}")
data=/var/tmp/offsite-bench-data-1024
[ -d "$data" ] || { echo "$0: no dataset at $data (make-dataset.sh $data 1024)" >&2; exit 2; }
export OFS_SOURCE_DIR=$root OFFSITE_BIN=$bin
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/servers/gcs.sh"

gcs_start
OFS_VOLUME_SIZE=64M make_config "$CONFIG" "$data"
for r in 1 2 3; do add_gcs_target "$CONFIG" "ofs$r" "prefix=ofs$r"; done
ofs init > /dev/null && ofs backup --no-push > /dev/null || fail "backup failed"
objects=$(cd "$SCRATCH/staging" && find data -type f | sort)
bytes=$(du -sb "$SCRATCH/staging/data" | cut -f1)
echo "staged: $bytes bytes in $(wc -l <<< "$objects") objects; $(uptime)"

curl_push() {
    local prefix=$1 key
    while IFS= read -r key; do
        curl -sf -o /dev/null -X POST -H 'Content-Type: application/octet-stream' \
            --data-binary "@$SCRATCH/staging/$key" \
            "$GCS_ENDPOINT/upload/storage/v1/b/$GCS_BUCKET/o?uploadType=media&name=$prefix%2F${key//\//%2F}" ||
            { echo "curl of $key FAILED"; return 1; }
    done <<< "$objects"
}

: > "$SCRATCH/ofs.times"; : > "$SCRATCH/curl.times"
for r in 1 2 3; do
    s=$(date +%s.%N)
    /usr/bin/time -f "%M KB, CPU %U + %S s" -o "$SCRATCH/time" "$bin" -c "$CONFIG" \
        push --target "ofs$r" > /dev/null || echo "offsite push FAILED"
    e=$(date +%s.%N)
    echo "$e - $s" | bc >> "$SCRATCH/ofs.times"
    echo "offsite round $r: $(tail -1 "$SCRATCH/ofs.times") s, $(cat "$SCRATCH/time")"
    s=$(date +%s.%N)
    curl_push "curl$r"
    e=$(date +%s.%N)
    echo "$e - $s" | bc >> "$SCRATCH/curl.times"
    echo "curl round $r: $(tail -1 "$SCRATCH/curl.times") s"
done
median() { sort -n "$1" | sed -n 2p; }
o=$(median "$SCRATCH/ofs.times"); c=$(median "$SCRATCH/curl.times")
echo "median: offsite $o s ($(echo "$bytes / $o / 1048576" | bc) MiB/s), curl $c s; offsite/curl time ratio $(echo "scale=2; $o / $c" | bc)"
