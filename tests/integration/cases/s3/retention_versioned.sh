#!/usr/bin/env bash
# retention_versioned: `offsite retention sync` on a versioned bucket (created with object
# lock, which turns versioning on). An Expiration there only adds a delete marker and keeps the
# data as a noncurrent version, so every class rule also carries NoncurrentVersionExpiration
# (1 day) and one more rule over the target's data/ removes expired delete markers (an
# Expiration of its own: S3 refuses the flag next to Days). Two more rules per target clear
# what lives outside data/: old versions of manifest.json (every push replaces it) after 30
# days, a noncurrent expiration alone, and the probe objects `init` and the If-Match probe
# write and delete under offsite-probe/ after 1 day, then their delete markers. Two targets share the bucket: one
# with object_lock (versioned without asking), one without (the server's ?versioning says
# Enabled). --dry-run prints the rules and writes nothing, also when the policy changed; a
# second sync changes nothing; a rule another tool wrote is kept.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

radosgw_start offsite-test || fail "radosgw did not start"
bucket=versioned
radosgw_bucket "$bucket" --object-lock || fail "cannot create a bucket with object lock"
run_ok s3cli s3api get-bucket-versioning --bucket "$bucket"
expect_glob "$LAST_OUT" '*"Enabled"*' "versioning of a bucket with object lock"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.csv"
make_config "$CONFIG" "$src"
add_s3_target "$CONFIG" vault prefix=host1 object_lock=governance transition_days=120 \
    transition_class=GLACIER
add_s3_target "$CONFIG" plain prefix=host2
sed -i "s/^bucket = $S3_BUCKET\$/bucket = $bucket/" "$CONFIG"
# long ages: radosgw's test clock counts a lifecycle day as 10 s (radosgw.sh), and no backup
# may expire here: the shortest age, 101 days, is past the case's 900 s ctest timeout
printf '\n[retention]\ndaily = 100\nweekly = 20\nmonthly = 12\n' >> "$CONFIG"
run_ok ofs init
run_ok ofs backup

cat > "$SCRATCH/foreign.json" << 'JSON'
{"Rules": [{"ID": "someone-else", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
            "Expiration": {"Days": 90}}]}
JSON
run_ok s3cli s3api put-bucket-lifecycle-configuration --bucket "$bucket" \
    --lifecycle-configuration "file://$SCRATCH/foreign.json"

# only_foreign: the bucket holds the foreign rule and nothing else
only_foreign() {
    run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$bucket"
    python3 - "$LAST_OUT" << 'PY' || fail "$1"
import json, sys
rules = json.load(open(sys.argv[1]))["Rules"]
assert [r["ID"] for r in rules] == ["someone-else"], rules
PY
}

run_ok ofs retention sync --dry-run
expect_glob "$LAST_OUT" "*target 'vault' (s3): expire data/daily/ after 101 days, data/weekly/ after 141, data/monthly/ after 373*" "vault's rules"
expect_glob "$LAST_OUT" "*move data/weekly/, data/monthly/ to GLACIER after 120 days; data/daily/ (expires after 101 days) expires first*" "vault's transition"
expect_glob "$LAST_OUT" "*bucket is versioned (object lock): expired data removed 1 day after it stops being the current version, then its delete marker (rule over data/)*" "vault versioned"
expect_glob "$LAST_OUT" "*target 'plain' (s3): expire data/daily/ after 101 days*bucket is versioned: expired data removed*" "plain versioned"
[ "$(grep -c "old versions of manifest.json kept 30 days; probe objects (offsite-probe/) removed 1 day after their deletion, then their delete markers" "$LAST_OUT")" -eq 2 ] ||
    { cat "$LAST_OUT"; fail "the manifest's and the probe's rules are not shown for both targets"; }
only_foreign "--dry-run wrote lifecycle rules"

run_ok ofs retention sync
[ "$(grep -c 'lifecycle rules written and read back identical' "$LAST_OUT")" -eq 2 ] ||
    { cat "$LAST_OUT"; fail "the first sync did not write both targets' rules"; }
run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$bucket"
python3 - "$LAST_OUT" << 'PY' || fail "the versioned bucket's lifecycle rules are not what the policy says"
import json, sys
rules = json.load(open(sys.argv[1]))["Rules"]
def prefix(r):
    f = r.get("Filter", {})
    return f.get("Prefix", f.get("And", {}).get("Prefix", r.get("Prefix")))
by_prefix = {prefix(r): r for r in rules}
assert len(rules) == 13, rules  # the foreign rule, then 6 for each target
assert by_prefix["logs/"]["Expiration"] == {"Days": 90}, rules
assert "NoncurrentVersionExpiration" not in by_prefix["logs/"], rules
for host in ("host1", "host2"):
    for cls, days in (("daily", 101), ("weekly", 141), ("monthly", 373)):
        r = by_prefix[f"{host}/data/{cls}/"]
        assert r["Status"] == "Enabled" and r["Expiration"] == {"Days": days}, r
        assert r["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1, r
        assert r["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}, r
        want = [{"Days": 120, "StorageClass": "GLACIER"}] \
            if host == "host1" and cls != "daily" else []
        assert r.get("Transitions", []) == want, r
    m = by_prefix[f"{host}/data/"]
    assert m["Status"] == "Enabled" and m["ID"] == f"offsite:{host}/:data/", m
    assert m["Expiration"] == {"ExpiredObjectDeleteMarker": True}, m
    assert "NoncurrentVersionExpiration" not in m and not m.get("Transitions"), m
    # a month of manifest history: the noncurrent expiration is the rule's only action
    h = by_prefix[f"{host}/manifest.json"]
    assert h["Status"] == "Enabled" and h["ID"] == f"offsite:{host}/:manifest.json", h
    assert h["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30, h
    assert "Expiration" not in h and not h.get("Transitions"), h
    assert "AbortIncompleteMultipartUpload" not in h, h
    p = by_prefix[f"{host}/offsite-probe/"]
    assert p["Status"] == "Enabled" and p["ID"] == f"offsite:{host}/:offsite-probe/", p
    assert p["Expiration"] == {"ExpiredObjectDeleteMarker": True}, p
    assert p["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1, p
    assert not p.get("Transitions") and "AbortIncompleteMultipartUpload" not in p, p
PY

# idempotent: nothing to write, for either target
run_ok ofs retention sync
[ "$(grep -c 'lifecycle rules already in place' "$LAST_OUT")" -eq 2 ] ||
    { cat "$LAST_OUT"; fail "the second sync was not a no-op"; }
if grep -q 'written' "$LAST_OUT"; then cat "$LAST_OUT"; fail "the second sync wrote rules"; fi
run_ok ofs --json retention sync
python3 - "$LAST_OUT" << 'PY' || fail "retention sync --json does not show the versioned bucket's rules"
import json, sys
doc = json.load(open(sys.argv[1]))
for t in doc["targets"]:
    assert t["versioned"] is True and t["lifecycle"] == "unchanged", t
    rules = {r["prefix"]: r for r in t["rules"]}
    assert rules["data/"] == {"prefix": "data/", "expired_object_delete_marker": True}, t
    assert rules["manifest.json"] == {"prefix": "manifest.json", "noncurrent_days": 30}, t
    assert rules["offsite-probe/"] == {"prefix": "offsite-probe/", "noncurrent_days": 1,
                                       "expired_object_delete_marker": True}, t
    assert len(rules) == 6, t
    for cls in ("daily", "weekly", "monthly"):
        assert rules[f"data/{cls}/"]["noncurrent_days"] == 1, t
PY

# a changed policy: --dry-run prints the new ages and leaves the bucket's rules as they were
run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$bucket"
cp "$LAST_OUT" "$SCRATCH/before.json"
sed -i 's/^daily = 100$/daily = 110/' "$CONFIG"
run_ok ofs retention sync --dry-run --target plain
expect_glob "$LAST_OUT" "*target 'plain' (s3): expire data/daily/ after 111 days*" "changed policy"
run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$bucket"
cmp -s "$SCRATCH/before.json" "$LAST_OUT" ||
    { diff "$SCRATCH/before.json" "$LAST_OUT"; fail "--dry-run changed the bucket's rules"; }
run_ok ofs retention sync --target plain
expect_glob "$LAST_OUT" "*lifecycle rules written and read back identical*" "sync of the changed policy"
run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$bucket"
python3 - "$LAST_OUT" << 'PY' || fail "the changed policy did not reach the bucket"
import json, sys
rules = {r["ID"]: r for r in json.load(open(sys.argv[1]))["Rules"]}
assert rules["offsite:host2/:data/daily/"]["Expiration"] == {"Days": 111}, rules
assert rules["offsite:host1/:data/daily/"]["Expiration"] == {"Days": 101}, rules  # untouched
assert rules["offsite:host2/:data/daily/"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
assert rules["offsite:host2/:manifest.json"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
assert "someone-else" in rules and len(rules) == 13, rules
PY
echo "PASS: $CASE_NAME"
