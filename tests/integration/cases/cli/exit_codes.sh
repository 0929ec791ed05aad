#!/usr/bin/env bash
# exit codes: one meaning each (docs/operator-guide.md "Exit codes"). A backup whose set failed
# exits 14 while the other set is still committed; a backup committed in staging whose push
# failed exits 15; --json names the outcome and the failure's kind; a second backup while the
# lock is held is still 11, a usage error 64.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.csv"
make_config "$CONFIG" "$src" nas
printf '\n[set broken]\npaths = %s\npre_hook = exit 3\n' "$src" >> "$CONFIG"
run_ok ofs init

# a set fails (its pre_hook): 14, the other set committed and pushed
run_fails 14 "*set 'broken'*pre_hook*exit status 3*" ofs backup
[ "$(count_records "$SCRATCH/staging")" -eq 1 ] || fail "set 'data' was not committed"
[ "$(count_records "$SCRATCH/targets/nas")" -eq 1 ] || fail "set 'data' was not pushed"
run_fails 14 "*" ofs --json backup
python3 - "$LAST_OUT" << 'PY' || fail "--json of a failed set: $(cat "$LAST_OUT")"
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["exit"] == 14 and e["outcome"] == "set failed" and e["code"] == "error", e
PY

# the push fails (the target's path cannot be made): 15, committed in staging
sed -i '/pre_hook = exit 3/d' "$CONFIG"
sed -i "s|^path = $SCRATCH/targets/nas|path = $SCRATCH/not-a-dir/nas|" "$CONFIG"
: > "$SCRATCH/not-a-dir"
before=$(count_records "$SCRATCH/staging")
run_fails 15 "*committed in staging, not replicated*nas*" ofs backup --set data
[ "$(count_records "$SCRATCH/staging")" -eq $((before + 1)) ] || fail "the backup was not committed"
run_fails 15 "*" ofs --json backup --set data
python3 - "$LAST_OUT" << 'PY' || fail "--json of a failed push: $(cat "$LAST_OUT")"
import json, sys
doc = json.load(open(sys.argv[1]))
e = doc["error"]
assert e["exit"] == 15 and e["outcome"] == "push failed", e
assert e["code"] != "error", e  # the kind of the failure behind it is kept
assert len(doc["backups"]) == 1, doc
PY

# the lock is held: 11; usage: 64
exec 9> "$SCRATCH/state/offsite.lock"
flock -n 9 || fail "cannot take the lock for the test"
run_fails 11 "*another offsite is running*" ofs backup --no-push
exec 9>&-
run_fails 64 "*unknown option*" ofs backup --no-such-option
echo "PASS: $CASE_NAME"
