#!/usr/bin/env bash
# config_verdicts: one table drives `config check` and the command that uses each value
# (backup, which writes the record with the host and pushes to the file target under its
# bwlimit): both give the same exit code, and a refused value is named with its key's own
# FILE:LINE - `config check` passes nothing that fails later (issue 9, item 4).
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src" "$SCRATCH/key"
chmod 700 "$SCRATCH/key"
printf 'data\n' > "$src/a.txt"

# write_row SECTION KEY VALUE: the key on line 5 ([agent]) or line 11 ([target nas])
write_row() {
    local agent_line="parallel = 2" target_line="parallel = 1"
    [ "$1" = agent ] && agent_line="$2 = $3"
    [ "$1" = target ] && target_line="$2 = $3"
    {
        printf '[agent]\nstate_dir = %s\nstaging_dir = %s\nkey_file = %s\n' \
            "$SCRATCH/state" "$SCRATCH/staging" "$SCRATCH/key/offsite.key"
        printf '%s\n' "$agent_line"
        printf '[set data]\npaths = %s\n' "$src"
        printf '[target nas]\ntype = file\npath = %s\n' "$SCRATCH/targets/nas"
        printf '%s\n' "$target_line"
    } > "$CONFIG"
}

write_row none x x
run_ok ofs init
run_ok ofs backup

# section | key | value | the message after FILE:LINE: ("" = accepted)
rows=(
    "agent|bwlimit|fast please|bwlimit 'fast please': 'fast please' is not a rate (like 20M) or 'off'"
    "target|bwlimit|-5M|bwlimit '-5M': '-5M' is not a rate (like 20M) or 'off'"
    "target|bwlimit|25:00,5M|bwlimit '25:00,5M': '25:00,5M' is not HH:MM,RATE (a time from 00:00 to 23:59)"
    "agent|host|$(printf 'caf\xe9')|host: 'caf\\\\xe9' is not printable UTF-8 text"
    "agent|bwlimit|08:00,5M 16:30,off|"
    "target|bwlimit|50M|"
    "agent|host|café-01|"
)
for row in "${rows[@]}"; do
    IFS='|' read -r section key value message <<< "$row"
    write_row "$section" "$key" "$value"
    line=5
    [ "$section" = target ] && line=11
    if [ -z "$message" ]; then
        run_ok ofs config check
        run_ok ofs backup
        continue
    fi
    before=$(count_records "$SCRATCH/staging")
    run_fails 2 "*$CONFIG:$line: $message*" ofs config check
    run_fails 2 "*$CONFIG:$line: $message*" ofs backup
    # refused before any data was read: no backup, nothing half-made in staging
    [ "$(count_records "$SCRATCH/staging")" -eq "$before" ] || fail "a backup was made with $key = $value"
done
# the first backup and the accepted rows' three, each pushed to the target
[ "$(count_records "$SCRATCH/targets/nas")" -eq 4 ] || fail "expected 4 backups on nas"
