"""The runner: every part in turn, one table on stdout, the rows as JSON."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

from benchmarks.common import LATEST, RESULTS_DIR, Budget, Row, info, log, table, write_json
from benchmarks.loadgen import available_tool

PARTS = ("overhead", "glance", "streaming", "cli", "render")
#: Parts that need the local cloud (keystone + glance): skipped by --smoke.
CLOUD_PARTS = ("glance", "cli")


def ensure_tools() -> None:
    """apt-get install wrk and hyperfine when missing, only as root with apt-get."""
    missing = [tool for tool in ("wrk", "hyperfine") if shutil.which(tool) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        log(f"{', '.join(missing)} missing and not root with apt-get: using the Python fallbacks")
        return
    log(f"installing {' '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    except (subprocess.CalledProcessError, OSError) as exc:
        log(f"apt-get failed ({exc}): using the Python fallbacks")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, no local cloud: checks the benchmarks still run (CI)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run (default all: {','.join(PARTS)})")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file (default benchmarks/results/latest.json; with --smoke: benchmarks/results/smoke.json)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (auto: wrk when installed)")
    parser.add_argument("--install-tools", action="store_true",
                        help="apt-get install wrk/hyperfine when missing (root only)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, spool, traces)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    if args.smoke:
        parts = [p for p in parts if p not in CLOUD_PARTS]
    out = args.out or (RESULTS_DIR / "smoke.json" if args.smoke else LATEST)
    if args.install_tools:
        ensure_tools()
    budget = Budget.tiny() if args.smoke else Budget.full()
    tool = available_tool(args.loadgen)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="otel-openstack-bench-"))
    rows: list[Row] = []
    try:
        rows = run_parts(parts, budget, workdir, tool, started)
    finally:
        if args.keep:
            log(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    rows.append(info("run.seconds", elapsed, "s", f"{'smoke' if args.smoke else 'full'} run, parts: {','.join(parts)},"
                     f" {os.cpu_count()} CPUs, load generator {tool}, code {_revision()}"))
    write_json(rows, out)
    print(table(rows))
    missed = [r.name for r in rows if r.met is False]
    print(f"\n{len(rows)} rows written to {out}; targets missed: {', '.join(missed) if missed else 'none'}")
    return 1 if any(r.name.endswith(".error") for r in rows) else 0


def _revision() -> str:
    """``<commit>`` or ``<commit>+changes`` when otel_openstack/ differs from it: what was measured."""
    from benchmarks.common import REPO_ROOT

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "otel_openstack"], cwd=REPO_ROOT,
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit or "unknown") + ("+uncommitted changes in otel_openstack/" if changed else "")


def run_parts(parts: Sequence[str], budget: Budget, workdir: Path, tool: str, started: float) -> list[Row]:
    rows: list[Row] = []
    cloud = None
    cloud_failed: Exception | None = None
    try:
        for part in parts:
            if part == "render":
                left = budget.total_seconds - (time.monotonic() - started) - 5
                budget.render_seconds = max(min(budget.render_seconds, left), 10.0)
            log(f"--- {part}")
            part_dir = workdir / part
            part_dir.mkdir(parents=True, exist_ok=True)
            begun = time.monotonic()
            try:
                if part in CLOUD_PARTS and cloud is None:
                    if cloud_failed is not None:
                        raise RuntimeError(f"the local cloud did not start ({cloud_failed})")
                    from benchmarks.cloud import start_cloud

                    try:
                        cloud = start_cloud(workdir / "cloud")
                    except Exception as exc:
                        cloud_failed = exc
                        raise
                rows += _run_part(part, budget, part_dir, tool, cloud)
            except Exception as exc:  # noqa: BLE001 - one broken part must not hide the others
                log(f"{part} failed: {type(exc).__name__}: {exc}")
                rows.append(Row(f"{part}.error", None, "", "runs", False,
                                " ".join(f"{type(exc).__name__}: {exc}".split())[:300]))
            log(f"{part} took {time.monotonic() - begun:.0f}s")
    finally:
        if cloud is not None:
            cloud.stop()
    return rows


def _run_part(part: str, budget: Budget, part_dir: Path, tool: str, cloud: object) -> list[Row]:
    if part == "overhead":
        from benchmarks.bench_overhead import run_small

        return run_small(budget, part_dir, tool)
    if part == "glance":
        from benchmarks.bench_glance import run_glance

        return run_glance(budget, part_dir, tool, cloud)
    if part == "streaming":
        from benchmarks.bench_streaming import run_streaming

        return run_streaming(budget, part_dir)
    if part == "cli":
        from benchmarks.bench_cli import run_cli

        return run_cli(budget, part_dir, cloud)
    if part == "render":
        from benchmarks.bench_render import run_render

        return run_render(budget, part_dir)
    raise ValueError(part)
