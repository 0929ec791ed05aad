#!/usr/bin/env bash
# service_week: a week of simulated nights (OFFSITE_NOW) as the packaged timer runs them -
# `backup --scheduled` at 17:17 New York each day, schedule "Mon..Fri 17:15" in
# America/New_York with Thanksgiving (Thu 2026-11-26) as a holiday - with the NAS target
# unreachable on Wednesday. Checks:
#   - the push failure exits 15 and is told to a real local HTTP server (webhook_sink.py) and
#     to a command, once each, with the target named; a notifier never changes the exit;
#   - status sees off-site: Thursday morning staging is fresh but the set is a warning naming
#     nas (newest backup not on it, last push failed), exit 1; --json per store;
#   - Thanksgiving is no run: --scheduled does nothing, and no run counts as missed;
#   - Friday's run pushes Wednesday's backup too; "recovered" is told for the push and for
#     status;
#   - the weekend is no run missed (Saturday and Monday noon: ok, where hours would say
#     critical); without Monday's run, Tuesday is a warning (1 run missed), Wednesday critical;
#   - --prometheus writes the textfile metrics (push state per target, runs missed).
# The transcript of status and of the notifications is printed (the issue's week).
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.csv"
make_config "$CONFIG" "$src" nas
printf '2026-11-26 # Thanksgiving\n2026-12-25 # Christmas\n' > "$SCRATCH/holidays.txt"
sed -i "/^\[agent\]/a time_zone = America/New_York\nschedule = Mon..Fri 17:15\nholidays = $SCRATCH/holidays.txt" "$CONFIG"
python3 "$TOOLS/webhook_sink.py" "$SCRATCH/port" "$SCRATCH/webhook.log" &
register_pid $!
for _ in $(seq 100); do [ -s "$SCRATCH/port" ] && break; sleep 0.05; done
[ -s "$SCRATCH/port" ] || fail "the webhook sink did not start"
cat >> "$CONFIG" << EOF

[notify]
command = cat >> $SCRATCH/command.log; echo "\$OFFSITE_EVENT" >> $SCRATCH/command-events.log
webhook = http://127.0.0.1:$(cat "$SCRATCH/port")/hooks/offsite
timeout = 10s
EOF
run_ok ofs init
: > "$SCRATCH/command.log"
: > "$SCRATCH/webhook.log"
transcript=$SCRATCH/transcript.txt

# at TIME ARGS...: run offsite at a simulated time, keeping stdout in the transcript
at() {
    local when=$1; shift
    LAST_RC=0
    OFFSITE_NOW=$when "$OFFSITE_BIN" -c "$CONFIG" "$@" > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
    { echo "\$ OFFSITE_NOW=$when offsite $* -> exit $LAST_RC"; sed 's/^/  /' "$LAST_OUT"; } >> "$transcript"
}
expect_rc() { [ "$LAST_RC" -eq "$1" ] || { _show_last; fail "$2: exit $LAST_RC, expected $1"; }; }
events() { python3 -c 'import json,sys; print(" ".join(json.loads(l)["event"] for l in open(sys.argv[1]) if l.strip()))' "$1"; }

# Monday and Tuesday: nightly runs, both pushed
at 2026-11-23T22:17:00Z backup --scheduled
expect_rc 0 "Monday's run"
at 2026-11-24T14:00:00Z status
expect_rc 0 "status Tuesday morning"
expect_glob "$LAST_OUT" "ok data staging newest data_20261123_221700 age *, 0 runs missed*ok data nas newest data_20261123_221700*" "status Tuesday morning"
at 2026-11-24T22:17:00Z backup --scheduled
expect_rc 0 "Tuesday's run"

# Wednesday: the NAS is gone
mv "$SCRATCH/targets/nas" "$SCRATCH/nas.away"
: > "$SCRATCH/targets/nas"
at 2026-11-25T22:17:00Z backup --scheduled
expect_rc 15 "Wednesday's run with the NAS down"
expect_glob "$LAST_ERR" "*backup committed in staging, not replicated*nas*" "Wednesday's error"
[ "$(events "$SCRATCH/command.log")" = push_failed ] || fail "the command got: $(cat "$SCRATCH/command.log")"
[ "$(cat "$SCRATCH/command-events.log")" = push_failed ] || fail "OFFSITE_EVENT was not set"
python3 - "$SCRATCH/command.log" "$SCRATCH/webhook.log" << 'PY' || fail "the push_failed event"
import json, sys
cmd = json.loads(open(sys.argv[1]).readline())
path, ctype, body = open(sys.argv[2]).readline().rstrip("\n").split("\t", 2)
hook = json.loads(body)
assert path == "/hooks/offsite" and ctype == "application/json", (path, ctype)
for e in (cmd, hook):
    assert e["event"] == "push_failed" and e["target"] == "nas" and e["host"] == "testhost", e
    assert "nas" in e["message"] and e["time"] == "2026-11-25T22:17:00Z", e
    assert e["text"].startswith("offsite on testhost: push failed: "), e
PY

# Thursday morning, the NAS is back: staging fresh, nas behind - a warning naming nas
rm "$SCRATCH/targets/nas"
mv "$SCRATCH/nas.away" "$SCRATCH/targets/nas"
at 2026-11-26T14:00:00Z --json status --notify --prometheus "$SCRATCH/offsite.prom"
expect_rc 1 "status Thursday morning"
python3 - "$LAST_OUT" << 'PY' || fail "status --json Thursday morning: $(cat "$LAST_OUT")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["status"] == "warning" and doc["stores"] == ["staging", "nas"], doc
s = doc["sets"][0]
staging, nas = s["stores"]
assert staging["state"] == "ok" and staging["newest"] == "data_20261125_221700", staging
assert staging["runs_missed"] == 0, staging
assert nas["state"] == "warning" and nas["newest"] == "data_20261124_221700", nas
assert nas["runs_missed"] == 1, nas  # Wednesday's run is not on nas
assert "newest backup data_20261125_221700 not on nas" in nas["problems"], nas
assert "last push failed at 2026-11-25T22:17:00Z" in nas["problems"], nas
assert nas["last_push"]["ok"] is False, nas
assert s["next_run"] == "2026-11-27T22:15:00Z", s  # Thanksgiving has no run
assert doc["targets"]["nas"]["ok"] is False
PY
grep -qx 'offsite_push_ok{target="nas"} 0' "$SCRATCH/offsite.prom" || fail "prometheus: $(cat "$SCRATCH/offsite.prom")"
grep -qx 'offsite_status{set="data"} 1' "$SCRATCH/offsite.prom" || fail "prometheus status"
grep -qx 'offsite_backup_runs_missed{set="data",store="nas"} 1' "$SCRATCH/offsite.prom" || fail "prometheus runs missed"
at 2026-11-26T14:05:00Z status --notify
expect_rc 1 "status polled again"
[ "$(events "$SCRATCH/command.log")" = "push_failed status_warning" ] || fail "status told twice or not: $(events "$SCRATCH/command.log")"

# Thanksgiving 17:17: no run due; in the evening the NAS's missed Wednesday run shows
at 2026-11-26T22:17:00Z backup --scheduled
expect_rc 0 "Thanksgiving"
expect_glob "$LAST_OUT" "*no run due*next run 2026-11-27T22:15:00Z*nothing to do*" "Thanksgiving's run"
[ "$(count_records "$SCRATCH/staging")" -eq 3 ] || fail "a backup ran on Thanksgiving"
at 2026-11-27T03:00:00Z status
expect_rc 1 "status Thanksgiving night"
expect_glob "$LAST_OUT" "ok data staging *0 runs missed*warning data nas newest data_20261124_221700 *1 run missed*" "status Thanksgiving night"

# Friday: the run pushes Wednesday's backup too; recovered
at 2026-11-27T22:17:00Z backup --scheduled
expect_rc 0 "Friday's run"
[ "$(count_records "$SCRATCH/targets/nas")" -eq 4 ] || fail "nas did not get Wednesday's backup"
at 2026-11-27T23:00:00Z status --notify
expect_rc 0 "status Friday evening"
[ "$(events "$SCRATCH/command.log")" = "push_failed status_warning recovered recovered" ] ||
    fail "events: $(events "$SCRATCH/command.log")"
[ "$(events <(cut -f3 "$SCRATCH/webhook.log"))" = "push_failed status_warning recovered recovered" ] ||
    fail "webhook events: $(cat "$SCRATCH/webhook.log")"

# the weekend is no run missed; Monday noon still ok (hours would be 66h: critical)
at 2026-11-28T17:00:00Z status
expect_rc 0 "status Saturday"
at 2026-11-30T17:00:00Z status --prometheus "$SCRATCH/offsite.prom"
expect_rc 0 "status Monday noon"
grep -qx 'offsite_push_ok{target="nas"} 1' "$SCRATCH/offsite.prom" || fail "prometheus after recovery"
# no Monday run: Tuesday noon 1 run missed (warning), Wednesday noon 2 (critical)
at 2026-12-01T17:00:00Z status
expect_rc 1 "status Tuesday without Monday's run"
expect_glob "$LAST_OUT" "warning data staging *1 run missed*" "status Tuesday"
at 2026-12-02T17:00:00Z status
expect_rc 2 "status Wednesday without two runs"
expect_glob "$LAST_OUT" "critical data staging *2 runs missed*" "status Wednesday"

# a notifier that fails never fails the backup: the command exits 1, the webhook answers 500
sed -i "s|^command = .*|command = exit 1|" "$CONFIG"
sed -i "s|^webhook = .*|webhook = http://127.0.0.1:1/refused|" "$CONFIG"
mv "$SCRATCH/targets/nas" "$SCRATCH/nas.away"
: > "$SCRATCH/targets/nas"
at 2026-12-02T22:17:00Z backup --scheduled
expect_rc 15 "a failed push with failing notifiers"
expect_glob "$LAST_ERR" "*notify: notify command failed with exit status 1*notify webhook at '127.0.0.1:1'*" "the notifiers' failures"
rm "$SCRATCH/targets/nas"
mv "$SCRATCH/nas.away" "$SCRATCH/targets/nas"

note "the week, as status and the notifiers saw it:"
cat "$transcript"
echo "# notifications (command):"
cat "$SCRATCH/command.log"
echo "PASS: $CASE_NAME"
