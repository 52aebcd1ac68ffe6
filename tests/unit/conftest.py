"""Shared fixtures for the capture / instrumentation unit tests.

OpenTelemetry allows the global tracer provider to be set once per process,
and the WSGI middleware (through the upstream ``OpenTelemetryMiddleware``)
always uses the global one; it would also configure the SDK itself if it found
none.  So one provider with an in-memory exporter is installed here, at import
time, before any test can build a middleware, and every test gets it back
emptied through the ``spans`` fixture.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from capture_helpers import Server

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(PROVIDER)
assert trace.get_tracer_provider() is PROVIDER, "another global tracer provider was installed first"


@pytest.fixture
def provider() -> TracerProvider:
    return PROVIDER


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The in-memory exporter of the global provider, empty at the start of the test."""
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


@pytest.fixture(autouse=True)
def _isolate_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo what instrumented code leaves behind in the process.

    The CLI instrumentor names the process ``openstack``, osc's shell turns
    the root logger to DEBUG and installs warning filters; none of it may leak
    into the next test.
    """
    from otel_openstack.capture import local

    for name in list(os.environ):
        if name.startswith("OTEL_OPENSTACK_"):
            monkeypatch.delenv(name)
    saved_default = list(local._process_default)
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    saved_filters = list(warnings.filters)
    yield
    local._process_default[:] = saved_default
    root.setLevel(saved_level)
    root.handlers[:] = saved_handlers
    warnings.filters[:] = saved_filters


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[..., Any]], Server]]:
    """``serve(app)`` -> a running :class:`Server`; all are stopped after the test."""
    started: list[Server] = []

    def start(app: Callable[..., Any]) -> Server:
        server = Server(app)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
