#!/usr/bin/env bash
# make-small-files.sh - a deterministic tree of many small files, for restore's per-file costs
# and the scale run (tests/bench/scale-bench.sh).
#
# Usage:
#   make-small-files.sh [--seed N] OUTDIR FILES [MEAN_KIB]   generate (default mean 10 KiB)
#   make-small-files.sh [--seed N] mutate OUTDIR [PERCENT]     a nightly change: rewrite
#                                                              PERCENT % of the files (default 1)
#
# FILES files in directories of 1000 (d0000/d000/f000123.dat: two levels, so no directory grows
# past 1000 entries), sizes from 0 to 2 x MEAN_KIB (a few empty), contents half random and half
# repeated text so zstd compresses them about 2x as it does real state files. mtimes are fixed,
# so two runs with the same arguments give the same tree. 1M files of 10 KiB mean is ~10 GiB.
# OUTDIR must be new or empty when generating. Needs python3 only.
set -euo pipefail
if [ "$#" -eq 0 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 0
fi
exec python3 - "$@" << 'PY'
import hashlib, os, random, sys

args = sys.argv[1:]
seed = 1
if args and args[0] == "--seed":
    seed = int(args[1]); args = args[2:]
mode = "gen"
if args and args[0] == "mutate":
    mode = "mutate"; args = args[1:]
if not args:
    sys.exit("make-small-files: missing OUTDIR (see --help)")
out = args[0]
EPOCH = 1710536400
POOL = hashlib.shake_256(b"offsite-small-files:%d" % seed).digest(1 << 20)
TEXT = (b"2024-03-15T21:00:00.000Z INFO order filled sym=AAPL qty=100 px=172.31 venue=XNAS\n"
        * 64)

def content(r, size):
    half = size // 2
    at = int(r.random() * (len(POOL) - half))
    body = POOL[at:at + half] + TEXT * (1 + (size - half) // len(TEXT))
    return body[:size]

def path_of(i):
    return os.path.join(out, "d%04d" % (i // 1000000), "d%03d" % (i // 1000 % 1000),
                        "f%06d.dat" % i)

def write(i, r, mean, mtime):
    size = 0 if r.random() < 0.01 else int(r.random() * 2 * mean)
    p = path_of(i)
    with open(p, "wb") as f:
        f.write(content(r, size))
    os.utime(p, (mtime, mtime))
    return size

if mode == "gen":
    files = int(args[1])
    mean = int(float(args[2]) * 1024) if len(args) > 2 else 10 * 1024
    if os.path.exists(out) and os.listdir(out):
        sys.exit("make-small-files: %s is not empty" % out)
    r = random.Random(seed)
    total = 0
    for i in range(files):
        if i % 1000 == 0:
            os.makedirs(os.path.dirname(path_of(i)), exist_ok=True)
        total += write(i, r, mean, EPOCH - 86400)
    for dirpath, dirs, _ in os.walk(out, topdown=False):
        os.utime(dirpath, (EPOCH, EPOCH))
    print("make-small-files: %d files, %d bytes in %s" % (files, total, out))
else:
    percent = float(args[1]) if len(args) > 1 else 1.0
    paths = sorted(os.path.join(d, n) for d, _, names in os.walk(out) for n in names)
    r = random.Random(seed * 7919 + len(paths))
    changed = 0
    for p in paths:
        if r.random() * 100 < percent:
            i = int(os.path.basename(p)[1:-4])
            write(i, r, max(os.path.getsize(p), 1024), EPOCH + 3600)
            changed += 1
    print("make-small-files: mutate rewrote %d of %d files" % (changed, len(paths)))
PY
