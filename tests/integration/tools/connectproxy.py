#!/usr/bin/env python3
"""connectproxy.py - a forward proxy for HTTPS (CONNECT only), to show that offsite honours
HTTPS_PROXY and NO_PROXY. Each tunnelled "CONNECT host:port" is appended as a line to --log
before bytes flow; anything but CONNECT is answered 405. Prints the port it listens on, then
serves until killed.
"""
import argparse
import socket
import sys
import threading


def relay(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client, log_path, lock):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(4096)
        if not chunk:
            client.close()
            return
        head += chunk
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    method, target = (request_line.split(" ") + ["", ""])[:2]
    if method != "CONNECT":
        client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    host, _, port = target.rpartition(":")
    try:
        upstream = socket.create_connection((host, int(port)))
    except OSError:
        client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    with lock, open(log_path, "a") as log:
        log.write(f"CONNECT {target}\n")
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    rest = head.split(b"\r\n\r\n", 1)[1]
    if rest:
        upstream.sendall(rest)
    threading.Thread(target=relay, args=(client, upstream), daemon=True).start()
    relay(upstream, client)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    lock = threading.Lock()
    open(args.log, "a").close()
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client, args.log, lock), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
