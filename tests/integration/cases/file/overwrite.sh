#!/usr/bin/env bash
# overwrite: restoring over an existing tree keeps NAME.pre_restore_*.bak copies of files it
# replaces; --overwrite does not; --dry-run lists and writes nothing; --files restores a subset.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
make_tree "$src"
make_config "$CONFIG" "$src"
run_ok ofs init
run_ok ofs backup
id=$(latest_id "$SCRATCH/staging")
rel=${src#/}
r=$SCRATCH/restore
run_ok ofs restore --latest --target "$r"
compare_trees "$src" "$r$src"

# a local change, then restore over it: the change survives as a .bak copy
small=$r$src/files/small.txt
printf 'local edit\n' > "$small"
run_ok ofs restore --latest --target "$r"
cmp -s "$small" "$src/files/small.txt" || fail "small.txt was not restored over the local edit"
mapfile -t baks < <(find "$r$src/files" -name 'small.txt.pre_restore_*.bak')
[ "${#baks[@]}" -eq 1 ] || fail "expected one small.txt.pre_restore_*.bak, found ${#baks[@]}: ${baks[*]:-}"
[ "$(cat "${baks[0]}")" = "local edit" ] || fail "the .bak copy does not hold the local edit"
[[ $(basename "${baks[0]}") == small.txt.pre_restore_[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]_[0-9][0-9][0-9][0-9][0-9][0-9]*.bak ]] ||
    fail "unexpected .bak name ${baks[0]}"
compare_trees "$src" "$r$src" --ignore '*.pre_restore_*.bak'

# --overwrite: replaced without a new .bak
printf 'second edit\n' > "$small"
run_ok ofs restore --latest --overwrite --target "$r"
cmp -s "$small" "$src/files/small.txt" || fail "--overwrite did not restore small.txt"
n=$(find "$r$src" -name '*.pre_restore_*.bak' | wc -l)
[ "$n" -eq 1 ] || fail "--overwrite left new .bak files ($n in all)"
find "$r$src" -name '*.pre_restore_*.bak' -delete

# --dry-run: lists what would change, writes nothing
printf 'third edit\n' > "$small"
rm "$r$src/files/k1.bin"
before=$(cd "$r" && find . -printf '%p %y %m %s %T@ %i\n' | sort | sha256sum)
run_ok ofs restore --latest --dry-run --target "$r"
after=$(cd "$r" && find . -printf '%p %y %m %s %T@ %i\n' | sort | sha256sum)
[ "$before" = "$after" ] || fail "--dry-run changed the target directory"
[ "$(cat "$small")" = "third edit" ] || fail "--dry-run changed small.txt"
expect_glob "$LAST_OUT" "*files/small.txt*" "--dry-run output"
expect_glob "$LAST_OUT" "*files/k1.bin*" "--dry-run output"

# --files: a subset (a single file and a directory with everything below it)
r2=$SCRATCH/subset
run_ok ofs restore "$id" --target "$r2" --files "$rel/files/small.txt" "$rel/private"
got=$(cd "$r2$src" && find . ! -type d | sort | tr '\n' ' ')
[ "$got" = "./files/small.txt ./private/secret.txt " ] || fail "--files restored: $got"
cmp -s "$r2$src/private/secret.txt" "$src/private/secret.txt" || fail "--files: secret.txt differs"
[ "$(stat -c %a "$r2$src/private/secret.txt")" = 600 ] || fail "--files: secret.txt mode"
echo "PASS: $CASE_NAME"
