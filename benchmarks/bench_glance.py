"""Part 1b: middleware overhead on real glance ``GET /v2/images`` (see bench_overhead)."""

from __future__ import annotations

from pathlib import Path

from examples.localcloud.ports import free_ports

from benchmarks.bench_overhead import REQUEST_HEADERS, VARIANTS, measure
from benchmarks.cloud import admin_token, create_images, glance_server
from benchmarks.common import Budget, Row, info, log
from benchmarks.server import start_all, stop_all

IMAGES = 5


def run_glance(budget: Budget, workdir: Path, tool: str, cloud) -> list[Row]:  # type: ignore[no-untyped-def]
    token = admin_token(cloud)
    create_images(cloud, token, IMAGES)
    ports = free_ports(len(VARIANTS))
    servers = {v: glance_server(cloud, v, workdir, workdir / "spool", p) for v, p in zip(VARIANTS, ports)}
    headers = {**REQUEST_HEADERS, "X-Auth-Token": token}
    try:
        start_all(servers.values())
        size = len(servers["bare"].get("/v2/images", headers))
        log(f"glance GET /v2/images answers {size} bytes ({IMAGES} images)")
        rows, added_p50 = measure("overhead.glance", servers, "/v2/images", headers, budget,
                                  budget.glance_rounds, tool)
    finally:
        stop_all(servers.values())
    rows.append(info("overhead.glance.ours_added_p50", added_p50, "ms",
                     "median over rounds of p50_ours - p50_bare, 1 connection"))
    rows.insert(0, info("overhead.glance.response_size", size, "bytes",
                        f"GET /v2/images with {IMAGES} images; token validation cached by keystonemiddleware"))
    return rows
