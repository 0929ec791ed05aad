#!/usr/bin/env bash
# backup_sets: repeated --set backs up each named set (and no other); an unknown set is exit 3
# naming the sets there are; --dry-run says per set full or differential and why, and what
# would be read (files, bytes; new/changed/grown/unchanged/deleted against the base), and
# writes, reads and runs nothing (no hook, staging unchanged); backup --json and list --json
# count the same things under the same names ("entries" catalog entries, "files" regular files).
. "$(dirname "$0")/../../lib.sh"

mkdir -p "$SCRATCH/a" "$SCRATCH/b" "$SCRATCH/c"
printf 'alpha\n' > "$SCRATCH/a/one.txt"
head -c 200000 /dev/urandom > "$SCRATCH/a/fills.csv"
printf 'gone soon\n' > "$SCRATCH/a/old.txt"
printf 'beta\n' > "$SCRATCH/b/two.txt"
printf 'gamma\n' > "$SCRATCH/c/three.txt"
make_config "$CONFIG" "$SCRATCH/a"
sed -i 's/^\[set data\]/[set a]/' "$CONFIG"
cat >> "$CONFIG" << EOF

[set b]
paths = $SCRATCH/b
pre_hook = touch $SCRATCH/hook-ran

[set c]
paths = $SCRATCH/c
EOF
run_ok ofs init

# state: the staging and state directories, every file's size and mtime
state() { (cd "$SCRATCH" && find staging state -printf '%p %s %T@\n' | sort | sha256sum); }

# a dry run before anything exists: every set full, nothing created, no hook
before=$(state)
run_ok ofs backup --dry-run
expect_glob "$LAST_OUT" "*set a: full backup (monthly): *always full*would read 3 files, *set b: full*set c: full*nothing was read or written*" "first dry run"
[ "$before" = "$(state)" ] || fail "--dry-run changed staging or the state dir"
[ ! -e "$SCRATCH/hook-ran" ] || fail "--dry-run ran a pre_hook"

# --set twice: a and b, not c
OFFSITE_NOW=2026-03-02T18:00:00Z run_ok ofs backup --set a --set b --no-push
[ "$(count_records "$SCRATCH/staging")" -eq 2 ] || fail "--set a --set b made $(count_records "$SCRATCH/staging") backups"
ls "$SCRATCH"/staging/data/*/ | grep -q '^a_' || fail "no backup of set a"
ls "$SCRATCH"/staging/data/*/ | grep -q '^b_' || fail "no backup of set b"
if ls "$SCRATCH"/staging/data/*/ | grep -q '^c_'; then fail "set c was backed up"; fi
[ -e "$SCRATCH/hook-ran" ] || fail "set b's pre_hook did not run"
rm "$SCRATCH/hook-ran"

run_fails 3 "*no set 'nope' in*HINT: its sets are 'a', 'b', 'c'*" ofs backup --set a --set nope
[ "$(count_records "$SCRATCH/staging")" -eq 2 ] || fail "a backup with an unknown set committed something"

# the next day: a differential of a, with one file new, one grown, one deleted
printf 'new\n' > "$SCRATCH/a/new.txt"
head -c 1000 /dev/urandom >> "$SCRATCH/a/fills.csv"
rm "$SCRATCH/a/old.txt"
before=$(state)
OFFSITE_NOW=2026-03-03T18:00:00Z run_ok ofs backup --dry-run --set a --set b
[ "$before" = "$(state)" ] || fail "--dry-run changed staging or the state dir"
[ ! -e "$SCRATCH/hook-ran" ] || fail "--dry-run ran a pre_hook"
expect_glob "$LAST_OUT" "*set a: differential backup (daily): of the latest full 'a_20260302_180000' (1d old, within full_every 7d)*would read 2 files, 196 KiB, of 3 files*against 'a_20260302_180000': 1 new, * changed, 1 grown (stored as tails), * unchanged, 1 deleted*set b: differential*would read 0 files, 0 B, of 1 file,*" "dry run of a differential"
OFFSITE_NOW=2026-03-03T18:00:00Z run_ok ofs --json backup --dry-run --set a --full
python3 - "$LAST_OUT" << 'PY' || fail "backup --dry-run --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["dry_run"] is True, d
[a] = d["sets"]
assert a["set"] == "a" and a["kind"] == "full" and a["why"] == "--full", a
assert a["files"] == 3 and a["read_files"] == 3 and a["base"] is None, a
assert a["read_bytes"] == a["bytes"] == 201000 + 6 + 4, a
PY

# --json counts: backup's and list's "entries" are the same catalog entries; "files" in backup
# is regular files alone
OFFSITE_NOW=2026-03-03T18:00:00Z run_ok ofs --json backup --set a --no-push
cp "$LAST_OUT" "$SCRATCH/backup.json"
run_ok ofs --json list --set a
python3 - "$SCRATCH/backup.json" "$LAST_OUT" "$SCRATCH/a" << 'PY' || fail "backup --json and list --json disagree"
import json, sys
b = json.load(open(sys.argv[1]))["backups"][0]
l = [x for x in json.load(open(sys.argv[2]))["backups"] if x["id"] == b["id"]][0]
dirs = len(sys.argv[3].strip("/").split("/"))  # the set's path and the directories above it
assert b["entries"] == l["entries"] == 3 + dirs, (b, l)
assert b["files"] == 3 and "files" not in l, (b, l)
assert b["bytes"] == l["bytes"], (b, l)
PY
# (the changed and unchanged counts include the directories above the set's path, which other
# programs touch: not asserted)
# text reads naturally: "1 file", not "1 files"
OFFSITE_NOW=2026-03-04T18:00:00Z run_ok ofs backup --set c --no-push
expect_glob "$LAST_OUT" "*: 1 file, 6 B read, * stored in 1 volume;*" "backup of one file"
echo "PASS: $CASE_NAME"
