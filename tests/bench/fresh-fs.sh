# fresh-fs.sh - sourced by the benchmarks that restore: an empty ext4 for each timed restore,
# as /work/shared/bench/peers.sh makes one. Files created where many were just deleted are slow
# on ext4 (inodes freed in the last minute are skipped while allocating), which would time the
# file system's state, not the tool.
#
# fresh_fs DIR SIZE [INODES]: make DIR and, when root with mkfs.ext4 at hand, mount a freshly
#   made ext4 of SIZE bytes (INODES inodes if given; the image is DIR.img) on it. Returns 0 when
#   mounted, 1 when DIR stays a plain directory; exits when a mount was possible and failed.
# fresh_fs_umount DIR: unmount DIR if fresh_fs mounted it (DIR.img stays).

fresh_fs() {
    local dir=$1 size=$2 inodes=${3:-}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && command -v mkfs.ext4 > /dev/null || return 1
    truncate -s "$size" "$dir.img" &&
        mkfs.ext4 -q -F ${inodes:+-N "$inodes"} "$dir.img" && mount -o loop "$dir.img" "$dir" ||
        { echo "cannot mount a fresh ext4 at $dir" >&2; exit 1; }
}

fresh_fs_umount() {
    if mountpoint -q "$1" 2> /dev/null; then umount "$1"; fi
}
