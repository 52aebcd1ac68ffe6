"""Load generators: ``wrk`` when installed, else a Python client (asyncio, keep-alive).

Both report the same thing: requests/s over the run and the p50/p99 latency
of the requests, in a :class:`LoadResult`.  ``python -m benchmarks.loadgen``
is the Python client (run in its own process so it never shares a GIL with
anything else); it prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Mapping, Sequence
from urllib.parse import urlsplit


@dataclass(frozen=True)
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    tool: str


def available_tool(preferred: str = "auto") -> str:
    if preferred == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if preferred == "wrk":
        raise RuntimeError("wrk is not installed")
    return "python"


def run_load(url: str, *, connections: int, duration: float, headers: Mapping[str, str] | None = None,
             tool: str = "auto") -> LoadResult:
    """Hammer ``url`` with GETs over ``connections`` keep-alive connections for ``duration`` s."""
    headers = dict(headers or {})
    tool = available_tool(tool)
    if tool == "wrk":
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s"]
        for name, value in headers.items():
            cmd += ["-H", f"{name}: {value}"]
        done = subprocess.run([*cmd, url], capture_output=True, text=True, check=True, timeout=duration + 60)
        return parse_wrk(done.stdout)
    cmd = [sys.executable, "-m", "benchmarks.loadgen", url, "--connections", str(connections),
           "--duration", str(duration)]
    for name, value in headers.items():
        cmd += ["--header", f"{name}: {value}"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60)
    data = json.loads(done.stdout)
    return LoadResult(tool="python", **data)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> LoadResult:
    """Requests/s, p50, p99 and errors from ``wrk --latency`` output."""
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"^\s+(\d+) requests in", output, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(rps, p50, p99, requests, errors, "wrk")


# --- the Python client --------------------------------------------------------


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def _worker(host: str, port: int, request: bytes, stop_at: float, latencies: list[float],
                  errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter
    try:
        while clock() < stop_at:
            started = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if match is None:
                raise RuntimeError("the Python load generator needs Content-Length responses")
            await reader.readexactly(int(match.group(1)))
            latencies.append(clock() - started)
            if status >= 400:
                errors[0] += 1
    finally:
        writer.close()


async def _load(url: str, connections: int, duration: float, headers: Sequence[str]) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", *headers, "", ""]
    request = "\r\n".join(lines).encode("latin-1")
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    stop_at = started + duration
    await asyncio.gather(*(_worker(host, port, request, stop_at, latencies, errors) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rps": len(latencies) / elapsed, "p50_ms": _percentile(latencies, 0.50) * 1000,
            "p99_ms": _percentile(latencies, 0.99) * 1000, "requests": len(latencies), "errors": errors[0]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen")
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args(argv)
    result = asyncio.run(_load(args.url, args.connections, args.duration, args.header))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
