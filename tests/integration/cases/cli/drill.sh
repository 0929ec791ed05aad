#!/usr/bin/env bash
# drill: restore the newest backup of the set from a target, as a clean machine would, into a
# scratch directory; report the recovery point age and the recovery time against --rpo/--rto;
# exit 0 when met, 1 when missed; the scratch copy is removed unless --keep; a damaged volume
# fails the drill with the error's exit code.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
make_tree "$src"
make_config "$CONFIG" "$src" nas
run_ok ofs init
t0=1795281300 # 2026-11-21T17:15:00Z
OFFSITE_NOW=$t0 run_ok ofs backup
id=$(latest_id "$SCRATCH/staging")

# one hour later, from the target, objectives met; the copy is kept and identical
OFFSITE_NOW=$((t0 + 3600)) run_ok ofs drill --from nas --rpo 26h --rto 30m --target "$SCRATCH/drill" --keep
expect_glob "$LAST_OUT" "*drill data: restored $id from nas*recovery point: 1h old (target 1d 2h): ok*recovery time: * \(target 30m\): ok*" "drill output"
compare_trees "$src" "$SCRATCH/drill/$id$src"
# where the recovery time went: a timeline and the workers' busy times
expect_glob "$LAST_OUT" "*timeline: *backup found * s, first byte written * s, volumes done * s, directories done * s, durable * s*volume workers: waiting for data * s, writing files * s*" "drill phases"

# --json: one document with the ages
OFFSITE_NOW=$((t0 + 3600)) run_ok ofs --json drill --from nas
python3 - "$LAST_OUT" "$id" << 'PY' || fail "drill --json"
import json, sys
doc = json.load(open(sys.argv[1]))
d = doc["drills"][0]
assert doc["ok"] is True and d["backup"] == sys.argv[2] and d["store"] == "nas", doc
assert d["recovery_point_age_seconds"] == 3600 and d["files"] > 10, d
# the timeline only moves forward, and ends at the recovery time
p = d["phases"]
order = ["found_seconds", "first_byte_seconds", "volumes_done_seconds",
         "directories_done_seconds", "durable_seconds"]
t = [p[k] for k in order]
assert 0 < t[0] and all(a <= b for a, b in zip(t, t[1:])), p
assert t[-1] <= d["recovery_time_seconds"] + 1e-6, (p, d)
assert p["fetch_busy_seconds"] >= 0 and p["write_busy_seconds"] > 0, p
PY
# without --keep nothing is left under the state directory
[ -z "$(find "$SCRATCH/state" -maxdepth 1 -name 'drill-*')" ] || fail "drill left its scratch directory"

# two days later the recovery point objective is missed: exit 1, and it says so
LAST_RC=0
OFFSITE_NOW=$((t0 + 2 * 86400)) "$OFFSITE_BIN" -c "$CONFIG" drill --from nas --rpo 26h > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
[ "$LAST_RC" -eq 17 ] || fail "a missed RPO exited $LAST_RC, expected 17: $(cat "$LAST_OUT" "$LAST_ERR")"
expect_glob "$LAST_OUT" "*recovery point: 2d old (target 1d 2h): MISSED*" "missed RPO"

# a flipped byte in the target's first volume: the drill fails as restore does (exit 4 or 5)
vol=$(backup_dir "$SCRATCH/targets/nas" "$id")/vol-0001.ofs
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[200]^=1; open(p,"wb").write(bytes(b))' "$vol"
run_fails "4|5" "*$id*vol-0001*" ofs drill --from nas
echo "PASS: $CASE_NAME"
