#!/usr/bin/env python3
"""A report receiver for the tests of `p2v convert --report-url`: every POST
to /api/report is appended as one line {"auth": HEADER, "body": JSON} to LOG.

usage: report_sink.py PORTFILE LOG [--status CODE] [--token TOKEN] [--slow SECONDS]
  PORTFILE  written with the port it listens on (127.0.0.1, a free port)
  --status  answer every POST with CODE (e.g. 503) instead of storing it
  --token   answer 401 unless "Authorization: Bearer TOKEN"
  --slow    sleep this long before answering progress events
  --exit-after N  stop listening (exit) once N events are stored: a receiver
            that goes away in the middle of a run
"""
import argparse
import http.server
import json
import os
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("portfile")
ap.add_argument("log")
ap.add_argument("--status", type=int, default=0)
ap.add_argument("--token")
ap.add_argument("--slow", type=float, default=0)
ap.add_argument("--exit-after", type=int, default=0)
args = ap.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        auth = self.headers.get("Authorization")
        if self.path != "/api/report":
            return self.answer(404, "no such path")
        if args.status:
            return self.answer(args.status, "refused by the test")
        if args.token and auth != "Bearer " + args.token:
            return self.answer(401, "bad token")
        try:
            body = json.loads(raw)
        except ValueError as e:
            return self.answer(400, "malformed JSON: %s" % e)
        if args.slow and body.get("event") == "progress":
            time.sleep(args.slow)
        with lock:
            with open(args.log, "a") as f:
                f.write(json.dumps({"auth": auth, "ctype": self.headers.get("Content-Type"),
                                    "body": body}) + "\n")
            stored[0] += 1
            last = stored[0] == args.exit_after
        self.answer(200, "stored")
        if last:
            self.wfile.flush()
            os._exit(0)

    def log_message(self, fmt, *a):
        pass


lock = threading.Lock()
stored = [0]
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(args.portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(args.portfile + ".tmp", args.portfile)
srv.serve_forever()
