#!/usr/bin/env python3
"""faultproxy.py - an HTTP/1.1 proxy for S3 tests that breaks things on a schedule.

Sits between offsite and the S3 server on 127.0.0.1 and forwards each request over its own
upstream connection, except that:
  --slowdown-every N      every Nth request is answered 503 SlowDown (not forwarded)
  --cut-upload-every N    every Nth request with a body over --big bytes has its connection
                          cut after half the body reached the server
  --cut-download-every N  every Nth response with a body over --big bytes is cut after half
                          its body reached the client
  --clock-offset S        play a server whose clock is S seconds ahead of this host's (negative:
                          behind): a request whose x-amz-date is more than --max-skew seconds
                          off that clock is answered 403 RequestTimeTooSkewed (no body for a
                          HEAD, as S3 does) and not forwarded; every answer's Date is that
                          clock. Keep S + --max-skew within the real server's 15 minutes, so
                          what passes here passes there.
Counts go to --stats FILE (JSON) after every request, so a test can check faults happened.
Prints the port it listens on, then serves until killed.
"""
import argparse
import calendar
import email.utils
import json
import os
import socket
import sys
import threading
import time

SLOWDOWN = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
            b"<Message>Please reduce your request rate.</Message></Error>")


class Stats:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "slowdown": 0, "cut_upload": 0, "cut_download": 0,
                       "big_uploads": 0, "big_downloads": 0, "skewed": 0, "skewed_head": 0}

    def bump(self, name):
        with self.lock:
            self.counts[name] += 1
            n = self.counts[name]
            if self.path:
                with open(self.path + ".tmp", "w") as f:
                    json.dump(self.counts, f)
                os.replace(self.path + ".tmp", self.path)
            return n


def read_head(sock, buf):
    """Read up to the end of an HTTP head; returns (head bytes, rest) or (None, buf) at EOF."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", rest


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            if k.strip().lower() == name:
                return v.strip()
    return None


def server_date(args):
    return email.utils.formatdate(time.time() + args.clock_offset, usegmt=True).encode()


def skewed(head, args):
    """True if the request was signed too far off the played server clock."""
    amz = header(head, b"x-amz-date")
    if amz is None:
        return False
    try:
        signed = calendar.timegm(time.strptime(amz.decode(), "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return False
    return abs(signed - (time.time() + args.clock_offset)) > args.max_skew


def with_date(rhead, args):
    """The response head with Date replaced by the played server clock."""
    lines = [l for l in rhead[:-4].split(b"\r\n") if not l.lower().startswith(b"date:")]
    return b"\r\n".join(lines + [b"Date: " + server_date(args)]) + b"\r\n\r\n"


def read_exact(sock, buf, n):
    """n bytes: buf first, then the socket. Returns (data, rest) or (None, ...) at EOF."""
    while len(buf) < n:
        chunk = sock.recv(min(1 << 20, n - len(buf)) or 1)
        if not chunk:
            return None, buf
        buf += chunk
    return buf[:n], buf[n:]


def serve_client(client, args, stats):
    buf = b""
    try:
        while True:
            head, buf = read_head(client, buf)
            if head is None:
                return
            method = head.split(b" ", 1)[0]
            length = int(header(head, b"content-length") or 0)
            body, buf = read_exact(client, buf, length)
            if body is None:
                return
            n = stats.bump("requests")
            if args.slowdown_every and n % args.slowdown_every == 0:
                stats.bump("slowdown")
                # a HEAD answer has no body, whatever its Content-Length says
                client.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(SLOWDOWN) +
                               (b"" if method == b"HEAD" else SLOWDOWN))
                continue
            if args.clock_offset and skewed(head, args):
                stats.bump("skewed")
                if method == b"HEAD":
                    stats.bump("skewed_head")
                doc = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
                       b"RequestTimeTooSkewed</Code><Message>The difference between the request "
                       b"time and the current time is too large.</Message></Error>")
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
                               b"Date: " + server_date(args) + b"\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(doc) +
                               (b"" if method == b"HEAD" else doc))
                continue
            # one upstream connection per request: ask the server to close it, so a response
            # without Content-Length (chunked) ends
            lines = [l for l in head[:-4].split(b"\r\n") if not l.lower().startswith(b"connection:")]
            head = b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n"
            up = socket.create_connection((args.upstream_host, args.upstream_port))
            try:
                if length > args.big:
                    m = stats.bump("big_uploads")
                    if args.cut_upload_every and m % args.cut_upload_every == 0:
                        stats.bump("cut_upload")
                        up.sendall(head + body[: length // 2])
                        client.shutdown(socket.SHUT_RDWR)
                        return
                up.sendall(head + body)
                if not relay_response(up, client, method, args, stats):
                    return
            finally:
                up.close()
    except OSError:
        return
    finally:
        client.close()


def relay_response(up, client, method, args, stats):
    """Forward one response; False if the client connection was cut or must close."""
    rbuf = b""
    while True:
        rhead, rbuf = read_head(up, rbuf)
        if rhead is None:
            return False
        status = int(rhead.split(b" ", 2)[1])
        if status >= 200:
            if args.clock_offset:
                rhead = with_date(rhead, args)
            break
        client.sendall(rhead)  # 100 Continue
    if method == b"HEAD" or status in (204, 304):
        client.sendall(rhead)
        return True
    clen = header(rhead, b"content-length")
    if clen is None:
        # until the server closes: pass through, then close the client too
        client.sendall(rhead + rbuf)
        while True:
            chunk = up.recv(1 << 20)
            if not chunk:
                return False
            client.sendall(chunk)
    clen = int(clen)
    body, _ = read_exact(up, rbuf, clen)
    if body is None:
        return False
    if clen > args.big:
        m = stats.bump("big_downloads")
        if args.cut_download_every and m % args.cut_download_every == 0:
            stats.bump("cut_download")
            client.sendall(rhead + body[: clen // 2])
            client.shutdown(socket.SHUT_RDWR)
            return False
    client.sendall(rhead + body)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("upstream", help="HOST:PORT of the S3 server")
    p.add_argument("--slowdown-every", type=int, default=0)
    p.add_argument("--cut-upload-every", type=int, default=0)
    p.add_argument("--cut-download-every", type=int, default=0)
    p.add_argument("--big", type=int, default=1 << 20)
    p.add_argument("--clock-offset", type=int, default=0)
    p.add_argument("--max-skew", type=int, default=60)
    p.add_argument("--stats")
    args = p.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    args.upstream_host, args.upstream_port = host, int(port)
    stats = Stats(args.stats)

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    print(srv.getsockname()[1], flush=True)
    while True:
        client, _ = srv.accept()
        threading.Thread(target=serve_client, args=(client, args, stats), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
