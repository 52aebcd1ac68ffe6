"""``--jaeger URL``: fetching from a (stub) Jaeger over real HTTP on 127.0.0.1.

The stub answers like Jaeger's query service: API v3 (Jaeger v2:
``{"result": TracesData}``, errors as ``{"error": {"httpCode", "message"}}``),
API v1 (``{"data": [...], "errors": ...}``), and a plain ``404 page not
found`` for routes it does not have (an older Jaeger without API v3).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest

import converters
from otel_openstack import cli
from otel_openstack.sources import live
from otel_openstack.sources.errors import TraceInputError

DATA = Path(__file__).parent / "data"
TRACE_ID = "e26e3b16a9bbc36ace675cfbf790d5bc"
Route = Callable[[str, dict], "tuple[int, object]"]


class StubJaeger:
    """A ThreadingHTTPServer whose answers come from ``self.route(path, query)``."""

    def __init__(self, route: Route):
        self.route = route
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                stub.requests.append(self.path)
                parts = urllib.parse.urlsplit(self.path)
                status, body = stub.route(parts.path, dict(urllib.parse.parse_qsl(parts.query)))
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jaeger() -> Iterator[Callable[[Route], StubJaeger]]:
    started: list[StubJaeger] = []

    def start(route: Route) -> StubJaeger:
        started.append(StubJaeger(route))
        return started[-1]

    yield start
    for stub in started:
        stub.close()


@pytest.fixture(scope="module")
def original() -> dict:
    return json.loads((DATA / "image-create.otlp.json").read_text())


@pytest.fixture(scope="module")
def reference(original, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("reference")
    (folder / "trace.json").write_text(json.dumps(original))
    assert cli.main(["render", str(folder / "trace.json"), "-o", str(folder / "out")]) == 0
    return (folder / "out" / "requests.log").read_text()


NOT_FOUND_V3 = (404, {"error": {"httpCode": 404, "message": "trace not found"}})
NOT_FOUND_V1 = (404, {"data": None, "total": 0, "limit": 0, "offset": 0,
                      "errors": [{"code": 404, "msg": "trace not found"}]})
NO_ROUTE = (404, "404 page not found\n")


def test_render_from_jaeger_v3(jaeger, original, reference, tmp_path, capsys):
    stub = jaeger(lambda path, q: (200, converters.to_jaeger_v3(original))
                  if path == f"/api/v3/traces/{TRACE_ID}" else NO_ROUTE)
    status = cli.main(["render", "--jaeger", stub.url + "/", "--trace", TRACE_ID, "-o", str(tmp_path / "out")])
    assert (status, capsys.readouterr().err) == (0, "")
    assert (tmp_path / "out" / "requests.log").read_text() == reference
    assert stub.requests == [f"/api/v3/traces/{TRACE_ID}"]


def test_render_falls_back_to_v1_on_an_older_jaeger(jaeger, original, reference, tmp_path, capsys):
    stub = jaeger(lambda path, q: (200, converters.to_jaeger_v1(original))
                  if path == f"/api/traces/{TRACE_ID}" else NO_ROUTE)
    status = cli.main(["render", "--jaeger", stub.url, "--trace", TRACE_ID.upper(), "-o", str(tmp_path / "out")])
    assert (status, capsys.readouterr().err) == (0, "")
    assert (tmp_path / "out" / "requests.log").read_text() == reference
    assert stub.requests == [f"/api/v3/traces/{TRACE_ID}", f"/api/traces/{TRACE_ID}"]
    json.loads((tmp_path / "out" / "trace.json").read_text())["resourceSpans"]  # OTLP JSON


def test_trace_missing_in_both_apis(jaeger, tmp_path, capsys):
    stub = jaeger(lambda path, q: NOT_FOUND_V3 if path.startswith("/api/v3/") else NOT_FOUND_V1)
    status = cli.main(["render", "--jaeger", stub.url, "--trace", TRACE_ID, "-o", str(tmp_path / "out")])
    assert status == 2
    assert capsys.readouterr().err == (f"otel-openstack: Jaeger at {stub.url} has no trace {TRACE_ID} "
                                       f"(asked /api/v3/traces/{TRACE_ID} and /api/traces/{TRACE_ID})\n")
    assert not (tmp_path / "out").exists()


def test_unreachable_jaeger_is_one_clear_line(tmp_path, capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    status = cli.main(["render", "--jaeger", f"http://127.0.0.1:{port}", "--trace", TRACE_ID, "-o", str(tmp_path)])
    assert (status, capsys.readouterr().err) == (
        2, f"otel-openstack: cannot reach Jaeger at http://127.0.0.1:{port}: connection refused\n")
    assert time.monotonic() - started < 5


def test_silent_jaeger_times_out(tmp_path, capsys):
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        status = cli.main(["render", "--jaeger", url, "--trace", TRACE_ID, "--timeout", "0.5", "-o", str(tmp_path)])
        elapsed = time.monotonic() - started
    assert (status, capsys.readouterr().err) == (2, f"otel-openstack: Jaeger at {url} did not answer within 0.5s\n")
    assert elapsed < 5


def test_something_else_on_the_port(jaeger, tmp_path, capsys):
    stub = jaeger(lambda path, q: (200, "<html>Grafana</html>"))
    assert cli.main(["render", "--jaeger", stub.url, "--trace", TRACE_ID, "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"otel-openstack: Jaeger at {stub.url} answered /api/v3/traces/{TRACE_ID} "
                                       f"with something that is not JSON (is this Jaeger's query port, "
                                       f"usually 16686?)\n")


def test_server_error_is_reported_with_jaeger_s_message(jaeger, tmp_path, capsys):
    stub = jaeger(lambda path, q: (500, {"error": {"httpCode": 500, "message": "storage unavailable"}}))
    assert cli.main(["render", "--jaeger", stub.url, "--trace", TRACE_ID, "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"otel-openstack: Jaeger at {stub.url} answered 500 Internal Server Error "
                                       f"for /api/v3/traces/{TRACE_ID}: storage unavailable\n")


def test_traces_lists_a_service_s_recent_traces_v3(jaeger, original, capsys):
    stub = jaeger(lambda path, q: (200, converters.to_jaeger_v3(original)) if path == "/api/v3/traces" else NO_ROUTE)
    assert cli.main(["traces", "--jaeger", stub.url, "--limit", "5", "--lookback", "2h"]) == 0
    assert capsys.readouterr().out == f"{TRACE_ID}  2026-12-03T19:02:21Z     19 spans  openstack image create\n"
    (request,) = stub.requests
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request).query))
    assert query["query.service_name"] == "openstack"
    assert query["query.num_traces"] == "5"
    start_min, start_max = (query[k] for k in ("query.start_time_min", "query.start_time_max"))
    assert start_min.endswith("Z") and start_max.endswith("Z") and start_min < start_max


def test_traces_falls_back_to_v1_search(jaeger, original, capsys):
    stub = jaeger(lambda path, q: (200, converters.to_jaeger_v1(original)) if path == "/api/traces" else NO_ROUTE)
    assert cli.main(["traces", "--jaeger", stub.url, "--service", "glance-api"]) == 0
    assert capsys.readouterr().out == f"{TRACE_ID}  2026-12-03T19:02:21Z     19 spans  openstack image create\n"
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(stub.requests[-1]).query))
    assert (query["service"], query["limit"]) == ("glance-api", "20")


def test_traces_none_found(jaeger, capsys):
    stub = jaeger(lambda path, q: (404, {"error": {"httpCode": 404, "message": "No traces found"}}))
    assert cli.main(["traces", "--jaeger", stub.url, "--lookback", "30m"]) == 0
    assert capsys.readouterr().err == f"otel-openstack: no traces of service 'openstack' in {stub.url} within 30m\n"


def test_trace_id_forms():
    assert live.trace_id_arg("E26E3B16A9BBC36ACE675CFBF790D5BC") == TRACE_ID
    assert live.trace_id_arg("ace675cfbf790d5b") == "0000000000000000ace675cfbf790d5b"  # a 64-bit Jaeger id
    with pytest.raises(TraceInputError):
        live.trace_id_arg("e26e3b16a9bbc36ace675cfbf790d5bc0")
    assert live.base_url("http://jaeger:16686/search?service=openstack") == "http://jaeger:16686"
