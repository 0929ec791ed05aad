#!/usr/bin/env bash
# status: freshness of each set's newest backup against warn_after (26h) and critical_after
# (50h): exit 0 ok, 1 warning, 2 critical; a set with no backup is critical; a monitoring host
# without the key still gets an answer; --json names the state per set. The clock is moved with
# OFFSITE_NOW (a testing aid).
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.csv"
make_config "$CONFIG" "$src"
run_ok ofs init

# no backup yet: critical
run_fails 2 "*" ofs status
expect_glob "$LAST_OUT" "*critical*data*" "status with no backup"

t0=1795281300 # 2026-11-21T17:15:00Z, a Saturday evening
OFFSITE_NOW=$t0 run_ok ofs backup --no-push
id=$(latest_id "$SCRATCH/staging")
[ "$id" = data_20261121_171500 ] || fail "backup id '$id' does not follow OFFSITE_NOW"

check_status() { # HOURS_LATER EXPECTED_EXIT EXPECTED_STATE
    local now=$((t0 + $1 * 3600))
    LAST_RC=0
    OFFSITE_NOW=$now "$OFFSITE_BIN" -c "$CONFIG" status > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
    [ "$LAST_RC" -eq "$2" ] || fail "status $1 h after the backup exited $LAST_RC, expected $2: $(cat "$LAST_OUT" "$LAST_ERR")"
    expect_glob "$LAST_OUT" "$3 data*$id*" "status $1 h after the backup"
    OFFSITE_NOW=$now "$OFFSITE_BIN" -c "$CONFIG" --json status > "$SCRATCH/status.json" || true
    python3 - "$SCRATCH/status.json" "$3" "$id" "$(($1 * 3600))" << 'PY' || fail "status --json $1 h after the backup"
import json, sys
doc = json.load(open(sys.argv[1]))
s = [x for x in doc["sets"] if x["set"] == "data"][0]
assert s["state"] == sys.argv[2], s
assert s["newest"] == sys.argv[3], s
assert s["age_seconds"] == int(sys.argv[4]), s
PY
}
check_status 1 0 ok
check_status 25 0 ok
check_status 27 1 warning
check_status 49 1 warning
check_status 51 2 critical

# a monitoring host without the key: the manifest is read unverified, the answer is the same
mv "$SCRATCH/key/offsite.key" "$SCRATCH/key.away"
LAST_RC=0
OFFSITE_NOW=$((t0 + 3600)) "$OFFSITE_BIN" -c "$CONFIG" status > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
[ "$LAST_RC" -eq 0 ] || fail "status without the key exited $LAST_RC: $(cat "$LAST_OUT" "$LAST_ERR")"
mv "$SCRATCH/key.away" "$SCRATCH/key/offsite.key"

# a second set that never ran is critical even though 'data' is fresh
printf '\n[set orders]\npaths = %s\n' "$src" >> "$CONFIG"
LAST_RC=0
OFFSITE_NOW=$((t0 + 3600)) "$OFFSITE_BIN" -c "$CONFIG" status > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
[ "$LAST_RC" -eq 2 ] || fail "status with a set never backed up exited $LAST_RC, expected 2"
expect_glob "$LAST_OUT" "*ok data*critical orders*" "status of two sets"
echo "PASS: $CASE_NAME"
