#!/usr/bin/env bash
# list_dates: list --since/--until pick backups by start time, dates read in the configured
# time_zone (a date alone is its midnight there; a final Z is UTC; 36h means 36 hours ago); a
# malformed date is a usage error (64) naming the option and the accepted forms.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.csv"
make_config "$CONFIG" "$src"
sed -i 's/^host = testhost/host = testhost\ntime_zone = America\/New_York/' "$CONFIG"
run_ok ofs init
# four nights at 22:30 UTC = 17:30 or 18:30 in New York (DST starts 8 March 2026)
for day in 05 06 09 10; do
    printf '%s\n' "$day" >> "$src/positions.csv"
    OFFSITE_NOW=2026-03-${day}T22:30:00Z run_ok ofs backup --no-push
done

ids() { awk 'NR > 1 {print $1}' "$LAST_OUT" | tr '\n' ' '; }
export OFFSITE_NOW=2026-03-11T12:00:00Z
run_ok ofs list --since 2026-03-06 --until 2026-03-10
[ "$(ids)" = "data_20260309_223000 data_20260306_223000 " ] || fail "--since 2026-03-06 --until 2026-03-10: $(ids)"
# 2026-03-05 23:00 New York is 2026-03-06 04:00 UTC: the 5th's backup (22:30 UTC) is before it
run_ok ofs list --since '2026-03-05 23:00'
[ "$(ids)" = "data_20260310_223000 data_20260309_223000 data_20260306_223000 " ] || fail "--since '2026-03-05 23:00': $(ids)"
# with a Z the same clock time is UTC: the 5th's 22:30 UTC is before 23:00 UTC too
run_ok ofs list --since 2026-03-05T22:00:00Z --until 2026-03-05T23:00Z
[ "$(ids)" = "data_20260305_223000 " ] || fail "UTC bounds: $(ids)"
# 36h before 2026-03-11 12:00Z: only the 10th's backup
run_ok ofs list --since 36h
[ "$(ids)" = "data_20260310_223000 " ] || fail "--since 36h: $(ids)"
run_ok ofs list --until 2026-03-01
expect_glob "$LAST_OUT" "no backups in that time in staging" "--until before every backup"
run_ok ofs --json list --since yesterday
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [b["id"] for b in d["backups"]] == ["data_20260310_223000"], d' "$LAST_OUT" ||
    fail "list --json --since yesterday"

run_fails 64 "*--since: '14/03/2026' is not a date*HINT: dates are 2026-03-14*America/New_York*" ofs list --since 14/03/2026
echo "PASS: $CASE_NAME"
