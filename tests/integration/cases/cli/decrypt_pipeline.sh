#!/usr/bin/env bash
# decrypt_pipeline: the documented emergency path without offsite's restore logic:
#   offsite decrypt --key KEYFILE < vol-0001.ofs | zstd -d | tar -x
# and the same with tests/integration/tools/ofs_format.py (no offsite binary at all).
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
make_tree "$src"
make_config "$CONFIG" "$src"
run_ok ofs init
run_ok ofs backup
id=$(latest_id "$SCRATCH/staging")
dir=$(backup_dir "$SCRATCH/staging" "$id")
key=$SCRATCH/key/offsite.key
catalog_paths "$SCRATCH/staging" "$id" 1 > "$SCRATCH/vol1.paths"
[ -s "$SCRATCH/vol1.paths" ] || fail "the catalog lists no file in volume 1"

# offsite decrypt | zstd -d | tar -t / tar -x
"$OFFSITE_BIN" decrypt --key "$key" < "$dir/vol-0001.ofs" | zstd -d -q -c | tar -tf - > "$SCRATCH/list.txt" ||
    fail "offsite decrypt | zstd -d | tar -t failed"
while IFS= read -r p; do
    grep -qxF "$p" "$SCRATCH/list.txt" || fail "tar -t of vol-0001 does not list '$p'"
done < "$SCRATCH/vol1.paths"
mkdir "$SCRATCH/x1"
"$OFFSITE_BIN" decrypt --key "$key" --name "$id/vol-0001" < "$dir/vol-0001.ofs" | zstd -d -q -c | tar -xf - -C "$SCRATCH/x1" ||
    fail "offsite decrypt --name | zstd -d | tar -x failed"
while IFS= read -r p; do
    cmp -s "/$p" "$SCRATCH/x1/$p" || fail "extracted '$p' differs from the source"
done < "$SCRATCH/vol1.paths"

# the catalog comes out the same way
"$OFFSITE_BIN" decrypt --key "$key" < "$dir/catalog.ofs" | zstd -d -q -c > "$SCRATCH/cat.jsonl"
head -1 "$SCRATCH/cat.jsonl" > "$SCRATCH/cat.head"
grep -q '"offsite-catalog"' "$SCRATCH/cat.head" || fail "decrypted catalog does not start with its format line"

# a wrong expected name is refused, with no plaintext on stdout
LAST_RC=0
"$OFFSITE_BIN" decrypt --key "$key" --name "$id/vol-0002" < "$dir/vol-0001.ofs" > "$SCRATCH/wrong.out" 2> "$LAST_ERR" || LAST_RC=$?
[ "$LAST_RC" -ne 0 ] || fail "decrypt --name with the wrong name succeeded"
expect_glob "$LAST_ERR" "*authentication failed*" "decrypt --name (wrong name) stderr"
[ ! -s "$SCRATCH/wrong.out" ] || fail "decrypt with the wrong name wrote plaintext"

# without offsite: the independent Python decoder
if [ -f "$OFS_FORMAT" ]; then
    mkdir "$SCRATCH/x2"
    python3 "$OFS_FORMAT" decrypt --key "$key" --name "$id/vol-0001" < "$dir/vol-0001.ofs" | zstd -d -q -c | tar -xf - -C "$SCRATCH/x2" ||
        fail "ofs_format.py decrypt | zstd -d | tar -x failed"
    diff -r "$SCRATCH/x1" "$SCRATCH/x2" > /dev/null || fail "ofs_format.py and offsite decrypt extract different files"
else
    note "tests/integration/tools/ofs_format.py is missing: the Python emergency path is not checked"
fi
echo "PASS: $CASE_NAME"
