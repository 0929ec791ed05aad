#!/usr/bin/env bash
# gfs_400_nights: 400 simulated nights (OFFSITE_NOW) of small mutations, `offsite backup` (pushed
# to a file target with its own retention override) and `offsite prune`. After every prune, in
# both stores: the backups left are exactly what an independent Python reading of the GFS rules
# (docs/configuration.md "How prune decides") keeps of the backups there before the prune; the
# manifest lists exactly them; every kept differential's base is there; the class of each new
# backup is its calendar class. Every 20th night a random kept backup is restored from each
# store and must equal the tree as it was that night (digests kept per backup).
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
make_config "$CONFIG" "$src" nas
# staging: a short local cache (bases kept only as bases); nas: the long history
cat >> "$CONFIG" << 'EOF'
retention = long

[retention]
daily = 2
weekly = 0
monthly = 0
keep_last = 1

[retention long]
daily = 3
weekly = 2
monthly = 5
keep_last = 4
EOF
run_ok ofs config check
run_ok ofs init

python3 - "$OFFSITE_BIN" "$CONFIG" "$src" "$SCRATCH" << 'PY'
import calendar, datetime as dt, glob, hashlib, json, os, random, shutil, subprocess, sys
sys.path.insert(0, os.environ["TOOLS"])
from gfs_reference import gfs  # the rules as docs/configuration.md states them

binary, config, src, scratch = sys.argv[1:5]
stores = {"staging": (os.path.join(scratch, "staging"), None),
          "nas": (os.path.join(scratch, "targets", "nas"), "nas")}
# the policies of the configuration above, read the documented way
policy = {"staging": dict(daily=2, weekly=0, monthly=0, keep_last=1),
          "nas": dict(daily=3, weekly=2, monthly=5, keep_last=4)}
rng = random.Random(20261121)
NIGHTS, SAMPLE_EVERY = 400, 20

def fail(msg):
    sys.exit("FAIL: prune/gfs_400_nights: " + msg)

def offsite(now, *args, ok=(0,)):
    env = dict(os.environ, OFFSITE_NOW=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    p = subprocess.run([binary, "-c", config, *args], env=env, capture_output=True, text=True)
    if p.returncode not in ok:
        fail("offsite %s exited %d\n%s\n%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p

def parse_time(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")

def records(root):
    out = {}
    for path in glob.glob(os.path.join(root, "data", "*", "*", "backup.json")):
        with open(path) as f:
            r = json.load(f)
        out[r["id"]] = dict(id=r["id"], set=r["set"], kind=r["kind"], base=r.get("base"),
                            cls=r["class"], started=parse_time(r["started"]))
    return out

def tree_digest(root):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames]):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            h.update(("%s\0%o\0" % (rel, st.st_mode)).encode())
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()

def mutate(night):
    os.makedirs(os.path.join(src, "logs"), exist_ok=True)
    with open(os.path.join(src, "logs", "fix.log"), "a") as f:  # grows every night
        for k in range(rng.randint(5, 40)):
            f.write("%05d 8=FIX.4.4|35=8|55=AAPL|38=%d|44=187.%02d|\n" % (night, k, k))
    with open(os.path.join(src, "positions.json"), "w") as f:  # rewritten every night
        json.dump({"night": night, "qty": rng.randint(-500, 500)}, f)
    if night == 0:
        for k in range(8):
            with open(os.path.join(src, "static-%d.bin" % k), "wb") as f:
                f.write(rng.randbytes(3000 + 1000 * k))
    r = rng.random()
    if r < 0.15:    # a new file
        with open(os.path.join(src, "new-%03d.txt" % night), "w") as f:
            f.write("made on night %d\n" % night)
    elif r < 0.25:  # a file goes away
        victims = sorted(glob.glob(os.path.join(src, "new-*.txt")))
        if victims:
            os.unlink(rng.choice(victims))
    elif r < 0.35:  # a static file edited in place, same size
        path = os.path.join(src, "static-%d.bin" % rng.randrange(8))
        with open(path, "r+b") as f:
            f.seek(rng.randrange(1000))
            f.write(rng.randbytes(16))
    if night % 50 == 7:  # a mode change
        os.chmod(os.path.join(src, "positions.json"), 0o600 if night % 100 == 7 else 0o644)

def calendar_class(started, previous):
    if previous is None or (previous.year, previous.month) != (started.year, started.month):
        return "monthly"
    if previous.isocalendar()[:2] != started.isocalendar()[:2]:
        return "weekly"
    return "daily"

digests = {}
first = dt.datetime(2026, 1, 1, 22, 0, 0)
previous_started = None
counts = {"staging": {}, "nas": {}}
diffs_seen = 0
kept_as_base_only = 0
for night in range(NIGHTS):
    # a nightly timer: 22:00 plus up to five minutes of jitter
    started = first + dt.timedelta(days=night, seconds=rng.randint(0, 300))
    mutate(night)
    before_ids = set(records(stores["staging"][0]))
    offsite(started, "backup")
    new = set(records(stores["staging"][0])) - before_ids
    if len(new) != 1:
        fail("night %d: %d new backups in staging" % (night, len(new)))
    new_id = new.pop()
    rec = records(stores["staging"][0])[new_id]
    want = calendar_class(started, previous_started)
    if rec["cls"] != want:
        fail("night %d: %s has class %s, the calendar says %s" % (night, new_id, rec["cls"], want))
    diffs_seen += rec["kind"] == "diff"
    previous_started = started
    digests[new_id] = tree_digest(src)

    now = started + dt.timedelta(seconds=90)
    before = {name: records(root) for name, (root, _) in stores.items()}
    result = json.loads(offsite(now, "prune", "--json").stdout)
    by_store = {s["store"]: s for s in result["stores"]}
    for name, (root, _) in stores.items():
        expected = gfs(before[name], now, policy[name])
        actual = records(root)
        if set(actual) != expected:
            fail("night %d, %s: kept %s, the rules keep %s (extra %s, missing %s)" % (
                night, name, len(actual), len(expected), sorted(set(actual) - expected),
                sorted(expected - set(actual))))
        deleted = {b["id"] for b in by_store[name]["backups"] if b["action"] == "delete"}
        kept_as_base_only += sum(1 for b in by_store[name]["backups"] if b["reasons"] == ["base"])
        if deleted != set(before[name]) - expected:
            fail("night %d, %s: prune --json says it deleted %s" % (night, name, sorted(deleted)))
        with open(os.path.join(root, "manifest.json")) as f:
            listed = {e["id"] for e in json.load(f)["backups"]}
        if listed != set(actual):
            fail("night %d, %s: the manifest lists %s, the records are %s" % (
                night, name, sorted(listed), sorted(actual)))
        for b in actual.values():
            if b["kind"] == "diff" and b["base"] not in actual:
                fail("night %d, %s: %s is kept without its base %s" % (night, name, b["id"], b["base"]))
        # no folder without its record survives a prune
        folders = {os.path.basename(d) for d in glob.glob(os.path.join(root, "data", "*", "*"))}
        if folders != set(actual):
            fail("night %d, %s: folders without a record: %s" % (night, name, sorted(folders - set(actual))))
        for b in actual.values():
            counts[name][b["cls"]] = max(counts[name].get(b["cls"], 0),
                                          sum(1 for x in actual.values() if x["cls"] == b["cls"]))

    if night % SAMPLE_EVERY == SAMPLE_EVERY - 1 or night == NIGHTS - 1:
        for name, (root, target) in stores.items():
            pick = rng.choice(sorted(records(root)))
            out = os.path.join(scratch, "restore-%s-%d" % (name, night))
            os.makedirs(out)
            args = ["restore", pick, "--target", out] + (["--from", target] if target else [])
            offsite(now, *args)
            got = tree_digest(out + src)
            if got != digests[pick]:
                fail("night %d: %s restored from %s differs from the tree of its night" % (night, pick, name))
            shutil.rmtree(out)

final = {name: records(root) for name, (root, _) in stores.items()}
print("# after %d nights: staging holds %d backups, nas %d (most at once per class: staging %s, nas %s); "
      "%d differentials made; %d times a backup was kept only as a base" % (
          NIGHTS, len(final["staging"]), len(final["nas"]), counts["staging"], counts["nas"],
          diffs_seen, kept_as_base_only))
# staging's policy keeps weekly fulls 2 days only: with differentials, bases must have been kept
if diffs_seen and not kept_as_base_only:
    fail("differentials were made, but no backup was ever kept only as a base")
# the long policy must really have kept every class, and expired monthlies after 5 months
if not (counts["nas"].get("monthly", 0) >= 5 and counts["nas"].get("weekly", 0) >= 1):
    fail("nas never held the monthlies and weeklies its policy keeps: %s" % counts["nas"])
monthlies = sorted(b["started"] for b in final["nas"].values() if b["cls"] == "monthly")
if monthlies[0] < first + dt.timedelta(days=NIGHTS - 1) - dt.timedelta(days=31 * 6):
    fail("nas still holds a monthly from %s" % monthlies[0])
PY
run_ok ofs verify
run_ok ofs verify --from nas
echo "PASS: $CASE_NAME"
