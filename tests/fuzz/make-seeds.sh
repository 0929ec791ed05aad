#!/usr/bin/env bash
# make-seeds.sh [OFFSITE_BIN] - write the seed corpora of tests/fuzz/corpus/ from real objects:
# a key, a small backup (its volume, catalog, record, manifest, each as stored and as plain
# text), a configuration, a paper key, and S3 and rsync responses as the servers send them.
# The key becomes tests/fuzz/seed.key, a test key and nothing else, which the fuzz targets use
# so sealed and MAC'd seeds get past authentication. Run by hand when the formats change;
# the outputs are committed (small).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/offsite}
[ -x "$bin" ] || { echo "make-seeds: no offsite binary at '$bin' (build it first)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=$here/corpus
rm -rf "$corpus"
mkdir -p "$corpus"/{seal,tar,catalog,record,manifest,config,keyfile,s3_xml,rsync} "$work/src/dir"

# seed NAME TARGET MODE_BYTE FILE: the file with one leading mode byte (the target's switch)
seed() { { printf "$3"; cat "$4"; } > "$corpus/$2/$1"; }

printf 'hello\n' > "$work/src/a.txt"
printf 'second file, in a directory\n' > "$work/src/dir/b.txt"
ln -s a.txt "$work/src/link"
cat > "$work/offsite.ini" <<INI
[agent]
state_dir = $work/state
key_file = $work/offsite.key
host = fuzzhost
[set data]
paths = $work/src
exclude = *.tmp
volume_size = 64K
[target nas]
type = file
path = $work/nas
bwlimit = 08:00,5M 16:30,off
[retention]
daily = 7
INI
"$bin" -c "$work/offsite.ini" -q init > /dev/null
"$bin" -c "$work/offsite.ini" -q backup > /dev/null
cp "$work/offsite.key" "$here/seed.key"

dir=$(dirname "$(find "$work/state/staging/data" -name backup.json | head -1)")
seed vol-0001 seal '\0' "$dir/vol-0001.ofs"
seed catalog seal '\0' "$dir/catalog.ofs"
printf '\1\0short plaintext' > "$corpus/seal/roundtrip"
"$bin" decrypt --key "$work/offsite.key" < "$dir/vol-0001.ofs" | zstd -dq > "$corpus/tar/vol-0001.tar"
"$bin" decrypt --key "$work/offsite.key" < "$dir/catalog.ofs" | zstd -dq > "$corpus/catalog/catalog.jsonl"
seed backup-as-is record '\0' "$dir/backup.json"
seed backup-signed record '\1' "$dir/backup.json"
seed manifest-as-is manifest '\0' "$work/state/staging/manifest.json"
seed manifest-signed manifest '\1' "$work/state/staging/manifest.json"
sed "s|$work|/srv|g" "$work/offsite.ini" > "$corpus/config/offsite.ini"
cp "$here/../../config/offsite.example.ini" "$corpus/config/example.ini"
seed key keyfile '\0' "$work/offsite.key"
"$bin" -c "$work/offsite.ini" key export > "$work/paper.txt"
seed paper keyfile '\1' "$work/paper.txt"

cat > "$corpus/s3_xml/list.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>acme</Name><Prefix>fleet/h1/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>fleet/h1/data/daily/a b+c=d.ofs</Key><LastModified>2013-05-24T00:00:01.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>fleet/h1/manifest.json</Key><LastModified>2024-02-29T23:59:59Z</LastModified><Size>0</Size></Contents><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>
XML
cat > "$corpus/s3_xml/error.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>manifest.json</Key><RequestId>tx0</RequestId></Error>
XML
cat > "$corpus/s3_xml/upload.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>acme</Bucket><Key>data/daily/x/vol-0001.ofs</Key><UploadId>2~abc</UploadId></InitiateMultipartUploadResult>
XML
cat > "$corpus/s3_xml/lifecycle.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?><LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>offsite:h1/:data/daily/</ID><Filter><Prefix>h1/data/daily/</Prefix></Filter><Status>Enabled</Status><Transition><Days>7</Days><StorageClass>GLACIER</StorageClass></Transition><Expiration><Days>31</Days></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule><Rule><ID>offsite::manifest.json</ID><Filter><Prefix>manifest.json</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule><Rule><ID>offsite::data/</ID><Filter><Prefix>data/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule><Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Disabled</Status></Rule></LifecycleConfiguration>
XML

{
    printf '\0'
    printf '%s\n' 'drwxr-xr-x          4096 2024/03/15 21:00:07 .' \
        '-rw-r--r--          1234 2024/03/15 21:00:07 data/daily/a b/vol-0001.ofs' \
        '-rw-------  12345678901234 2024/03/15 21:00:07  lead\#011tab \#134#101' \
        'lrwxrwxrwx            10 2024/03/15 21:00:07 link -> target'
} > "$corpus/rsync/listing"
printf '\2%s' 'rsync://backup@nas.example:8730/offsite/fleet/h1' > "$corpus/rsync/url-daemon"
printf '\2%s' 'offsite@[fd00::2]:/srv/backups/h1' > "$corpus/rsync/url-ssh"
printf '\3%s' "ssh -i '/etc/offsite/id key' -o BatchMode=yes -p 2222" > "$corpus/rsync/ssh-command"
echo "make-seeds: $(find "$corpus" -type f | wc -l) seeds, $(du -sk "$corpus" | cut -f1) KiB"
