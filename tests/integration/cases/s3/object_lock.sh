#!/usr/bin/env bash
# object_lock: an s3 target with object_lock = governance on a bucket with object lock enabled:
# push writes every data object with a GOVERNANCE retain-until date (class age + 1 day; the
# manifest is never locked); prune, whose policy would delete the older backups, keeps them and
# says they are locked, leaving each whole and listed; verify still passes.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

radosgw_start offsite-test || fail "radosgw did not start"
radosgw_bucket locked --object-lock || fail "cannot create a bucket with object lock"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions v1\n' > "$src/positions.csv"
make_config "$CONFIG" "$src"
add_s3_target "$CONFIG" vault prefix=host1 object_lock=governance
sed -i "s/^bucket = $S3_BUCKET\$/bucket = locked/" "$CONFIG"
printf '\n[retention]\ndaily = 1\nweekly = 1\nmonthly = 1\nkeep_last = 1\n' >> "$CONFIG"
run_ok ofs init

ids=()
for n in 1 2 3; do
    printf 'positions v%d\n' "$n" > "$src/positions.csv"
    run_ok ofs backup --full
    ids+=("$(latest_id "$SCRATCH/staging")")
done
[ "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" -eq 3 ] || fail "expected three backups: ${ids[*]}"

# every data object carries a GOVERNANCE lock into the future; the manifest none
now=$(date +%s)
run_ok s3cli s3 ls --recursive "s3://locked/host1/"
keys=$(awk '{print $4}' "$LAST_OUT")
checked=0
while IFS= read -r key; do
    case $key in
    host1/manifest.json)
        if s3cli s3api get-object-retention --bucket locked --key "$key" > /dev/null 2>&1; then
            fail "manifest.json is locked"
        fi ;;
    host1/data/*)
        run_ok s3cli s3api get-object-retention --bucket locked --key "$key"
        python3 - "$LAST_OUT" "$now" << 'PY' || fail "$key: no GOVERNANCE lock into the future"
import datetime, json, sys
r = json.load(open(sys.argv[1]))["Retention"]
until = datetime.datetime.fromisoformat(r["RetainUntilDate"].replace("Z", "+00:00"))
assert r["Mode"] == "GOVERNANCE", r
assert until.timestamp() > int(sys.argv[2]) + 86400, r  # at least the class age ahead
PY
        checked=$((checked + 1)) ;;
    esac
done <<< "$keys"
[ "$checked" -ge 9 ] || fail "only $checked data objects checked"

# forty days on (past every class age of the policy: 1 day, 1 week, 1 month), the policy keeps
# only the newest; the target, whose locks run on the real clock, refuses to delete the others
later=$((now + 40 * 86400))
OFFSITE_NOW=$later run_ok ofs prune --target vault
for id in "${ids[0]}" "${ids[1]}"; do
    expect_glob "$LAST_OUT" "*keep (locked)*$id*locked until*" "prune of a locked backup"
done
run_ok ofs list --from vault
for id in "${ids[@]}"; do
    expect_glob "$LAST_OUT" "*$id*" "list --from vault after prune"
done
run_ok ofs verify --from vault --read-data
echo "PASS: $CASE_NAME"
