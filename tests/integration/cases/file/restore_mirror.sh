#!/usr/bin/env bash
# restore_mirror: a Delta-Lake-shaped table (_delta_log/0000.json, part-0..3.parquet) restored
# over a copy that gained part-4.parquet and an edited part: --mirror --dry-run lists remove and
# replace and changes nothing; --mirror makes the table exactly as backed up, with part-4 and
# the edited part in the safety area at the top of the target (INDEX.txt lists both), nothing
# of it in the data directory, and what lies beside the set path untouched; --files limits
# mirror to the directories a pattern matches; --skip-existing leaves existing files;
# --latest --before DATE takes the older backup; --files matching nothing exits 3.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
table=$src/table
mkdir -p "$table/_delta_log"
printf '{"commitInfo":{"operation":"WRITE"}}\n' > "$table/_delta_log/0000.json"
for i in 0 1 2 3; do head -c $((20000 + i * 1000)) /dev/urandom > "$table/part-$i.parquet"; done
make_config "$CONFIG" "$src"
run_ok ofs init
run_ok ofs backup
id1=$(latest_id "$SCRATCH/staging")
sleep 1 # the second backup starts in a later second: --before tells them apart
printf '{"commitInfo":{"operation":"OPTIMIZE"}}\n' > "$table/_delta_log/0001.json"
run_ok ofs backup
id2=$(latest_id "$SCRATCH/staging")
[ "$id1" != "$id2" ] || fail "expected two backups"
rel=${src#/}
r=$SCRATCH/restore
run_ok ofs restore --latest --target "$r"
compare_trees "$src" "$r$src"

# the live copy moves on after the backup: a new part and an edited one; beside the set path
# (an ancestor the backup never held whole) lies a file of someone else
rt=$r$src/table
head -c 5000 /dev/urandom > "$rt/part-4.parquet"
printf 'rewritten\n' > "$rt/part-1.parquet"
printf 'not ours\n' > "$r$SCRATCH/beside.txt"
listing() { (cd "$r" && find . -printf '%p %y %m %s %T@ %i\n' | sort | sha256sum); }

# --dry-run lists remove and replace, and changes nothing
before=$(listing)
run_ok ofs restore --latest --mirror --dry-run --target "$r"
[ "$(listing)" = "$before" ] || fail "--mirror --dry-run changed the target"
expect_glob "$LAST_OUT" "*remove $rel/table/part-4.parquet*" "--mirror --dry-run"
expect_glob "$LAST_OUT" "*replace $rel/table/part-1.parquet*" "--mirror --dry-run"
expect_glob "$LAST_OUT" "*unchanged $rel/table/part-0.parquet*" "--mirror --dry-run"
expect_glob "$LAST_OUT" "*: 0 to create, 1 to replace, 1 to remove, *" "--mirror --dry-run summary"
! grep -q "beside.txt" "$LAST_OUT" || fail "--mirror would remove a file beside the set path"

# --files: mirror only in directories a pattern matches, not above a match
run_ok ofs restore --latest --mirror --dry-run --target "$r" --files part-0.parquet
! grep -q '^remove ' "$LAST_OUT" || fail "--files part-0.parquet mirrored its directory"
run_ok ofs restore --latest --mirror --dry-run --target "$r" --files "$rel/table"
expect_glob "$LAST_OUT" "*remove $rel/table/part-4.parquet*" "--mirror --files TABLE --dry-run"

# --mirror: the table is exactly as backed up; the safety area holds what was there
run_ok ofs restore --latest --mirror --target "$r"
compare_trees "$src" "$r$src"
[ "$(cat "$r$SCRATCH/beside.txt")" = "not ours" ] || fail "--mirror touched a file beside the set path"
mapfile -t areas < <(find "$r" -maxdepth 1 -name '.offsite-pre-restore-*')
[ "${#areas[@]}" -eq 1 ] || fail "expected one safety area at the top of the target: ${areas[*]:-}"
area=${areas[0]}
[ -f "$area/$rel/table/part-4.parquet" ] || fail "part-4.parquet is not in the safety area"
[ "$(cat "$area/$rel/table/part-1.parquet")" = rewritten ] || fail "the edited part is not in the safety area"
grep -q $'^removed\t'"$rel/table/part-4.parquet"$'\tmv -T -f -- ' "$area/INDEX.txt" ||
    fail "INDEX.txt does not list part-4.parquet as removed"
grep -q $'^replaced\t'"$rel/table/part-1.parquet"$'\tmv -T -f -- ' "$area/INDEX.txt" ||
    fail "INDEX.txt does not list part-1.parquet as replaced"
[ -z "$(find "$r$src" -name '*pre-restore*' -o -name '*.bak' -o -name '.*ofs-tmp*')" ] ||
    fail "something of the safety area lies in the data directory"
expect_glob "$LAST_OUT" "*2 replaced or removed entries moved into $area*" "--mirror output"

# at a terminal (script(1) gives one) the plan's counts come first and "proceed? [y/N]" is
# asked once: no (or just Enter) writes nothing and exits 9; y goes on
if command -v script > /dev/null && script -qec true /dev/null < /dev/null > /dev/null 2>&1; then
    printf 'changed\n' > "$rt/part-0.parquet"
    head -c 100 /dev/urandom > "$rt/part-5.parquet"
    before=$(listing)
    rc=0
    printf 'n\n' | script -qec "'$OFFSITE_BIN' -c '$CONFIG' restore --latest --mirror --target '$r'" \
        /dev/null > "$SCRATCH/tty.out" 2>&1 || rc=$?
    [ "$rc" -eq 9 ] || { cat "$SCRATCH/tty.out" >&2; fail "answering n at the prompt exited $rc, not 9"; }
    expect_glob "$SCRATCH/tty.out" "*0 to create, 1 to replace, 1 to remove, * unchanged, 0 to skip*proceed? \[y/N\]*canceled: nothing was written*" \
        "the prompt"
    [ "$(listing)" = "$before" ] || fail "answering n changed the target"
    printf 'y\n' | script -qec "'$OFFSITE_BIN' -c '$CONFIG' restore --latest --mirror --target '$r'" \
        /dev/null > "$SCRATCH/tty.out" 2>&1 || { cat "$SCRATCH/tty.out" >&2; fail "answering y failed"; }
    compare_trees "$src" "$r$src"
    # --yes: no question even at a terminal
    printf 'changed\n' > "$rt/part-0.parquet"
    script -qec "'$OFFSITE_BIN' -c '$CONFIG' restore --latest --yes --target '$r'" /dev/null \
        < /dev/null > "$SCRATCH/tty.out" 2>&1 || { cat "$SCRATCH/tty.out" >&2; fail "--yes at a terminal failed"; }
    ! grep -q 'proceed?' "$SCRATCH/tty.out" || fail "--yes still asked"
    compare_trees "$src" "$r$src"
else
    note "no script(1): the prompt itself is not exercised here (test_restore covers its logic)"
fi

# --mirror with --skip-existing contradicts itself
run_fails 64 "*--mirror makes directories exactly as backed up*" \
    ofs restore --latest --mirror --skip-existing --target "$r"

# --skip-existing: an edited part stays, a missing one comes back
nareas=$(find "$r" -maxdepth 1 -name '.offsite-pre-restore-*' | wc -l)
printf 'mine\n' > "$rt/part-2.parquet"
rm "$rt/part-3.parquet"
run_ok ofs restore --latest --skip-existing --dry-run --target "$r"
expect_glob "$LAST_OUT" "*skip $rel/table/part-2.parquet*" "--skip-existing --dry-run"
expect_glob "$LAST_OUT" "*create $rel/table/part-3.parquet*" "--skip-existing --dry-run"
run_ok ofs restore --latest --skip-existing --target "$r"
[ "$(cat "$rt/part-2.parquet")" = mine ] || fail "--skip-existing replaced part-2.parquet"
cmp -s "$rt/part-3.parquet" "$table/part-3.parquet" || fail "--skip-existing did not restore part-3"
n=$(find "$r" -maxdepth 1 -name '.offsite-pre-restore-*' | wc -l)
[ "$n" -eq "$nareas" ] || fail "--skip-existing made a safety area"

# --latest --before DATE: the newest backup made before DATE (list's date forms)
started2=$(ofs list --json | python3 -c '
import json, sys
print(next(b["started"] for b in json.load(sys.stdin)["backups"] if b["id"] == sys.argv[1]))' "$id2")
r3=$SCRATCH/older
run_ok ofs restore --latest --before "$started2" --target "$r3"
expect_glob "$LAST_OUT" "restored $id1 *" "--before output"
[ -f "$r3$src/table/_delta_log/0000.json" ] || fail "--before: 0000.json missing"
[ ! -e "$r3$src/table/_delta_log/0001.json" ] || fail "--before restored the newer backup"
run_fails 3 "*no backup of set 'data' made before *" \
    ofs restore --latest --before 2001-01-01 --target "$SCRATCH/none"
run_fails 64 "*--before: *" ofs restore --latest --before 'not a date' --target "$SCRATCH/none"

# --files matching nothing is an error naming the patterns, and writes nothing
run_fails 3 "*no file of backup '$id2' matches 'nosuch*' or 'table/part-9*'*HINT: *" \
    ofs restore --latest --target "$SCRATCH/none" --files 'nosuch*' 'table/part-9*'
[ ! -e "$SCRATCH/none" ] || fail "a restore matching nothing created its target"
echo "PASS: $CASE_NAME"
