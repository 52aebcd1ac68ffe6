"""Sending the same spans to an OTLP backend (Jaeger, a Collector ...) as well, for real.

The instrumented ``openstack image create`` runs against the real local cloud
with ``OTEL_TRACES_EXPORTER=otel_openstack,otlp``; the OTLP side goes to
receivers started here on 127.0.0.1 and built on the official service
definitions (``opentelemetry-proto``): a gRPC ``TraceService`` (grpcio) and an
HTTP/protobuf ``POST /v1/traces`` endpoint (http.server).  Jaeger all-in-one
listens on exactly these (4317 and 4318).

Then the backend fails: a port nobody listens on, and a receiver that accepts
connections and never answers.  The CLI's own outputs must still be
complete, its exit status unchanged, and its exit delayed by no more than
``OTEL_OPENSTACK_EXPORT_TIMEOUT`` (plus a generous margin: no tight timing).
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from examples.demo import cli_command, cli_env
from examples.localcloud import make_qcow2
from examples.localcloud.cloud import venv_bin_dir
from otel_openstack.sources.otlp_json import spans_from_document
from otel_openstack.sources.spans import SpanRecord

pytestmark = pytest.mark.cloud

EXPORT_TIMEOUT = 2.0  # OTEL_OPENSTACK_EXPORT_TIMEOUT for the failing-backend runs
MARGIN = 20.0
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --- receivers ----------------------------------------------------------------------------

class GrpcReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """OTLP/gRPC TraceService on 127.0.0.1 that keeps every request."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def Export(self, request, context):  # noqa: N802 - the service's method name
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()

    def close(self) -> None:
        self.server.stop(grace=None)


class HttpReceiver:
    """OTLP/HTTP (protobuf) ``POST /v1/traces`` on 127.0.0.1 that keeps every request."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path != "/v1/traces" or "protobuf" not in self.headers.get("Content-Type", ""):
                    self.send_error(404)
                    return
                receiver.requests.append(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
                answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class BlackHole:
    """Accepts TCP connections and never reads or answers (a hung backend)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.closed = True
        for connection in self.held:
            connection.close()
        self.sock.close()


def dead_endpoint() -> str:
    """An address nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def received_spans(requests: list) -> list[SpanRecord]:
    """The receiver's spans, through protobuf's own JSON mapping (base64 ids, enum names)."""
    return [span for request in requests
            for span in spans_from_document(MessageToDict(request, preserving_proto_field_name=False))]


# --- running the CLI ------------------------------------------------------------------------

class Run:
    def __init__(self, done: subprocess.CompletedProcess, seconds: float, folder: Path | None):
        self.done, self.seconds, self.folder = done, seconds, folder

    def trace_spans(self) -> list[SpanRecord]:
        assert self.folder is not None
        return list(spans_from_document(json.loads((self.folder / "trace.json").read_text())))

    def headings(self, caller: str = "") -> list[str]:
        """requests.log's record headings (of ``caller``'s calls), image ids replaced (they differ per run)."""
        assert self.folder is not None
        log = (self.folder / "requests.log").read_text()
        return [UUID.sub("IMAGE", line) for line in log.splitlines() if line.startswith(f"### ({caller}")]


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    return make_qcow2(tmp_path_factory.mktemp("otlp-image") / "cirros.qcow2")


@pytest.fixture(scope="module")
def run_cli(cloud, image, tmp_path_factory):
    def run(endpoint: str, protocol: str, **env: str) -> Run:
        output_dir = tmp_path_factory.mktemp("otlp-out")
        environ = cli_env(cloud, output_dir)
        environ.update({
            "OTEL_TRACES_EXPORTER": "otel_openstack,otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            **env,
        })
        started = time.monotonic()
        done = subprocess.run(cli_command(venv_bin_dir(), image), env=environ, capture_output=True, text=True,
                              timeout=180)
        seconds = time.monotonic() - started
        folders = sorted(output_dir.glob("openstack-image-create-*"))
        assert len(folders) <= 1
        return Run(done, seconds, folders[0] if folders else None)
    return run


@pytest.fixture(scope="module")
def good_runs(run_cli) -> Iterator[dict[str, tuple[Run, list[SpanRecord]]]]:
    """One run per protocol with a working receiver: (run, spans the receiver got)."""
    out = {}
    grpc_receiver, http_receiver = GrpcReceiver(), HttpReceiver()
    try:
        out["grpc"] = (run_cli(grpc_receiver.endpoint, "grpc"), received_spans(grpc_receiver.requests))
        out["http/protobuf"] = (run_cli(http_receiver.endpoint, "http/protobuf"),
                                received_spans(http_receiver.requests))
    finally:
        grpc_receiver.close()
        http_receiver.close()
    yield out


def _check_cli_succeeded(run: Run, tmp_path: Path) -> None:
    """Status 0, the image created, and a complete output folder.

    Complete: every file there, and the same files again when its trace.json
    is rendered anew (nothing missing from the outputs that the trace has),
    with the CLI's calls and glance's token check at keystone in them.
    """
    assert run.done.returncode == 0, run.done.stderr
    created = json.loads(run.done.stdout)
    assert (created["name"], created["status"]) == ("cirros", "active")
    assert "Traceback" not in run.done.stderr
    assert run.folder is not None, run.done.stderr
    assert {"requests.log", "diagram.md", "body.md", "trace.json"} <= {p.name for p in run.folder.iterdir()}
    again = tmp_path / "again"
    render = subprocess.run([str(venv_bin_dir() / "otel-openstack"), "render", str(run.folder), "-o", str(again)],
                            capture_output=True, text=True, timeout=120)
    assert render.returncode == 0, render.stderr
    for name in ("requests.log", "diagram.md", "body.md"):
        assert (again / name).read_text() == (run.folder / name).read_text(), name
    # the CLI's six calls: keystone's versions and a token, glance's versions, create, upload, show
    assert [line.split(" : ")[1].split(" ")[0] for line in run.headings("openstack) REQ")] == [
        "GET", "POST", "GET", "POST", "PUT", "GET"]
    assert "### (glance-api) REQ >>> (keystone) : GET " in "\n".join(run.headings("glance-api"))


# --- tests ---------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_every_cli_span_reaches_the_otlp_receiver_as_in_trace_json(good_runs, protocol, cloud, tmp_path):
    run, received = good_runs[protocol]
    _check_cli_succeeded(run, tmp_path)
    local = [s for s in run.trace_spans() if s.service_name == "openstack"]
    # the CLI process's spans: the command's root span and one per HTTP exchange it made
    assert len(local) == 7
    assert sorted(s.span_id for s in received) == sorted(s.span_id for s in local)
    by_id = {s.span_id: s for s in received}
    for span in local:
        got = by_id[span.span_id]
        assert (got.trace_id, got.parent_id, got.name, got.kind, got.start_ns, got.end_ns, got.status_code) == \
               (span.trace_id, span.parent_id, span.name, span.kind, span.start_ns, span.end_ns, span.status_code)
        assert dict(got.attributes) == dict(span.attributes)  # headers, bodies, everything
        assert got.resource.get("service.name") == "openstack"
    # headers and bodies made it, redacted
    token_request = next(s for s in received if s.attributes.get("http.request.method") == "POST"
                         and str(s.attributes.get("url.full", "")).endswith("/v3/auth/tokens"))
    assert token_request.attributes["http.request.header.content-type"] == ("application/json",)
    assert '"password":"***"' in token_request.attributes["http.request.body.content"].replace(" ", "")
    assert re.fullmatch(r"\{SHA256\}[0-9a-f]{64}", token_request.attributes["http.response.header.x-subject-token"][0])
    everything = json.dumps([s.attributes for s in received], default=list)
    assert cloud.admin_password not in everything
    assert "gAAAAA" not in everything  # no Fernet token in clear


def test_both_protocols_give_the_same_cli_exchanges(good_runs):
    grpc_run, http_run = good_runs["grpc"][0], good_runs["http/protobuf"][0]
    assert grpc_run.headings("openstack") == http_run.headings("openstack")


@pytest.mark.parametrize("backend, protocol", [
    ("dead", "grpc"),
    ("hung", "grpc"),
    ("hung", "http/protobuf"),
])
def test_a_dead_or_hung_backend_costs_neither_outputs_nor_status(run_cli, good_runs, backend, protocol, cloud,
                                                                  record_property, tmp_path):
    hole = BlackHole() if backend == "hung" else None
    try:
        endpoint = hole.endpoint if hole else dead_endpoint()
        run = run_cli(endpoint, protocol, OTEL_OPENSTACK_EXPORT_TIMEOUT=str(EXPORT_TIMEOUT))
    finally:
        if hole:
            hole.close()
    _check_cli_succeeded(run, tmp_path)
    assert run.headings("openstack") == good_runs[protocol][0].headings("openstack")
    assert len([s for s in run.trace_spans() if s.service_name == "openstack"]) == 7
    baseline = min(r.seconds for r, _ in good_runs.values())
    delay = run.seconds - baseline
    record_property("exit_delay_seconds", round(delay, 2))
    print(f"{backend} {protocol} backend: CLI took {run.seconds:.1f}s, {delay:+.1f}s against a working backend")
    assert delay <= EXPORT_TIMEOUT + MARGIN
    assert cloud.is_running()  # the services never talk to the backend: untouched


def test_an_otlp_endpoint_in_the_callers_environment_reaches_the_local_clouds_services(
        image, tmp_path_factory, monkeypatch):
    """``OTEL_EXPORTER_OTLP_ENDPOINT=... make demo``: Jaeger gets the services' spans too, in the CLI's trace.

    The local cloud scrubs the caller's OTEL_* variables, except the OTLP
    exporter's (examples.localcloud.tracing.otlp_env): before that, only the
    CLI's spans reached the backend.
    """
    from examples.localcloud import LocalCloud

    receiver = HttpReceiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    output_dir = tmp_path_factory.mktemp("otlp-services-out")
    try:
        with LocalCloud(tmp_path_factory.mktemp("otlp-services-cloud"), middleware=True) as cloud:
            done = subprocess.run(cli_command(venv_bin_dir(), image), env=cli_env(cloud, output_dir),
                                  capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, done.stderr
        # The cloud is stopped: every service flushed its batch on the way out.
        spans = received_spans(receiver.requests)
    finally:
        receiver.close()
    (folder,) = output_dir.glob("openstack-image-create-*")
    trace_id = Run(done, 0.0, folder).trace_spans()[0].trace_id
    servers = {span.service_name for span in spans if span.kind == "server" and span.trace_id == trace_id}
    assert {"keystone", "glance-api"} <= servers
    assert any(span.service_name == "openstack" and span.trace_id == trace_id for span in spans)
