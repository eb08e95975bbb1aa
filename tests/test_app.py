"""Tests for the sample container in app/ (server, health check, Dockerfile).

The server runs as a real subprocess with PORT=0 (kernel-chosen free port, no
bind race); the port is read from its "listening" JSON log line. All waits poll
against a deadline; there are no fixed sleeps.
"""

import fnmatch
import http.client
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[1] / "app"
SERVER = APP_DIR / "server.py"
HEALTHCHECK = APP_DIR / "healthcheck.py"
DOCKERFILE = APP_DIR / "Dockerfile"
DOCKERIGNORE = APP_DIR / ".dockerignore"

TIMEOUT = 20.0  # generous upper bound for any single wait

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals")


# --------------------------------------------------------------------------- helpers


def wait_for(predicate, timeout=TIMEOUT, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    def __init__(self, proc, stdout_path, stderr_path):
        self.proc = proc
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        self.port = None

    def log_records(self):
        text = self.stdout_path.read_text()
        # Only complete lines: the last one may still be being written.
        return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]

    def stderr(self):
        return self.stderr_path.read_text()

    def request(self, method, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def get_json(self, path):
        status, headers, body = self.request("GET", path)
        assert headers.get("Content-Type") == "application/json"
        return status, json.loads(body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)


def start_server(tmp_path, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("SERVICE_NAME", "APP_VERSION")}
    env.update(PORT="0", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(env_overrides)
    name = uuid.uuid4().hex[:8]
    stdout_path = tmp_path / f"server-{name}.out"
    stderr_path = tmp_path / f"server-{name}.err"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(SERVER)], env=env, stdout=out, stderr=err)
    srv = RunningServer(proc, stdout_path, stderr_path)

    def listening_port():
        if proc.poll() is not None:
            raise AssertionError(f"server exited early ({proc.returncode}): {srv.stderr()}")
        for rec in srv.log_records():
            if rec.get("msg") == "listening":
                return rec["port"]
        return None

    try:
        srv.port = wait_for(listening_port, what="'listening' log line")

        def healthy():
            try:
                return srv.request("GET", "/health")[0] == 200
            except OSError:
                return False

        wait_for(healthy, what="/health to answer 200")
    except BaseException:
        srv.stop()
        raise
    return srv


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("server"), SERVICE_NAME="test-svc", APP_VERSION="1.2.3")
    yield srv
    srv.stop()


def run_healthcheck(port, **env_overrides):
    env = dict(os.environ, PORT=str(port), PYTHONDONTWRITEBYTECODE="1", **env_overrides)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(HEALTHCHECK)], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    return result, time.monotonic() - started


def read_until_eof(sock):
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# --------------------------------------------------------------------------- HTTP API


def test_root_returns_service_info(server):
    assert server.get_json("/") == (200, {"service": "test-svc", "version": "1.2.3"})


def test_root_defaults_without_env(tmp_path):
    srv = start_server(tmp_path)
    try:
        status, body = srv.get_json("/")
        assert status == 200
        assert set(body) == {"service", "version"}
        assert body["service"] and body["version"]
    finally:
        srv.stop()


@pytest.mark.parametrize("path", ["/health", "/health?source=alb"])
def test_health_ok(server, path):
    assert server.get_json(path) == (200, {"status": "ok"})


def test_head_health_has_headers_but_no_body(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"HEAD /health HTTP/1.0\r\nHost: test\r\n\r\n")
        raw = read_until_eof(sock)  # HTTP/1.0: server closes after the response
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split()[1] == b"200"
    _, _, get_body = server.request("GET", "/health")
    assert f"content-length: {len(get_body)}".encode() in head.lower()  # same as GET
    assert b"content-type: application/json" in head.lower()
    assert body == b""


def test_unknown_path_is_json_404(server):
    status, body = server.get_json("/no/such/path")
    assert status == 404
    assert body == {"error": "Not Found"}


def test_unsupported_method_error_is_json(server):
    status, headers, body = server.request("POST", "/")
    assert status == 501
    assert headers.get("Content-Type") == "application/json"
    assert "error" in json.loads(body)


def test_one_json_log_line_per_request(server):
    marker = f"/log-probe-{uuid.uuid4().hex}"
    assert server.request("GET", marker, headers={"User-Agent": "pytest-probe"})[0] == 404

    def probe_records():
        return [r for r in server.log_records() if r.get("path") == marker]

    records = wait_for(probe_records, what="request log line")
    assert len(records) == 1
    rec = records[0]
    assert rec["msg"] == "request"
    assert rec["method"] == "GET" and rec["status"] == 404
    assert rec["user_agent"] == "pytest-probe"
    # Every line on stdout is a JSON object (log_records() would raise otherwise).
    assert all({"time", "level", "msg"} <= set(r) for r in server.log_records())
    assert "Traceback" not in server.stderr()


# --------------------------------------------------------------------------- healthcheck.py


def test_healthcheck_exits_0_against_running_server(server):
    # A proxy in the environment must not be used for the local probe.
    result, _ = run_healthcheck(server.port, http_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    assert result.returncode == 0, result.stderr


def test_healthcheck_exits_1_when_nothing_listens():
    result, _ = run_healthcheck(free_port())
    assert result.returncode == 1


def test_healthcheck_exits_1_on_non_200():
    class Unhealthy(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    stub = ThreadingHTTPServer(("127.0.0.1", 0), Unhealthy)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    try:
        result, _ = run_healthcheck(stub.server_address[1])
    finally:
        stub.shutdown()
        stub.server_close()
    assert result.returncode == 1


def test_healthcheck_times_out_on_unresponsive_server():
    # Listening socket that never accepts: TCP connect succeeds, no response ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        result, elapsed = run_healthcheck(silent.getsockname()[1])
    assert result.returncode == 1
    assert elapsed < 12, f"healthcheck took {elapsed:.1f}s; its 2s timeout is not applied"


# --------------------------------------------------------------------------- graceful shutdown


@posix_only
def test_sigterm_exits_0_promptly(tmp_path):
    srv = start_server(tmp_path)
    try:
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(timeout=TIMEOUT) == 0, srv.stderr()
        assert time.monotonic() - started < 10
        msgs = [r["msg"] for r in srv.log_records()]
        assert msgs[-2:] == ["shutting down", "stopped"]
        assert srv.stderr() == ""
    finally:
        srv.stop()


@posix_only
def test_sigterm_lets_in_flight_request_finish(tmp_path):
    srv = start_server(tmp_path)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT) as inflight:
            # Request line + one header, no terminating blank line: the handler
            # thread is now blocked mid-request.
            inflight.sendall(b"GET /health HTTP/1.0\r\nHost: test\r\n")
            # Barrier: the accept queue is FIFO, so once a later connection has
            # been answered, the in-flight one has certainly been accepted.
            assert srv.request("GET", "/health")[0] == 200

            srv.proc.send_signal(signal.SIGTERM)

            def listener_closed():
                assert srv.proc.poll() is None, "server exited while a request was in flight"
                try:
                    socket.create_connection(("127.0.0.1", srv.port), timeout=TIMEOUT).close()
                except ConnectionRefusedError:
                    return True
                except OSError:  # e.g. reset of a connection left in the closed backlog
                    return False
                return False

            wait_for(listener_closed, what="listener to close after SIGTERM")
            assert srv.proc.poll() is None, "server must wait for the in-flight request"

            inflight.sendall(b"\r\n")  # finish the request
            raw = read_until_eof(inflight)

        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.split(b"\r\n")[0].split()[1] == b"200"
        assert json.loads(body) == {"status": "ok"}
        assert srv.proc.wait(timeout=TIMEOUT) == 0, srv.stderr()
    finally:
        srv.stop()


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions(text):
    """[(INSTRUCTION, args)] with comments/blank lines dropped and continuations joined."""
    instructions, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # also skipped inside a continuation, like docker does
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, args = (current + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    assert not current, "dangling line continuation"
    return instructions


def dockerfile_stages():
    stages = []
    for keyword, args in dockerfile_instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            tokens = [t for t in args.split() if not t.startswith("--")]
            name = tokens[2] if len(tokens) >= 3 and tokens[1].lower() == "as" else None
            stages.append({"image": tokens[0], "name": name, "instructions": []})
        else:
            assert stages or keyword == "ARG", f"{keyword} before FROM"
            if stages:
                stages[-1]["instructions"].append((keyword, args))
    assert stages, "Dockerfile has no FROM"
    return stages


def image_is_pinned(image, earlier_stage_names):
    if image in earlier_stage_names or image == "scratch":
        return True
    if "$" in image:
        return False  # ARG-substituted: cannot verify
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False  # untagged means :latest
    tag = last.rsplit(":", 1)[1]
    return bool(tag) and tag != "latest"


def final_stage_values(keyword):
    return [args for kw, args in dockerfile_stages()[-1]["instructions"] if kw == keyword]


@pytest.mark.parametrize(
    "image, pinned",
    [
        ("python:3.12-slim", True),
        ("python:3.12-slim@sha256:" + "0" * 64, True),
        ("registry.example.com:5000/python:3.12-slim", True),
        ("python", False),
        ("python:latest", False),
        ("registry.example.com:5000/python", False),
        ("${BASE_IMAGE}", False),
    ],
)
def test_pin_check_helper(image, pinned):
    assert image_is_pinned(image, set()) is pinned


def test_dockerfile_base_images_are_pinned():
    names = set()
    for stage in dockerfile_stages():
        assert image_is_pinned(stage["image"], names), f"unpinned base image: {stage['image']}"
        if stage["name"]:
            names.add(stage["name"])


def test_dockerfile_final_user_is_not_root():
    users = final_stage_values("USER")
    assert users, "final stage has no USER instruction (would run as root)"
    user = users[-1].split(":", 1)[0].strip()
    assert user and user not in ("root", "0")
    if user.isdigit():
        assert int(user) > 0


def test_dockerfile_declares_the_stacks_writable_paths_as_volumes():
    """The stack mounts writablePaths (default /tmp) over a read-only root filesystem; Fargate
    makes such a volume writable for a non-root user only if the image declares the VOLUME."""
    import json

    from components.image import ImageSource
    from components.task_definition import TaskSpec

    declared = set()
    for args in final_stage_values("VOLUME"):
        declared |= set(json.loads(args)) if args.startswith("[") else set(args.split())
    assert set(TaskSpec(source=ImageSource(image="x")).writable_paths) <= declared


def test_dockerfile_exposes_3000():
    ports = {p.split("/")[0] for args in final_stage_values("EXPOSE") for p in args.split()}
    assert "3000" in ports


def test_dockerfile_env_and_exec_form_cmd():
    env = {}
    for args in final_stage_values("ENV"):
        for token in shlex.split(args):
            key, _, value = token.partition("=")
            env[key] = value
    assert env.get("PYTHONUNBUFFERED") == "1"
    cmd = final_stage_values("CMD")[-1]
    # Exec form keeps python as PID 1 so it receives SIGTERM from ECS.
    assert json.loads(cmd) == ["python", "/app/server.py"]


def test_dockerfile_copies_existing_files_not_dockerignored():
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]

    def ignored(path):
        excluded = False
        for pattern in patterns:  # last matching pattern wins, "!" re-includes
            negate = pattern.startswith("!")
            if fnmatch.fnmatch(path, pattern.lstrip("!").strip("/")):
                excluded = not negate
        return excluded

    sources = []
    for args in final_stage_values("COPY"):
        tokens = [t for t in args.split() if not t.startswith("--")]
        sources += tokens[:-1]
    assert {"server.py", "healthcheck.py"} <= set(sources)
    for src in sources:
        assert (APP_DIR / src).is_file(), f"COPY source missing: app/{src}"
        assert not ignored(src), f"COPY source excluded by .dockerignore: {src}"


def test_nightly_import_job_logs_json_and_exits_0():
    """The prod stack's scheduled task runs this file in the app image."""
    result = subprocess.run([sys.executable, str(APP_DIR / "nightly_import.py")], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["msg"] for line in lines] == ["nightly import started", "nightly import finished"]
