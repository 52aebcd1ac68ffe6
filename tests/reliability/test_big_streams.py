"""Big bodies stream through the middleware with bounded memory.

A real gunicorn (gthread, one worker) serves ``apps:bare`` and ``apps:wrapped``;
the test uploads and downloads N bytes through each and compares what the
client gets (status, headers, size, SHA-256) and the worker's peak RSS growth
(``VmHWM`` after resetting it through ``/proc/<pid>/clear_refs``, else the
highest ``VmRSS`` sampled every 5 ms).  256 MiB
in the default run, 2 GiB in the ``slow`` one.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.apps import BLOCK
from tests.reliability.servers import (
    HOST,
    MiB,
    Gunicorn,
    comparable,
    request,
    reset_peak,
    status_kib,
    tracing_env,
)

#: How much more the wrapped worker's peak RSS may grow than the bare one's.
RSS_BOUND_MIB = 32
PIECE = BLOCK * 16  # 1 MiB


def expected_digest(size: int) -> str:
    sha = hashlib.sha256()
    for _ in range(size // len(PIECE)):
        sha.update(PIECE)
    return sha.hexdigest()


def upload(port: int, size: int) -> tuple[bytes, dict]:
    """PUT ``size`` bytes (Content-Length), streamed; the raw head and the app's JSON answer."""
    head = (f"PUT /upload HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((HOST, port), timeout=120) as sock:
        sock.sendall(head)
        for _ in range(size // len(PIECE)):
            sock.sendall(PIECE)
        raw = bytearray()
        while data := sock.recv(1 << 16):
            raw += data
    head_part, _, body = bytes(raw).partition(b"\r\n\r\n")
    return head_part + b"\r\n\r\n", json.loads(body)


def download(port: int, size: int) -> tuple[bytes, int, str]:
    """GET ``size`` bytes; the raw head, the body size and SHA-256 (hashed as it arrives)."""
    raw = f"GET /download?size={size} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
    sha = hashlib.sha256()
    got = 0
    with socket.create_connection((HOST, port), timeout=120) as sock:
        sock.sendall(raw)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(1 << 16)
        head, _, rest = buffer.partition(b"\r\n\r\n")
        sha.update(rest)
        got += len(rest)
        while data := sock.recv(1 << 20):
            sha.update(data)
            got += len(data)
    return head + b"\r\n\r\n", got, sha.hexdigest()


def run(server: Gunicorn, size: int) -> dict:
    """Upload then download through ``server``; what the client saw and the worker's peak growth."""
    (pid,) = server.worker_pids()
    request(server.port, "PUT", "/upload", body=b"warm-up" * 1000)
    request(server.port, "GET", "/download?size=1000000")
    time.sleep(0.3)  # let the span processor's first batch go (imports, buffers)
    reset = reset_peak(pid)
    before = status_kib(pid, "VmRSS")
    sampled = [before]
    done = threading.Event()

    def sample() -> None:  # where the kernel does not let us reset VmHWM
        while not done.wait(0.005):
            sampled.append(status_kib(pid, "VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    up_head, answer = upload(server.port, size)
    down_head, got, digest = download(server.port, size)
    seconds = time.monotonic() - started
    time.sleep(0.3)  # the span is exported after the last byte
    done.set()
    sampler.join()
    peak = status_kib(pid, "VmHWM") if reset else max(sampled)
    return {"up_head": up_head, "answer": answer, "down_head": down_head, "got": got, "digest": digest,
            "growth_mib": (peak - before) / 1024, "rss_mib": peak / 1024, "seconds": seconds,
            "how": "VmHWM" if reset else "sampled VmRSS"}


def check(tmp: Path, size: int, figures, label: str) -> None:
    want = expected_digest(size)
    results = {}
    for app in ("bare", "wrapped"):
        env = {"RELIABILITY_WORKDIR": str(tmp)}
        if app == "wrapped":
            env.update(tracing_env(tmp / "spool"))
        with Gunicorn(app, tmp / f"{app}.log", workers=1, threads=4, env=env) as server:
            results[app] = run(server, size)
    bare, wrapped = results["bare"], results["wrapped"]
    for name, result in results.items():
        assert result["answer"] == {"size": size, "sha256": want}, name
        assert (result["got"], result["digest"]) == (size, want), name
    assert comparable(wrapped["up_head"]) == comparable(bare["up_head"])
    assert comparable(wrapped["down_head"]) == comparable(bare["down_head"])
    figures.measure(f"{label}_seconds", {k: round(v["seconds"], 2) for k, v in results.items()})
    figures.measure(f"{label}_peak_rss_mib", {k: round(v["rss_mib"], 1) for k, v in results.items()})
    figures.measure(f"{label}_peak_measured_by", wrapped["how"])
    figures.measure(f"{label}_peak_growth_mib", {k: round(v["growth_mib"], 1) for k, v in results.items()})
    assert wrapped["growth_mib"] <= bare["growth_mib"] + RSS_BOUND_MIB, results
    # the spool holds the two big exchanges as summaries, not as bodies
    files = [p for p in (tmp / "spool").rglob("*") if p.is_file()]
    assert files
    assert sum(p.stat().st_size for p in files) < 1 * MiB


def test_256_mib_up_and_down_through_gunicorn(tmp_path: Path, figures) -> None:
    check(tmp_path, 256 * MiB, figures, "stream_256mib")
    figures.set("stream_mib", 256)
    figures.set("stream_rss_bound_mib", RSS_BOUND_MIB)


@pytest.mark.slow
def test_2_gib_up_and_down_through_gunicorn(tmp_path: Path, figures) -> None:
    check(tmp_path, 2048 * MiB, figures, "stream_2gib")
