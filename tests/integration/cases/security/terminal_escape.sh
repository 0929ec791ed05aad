#!/usr/bin/env bash
# terminal_escape: file names and a description holding terminal escape sequences (ESC, BEL,
# a C1 CSI, a newline) or bytes that are not UTF-8 never reach the terminal raw: `ls`, `list`,
# `restore --dry-run` and error messages show them as \xHH; --json keeps the exact bytes (JSON
# escapes, NAME_hex when not UTF-8); the restore itself gives back the exact names.
. "$(dirname "$0")/../../lib.sh"

src=$SCRATCH/src
mkdir -p "$src/dir"
esc=$'evil\e[2J\e]0;pwned\a.txt'    # clear screen, set the window title
c1=$'c1\xc2\x9b31m.txt'              # U+009B: CSI on terminals that take C1 controls
nl=$'two\nlines.txt'                 # would forge a line of output
latin=$'caf\xe9.txt'                 # not UTF-8
for n in "$esc" "$c1" "$nl" "$latin"; do printf 'x\n' > "$src/dir/$n"; done
printf 'plain\n' > "$src/dir/plain.txt"
make_config "$CONFIG" "$src"
run_ok ofs init
run_ok ofs backup --description $'desc\e[31mred'
id=$(latest_id "$SCRATCH/staging")

# no_raw FILE WHAT: no ESC, BEL or C1 byte in FILE, and the escaped forms are there
no_raw() {
    if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' "$1"; then
        od -c "$1" | head -40 >&2
        fail "$2 printed a raw control byte"
    fi
}
expect_names() { # FILE WHAT: every hostile name shown escaped, on one line each
    no_raw "$1" "$2"
    grep -qF 'dir/evil\x1b[2J\x1b]0;pwned\x07.txt' "$1" || fail "$2: ESC name not shown escaped"
    grep -qF 'dir/c1\xc2\x9b31m.txt' "$1" || fail "$2: C1 name not shown escaped"
    grep -qF 'dir/two\x0alines.txt' "$1" || fail "$2: newline name not on one line"
    grep -qF 'dir/caf\xe9.txt' "$1" || fail "$2: latin-1 name not shown escaped"
    if grep -q '^lines.txt' "$1"; then fail "$2: a name forged a line"; fi
}

run_ok ofs ls "$id"
expect_names "$LAST_OUT" "ls"
run_ok ofs list
no_raw "$LAST_OUT" "list"
grep -qF 'desc\x1b[31mred' "$LAST_OUT" || fail "list: description not shown escaped"
r=$SCRATCH/restore
run_ok ofs restore --latest --dry-run --target "$r"
expect_names "$LAST_OUT" "restore --dry-run"
run_ok ofs -v restore --latest --target "$r"
no_raw "$LAST_OUT" "restore -v"
no_raw "$LAST_ERR" "restore -v (stderr)"
for n in "$esc" "$c1" "$nl" "$latin"; do
    cmp -s "$src/dir/$n" "$r$src/dir/$n" || fail "restore did not give back the exact name $(printf %q "$n")"
done

# --json: exact bytes (JSON escapes for control characters, path_hex for what is not UTF-8)
run_ok ofs --json ls "$id"
python3 - "$LAST_OUT" "$src" << 'PY' || fail "ls --json does not keep the exact names"
import json, sys
doc = json.load(open(sys.argv[1]))
rel = sys.argv[2].lstrip("/")
names = set()
for e in doc["entries"]:
    if "path" in e:
        names.add(e["path"].encode("utf-8"))
    else:
        names.add(bytes.fromhex(e["path_hex"]))
for want in [b"evil\x1b[2J\x1b]0;pwned\x07.txt", b"c1\xc2\x9b31m.txt", b"two\nlines.txt",
             b"caf\xe9.txt", b"plain.txt"]:
    assert (rel.encode() + b"/dir/" + want) in names, want
PY
grep -q $'\e' "$LAST_OUT" && fail "ls --json printed a raw ESC"
run_ok ofs --json list
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["backups"][0]["description"] == "desc\x1b[31mred", d' "$LAST_OUT" ||
    fail "list --json does not keep the exact description"
run_ok ofs --json restore --latest --dry-run --target "$SCRATCH/other"
python3 - "$LAST_OUT" << 'PY' || fail "restore --dry-run --json does not keep the exact names"
import json, sys
doc = json.load(open(sys.argv[1]))
names = [e.get("path", "").encode() or bytes.fromhex(e["path_hex"]) for e in doc["entries"]]
assert any(n.endswith(b"/dir/caf\xe9.txt") for n in names), names
assert any(n.endswith(b"/dir/two\nlines.txt") for n in names), names
PY

# an error naming a hostile file: escaped on stderr too (a directory in the file's way)
rm "$r$src/dir/$esc"
mkdir "$r$src/dir/$esc"
run_fails nonzero "*directory is in the way*" ofs restore --latest --target "$r"
no_raw "$LAST_ERR" "a failed restore's error"
grep -qF 'evil\x1b[2J' "$LAST_ERR" || fail "the error does not name the file escaped"
echo "PASS: $CASE_NAME"
