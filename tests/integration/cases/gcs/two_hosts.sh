#!/usr/bin/env bash
# two_hosts: two hosts (one key, state and staging of their own) push to one prefix of the
# Cloud Storage emulator in turn; the shared manifest lists all four backups, a clean machine
# restores each host's latest, and alpha's prune with a short policy keeps beta's backups
# ('other_host'). The pushes take turns: the emulator ignores ifGenerationMatch, so two at the
# same instant would be check-then-write (init says so); the compare-and-swap itself is tested
# against a scripted server (test_gcs_scripted).
. "$(dirname "$0")/../../lib.sh"
. "$OFS_SOURCE_DIR/tests/integration/servers/gcs.sh"

gcs_start

host_config() {
    local name=$1 dir=$SCRATCH/$1
    mkdir -p "$dir/src"
    cat > "$dir/offsite.ini" << EOF2
[agent]
state_dir = $dir/state
staging_dir = $dir/staging
key_file = $SCRATCH/key/offsite.key
host = $name

[set $name]
paths = $dir/src
volume_size = 256K
EOF2
    add_gcs_target "$dir/offsite.ini" cloud prefix=fleet/shared
}
host_config alpha
host_config beta
mkdir -p "$SCRATCH/key" && chmod 700 "$SCRATCH/key"
run_ok "$OFFSITE_BIN" -c "$SCRATCH/alpha/offsite.ini" init
run_ok "$OFFSITE_BIN" -c "$SCRATCH/beta/offsite.ini" init

for round in 1 2; do
    for h in alpha beta; do
        head -c 200000 /dev/urandom > "$SCRATCH/$h/src/positions-$round.bin"
        OFFSITE_NOW=2026-11-0${round}T21:0${round}:00Z \
            run_ok "$OFFSITE_BIN" -c "$SCRATCH/$h/offsite.ini" backup
    done
done

clean=$SCRATCH/clean
mkdir -p "$clean/state"
sed -e "s|$SCRATCH/alpha/state|$clean/state|" -e "s|$SCRATCH/alpha/staging|$clean/staging|" \
    "$SCRATCH/alpha/offsite.ini" > "$clean/offsite.ini"
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" --json list --from cloud
python3 - "$LAST_OUT" << 'EOF2' || fail "the shared manifest lost a backup: $(cat "$LAST_OUT")"
import json, sys
backups = json.load(open(sys.argv[1]))["backups"]
hosts = sorted(b["set"] for b in backups)
print(len(backups), "backups listed:", hosts)
sys.exit(0 if hosts == ["alpha"] * 2 + ["beta"] * 2 else 1)
EOF2
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" verify --from cloud
for h in alpha beta; do
    run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" restore --latest --set "$h" --from cloud \
        --target "$clean/restore-$h"
    cmp "$SCRATCH/$h/src/positions-2.bin" "$clean/restore-$h$SCRATCH/$h/src/positions-2.bin" ||
        fail "$h's latest backup did not restore"
done

printf '\n[retention]\ndaily = 1\nweekly = 0\nmonthly = 0\nkeep_last = 1\n' >> "$SCRATCH/alpha/offsite.ini"
OFFSITE_NOW=2026-12-30T21:00:00Z run_ok "$OFFSITE_BIN" -c "$SCRATCH/alpha/offsite.ini" \
    --json prune --target cloud
python3 - "$LAST_OUT" << 'EOF2' || fail "alpha's prune of the shared target: $(cat "$LAST_OUT")"
import json, sys
store = json.load(open(sys.argv[1]))["stores"][0]
beta = [b for b in store["backups"] if b["set"] == "beta"]
alpha = [b for b in store["backups"] if b["set"] == "alpha"]
print("alpha", [(b["id"], b["action"]) for b in alpha], "beta", [(b["id"], b["action"]) for b in beta])
sys.exit(0 if len(beta) == 2 and all(b["action"] == "keep" and b["reasons"] == ["other_host"]
                                     for b in beta) and alpha else 1)
EOF2
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" verify --from cloud
run_ok "$OFFSITE_BIN" -c "$clean/offsite.ini" restore --latest --set beta --from cloud \
    --target "$clean/restore-again"
echo "PASS: $CASE_NAME"
