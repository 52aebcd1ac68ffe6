"""The ``otel_openstack`` exporter: spool in services, render the folder in the CLI."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from otel_openstack.capture import attributes as A
from otel_openstack.capture import cli_traces
from otel_openstack.exporters import spool
from otel_openstack.exporters.docs import OpenStackDocsExporter
from otel_openstack.exporters.spool import SpoolSpanExporter
from otel_openstack.settings import load


def _provider(exporter, name: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _client_attrs(method: str, url: str, peer: str, caller: str = "openstack") -> dict:
    return {A.HTTP_REQUEST_METHOD: method, A.URL_FULL: url, A.HTTP_RESPONSE_STATUS_CODE: 201,
            A.STATUS_TEXT: "Created", A.SERVICE_NAME: caller, A.PEER_SERVICE: peer}


@pytest.fixture
def settings(tmp_path: Path):
    return load(output_dir=str(tmp_path / "out"), spool_dir=str(tmp_path / "spool"), wait_seconds=3.0)


def _serve_in_another_process(settings, parent_context) -> threading.Thread:
    """glance-api's SERVER span, spooled by 'another process' (its own provider and exporter).

    In this process the trace is registered as a CLI trace, which a service
    process never sees: the spool exporter stands for the service's exporter.
    """
    service = _provider(SpoolSpanExporter(settings), "glance-api").get_tracer("t")

    def serve() -> None:
        with service.start_as_current_span("POST", context=parent_context, kind=SpanKind.SERVER,
                                           attributes={A.HTTP_REQUEST_METHOD: "POST",
                                                       A.URL_FULL: "http://127.0.0.1:9292/v2/images",
                                                       A.HTTP_RESPONSE_STATUS_CODE: 201,
                                                       A.STATUS_TEXT: "Created",
                                                       A.SERVICE_NAME: "glance-api"}):
            pass

    worker = threading.Thread(target=serve)
    worker.start()
    return worker


def test_cli_trace_is_rendered_with_the_server_span_another_process_spooled(settings) -> None:
    exporter = OpenStackDocsExporter(settings)
    tracer = _provider(exporter, "openstack").get_tracer("t")
    with tracer.start_as_current_span("openstack image create",
                                      attributes={A.CLI_COMMAND: "openstack image create"}) as root:
        trace_id = f"{root.get_span_context().trace_id:032x}"
        cli_traces.begin(trace_id)
        with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT,
                                          attributes=_client_attrs("POST", "http://127.0.0.1:9292/v2/images",
                                                                   "image-service-by-url")) as client:
            _serve_in_another_process(settings, trace.set_span_in_context(client)).join()
        assert spool.read_documents(Path(settings.spool_dir), trace_id), "the service's span waits in the spool"
    assert len(exporter.written) == 1
    folder = exporter.written[0]
    assert folder.name.startswith("openstack-image-create-")
    # the callee is named by its own SERVER span, not by the client's guess
    assert (folder / "diagram.md").read_text() == (
        "openstack->>+glance-api: POST /v2/images\n"
        "glance-api-->>-openstack: 201 Created /v2/images\n")
    assert not cli_traces.is_cli_trace(trace_id)
    assert spool.read_documents(Path(settings.spool_dir), trace_id) == [], "the consumed spans are removed"
    assert spool.batch_files(Path(settings.spool_dir)) == []


def test_announced_server_span_is_waited_for(settings) -> None:
    exporter = OpenStackDocsExporter(settings)
    tracer = _provider(exporter, "openstack").get_tracer("t")
    with tracer.start_as_current_span("openstack image create",
                                      attributes={A.CLI_COMMAND: "openstack image create"}) as root:
        cli_traces.begin(f"{root.get_span_context().trace_id:032x}")
        with tracer.start_as_current_span("POST", kind=SpanKind.CLIENT,
                                          attributes=_client_attrs("POST", "http://127.0.0.1:9292/v2/images",
                                                                   "glance-api")) as client:
            parent = trace.set_span_in_context(client)
            server_id: list[str] = []
            service = _provider(SpoolSpanExporter(settings), "glance-api").get_tracer("t")
            # The span exists now (so its id can be announced) but ends, and is spooled, later.
            server = service.start_span("POST", context=parent, kind=SpanKind.SERVER,
                                        attributes={A.HTTP_REQUEST_METHOD: "POST", A.SERVICE_NAME: "glance-api",
                                                    A.URL_FULL: "http://127.0.0.1:9292/v2/images",
                                                    A.HTTP_RESPONSE_STATUS_CODE: 201})
            ctx = server.get_span_context()
            server_id.append(f"{ctx.span_id:016x}")
            client.set_attribute(A.TRACERESPONSE, f"00-{ctx.trace_id:032x}-{server_id[0]}-01")
            threading.Timer(0.6, server.end).start()
    folder = exporter.written[0]
    import json

    spans = json.loads((folder / "trace.json").read_text())
    ids = [s["spanId"] for rs in spans["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert server_id[0] in ids


def test_an_announced_span_that_never_comes_is_named_and_the_folder_still_written(
        settings, caplog: pytest.LogCaptureFixture) -> None:
    settings = load(output_dir=settings.output_dir, spool_dir=settings.spool_dir, wait_seconds=0.3)
    exporter = OpenStackDocsExporter(settings)
    tracer = _provider(exporter, "openstack").get_tracer("t")
    with caplog.at_level(logging.WARNING):
        with tracer.start_as_current_span("openstack image list",
                                          attributes={A.CLI_COMMAND: "openstack image list"}) as root:
            trace_id = f"{root.get_span_context().trace_id:032x}"
            cli_traces.begin(trace_id)
            attrs = _client_attrs("GET", "http://127.0.0.1:9292/v2/images", "glance-api")
            attrs[A.TRACERESPONSE] = f"00-{trace_id}-00f067aa0ba902b7-01"
            with tracer.start_as_current_span("GET", kind=SpanKind.CLIENT, attributes=attrs):
                pass
    assert len(exporter.written) == 1
    assert "otel-openstack: 1 server span(s) did not arrive within 0.3s: 00f067aa0ba902b7" in caplog.text
    assert (exporter.written[0] / "diagram.md").read_text().startswith("openstack->>+glance-api: GET /v2/images\n")


def test_spans_of_other_traces_go_to_the_spool(settings) -> None:
    exporter = OpenStackDocsExporter(settings)
    tracer = _provider(exporter, "glance-api").get_tracer("t")
    with tracer.start_as_current_span("GET", kind=SpanKind.SERVER) as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
    documents = spool.read_documents(Path(settings.spool_dir), trace_id)
    assert len(documents) == 1
    assert exporter.written == []


def test_outputs_can_be_switched_off(tmp_path: Path) -> None:
    exporter = OpenStackDocsExporter(load(output_dir=str(tmp_path / "out"), spool_dir=str(tmp_path / "s"),
                                          write_outputs=False))
    tracer = _provider(exporter, "openstack").get_tracer("t")
    with tracer.start_as_current_span("openstack", attributes={A.CLI_COMMAND: "openstack"}) as root:
        cli_traces.begin(f"{root.get_span_context().trace_id:032x}")
    assert exporter.written == []
    assert not (tmp_path / "out").exists()
