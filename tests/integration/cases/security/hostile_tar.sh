#!/usr/bin/env bash
# hostile_tar: a backup built by hand (tools/make_backup.py, from docs/format.md) whose volume
# holds "../evil", an absolute path, and a symlink to a directory outside the target followed by
# "link/evil". Its record and manifest are correctly MAC'd, so only restore's own path checks
# stand between it and the file system: restore must fail, and nothing may appear outside the
# target. A benign backup built the same way must restore, proving the builder is right.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
printf 'x\n' > "$src/x"
make_config "$CONFIG" "$src"
run_ok ofs init
key=$SCRATCH/key/offsite.key
staging=$SCRATCH/staging
mkdir -p "$staging"

outside=$SCRATCH/outside
work=$SCRATCH/work
mkdir -p "$outside" "$work"

good=data_20260101_000000
bad=data_20260102_000000
cat > "$SCRATCH/good.json" << JSON
[{"name": "srv", "type": "dir"},
 {"name": "srv/ok.txt", "type": "file", "data": "benign\n"},
 {"name": "srv/link", "type": "symlink", "target": "ok.txt"}]
JSON
cat > "$SCRATCH/bad.json" << JSON
[{"name": "ok.txt", "type": "file", "data": "benign\n"},
 {"name": "../evil", "type": "file", "data": "dot-dot\n"},
 {"name": "../../evil-2", "type": "file", "data": "dot-dot-dot-dot\n"},
 {"name": "$SCRATCH/abs/evil", "type": "file", "data": "absolute\n"},
 {"name": "link", "type": "symlink", "target": "$outside"},
 {"name": "link/evil", "type": "file", "data": "through a symlink\n"}]
JSON
python3 "$TOOLS/make_backup.py" --key "$key" --store "$staging" --id "$good" --entries "$SCRATCH/good.json"
python3 "$TOOLS/make_backup.py" --key "$key" --store "$staging" --id "$bad" --entries "$SCRATCH/bad.json"

# both are valid backups as far as records and MACs go
run_ok ofs list
expect_glob "$LAST_OUT" "*$good*" "list"
expect_glob "$LAST_OUT" "*$bad*" "list"
run_ok ofs verify "$good" --read-data
run_ok ofs restore "$good" --target "$work/good"
[ "$(cat "$work/good/srv/ok.txt")" = benign ] || fail "the benign hand-made backup did not restore"
[ "$(readlink "$work/good/srv/link")" = ok.txt ] || fail "the benign symlink did not restore"
rm -rf "$work/good"

LAST_RC=0
ofs verify "$bad" --read-data > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
note "verify of the hostile backup exited $LAST_RC: $(head -c 300 "$LAST_ERR" | tr '\n' ' ')"

t=$work/target
run_fails nonzero "*" ofs restore "$bad" --target "$t"
note "restore of the hostile backup exited $LAST_RC: $(head -c 400 "$LAST_ERR" | tr '\n' ' ')"

problems=()
[ -z "$(ls -A "$outside")" ] || problems+=("$outside holds: $(ls -A "$outside")")
others=$(ls -A "$work" | grep -vx target || true)
[ -z "$others" ] || problems+=("$work (the target's parent) holds: $others")
[ ! -e "$SCRATCH/evil-2" ] || problems+=("$SCRATCH/evil-2 was written")
[ ! -e "$SCRATCH/abs" ] || problems+=("$SCRATCH/abs/evil was written (absolute path honoured)")
if [ -L "$t/link" ] && [ -e "$t/link/evil" ]; then problems+=("wrote through the symlink 'link'"); fi
for p in "${problems[@]+"${problems[@]}"}"; do echo "ESCAPE: $p" >&2; done
[ "${#problems[@]}" -eq 0 ] || fail "restore wrote outside its target"

# the same with --dry-run and with --overwrite
run_fails nonzero "*" ofs restore "$bad" --overwrite --target "$t"
[ -z "$(ls -A "$outside")" ] && [ ! -e "$SCRATCH/abs" ] && [ -z "$(ls -A "$work" | grep -vx target || true)" ] ||
    fail "restore --overwrite wrote outside its target"
echo "PASS: $CASE_NAME"
