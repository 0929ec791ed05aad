#!/usr/bin/env python3
"""ofs_format.py - an independent implementation of docs/format.md (offsite formats, v1).

Written from the specification, not from the C code, with Python 3 and python3-cryptography
only. It proves that the specification is enough to read and write offsite data:

    ofs_format.py decrypt   --key KEYFILE [--name NAME]              < object.ofs > plain
    ofs_format.py encrypt   --key KEYFILE --name NAME [--segment-size N] < plain > object.ofs
    ofs_format.py mac       --key KEYFILE                           < record.json > record.json
    ofs_format.py check-mac --key KEYFILE                           < record.json
    ofs_format.py key-id    --key KEYFILE                           (ids, oldest first)
    ofs_format.py restore   --key KEYFILE --store DIR --id ID --target DIR
                            (a full or differential backup from a store directory, by
                            sections 5 to 7 alone; needs the zstd program)

Exit status: 0 success, 1 authentication failure / wrong object / MAC mismatch / bad data,
2 usage. Messages go to stderr.
"""
import argparse
import glob
import hashlib
import hmac
import io
import json
import os
import re
import subprocess
import sys
import tarfile

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"OFS1"
VERSION = 1
HEADER_FIXED = 48
TAG = 16
NAME_MAX = 1024
AUTH_FAILED = "authentication failed (wrong key or corrupted data)"


class FormatError(Exception):
    """A failure reported as 'ofs_format: MESSAGE' with exit status 1."""


def hkdf(ikm, salt, info, length):
    # Section 1: HKDF-SHA256; salt None = absent (RFC 5869: HashLen zero bytes).
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def key_id_of(key):
    return hkdf(key, None, b"offsite v1 key id", 8)


def load_keys(path):
    """Section 3: returns [(id, key)] oldest first."""
    keys = []
    with open(path, "r", encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            fields = stripped.split()
            if len(fields) != 5 or fields[0] != "offsite-key" or fields[1] != "v1":
                raise FormatError("%s:%d: not a key line" % (path, number))
            if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields[3]):
                raise FormatError("%s:%d: bad creation time" % (path, number))
            try:
                kid = bytes.fromhex(fields[2])
                key = bytes.fromhex(fields[4])
            except ValueError:
                raise FormatError("%s:%d: bad hex" % (path, number))
            if len(kid) != 8 or len(key) != 32:
                raise FormatError("%s:%d: bad key or key id length" % (path, number))
            if key_id_of(key) != kid:
                raise FormatError("%s:%d: key id does not match the key" % (path, number))
            if any(k == kid for k, _ in keys):
                raise FormatError("%s:%d: duplicate key" % (path, number))
            keys.append((kid, key))
    if not keys:
        raise FormatError("%s: no key" % path)
    return keys


def read_exact(stream, n):
    """Reads up to n bytes, fewer only at end of input."""
    chunks = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def nonce(index, final):
    # Section 2.3: 11-byte big-endian segment index || final flag.
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def decrypt(keys, expected_name, src, dst):
    fixed = read_exact(src, HEADER_FIXED)
    if len(fixed) < 4 or fixed[:4] != MAGIC:
        raise FormatError("not an offsite object")
    if len(fixed) < HEADER_FIXED:
        raise FormatError(AUTH_FAILED)
    if fixed[4] != VERSION:
        raise FormatError("unsupported format version %d" % fixed[4])
    log2 = fixed[5]
    if not 10 <= log2 <= 24:
        raise FormatError("segment size 2^%d out of range" % log2)
    name_len = int.from_bytes(fixed[6:8], "big")
    if name_len > NAME_MAX:
        raise FormatError("name length %d out of range" % name_len)
    name_bytes = read_exact(src, name_len)
    if len(name_bytes) < name_len:
        raise FormatError(AUTH_FAILED)
    header = fixed + name_bytes
    kid, salt = fixed[8:16], fixed[16:48]
    master = dict(keys).get(kid)
    if master is None:
        raise FormatError("sealed with key %s, which the key file does not hold" % kid.hex())
    name = name_bytes.decode("utf-8", errors="replace")
    if expected_name is not None and name != expected_name:
        raise FormatError("object is '%s', expected '%s'" % (name, expected_name))
    aead = AESGCM(hkdf(master, salt, b"offsite v1 data", 32))
    segment = 1 << log2
    full = segment + TAG
    pending = b""
    index = 0
    while True:
        # Section 2.4: one byte of look-ahead tells whether this segment is the last.
        pending += read_exact(src, full + 1 - len(pending))
        final = len(pending) <= full
        sealed = pending if final else pending[:full]
        if len(sealed) < TAG:
            raise FormatError(AUTH_FAILED)
        try:
            plain = aead.decrypt(nonce(index, final), sealed, header)
        except InvalidTag:
            raise FormatError(AUTH_FAILED)
        dst.write(plain)
        if final:
            break
        pending = pending[full:]
        index += 1
    dst.flush()


def encrypt(key_id, master, name, segment, src, dst):
    if segment & (segment - 1) or not 1 << 10 <= segment <= 1 << 24:
        raise FormatError("segment size must be a power of two between 1 KiB and 16 MiB")
    name_bytes = name.encode("utf-8")
    if len(name_bytes) > NAME_MAX or b"\x00" in name_bytes:
        raise FormatError("bad object name")
    salt = os.urandom(32)
    header = (MAGIC + bytes([VERSION, segment.bit_length() - 1]) +
              len(name_bytes).to_bytes(2, "big") + key_id + salt + name_bytes)
    aead = AESGCM(hkdf(master, salt, b"offsite v1 data", 32))
    dst.write(header)
    # Keep one segment back: only when more data follows is a full segment non-final.
    current = read_exact(src, segment)
    index = 0
    while True:
        following = read_exact(src, segment)
        final = not following
        dst.write(aead.encrypt(nonce(index, final), current, header))
        if final:
            break
        current = following
        index += 1
    dst.flush()


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


def canonical(obj):
    """Section 6.1: sorted keys, no whitespace, UTF-8, \\u00XX escapes upper-cased."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = _ESCAPE.sub(lambda m: "\\" + (m.group(1).upper().replace("U", "u", 1)
                                         if m.group(1).startswith("u") else m.group(1)), text)
    return text.encode("utf-8")


def compute_mac(keys, obj):
    kid_hex = obj.get("key_id")
    if not isinstance(kid_hex, str):
        raise FormatError("no key_id member")
    master = dict(keys).get(bytes.fromhex(kid_hex)) if re.fullmatch(r"[0-9a-f]{16}", kid_hex) \
        else None
    if master is None:
        raise FormatError("key %s is not in the key file" % kid_hex)
    body = {k: v for k, v in obj.items() if k != "mac"}
    mac_key = hkdf(master, None, b"offsite v1 mac", 32)
    return hmac.new(mac_key, canonical(body), "sha256").hexdigest()


# ---- restore (sections 5 to 7) ----

def load_record(keys, store, backup_id):
    paths = glob.glob(os.path.join(store, "data", "*", backup_id, "backup.json"))
    if len(paths) != 1:
        raise FormatError("backup '%s' is not in %s" % (backup_id, store))
    with open(paths[0], "rb") as f:
        rec = json.loads(f.read().decode("utf-8"))
    if not hmac.compare_digest(str(rec.get("mac", "")).encode(),
                               compute_mac(keys, rec).encode()):
        raise FormatError("%s: record MAC mismatch" % backup_id)
    return rec, os.path.dirname(paths[0])


def open_plain(keys, folder, backup_id, name):
    """The plaintext of <folder>/<name>.ofs: decrypted (name checked), then zstd -d."""
    sealed, plain = io.BytesIO(), io.BytesIO()
    with open(os.path.join(folder, name + ".ofs"), "rb") as f:
        decrypt(keys, "%s/%s" % (backup_id, name), f, sealed)
    out = subprocess.run(["zstd", "-d", "-q", "-c"], input=sealed.getvalue(),
                         stdout=subprocess.PIPE, check=True).stdout
    plain.write(out)
    plain.seek(0)
    return plain


def restore(keys, store, backup_id, target):
    rec, folder = load_record(keys, store, backup_id)
    folders = {backup_id: folder}
    if rec["kind"] == "diff":
        base, folders[rec["base"]] = load_record(keys, store, rec["base"])
        if base.get("kind") != "full" or base.get("set") != rec.get("set"):
            raise FormatError("base '%s' is not a full of set '%s'" % (rec["base"], rec["set"]))
    lines = open_plain(keys, folder, backup_id, "catalog").read().decode("utf-8").splitlines()
    if json.loads(lines[0]) != {"format": "offsite-catalog", "version": 1}:
        raise FormatError("not an offsite catalog")
    entries = [json.loads(line) for line in lines[1:]]
    # which tar entries of which volume: (backup, vol) -> {name: (size, sha256)}
    wanted = {}
    for e in entries:
        if "vol" not in e:
            continue
        if e.get("backup") not in folders:
            raise FormatError("'%s' points at a third backup '%s'" % (e["path"], e.get("backup")))
        name, size, digest = e["path"], e.get("size", 0), e.get("sha256")
        if "base_size" in e:
            wanted.setdefault((e["base_backup"], e["base_vol"]), {})[e["path"]] = (
                e["base_size"], e["base_sha256"])
            name, size, digest = e["path"] + ".offsite-tail", e["size"] - e["base_size"], \
                e["tail_sha256"]
        wanted.setdefault((e["backup"], e["vol"]), {})[name] = (size, digest)
    data = {}
    for (bid, vol), names in sorted(wanted.items()):
        with tarfile.open(fileobj=open_plain(keys, folders[bid], bid, "vol-%04d" % vol)) as t:
            for m in t:
                want = names.get(m.name.rstrip("/"))
                if want is None or not m.isfile():
                    continue
                content = t.extractfile(m).read()
                if len(content) != want[0] or hashlib.sha256(content).hexdigest() != want[1]:
                    raise FormatError("%s vol %d: '%s' does not match the catalog"
                                      % (bid, vol, m.name))
                data[(bid, vol, m.name)] = content
    links, dirs = [], []
    for e in entries:
        path = os.path.join(target, e["path"])
        kind = e["type"]
        if kind == "dir":
            os.makedirs(path, exist_ok=True)
            dirs.append((path, e))
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if kind == "file":
            if "base_size" in e:
                content = data[(e["base_backup"], e["base_vol"], e["path"])] + \
                    data[(e["backup"], e["vol"], e["path"] + ".offsite-tail")]
            else:
                content = data.get((e.get("backup"), e.get("vol"), e["path"]), b"")
            if hashlib.sha256(content).hexdigest() != e["sha256"]:
                raise FormatError("'%s': SHA-256 mismatch" % e["path"])
            write_sparse(path, content)
        elif kind == "symlink":
            os.symlink(e["target"], path)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "hardlink":
            links.append((path, e))
            continue
        set_metadata(path, e)
    for path, e in links:
        os.link(os.path.join(target, e["target"]), path)
    for path, e in reversed(dirs):
        set_metadata(path, e)


def write_sparse(path, content, block=4096):
    """Writes content skipping all-zero 4 KiB blocks (holes), then sets the size."""
    zero = bytes(block)
    with open(path, "wb") as f:
        for at in range(0, len(content), block):
            chunk = content[at:at + block]
            if chunk != zero[:len(chunk)]:
                f.seek(at)
                f.write(chunk)
        f.truncate(len(content))


def set_metadata(path, e):
    if os.geteuid() == 0:
        os.chown(path, e.get("uid", 0), e.get("gid", 0), follow_symlinks=False)
    if e["type"] != "symlink":
        os.chmod(path, e.get("mode", 0o644))
    sec, nsec = e.get("mtime", [0, 0])
    ns = sec * 1000000000 + nsec
    os.utime(path, ns=(ns, ns), follow_symlinks=False)


def main(argv):
    parser = argparse.ArgumentParser(prog="ofs_format.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("decrypt", "encrypt", "mac", "check-mac", "key-id", "restore"):
        p = sub.add_parser(command)
        p.add_argument("--key", required=True, help="key file")
        if command == "restore":
            p.add_argument("--store", required=True)
            p.add_argument("--id", required=True)
            p.add_argument("--target", required=True)
        if command in ("decrypt", "encrypt"):
            p.add_argument("--name", required=(command == "encrypt"))
        if command == "encrypt":
            p.add_argument("--segment-size", type=int, default=65536)
    args = parser.parse_args(argv)
    try:
        keys = load_keys(args.key)
        if args.command == "decrypt":
            decrypt(keys, args.name, sys.stdin.buffer, sys.stdout.buffer)
        elif args.command == "encrypt":
            kid, master = keys[-1]
            encrypt(kid, master, args.name, args.segment_size, sys.stdin.buffer,
                    sys.stdout.buffer)
        elif args.command == "restore":
            restore(keys, args.store, args.id, args.target)
        elif args.command == "key-id":
            for kid, _ in keys:
                print(kid.hex())
        else:
            obj = json.loads(sys.stdin.buffer.read().decode("utf-8"))
            if not isinstance(obj, dict):
                raise FormatError("not a JSON object")
            if args.command == "mac":
                obj.setdefault("key_id", keys[-1][0].hex())
                obj["mac"] = compute_mac(keys, obj)
                sys.stdout.write(json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False))
                sys.stdout.write("\n")
            else:
                mac = obj.get("mac")
                if not isinstance(mac, str):
                    raise FormatError("no mac member")
                if not hmac.compare_digest(mac.encode(), compute_mac(keys, obj).encode()):
                    raise FormatError("MAC mismatch (modified, or wrong key)")
                print("mac ok")
    except FormatError as e:
        sys.stderr.write("ofs_format: %s\n" % e)
        return 1
    except (OSError, ValueError, KeyError, tarfile.TarError, subprocess.SubprocessError) as e:
        sys.stderr.write("ofs_format: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
