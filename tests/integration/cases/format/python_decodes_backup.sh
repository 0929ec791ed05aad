#!/usr/bin/env bash
# python_decodes_backup.sh - a real backup made by the offsite binary is readable with nothing
# but docs/format.md: the Python tool decrypts vol-0001.ofs, zstd -d and tar -t list the files,
# the extracted bytes equal the source, the catalog decodes to JSON lines with the documented
# first line, and backup.json's MAC checks out.
# SKIP (77) only when the offsite binary does not run at all; everything else asserts.
set -euo pipefail

SRC=${OFS_SOURCE_DIR:?OFS_SOURCE_DIR not set}
BIN=${OFFSITE_BIN:-}
if [ -z "$BIN" ] || ! "$BIN" --version > /dev/null 2>&1; then
    echo "SKIP: '$BIN --version' fails: the offsite binary is not usable yet"
    exit 77
fi
TOOL="python3 $SRC/tests/integration/tools/ofs_format.py"
SCRATCH=$(mktemp -d /tmp/ofs_pybackup.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# source tree: a few files, one larger than a segment, a name with a space, a nested dir
DATA=$SCRATCH/source
mkdir -p "$DATA/positions/2026" "$DATA/empty dir"
printf 'sym,qty\nAAPL,100\n' > "$DATA/positions/2026/book.csv"
head -c 300000 /dev/urandom > "$DATA/positions/blob.bin"
printf 'hello world\n' > "$DATA/positions/with space.txt"
: > "$DATA/positions/empty"

mkdir -p "$SCRATCH/state" "$SCRATCH/target"
cat > "$SCRATCH/offsite.conf" <<CONF
[agent]
state_dir = $SCRATCH/state
staging_dir = $SCRATCH/state/staging
key_file = $SCRATCH/state/offsite.key
host = testhost

[set data]
paths = $DATA

[target t1]
type = file
path = $SCRATCH/target
CONF

OFS=("$BIN" -c "$SCRATCH/offsite.conf")
"${OFS[@]}" key generate > "$SCRATCH/keygen.out" 2>&1 || fail "key generate: $(cat "$SCRATCH/keygen.out")"
[ "$(stat -c %a "$SCRATCH/state/offsite.key")" = 600 ] || fail "key file is not mode 600"
"${OFS[@]}" backup --set data --no-push > "$SCRATCH/backup.out" 2>&1 ||
    fail "backup: $(cat "$SCRATCH/backup.out")"

VOL=$(find "$SCRATCH/state/staging" -name vol-0001.ofs | head -n 1)
[ -n "$VOL" ] || fail "no vol-0001.ofs under staging"
DIR=$(dirname "$VOL")
ID=$(basename "$DIR")
KEY=$SCRATCH/state/offsite.key

# the volume: decrypt (checking the sealed name), decompress, list, extract, compare
$TOOL decrypt --key "$KEY" --name "$ID/vol-0001" < "$VOL" > "$SCRATCH/vol.zst" ||
    fail "python could not decrypt $VOL"
zstd -q -d -c "$SCRATCH/vol.zst" > "$SCRATCH/vol.tar" || fail "zstd -d failed on the decrypted volume"
tar -tf "$SCRATCH/vol.tar" > "$SCRATCH/list" || fail "tar -t failed"
for f in positions/2026/book.csv positions/blob.bin "positions/with space.txt"; do
    grep -qF "$f" "$SCRATCH/list" || fail "'$f' is not in the volume: $(cat "$SCRATCH/list")"
done
mkdir "$SCRATCH/extract"
tar -xf "$SCRATCH/vol.tar" -C "$SCRATCH/extract" || fail "tar -x failed"
for f in positions/2026/book.csv positions/blob.bin "positions/with space.txt"; do
    found=$(find "$SCRATCH/extract" -path "*/$f" | head -n 1)
    [ -n "$found" ] || fail "'$f' not extracted"
    cmp -s "$found" "$DATA/$f" || fail "'$f' extracted with different bytes"
done
echo "ok: python decrypts vol-0001 of a real backup; zstd and tar read it"

# the catalog
$TOOL decrypt --key "$KEY" --name "$ID/catalog" < "$DIR/catalog.ofs" | zstd -q -d -c > "$SCRATCH/catalog.jsonl" ||
    fail "python could not decrypt the catalog"
python3 - "$SCRATCH/catalog.jsonl" <<'PY' || fail "catalog does not follow docs/format.md"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert json.loads(lines[0]) == {"format": "offsite-catalog", "version": 1}, lines[0]
entries = [json.loads(l) for l in lines[1:]]
paths = [e.get("path") for e in entries]
assert any(p and p.endswith("positions/blob.bin") for p in paths), paths
for e in entries:
    assert e["type"] in ("file", "dir", "symlink", "hardlink", "fifo"), e
    assert None not in e.values(), e
    if e["type"] == "file":
        assert len(e["sha256"]) == 64 and "vol" in e and "backup" in e, e
PY
echo "ok: catalog decodes to the documented JSON lines"

# the record's MAC, checked by the independent implementation
$TOOL check-mac --key "$KEY" < "$DIR/backup.json" > /dev/null || fail "backup.json MAC does not verify"
python3 - "$DIR/backup.json" <<'PY' || fail "backup.json lacks documented members"
import json, sys
r = json.load(open(sys.argv[1], encoding="utf-8"))
assert r["format"] == "offsite-record" and r["version"] == 1, r
for k in ("id", "set", "kind", "class", "host", "started", "finished", "key_id", "objects", "mac"):
    assert k in r, k
assert [o["name"] for o in r["objects"]][-1] == "catalog.ofs", r["objects"]
import hashlib, os
d = os.path.dirname(sys.argv[1])
for o in r["objects"]:
    data = open(os.path.join(d, o["name"]), "rb").read()
    assert len(data) == o["size"] and hashlib.sha256(data).hexdigest() == o["sha256"], o
PY
echo "ok: backup.json MAC verified by python; object sizes and SHA-256 match"

MANIFEST=$(find "$SCRATCH/state/staging" -name manifest.json | head -n 1)
if [ -n "$MANIFEST" ]; then
    $TOOL check-mac --key "$KEY" < "$MANIFEST" > /dev/null || fail "manifest.json MAC does not verify"
    echo "ok: manifest.json MAC verified by python"
fi
