#!/usr/bin/env python3
"""compare_trees.py - compare two directory trees the way a restore must reproduce them.

    compare_trees.py [--no-xattrs] [--ignore GLOB]... A B

Checks every entry below A and B (the roots' own metadata included): presence, type, permission
bits, owner, mtime to the nanosecond (files, directories, symlinks), content (SHA-256) and size,
symlink targets, hard-link identity (the same groups of paths share an inode), user xattrs, and
sparseness (a file that is mostly holes in A must be mostly holes in B). Prints one line per
difference and exits 1 if there is any, 0 otherwise. --ignore drops relative paths matching GLOB
(fnmatch) from both sides.
"""
import argparse
import fnmatch
import hashlib
import os
import stat
import sys

TYPES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink",
         stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket", stat.S_IFCHR: "chardev",
         stat.S_IFBLK: "blockdev"}


def walk(root, ignore):
    """{relative path (bytes): lstat} for root ('.') and everything below it."""
    entries = {}
    root_b = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(root_b, followlinks=False):
        for name in [b""] if dirpath == root_b else []:
            entries[b"."] = os.lstat(dirpath)
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root_b)
            if any(fnmatch.fnmatch(os.fsdecode(rel), g) for g in ignore):
                continue
            entries[rel] = os.lstat(full)
    return entries


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_sparse(st):
    return st.st_size >= (1 << 20) and st.st_blocks * 512 * 2 < st.st_size


def xattrs(path):
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for n in names:
        if n.startswith("user."):
            out[n] = os.getxattr(path, n, follow_symlinks=False)
    return out


def link_groups(root, entries):
    """Partition of regular files with st_nlink > 1 into groups sharing an inode."""
    by_inode = {}
    for rel, st in entries.items():
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            by_inode.setdefault((st.st_dev, st.st_ino), set()).add(rel)
    return {frozenset(g) for g in by_inode.values() if len(g) > 1}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-xattrs", action="store_true")
    ap.add_argument("--ignore", action="append", default=[])
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args()
    ea, eb = walk(args.a, args.ignore), walk(args.b, args.ignore)
    diffs = []

    def d(rel, msg):
        diffs.append("%s: %s" % (os.fsdecode(rel), msg))

    for rel in sorted(set(ea) - set(eb)):
        d(rel, "missing in B")
    for rel in sorted(set(eb) - set(ea)):
        d(rel, "only in B")
    for rel in sorted(set(ea) & set(eb)):
        sa, sb = ea[rel], eb[rel]
        pa = os.path.join(os.fsencode(args.a), rel)
        pb = os.path.join(os.fsencode(args.b), rel)
        ta, tb = TYPES.get(stat.S_IFMT(sa.st_mode)), TYPES.get(stat.S_IFMT(sb.st_mode))
        if ta != tb:
            d(rel, "type %s vs %s" % (ta, tb))
            continue
        if ta != "symlink" and stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
            d(rel, "mode %04o vs %04o" % (stat.S_IMODE(sa.st_mode), stat.S_IMODE(sb.st_mode)))
        if (sa.st_uid, sa.st_gid) != (sb.st_uid, sb.st_gid):
            d(rel, "owner %d:%d vs %d:%d" % (sa.st_uid, sa.st_gid, sb.st_uid, sb.st_gid))
        if sa.st_mtime_ns != sb.st_mtime_ns:
            d(rel, "mtime %d.%09d vs %d.%09d" % (sa.st_mtime_ns // 10**9, sa.st_mtime_ns % 10**9,
                                                 sb.st_mtime_ns // 10**9, sb.st_mtime_ns % 10**9))
        if ta == "file":
            if sa.st_size != sb.st_size:
                d(rel, "size %d vs %d" % (sa.st_size, sb.st_size))
            elif digest(pa) != digest(pb):
                d(rel, "content differs")
            if is_sparse(sa) and not is_sparse(sb):
                d(rel, "sparse in A (%d of %d bytes allocated), not in B (%d allocated)"
                  % (sa.st_blocks * 512, sa.st_size, sb.st_blocks * 512))
        elif ta == "symlink":
            la, lb = os.readlink(pa), os.readlink(pb)
            if la != lb:
                d(rel, "symlink target %r vs %r" % (la, lb))
        if not args.no_xattrs and ta in ("file", "dir"):
            xa, xb = xattrs(pa), xattrs(pb)
            if xa != xb:
                d(rel, "xattrs %r vs %r" % (xa, xb))
    ga, gb = link_groups(args.a, ea), link_groups(args.b, eb)
    for g in sorted(ga - gb, key=sorted):
        diffs.append("hard links: %s share an inode in A, not in B"
                     % ", ".join(os.fsdecode(p) for p in sorted(g)))
    for g in sorted(gb - ga, key=sorted):
        diffs.append("hard links: %s share an inode in B, not in A"
                     % ", ".join(os.fsdecode(p) for p in sorted(g)))
    for line in diffs:
        print("DIFF " + line)
    if diffs:
        print("compare_trees: %d difference(s) between %s and %s" % (len(diffs), args.a, args.b))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
