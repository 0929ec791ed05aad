#!/usr/bin/env python3
"""make_backup.py - write a backup into a store directory by hand, from docs/format.md alone.

    make_backup.py --key KEYFILE --store DIR --id ID --entries SPEC.json [--manifest-add]

Used to build backups offsite itself would never write (hostile tar entries, odd catalogs) so
tests can check how restore treats them. SPEC.json is a list of tar entries, in order:
    {"name": "ok.txt", "type": "file", "data": "text"}
    {"name": "link", "type": "symlink", "target": "/somewhere"}
    {"name": "dir", "type": "dir"}
Each becomes one entry of a pax tar (Python tarfile), compressed with the zstd program (one
frame, content checksum), sealed with ofs_format.encrypt as "<ID>/vol-0001". The catalog lists
the same entries as JSON lines (sorted in catalog path order), sealed as "<ID>/catalog"; the
record (backup.json) gets the objects' sizes and SHA-256 and a MAC; manifest.json is
rewritten (MAC'd) to list every record under DIR. The set is the id up to its date part.
"""
import argparse
import glob
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ofs_format  # noqa: E402

MTIME = 1710536400


def path_key(p):
    # catalog order: bytes as unsigned, except '/' sorts below every other byte
    return bytes(0 if b == 0x2F else b + 1 for b in p.encode())


def seal(keys, name, plain):
    kid, master = keys[-1]
    out = io.BytesIO()
    ofs_format.encrypt(kid, master, name, 65536, io.BytesIO(plain), out)
    return out.getvalue()


def zstd(data):
    return subprocess.run(["zstd", "-q", "-3", "--check", "-c"], input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--store", required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--entries", required=True)
    ap.add_argument("--class", dest="class_name", default="daily")
    args = ap.parse_args()
    keys = ofs_format.load_keys(args.key)
    kid = keys[-1][0].hex()
    # offsite writes each volume's tar in catalog order; verify checks that order
    entries = sorted(json.load(open(args.entries)), key=lambda e: path_key(e["name"]))
    set_name = args.id.rsplit("_", 2)[0]

    tar_buf = io.BytesIO()
    catalog = []
    total = 0
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.mtime = MTIME
            ti.mode = e.get("mode", 0o644 if e["type"] == "file" else 0o755)
            c = {"path": e["name"], "type": e["type"], "mode": ti.mode, "uid": os.getuid(),
                 "gid": os.getgid(), "mtime": [MTIME, 0], "ctime": [MTIME, 0],
                 "backup": args.id, "vol": 1}
            data = None
            if e["type"] == "file":
                data = e.get("data", "").encode()
                ti.size = len(data)
                c.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
                total += len(data)
            elif e["type"] == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e["target"]
                c["target"] = e["target"]
            elif e["type"] == "dir":
                ti.type = tarfile.DIRTYPE
            c["offset"] = tar_buf.tell()
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
            catalog.append(c)
    catalog.sort(key=lambda c: path_key(c["path"]))
    cat_plain = json.dumps({"format": "offsite-catalog", "version": 1},
                           separators=(",", ":")) + "\n"
    cat_plain += "".join(json.dumps(c, separators=(",", ":"), ensure_ascii=False) + "\n"
                         for c in catalog)

    objects = {
        "vol-0001.ofs": seal(keys, args.id + "/vol-0001", zstd(tar_buf.getvalue())),
        "catalog.ofs": seal(keys, args.id + "/catalog", zstd(cat_plain.encode())),
    }
    d = os.path.join(args.store, "data", args.class_name, args.id)
    os.makedirs(d, exist_ok=True)
    for name, blob in objects.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(blob)
    stamp = "%s-%s-%sT%s:%s:%sZ" % (args.id[-15:-11], args.id[-11:-9], args.id[-9:-7],
                                     args.id[-6:-4], args.id[-4:-2], args.id[-2:])
    rec = {
        "format": "offsite-record", "version": 1, "id": args.id, "set": set_name,
        "kind": "full", "class": args.class_name, "host": "testhost",
        "tool_version": "0.1.0", "started": stamp, "finished": stamp, "key_id": kid,
        "files": len(catalog), "bytes": total,
        "stored_bytes": sum(len(b) for b in objects.values()), "volumes": 1,
        "objects": [{"name": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                    for n, b in objects.items()],
    }
    rec["mac"] = ofs_format.compute_mac(keys, rec)
    with open(os.path.join(d, "backup.json"), "w") as f:
        f.write(json.dumps(rec, indent=2, ensure_ascii=False) + "\n")

    # the manifest: every record in the store
    backups = []
    for p in sorted(glob.glob(os.path.join(args.store, "data", "*", "*", "backup.json"))):
        raw = open(p, "rb").read()
        r = json.loads(raw)
        b = {k: r[k] for k in ("id", "set", "kind", "base", "class", "host", "description",
                               "started", "finished", "files", "bytes", "stored_bytes")
             if k in r}
        b["record_sha256"] = hashlib.sha256(raw).hexdigest()
        backups.append(b)
    backups.sort(key=lambda b: (b["started"], b["id"]))
    man = {"format": "offsite-manifest", "version": 1, "updated": stamp, "key_id": kid,
           "backups": backups}
    man["mac"] = ofs_format.compute_mac(keys, man)
    with open(os.path.join(args.store, "manifest.json"), "w") as f:
        f.write(json.dumps(man, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
