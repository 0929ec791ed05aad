#!/usr/bin/env bash
# consistency: three readers of a backup agree on what they refuse (issue 13). The table of
# tests/unit/test_consistency.c writes its hand-made backups (validly sealed and MAC'd with a
# test key, each inconsistent in one way, or consistent) with `test_consistency --write DIR`;
# each goes through `offsite verify BACKUP --read-data`, `offsite restore BACKUP` and the
# Python decoder written from docs/format.md (`ofs_format.py restore`). All three accept a
# consistent backup (restoring the same tree) and refuse each inconsistent one, before writing
# what the catalog gets wrong: offsite with exit 5 and the case's cause in both commands'
# messages, Python with 1 (it reads everything before it writes).
. "$(dirname "$0")/../../lib.sh"

writer=$OFS_BUILD_DIR/test_consistency
[ -x "$writer" ] || skip "$writer is not built (cmocka missing?)"
cases=$SCRATCH/cases
mkdir -p "$cases"
run_ok "$writer" --write "$cases"

checked=0
for dir in "$cases"/*/; do
    dir=${dir%/}
    { read -r id; read -r want; read -r name; read -r cause; } < "$dir/case"
    mkdir -p "$dir/state" "$dir/source"
    cat > "$dir/offsite.ini" << INI
[agent]
state_dir = $dir/state
staging_dir = $dir/staging
key_file = $dir/offsite.key
host = testhost

[set t]
paths = $dir/source
INI
    CONFIG=$dir/offsite.ini
    if [ "$want" = 0 ]; then
        run_ok ofs verify "$id" --read-data
        run_ok ofs restore "$id" --target "$dir/restored"
        run_ok python3 "$OFS_FORMAT" restore --key "$dir/offsite.key" --store "$dir/staging" \
            --id "$id" --target "$dir/python"
        # the two restores made the same tree (content, types, modes, mtimes, links)
        compare_trees "$dir/restored/srv" "$dir/python/srv"
    else
        run_fails "$want" "*$cause*" ofs verify "$id" --read-data
        run_fails "$want" "*$cause*" ofs restore "$id" --target "$dir/restored"
        # a catalog's fault is found before anything is written (a volume's, entry by entry)
        case $cause in
        catalog:* | *differential*)
            [ -z "$(find "$dir/restored" -mindepth 1 2> /dev/null)" ] ||
                fail "$name: restore wrote: $(find "$dir/restored" -mindepth 1)" ;;
        esac
        run_fails 1 "ofs_format: *" python3 "$OFS_FORMAT" restore --key "$dir/offsite.key" \
            --store "$dir/staging" --id "$id" --target "$dir/python"
        [ ! -e "$dir/python" ] || fail "$name: ofs_format.py wrote into its target"
    fi
    note "$name: all three $([ "$want" = 0 ] && echo accept || echo refuse)"
    checked=$((checked + 1))
done
[ "$checked" -ge 20 ] || fail "only $checked cases were written"
echo "PASS: $CASE_NAME ($checked cases)"
