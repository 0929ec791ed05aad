#!/usr/bin/env bash
# when_full: which backups are full and which differential, through the calendar
# (OFFSITE_NOW, UTC): the month's first backup is a monthly full, the week's first a weekly
# full, the rest daily differentials of the set's latest full (never of a differential);
# --full forces a full; a full older than full_every makes the next daily backup full.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
head -c 200000 /dev/urandom > "$src/big.log"
make_config "$CONFIG" "$src"
run_ok ofs init

# backup_at WHEN [OPTS...]: a backup at WHEN; prints "KIND CLASS BASE" of its record
n=0
backup_at() {
    local when=$1; shift
    n=$((n + 1))
    printf 'night %d\n' "$n" >> "$src/big.log"
    OFFSITE_NOW=$when run_ok ofs backup "$@"
    local id
    id=$(latest_id "$SCRATCH/staging")
    python3 - "$(backup_dir "$SCRATCH/staging" "$id")/backup.json" << 'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["id"], r["kind"], r["class"], r.get("base", "-"))
PY
}

# expect WHEN "KIND CLASS BASE" [OPTS...]: BASE is the id of an earlier backup, or -
expect() {
    local when=$1 want=$2; shift 2
    local got
    got=$(backup_at "$when" "$@")
    LAST_ID=${got%% *}
    [ "${got#* }" = "$want" ] || fail "backup at $when $*: got '${got#* }', expected '$want'"
    note "$when $*: $got"
}

expect 2026-11-03T21:00:00Z "full monthly -"                 # a Tuesday, first of November
tuesday=$LAST_ID
expect 2026-11-04T21:00:00Z "diff daily $tuesday"
expect 2026-11-04T22:00:00Z "full daily -" --full
forced=$LAST_ID
expect 2026-11-05T21:00:00Z "diff daily $forced"             # the latest full, not Tuesday's
expect 2026-11-06T21:00:00Z "diff daily $forced"             # never a diff of a diff
expect 2026-11-09T21:00:00Z "full weekly -"                  # Monday: a new ISO week
monday=$LAST_ID
expect 2026-11-10T21:00:00Z "diff daily $monday"
sed -i 's/^\[set data\]$/[set data]\nfull_every = 1d/' "$CONFIG"
run_ok ofs config check
expect 2026-11-11T21:00:00Z "full daily -"                   # Monday's full is 2 days old
expect 2026-11-12T20:00:00Z "diff daily $LAST_ID"            # 23 hours: still young enough
expect 2026-12-01T01:00:00Z "full monthly -"                 # December
run_ok ofs list
expect_glob "$LAST_OUT" "*diff*daily*" "list shows the kinds"
echo "PASS: $CASE_NAME"
