#!/usr/bin/env bash
# max_backups: two sets with their own [set] retention = NAME, capped at 3 and 5 backups,
# 30 simulated nights (OFFSITE_NOW) of backup (pushed to two file targets) and prune. On
# staging and on 'nas' (no policy of its own: each set's applies) every set keeps exactly what
# tools/gfs_reference.py (the documented rules, max_backups included) keeps of what was there,
# never more than its cap, and every kept differential's base; 'vault' has its own policy
# (retention = long, no cap), which wins over the sets': it keeps every night by age. A set
# naming a missing policy is a config error with its file and line.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src logs=$SCRATCH/logs
mkdir -p "$src" "$logs"
make_config "$CONFIG" "$src" nas vault
python3 - "$CONFIG" "$logs" << 'PY'
import sys
path, logs = sys.argv[1:3]
text = open(path).read()
text = text.replace("[set data]\n", "[set data]\nretention = three\n", 1)
text = text.replace("[target vault]\n", "[target vault]\nretention = long\n", 1)
text += ("\n[set logs]\npaths = %s\nretention = five\n" % logs +
         "\n[retention]\ndaily = 30\nweekly = 12\nmonthly = 12\nkeep_last = 1\n"
         "\n[retention three]\nmax_backups = 3\n"
         "\n[retention five]\nmax_backups = 5\nkeep_last = 7\n"
         "\n[retention long]\ndaily = 60\n")
open(path, "w").write(text)
PY
run_ok ofs config check
expect_glob "$LAST_OUT" "*set data:*retention three*set logs:*retention five*" "config check"

# a set naming a policy that does not exist: file and line of the key
cp "$CONFIG" "$SCRATCH/good.ini"
sed -i 's/^retention = five$/retention = nosuch/' "$CONFIG"
line=$(grep -n '^retention = nosuch$' "$CONFIG" | cut -d: -f1)
run_fails 2 "*$CONFIG:$line: set 'logs': retention 'nosuch' names no ?retention nosuch? section*" ofs config check
cp "$SCRATCH/good.ini" "$CONFIG"
run_ok ofs init

python3 - "$OFFSITE_BIN" "$CONFIG" "$src" "$logs" "$SCRATCH" << 'PY'
import datetime as dt, glob, json, os, subprocess, sys
sys.path.insert(0, os.environ["TOOLS"])
from gfs_reference import gfs  # the rules as docs/configuration.md states them

binary, config, src, logs, scratch = sys.argv[1:6]
base = dict(daily=30, weekly=12, monthly=12, keep_last=1)
policies = {  # store -> set -> policy, as docs/configuration.md says they combine
    "staging": {"data": dict(base, max_backups=3), "logs": dict(base, max_backups=5, keep_last=7)},
    "nas": {"data": dict(base, max_backups=3), "logs": dict(base, max_backups=5, keep_last=7)},
    "vault": {"data": dict(base, daily=60), "logs": dict(base, daily=60)},
}
roots = {"staging": os.path.join(scratch, "staging"),
         "nas": os.path.join(scratch, "targets", "nas"),
         "vault": os.path.join(scratch, "targets", "vault")}
caps = {"data": 3, "logs": 5}

def fail(msg):
    sys.exit("FAIL: prune/max_backups: " + msg)

def offsite(now, *args):
    env = dict(os.environ, OFFSITE_NOW=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    p = subprocess.run([binary, "-c", config, *args], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        fail("offsite %s exited %d\n%s\n%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p

def records(root):
    out = {}
    for path in glob.glob(os.path.join(root, "data", "*", "*", "backup.json")):
        with open(path) as f:
            r = json.load(f)
        out[r["id"]] = dict(id=r["id"], set=r["set"], kind=r["kind"], base=r.get("base"),
                            cls=r["class"],
                            started=dt.datetime.strptime(r["started"], "%Y-%m-%dT%H:%M:%SZ"))
    return out

first = dt.datetime(2026, 3, 2, 22, 0, 0)  # a Monday
diffs = 0
for night in range(30):
    now = first + dt.timedelta(days=night)
    with open(os.path.join(src, "positions.csv"), "w") as f:
        f.write("night %d\n" % night)
    with open(os.path.join(logs, "fix.log"), "a") as f:
        f.write("night %d\n" % night)
    offsite(now, "backup")
    before = {name: records(root) for name, root in roots.items()}
    prune = offsite(now + dt.timedelta(minutes=5), "prune")
    for name, root in roots.items():
        after = records(root)
        for s, cap in caps.items():
            mine = {i: b for i, b in before[name].items() if b["set"] == s}
            want = gfs(mine, now + dt.timedelta(minutes=5), policies[name][s])
            have = {i for i, b in after.items() if b["set"] == s}
            if have != want:
                fail("night %d, %s, set %s: kept %s, the rules keep %s\n%s" % (
                    night, name, s, sorted(have), sorted(want), prune.stdout))
            if name != "vault" and len(have) > cap:
                fail("night %d, %s, set %s: %d backups, cap %d" % (night, name, s, len(have), cap))
            if name == "vault" and len(have) != night + 1:
                fail("night %d: vault (its own policy, no cap) has %d of set %s" % (night, len(have), s))
            for i in have:
                b = after[i]
                if b["base"] and b["base"] not in after:
                    fail("night %d, %s: %s kept without its base %s" % (night, name, i, b["base"]))
                diffs += b["kind"] == "diff"
    if night == 10 and "past max_backups" not in prune.stdout:
        fail("prune does not say why the cap deleted:\n" + prune.stdout)
if diffs == 0:
    fail("no differential was ever kept: the bases were not exercised")
PY
[ $? -eq 0 ] || fail "see above"
# what the stores hold now is whole
run_ok ofs verify --all
run_ok ofs verify --all --from nas
run_ok ofs verify --all --from vault
echo "PASS: $CASE_NAME"
