#!/usr/bin/env bash
# two_hosts: two hosts (one key, state and staging of their own) push to one bucket prefix at
# the same time, one with path-style and one with virtual-hosted addressing
# (bucket.localhost, which radosgw serves with rgw_dns_name = localhost). Every manifest update
# is a compare-and-swap (If-Match, probed): whichever push loses a race merges and writes
# again, so after three rounds of concurrent pushes the shared manifest lists all six
# backups, a clean machine restores both hosts' latest, and the If-Match probe left nothing.
# Then alpha prunes the shared target: its own expired backup goes, beta's stay, and an object of a
# beta push still in flight (no record yet) is left.
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/radosgw.sh"

radosgw_start offsite-test || fail "radosgw did not start"

# host_config NAME URL_STYLE ENDPOINT: a host with its own state, staging and source
host_config() {
    local name=$1 style=$2 endpoint=$3 dir=$SCRATCH/$1
    mkdir -p "$dir/src"
    cat > "$dir/offsite.ini" << EOF
[agent]
state_dir = $dir/state
staging_dir = $dir/staging
key_file = $SCRATCH/key/offsite.key
host = $name

[set $name]
paths = $dir/src
volume_size = 256K

[target cloud]
type = s3
endpoint = $endpoint
region = $S3_REGION
bucket = $S3_BUCKET
prefix = fleet/shared
url_style = $style
EOF
}

host_config alpha path "$S3_ENDPOINT"
host_config beta virtual "http://localhost:${S3_ENDPOINT##*:}"
mkdir -p "$SCRATCH/key" && chmod 700 "$SCRATCH/key"
run_ok "$OFFSITE_BIN" -c "$SCRATCH/alpha/offsite.ini" init
run_ok "$OFFSITE_BIN" -c "$SCRATCH/beta/offsite.ini" init
# init tried the manifest's compare-and-swap: radosgw honours If-Match (in its bare form)
expect_glob "$LAST_OUT" "*target cloud: ok (s3 s3://$S3_BUCKET/fleet/shared/ at http://$S3_BUCKET.localhost:*; manifest updates atomic)*" "beta's init"

for round in 1 2 3; do
    for h in alpha beta; do
        head -c 200000 /dev/urandom > "$SCRATCH/$h/src/positions-$round.bin"
        OFFSITE_NOW=2026-11-0${round}T21:0${round}:00Z \
            run_ok "$OFFSITE_BIN" -c "$SCRATCH/$h/offsite.ini" backup --no-push
    done
    # both pushes at once: each writes its record, then the shared manifest
    "$OFFSITE_BIN" -c "$SCRATCH/alpha/offsite.ini" -v push > "$SCRATCH/alpha.out" 2>&1 &
    a=$!
    "$OFFSITE_BIN" -c "$SCRATCH/beta/offsite.ini" -v push > "$SCRATCH/beta.out" 2>&1 &
    b=$!
    wait "$a" || fail "alpha's push failed: $(cat "$SCRATCH/alpha.out")"
    wait "$b" || fail "beta's push failed: $(cat "$SCRATCH/beta.out")"
    grep -h 'changed by another writer' "$SCRATCH/alpha.out" "$SCRATCH/beta.out" || true
done
if grep -h 'check-then-put' "$SCRATCH/alpha.out" "$SCRATCH/beta.out"; then
    fail "radosgw honours If-Match, yet the manifest was written without it"
fi

# beta addressed the bucket as a virtual host: its requests carried Host: offsite-test.localhost
grep -q '"PUT /fleet/shared/' "$RGW_DIR"/log/client.rgw.log ||
    fail "radosgw logged no virtual-hosted PUT (no 'PUT /fleet/shared/...' request line)"

# the manifest, as a clean machine sees it: six backups, three per host
clean=$SCRATCH/clean
mkdir -p "$clean/state"
sed -e "s|$SCRATCH/alpha/state|$clean/state|" -e "s|$SCRATCH/alpha/staging|$clean/staging|" \
    "$SCRATCH/alpha/offsite.ini" > "$clean/offsite.ini"
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" --json list --from cloud
python3 - "$LAST_OUT" << 'EOF' || fail "the shared manifest lost a backup: $(cat "$LAST_OUT")"
import json, sys
backups = json.load(open(sys.argv[1]))["backups"]
hosts = sorted(b["set"] for b in backups)
print(len(backups), "backups listed:", hosts)
sys.exit(0 if hosts == ["alpha"] * 3 + ["beta"] * 3 else 1)
EOF
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" list --from cloud
# a shared target: the text listing says whose each backup is
expect_glob "$LAST_OUT" "*HOST  DESCRIPTION*beta_20261103_210300 *  beta  *alpha_20261103_210300 *  alpha  *" "list of the shared target"
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" verify --from cloud
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" restore --latest --set beta --from cloud \
    --target "$clean/restore"
cmp "$SCRATCH/beta/src/positions-3.bin" "$clean/restore$SCRATCH/beta/src/positions-3.bin" ||
    fail "beta's latest backup did not restore"

run_ok s3cli s3 ls --recursive "s3://$S3_BUCKET/fleet/shared/"
if grep -q offsite-probe "$LAST_OUT"; then fail "the If-Match probe was left behind"; fi

# alpha prunes the shared target with a short policy while beta has an upload in flight (a
# volume of a backup whose record is not there yet): only alpha's own old backups go
printf '\n[retention]\ndaily = 1\nweekly = 0\nmonthly = 0\nkeep_last = 1\n' >> "$SCRATCH/alpha/offsite.ini"
head -c 1000 /dev/urandom > "$SCRATCH/inflight.ofs"
run_ok s3cli s3 cp --only-show-errors "$SCRATCH/inflight.ofs" \
    "s3://$S3_BUCKET/fleet/shared/data/daily/beta_20261104_210400/vol-0001.ofs"
OFFSITE_NOW=2026-12-30T21:00:00Z run_ok "$OFFSITE_BIN" -c "$SCRATCH/alpha/offsite.ini" \
    --json prune --target cloud
python3 - "$LAST_OUT" << 'EOF' || fail "alpha's prune of the shared target: $(cat "$LAST_OUT")"
import json, sys
store = json.load(open(sys.argv[1]))["stores"][0]
acts = {(b["set"], b["action"]) for b in store["backups"]}
beta = [b for b in store["backups"] if b["set"] == "beta"]
alpha_deleted = [b for b in store["backups"] if b["set"] == "alpha" and b["action"] == "delete"]
ok = (len(beta) == 3 and all(b["action"] == "keep" and b["reasons"] == ["other_host"] for b in beta)
      and len(alpha_deleted) == 1  # the newest is a differential: its base stays
      and [(o["folder"], o["left"], o["deleted"]) for o in store["orphans"]]
          == [("data/daily/beta_20261104_210400/", True, False)])
print("alpha deleted", len(alpha_deleted), "kept beta", len(beta), "orphans", store["orphans"])
sys.exit(0 if ok else 1)
EOF
run_ok s3cli s3api head-object --bucket "$S3_BUCKET" \
    --key fleet/shared/data/daily/beta_20261104_210400/vol-0001.ofs
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" verify --from cloud
echo "PASS: $CASE_NAME"
