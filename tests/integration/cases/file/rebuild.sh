#!/usr/bin/env bash
# rebuild: four sets (positions files, an order-history tree of many small files, a config
# directory with modes 0600/0755 and a symlink, a Delta-Lake-shaped table), two nights each
# (the second a differential). Then a clean machine - a fresh state directory, no staging, the
# config and the key typed back from its paper copy - runs `offsite rebuild`: one plan first,
# every set restored and equal to its source, a summary naming each set with the recovery
# time. --dry-run writes nothing; --before picks the first night; --json is one object with the
# plan and the results; a damaged set fails, is named, and the others are still restored; a
# wrong key exits 4 naming both key ids and writes nothing; on a terminal it asks once.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
sets=(positions orders config lake)

# positions: a few JSON and CSV files
mkdir -p "$src/positions/desk-a"
printf '{"AAPL": 100, "MSFT": 50}\n' > "$src/positions/positions.json"
python3 -c 'import sys; sys.stdout.write("".join("%d,AAPL,%d,189.%02d\n" % (i, i % 7 + 1, i % 100) for i in range(20000)))' > "$src/positions/fills.csv"
printf '{"ES": -3}\n' > "$src/positions/desk-a/futures.json"
# orders: a history of many small files, a folder per day
python3 - "$src/orders" << 'PY'
import os, sys
root = sys.argv[1]
for day in range(1, 21):
    d = os.path.join(root, "2026-10-%02d" % day)
    os.makedirs(d)
    for n in range(100):
        with open(os.path.join(d, "order-%04d.json" % n), "w") as f:
            f.write('{"id": %d, "day": %d, "qty": %d}\n' % (n, day, n * day))
PY
# config: modes and a symlink
mkdir -p "$src/config/conf.d"
printf 'api_key = secret\n' > "$src/config/credentials.ini"
chmod 600 "$src/config/credentials.ini"
printf '#!/bin/sh\necho start\n' > "$src/config/start.sh"
chmod 755 "$src/config/start.sh"
printf 'level = info\n' > "$src/config/conf.d/logging.conf"
ln -s conf.d/logging.conf "$src/config/current.conf"
# lake: a Delta Lake table (a transaction log and parquet parts)
mkdir -p "$src/lake/trades/_delta_log"
printf '{"commitInfo": {"version": 0}}\n' > "$src/lake/trades/_delta_log/00000000000000000000.json"
for p in 0 1; do head -c 150000 /dev/urandom > "$src/lake/trades/part-000$p.snappy.parquet"; done

make_config "$CONFIG" "$src/positions" nas
sed -i 's/^\[set data\]$/[set positions]/' "$CONFIG"
for s in orders config lake; do
    printf '\n[set %s]\npaths = %s\nvolume_size = 256K\n' "$s" "$src/$s" >> "$CONFIG"
done
run_ok ofs init

# night 1 (a Tuesday, the first of the month: every set full)
OFFSITE_NOW=2026-11-03T21:00:00Z run_ok ofs backup
cp -a "$src" "$SCRATCH/night1"
sleep 0.05 # past the file system's timestamp granularity
printf '{"AAPL": 120, "MSFT": 50, "NVDA": 10}\n' > "$src/positions/positions.json"
python3 -c 'import sys; sys.stdout.write("".join("%d,NVDA,%d,120.00\n" % (i, i % 3 + 1) for i in range(500)))' >> "$src/positions/fills.csv"
mkdir "$src/orders/2026-11-04"
for n in $(seq 50); do printf '{"id": %d, "day": 35}\n' "$n" > "$src/orders/2026-11-04/order-$n.json"; done
printf '{"id": 7, "amended": true}\n' > "$src/orders/2026-10-03/order-0007.json"
rm "$src/orders/2026-10-05/order-0001.json"
chmod 700 "$src/config/start.sh"
printf 'level = debug\n' > "$src/config/conf.d/debug.conf"
ln -sfn conf.d/debug.conf "$src/config/current.conf"
printf '{"add": {"path": "part-0002.snappy.parquet"}}\n' > "$src/lake/trades/_delta_log/00000000000000000001.json"
head -c 120000 /dev/urandom > "$src/lake/trades/part-0002.snappy.parquet"
# night 2: differentials of night 1
OFFSITE_NOW=2026-11-04T21:00:00Z run_ok ofs backup
[ "$(count_records "$SCRATCH/targets/nas")" = 8 ] || fail "expected 8 backups on nas"
grep -l '"kind": "diff"' "$SCRATCH"/targets/nas/data/*/*/backup.json > /dev/null ||
    fail "no differential among the second night's backups"

# the paper copy of the key, made while the host was alive
run_ok ofs key export
cp "$LAST_OUT" "$SCRATCH/paper.txt"
key_id=$(ofs key id | awk 'NR == 1 { print $1 }')

# the server dies: a clean machine has the config and the paper key, nothing else
rm -rf "$SCRATCH/state" "$SCRATCH/staging" "$SCRATCH/key"
mkdir -p "$SCRATCH/state" "$SCRATCH/key"; chmod 700 "$SCRATCH/key"
run_ok ofs key import "$SCRATCH/paper.txt"

# --dry-run: the plan, nothing written
run_ok ofs rebuild --from nas --target "$SCRATCH/dry" --dry-run
expect_glob "$LAST_OUT" "rebuild plan: 4 sets into $SCRATCH/dry*positions: positions_20261104_210000 (differential of positions_20261103_210000)*from nas*to create*orders:*config:*lake:*total: 4 of 4 sets*dry run: nothing written*" "rebuild --dry-run plan"
[ ! -e "$SCRATCH/dry" ] || fail "rebuild --dry-run created its target"
[ -z "$(ls -A "$SCRATCH/state")" ] || fail "rebuild --dry-run wrote to the state directory"

# the rebuild (no terminal: it proceeds, as a script needs)
run_ok ofs rebuild --from nas --target "$SCRATCH/rebuilt" --yes
for s in "${sets[@]}"; do
    compare_trees "$src/$s" "$SCRATCH/rebuilt$src/$s"
    expect_glob "$LAST_OUT" "*rebuild $s: restored ${s}_20261104_210000 from nas: * files (*), every one matched its SHA-256*" "rebuild report of $s"
done
expect_glob "$LAST_OUT" "rebuild plan: 4 sets*rebuild into $SCRATCH/rebuilt: 4 of 4 sets restored*oldest backup:*recovery point: *old*recovery time: * s*" "rebuild summary"
expect_glob "$LAST_ERR" "*set 1 of 4, 'positions'*set 4 of 4, 'lake'*" "rebuild progress across the sets"
[ "$(stat -c %a "$SCRATCH/rebuilt$src/config/credentials.ini")" = 600 ] || fail "credentials.ini lost its mode 0600"
[ "$(readlink "$SCRATCH/rebuilt$src/config/current.conf")" = conf.d/debug.conf ] || fail "the symlink was not restored"

# again over the rebuilt tree: the plan sees every entry unchanged (but the ancestors
# above the sources, /tmp among them, whose times moved between one set's backup and the next)
run_ok ofs --json rebuild --from nas --target "$SCRATCH/rebuilt" --dry-run
python3 - "$LAST_OUT" "${SCRATCH#/}" << 'PY' || fail "a second plan would change the rebuilt tree"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["dry_run"] is True and "results" not in doc, doc
for p in doc["plan"]:
    assert p["create"] == 0 and p["replace"] <= sys.argv[2].count("/") + 1, p
    assert p["unchanged"] >= p["entries"] - p["replace"], p
PY

# --before the second night, and without --from (no staging: the first target holding them)
run_ok ofs rebuild --before 2026-11-04 --target "$SCRATCH/night1-rebuilt" --yes
for s in "${sets[@]}"; do
    compare_trees "$SCRATCH/night1/$s" "$SCRATCH/night1-rebuilt$src/$s"
    expect_glob "$LAST_OUT" "*$s: ${s}_20261103_210000 (full)*" "--before plan of $s"
done

# --json: one object with the plan and the per-set results
run_ok ofs --json rebuild --from nas --target "$SCRATCH/json" --yes
python3 - "$LAST_OUT" << 'PY' || fail "rebuild --json"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["ok"] is True and doc["restored"] == 4 and doc["failed"] == 0, doc
assert [p["set"] for p in doc["plan"]] == ["positions", "orders", "config", "lake"], doc["plan"]
assert all(p["backup"].endswith("_20261104_210000") and p["create"] > 0 for p in doc["plan"]), doc["plan"]
assert any(p["kind"] == "diff" and p["base"] for p in doc["plan"]), doc["plan"]
assert [r["set"] for r in doc["results"]] == ["positions", "orders", "config", "lake"], doc
assert all(r["files"] > 0 and r["recovery_time_seconds"] > 0 for r in doc["results"]), doc
assert doc["recovery_time_seconds"] >= doc["results"][-1]["recovery_time_seconds"], doc
PY
compare_trees "$src/orders" "$SCRATCH/json$src/orders"

# a set configured since the last backup: planned as FAILED and named, exit 3, the rest planned
cp "$CONFIG" "$SCRATCH/config.saved"
printf '\n[set newset]\npaths = %s\n' "$src/positions" >> "$CONFIG"
run_fails 3 "*set 'newset': no backup on nas*" ofs rebuild --from nas --target "$SCRATCH/new" --dry-run
expect_glob "$LAST_OUT" "rebuild plan: 5 sets*lake: lake_20261104_210000*newset: FAILED: set 'newset': no backup on nas*total: 4 of 5 sets*" "plan with a set without backups"
cp "$SCRATCH/config.saved" "$CONFIG"

# a damaged volume of one set: that set fails and is named, the other three are restored
lake=$(ofs --json list --from nas --set lake | python3 -c 'import json, sys; print(json.load(sys.stdin)["backups"][0]["id"])')
vol=$(backup_dir "$SCRATCH/targets/nas" "$lake")/vol-0001.ofs
cp "$vol" "$SCRATCH/vol.saved"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[300]^=1; open(p,"wb").write(bytes(b))' "$vol"
run_fails "4|5" "*set 'lake'*$lake*" ofs rebuild --from nas --target "$SCRATCH/partial" --yes
expect_glob "$LAST_OUT" "*rebuild lake: FAILED*3 of 4 sets restored*FAILED: 'lake'*" "partial rebuild summary"
for s in positions orders config; do compare_trees "$src/$s" "$SCRATCH/partial$src/$s"; done
cp "$SCRATCH/vol.saved" "$vol"

# on a terminal it asks once: "n" restores nothing (exit 9), "y" proceeds
tty_run() { # tty_run ANSWER ARGS...: offsite with stdin and stderr on a terminal
    python3 - "$@" << 'PY'
import os, pty, subprocess, sys
answer, args = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
p = subprocess.Popen([os.environ["OFFSITE_BIN"], "-c", os.environ["CONFIG"]] + args,
                     stdin=slave, stderr=slave, stdout=subprocess.PIPE)
os.close(slave)
seen = b""
while b"[y/N]" not in seen:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
os.write(master, (answer + "\n").encode())
out = p.stdout.read()
rc = p.wait()
try:
    while True:
        chunk = os.read(master, 4096)
        if not chunk:
            break
        seen += chunk
except OSError:
    pass
sys.stdout.write(out.decode() + seen.decode(errors="replace"))
sys.exit(rc)
PY
}
export OFFSITE_BIN CONFIG
rc=0; tty_run n rebuild --from nas --target "$SCRATCH/asked" > "$SCRATCH/tty.out" || rc=$?
[ "$rc" = 9 ] || fail "answering n exited $rc, expected 9: $(cat "$SCRATCH/tty.out")"
expect_glob "$SCRATCH/tty.out" "*Restore 4 sets into $SCRATCH/asked (* to create)? \[y/N\]*canceled: nothing restored*" "the question"
[ ! -e "$SCRATCH/asked" ] || fail "answering n wrote into the target"
rc=0; tty_run y rebuild --from nas --target "$SCRATCH/asked" > "$SCRATCH/tty.out" || rc=$?
[ "$rc" = 0 ] || fail "answering y exited $rc: $(cat "$SCRATCH/tty.out")"
compare_trees "$src/lake" "$SCRATCH/asked$src/lake"

# the wrong key: exit 4 naming both key ids, nothing written
mv "$SCRATCH/key/offsite.key" "$SCRATCH/right.key"
run_ok ofs key generate
wrong_id=$(ofs key id | awk 'NR == 1 { print $1 }')
run_fails 4 "*$key_id*not in the key file*$wrong_id*" ofs rebuild --from nas --target "$SCRATCH/wrong" --yes
[ ! -e "$SCRATCH/wrong" ] || fail "rebuild wrote into its target under the wrong key"
run_fails 4 "*$key_id*not in the key file*$wrong_id*" ofs rebuild --target "$SCRATCH/wrong" --dry-run
[ ! -e "$SCRATCH/wrong" ] || fail "rebuild --dry-run wrote into its target under the wrong key"
# and no key at all: the key's own error, nothing written
rm "$SCRATCH/key/offsite.key"
run_fails 3 "*key*HINT: *key import*" ofs rebuild --from nas --target "$SCRATCH/wrong" --yes
[ ! -e "$SCRATCH/wrong" ] || fail "rebuild wrote into its target without a key"
echo "PASS: $CASE_NAME"
