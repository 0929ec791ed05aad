#!/usr/bin/env bash
# python_interop.sh - the independent Python implementation of docs/format.md
# (tests/integration/tools/ofs_format.py) and the C code read each other's sealed objects.
#   1. Python decrypts the committed C-sealed and Python-sealed golden vectors.
#   2. Tampered, truncated, extended and misnamed objects fail with "authentication failed"
#      (or the name message) and exit 1, with no plaintext released for a bad first segment.
#   3. Fresh round trips at awkward sizes: C seals -> Python opens; Python seals -> C opens
#      (C side: the test_seal binary's OFS_WRITE_GOLDEN / OFS_CHECK_GOLDEN hooks).
#   4. Record MAC: Python computes, Python checks, a modified record fails.
set -euo pipefail

SRC=${OFS_SOURCE_DIR:?OFS_SOURCE_DIR not set}
BUILD=${OFS_BUILD_DIR:?OFS_BUILD_DIR not set}
TOOL="python3 $SRC/tests/integration/tools/ofs_format.py"
DATA=$SRC/tests/unit/data
SCRATCH=$(mktemp -d /tmp/ofs_interop.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

python3 -c 'import cryptography' 2>/dev/null || fail "python3-cryptography is not installed"

KEY=$SCRATCH/golden.key
cp "$DATA/golden.key" "$KEY"
chmod 600 "$KEY"

# 1. golden vectors
for obj in golden-c.ofs golden-py.ofs; do
    $TOOL decrypt --key "$KEY" --name golden/vol-0001 < "$DATA/$obj" > "$SCRATCH/out" ||
        fail "python could not open $obj"
    cmp -s "$SCRATCH/out" "$DATA/golden-plain.txt" || fail "python opened $obj to different bytes"
done
echo "ok: python opens both golden vectors"

# 2. damage must fail, loudly
expect_fail() { # expect_fail LABEL EXPECTED-MESSAGE FILE [--name N]
    local label=$1 msg=$2 file=$3; shift 3
    if $TOOL decrypt --key "$KEY" "$@" < "$file" > "$SCRATCH/bad.out" 2> "$SCRATCH/bad.err"; then
        fail "$label: decrypt succeeded"
    fi
    grep -qF "$msg" "$SCRATCH/bad.err" || fail "$label: expected '$msg', got: $(cat "$SCRATCH/bad.err")"
}
AUTH="authentication failed (wrong key or corrupted data)"
SIZE=$(stat -c %s "$DATA/golden-c.ofs")
head -c $((SIZE - 1)) "$DATA/golden-c.ofs" > "$SCRATCH/cut1"
expect_fail "truncated by one byte" "$AUTH" "$SCRATCH/cut1"
head -c $((SIZE - 16 - 1000)) "$DATA/golden-c.ofs" > "$SCRATCH/cut2"
expect_fail "final segment dropped" "$AUTH" "$SCRATCH/cut2"
{ cat "$DATA/golden-c.ofs"; printf 'x'; } > "$SCRATCH/extra"
expect_fail "byte appended" "$AUTH" "$SCRATCH/extra"
python3 - "$DATA/golden-c.ofs" "$SCRATCH/flip" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[48 + 15 + 10] ^= 0x01        # inside segment 0
open(sys.argv[2], "wb").write(data)
PY
expect_fail "bit flipped" "$AUTH" "$SCRATCH/flip"
[ ! -s "$SCRATCH/bad.out" ] || fail "plaintext released from a damaged first segment"
expect_fail "wrong name" "object is 'golden/vol-0001', expected 'golden/vol-0002'" \
    "$DATA/golden-c.ofs" --name golden/vol-0002
printf 'not an object' > "$SCRATCH/junk"
expect_fail "not an object" "not an offsite object" "$SCRATCH/junk"
echo "ok: damaged objects fail"

# 3. fresh round trips in both directions
SEAL_BIN=$BUILD/test_seal
if [ ! -x "$SEAL_BIN" ]; then
    echo "SKIP: $SEAL_BIN not built (unit tests off); the C half of the round trip needs it"
    exit 77
fi
RT=$SCRATCH/rt
mkdir "$RT"
cp "$KEY" "$RT/golden.key"
for size in 0 1 1023 1024 1025 2048 5000 65537; do
    head -c "$size" /dev/urandom > "$RT/golden-plain.txt"
    # C seals, Python opens
    OFS_WRITE_GOLDEN=$RT "$SEAL_BIN" || fail "C could not seal $size bytes"
    $TOOL decrypt --key "$KEY" --name golden/vol-0001 < "$RT/golden-c.ofs" > "$RT/out" ||
        fail "python could not open a C object of $size bytes"
    cmp -s "$RT/out" "$RT/golden-plain.txt" || fail "C->python round trip of $size bytes differs"
    # Python seals, C opens
    $TOOL encrypt --key "$KEY" --name golden/vol-0001 --segment-size 1024 \
        < "$RT/golden-plain.txt" > "$RT/golden-py.ofs" || fail "python could not seal $size bytes"
    [ "$(stat -c %s "$RT/golden-py.ofs")" = "$(stat -c %s "$RT/golden-c.ofs")" ] ||
        fail "python and C sealed sizes differ for $size bytes"
    rm -f "$RT/golden-py.out"
    OFS_CHECK_GOLDEN=$RT "$SEAL_BIN" || fail "C could not open a python object of $size bytes"
    cmp -s "$RT/golden-py.out" "$RT/golden-plain.txt" ||
        fail "python->C round trip of $size bytes differs"
done
echo "ok: round trips C<->python at 8 sizes"

# 4. record MAC
printf '{"format":"offsite-record","version":1,"id":"s_20260101_000000","files":3,"description":"caf\\u00e9 \\u001f"}' \
    | $TOOL mac --key "$KEY" > "$SCRATCH/rec.json"
grep -q '"key_id": "f64ccdbd673cb308"' "$SCRATCH/rec.json" || fail "mac did not set key_id"
$TOOL check-mac --key "$KEY" < "$SCRATCH/rec.json" > /dev/null || fail "check-mac rejected its own mac"
sed 's/"files": 3/"files": 4/' "$SCRATCH/rec.json" > "$SCRATCH/rec2.json"
if $TOOL check-mac --key "$KEY" < "$SCRATCH/rec2.json" 2> "$SCRATCH/mac.err"; then
    fail "check-mac accepted a modified record"
fi
grep -qF "MAC mismatch" "$SCRATCH/mac.err" || fail "unexpected check-mac message: $(cat "$SCRATCH/mac.err")"
echo "ok: record MAC"
