#!/usr/bin/env python3
"""webhook_sink.py PORTFILE OUTFILE [STATUS]: a real local HTTP server for notification tests.

Binds 127.0.0.1 on a free port (written to PORTFILE once listening), appends the body of every
POST as one line to OUTFILE (with the path and Content-Type in front, tab-separated), and
answers STATUS (default 200). Runs until killed.
"""
import http.server
import sys

portfile, outfile = sys.argv[1], sys.argv[2]
status = int(sys.argv[3]) if len(sys.argv) > 3 else 200


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        with open(outfile, "a") as f:
            f.write("%s\t%s\t%s\n" % (self.path, self.headers.get("Content-Type", ""), body.strip()))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
