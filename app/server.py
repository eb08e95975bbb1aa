#!/usr/bin/env python3
"""Sample HTTP service deployed by the ECS Fargate stack (Python stdlib only).

Environment:
  PORT          TCP port to listen on, bound on 0.0.0.0 (default 3000)
  SERVICE_NAME  reported by GET / (default "sample-app")
  APP_VERSION   reported by GET / (default "dev")

Routes (GET and HEAD):
  /        {"service": ..., "version": ...}
  /health  {"status": "ok"}
  other    404 {"error": "Not Found"}

Every request is logged to stdout as one JSON object per line (CloudWatch Logs
friendly). On SIGTERM (what ECS sends before SIGKILL after stopTimeout) or
SIGINT the server stops accepting connections, lets in-flight requests finish
and exits 0.
"""

import json
import os
import signal
import sys
import threading
import traceback
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SERVICE_NAME = os.environ.get("SERVICE_NAME", "sample-app")
APP_VERSION = os.environ.get("APP_VERSION", "dev")

_log_lock = threading.Lock()


def log(level, msg, **fields):
    record = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "level": level,
        "msg": msg,
        **fields,
    }
    line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
    with _log_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    server_version = "sample-app"
    # Socket timeout for a stalled client; bounds how long shutdown can wait
    # for an in-flight request. Keep it well below the ECS stopTimeout.
    timeout = 10

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/health":
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        elif path == "/":
            self._send_json(HTTPStatus.OK, {"service": SERVICE_NAME, "version": APP_VERSION})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": HTTPStatus.NOT_FOUND.phrase})

    do_HEAD = do_GET

    def version_string(self):  # "Server:" header without the Python version
        return self.server_version

    def send_error(self, code, message=None, explain=None):
        # The stdlib default is an HTML page; keep every response JSON.
        self.close_connection = True
        self._send_json(code, {"error": message or HTTPStatus(code).phrase})

    def _send_json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        log(
            "info",
            "request",
            method=self.command,
            path=getattr(self, "path", None),
            status=int(code),
            remote=self.client_address[0],
            forwarded_for=self.headers.get("X-Forwarded-For") if self.headers else None,
            user_agent=self.headers.get("User-Agent") if self.headers else None,
        )

    def log_message(self, format, *args):  # used by log_error (e.g. timeouts)
        log("warning", format % args, remote=self.client_address[0])


class Server(ThreadingHTTPServer):
    daemon_threads = False  # request threads are joined by server_close() ...
    block_on_close = True  # ... so in-flight requests complete on shutdown

    def handle_error(self, request, client_address):
        log("error", "unhandled exception", remote=client_address[0], traceback=traceback.format_exc())


def main():
    server = Server(("0.0.0.0", int(os.environ.get("PORT", "3000"))), Handler)
    server.timeout = 0.5  # max delay between a stop signal and closing the listener

    received = []

    def on_signal(signum, _frame):
        received.append(signum)  # only set a flag: no locks inside a signal handler

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    log("info", "listening", port=server.server_address[1], service=SERVICE_NAME, version=APP_VERSION)
    while not received:
        server.handle_request()

    log("info", "shutting down", signal=signal.Signals(received[0]).name)
    server.server_close()  # close the listener, then wait for in-flight requests
    log("info", "stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
