"""Fixtures of the reliability tests: figures, an in-memory tracer, a private work folder.

Heavy things run in subprocesses (gunicorn, wsgiref, eventlet, the CLI), so
this process never sets up the OpenTelemetry SDK for real.  The few in-process
tests that need a tracer get the ``memory_spans`` fixture: it adds an
in-memory exporter to the global provider that ``tests/unit/conftest.py``
installs when the unit tests are collected in the same run, or installs one
itself when they are not (a fixture, not an import-time side effect, so it
never races that conftest's check).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.figures import Figures, write_json

_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    """The session's figures; written to ``test-output/reliability.json`` at the end (if there are any)."""
    yield _FIGURES
    if _FIGURES.values:
        write_json(_FIGURES)


@pytest.fixture(scope="session")
def _memory_exporter():  # type: ignore[no-untyped-def]
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def memory_spans(_memory_exporter, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """An in-memory exporter on the global provider, emptied; no OTEL_OPENSTACK_* from outside."""
    for name in list(os.environ):
        if name.startswith("OTEL_OPENSTACK_"):
            monkeypatch.delenv(name)
    _memory_exporter.clear()
    yield _memory_exporter
    _memory_exporter.clear()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A private folder for one test's servers (logs, spool, files)."""
    os.chmod(tmp_path, 0o700)
    return tmp_path


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the strict xfail tests that did fail: each pins a bug reported to another module's owners."""
    if report.when == "call" and report.skipped and getattr(report, "wasxfail", None) is not None:
        _FIGURES.add("known_bugs")
