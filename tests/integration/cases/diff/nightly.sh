#!/usr/bin/env bash
# nightly: a full backup, then a night's changes (a log appended, a file rewritten, one
# deleted, one added, a chmod, a rename, a hard link's first path removed, a file turned into
# a symlink), then a backup that must be a differential of the full: it stores the changed
# files (the log as its tail alone), keeps the rest pointing at the full, and lists every file.
# On a clean machine (staging and state gone, only the config and the key) both restore from
# the pushed file target: the differential equals the changed tree, the full the tree before;
# the independent Python decoder rebuilds the differential from docs/format.md alone.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
make_tree "$src"
make_config "$CONFIG" "$src" nas
run_ok ofs init

# Tuesday: the first backup of the month, a full
OFFSITE_NOW=2026-11-03T21:00:00Z run_ok ofs backup
full=$(latest_id "$SCRATCH/staging")
cp -a "$src" "$SCRATCH/before"

sleep 0.05 # past the file system's timestamp granularity
(
    cd "$src"
    for i in $(seq 500); do printf 'line %06d: appended after the close\n' "$i"; done >> files/text.log
    head -c 100000 /dev/urandom > files/k100.bin          # rewritten, same size
    rm files/k1.bin                                        # deleted
    printf 'new file\n' > files/new.txt                    # added
    chmod 700 files/tool.sh                                # metadata only
    mv "names with spaces/résumé café.txt" "names with spaces/renamed.txt"
    rm files/hard-a                                        # files/hard-b is the first link now
    rm files/one-byte && ln -s small.txt files/one-byte    # a file became a symlink
)

# Wednesday: a differential of Tuesday's full
OFFSITE_NOW=2026-11-04T21:00:00Z run_ok ofs backup
diff=$(latest_id "$SCRATCH/staging")
[ "$diff" != "$full" ] || fail "no second backup"
cp -a "$src" "$SCRATCH/after"
rec=$(backup_dir "$SCRATCH/staging" "$diff")/backup.json
python3 - "$rec" "$full" << 'PY' || fail "the second backup is not a differential of $full"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["kind"] == "diff" and r["base"] == sys.argv[2] and r["class"] == "daily", r
PY
[ -f "$(backup_dir "$SCRATCH/targets/nas" "$diff")/backup.json" ] || fail "$diff was not pushed"

# its catalog: every file, stored here or kept from the full, the log as a tail
catalog_json "$SCRATCH/staging" "$diff" > "$SCRATCH/diff.jsonl"
python3 - "$SCRATCH/diff.jsonl" "${src#/}" "$full" "$diff" << 'PY' || fail "catalog of $diff (above)"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
src, full, diff = sys.argv[2:5]
assert json.loads(lines[0]) == {"format": "offsite-catalog", "version": 1}
cat = {e["path"][len(src) + 1:]: e for e in map(json.loads, lines[1:]) if e["path"].startswith(src + "/")}
def where(p): return cat[p].get("backup")
log = cat["files/text.log"]
assert where("files/text.log") == diff and log["base_backup"] == full, log
assert 0 < log["base_size"] < log["size"] and log["size"] - log["base_size"] < 20000, log
for p in ("files/k100.bin", "files/new.txt", "files/tool.sh", "names with spaces/renamed.txt",
          "files/hard-b", "files/one-byte"):
    assert where(p) == diff and "base_size" not in cat[p], (p, cat[p])
for p in ("files/k300.bin", "files/m1.bin", "files/sparse.img", "nested/link-relative",
          "nested/fifo", "private/secret.txt"):
    assert where(p) == full, (p, cat[p])
for p in ("files/k1.bin", "names with spaces/résumé café.txt", "files/hard-a"):
    assert p not in cat, p
assert cat["files/hard-b"]["type"] == "file" and cat["files/one-byte"]["type"] == "symlink"
assert cat["names with spaces/hard c"]["target"].endswith("files/hard-b")
PY
# every byte of both backups, the differential's tails included, checks out
run_ok ofs verify "$diff" --read-data
run_ok ofs verify --all --read-data
run_ok ofs ls "$diff"
expect_glob "$LAST_OUT" "*files/sparse.img*" "ls of the differential (a kept file)"
expect_glob "$LAST_OUT" "*files/text.log*" "ls of the differential (the tail)"

# the clean machine: only the config and the key
rm -rf "$SCRATCH/state" "$SCRATCH/staging"
mkdir "$SCRATCH/state"
run_ok ofs restore "$diff" --from nas --target "$SCRATCH/r-diff"
compare_trees "$SCRATCH/after" "$SCRATCH/r-diff$src"
run_ok ofs restore "$full" --from nas --target "$SCRATCH/r-full"
compare_trees "$SCRATCH/before" "$SCRATCH/r-full$src"
run_ok ofs verify --all --read-data --from nas
run_ok ofs restore --latest --from nas --target "$SCRATCH/r-latest"
compare_trees "$SCRATCH/after" "$SCRATCH/r-latest$src"

# docs/format.md is enough: the Python decoder rebuilds the differential from both backups
run_ok python3 "$OFS_FORMAT" restore --key "$SCRATCH/key/offsite.key" \
    --store "$SCRATCH/targets/nas" --id "$diff" --target "$SCRATCH/r-python"
compare_trees "$SCRATCH/after" "$SCRATCH/r-python$src" --no-xattrs
echo "PASS: $CASE_NAME"
