#!/usr/bin/env bash
# run-bench.sh - time offsite against restic, borg, a tar|zstd|openssl pipe and `cp -a` (the
# floor: no compression, encryption or checks) on the shared synthetic trading dataset, with
# /work/shared/bench/peers.sh (every phase ends with a sync inside its timing; each restore
# goes into a freshly made ext4), and print offsite's ratios side by side.
#
# Usage: tests/bench/run-bench.sh [-s SIZE_MIB] [-n RUNS] [-w WORKDIR] [-k]
#   -s SIZE_MIB   dataset size (default 1024); the dataset is generated once and kept in
#                 $OFS_BENCH_DATA (default /var/tmp/offsite-bench-data-SIZE)
#   -n RUNS       passed to peers.sh (default 1)
#   -w WORKDIR    peers.sh scratch directory (must not exist or be empty)
#   -k            keep WORKDIR
#   -t TOOLS      tools (default "offsite restic borg tarpipe copy")
# Environment: OFS_SHARED (default ../shared next to the repository), OFFSITE_BIN (default
# build/offsite, built Release if missing). Run by hand; never by ctest or CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=${OFS_SHARED:-$(cd "$root/.." && pwd)/shared}
size=1024 runs=1 work="" keep=() tools="offsite restic borg tarpipe copy"
while getopts "s:n:w:kt:" o; do
    case $o in
        s) size=$OPTARG ;; n) runs=$OPTARG ;; w) work=$OPTARG ;; k) keep=(-k) ;;
        t) tools=$OPTARG ;;
        *) sed -n '2,15p' "$0" >&2; exit 2 ;;
    esac
done
peers=$shared/bench/peers.sh
gen=$shared/bench/make-dataset.sh
[ -x "$peers" ] && [ -x "$gen" ] || { echo "run-bench: $shared/bench/{peers,make-dataset}.sh not found (set OFS_SHARED)" >&2; exit 2; }

# tools
need=()
command -v restic > /dev/null || need+=(restic)
command -v borg > /dev/null || need+=(borgbackup)
[ -x /usr/bin/time ] || need+=(time)
if [ "${#need[@]}" -gt 0 ]; then
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "run-bench: installing ${need[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" > /dev/null
fi

export OFFSITE_BIN=${OFFSITE_BIN:-$root/build/offsite}
if [ ! -x "$OFFSITE_BIN" ]; then
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release > /dev/null
    cmake --build "$root/build" -j"$(nproc)" --target offsite > /dev/null
fi

data=${OFS_BENCH_DATA:-/var/tmp/offsite-bench-data-$size}
if [ ! -d "$data" ]; then
    echo "run-bench: generating a $size MiB dataset in $data" >&2
    "$gen" "$data" "$size" >&2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "# offsite $(git -C "$root" rev-parse --short HEAD 2>/dev/null) ($OFFSITE_BIN); load $(cut -d' ' -f1-3 /proc/loadavg)"
args=(-p "$here/offsite-plugin.sh" -t "$tools" -n "$runs" "${keep[@]+"${keep[@]}"}")
[ -z "$work" ] || args+=(-w "$work")
rc=0
"$peers" "${args[@]}" "$data" | tee "$out" || rc=$?

python3 - "$out" << 'PY'
import collections, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    tool, phase, sec, rss, repo, user, sys_s, run = line.rstrip("\n").split("\t")
    rows[(tool, phase)].append((float(sec), int(rss), int(repo), float(user) + float(sys_s)))
def med(v):
    v = sorted(v); return v[len(v) // 2]
def get(tool, phase, i):
    r = rows.get((tool, phase))
    return med([x[i] for x in r]) if r else None
tools = sorted({t for t, _ in rows}, key=lambda t: (t != "offsite", t))
print("\n# medians: seconds (CPU seconds) / peak RSS MiB / repository MiB after the phase")
print("| tool | backup1 s | backup2 s | restore s | peak RSS MiB | repo MiB |")
print("|---|---|---|---|---|---|")
for t in tools:
    cells = []
    for ph in ("backup1", "backup2", "restore"):
        s, c = get(t, ph, 0), get(t, ph, 3)
        cells.append("-" if s is None else "%.2f (%.1f)" % (s, c))
    rss = max((get(t, ph, 1) or 0) for ph in ("backup1", "backup2", "restore")) / 1024
    repo = (get(t, "backup2", 2) or 0) / 2**20
    print("| %s | %s | %.0f | %.0f |" % (t, " | ".join(cells), rss, repo))
if ("offsite", "backup1") in rows:
    print("\n# offsite / peer (below 1 = offsite is faster or smaller)")
    print("| peer | backup1 | backup2 | restore | peak RSS | repo bytes |")
    print("|---|---|---|---|---|---|")
    for t in tools:
        if t == "offsite":
            continue
        r = []
        for ph in ("backup1", "backup2", "restore"):
            a, b = get("offsite", ph, 0), get(t, ph, 0)
            r.append("-" if not a or not b else "%.2f" % (a / b))
        ra = max((get("offsite", ph, 1) or 0) for ph in ("backup1", "backup2", "restore"))
        rb = max((get(t, ph, 1) or 0) for ph in ("backup1", "backup2", "restore"))
        r.append("-" if not rb else "%.2f" % (ra / rb))
        a, b = get("offsite", "backup2", 2), get(t, "backup2", 2)
        r.append("-" if not a or not b else "%.2f" % (a / b))
        print("| %s | %s |" % (t, " | ".join(r)))
PY
exit "$rc"
