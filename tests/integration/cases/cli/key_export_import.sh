#!/usr/bin/env bash
# key_export_import: a paper copy of the key typed back into a new key file gives the same key
# (same id, and it decrypts the backup); a typo in the paper copy is found, naming the line.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.json"
make_config "$CONFIG" "$src"
run_ok ofs init
run_ok ofs key id
id=$(grep -oE '[0-9a-f]{16}' "$LAST_OUT" | tail -1)
[ -n "$id" ] || fail "key id printed no 16-hex-digit id"
run_ok ofs backup

run_ok ofs key export
cp "$LAST_OUT" "$SCRATCH/paper.txt"
grep -q "$id" "$SCRATCH/paper.txt" || fail "the paper copy does not name key $id"

# a clean machine: same config, but the key file comes back from paper
mkdir -p "$SCRATCH/key2"; chmod 700 "$SCRATCH/key2"
sed "s|^key_file = .*|key_file = $SCRATCH/key2/offsite.key|" "$CONFIG" > "$SCRATCH/clean.ini"
run_ok "$OFFSITE_BIN" -c "$SCRATCH/clean.ini" key import "$SCRATCH/paper.txt"
[ "$(stat -c %a "$SCRATCH/key2/offsite.key")" = 600 ] || fail "imported key file is not mode 0600"
run_ok "$OFFSITE_BIN" -c "$SCRATCH/clean.ini" key id
grep -q "$id" "$LAST_OUT" || fail "imported key has a different id: $(cat "$LAST_OUT")"
cmp -s <(grep -v '^#' "$SCRATCH/key/offsite.key" | awk 'NF {print $3, $5}') \
       <(grep -v '^#' "$SCRATCH/key2/offsite.key" | awk 'NF {print $3, $5}') ||
    fail "imported key differs from the original"
run_ok "$OFFSITE_BIN" -c "$SCRATCH/clean.ini" verify --read-data

# importing the same paper again adds nothing
run_ok "$OFFSITE_BIN" -c "$SCRATCH/clean.ini" key import "$SCRATCH/paper.txt"
[ "$(grep -c '^offsite-key' "$SCRATCH/key2/offsite.key")" -eq 1 ] || fail "re-import duplicated the key"

# a typo: one hex digit of key line 3 changed
line=$(grep -nE '^3:' "$SCRATCH/paper.txt" | cut -d: -f1)
[ -n "$line" ] || fail "no key line '3:' in the paper copy"
python3 - "$SCRATCH/paper.txt" "$line" "$SCRATCH/typo.txt" << 'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
n = int(sys.argv[2]) - 1
head, rest = lines[n].split(":", 1)
i = next(i for i, c in enumerate(rest) if c in "0123456789abcdef")
c = rest[i]
rest = rest[:i] + ("1" if c != "1" else "2") + rest[i + 1:]
lines[n] = head + ":" + rest
open(sys.argv[3], "w").write("\n".join(lines))
PY
mkdir -p "$SCRATCH/key3"; chmod 700 "$SCRATCH/key3"
sed "s|^key_file = .*|key_file = $SCRATCH/key3/offsite.key|" "$CONFIG" > "$SCRATCH/typo.ini"
run_fails nonzero "*typo.txt:$line: check code mismatch*" "$OFFSITE_BIN" -c "$SCRATCH/typo.ini" key import "$SCRATCH/typo.txt"
[ ! -s "$SCRATCH/key3/offsite.key" ] || fail "a key file was written from a paper copy with a typo"
echo "PASS: $CASE_NAME"
