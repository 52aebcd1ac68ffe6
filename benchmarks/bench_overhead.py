"""Part 1: middleware overhead per request, bare vs plain OpenTelemetry vs ours.

Every variant runs in its own gunicorn (same command, same worker class), all
started up front; the load generator then visits them in turn, round after
round (the order rotates every round), so slow drifts of a noisy machine hit
every variant alike.  Per round and variant:

* a throughput run (``connections`` keep-alive connections, ``load_seconds``):
  requests/s, and the worker's CPU time (user + system, all threads, from
  /proc) per request, which other load on the machine barely disturbs;
* a latency run (one connection, ``latency_seconds``): p50/p99 of the
  request time on an otherwise idle server.

Overhead ratio (the target): median over rounds of (1/rps_ours - 1/rps_bare),
divided by the median over rounds of (1/rps_plain - 1/rps_bare); the same
ratio from CPU time per request is reported beside it.  Added p50: median
over rounds of p50_ours - p50_bare.

Requests carry no ``traceparent``, like most of a real cloud's traffic (every
request not made by an instrumented CLI): each one is a trace of its own.
``ours_traced`` sends the same requests to ours with the ``traceparent`` (and
so the trace) of one CLI command, which is what our exporter is built for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from benchmarks.common import Budget, Row, check, info, log, median
from benchmarks.loadgen import LoadResult, run_load
from benchmarks.server import Server, app_servers, start_all, stop_all
from otel_openstack.exporters import spool as spool_files

VARIANTS = ("bare", "plain", "ours")
#: What an OpenStack client sends; the token is redacted (digested) by ours.
REQUEST_HEADERS = {
    "Accept": "application/json",
    "User-Agent": "openstacksdk/4.22.0 keystoneauth1/5.18.1 python-requests/2.34.2 CPython/3.11.7",
    "X-Auth-Token": "gAAAAABnT0aTOKEN-not-a-real-one-0123456789abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJ",
}
#: The traceparent of a (pretend) instrumented CLI command.
CLI_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Sample:
    load: LoadResult
    cpu_us: float  # worker CPU per request in the throughput run
    latency: LoadResult | None


def _sample(server: Server, url: str, headers: Mapping[str, str], budget: Budget, tool: str,
            latency: bool = True) -> Sample:
    cpu0 = server.worker_cpu()
    load = run_load(url, connections=budget.connections, duration=budget.load_seconds, headers=headers, tool=tool)
    cpu_us = (server.worker_cpu() - cpu0) / max(load.requests, 1) * 1e6
    lat = (run_load(url, connections=1, duration=budget.latency_seconds, headers=headers, tool=tool)
           if latency else None)
    return Sample(load, cpu_us, lat)


def measure(label: str, servers: Mapping[str, Server], path: str, headers: Mapping[str, str],
            budget: Budget, rounds: int, tool: str, traced: bool = False,
            served: dict[str, int] | None = None) -> tuple[list[Row], float]:
    """Rows for ``label``, and the median added p50 (ours - bare) in ms.

    ``served`` (if given) counts the requests each server answered.
    """
    served = {} if served is None else served
    scenarios = [(v, servers[v], headers) for v in VARIANTS if v in servers]
    if traced:
        scenarios.append(("ours_traced", servers["ours"], {**headers, "traceparent": CLI_TRACEPARENT}))
    # Warm-up: imports, first spans, spool folders, caches (keystonemiddleware's token cache).
    for _, server, hdrs in scenarios:
        warm = run_load(server.url + path, connections=budget.connections, duration=1.0, headers=hdrs, tool=tool)
        served[server.name] = served.get(server.name, 0) + warm.requests
    samples: dict[str, list[Sample]] = {name: [] for name, _, _ in scenarios}
    for number in range(rounds):
        shift = number % len(scenarios)
        for name, server, hdrs in scenarios[shift:] + scenarios[:shift]:
            sample = _sample(server, server.url + path, hdrs, budget, tool, latency=name != "ours_traced")
            samples[name].append(sample)
            served[server.name] = (served.get(server.name, 0) + sample.load.requests
                                   + (sample.latency.requests if sample.latency else 0))
        log(f"{label} round {number + 1}/{rounds}: " + ", ".join(
            f"{name} {s[-1].load.rps:.0f} req/s {s[-1].cpu_us:.0f} us cpu" for name, s in samples.items()))
    rows: list[Row] = []
    tool_used = samples["bare"][0].load.tool
    for name, runs in samples.items():
        errors = sum(s.load.errors + (s.latency.errors if s.latency else 0) for s in runs)
        note = f"{errors} failed requests" if errors else ""
        if name == "bare":
            note = note or f"{rounds} rounds x {budget.load_seconds:g}s, {budget.connections} connections, {tool_used}"
        if name == "ours_traced":
            note = note or "ours, every request with the traceparent of one CLI command"
        rows.append(info(f"{label}.{name}.rps", median(s.load.rps for s in runs), "req/s", note))
        rows.append(info(f"{label}.{name}.cpu", median(s.cpu_us for s in runs), "us/req",
                         "worker CPU (user+system) per request under load" if name == "bare" else ""))
        if runs[0].latency is not None:
            rows.append(info(f"{label}.{name}.p50", median(s.latency.p50_ms for s in runs), "ms",  # type: ignore[union-attr]
                             "1 connection" if name == "bare" else ""))
            rows.append(info(f"{label}.{name}.p99", median(s.latency.p99_ms for s in runs), "ms"))  # type: ignore[union-attr]

    def added(name: str, cpu: bool = False) -> float:
        pairs = zip(samples[name], samples["bare"])
        if cpu:
            return median(o.cpu_us - b.cpu_us for o, b in pairs)
        return median((1 / o.load.rps - 1 / b.load.rps) * 1e6 for o, b in pairs)

    for name in samples:
        if name != "bare":
            rows.append(info(f"{label}.{name}.added_cost", added(name), "us/req",
                             "median over rounds of 1/rps - 1/rps_bare" if name == "plain" else ""))
    plain, ours = added("plain"), added("ours")
    rows.append(check(f"{label}.cost_ratio", ours / plain if plain > 0 else None, "x", "<=", 1.25,
                      "ours' added cost / plain's, from req/s: (1/rps_ours - 1/rps_bare) / (1/rps_plain - 1/rps_bare)"
                      + ("" if plain > 0 else "; plain measured no cost over bare (noise): undefined")))
    plain_cpu, ours_cpu = added("plain", cpu=True), added("ours", cpu=True)
    rows.append(info(f"{label}.cost_ratio_cpu", ours_cpu / plain_cpu if plain_cpu > 0 else None, "x",
                     "the same ratio from worker CPU per request"))
    if traced:
        traced_cpu = added("ours_traced", cpu=True)
        rows.append(info(f"{label}.cost_ratio_cpu_traced", traced_cpu / plain_cpu if plain_cpu > 0 else None, "x",
                         "ours_traced's added CPU / plain's"))
    added_p50 = median(o.latency.p50_ms - b.latency.p50_ms  # type: ignore[union-attr]
                       for o, b in zip(samples["ours"], samples["bare"]))
    return rows, added_p50


def run_small(budget: Budget, workdir: Path, tool: str) -> list[Row]:
    """The small JSON handler (benchmarks.apps) under the three variants."""
    spool = workdir / "spool"
    servers = app_servers(VARIANTS, workdir / "servers", spool=spool)
    served: dict[str, int] = {}
    try:
        start_all(servers.values())
        rows, added_p50 = measure("overhead.small", servers, "/json", REQUEST_HEADERS, budget,
                                  budget.rounds, tool, traced=True, served=served)
    finally:
        stop_all(servers.values())  # SIGTERM: the SDK flushes its last batch at exit
    rows.append(check("overhead.small.ours_added_p50", added_p50, "ms", "<", 0.3,
                      "median over rounds of p50_ours - p50_bare, 1 connection"))
    batches = [spans for _, spans in spool_files.spans_in(spool)]
    spans = sum(len(batch or ()) for batch in batches)
    traces = len({span.context.trace_id for batch in batches for span in batch or ()})
    rows.append(info("overhead.small.ours.spool_files", len(batches), "files",
                     f"left in the spool by ours, one per batch, holding {traces} traces "
                     "(kept 24 h unless a CLI collects them)"))
    requests = served.get(servers["ours"].name, 0)
    rows.append(info("overhead.small.ours.spans_lost", max(requests - spans, 0), "spans",
                     f"{requests} requests answered by ours, {spans} spans in the spool"))
    return rows
