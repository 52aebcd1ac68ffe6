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


_CONFIGURE = """
import json, sys
from opentelemetry import trace
from otel_openstack.distro import OpenStackConfigurator
OpenStackConfigurator().configure(auto_instrumentation_version="9.9b9")
provider = trace.get_tracer_provider()
processors = provider._active_span_processor._span_processors
print(json.dumps({
    "sdk_configurator": "opentelemetry.sdk._configuration" in sys.modules,
    "resource": dict(provider.resource.attributes),
    "processors": [type(p).__name__ for p in processors],
    "exporters": [type(getattr(p, "_exporter", None) or p.inner).__name__ for p in processors],
    "sampler": type(provider.sampler).__name__,
    "id_generator": type(provider.id_generator).__name__,
}))
"""


def _configure(tmp_path: Path, **environ: str) -> dict:
    env = {key: value for key, value in __import__("os").environ.items()
           if not key.startswith(("OTEL_", "OS_"))}
    env.update({"OTEL_OPENSTACK_SPOOL_DIR": str(tmp_path / "spool"), "OTEL_SERVICE_NAME": "openstack",
                "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test", **environ})
    out = subprocess.run([sys.executable, "-c", _CONFIGURE], env=env, check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return json.loads(out)


def test_our_exporters_alone_are_set_up_as_the_sdk_would_without_loading_its_configurator(tmp_path: Path) -> None:
    ours = {"OTEL_TRACES_EXPORTER": "otel_openstack", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
    fast = _configure(tmp_path, **ours)
    # The same environment, with a setting only the SDK's configurator knows (a tracer configurator
    # that does not exist: it warns and goes on with the default).
    sdk = _configure(tmp_path, **ours, OTEL_PYTHON_TRACER_CONFIGURATOR="no-such-configurator")
    assert not fast["sdk_configurator"] and sdk["sdk_configurator"]
    instance = "service.instance.id"  # random per process
    assert fast["resource"].keys() == sdk["resource"].keys()
    assert {k: v for k, v in fast["resource"].items() if k != instance} == \
        {k: v for k, v in sdk["resource"].items() if k != instance}
    assert fast["resource"]["telemetry.auto.version"] == "9.9b9"
    assert fast["resource"]["service.name"] == "openstack"
    assert fast["resource"]["deployment.environment"] == "test"
    for key in ("processors", "exporters", "sampler", "id_generator"):
        assert fast[key] == sdk[key], key
    assert fast["processors"] == ["SpoolProcessor"] and fast["exporters"] == ["OpenStackDocsExporter"]


def test_any_other_exporter_goes_through_the_sdk_configurator(tmp_path: Path) -> None:
    both = _configure(tmp_path, OTEL_TRACES_EXPORTER="otel_openstack,console", OTEL_METRICS_EXPORTER="none",
                      OTEL_LOGS_EXPORTER="none")
    assert both["sdk_configurator"]
    assert both["processors"] == ["SpoolProcessor", "BoundedProcessor"]
    assert both["exporters"] == ["OpenStackDocsExporter", "BatchSpanProcessor"]
    metrics = _configure(tmp_path, OTEL_TRACES_EXPORTER="otel_openstack_spool", OTEL_METRICS_EXPORTER="console",
                         OTEL_LOGS_EXPORTER="none")
    assert metrics["sdk_configurator"] and metrics["exporters"] == ["SpoolSpanExporter"]
