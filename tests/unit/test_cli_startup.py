"""What an instrumented CLI process pays before and after its command.

Start-up loads only what capture needs (the renderer, the model and the
spool's encoder wait for the command's end), and the docs exporter imports
the renderer while it waits for the services' spans instead of before.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from otel_openstack.exporters import spool
from otel_openstack.exporters.docs import OpenStackDocsExporter
from otel_openstack.settings import load

_TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_start_up_does_not_load_the_renderer_or_the_spool() -> None:
    code = """
import json, sys
from opentelemetry.sdk.trace import TracerProvider
from otel_openstack.distro import OpenStackDistro, processor_factory
from otel_openstack.exporters.docs import OpenStackDocsExporter
from otel_openstack.instrumentation.cli import OpenStackCLIInstrumentor
from otel_openstack.instrumentation.keystoneauth import KeystoneauthInstrumentor
from otel_openstack.instrumentation.requests import hooks
from otel_openstack.settings import load
settings = load()
TracerProvider().add_span_processor(processor_factory(settings)(OpenStackDocsExporter(settings)))
print(json.dumps(sorted(m for m in sys.modules if m.startswith("otel_openstack"))))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    loaded = json.loads(out)
    for lazy in ("otel_openstack.pipeline", "otel_openstack.render", "otel_openstack.model",
                 "otel_openstack.sources", "otel_openstack.exporters.spool"):
        assert not [m for m in loaded if m == lazy or m.startswith(lazy + ".")], f"{lazy} loaded at start-up"


def test_a_spool_exporter_still_gets_the_spool_processor(tmp_path: Path) -> None:
    from otel_openstack.distro import SpoolProcessor, processor_factory

    settings = load(spool_dir=str(tmp_path))
    processor = processor_factory(settings)(spool.SpoolSpanExporter(settings))
    assert isinstance(processor, SpoolProcessor)
    processor.shutdown()


def _announcing_document() -> dict:
    return {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": _TRACE, "spanId": "00f067aa0ba902b7", "name": "GET", "kind": 3,
        "attributes": [{"key": "openstack.http.response.traceresponse",
                        "value": {"stringValue": f"00-{_TRACE}-b7ad6b7169203331-01"}}]}]}]}]}


def _spool_the_announced_span(settings, after: float) -> threading.Timer:
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

    def serve() -> None:
        parent = set_span_in_context(NonRecordingSpan(SpanContext(int(_TRACE, 16), 0x00F067AA0BA902B7, False,
                                                                  TraceFlags(1))))
        tracer = TracerProvider().get_tracer("t")
        span = tracer.start_span("GET", context=parent)
        span._context = SpanContext(int(_TRACE, 16), 0xB7AD6B7169203331, False, TraceFlags(1))
        span.end()
        spool.write_spans(Path(settings.spool_dir), [span])

    timer = threading.Timer(after, serve)
    timer.start()
    return timer


def test_collect_does_its_other_work_while_it_waits(tmp_path: Path) -> None:
    settings = load(spool_dir=str(tmp_path / "spool"), wait_seconds=10.0)
    exporter = OpenStackDocsExporter(settings)
    done: list[int] = []
    steps = [lambda n=n: done.append(n) for n in range(3)]
    timer = _spool_the_announced_span(settings, after=0.5)
    documents, _, missing = exporter.collect(_TRACE, [_announcing_document()], meanwhile=steps)
    timer.join()
    assert missing == set()
    assert done == [0, 1, 2], "the steps are done while the announced span has not arrived"
    span_ids = {s["spanId"] for d in documents for rs in d["resourceSpans"]
                for ss in rs["scopeSpans"] for s in ss["spans"]}
    assert span_ids == {"00f067aa0ba902b7", "b7ad6b7169203331"}


def test_collect_leaves_the_other_work_when_nothing_is_missing(tmp_path: Path) -> None:
    settings = load(spool_dir=str(tmp_path / "spool"), wait_seconds=10.0)
    _spool_the_announced_span(settings, after=0).join()
    done: list[int] = []
    _, _, missing = OpenStackDocsExporter(settings).collect(_TRACE, [_announcing_document()],
                                                           meanwhile=[lambda: done.append(1)])
    assert missing == set() and done == []
