"""gunicorn in a subprocess on 127.0.0.1, raw HTTP exchanges, process memory.

Nothing here is looked up by name: the server is started and stopped by PID
(its own session, so the master and its workers form one process group).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
MiB = 1 << 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without foreign OTEL_*/OS_* variables, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OS_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def tracing_env(spool: Path, **extra: str) -> dict[str, str]:
    """What a traced service gets: our exporter only, a spool of the test's own."""
    return {
        "OTEL_TRACES_EXPORTER": "otel_openstack",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_OPENSTACK_SPOOL_DIR": str(spool),
        **extra,
    }


class Server:
    """A WSGI server subprocess serving ``tests.reliability.apps``, in its own session."""

    kind = "server"

    def __init__(self, command: list[str], log: Path, env: Mapping[str, str] | None, workers: int):
        self.log = log
        self.workers = workers
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(command, cwd=REPO_ROOT, env=base_env(env), stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited ({self.proc.returncode}):\n{self.log_text()[-3000:]}")
            if len(self.worker_pids()) == self.workers:
                try:
                    status, _, _ = request(self.port, "GET", "/_pid", timeout=30)
                except OSError:
                    status = 0
                if status == 200:  # the app is imported and the middleware built
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not start:\n{self.log_text()[-3000:]}")

    def worker_pids(self) -> list[int]:
        """The processes that run the app."""
        return [self.proc.pid] if self.proc.poll() is None else []

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> int | None:
        """Graceful stop (SIGTERM: gunicorn workers finish and flush); SIGKILL on timeout."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            except ProcessLookupError:
                pass
        try:  # stray children of a killed parent
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.proc.returncode

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Gunicorn(Server):
    """``gunicorn tests.reliability.apps:<app>`` with gthread workers."""

    kind = "gunicorn"

    def __init__(self, app: str, log: Path, *, workers: int = 1, threads: int = 4, preload: bool = False,
                 env: Mapping[str, str] | None = None, keepalive: int = 5, backlog: int = 2048):
        self.app = app
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{HOST}:{self.port}",
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", str(threads),
            "--timeout", "120",
            "--graceful-timeout", "5",
            "--keep-alive", str(keepalive),
            "--backlog", str(backlog),
            "--no-control-socket",
            "--error-logfile", "-",
            "--log-level", "warning",
        ]
        if preload:
            command.append("--preload")
        command.append(f"tests.reliability.apps:{app}")
        super().__init__(command, log, env, workers)

    def worker_pids(self) -> list[int]:
        try:
            return sorted(child.pid for child in psutil.Process(self.proc.pid).children())
        except psutil.NoSuchProcess:
            return []


class SimpleServer(Server):
    """``python -m tests.reliability.apps {wsgiref,eventlet} <app> PORT``: one process."""

    def __init__(self, kind: str, app: str, log: Path, *, env: Mapping[str, str] | None = None):
        self.kind = kind
        self.app = app
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        command = [sys.executable, "-m", "tests.reliability.apps", kind, app, str(self.port)]
        super().__init__(command, log, env, 1)


def start_server(kind: str, app: str, log: Path, env: Mapping[str, str] | None = None) -> Server:
    if kind == "gunicorn":
        return Gunicorn(app, log, env=env)
    return SimpleServer(kind, app, log, env=env)


# --- raw HTTP ---------------------------------------------------------------------

def exchange(port: int, raw_request: bytes, timeout: float = 30.0) -> bytes:
    """Send ``raw_request`` (which should say ``Connection: close``); everything until EOF."""
    out = bytearray()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(raw_request)
        while True:
            try:
                data = sock.recv(1 << 16)
            except ConnectionResetError:
                break
            if not data:
                break
            out += data
    return bytes(out)


def request(port: int, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None,
            timeout: float = 30.0) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request on a fresh connection (http.client): status, headers, body."""
    import http.client

    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def split_response(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    """Status line, header fields (in order) and everything after the blank line."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, f"no complete header section in {raw[:200]!r}"
    lines = head.split(b"\r\n")
    fields = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields.append((name, value.strip()))
    return lines[0], fields, rest


#: Headers a server adds by itself with values that change between runs.
VOLATILE = {b"date"}


def comparable(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    """A raw response minus ``Date`` and our one documented addition, ``traceresponse``."""
    status, fields, rest = split_response(raw)
    kept = [(n, v) for n, v in fields if n.lower() not in VOLATILE | {b"traceresponse"}]
    return status, kept, rest


def traceresponse_count(raw: bytes) -> int:
    _, fields, _ = split_response(raw)
    return sum(1 for n, _ in fields if n.lower() == b"traceresponse")


# --- memory -------------------------------------------------------------------------

def status_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` field in KiB (``VmRSS``, ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> bool:
    """Reset the peak RSS (VmHWM) to the current RSS; False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def spool_documents(spool: Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """Every spool batch file as an OTLP JSON document (a failure is an assertion: no file may be torn)."""
    from otel_openstack.exporters import spool as spool_files

    documents, paths = [], []
    for path in sorted(spool.rglob("*")):
        if path.is_file():
            assert path.name.endswith(".jsonl") and not path.name.startswith(".tmp-"), path
            documents.append(spool_files.read_batch(path) or {"resourceSpans": []})
            paths.append(path)
    return documents, paths


@contextmanager
def read_only_folder(path: Path) -> Iterator[str]:
    """A folder we cannot write in: a read-only tmpfs (root), mode 0500 (others), else injected EROFS."""
    path.mkdir()
    if os.geteuid() != 0:
        os.chmod(path, 0o500)
        try:
            yield "chmod"
        finally:
            os.chmod(path, 0o700)
        return
    command = ["mount", "-t", "tmpfs", "-o", "ro,size=64k,mode=0700", "tmpfs", str(path)]
    mounted = shutil.which("mount") is not None and subprocess.run(command, capture_output=True).returncode == 0
    try:
        yield "mount" if mounted else "injected"
    finally:
        if mounted:
            subprocess.run(["umount", str(path)], capture_output=True)
