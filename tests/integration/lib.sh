# shellcheck shell=bash
# lib.sh - sourced by every integration case (tests/integration/cases/<group>/NAME.sh).
#
# Gives each case: strict mode; a scratch directory $SCRATCH removed on exit (set OFS_KEEP=1 to
# keep it), also stopping every server PID registered with register_pid; $OFFSITE_BIN (set by
# ctest, else $OFS_BUILD_DIR/offsite, else build/offsite); and helpers:
#   ofs ARGS...                    run offsite with the case's config ($CONFIG)
#   run_ok CMD...                  run CMD; fail the case (showing its output) unless it exits 0
#   run_fails EXIT GLOB CMD...     run CMD; fail unless it exits EXIT ("1", "3|4|5", or "nonzero")
#                                  and its stderr matches the bash glob GLOB (the zstd
#                                  cli-tests .exit/.stderr.glob model)
#                                  both leave $LAST_RC, $LAST_OUT, $LAST_ERR (files) behind
#   make_config FILE SOURCE [TARGET...]   INI with state/staging/key under $SCRATCH, one set
#                                  "data" over SOURCE (volume_size $OFS_VOLUME_SIZE, 256K), and a
#                                  file target per name under $SCRATCH/targets/NAME
#   make_tree DIR                  the standard awkward source tree (see the function)
#   compare_trees A B [OPTS]       content, type, mode, mtime (ns), symlink targets, hard links,
#                                  xattrs, sparseness; fails listing every difference
#   latest_id STORE_ROOT           id of the newest committed backup in a store directory
#   backup_dir STORE_ROOT ID       the data/<class>/<id> directory of a backup
#   catalog_json STORE_ROOT ID     the backup's catalog as JSON lines (decrypted by ofs_format.py)
#   skip "reason"                  exit 77 (ctest SKIP)
#   fail "message"                 exit 1
set -euo pipefail
shopt -s extglob

OFS_SOURCE_DIR=${OFS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
OFS_BUILD_DIR=${OFS_BUILD_DIR:-$OFS_SOURCE_DIR/build}
OFFSITE_BIN=${OFFSITE_BIN:-$OFS_BUILD_DIR/offsite}
export TOOLS=$OFS_SOURCE_DIR/tests/integration/tools
OFS_FORMAT=$TOOLS/ofs_format.py
OFS_VOLUME_SIZE=${OFS_VOLUME_SIZE:-256K}
CASE_NAME=$(basename "$(dirname "$0")")/$(basename "$0" .sh)
export LC_ALL=C.UTF-8 TZ=UTC

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/ofs-it.XXXXXX")
CONFIG=$SCRATCH/offsite.ini
LAST_OUT=$SCRATCH/last.out
LAST_ERR=$SCRATCH/last.err
LAST_RC=0
_OFS_PIDS=()

register_pid() { _OFS_PIDS+=("$1"); }

_ofs_cleanup() {
    local rc=$? pid
    for pid in "${_OFS_PIDS[@]+"${_OFS_PIDS[@]}"}"; do
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    if [ "${OFS_KEEP:-0}" = 1 ]; then
        echo "# $CASE_NAME: kept $SCRATCH" >&2
    else
        # restored trees may hold read-only directories
        chmod -R u+rwx "$SCRATCH" 2> /dev/null || true
        rm -rf "$SCRATCH"
    fi
    exit "$rc"
}
trap _ofs_cleanup EXIT

skip() { echo "SKIP: $CASE_NAME: $*"; exit 77; }
fail() { echo "FAIL: $CASE_NAME: $*" >&2; exit 1; }
note() { echo "# $*"; }

[ -x "$OFFSITE_BIN" ] || fail "offsite binary '$OFFSITE_BIN' not found (build it, or set OFFSITE_BIN)"

ofs() { "$OFFSITE_BIN" -c "$CONFIG" "$@"; }

_show_last() {
    echo "--- stdout:" >&2; head -c 4000 "$LAST_OUT" >&2
    echo "--- stderr:" >&2; head -c 4000 "$LAST_ERR" >&2
    echo "---" >&2
}

# run_ok CMD...
run_ok() {
    LAST_RC=0
    "$@" > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
    if [ "$LAST_RC" -ne 0 ]; then
        echo "FAIL: $CASE_NAME: '$*' exited $LAST_RC, expected 0" >&2
        _show_last
        exit 1
    fi
}

# _exit_matches RC SPEC: SPEC is "nonzero", a number, or numbers separated by '|'
_exit_matches() {
    local rc=$1 spec=$2 want
    if [ "$spec" = nonzero ]; then
        # non-zero, and not a crash (signal) or a sanitizer abort
        [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]
        return
    fi
    IFS='|' read -ra wants <<< "$spec"
    for want in "${wants[@]}"; do [ "$rc" -eq "$want" ] && return 0; done
    return 1
}

# run_fails EXPECTED_EXIT STDERR_GLOB CMD...
run_fails() {
    local want=$1 glob=$2; shift 2
    LAST_RC=0
    "$@" > "$LAST_OUT" 2> "$LAST_ERR" || LAST_RC=$?
    if ! _exit_matches "$LAST_RC" "$want"; then
        echo "FAIL: $CASE_NAME: '$*' exited $LAST_RC, expected $want" >&2
        _show_last
        exit 1
    fi
    local err
    err=$(cat "$LAST_ERR")
    # shellcheck disable=SC2053 # the glob is meant to match
    if [[ $err != $glob ]]; then
        echo "FAIL: $CASE_NAME: '$*': stderr does not match the glob '$glob'" >&2
        _show_last
        exit 1
    fi
}

# expect_glob FILE GLOB WHAT: fail unless FILE's content matches GLOB
expect_glob() {
    local text
    text=$(cat "$1")
    # shellcheck disable=SC2053
    [[ $text == $2 ]] || { echo "--- $3:" >&2; head -c 4000 "$1" >&2; fail "$3 does not match '$2'"; }
}

# make_config FILE SOURCE [TARGET...]
make_config() {
    local file=$1 src=$2 t; shift 2
    mkdir -p "$SCRATCH/key"
    chmod 700 "$SCRATCH/key"
    {
        echo "[agent]"
        echo "state_dir = $SCRATCH/state"
        echo "staging_dir = $SCRATCH/staging"
        echo "key_file = $SCRATCH/key/offsite.key"
        echo "host = testhost"
        echo "parallel = 2"
        echo
        echo "[set data]"
        echo "paths = $src"
        echo "volume_size = $OFS_VOLUME_SIZE"
        echo "compression_level = 3"
        for t in "$@"; do
            echo
            echo "[target $t]"
            echo "type = file"
            echo "path = $SCRATCH/targets/$t"
        done
    } > "$file"
}

# make_tree DIR: regular files of several sizes (one larger than the volume size), an empty
# file, a sparse 10 MiB file, names with spaces and UTF-8, a path over 255 bytes with a
# 210-byte component, relative/absolute/dangling symlinks, hard links, a fifo, modes 0600,
# 0750, 0644, nanosecond mtimes, a user xattr (XATTRS=0 when the file system refuses them),
# an empty directory. Sets TREE_FILES to the list of regular files (relative paths).
make_tree() {
    local d=$1
    mkdir -p "$d"
    (
        cd "$d"
        mkdir -p files "names with spaces" "日本語" empty-dir private nested/deeper/deepest
        head -c 1 /dev/urandom > files/one-byte
        printf 'hello, offsite\n' > files/small.txt
        head -c 1000 /dev/urandom > files/k1.bin
        head -c 100000 /dev/urandom > files/k100.bin
        head -c 300000 /dev/urandom > files/k300.bin      # larger than a 256K volume
        head -c 1200000 /dev/urandom > files/m1.bin       # spans several volume sizes
        python3 -c 'import sys; sys.stdout.write("".join("line %06d: offsite test data\n" % i for i in range(40000)))' > files/text.log
        : > files/empty
        truncate -s 10M files/sparse.img
        printf 'in the middle' | dd of=files/sparse.img bs=1 seek=5000000 conv=notrunc status=none
        printf 'accents\n' > "names with spaces/résumé café.txt"
        printf 'kanji\n' > "日本語/日本語.txt"
        local long_a long_b long_c
        long_a=$(printf 'a%.0s' $(seq 100))
        long_b=$(printf 'b%.0s' $(seq 100))
        long_c=$(printf 'c%.0s' $(seq 210))
        mkdir -p "nested/$long_a/$long_b"
        printf 'long path\n' > "nested/$long_a/$long_b/$long_c.txt"
        printf 'deep\n' > nested/deeper/deepest/file
        ln -s ../files/small.txt nested/link-relative
        ln -s "$(pwd)/files/small.txt" nested/link-absolute
        ln -s does/not/exist nested/link-dangling
        printf 'linked\n' > files/hard-a
        ln files/hard-a files/hard-b
        ln files/hard-a "names with spaces/hard c"
        mkfifo nested/fifo
        printf 'secret\n' > private/secret.txt
        chmod 600 private/secret.txt
        printf '#!/bin/sh\necho tool\n' > files/tool.sh
        chmod 750 files/tool.sh
        chmod 644 files/small.txt
        chmod 750 private
        # as root, owners other than ours must come back too (compare_trees checks uid:gid)
        if [ "$(id -u)" -eq 0 ]; then
            chown 65534:65534 files/k1.bin private
            chown -h 65534:65534 nested/link-relative
        fi
        XATTRS=1
        setfattr -n user.offsite -v value files/small.txt 2> /dev/null || XATTRS=0
        echo "$XATTRS" > "$SCRATCH/.xattrs"
        # nanosecond mtimes, files first, then symlinks, then directories bottom-up
        find . -mindepth 1 ! -type d ! -type l -exec touch -d "2024-03-15 21:00:00.123456789" {} +
        touch -d "2023-12-31 23:59:59.987654321" files/k300.bin
        find . -mindepth 1 -type l -exec touch -h -d "2024-03-15 21:00:01.5" {} +
        find . -depth -mindepth 1 -type d -exec touch -d "2024-03-14 08:30:00.000000042" {} +
        touch -d "2024-03-14 08:30:00.000000042" .
    )
    XATTRS=$(cat "$SCRATCH/.xattrs")
    [ "$XATTRS" = 1 ] || note "the file system refuses user xattrs: xattr checks skipped"
}

# compare_trees A B [--no-xattrs] [--ignore GLOB]...
compare_trees() {
    local a=$1 b=$2; shift 2
    local -a opts=("$@")
    [ "${XATTRS:-1}" = 1 ] || opts+=(--no-xattrs)
    python3 "$TOOLS/compare_trees.py" "${opts[@]+"${opts[@]}"}" "$a" "$b" ||
        fail "restored tree $b differs from $a (list above)"
}

# latest_id STORE_ROOT: the committed backup (one with backup.json) with the newest record
latest_id() {
    python3 - "$1" << 'PY'
import glob, json, os, re, sys
recs = []
for p in glob.glob(os.path.join(sys.argv[1], "data", "*", "*", "backup.json")):
    with open(p) as f:
        r = json.load(f)
    # several backups in one second: SET_STAMP, SET_STAMP_2, ..., SET_STAMP_10 in that order
    m = re.search(r"_\d{8}_\d{6}_(\d+)$", r["id"])
    recs.append((r.get("finished", ""), r.get("started", ""), int(m.group(1)) if m else 1, r["id"]))
if not recs:
    sys.exit("no committed backup under " + sys.argv[1])
print(sorted(recs)[-1][3])
PY
}

# backup_dir STORE_ROOT ID
backup_dir() {
    local d
    for d in "$1"/data/*/"$2"; do
        [ -d "$d" ] && { echo "$d"; return 0; }
    done
    fail "no directory for backup '$2' under $1/data"
}

# count_records STORE_ROOT: number of committed backups
count_records() {
    find "$1/data" -name backup.json 2> /dev/null | wc -l
}

# catalog_json STORE_ROOT ID [KEYFILE]: the decrypted catalog (JSON lines), read with the
# independent Python decoder so a test does not trust the code it tests
catalog_json() {
    local dir
    dir=$(backup_dir "$1" "$2")
    python3 "$OFS_FORMAT" decrypt --key "${3:-$SCRATCH/key/offsite.key}" --name "$2/catalog" \
        < "$dir/catalog.ofs" | zstd -d -q -c
}

# catalog_paths STORE_ROOT ID [VOL...]: paths of the regular files (in volumes VOL... if given)
catalog_paths() {
    local store=$1 id=$2; shift 2
    catalog_json "$store" "$id" | python3 -c '
import json, sys
vols = {int(v) for v in sys.argv[1:]}
for line in sys.stdin:
    e = json.loads(line)
    if e.get("type") == "file" and "path" in e and (not vols or e.get("vol") in vols):
        print(e["path"])' "$@"
}
