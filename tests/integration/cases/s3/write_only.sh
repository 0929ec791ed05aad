#!/usr/bin/env bash
# write_only: the ransomware-resistant setup of docs/operator-guide.md ("Write-only targets") on
# Ceph RGW. A second user, "nightly", is granted only put/get/list by the buckets' policies;
# the owner is the admin. One config serves both hosts: each target names profile = nightly and
# prune_profile = admin (cloud also delete = no; vault finds out), and each host's credentials
# file holds only its own profile.
#   - init (nightly) reports put/get/list yes, delete no, keeps one probe and counts it
#   - doctor verdicts: nightly on the plain bucket CAN (overwrites: no versions), admin CAN
#     (delete), nightly on the versioned object-lock bucket cannot
#   - a simulated month of nightly backups (OFFSITE_NOW) with auto prune: every push works,
#     no probe object more than after init, every target prune plans and deletes nothing
#   - prune on the nightly host: "delete refused", nothing changed, verify passes
#   - prune --all-hosts from the admin host removes exactly what the GFS rules expire
#     (the Python reference prune/gfs_400_nights uses, tools/gfs_reference.py); the locked
#     vault keeps everything (locked), and both targets still verify
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

radosgw_start offsite-test || fail "radosgw did not start"
radosgw_bucket offsite-vault --object-lock || fail "cannot create the object-lock bucket"

radosgw-admin -c "$RGW_DIR/ceph.conf" -n client.admin user create --uid=nightly \
    --display-name=nightly --access-key=NIGHTLYACCESSKEY0001 \
    --secret-key=nightlysecretnightlysecretnightlysecret00 > "$SCRATCH/nightly-user.json" 2>&1 ||
    fail "cannot create the nightly user: $(cat "$SCRATCH/nightly-user.json")"
# policy BUCKET EXTRA_ACTIONS: the nightly user may put, get and list, and read the bucket's
# settings for doctor; the admin (the owner) may do everything, also to the objects the
# nightly user wrote - on Ceph those belong to their writer (the operator guide's policy)
policy() {
    cat << EOF
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/nightly"]},
   "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:GetBucketVersioning",
              "s3:GetLifecycleConfiguration", "s3:GetBucketObjectLockConfiguration"${2:-}],
   "Resource": ["arn:aws:s3:::$1", "arn:aws:s3:::$1/*"]},
  {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/offsite-test"]},
   "Action": ["s3:*"], "Resource": ["arn:aws:s3:::$1", "arn:aws:s3:::$1/*"]}]}
EOF
}
s3cli s3api put-bucket-policy --bucket offsite-test --policy "$(policy offsite-test)" ||
    fail "put-bucket-policy"
# an object-lock bucket: writing locked objects also needs the lock's read and retention
s3cli s3api put-bucket-policy --bucket offsite-vault --policy "$(policy offsite-vault \
    ', "s3:PutObjectRetention"')" ||
    fail "put-bucket-policy (vault)"

printf '[nightly]\naws_access_key_id = NIGHTLYACCESSKEY0001\naws_secret_access_key = %s\n' \
    nightlysecretnightlysecretnightlysecret00 > "$SCRATCH/nightly.credentials"
printf '[admin]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$SCRATCH/admin.credentials"
# as_nightly / as_admin CMD...: the same config, each host's own credentials file
as_nightly() { AWS_SHARED_CREDENTIALS_FILE=$SCRATCH/nightly.credentials "$@"; }
as_admin() { AWS_SHARED_CREDENTIALS_FILE=$SCRATCH/admin.credentials "$@"; }

src=$SCRATCH/src
mkdir -p "$src"
make_config "$CONFIG" "$src"
sed -i 's/^host = testhost/host = nightly/' "$CONFIG"
add_s3_target "$CONFIG" cloud prefix=fleet/nightly profile=nightly prune_profile=admin \
    delete=no
S3_BUCKET=offsite-vault add_s3_target "$CONFIG" vault profile=nightly prune_profile=admin \
    object_lock=governance
cat >> "$CONFIG" << 'EOF'

[retention]
daily = 7
weekly = 2
monthly = 1
keep_last = 1
auto = true
EOF
run_ok as_nightly "$OFFSITE_BIN" -c "$CONFIG" config check

# ---- init as the nightly host: write-only, detected
run_ok as_nightly "$OFFSITE_BIN" -c "$CONFIG" init
expect_glob "$LAST_OUT" "*target cloud: ok*credentials may: put yes, get yes, list yes, delete no*write-only target: prune here plans only*the probe stays as 'offsite-probe/nightly/probe'*2 probe objects under offsite-probe/*" "init as nightly"
probes() {
    s3cli s3api list-objects-v2 --bucket "$1" --prefix "$2offsite-probe/" \
        --query 'length(Contents || `[]`)' --output text
}
after_init=$(probes offsite-test fleet/nightly/)
[ "$after_init" = 2 ] || fail "after init: $after_init probe objects on cloud, expected 2 (init's and the If-Match probe's)"

# ---- doctor verdicts, one per setup
run_ok as_nightly "$OFFSITE_BIN" -c "$CONFIG" doctor --target cloud
expect_glob "$LAST_OUT" "*delete no*manifest updates: atomic*versioning: off*write lifecycle rules no*verdict: a compromised host CAN delete its backups: these credentials may overwrite objects and the bucket keeps no old versions*" "doctor (nightly, plain bucket)"
run_ok as_nightly "$OFFSITE_BIN" -c "$CONFIG" --json doctor --target vault
python3 - "$LAST_OUT" << 'EOF' || fail "doctor (nightly, lock bucket): $(cat "$LAST_OUT")"
import json, sys
t = json.load(open(sys.argv[1]))["targets"][0]
assert t["may"]["delete"] == "no" and t["may"]["delete_versions"] == "no", t
assert t["versioned"] == 1 and t["object_lock"] == 1 and t["lock_mode"] == "GOVERNANCE", t
assert t["can_delete"] is False, t
EOF
admin_config=$SCRATCH/admin.ini
sed -e 's/^profile = nightly/profile = admin/' "$CONFIG" > "$admin_config"
run_ok as_admin "$OFFSITE_BIN" -c "$admin_config" doctor --target cloud
expect_glob "$LAST_OUT" "*delete yes*verdict: a compromised host CAN delete its backups: these credentials may delete objects*" "doctor (admin)"

# ---- a month of nightly backups; auto prune runs on every target and must change nothing
# (the admin's doctor removed init's probe: it may delete)
before_month=$(probes offsite-test fleet/nightly/)
python3 - "$OFFSITE_BIN" "$CONFIG" "$src" "$SCRATCH/nightly.credentials" << 'PY' ||
import datetime as dt, os, subprocess, sys
binary, config, src, creds = sys.argv[1:5]
env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=creds)
start = dt.datetime(2026, 10, 3, 21, 30)
for night in range(31):
    with open(os.path.join(src, "positions.csv"), "a") as f:
        f.write("%d,AAPL,%d\n" % (night, 100 + night) * 200)
    now = start + dt.timedelta(days=night)
    env["OFFSITE_NOW"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    p = subprocess.run([binary, "-c", config, "backup"], env=env, capture_output=True,
                       text=True)
    if p.returncode != 0:
        sys.exit("night %d: backup exited %d\n%s\n%s" % (night, p.returncode, p.stdout,
                                                         p.stderr))
    for target in ("cloud", "vault"):
        if "%s: kept" % target not in p.stdout or "delete refused" not in p.stdout:
            sys.exit("night %d: no refused prune of %s reported\n%s" % (night, target, p.stdout))
PY
    fail "the simulated month failed"
after_month=$(probes offsite-test fleet/nightly/)
[ "$after_month" = "$before_month" ] ||
    fail "31 pushes left probes behind: $after_month probe objects on cloud, $before_month before"
[ "$(probes offsite-vault "")" = 2 ] || fail "probes on vault: $(probes offsite-vault "")"

# ---- prune on the nightly host: plans, deletes nothing, changes no manifest entry
export OFFSITE_NOW=2026-11-03T22:00:00Z
as_nightly "$OFFSITE_BIN" -c "$CONFIG" --json list --from cloud > "$SCRATCH/before.json" ||
    fail "list before"
run_ok as_nightly "$OFFSITE_BIN" -c "$CONFIG" prune --target cloud
expect_glob "$LAST_OUT" "*would delete*cloud: kept *, would delete * backups*delete refused: these credentials may not delete; nothing changed*" "the nightly host's prune"
as_nightly "$OFFSITE_BIN" -c "$CONFIG" --json list --from cloud > "$SCRATCH/after-nightly.json" ||
    fail "list after the nightly prune"
cmp -s "$SCRATCH/before.json" "$SCRATCH/after-nightly.json" ||
    fail "the refused prune changed what list shows"
run_ok as_nightly "$OFFSITE_BIN" -c "$CONFIG" verify --from cloud
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["backups"]))' \
    "$SCRATCH/before.json")" = 31 ] || fail "cloud does not hold the 31 nights"

# ---- status tells both write-only targets apart from the others: cloud by its delete = no,
# vault by the refused deletes of its last prune (the month's auto prune); freshness decides
# the exit, not this
run_fails '0|1|2' '*' as_nightly "$OFFSITE_BIN" -c "$CONFIG" status
expect_glob "$LAST_OUT" "*note: target cloud is write-only (delete = no): prune on this host only plans; expired backups are deleted by a host that may (offsite prune --target cloud --all-hosts, with prune_profile) or by lifecycle rules*note: target vault is write-only (its deletes were refused at the last prune, 2026-11-02T21:30*" "status on the nightly host"
run_fails '0|1|2' '*' as_nightly "$OFFSITE_BIN" -c "$CONFIG" --json status --from vault
python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))["write_only_targets"]
assert [t["target"] for t in w] == ["vault"], w
assert w[0]["why"].startswith("its deletes were refused"), w' "$LAST_OUT" ||
    fail "status --json --from vault: write_only_targets"

# ---- prune from the admin host: exactly what the policy expires, for every host
run_ok as_admin "$OFFSITE_BIN" -c "$CONFIG" --json prune --target cloud --all-hosts
as_nightly "$OFFSITE_BIN" -c "$CONFIG" --json list --from cloud > "$SCRATCH/after-admin.json" ||
    fail "list after the admin prune"
python3 - "$SCRATCH/before.json" "$SCRATCH/after-admin.json" "$OFFSITE_NOW" << 'EOF' ||
import datetime as dt, json, os, sys
sys.path.insert(0, os.environ["TOOLS"])
from gfs_reference import gfs, parse_time
before = {b["id"]: dict(id=b["id"], set=b["set"], kind=b["kind"], base=b.get("base"),
                        cls=b["class"], started=parse_time(b["started"]))
          for b in json.load(open(sys.argv[1]))["backups"]}
after = {b["id"] for b in json.load(open(sys.argv[2]))["backups"]}
want = gfs(before, parse_time(sys.argv[3]), dict(daily=7, weekly=2, monthly=1, keep_last=1))
if after != want:
    sys.exit("kept %s\nthe rules keep %s" % (sorted(after), sorted(want)))
if len(after) == len(before):
    sys.exit("the admin prune deleted nothing: the case proves nothing")
print("# admin prune kept %d of %d" % (len(after), len(before)))
EOF
    fail "the admin prune did not remove exactly what the policy expires"
run_ok as_nightly "$OFFSITE_BIN" -c "$CONFIG" verify --from cloud

# the vault's objects are locked (real time): the admin may not delete them either
run_ok as_admin "$OFFSITE_BIN" -c "$CONFIG" prune --target vault --all-hosts
expect_glob "$LAST_OUT" "*keep (locked)*object is locked until*" "the admin prune of the vault"
run_ok as_nightly "$OFFSITE_BIN" -c "$CONFIG" verify --from vault
