#!/usr/bin/env bash
# dr_runbook: docs/disaster-recovery.md followed literally. Every ```sh block after a
# `<!-- runbook: NAME -->` line is extracted and run as written (bash -e, `offsite` on PATH),
# with the names of its "settings" block pointing at a scratch machine: a host with two sets
# and two nights of backups pushed to a file target makes the paper key (the "paper" block);
# the server dies (its data, state, staging and key file gone); then the clean machine runs
# check, key, list, plan (nothing written), rebuild (no terminal: no question) and verify,
# and every set's data is back in place, equal to what it was; "earlier" picks the first
# night's backups and writes nothing.
. "$(dirname "$0")/../../lib.sh"

doc=$OFS_SOURCE_DIR/docs/disaster-recovery.md
blocks=$SCRATCH/runbook
mkdir -p "$blocks"
python3 - "$doc" "$blocks" << 'PY' || fail "cannot extract the runbook blocks of $doc"
import re, sys
lines = open(sys.argv[1]).read().split("\n")
order, i = [], 0
while i < len(lines):
    m = re.match(r"\s*<!-- runbook: ([a-z_]+) -->\s*$", lines[i])
    i += 1
    if not m:
        continue
    name = m.group(1)
    assert name not in order, "runbook block %s twice" % name
    while i < len(lines) and not lines[i].strip():
        i += 1
    indent = len(lines[i]) - len(lines[i].lstrip())
    assert lines[i].strip() == "```sh", "runbook: %s is not followed by a ```sh block" % name
    i += 1
    body = []
    while lines[i].strip() != "```":
        body.append(lines[i][indent:])
        i += 1
    i += 1
    open("%s/%s.sh" % (sys.argv[2], name), "w").write("\n".join(body) + "\n")
    order.append(name)
open(sys.argv[2] + "/order", "w").write("\n".join(order) + "\n")
PY
expected="settings paper check key list plan rebuild verify earlier"
[ "$(tr '\n' ' ' < "$blocks/order")" = "$expected " ] ||
    fail "runbook blocks in docs/disaster-recovery.md: $(tr '\n' ' ' < "$blocks/order"), expected: $expected"

# the settings: every name the page sets, this test sets for the scratch machine
export CONFIG=$SCRATCH/offsite.ini TARGET=nas PAPER=$SCRATCH/paper.txt BEFORE=2026-11-04
names=$(grep -oE '^[A-Z_]+=' "$blocks/settings.sh" | tr -d = | sort | tr '\n' ' ')
[ "$names" = "BEFORE CONFIG PAPER TARGET " ] || fail "the runbook's settings changed: $names"
mkdir -p "$SCRATCH/bin"
ln -s "$OFFSITE_BIN" "$SCRATCH/bin/offsite"
export PATH=$SCRATCH/bin:$PATH

# step NAME: run the page's block as written; its output in $LAST_OUT/$LAST_ERR
step() {
    note "runbook: $1"
    run_ok bash -euo pipefail "$blocks/$1.sh" < /dev/null
}

# the host: two sets, two nights (the second a differential), pushed to nas
srv=$SCRATCH/srv
mkdir -p "$srv/positions" "$srv/orders/2026-11-03"
printf '{"AAPL": 100}\n' > "$srv/positions/positions.json"
printf 'secret\n' > "$srv/positions/broker.key"; chmod 600 "$srv/positions/broker.key"
for n in $(seq 200); do printf '{"id": %d}\n' "$n" > "$srv/orders/2026-11-03/order-$n.json"; done
make_config "$CONFIG" "$srv/positions" "$TARGET"
sed -i 's/^\[set data\]$/[set positions]/' "$CONFIG"
printf '\n[set orders]\npaths = %s\n' "$srv/orders" >> "$CONFIG"
run_ok ofs init
OFFSITE_NOW=2026-11-03T21:00:00Z run_ok ofs backup
cp -a "$srv" "$SCRATCH/night1"
sleep 0.05
printf '{"AAPL": 120, "NVDA": 5}\n' > "$srv/positions/positions.json"
mkdir "$srv/orders/2026-11-04"
for n in $(seq 20); do printf '{"id": %d}\n' "$n" > "$srv/orders/2026-11-04/order-$n.json"; done
OFFSITE_NOW=2026-11-04T21:00:00Z run_ok ofs backup
key_id=$(ofs key id | awk 'NR == 1 { print $1 }')

# section 1 on the live host: the paper copy
step paper
cp "$LAST_OUT" "$PAPER"
grep -q "$key_id" "$PAPER" || fail "the paper block printed no copy of key $key_id"

# the server dies: its data, state, staging and key file are gone
cp -a "$srv" "$SCRATCH/before-disaster"
rm -rf "$srv" "$SCRATCH/state" "$SCRATCH/staging" "$SCRATCH/key/offsite.key"

# section 2 on the clean machine
step check
step key
grep -q "$key_id" "$LAST_OUT" || fail "the imported key's id is not $key_id: $(cat "$LAST_OUT")"
step list
expect_glob "$LAST_OUT" "*positions_20261104_210000*orders_20261104_210000*" "the runbook's list"
step plan
expect_glob "$LAST_OUT" "rebuild plan: 2 sets into /*positions: positions_20261104_210000*to create*orders: orders_20261104_210000*to create*dry run: nothing written*" "the runbook's plan"
[ ! -e "$srv" ] || fail "the runbook's plan wrote into /"
step rebuild
expect_glob "$LAST_OUT" "*rebuild into /: 2 of 2 sets restored*recovery time:*" "the runbook's rebuild"
compare_trees "$SCRATCH/before-disaster" "$srv"
step verify

# section 3: the first night's backups, nothing written
srv_restore=absent; [ -e /srv/restore ] && srv_restore=present
step earlier
expect_glob "$LAST_OUT" "*positions_20261103_210000*positions: positions_20261103_210000 (full)*orders: orders_20261103_210000 (full)*dry run: nothing written*" "the runbook's earlier date"
if grep -q "20261104" "$LAST_OUT"; then fail "--before $BEFORE listed the second night: $(cat "$LAST_OUT")"; fi
[ "$srv_restore" = present ] || [ ! -e /srv/restore ] || fail "the runbook's dry run made /srv/restore"
echo "PASS: $CASE_NAME"
