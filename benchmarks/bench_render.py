"""Part 4: the renderer on synthetic traces of 1k ... 100k exchanges (benchmarks.synth).

Each size runs in a fresh process (benchmarks.render_worker) so memory and
garbage-collector state do not leak from one size to the next.  Rows: the
exchanges/s of the whole rendering (file text in, output texts out), its
ratio to a bare ``json.loads`` of the same text (median over repetitions,
measured alternately in the same process), how the time grows from half
the largest size to the largest (linear: 2x), and the peak memory per
exchange (roughly constant if memory is proportional to the input).

The part has a time budget: a size that does not finish within what is
left of it is stopped and reported as not finished (value empty, target
missed), and larger sizes are skipped, so ``make bench`` stays bounded
even when rendering is quadratic.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import synth
from benchmarks.common import Budget, Row, check, info, log, median

MIB = 1 << 20


def _label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _run(path: Path, n: int, reps: int, timeout: float, trace_json: bool = False) -> dict:
    """The worker's result; ``{"error": ...}`` when it did not finish."""
    cmd = [sys.executable, "-m", "benchmarks.render_worker", str(path), str(n), str(reps)]
    if trace_json:
        cmd.append("--trace-json")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=max(timeout, 1.0))
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within the {timeout:.0f}s left of the part's budget"}
    if done.returncode != 0:
        raise RuntimeError(f"render worker failed for {n} exchanges:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def run_render(budget: Budget, workdir: Path) -> list[Row]:
    deadline = time.monotonic() + budget.render_seconds
    results: dict[int, dict | None] = {}
    errors: dict[int, str] = {}
    stopped: int | None = None
    trace_json_row: Row | None = None
    for n in budget.render_sizes:
        if stopped is not None:
            results[n] = None
            continue
        if deadline - time.monotonic() < 5:
            stopped = n
            results[n] = None
            errors[n] = "no time left in the part's budget"
            continue
        path = workdir / f"trace-{n}.json"
        started = time.monotonic()
        synth.write(n, path)
        log(f"render: {_label(n)} exchanges, {path.stat().st_size / MIB:.0f} MiB generated in "
            f"{time.monotonic() - started:.1f}s")
        result = _run(path, n, budget.render_reps.get(n, 1), deadline - time.monotonic())
        if "error" in result:
            path.unlink()
            results[n] = None
            errors[n] = result["error"]
            stopped = n
            log(f"render: {_label(n)}: {result['error']}; larger sizes skipped")
            continue
        results[n] = result
        if n == budget.render_trace_json:
            # The real paths (the CLI's exporter, ``otel-openstack render``) also write trace.json.
            extra = _run(path, n, min(budget.render_reps.get(n, 1), 2), deadline - time.monotonic(), trace_json=True)
            if "error" not in extra:
                trace_json_row = info(f"render.{_label(n)}.with_trace_json.vs_parse",
                                      median(extra["total"]) / median(extra["parse"]), "x",
                                      "pipeline.render_documents (also re-serialises trace.json, indent=1) / json.loads")
        path.unlink()
        if result["found"] != n:
            raise RuntimeError(f"rendered {result['found']} exchanges out of {n}")
        log(f"render: {_label(n)}: parse {median(result['parse']):.2f}s, "
            f"rendering {median(result['total']):.2f}s, peak {(result['peak_bytes'] or 0) / MIB:.0f} MiB")
    rows: list[Row] = []
    largest = budget.render_sizes[-1]
    for n in budget.render_sizes:
        result = results[n]
        name = f"render.{_label(n)}"
        if result is None:
            why = errors.get(n) or f"skipped: {_label(stopped or 0)} did not finish"
            rows.append(info(f"{name}.exchanges_per_s", None, "exch/s", why))
            if n == largest:
                rows.append(check(f"{name}.vs_parse", None, "x", "<=", 3, why))
            continue
        parse, total = median(result["parse"]), median(result["total"])
        rows.append(info(f"{name}.exchanges_per_s", n / total, "exch/s",
                         f"{result['file_bytes'] / MIB:.0f} MiB OTLP JSON, {len(result['total'])} reps; "
                         f"json.loads alone {parse:.2f}s, rendering {total:.2f}s"))
        ratio = total / parse
        if n == largest:
            rows.append(check(f"{name}.vs_parse", ratio, "x", "<=", 3,
                              "rendering (json.loads included) / json.loads of the same text"))
        else:
            rows.append(info(f"{name}.vs_parse", ratio, "x"))
        if result["peak_bytes"] is not None:
            rows.append(info(f"{name}.peak_per_exchange", result["peak_bytes"] / n / 1024, "KiB",
                             f"peak RSS {result['peak_bytes'] / MIB:.0f} MiB above the process at rest"))
    small_n, big_n = budget.render_doubling
    small, big = results.get(small_n), results.get(big_n)
    value = median(big["total"]) / median(small["total"]) if small and big else None
    rows.append(check(f"render.doubling_{_label(small_n)}_to_{_label(big_n)}", value, "x", "<=", 2.2,
                      "time(2n) / time(n); 2 is linear" + ("" if value is not None else "; not measured")))
    first, last = budget.render_doubling[1], largest
    if results.get(first) and results.get(last) and first != last:
        growth = median(results[last]["total"]) / median(results[first]["total"])  # type: ignore[index]
        rows.append(info(f"render.growth_{_label(first)}_to_{_label(last)}", growth, "x",
                         f"time({_label(last)}) / time({_label(first)}); {last / first:g} is linear"))
    measured = [n for n in budget.render_sizes if results.get(n) and results[n]["peak_bytes"] is not None  # type: ignore[index]
                and n >= largest // 10]
    if len(measured) >= 2 and largest in measured:
        per = [results[n]["peak_bytes"] / n for n in measured]  # type: ignore[index]
        rows.append(check("render.memory_growth", max(per) / min(per), "x", "<=", 1.5,
                          f"max/min peak bytes per exchange over {', '.join(_label(n) for n in measured)}"
                          " (1 = proportional to the input)"))
    else:
        rows.append(check("render.memory_growth", None, "x", "<=", 1.5,
                          f"needs {_label(largest)} and another size >= {_label(largest // 10)} measured"))
    # The real paths (the CLI's exporter, ``otel-openstack render``) also write trace.json.
    if trace_json_row is not None:
        rows.append(trace_json_row)
    return rows
