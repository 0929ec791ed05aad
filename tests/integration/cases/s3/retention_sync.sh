#!/usr/bin/env bash
# retention_sync: `offsite retention sync` against radosgw renders [retention] as one expiry rule
# per class prefix (a day past what prune keeps) plus an abort of unfinished uploads after a
# day, with the target's transition_days/transition_class in each class rule that expires later
# than the transition (and none in the others, saying so); keeps a rule another tool wrote,
# reads back what it wrote, is idempotent, writes nothing with --dry-run; the bucket is not
# versioned, so no noncurrent-version or delete-marker rule; after the provider expires a
# backup (its objects deleted behind offsite's back), sync removes it from the target's
# manifest. A file target is reported plainly as pruned by the agent.
#
# The ages are long on purpose: radosgw.sh runs the gateway with `rgw lc debug interval = 10`,
# so a lifecycle day is 10 s and its lifecycle thread runs every 10 s; radosgw really deletes
# what a rule says has expired, counted from each object's upload. With daily = 7 the daily rule
# (8 days) removed the second (daily) backup 80 s after its push: with a 95 s pause before the
# last steps the case failed, the provider had expired both backups, not only the one removed
# by hand. Here the shortest age, 101 days, and the transition, 150, are past the case's 900 s
# ctest timeout (the same pause passes); the multipart abort (1 day) meets no upload, every
# object here goes up in a single PUT.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

radosgw_start offsite-test || fail "radosgw did not start"

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.csv"
make_config "$CONFIG" "$src" nas
add_s3_target "$CONFIG" cloud prefix=fleet/testhost transition_days=150 transition_class=STANDARD_IA
printf '\n[retention]\ndaily = 100\nweekly = 20\nmonthly = 12\n' >> "$CONFIG"
run_ok ofs init

# a rule some other tool put on the bucket
cat > "$SCRATCH/foreign.json" << 'JSON'
{"Rules": [{"ID": "someone-else", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
            "Expiration": {"Days": 90}}]}
JSON
run_ok s3cli s3api put-bucket-lifecycle-configuration --bucket "$S3_BUCKET" \
    --lifecycle-configuration "file://$SCRATCH/foreign.json"

OFFSITE_NOW=2026-11-02T21:00:00Z run_ok ofs backup
first=$(latest_id "$SCRATCH/staging")
printf 'more\n' >> "$src/positions.csv"
OFFSITE_NOW=2026-11-03T21:00:00Z run_ok ofs backup
second=$(latest_id "$SCRATCH/staging")

# --dry-run: the rules are printed, nothing is written
run_ok ofs retention sync --dry-run
expect_glob "$LAST_OUT" "*target 'nas' (file): no provider lifecycle rules*offsite prune*" "file target"
expect_glob "$LAST_OUT" "*target 'cloud' (s3): expire data/daily/ after 101 days, data/weekly/ after 141, data/monthly/ after 373*" "rules"
expect_glob "$LAST_OUT" "*move data/monthly/ to STANDARD_IA after 150 days; data/daily/ (expires after 101 days), data/weekly/ (expires after 141 days) expire first*" "transition"
if grep -q "versioned" "$LAST_OUT"; then fail "an unversioned bucket was reported versioned"; fi
run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$S3_BUCKET"
python3 - "$LAST_OUT" << 'PY' || fail "--dry-run changed the bucket's lifecycle rules"
import json, sys
rules = json.load(open(sys.argv[1]))["Rules"]
assert [r["ID"] for r in rules] == ["someone-else"], rules
PY

run_ok ofs retention sync
expect_glob "$LAST_OUT" "*lifecycle rules written and read back identical*" "first sync"
run_ok s3cli s3api get-bucket-lifecycle-configuration --bucket "$S3_BUCKET"
python3 - "$LAST_OUT" << 'PY' || fail "the bucket's lifecycle rules are not what the policy says"
import json, sys
rules = json.load(open(sys.argv[1]))["Rules"]
def prefix(r):
    f = r.get("Filter", {})
    return f.get("Prefix", f.get("And", {}).get("Prefix", r.get("Prefix")))
by_prefix = {prefix(r): r for r in rules}
assert "logs/" in by_prefix and by_prefix["logs/"]["Expiration"]["Days"] == 90, rules
want = {"fleet/testhost/data/daily/": 101, "fleet/testhost/data/weekly/": 141,
        "fleet/testhost/data/monthly/": 373}
for p, days in want.items():
    assert p in by_prefix, (p, rules)
    r = by_prefix[p]
    assert r["Status"] == "Enabled" and r["Expiration"]["Days"] == days, r
    assert "NoncurrentVersionExpiration" not in r, r  # the bucket is not versioned
# only the class that outlives the transition moves; the others expire first
assert by_prefix["fleet/testhost/data/monthly/"]["Transitions"] == \
    [{"Days": 150, "StorageClass": "STANDARD_IA"}], by_prefix["fleet/testhost/data/monthly/"]
for p in ("fleet/testhost/data/daily/", "fleet/testhost/data/weekly/"):
    assert not by_prefix[p].get("Transitions"), by_prefix[p]
assert "fleet/testhost/data/" not in by_prefix, rules  # no delete-marker rule unversioned
assert "fleet/testhost/manifest.json" not in by_prefix, rules  # nor manifest history
# what a write-only host leaves under offsite-probe/ expires (no versions: Expiration alone)
probe = by_prefix["fleet/testhost/offsite-probe/"]
assert probe["Expiration"] == {"Days": 1} and "NoncurrentVersionExpiration" not in probe, probe
assert len(rules) == 5, rules
seen_abort = any(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1
                 for r in rules if (prefix(r) or "").startswith("fleet/testhost/"))
assert seen_abort, rules
PY

# idempotent
run_ok ofs retention sync
expect_glob "$LAST_OUT" "*lifecycle rules already in place*manifest matches the records*" "second sync"

# the provider expires the first backup behind offsite's back: sync drops it from the manifest
run_ok s3cli s3 rm --recursive --only-show-errors "s3://$S3_BUCKET/fleet/testhost/data/monthly/$first/"
run_ok ofs --json retention sync
python3 - "$LAST_OUT" "$first" << 'PY' || fail "retention sync --json did not report the expired backup"
import json, sys
doc = json.load(open(sys.argv[1]))
cloud = [t for t in doc["targets"] if t["target"] == "cloud"][0]
assert cloud["expired"] == [sys.argv[2]], cloud
assert cloud["versioned"] is False and cloud["lifecycle"] == "unchanged", cloud
moved = {r["prefix"]: r.get("transition_class") for r in cloud["rules"]}
assert moved == {"data/daily/": None, "data/weekly/": None, "data/monthly/": "STANDARD_IA",
                 "offsite-probe/": None}, cloud
PY
run_ok ofs list --from cloud
expect_glob "$LAST_OUT" "*$second*" "list --from cloud"
if grep -q "$first" "$LAST_OUT"; then fail "list --from cloud still offers the expired $first"; fi
run_ok ofs verify --from cloud

# a set with its own, longer policy and a max_backups: the class rules cover its ages, and the
# cap (no lifecycle rule counts backups) is said to be prune's, in the text and in --json
python3 - "$CONFIG" "$src" << 'PY'
import sys
path, src = sys.argv[1:3]
text = open(path).read().replace("[retention]", "[set desk]\npaths = %s\nretention = desk\n\n"
                                 "[retention desk]\ndaily = 200\nmax_backups = 10\n\n[retention]" % src, 1)
open(path, "w").write(text)
PY
run_ok ofs config check
run_ok ofs retention sync --dry-run
expect_glob "$LAST_OUT" "*target 'cloud' (s3): expire data/daily/ after 201 days, data/weekly/ after 201, data/monthly/ after 373*set 'desk' follows ?retention desk? here*max_backups = 10 (?retention desk?) cannot be a lifecycle rule*offsite prune*enforces it*" "set policy rules"
run_ok ofs --json retention sync --dry-run
python3 - "$LAST_OUT" << 'PY' || fail "retention sync --json does not list what prune alone enforces"
import json, sys
cloud = [t for t in json.load(open(sys.argv[1]))["targets"] if t["target"] == "cloud"][0]
assert cloud["prune_only"] == [
    {"what": "ages", "set": "desk", "policy": "desk"},
    {"what": "max_backups", "max_backups": 10, "policy": "desk", "set": "desk"}], cloud
PY
echo "PASS: $CASE_NAME"
