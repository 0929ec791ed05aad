#!/usr/bin/env bash
# retention_sync_stub: `offsite retention sync` on a gcs target, against a scripted GCS JSON API
# (tools/gcs_stub.py: bucket metadata only - the Cloud Storage emulator has no lifecycle, so
# nothing here is claimed of it). --dry-run reads the bucket and prints the rules but sends no
# PATCH; the sync PATCHes the lifecycle with a Delete per class at its age + 1 day under the
# target's prefix, the transition to COLDLINE, the probes' rule, and keeps the rule another tool
# wrote; a second sync finds them in place and writes nothing. A versioned bucket adds the
# noncurrent rules (isLive false). Exact bodies and a read-back that differs: test_gcs_scripted.
. "$(dirname "$0")/../../lib.sh"

start_stub() { # start_stub VERSIONED: a fresh stub, its requests in $SCRATCH/requests.$1
    rm -f "$SCRATCH/port"
    python3 "$TOOLS/gcs_stub.py" "$SCRATCH/port" "$SCRATCH/requests.$1" "$1" &
    register_pid $!
    for _ in $(seq 100); do [ -s "$SCRATCH/port" ] && break; sleep 0.05; done
    [ -s "$SCRATCH/port" ] || fail "the GCS stub did not start"
    sed -i "s|^endpoint = .*|endpoint = http://127.0.0.1:$(cat "$SCRATCH/port")|" "$CONFIG"
}
# methods METHOD: how many requests of that method the stub saw
methods() { python3 -c 'import json, sys; print(sum(json.loads(l)["method"] == sys.argv[2] for l in open(sys.argv[1])))' "$SCRATCH/requests.$1" "$2"; }
# patched N: the lifecycle rules of the Nth PATCH, one compact JSON a line
patched() { python3 -c 'import json, sys; b = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["method"] == "PATCH"][int(sys.argv[2])]["body"]; [print(json.dumps(r, sort_keys=True, separators=(",", ":"))) for r in json.loads(b)["lifecycle"]["rule"]]' "$SCRATCH/requests.$1" "$2"; }

src=$SCRATCH/src
mkdir -p "$src"
printf 'positions\n' > "$src/positions.csv"
make_config "$CONFIG" "$src"
cat >> "$CONFIG" << 'INI'

[target cloud]
type = gcs
endpoint = http://127.0.0.1:1
bucket = bk
prefix = fleet/h1
transition_days = 60
transition_class = COLDLINE

[retention]
daily = 7
weekly = 4
monthly = 12
INI
export OFFSITE_GCS_TOKEN=stub-token
run_ok ofs key generate
run_ok ofs config check

start_stub 0
run_ok ofs retention sync --dry-run
expect_glob "$LAST_OUT" "*target 'cloud' (gcs): expire data/daily/ after 8 days, data/weekly/ after 29, data/monthly/ after 373*" "dry-run rules"
expect_glob "$LAST_OUT" "*move data/monthly/ to COLDLINE after 60 days*" "dry-run transition"
[ "$(methods 0 GET)" -ge 1 ] || fail "dry run did not read the bucket"
[ "$(methods 0 PATCH)" = 0 ] || fail "dry run sent a PATCH"

run_ok ofs retention sync
expect_glob "$LAST_OUT" "*lifecycle rules written and read back identical*" "sync"
[ "$(methods 0 PATCH)" = 1 ] || fail "sync sent $(methods 0 PATCH) PATCHes, not 1"
rules=$(patched 0 0)
for want in \
    '{"action":{"type":"Delete"},"condition":{"age":90,"matchesPrefix":["logs/"]}}' \
    '{"action":{"type":"Delete"},"condition":{"age":8,"matchesPrefix":["fleet/h1/data/daily/"]}}' \
    '{"action":{"type":"Delete"},"condition":{"age":29,"matchesPrefix":["fleet/h1/data/weekly/"]}}' \
    '{"action":{"type":"Delete"},"condition":{"age":373,"matchesPrefix":["fleet/h1/data/monthly/"]}}' \
    '{"action":{"storageClass":"COLDLINE","type":"SetStorageClass"},"condition":{"age":60,"matchesPrefix":["fleet/h1/data/monthly/"]}}' \
    '{"action":{"type":"Delete"},"condition":{"age":1,"matchesPrefix":["fleet/h1/offsite-probe/"]}}'; do
    grep -qxF "$want" <<< "$rules" || fail "PATCH lacks $want; it held:
$rules"
done
if grep -q '"isLive"' <<< "$rules"; then fail "noncurrent rules in an unversioned bucket"; fi
if grep -q 'SetStorageClass.*data/daily' <<< "$rules"; then fail "daily moves to COLDLINE after it expires"; fi

run_ok ofs retention sync
expect_glob "$LAST_OUT" "*lifecycle rules already in place and read back identical*" "second sync"
[ "$(methods 0 PATCH)" = 1 ] || fail "a second sync wrote the rules again"

# a versioned bucket: what an expiration leaves behind goes too
start_stub 1
run_ok ofs retention sync
expect_glob "$LAST_OUT" "*bucket is versioned*" "versioned"
rules=$(patched 1 0)
for want in \
    '{"action":{"type":"Delete"},"condition":{"daysSinceNoncurrentTime":1,"isLive":false,"matchesPrefix":["fleet/h1/data/daily/"]}}' \
    '{"action":{"type":"Delete"},"condition":{"daysSinceNoncurrentTime":30,"isLive":false,"matchesPrefix":["fleet/h1/manifest.json"]}}'; do
    grep -qxF "$want" <<< "$rules" || fail "versioned PATCH lacks $want; it held:
$rules"
done
