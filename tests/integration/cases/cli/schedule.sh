#!/usr/bin/env bash
# schedule: the agent's schedule against systemd's own reading of the same lines, and the
# commands around it.
#   - `schedule show --json` lists the same next runs as `systemd-analyze calendar
#     --base-time` for weekday, stepped, DST-crossing and month-end lines (skipped if
#     systemd-analyze is missing);
#   - `schedule show --systemd` is a drop-in `schedule check` accepts; a timer that differs is
#     refused (exit 2) naming the line;
#   - several schedules: a set every two hours in the session and one nightly; `backup
#     --scheduled` backs up only the set that is due;
#   - `--wait` waits for the lock (a held lock released after 1 s) instead of exit 11;
#   - the post_hook learns the push's outcome (OFFSITE_PUSH); verify_after = targets checks
#     the new backup in staging and on the target;
#   - `notify --unit-failed` tells a unit's failure once: not again when the run told it.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.csv"
make_config "$CONFIG" "$src" nas
sed -i "/^\[agent\]/a time_zone = America/New_York\nschedule = Mon..Fri 17:15\nverify_after = targets" "$CONFIG"
cat >> "$CONFIG" << EOF

[set positions]
paths = $src
schedule = Mon..Fri 10..16/2:00
post_hook = echo "\$OFFSITE_SET \$OFFSITE_STATUS \$OFFSITE_PUSH" >> $SCRATCH/hook.log
EOF
run_ok ofs init

# the next runs agree with systemd's reading of each line
if command -v systemd-analyze > /dev/null; then
    base=2026-03-06T12:00:00Z # the Friday before New York's clocks go forward
    for line in "Mon..Fri 17:15 America/New_York" "Mon..Fri 10..16/2:00 America/New_York" \
                "*-*-* 02:30 America/New_York" "*-*-31 12:00 UTC" "Sat,Sun 06:00 Europe/London"; do
        cfg=$SCRATCH/one.ini
        sed "s|^schedule = .*|schedule = $line|; /^\[set positions\]/,\$d" "$CONFIG" > "$cfg"
        OFFSITE_NOW=$base "$OFFSITE_BIN" -c "$cfg" --json schedule show --count 8 > "$SCRATCH/ours.json" ||
            fail "schedule show '$line'"
        python3 -c 'import json,sys; [print(r["time"]) for r in json.load(open(sys.argv[1]))["next_runs"]]' \
            "$SCRATCH/ours.json" > "$SCRATCH/ours"
        SYSTEMD_COLORS=0 TZ=UTC systemd-analyze calendar --base-time="2026-03-06 12:00:00 UTC" \
            --iterations=8 "$line" | sed -n 's/.*\(Next elapse\|Iter\. #[0-9]*\): ... \([0-9-]*\) \([0-9:]*\) UTC$/\2T\3Z/p' \
            > "$SCRATCH/systemd"
        [ "$(wc -l < "$SCRATCH/systemd")" -eq 8 ] || fail "systemd-analyze calendar '$line': $(cat "$SCRATCH/systemd")"
        diff "$SCRATCH/systemd" "$SCRATCH/ours" > "$SCRATCH/diff" ||
            fail "'$line': systemd and offsite disagree: $(cat "$SCRATCH/diff")"
    done
else
    note "systemd-analyze not installed: the cross-check with systemd is skipped"
fi

# the timer drop-in from the configuration passes the check; another schedule does not
run_ok ofs schedule show --systemd
printf '[Timer]\nOnCalendar=\nOnCalendar=Mon..Fri 17:15 America/New_York\nOnCalendar=Mon..Fri 10..16/2:00 America/New_York\n' > "$SCRATCH/want.conf"
diff "$SCRATCH/want.conf" "$LAST_OUT" || fail "schedule show --systemd"
printf '[Timer]\nOnCalendar=Mon..Fri 17:15\n' > "$SCRATCH/offsite-backup.timer"
run_fails 2 "*the timer fires on another schedule*" ofs schedule check "$SCRATCH/offsite-backup.timer"
expect_glob "$LAST_OUT" "*missing from the timer: OnCalendar=Mon..Fri 17:15 America/New_York*not in the configuration: OnCalendar=Mon..Fri 17:15*" "schedule check"
cp "$SCRATCH/want.conf" "$SCRATCH/schedule.conf"
run_ok ofs schedule check "$SCRATCH/offsite-backup.timer" "$SCRATCH/schedule.conf"

# Tuesday 2026-11-24: both sets run the first time, then at 12:01 only positions is due
OFFSITE_NOW=2026-11-24T14:30:00Z run_ok ofs backup --scheduled
[ "$(count_records "$SCRATCH/staging")" -eq 2 ] || fail "the first scheduled run backs up every set"
grep -qx "positions ok ok" "$SCRATCH/hook.log" || fail "post_hook: $(cat "$SCRATCH/hook.log")"
expect_glob "$LAST_OUT" "*verify_after: 4 backup copies checked (staging and every target): ok*" "verify_after"
OFFSITE_NOW=2026-11-24T17:01:00Z run_ok ofs backup --scheduled
expect_glob "$LAST_OUT" "set data: no run due*next run 2026-11-24T22:15:00Z*backup positions_20261124_170100*" "the 12:01 run"
[ "$(count_records "$SCRATCH/staging")" -eq 3 ] || fail "only positions was due at 12:01"

# --wait: a run meeting another waits for the lock instead of exit 11
flock "$SCRATCH/state/offsite.lock" -c "touch $SCRATCH/held; sleep 2" &
holder=$!
for _ in $(seq 100); do [ -e "$SCRATCH/held" ] && break; sleep 0.05; done
run_fails 11 "*another offsite is running*" ofs backup --no-push --set positions
OFFSITE_NOW=2026-11-24T19:01:00Z run_ok ofs backup --scheduled --wait 30s
wait "$holder"
[ "$(count_records "$SCRATCH/staging")" -eq 4 ] || fail "--wait did not back up"

# a push failure, then the unit's OnFailure= handler: told once, by the run itself
printf '\n[notify]\ncommand = cat >> %s/events.log\n' "$SCRATCH" >> "$CONFIG"
mv "$SCRATCH/targets/nas" "$SCRATCH/nas.away"
: > "$SCRATCH/targets/nas"
INVOCATION_ID=run-1 OFFSITE_NOW=2026-11-24T22:17:00Z run_fails 15 "*not replicated*" ofs backup --scheduled
grep -qx "positions ok failed" "$SCRATCH/hook.log" || fail "post_hook with a failed push: $(cat "$SCRATCH/hook.log")"
[ "$(grep -c push_failed "$SCRATCH/events.log")" -eq 1 ] || fail "events: $(cat "$SCRATCH/events.log")"
MONITOR_INVOCATION_ID=run-1 MONITOR_SERVICE_RESULT=exit-code MONITOR_EXIT_STATUS=15 \
    run_ok ofs notify --unit-failed offsite-backup.service
expect_glob "$LAST_OUT" "*told its failure itself*" "notify --unit-failed after the run told it"
[ "$(wc -l < "$SCRATCH/events.log")" -eq 1 ] || fail "told twice: $(cat "$SCRATCH/events.log")"
MONITOR_INVOCATION_ID=run-2 MONITOR_SERVICE_RESULT=timeout MONITOR_EXIT_STATUS= \
    run_ok ofs notify --unit-failed offsite-backup.service
python3 - "$SCRATCH/events.log" << 'PY' || fail "unit_failed: $(cat "$SCRATCH/events.log")"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])][-1]
assert e["event"] == "unit_failed", e
assert "offsite-backup.service failed (result timeout" in e["message"], e
assert "did not record its end" in e["message"], e
PY
rm "$SCRATCH/targets/nas"
mv "$SCRATCH/nas.away" "$SCRATCH/targets/nas"
echo "PASS: $CASE_NAME"
