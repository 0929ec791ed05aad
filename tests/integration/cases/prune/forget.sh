#!/usr/bin/env bash
# forget: `offsite forget BACKUP` deletes one backup from staging and a file target through
# prune's delete path. A full that a differential is based on is refused (exit 12, naming the
# differential) with nothing changed; an unknown id exits 3 naming it; --dry-run and a missing
# --yes change nothing; the differential, then the full, go from both stores' lists and
# folders, and verify --all still passes; --target forgets on that target alone; a write-only
# target keeps it, listed, and forget exits 6.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src"
make_config "$CONFIG" "$src" nas
run_ok ofs init
staging=$SCRATCH/staging nas=$SCRATCH/targets/nas

night() { date -u -d "2026-05-05 22:00 UTC + $1 days" +%Y-%m-%dT%H:%M:%SZ; }
id_of() { date -u -d "2026-05-05 22:00 UTC + $1 days" +data_%Y%m%d_%H%M%S; }
# every file of both stores, with its size: what "nothing changed" compares
snapshot() { find "$staging" "$SCRATCH/targets" -type f -printf '%P %s\n' | sort > "$1"; }
# listed STORE_ARGS...: the ids `list --json` gives, on one line
listed() {
    ofs list --json "$@" | python3 -c 'import json, sys; print(" ".join(sorted(b["id"] for b in json.load(sys.stdin)["backups"])))'
}

for n in 0 1 2; do
    echo "night $n" > "$src/file"
    if [ "$n" = 2 ]; then
        OFFSITE_NOW=$(night "$n") run_ok ofs backup --full
    else
        OFFSITE_NOW=$(night "$n") run_ok ofs backup
    fi
done
full=$(id_of 0) diff=$(id_of 1) newer=$(id_of 2)
kind=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["kind"])' "$(backup_dir "$staging" "$diff")/backup.json")
[ "$kind" = diff ] || fail "night 1 should be a differential, is '$kind'"
[ "$(listed)" = "$full $diff $newer" ] || fail "staging lists: $(listed)"
[ "$(listed --from nas)" = "$full $diff $newer" ] || fail "nas lists: $(listed --from nas)"

snapshot "$SCRATCH/before"
# the base of a kept differential: refused, naming it, nothing changed
run_fails 12 "*'$full' is the base of '$diff'*forget that differential first*" ofs forget "$full" --yes
snapshot "$SCRATCH/after"
cmp -s "$SCRATCH/before" "$SCRATCH/after" || fail "a refused forget changed the stores"
# an unknown id: exit 3 naming it
run_fails 3 "*no backup 'data_20200101_000000' on staging, nas*" ofs forget data_20200101_000000 --yes
# no terminal and no --yes: a usage error
run_fails 64 "*give --yes*" ofs forget "$diff" < /dev/null
# --dry-run: says what would go, changes nothing
run_ok ofs forget "$diff" --dry-run
expect_glob "$LAST_OUT" "*would delete*staging*would delete*nas*" "forget --dry-run output"
snapshot "$SCRATCH/after"
cmp -s "$SCRATCH/before" "$SCRATCH/after" || fail "forget --dry-run changed the stores"

# the differential, then its full: gone from both lists and folders
run_ok ofs forget "$diff" --yes
expect_glob "$LAST_OUT" "*deleted*staging*deleted*nas*" "forget output"
run_ok ofs forget "$full" --yes --json
python3 - "$LAST_OUT" "$full" << 'PY' || fail "forget --json is not what happened"
import json, sys
out = json.load(open(sys.argv[1]))
assert out["backup"] == sys.argv[2] and out["dry_run"] is False, out
assert [s["store"] for s in out["stores"]] == ["staging", "nas"], out
assert all(s["held"] and s["deleted"] and s["objects"] >= 2 for s in out["stores"]), out
PY
for store in "$staging" "$nas"; do
    for id in "$full" "$diff"; do
        ! ls -d "$store"/data/*/"$id" 2> /dev/null || fail "$store still has the folder of $id"
    done
done
[ "$(listed)" = "$newer" ] || fail "staging lists after forget: $(listed)"
[ "$(listed --from nas)" = "$newer" ] || fail "nas lists after forget: $(listed --from nas)"
run_ok ofs verify --all
run_ok ofs verify --all --from nas
# gone everywhere: now unknown
run_fails 3 "*no backup '$full'*" ofs forget "$full" --yes

# --target: that target alone
run_ok ofs forget "$newer" --target nas --yes
[ "$(listed)" = "$newer" ] || fail "forget --target nas touched staging: $(listed)"
[ "$(listed --from nas)" = "" ] || fail "nas still lists: $(listed --from nas)"
run_fails 3 "*no target 'nosuch'*" ofs forget "$newer" --target nosuch --yes
run_ok ofs verify --all --from nas

# a write-only target (delete = no) keeps the backup, listed, as prune leaves it; the other
# stores lose it and forget exits 6 saying so
printf '\n[target wo]\ntype = file\npath = %s\ndelete = no\n' "$SCRATCH/targets/wo" >> "$CONFIG"
run_ok ofs push --target wo
[ "$(listed --from wo)" = "$newer" ] || fail "wo lists: $(listed --from wo)"
run_fails 6 "*backup '$newer' is kept on 1 of the 2 stores holding it*" ofs forget "$newer" --yes
expect_glob "$LAST_OUT" "*deleted*staging*-*nas: not there*keep*wo: these credentials may not delete*" "forget output with a write-only target"
[ "$(listed)" = "" ] || fail "staging still lists: $(listed)"
[ "$(listed --from wo)" = "$newer" ] || fail "the write-only target lost it: $(listed --from wo)"
[ -f "$(backup_dir "$SCRATCH/targets/wo" "$newer")/backup.json" ] || fail "wo lost the record"
echo "PASS: $CASE_NAME"
