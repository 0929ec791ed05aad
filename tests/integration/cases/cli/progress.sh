#!/usr/bin/env bash
# progress: on a terminal (a pseudo-terminal from script(1)) backup, push and restore draw a
# progress bar with bytes, rate and a percentage; with -q, or when stderr is not a terminal,
# there is no bar (the output stays clean for logs and cron mail).
. "$(dirname "$0")/../../lib.sh"
command -v script > /dev/null || skip "script(1) (bsdutils) is not installed"

src=$SCRATCH/src
mkdir -p "$src"
head -c $((8 * 1024 * 1024)) /dev/urandom > "$src/blob.bin"
make_config "$CONFIG" "$src" nas
run_ok ofs init

# on_tty NAME ARGS...: run offsite under a pseudo-terminal, its output in $SCRATCH/NAME.tty
on_tty() {
    local name=$1; shift
    local cmd
    printf -v cmd '%q ' "$OFFSITE_BIN" -c "$CONFIG" "$@"
    script -qec "$cmd" "$SCRATCH/$name.tty" > /dev/null < /dev/null ||
        fail "'offsite $*' on a terminal failed: $(tail -c 600 "$SCRATCH/$name.tty")"
}
# a bar: the label, a percentage, bytes of a total, a rate
bar_glob='*[[]*[#-]*[]]*%*MiB / *MiB*/s*'
on_tty backup backup --no-push
expect_glob "$SCRATCH/backup.tty" "*backup data $bar_glob" "backup on a terminal"
on_tty push push
expect_glob "$SCRATCH/push.tty" "*push to nas $bar_glob" "push on a terminal"
on_tty restore restore --latest --target "$SCRATCH/r"
expect_glob "$SCRATCH/restore.tty" "*restore*$bar_glob" "restore on a terminal"
cmp -s "$src/blob.bin" "$SCRATCH/r$src/blob.bin" || fail "the restored blob differs"

# -q on a terminal, and a plain pipe: no bar
on_tty quiet -q backup --no-push
if grep -q '%' "$SCRATCH/quiet.tty"; then fail "-q still drew a bar: $(cat -v "$SCRATCH/quiet.tty")"; fi
run_ok ofs backup --no-push
if grep -q '\[#*-*\]' "$LAST_ERR"; then fail "a bar was drawn into a pipe"; fi
echo "PASS: $CASE_NAME"
