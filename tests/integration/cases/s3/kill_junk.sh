#!/usr/bin/env bash
# kill_junk: backup and push to radosgw killed -9 at 20 random moments each (a seed in the log
# repeats them); one rerun of each leaves no unfinished multipart upload and no folder of an
# abandoned backup on the bucket, and no debris in staging; both verify.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"
. "$OFS_SOURCE_DIR/tests/integration/kill_rounds.sh"

radosgw_start offsite-test || fail "radosgw did not start"

src=$SCRATCH/src
kill_rounds_data "$src" 4 # the gateway's OSD holds 1 GiB
# 12 MiB volumes in 5 MiB parts: every volume is a multipart upload a kill can interrupt
OFS_VOLUME_SIZE=12M make_config "$CONFIG" "$src"
add_s3_target "$CONFIG" cloud prefix=junk part_size=5M parallel=2 bwlimit=20M
run_ok ofs init
kill_rounds_seed

target_junk() {
    s3cli s3api list-multipart-uploads --bucket "$S3_BUCKET" --prefix junk/ \
        --query 'Uploads[].[Key,UploadId]' --output text | grep -v '^None$' | sed 's/^/unfinished upload /'
    s3cli s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix junk/data/ \
        --query 'Contents[].Key' --output text | tr '\t' '\n' | python3 -c '
import sys
folders, records = set(), set()
for key in sys.stdin.read().split():
    if key == "None":
        continue
    folder, name = key.rsplit("/", 1)
    folders.add(folder)
    if name == "backup.json":
        records.add(folder)
for f in sorted(folders - records):
    print("abandoned backup folder " + f)'
}

plant_junk() {
    s3cli s3api create-multipart-upload --bucket "$S3_BUCKET" \
        --key junk/data/daily/planted_20261203_000000/vol-0001.ofs > /dev/null
}

kill_rounds_push 20 cloud
kill_rounds_backup 20
echo "PASS: $CASE_NAME"
