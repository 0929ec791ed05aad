#!/usr/bin/env bash
# config_errors: bad configurations are refused with "FILE:LINE: ..." and exit 2; a key file
# readable by others is refused naming it; unknown commands and options are usage errors
# (exit 64); every command's --help exits 0; --json output is one valid JSON document.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
printf 'data\n' > "$src/a.txt"

# agent_lines: a valid [agent] section (4 lines)
agent_lines() {
    printf '[agent]\nstate_dir = %s\nstaging_dir = %s\nkey_file = %s\n' \
        "$SCRATCH/state" "$SCRATCH/staging" "$SCRATCH/key/offsite.key"
}
# expect_config_error NAME LINE GLOB: config check of $SCRATCH/NAME.ini fails at LINE
expect_config_error() {
    local f=$SCRATCH/$1.ini
    run_fails 2 "*$f:$2: *$3*" "$OFFSITE_BIN" -c "$f" config check
}

{ agent_lines; printf 'frobnicate = yes\n\n[set data]\npaths = %s\n' "$src"; } > "$SCRATCH/unknown_key.ini"
expect_config_error unknown_key 5 frobnicate

{ agent_lines; printf '\n[set data]\npaths = %s\nvolume_size = 12Q\n' "$src"; } > "$SCRATCH/bad_size.ini"
expect_config_error bad_size 8 12Q

{ agent_lines; printf '\n[set data]\npaths = %s\n\n[target nas]\ntype = ftp\npath = /x\n' "$src"; } > "$SCRATCH/bad_type.ini"
expect_config_error bad_type 10 ftp

{ agent_lines; printf '\n[set data]\npaths = %s\n\n[set empty]\nfull_every = 7d\n' "$src"; } > "$SCRATCH/no_paths.ini"
expect_config_error no_paths 9 paths

{ agent_lines; printf '\n[set data]\npaths = %s\nthis line has no equals sign\n' "$src"; } > "$SCRATCH/syntax.ini"
expect_config_error syntax 8 ""

{ agent_lines; printf '\n[frobnicate]\nx = 1\n[set data]\npaths = %s\n' "$src"; } > "$SCRATCH/unknown_section.ini"
expect_config_error unknown_section 6 frobnicate

{ agent_lines; printf '\n[set data]\npaths = %s\nfull_every = 3 fortnights\n' "$src"; } > "$SCRATCH/bad_duration.ini"
expect_config_error bad_duration 8 fortnights

run_fails nonzero "*$SCRATCH/missing.ini*" "$OFFSITE_BIN" -c "$SCRATCH/missing.ini" config check

# a valid config passes
make_config "$CONFIG" "$src"
run_ok ofs config check
run_ok ofs init

# a key file readable by group or others is refused, naming it (and the fix)
chmod 644 "$SCRATCH/key/offsite.key"
run_fails nonzero "*$SCRATCH/key/offsite.key*0644*HINT: chmod 600*" ofs list
run_fails nonzero "*$SCRATCH/key/offsite.key*" ofs backup
[ "$(count_records "$SCRATCH/staging")" -eq 0 ] || fail "a backup was made with a refused key file"
chmod 600 "$SCRATCH/key/offsite.key"

# usage errors: exit 64
run_fails 64 "*frobnicate*" ofs frobnicate
run_fails 64 "*--frobnicate*" ofs --frobnicate list
run_fails 64 "*--frobnicate*" ofs list --frobnicate
run_fails 64 "*" ofs restore --latest --dry-run --target
run_fails 64 "*" "$OFFSITE_BIN"

# --help everywhere
run_ok "$OFFSITE_BIN" --help
expect_glob "$LAST_OUT" "*backup*restore*verify*" "offsite --help"
for cmd in init key backup push list ls restore verify status config decrypt; do
    run_ok "$OFFSITE_BIN" "$cmd" --help
    [ -s "$LAST_OUT" ] || fail "'offsite $cmd --help' printed nothing on stdout"
done
run_ok "$OFFSITE_BIN" --version

# --json: one JSON document on stdout
run_ok ofs --json backup
python3 -m json.tool "$LAST_OUT" > /dev/null || fail "backup --json is not JSON: $(head -c 500 "$LAST_OUT")"
for cmd in list status; do
    run_ok ofs --json "$cmd"
    python3 -m json.tool "$LAST_OUT" > /dev/null || fail "$cmd --json is not JSON: $(head -c 500 "$LAST_OUT")"
done
id=$(latest_id "$SCRATCH/staging")
grep -q "\"$id\"" "$LAST_OUT" || fail "status --json does not name backup $id"
echo "PASS: $CASE_NAME"
