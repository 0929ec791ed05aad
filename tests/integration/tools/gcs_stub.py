#!/usr/bin/env python3
"""gcs_stub.py PORTFILE LOGFILE [VERSIONED]: a scripted GCS JSON API for what the emulator lacks.

Serves one bucket's metadata: GET /storage/v1/b/BUCKET answers {"versioning": {"enabled":
VERSIONED}, "lifecycle": ...} (starting with one foreign rule over logs/), PATCH
/storage/v1/b/BUCKET replaces "lifecycle" as Google does and answers it. Listings are empty and
every object is absent (404 notFound). Each request is appended to LOGFILE as one JSON line
{"method", "path", "body"}. Binds 127.0.0.1 on a free port (written to PORTFILE when listening).
Runs until killed.
"""
import http.server
import json
import sys

portfile, logfile = sys.argv[1], sys.argv[2]
versioned = len(sys.argv) > 3 and sys.argv[3] == "1"
state = {"lifecycle": {"rule": [{"action": {"type": "Delete"},
                                 "condition": {"age": 90, "matchesPrefix": ["logs/"]}}]}}


class Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        with open(logfile, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "body": body}) + "\n")
        path = self.path.split("?")[0]
        parts = path.split("/")
        if len(parts) == 5 and parts[1:4] == ["storage", "v1", "b"]:
            if self.command == "PATCH":
                state["lifecycle"] = json.loads(body)["lifecycle"]
                return self._answer(200, {"lifecycle": state["lifecycle"]})
            if self.command == "GET":
                return self._answer(200, {"versioning": {"enabled": versioned},
                                          "lifecycle": state["lifecycle"]})
        if self.command == "GET" and path.endswith("/o"):
            return self._answer(200, {"kind": "storage#objects"})
        if self.command in ("GET", "DELETE"):
            return self._answer(404, {"error": {"code": 404, "message": "No such object",
                                                "errors": [{"reason": "notFound"}]}})
        return self._answer(501, {"error": {"code": 501, "message": "not scripted"}})

    do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _handle

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
