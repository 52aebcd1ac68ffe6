"""Part 2: a big upload and a big download through the middleware, capture on.

The small app (benchmarks.apps) in gunicorn, bare and ours (bodies captured:
teed chunk by chunk, size and SHA-256 of all of it, at most ``body_limit``
bytes kept).  Fresh servers, so the worker's peak RSS (``VmHWM``) is that of
this part alone; each round does one upload and one download per variant,
interleaved.  Throughput: bytes / seconds as the client sees it (first byte
sent to last byte received), median over rounds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import Budget, Row, check, info, log, median
from benchmarks.server import Server, app_servers, start_all, stop_all

#: ``ours_nodigest``: ours with OTEL_OPENSTACK_BODY_DIGEST=false, to tell the SHA-256 from the rest.
VARIANTS = ("bare", "ours", "ours_nodigest")
MIB = 1 << 20


def _transfer(server: Server, direction: str, size: int) -> dict:
    path = "/upload" if direction == "upload" else "/download"
    cpu0 = server.worker_cpu()
    done = subprocess.run([sys.executable, "-m", "benchmarks.streamclient", direction, server.url + path, str(size)],
                          capture_output=True, text=True, check=True, timeout=600)
    result = json.loads(done.stdout)
    result["cpu"] = server.worker_cpu() - cpu0
    if result["status"] >= 400 or result["bytes"] != size:
        raise RuntimeError(f"{server.name} {direction}: {result}")
    return result


def run_streaming(budget: Budget, workdir: Path) -> list[Row]:
    size = budget.stream_bytes
    servers = app_servers(VARIANTS, workdir / "servers", spool=workdir / "spool")
    speeds: dict[tuple[str, str], list[float]] = {(v, d): [] for v in VARIANTS for d in ("upload", "download")}
    cpu: dict[tuple[str, str], list[float]] = {key: [] for key in speeds}
    hwm: dict[str, int] = {}
    base_hwm: dict[str, int] = {}
    try:
        start_all(servers.values())
        for server in servers.values():
            server.get("/json")
            base_hwm[server.name] = server.worker_status("VmHWM")
        for number in range(budget.stream_rounds):
            order = VARIANTS if number % 2 == 0 else VARIANTS[::-1]
            for direction in ("upload", "download"):
                for variant in order:
                    result = _transfer(servers[variant], direction, size)
                    speeds[(variant, direction)].append(result["bytes"] / result["seconds"] / MIB)
                    cpu[(variant, direction)].append(result["cpu"] / (result["bytes"] / (1 << 30)))
            log(f"streaming round {number + 1}/{budget.stream_rounds}: " + ", ".join(
                f"{v} {d} {s[-1]:.0f} MiB/s" for (v, d), s in speeds.items()))
        for variant, server in servers.items():
            hwm[variant] = server.worker_status("VmHWM")
    finally:
        stop_all(servers.values())
    label = f"{size // MIB} MiB" if size < 1 << 30 else f"{size / (1 << 30):g} GiB"
    rows: list[Row] = []
    for direction in ("upload", "download"):
        bare = median(speeds[("bare", direction)])
        ours = median(speeds[("ours", direction)])
        rows.append(info(f"streaming.{direction}.bare", bare, "MiB/s",
                         f"{label}, {budget.stream_rounds} rounds, 64 KiB chunks in the app"))
        rows.append(info(f"streaming.{direction}.ours", ours, "MiB/s"))
        rows.append(check(f"streaming.{direction}.ratio", ours / bare, "x", ">=", 0.9, "ours / bare throughput"))
        nodigest = median(speeds[("ours_nodigest", direction)])
        rows.append(info(f"streaming.{direction}.ours_nodigest", nodigest, "MiB/s",
                         "ours with OTEL_OPENSTACK_BODY_DIGEST=false (no SHA-256)"))
        rows.append(info(f"streaming.{direction}.ratio_nodigest", nodigest / bare, "x",
                         "ours without the digest / bare: what the rest of the capture costs"))
        rows.append(info(f"streaming.{direction}.cpu_bare", median(cpu[("bare", direction)]), "s/GiB",
                         "worker CPU (user+system) per GiB moved"))
        rows.append(info(f"streaming.{direction}.cpu_ours", median(cpu[("ours", direction)]), "s/GiB"))
        rows.append(info(f"streaming.{direction}.cpu_ours_nodigest", median(cpu[("ours_nodigest", direction)]),
                         "s/GiB"))
    for variant in VARIANTS:
        name = servers[variant].name
        rows.append(info(f"streaming.peak_rss.{variant}", hwm[variant] / MIB, "MiB",
                         f"worker VmHWM after the transfers ({base_hwm[name] / MIB:.1f} MiB after start-up)"))
    rows.append(check("streaming.peak_rss.ours_minus_bare", (hwm["ours"] - hwm["bare"]) / MIB, "MiB", "<=", 32,
                      "includes the SDK and our modules being imported"))
    return rows
