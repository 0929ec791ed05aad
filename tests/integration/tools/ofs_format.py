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
BLANKS = " \t\r\v\f"  # section 3


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
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    # lines end at '\n' only; blanks are C's isspace: a CRLF line reads like an LF one
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip(BLANKS)
        if not stripped or stripped.startswith("#"):
            continue
        fields = re.split("[%s]+" % BLANKS, stripped)
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
    # Section 7: a record authenticates its own place, data/<class>/<id>/
    class_name = os.path.basename(os.path.dirname(os.path.dirname(paths[0])))
    if rec.get("id") != backup_id or rec.get("class") != class_name:
        raise FormatError("%s: the record is of backup '%s' (class %s), not of this place"
                          % (backup_id, rec.get("id"), rec.get("class")))
    return rec, os.path.dirname(paths[0])


def check_one_zstd_frame(data):
    """Section 5.1: exactly one zstd frame, nothing after it (the zstd program would decode
    a second frame too). Walks the frame header and block headers (RFC 8878)."""
    if len(data) < 6 or data[:4] != b"\x28\xb5\x2f\xfd":
        raise FormatError("not one zstd frame")
    fhd = data[4]
    fcs_flag, single, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag] + \
        ((1 if single else 0), 2, 4, 8)[fcs_flag]
    while True:
        if pos + 3 > len(data):
            raise FormatError("zstd frame cut short")
        header = int.from_bytes(data[pos:pos + 3], "little")
        last, kind, size = header & 1, (header >> 1) & 3, header >> 3
        if kind == 3:
            raise FormatError("zstd frame with a reserved block type")
        pos += 3 + (1 if kind == 1 else size)  # an RLE block stores one byte
        if last:
            break
    pos += 4 if checksum else 0
    if pos != len(data):
        raise FormatError("zstd stream has trailing data after its frame")


def open_plain(keys, folder, backup_id, name):
    """The plaintext of <folder>/<name>.ofs: decrypted (name checked), then zstd -d."""
    sealed, plain = io.BytesIO(), io.BytesIO()
    with open(os.path.join(folder, name + ".ofs"), "rb") as f:
        decrypt(keys, "%s/%s" % (backup_id, name), f, sealed)
    check_one_zstd_frame(sealed.getvalue())
    out = subprocess.run(["zstd", "-d", "-q", "-c"], input=sealed.getvalue(),
                         stdout=subprocess.PIPE, check=True).stdout
    plain.write(out)
    plain.seek(0)
    return plain


def check_pax_headers(raw, where):
    """Section 5.1: every pax record is '<length> <keyword>=<value>\n', its length exact and
    within the extended header. Walks the tar's blocks without tarfile (which skips a bad
    record silently)."""
    pos = 0
    while pos + 512 <= len(raw):
        block = raw[pos:pos + 512]
        if block == bytes(512):
            return
        try:
            size = int(block[124:136].rstrip(b"\0 ").decode() or "0", 8)
        except ValueError:
            raise FormatError("%s: bad size field at offset %d" % (where, pos))
        if block[156:157] in (b"x", b"g"):
            data, at = raw[pos + 512:pos + 512 + size], 0
            while at < len(data):
                space = data.find(b" ", at)
                digits = data[at:space] if space > at else b""
                length = int(digits) if digits.isdigit() else 0
                end = at + length
                if not length or end > len(data) or data[end - 1:end] != b"\n" or \
                        b"=" not in data[space + 1:end]:
                    raise FormatError("%s: malformed pax record at offset %d" % (where, pos))
                at = end
        pos += 512 + (size + 511) // 512 * 512


def path_of(e, key="path"):
    """A catalog path (or target): path, or path_hex for bytes that are not UTF-8."""
    if key in e:
        return e[key]
    if key + "_hex" in e:
        return bytes.fromhex(e[key + "_hex"]).decode("utf-8", "surrogateescape")
    return None


def path_key(p):
    # Section 5.2: bytes as unsigned, except '/' sorts below every other byte
    return bytes(0 if b == 0x2F else b + 1 for b in p.encode("utf-8", "surrogateescape"))


def path_is_safe(p):
    return bool(p) and "\0" not in p and all(c not in ("", ".", "..") for c in p.split("/"))


def check_catalog(rec, records, entries):
    """Section 5.2, 5.3 and 6.2: what a reader refuses before it writes anything."""
    own, base_id = rec["id"], rec.get("base")
    by_path, previous, total = {}, None, 0
    for i, e in enumerate(entries):
        p = path_of(e)
        if not isinstance(p, str) or not path_is_safe(p):
            raise FormatError("catalog: unsafe path %r" % p)
        if previous is not None and path_key(p) <= path_key(previous):
            raise FormatError("catalog: '%s' is out of order" % p)
        previous = p
        kind = e.get("type")
        if kind not in ("file", "dir", "symlink", "hardlink", "fifo"):
            raise FormatError("catalog: '%s' has type %r" % (p, kind))
        if "/" in p:
            parent = p.rsplit("/", 1)[0]
            if parent not in by_path:
                raise FormatError("catalog: '%s': its parent '%s' is not in the catalog"
                                  % (p, parent))
            if by_path[parent].get("type") != "dir":
                raise FormatError("catalog: '%s' is below '%s', which is a %s, not a directory"
                                  % (p, parent, by_path[parent].get("type")))
        if kind == "hardlink":
            t = path_of(e, "target")
            if by_path.get(t, {}).get("type") != "file":
                raise FormatError("catalog: hard link '%s' points at '%s', which is not an "
                                  "earlier file of the backup" % (p, t))
        if kind == "symlink" and path_of(e, "target") is None:
            raise FormatError("catalog: symlink '%s' has no target" % p)
        if kind == "file":
            if "sha256" not in e:
                raise FormatError("catalog: '%s' has no sha256" % p)
            total += e.get("size", 0)
        if "vol" not in e or "offset" not in e or e["vol"] < 1:
            raise FormatError("catalog: '%s' is in no volume" % p)
        holder = e.get("backup")
        if holder not in (own, base_id) or holder is None:
            raise FormatError("catalog: '%s' points at backup '%s', which is neither '%s' "
                              "nor its base" % (p, holder, own))
        if e["vol"] > records[holder]["volumes"]:
            raise FormatError("catalog: '%s' is in volume %d of backup '%s', which has %d"
                              % (p, e["vol"], holder, records[holder]["volumes"]))
        tail = [k in e for k in ("base_backup", "base_vol", "base_offset", "base_size",
                                 "base_sha256", "tail_sha256")]
        if any(tail) and not (all(tail) and kind == "file" and "vol" in e and
                              e.get("backup") == own and e["base_backup"] == base_id and
                              0 < e["base_size"] < e["size"] and
                              0 < e["base_vol"] <= records[base_id]["volumes"]):
            raise FormatError("catalog: '%s' is not a valid tail" % p)
        by_path[p] = e
    if len(entries) != rec["files"] or total != rec["bytes"]:
        raise FormatError("catalog: the record counts %d entries of %d bytes, the catalog %d "
                          "of %d" % (rec["files"], rec["bytes"], len(entries), total))


TAR_TYPES = {"file": tarfile.TarInfo.isreg, "dir": tarfile.TarInfo.isdir,
             "symlink": tarfile.TarInfo.issym, "hardlink": tarfile.TarInfo.islnk,
             "fifo": tarfile.TarInfo.isfifo}


def read_volume(keys, folder, bid, vol, expected, strict):
    """The entries of one volume, checked against the catalog's places in it, in order:
    expected is [(name, entry, size, sha256, offset)]. A base's volume (strict false) may
    hold other entries before each expected one. Returns {name: content} of the files."""
    name = "vol-%04d" % vol
    raw = open_plain(keys, folder, bid, name).getvalue()
    check_pax_headers(raw, "%s %s" % (bid, name))
    data, at = {}, 0
    with tarfile.open(fileobj=io.BytesIO(raw), encoding="utf-8",
                      errors="surrogateescape") as t:
        for m in t:
            if not any(is_type(m) for is_type in TAR_TYPES.values()):
                raise FormatError("%s %s: entry '%s' has an unsupported type" % (bid, name,
                                                                                  m.name))
            want = expected[at] if at < len(expected) else None
            if not strict and (want is None or path_key(m.name) < path_key(want[0])):
                continue
            if want is None or m.name != want[0]:
                raise FormatError("%s %s: unexpected entry '%s' in archive" % (bid, name, m.name))
            at += 1
            _, e, size, digest, offset = want
            if not TAR_TYPES[e["type"]](m) or (e["type"] == "file" and m.size != size):
                raise FormatError("%s %s: '%s' is a %s of %d bytes in the archive"
                                  % (bid, name, m.name, m.type, m.size))
            if m.offset != offset:
                raise FormatError("%s %s: '%s' is at offset %d in the archive, at %d in the "
                                  "catalog" % (bid, name, m.name, m.offset, offset))
            if e["type"] in ("symlink", "hardlink") and m.linkname != path_of(e, "target"):
                raise FormatError("%s %s: '%s' links to '%s' in the archive, to '%s' in the "
                                  "catalog" % (bid, name, m.name, m.linkname,
                                               path_of(e, "target")))
            if e["type"] == "file":
                content = t.extractfile(m).read()
                if len(content) != size or hashlib.sha256(content).hexdigest() != digest:
                    raise FormatError("%s %s: '%s' does not match the catalog"
                                      % (bid, name, m.name))
                data[m.name] = content
    if at < len(expected):
        raise FormatError("%s %s: entry '%s' is missing from the archive"
                          % (bid, name, expected[at][0]))
    return data


def restore(keys, store, backup_id, target):
    rec, folder = load_record(keys, store, backup_id)
    folders, records = {backup_id: folder}, {backup_id: rec}
    if rec["kind"] == "diff":
        base, folders[rec["base"]] = load_record(keys, store, rec["base"])
        records[rec["base"]] = base
        if base.get("kind") != "full" or base.get("set") != rec.get("set"):
            raise FormatError("base '%s' is not a full of set '%s'" % (rec["base"], rec["set"]))
    lines = open_plain(keys, folder, backup_id, "catalog").read().decode("utf-8").splitlines()
    if json.loads(lines[0]) != {"format": "offsite-catalog", "version": 1}:
        raise FormatError("not an offsite catalog")
    entries = [json.loads(line) for line in lines[1:]]
    check_catalog(rec, records, entries)
    # the tar entries of each volume, in catalog order: (backup, vol) -> [(name, entry, ...)]
    placed = {}
    for e in entries:
        if "vol" not in e:
            continue
        p, size, digest = path_of(e), e.get("size", 0), e.get("sha256")
        if "base_size" in e:
            placed.setdefault((e["base_backup"], e["base_vol"]), []).append(
                (p, e, e["base_size"], e["base_sha256"], e["base_offset"]))
            p, size, digest = p + ".offsite-tail", e["size"] - e["base_size"], e["tail_sha256"]
        placed.setdefault((e["backup"], e["vol"]), []).append((p, e, size, digest, e["offset"]))
    data = {}
    for (bid, vol), expected in sorted(placed.items()):
        for n, content in read_volume(keys, folders[bid], bid, vol, expected,
                                      bid == backup_id).items():
            data[(bid, vol, n)] = content
    links, dirs = [], []
    for e in entries:
        path = os.path.join(target, path_of(e))
        kind = e["type"]
        if kind == "dir":
            os.makedirs(path, exist_ok=True)
            dirs.append((path, e))
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if kind == "file":
            if "base_size" in e:
                content = data[(e["base_backup"], e["base_vol"], path_of(e))] + \
                    data[(e["backup"], e["vol"], path_of(e) + ".offsite-tail")]
            else:
                content = data.get((e.get("backup"), e.get("vol"), path_of(e)), b"")
            if hashlib.sha256(content).hexdigest() != e["sha256"]:
                raise FormatError("'%s': SHA-256 mismatch" % path_of(e))
            write_sparse(path, content)
        elif kind == "symlink":
            os.symlink(path_of(e, "target"), path)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "hardlink":
            links.append((path, e))
            continue
        set_metadata(path, e)
    for path, e in links:
        os.link(os.path.join(target, path_of(e, "target")), path)
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
