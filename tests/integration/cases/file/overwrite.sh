#!/usr/bin/env bash
# overwrite: restoring over an existing tree moves what it replaces into a safety area at the
# top of the target (.offsite-pre-restore-STAMP/PATH, with INDEX.txt whose commands put each
# entry back), never beside the files; --no-safety-copies (alias --overwrite) keeps nothing;
# --bak-beside keeps the old NAME.pre_restore_*.bak copies; --dry-run lists and writes nothing;
# --files restores a subset; no terminal, no question.
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
[ -z "$(find "$r" -maxdepth 1 -name '.offsite-pre-restore-*')" ] ||
    fail "a restore into an empty target made a safety area"

# a local change, then restore over it (stdin is no terminal: no question): the change goes
# into the safety area under its path, and the data directory holds only the restored tree
small=$r$src/files/small.txt
printf 'local edit\n' > "$small"
run_ok ofs restore --latest --target "$r" < /dev/null
cmp -s "$small" "$src/files/small.txt" || fail "small.txt was not restored over the local edit"
compare_trees "$src" "$r$src"
[ -z "$(find "$r" -name '*.pre_restore_*')" ] || fail "a .bak copy was left beside the files"
mapfile -t areas < <(find "$r" -maxdepth 1 -name '.offsite-pre-restore-*')
[ "${#areas[@]}" -eq 1 ] || fail "expected one safety area at the top of the target: ${areas[*]:-}"
area=${areas[0]}
[[ $(basename "$area") == .offsite-pre-restore-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]_[0-9][0-9][0-9][0-9][0-9][0-9] ]] ||
    fail "unexpected safety area name $area"
[ "$(stat -c %a "$area")" = 700 ] || fail "the safety area is not 0700"
[ "$(cat "$area/$rel/files/small.txt")" = "local edit" ] || fail "the safety area lacks the edit"
expect_glob "$LAST_OUT" "*1 replaced or removed entry moved into $area (INDEX.txt*" "restore output"
grep -c $'^replaced\t' "$area/INDEX.txt" | grep -qx 1 || fail "INDEX.txt should list one entry"
line=$(grep $'^replaced\t' "$area/INDEX.txt")
[ "$(cut -f2 <<< "$line")" = "$rel/files/small.txt" ] || fail "INDEX.txt path: $line"
# the index's command puts the edit back
bash -c "$(cut -f3 <<< "$line")" || fail "the command from INDEX.txt failed: $line"
[ "$(cat "$small")" = "local edit" ] || fail "the INDEX.txt command did not put the edit back"

# --no-safety-copies, and its alias --overwrite: replaced, nothing kept anywhere
run_ok ofs restore --latest --no-safety-copies --target "$r"
cmp -s "$small" "$src/files/small.txt" || fail "--no-safety-copies did not restore small.txt"
printf 'second edit\n' > "$small"
run_ok ofs restore --latest --overwrite --target "$r"
cmp -s "$small" "$src/files/small.txt" || fail "--overwrite did not restore small.txt"
n=$(find "$r" -maxdepth 1 -name '.offsite-pre-restore-*' | wc -l)
[ "$n" -eq 1 ] || fail "--no-safety-copies/--overwrite made a safety area ($n in all)"
compare_trees "$src" "$r$src"

# --bak-beside: the old way, a .bak copy beside the file
printf 'third edit\n' > "$small"
run_ok ofs restore --latest --bak-beside --target "$r"
mapfile -t baks < <(find "$r$src/files" -name 'small.txt.pre_restore_*.bak')
[ "${#baks[@]}" -eq 1 ] || fail "expected one small.txt.pre_restore_*.bak, found ${#baks[@]}"
[ "$(cat "${baks[0]}")" = "third edit" ] || fail "the .bak copy does not hold the edit"
[[ $(basename "${baks[0]}") == small.txt.pre_restore_[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]_[0-9][0-9][0-9][0-9][0-9][0-9]*.bak ]] ||
    fail "unexpected .bak name ${baks[0]}"
rm "${baks[0]}"
run_fails 64 "*--no-safety-copies (--overwrite), --bak-beside and --skip-existing exclude*" \
    ofs restore --latest --bak-beside --overwrite --target "$r"

# --dry-run: lists what would change, writes nothing
printf 'fourth edit\n' > "$small"
rm "$r$src/files/k1.bin"
before=$(cd "$r" && find . -printf '%p %y %m %s %T@ %i\n' | sort | sha256sum)
run_ok ofs restore --latest --dry-run --target "$r"
after=$(cd "$r" && find . -printf '%p %y %m %s %T@ %i\n' | sort | sha256sum)
[ "$before" = "$after" ] || fail "--dry-run changed the target directory"
[ "$(cat "$small")" = "fourth edit" ] || fail "--dry-run changed small.txt"
expect_glob "$LAST_OUT" "*replace $rel/files/small.txt*" "--dry-run output"
expect_glob "$LAST_OUT" "*create $rel/files/k1.bin*" "--dry-run output"
expect_glob "$LAST_OUT" "*: 1 to create, 1 to replace, 0 to remove, * unchanged, 0 to skip; nothing written*" \
    "--dry-run summary"
# --yes is accepted (no terminal here: it changes nothing)
run_ok ofs restore --latest --yes --target "$r"
compare_trees "$src" "$r$src"

# --files: a subset (a single file and a directory with everything below it)
r2=$SCRATCH/subset
run_ok ofs restore "$id" --target "$r2" --files "$rel/files/small.txt" "$rel/private"
got=$(cd "$r2$src" && find . ! -type d | sort | tr '\n' ' ')
[ "$got" = "./files/small.txt ./private/secret.txt " ] || fail "--files restored: $got"
cmp -s "$r2$src/private/secret.txt" "$src/private/secret.txt" || fail "--files: secret.txt differs"
[ "$(stat -c %a "$r2$src/private/secret.txt")" = 600 ] || fail "--files: secret.txt mode"
echo "PASS: $CASE_NAME"
