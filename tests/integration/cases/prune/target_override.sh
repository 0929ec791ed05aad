#!/usr/bin/env bash
# target_override: staging and a target without an override follow [retention]; a target with
# `retention = long` follows [retention long] (keys it does not give come from [retention]).
# Staging keeps what a target has not received yet; --target prunes one store; --dry-run
# changes nothing; [retention] auto = true prunes after each backup and push.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
make_config "$CONFIG" "$src" nas dr
python3 - "$CONFIG" << 'PY'
import sys
path = sys.argv[1]
text = open(path).read().replace("[target dr]", "retention = long\n\n[target dr]", 1)
# every backup full: the nights kept are then plain arithmetic (bases: prune/gfs_400_nights)
text = text.replace("[set data]\n", "[set data]\nfull_every = 0\n", 1)
text += "\n[retention]\ndaily = 3\nweekly = 0\nmonthly = 0\nkeep_last = 1\n"
text += "\n[retention long]\ndaily = 8\n"
open(path, "w").write(text)
PY
run_ok ofs config check
run_ok ofs init
staging=$SCRATCH/staging nas=$SCRATCH/targets/nas dr=$SCRATCH/targets/dr

night() { date -u -d "2026-05-01 22:00 UTC + $1 days" +%Y-%m-%dT%H:%M:%SZ; }
id_of() { date -u -d "2026-05-01 22:00 UTC + $1 days" +data_%Y%m%d_%H%M%S; }
# ids STORE: the backups in a store directory, sorted, on one line
ids() { find "$1/data" -name backup.json 2> /dev/null | awk -F/ '{ print $(NF-1) }' | sort | tr '\n' ' '; }
# expect_ids STORE FIRST LAST: exactly the nights FIRST..LAST
expect_ids() {
    local want="" n
    for n in $(seq "$2" "$3"); do want+="$(id_of "$n") "; done
    [ "$(ids "$1")" = "$want" ] || fail "$1 holds: $(ids "$1"); expected nights $2..$3: $want"
}

for n in 1 2 3 4 5 6; do
    echo "night $n" > "$src/file"
    OFFSITE_NOW=$(night "$n") run_ok ofs backup --no-push
done
now=$(date -u -d "2026-05-07 22:05 UTC" +%Y-%m-%dT%H:%M:%SZ)

# nothing pushed yet: staging keeps every backup, saying why
OFFSITE_NOW=$now run_ok ofs prune
expect_ids "$staging" 1 6
expect_glob "$LAST_OUT" "*keep*$(id_of 1)*not yet on target 'nas'*" "prune output"
expect_glob "$LAST_OUT" "*staging: kept 6, deleted 0 backups*" "prune output"

run_ok ofs push
# a dry run says what would go and changes nothing
find "$SCRATCH/staging" "$SCRATCH/targets" -type f | sort > "$SCRATCH/before"
OFFSITE_NOW=$now run_ok ofs prune --dry-run
expect_glob "$LAST_OUT" "*would delete*$(id_of 3)*expired*" "prune --dry-run output"
expect_glob "$LAST_OUT" "*staging: kept 3, would delete 3 backups*(dry run: nothing changed)*" "prune --dry-run"
find "$SCRATCH/staging" "$SCRATCH/targets" -type f | sort > "$SCRATCH/after"
cmp -s "$SCRATCH/before" "$SCRATCH/after" || fail "prune --dry-run changed the stores"

# --target: only that store
OFFSITE_NOW=$now run_ok ofs prune --target dr
expect_ids "$dr" 4 6
expect_ids "$staging" 1 6
expect_ids "$nas" 1 6
run_fails 3 "*no target 'nosuch'*" ofs prune --target nosuch

OFFSITE_NOW=$now run_ok ofs prune --json
python3 - "$LAST_OUT" << 'PY' || fail "prune --json is not what the policies say"
import json, sys
out = json.load(open(sys.argv[1]))
stores = {s["store"]: s for s in out["stores"]}
assert out["dry_run"] is False
assert list(stores) == ["staging", "nas", "dr"], list(stores)
assert stores["nas"]["policy"] == {"name": "long", "daily": 8, "weekly": 0, "monthly": 0,
                                   "keep_last": 1, "max_backups": 0}, stores["nas"]["policy"]
assert stores["staging"]["policy"]["name"] is None and stores["dr"]["policy"]["daily"] == 3
assert (stores["staging"]["kept"], stores["staging"]["deleted"]) == (3, 3)
assert (stores["nas"]["kept"], stores["nas"]["deleted"]) == (6, 0)
assert (stores["dr"]["kept"], stores["dr"]["deleted"]) == (3, 0)
for s in stores.values():
    assert s["ok"] is True
    for b in s["backups"]:
        assert b["action"] in ("keep", "delete") and b["class"] in ("daily", "weekly", "monthly")
        assert (b["action"] == "keep") == bool(b["reasons"]), b
PY
expect_ids "$staging" 4 6
expect_ids "$nas" 1 6
expect_ids "$dr" 4 6

# auto = true: each backup pushes, then prunes every store with its own policy
sed -i 's/^keep_last = 1$/keep_last = 1\nauto = true/' "$CONFIG"
for n in 7 8 9 10 11 12; do
    echo "night $n" > "$src/file"
    OFFSITE_NOW=$(night "$n") run_ok ofs backup
done
expect_glob "$LAST_OUT" "*push nas*prune staging*prune nas (?retention long?: daily 8d*prune dr*" "backup output"
expect_ids "$staging" 10 12
expect_ids "$nas" 5 12
expect_ids "$dr" 10 12
run_ok ofs verify
run_ok ofs verify --from nas
run_ok ofs verify --from dr
echo "PASS: $CASE_NAME"
