#!/usr/bin/env python3
"""A webhook receiver for the events e2e test (tests/e2e/events_test.sh).

Listens on 127.0.0.1:PORT and appends one JSON line per POST to OUT (no --out:
only answers, for bench/events_cost):
{"path", "content_type", "headers": {...lowercased}, "body": <parsed JSON>,
 "sig_ok": true|false|null}. sig_ok checks X-Berth-Signature against
HMAC-SHA256(secret, body) when --secret-file is given. While the file named by
--status-file exists, its content (an HTTP status) is answered instead of 200
and nothing is recorded (the endpoint "fails").
"""
import argparse
import hashlib
import hmac
import http.server
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", help="record each request here (without it: answer 200, record nothing)")
    ap.add_argument("--secret-file")
    ap.add_argument("--status-file")
    args = ap.parse_args()
    secret = None
    if args.secret_file:
        with open(args.secret_file, "rb") as f:
            secret = f.read().rstrip(b"\r\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write("receiver: " + (fmt % a) + "\n")

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = 200
            if args.status_file and os.path.exists(args.status_file):
                with open(args.status_file) as f:
                    status = int(f.read().strip() or "503")
            if status == 200 and args.out:
                sig_ok = None
                if secret is not None:
                    want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
                    sig_ok = hmac.compare_digest(want, self.headers.get("X-Berth-Signature", ""))
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                record = {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type", ""),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": parsed,
                    "sig_ok": sig_ok,
                }
                with open(args.out, "a") as f:
                    f.write(json.dumps(record) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
