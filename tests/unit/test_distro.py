"""Distro defaults and the bounded processor."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from otel_openstack.distro import BoundedProcessor, OpenStackDistro, environment_defaults, processor_factory
from otel_openstack.exporters.spool import SpoolSpanExporter
from otel_openstack.settings import load

OFF = {"OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}


@pytest.mark.parametrize("environ, argv0, expected", [
    ({}, "/usr/local/bin/openstack",
     {"OTEL_TRACES_EXPORTER": "otel_openstack", **OFF, "OTEL_SERVICE_NAME": "openstack"}),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "/usr/local/bin/openstack",
     {"OTEL_TRACES_EXPORTER": "otel_openstack,otlp", **OFF, "OTEL_SERVICE_NAME": "openstack"}),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, "openstack",
     {"OTEL_TRACES_EXPORTER": "otel_openstack,otlp", **OFF, "OTEL_SERVICE_NAME": "openstack"}),
    ({"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_SERVICE_NAME": "mine"},
     "/usr/local/bin/openstack", {"OTEL_LOGS_EXPORTER": "none"}),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "otlp",
      "OTEL_RESOURCE_ATTRIBUTES": "deployment=x,service.name=cli"}, "/usr/local/bin/openstack", {}),
    ({}, "/usr/local/bin/keystone-wsgi-public",
     {"OTEL_TRACES_EXPORTER": "otel_openstack", **OFF, "OTEL_SERVICE_NAME": "keystone"}),
    ({}, "/usr/local/bin/glance-wsgi-api",
     {"OTEL_TRACES_EXPORTER": "otel_openstack", **OFF, "OTEL_SERVICE_NAME": "glance-api"}),
    # a program whose name already is devstack's participant name keeps it
    ({}, "/usr/local/bin/nova-compute",
     {"OTEL_TRACES_EXPORTER": "otel_openstack", **OFF, "OTEL_SERVICE_NAME": "nova-compute"}),
    # an unknown program is left to the SDK
    ({}, "/usr/bin/some-tool", {"OTEL_TRACES_EXPORTER": "otel_openstack", **OFF}),
    ({"OTEL_TRACES_EXPORTER": ""}, "", {"OTEL_TRACES_EXPORTER": "otel_openstack", **OFF}),
])
def test_environment_defaults(environ: dict[str, str], argv0: str, expected: dict[str, str]) -> None:
    before = dict(environ)
    assert environment_defaults(environ, argv0) == expected
    assert environ == before  # pure


def test_distro_configure_keeps_the_users_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["/usr/local/bin/openstack", "server", "list"])
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    for name in ("OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(name, raising=False)
    OpenStackDistro()._configure()
    assert (os.environ["OTEL_TRACES_EXPORTER"], os.environ["OTEL_METRICS_EXPORTER"],
            os.environ["OTEL_LOGS_EXPORTER"], os.environ["OTEL_SERVICE_NAME"]) == \
        ("console", "none", "none", "openstack")


class _EntryPoint:
    def __init__(self, name: str):
        self.name = name
        self.kwargs: dict[str, Any] = {}

    def load(self) -> Any:
        entry = self

        class Instrumentor:
            def instrument(self, **kwargs: Any) -> None:
                entry.kwargs = kwargs

        return Instrumentor


def test_requests_instrumentor_gets_our_hooks() -> None:
    entry = _EntryPoint("requests")
    OpenStackDistro().load_instrumentor(entry, skip_dep_check=True)
    assert sorted(entry.kwargs) == ["request_hook", "response_hook", "skip_dep_check"]
    assert entry.kwargs["request_hook"].__name__ == "request_hook"


def test_other_instrumentors_get_no_hooks() -> None:
    entry = _EntryPoint("urllib3")
    OpenStackDistro().load_instrumentor(entry, skip_dep_check=True)
    assert entry.kwargs == {"skip_dep_check": True}


class _Recorder(SpanProcessor):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        self.block = False

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.calls.append("start")

    def on_end(self, span: Any) -> None:
        self.calls.append("end")

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        if self.block:
            self.release.wait()  # "forever": until the test lets it go

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.calls.append(f"flush {timeout_millis}")
        if self.block:
            self.release.wait()
        return True


def test_bounded_shutdown_returns_when_the_inner_one_hangs() -> None:
    inner = _Recorder()
    inner.block = True
    bounded = BoundedProcessor(inner, timeout=0.2)
    done = threading.Event()
    caller = threading.Thread(target=lambda: (bounded.shutdown(), done.set()), daemon=True)
    try:
        caller.start()
        assert done.wait(5), "shutdown did not return"
        assert inner.calls == ["shutdown"]
        assert bounded.force_flush() is False
    finally:
        inner.release.set()


def test_bounded_flush_passes_results_and_caps_the_timeout() -> None:
    inner = _Recorder()
    bounded = BoundedProcessor(inner, timeout=0.2)
    assert bounded.force_flush(30000) is True
    assert bounded.force_flush(50) is True
    bounded.on_start(object())
    bounded.on_end(object())
    bounded.shutdown()
    assert inner.calls == ["flush 200", "flush 50", "start", "end", "shutdown"]


class _Exporter(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def test_processor_factory(tmp_path: Any) -> None:
    settings = load({}, export_timeout=1.5, flush_millis=0, spool_dir=str(tmp_path))
    make = processor_factory(settings)
    ours = make(SpoolSpanExporter(settings))
    other = make(_Exporter())
    try:
        assert isinstance(ours, BatchSpanProcessor)
        assert isinstance(other, BoundedProcessor)
        assert other.timeout == 1.5
        assert type(other.inner) is BatchSpanProcessor
    finally:
        ours.shutdown()
        other.shutdown()
