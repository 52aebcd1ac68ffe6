"""Profiles behind the missed targets (see the README's Benchmarks section).

    python -m benchmarks.profile capture              # middleware cost per request, in-process, by piece
    python -m benchmarks.profile server [--traced]    # py-spy (GIL samples) of ours' gunicorn worker under wrk
    python -m benchmarks.profile render [-n 4000]     # cProfile of the renderer on a synthetic trace

``capture`` needs nothing; ``server`` needs ``py-spy`` (``pip install py-spy``,
any environment: it attaches by PID) and root or ptrace rights.  Numbers are
minimums over interleaved repetitions: on a noisy machine the minimum is the
least disturbed run.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable


def _environ() -> dict[str, Any]:
    from wsgiref.util import setup_testing_defaults

    from benchmarks.bench_overhead import REQUEST_HEADERS

    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ["PATH_INFO"] = "/json"
    for name, value in REQUEST_HEADERS.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _call(app: Callable[..., Any], base: dict[str, Any], count: int) -> None:
    for _ in range(count):
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(b"")
        body = app(environ, lambda status, headers, exc_info=None: None)
        b"".join(body)
        getattr(body, "close", lambda: None)()


def capture(args: argparse.Namespace) -> None:
    """µs per request of each piece, from variants that switch pieces off."""
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    from benchmarks import apps
    from otel_openstack.instrumentation.wsgi import wrap

    apps._dropping_provider()  # every variant exports to a dropping exporter: capture cost only
    variants = {
        "bare": apps.app,
        "plain (upstream middleware)": OpenTelemetryMiddleware(apps.app),
        "ours, capture all (no spool)": wrap(apps.app, service_name="bench"),
        "ours, no bodies": wrap(apps.app, service_name="bench", capture_bodies=False),
        "ours, no redaction": wrap(apps.app, service_name="bench", redact=False),
    }
    base = _environ()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for app in variants.values():
        _call(app, base, 300)
    for _ in range(args.rounds):
        for name, app in variants.items():
            started = time.perf_counter()
            _call(app, base, args.requests)
            times[name].append((time.perf_counter() - started) / args.requests * 1e6)
    print(f"in-process WSGI call, min of {args.rounds} rounds x {args.requests} requests:")
    for name, values in times.items():
        print(f"  {min(values):8.1f} us/request  {name}")
    _exporter_cost(args)


def _exporter_cost(args: argparse.Namespace) -> None:
    """What our exporter pays per span: OTLP encoding, JSON, files (one per trace)."""
    from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from benchmarks import apps
    from otel_openstack.exporters import spool
    from otel_openstack.instrumentation.wsgi import OpenStackWSGIMiddleware

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    middleware = OpenStackWSGIMiddleware(apps.app, service_name="bench")
    middleware._otel.tracer = provider.get_tracer("bench")  # noqa: SLF001 - profiling only
    _call(middleware, _environ(), 512)
    spans = memory.get_finished_spans()
    if not spans:
        print("  (no spans captured: exporter cost not measured)")
        return

    def best(func: Callable[[], Any]) -> float:
        values = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            func()
            values.append(time.perf_counter() - started)
        return min(values) / len(spans) * 1e6

    document = encode_spans(spans).to_dict()
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(10**9))
        print(f"our exporter, per span ({len(spans)} spans of {len(spans[0].attributes or {})} attributes):")
        print(f"  {best(lambda: encode_spans(spans)):8.1f} us  OTLP encode_spans()")
        print(f"  {best(lambda: encode_spans(spans).to_dict()):8.1f} us  encode_spans().to_dict()")
        print(f"  {best(lambda: json.dumps(document, separators=(',', ':'))):8.1f} us  json.dumps (compact)")
        print(f"  {best(lambda: spool.encode_batch(spans)):8.1f} us  spool.encode_batch() (what the spool writes)")
        print(f"  {best(lambda: spool.write_spans(Path(folder) / str(next(counter)), spans)):8.1f} us  "
              "write_spans, the 512 spans (one trace each) as one batch file")
        one = [[span] for span in spans]
        print(f"  {best(lambda: [spool.write_spans(Path(folder) / 'one', batch) for batch in one]):8.1f} us  "
              "write_spans, one batch file per span")


def server(args: argparse.Namespace) -> None:
    from benchmarks.bench_overhead import CLI_TRACEPARENT, REQUEST_HEADERS
    from benchmarks.loadgen import run_load
    from benchmarks.server import app_server

    py_spy = args.py_spy or shutil.which("py-spy")
    if not py_spy:
        sys.exit("py-spy not found: pip install py-spy (any environment), or pass --py-spy PATH")
    headers = dict(REQUEST_HEADERS)
    if args.traced:
        headers["traceparent"] = CLI_TRACEPARENT
    with tempfile.TemporaryDirectory() as folder:
        srv = app_server(args.variant, Path(folder) / "servers", spool=Path(folder) / "spool").start()
        try:
            run_load(srv.url + "/json", connections=8, duration=1.0, headers=headers)
            raw = Path(folder) / "raw.txt"
            spy = subprocess.Popen([py_spy, "record", "-p", str(srv.worker_pid()), "-d", str(args.seconds), "-r", "200",
                                    "--gil", "-f", "raw", "-o", str(raw), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            cpu0 = srv.worker_cpu()
            load = run_load(srv.url + "/json", connections=8, duration=args.seconds, headers=headers)
            print(f"{args.variant}{' (traced)' if args.traced else ''}: {load.rps:.0f} req/s, "
                  f"{(srv.worker_cpu() - cpu0) / load.requests * 1e6:.0f} us worker CPU per request")
            spy.wait()
            _summarise(raw, args.top)
        finally:
            srv.stop()


def _summarise(raw: Path, top: int) -> None:
    """Inclusive and self shares of a py-spy raw (collapsed) profile."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r":\d+\)", ")", f) for f in stack.split(";")]
        total += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
    print(f"{total} samples holding the GIL; inclusive:")
    for frame, count in inclusive.most_common(top):
        print(f"  {count / total:6.1%}  {frame}")
    print("self:")
    for frame, count in own.most_common(top // 2):
        print(f"  {count / total:6.1%}  {frame}")


def render(args: argparse.Namespace) -> None:
    import cProfile
    import pstats

    from benchmarks import synth
    from otel_openstack import pipeline
    from otel_openstack.sources.otlp_json import spans_from_document

    text = synth.document_text(args.exchanges)
    started = time.perf_counter()
    document = json.loads(text)
    print(f"{args.exchanges} exchanges, {len(text) / 2**20:.0f} MiB, json.loads {time.perf_counter() - started:.2f}s")
    profile = cProfile.Profile()
    profile.enable()
    pipeline.render(list(spans_from_document(document)))
    profile.disable()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(r"otel_openstack", args.top)
    stats.sort_stats("tottime").print_stats(args.top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    cap = sub.add_parser("capture", help="middleware cost per request, in-process, by piece")
    cap.add_argument("--rounds", type=int, default=7)
    cap.add_argument("--requests", type=int, default=1500)
    srv = sub.add_parser("server", help="py-spy of a gunicorn worker under load")
    srv.add_argument("--variant", default="ours", choices=("bare", "plain", "ours", "ours-drop"))
    srv.add_argument("--traced", action="store_true", help="requests carry a CLI command's traceparent")
    srv.add_argument("--seconds", type=int, default=6)
    srv.add_argument("--py-spy", default=None)
    srv.add_argument("--top", type=int, default=40)
    ren = sub.add_parser("render", help="cProfile of the renderer")
    ren.add_argument("-n", "--exchanges", type=int, default=4000)
    ren.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    {"capture": capture, "server": server, "render": render}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
