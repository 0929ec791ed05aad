#!/usr/bin/env bash
# scale-bench.sh - offsite on many small files: a full backup, a nightly differential after
# make-small-files.sh mutate, and a restore of it, each timed with its peak RSS (the aim: at
# most 128 MiB in every phase, and a differential's time growing with the change, not the set).
#
# Usage: tests/bench/scale-bench.sh [-n FILES] [-m MEAN_KIB] [-w WORKDIR] [-k]
#   -n FILES     files in the set (default 1000000: ~10 GiB with the default mean)
#   -m MEAN_KIB  mean file size (default 10)
#   -w WORKDIR   scratch directory on the disk under test (default: a new mktemp -d under
#                /var/tmp); the tree is generated once into $OFS_SCALE_DATA (default
#                /var/tmp/offsite-small-FILES-MEAN) and copied (cp -a) so mutate never
#                touches the kept copy
#   -k           keep WORKDIR
# Each phase ends with `sync` inside its timing. The restore goes into a freshly made ext4
# (a loop-mounted image in WORKDIR) when run as root, as peers.sh does: restoring right after
# deleting a large tree times ext4's recently-deleted inode scan, not the restore.
# OFFSITE_BIN selects the binary (default build/offsite). Run by hand; never by ctest or CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
files=1000000 mean=10 work="" keep=0
while getopts "n:m:w:k" o; do
    case $o in
        n) files=$OPTARG ;; m) mean=$OPTARG ;; w) work=$OPTARG ;; k) keep=1 ;;
        *) sed -n '2,18p' "$0" >&2; exit 2 ;;
    esac
done
bin=${OFFSITE_BIN:-$root/build/offsite}
[ -x "$bin" ] || { echo "scale-bench: no offsite binary at $bin (build first)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "scale-bench: GNU time (/usr/bin/time) is needed" >&2; exit 2; }
data=${OFS_SCALE_DATA:-/var/tmp/offsite-small-$files-$mean}
if [ ! -d "$data" ]; then
    echo "# generating $files files into $data" >&2
    "$here/make-small-files.sh" "$data" "$files" "$mean" >&2
fi
work=${work:-$(mktemp -d /var/tmp/offsite-scale.XXXXXX)}
mkdir -p "$work"
work=$(realpath "$work")
mnt=""
. "$here/fresh-fs.sh"
cleanup() {
    [ -z "$mnt" ] || fresh_fs_umount "$mnt"
    [ "$keep" = 1 ] || rm -rf "${work:?}"
}
trap cleanup EXIT

src=$work/src
cp -a "$data" "$src"
mkdir -p "$work/state" "$work/keydir" && chmod 700 "$work/keydir"
cat > "$work/offsite.ini" << INI
[agent]
state_dir = $work/state
staging_dir = $work/staging
key_file = $work/keydir/offsite.key
host = bench

[set small]
paths = $src
INI
ofs=("$bin" -c "$work/offsite.ini")
"${ofs[@]}" init > /dev/null

# phase NAME COMMAND...: one result line (seconds with the sync, peak RSS, CPU)
phase() {
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f '%M %U %S' -o "$work/time.out" "$@" > "$work/$name.out" 2> "$work/$name.err" ||
        { echo "# $name FAILED:"; tail -5 "$work/$name.err"; exit 1; }
    sync
    t1=$(date +%s.%N)
    read -r rss user sys < "$work/time.out"
    printf '%s\t%.2f\t%d\t%.1f\t%.1f\n' "$name" "$(echo "$t1 - $t0" | bc)" $((rss / 1024)) \
        "$user" "$sys"
}

bytes=$(du -sb --apparent-size "$src" | cut -f1)
echo "# $files files, $bytes bytes (mean $mean KiB); $(nproc) CPUs; $(git -C "$root" rev-parse --short HEAD 2>/dev/null); load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf '# phase\tseconds\tpeak_rss_mib\tuser_s\tsys_s\n'
phase backup_full "${ofs[@]}" backup --no-push
"$here/make-small-files.sh" mutate "$src" 1 | sed 's/^/# /'
phase backup_diff "${ofs[@]}" backup --no-push
grep -o "([a-z]*, [a-z]*)" "$work/backup_diff.out" | sed 's/^/# second backup: /' || true
dest=$work/restore
if fresh_fs "$dest" $((bytes * 3 + (2 << 30))) $((files + files / 4 + 100000)); then
    mnt=$dest
fi
phase restore "${ofs[@]}" restore --latest --target "$dest"
echo "# staging: $(du -sb "$work/staging" | cut -f1) bytes; restore into ${mnt:+a fresh ext4 at }${mnt:-a plain directory}"
echo "# restore: $(grep -o "restored.*" "$work/restore.out")"
