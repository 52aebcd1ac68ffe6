"""Distro and configurator: ``opentelemetry-instrument openstack ...`` with no other set-up.

The distro only sets defaults (a user's environment always wins): our exporter
on, OTLP added when an OTLP endpoint is configured, metrics and logs off (their
OTLP default would otherwise try ``localhost:4317`` at every exit), and
``service.name`` from the program (``openstack``).  It also hands our capture
hooks to the upstream ``requests`` instrumentor.

The configurator is the SDK's own, with one change: each exporter other than
ours gets a processor whose shutdown is bounded, so an unreachable OTLP
endpoint cannot hold the CLI's exit for longer than
``OTEL_OPENSTACK_EXPORT_TIMEOUT``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.distro import BaseDistro
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_openstack import naming
from otel_openstack.settings import Settings, load

_logger = logging.getLogger(__name__)

OUR_EXPORTERS = ("otel_openstack", "otel_openstack_spool")


def environment_defaults(environ: dict[str, str] | os._Environ, argv0: str) -> dict[str, str]:
    """The variables the distro sets when the user has not (pure: returns them)."""
    out: dict[str, str] = {}
    if not environ.get("OTEL_TRACES_EXPORTER"):
        otlp = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        out["OTEL_TRACES_EXPORTER"] = "otel_openstack,otlp" if otlp else "otel_openstack"
    for signal in ("OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"):
        if not environ.get(signal):
            out[signal] = "none"
    if not environ.get("OTEL_SERVICE_NAME") and "service.name=" not in environ.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        program = os.path.basename(argv0)
        if program.endswith(".py"):
            program = program[:-3]
        if program in naming.PROGRAM_NAMES:
            out["OTEL_SERVICE_NAME"] = naming.PROGRAM_NAMES[program]
    return out


class OpenStackDistro(BaseDistro):
    """``opentelemetry_distro`` entry point."""

    def _configure(self, **kwargs: Any) -> None:
        os.environ.update(environment_defaults(os.environ, sys.argv[0] if sys.argv else ""))

    def load_instrumentor(self, entry_point: Any, **kwargs: Any) -> None:
        if entry_point.name == "requests":
            try:
                from otel_openstack.instrumentation.requests import hooks

                kwargs.update(hooks(load()))
            except Exception as exc:  # noqa: BLE001
                _logger.warning("otel-openstack: requests capture hooks not installed: %s", exc)
        super().load_instrumentor(entry_point, **kwargs)


class BoundedProcessor(SpanProcessor):
    """Delegates to a processor; its shutdown and flush give up after ``timeout`` s.

    The abandoned work runs on in a daemon thread, which the interpreter does
    not wait for: spans not yet sent to an unreachable backend are lost, the
    command's exit is not delayed.
    """

    def __init__(self, inner: SpanProcessor, timeout: float):
        self.inner = inner
        self.timeout = timeout

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.inner.on_end(span)

    def _bounded(self, func: Any, *args: Any) -> bool:
        result: list[Any] = []
        worker = threading.Thread(target=lambda: result.append(func(*args)), daemon=True,
                                  name="otel-openstack-bounded")
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            _logger.warning("otel-openstack: exporter did not finish within %.1fs; moving on", self.timeout)
            return False
        return bool(result[0]) if result else True

    def shutdown(self) -> None:
        self._bounded(self.inner.shutdown)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._bounded(self.inner.force_flush, min(timeout_millis, int(self.timeout * 1000)))


class _Taken(SpanExporter):
    """Delegates to an exporter, telling ``taken`` how many spans each export takes off the queue."""

    def __init__(self, inner: SpanExporter, taken: Any):
        self.inner = inner
        self._taken = taken

    def export(self, spans: Any) -> Any:
        self._taken(len(spans))
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class SpoolProcessor(BatchSpanProcessor):
    """The batch processor of our exporters: it never drops a span.

    The SDK's processor drops spans once ``max_queue_size`` wait, which a busy
    service reaches as soon as its export thread gets less CPU than its request
    threads (measured: 6 to 12 % of 10,000 requests lost on 3 gunicorn workers,
    "Queue full, dropping Span.").  For us a lost span is a hole in a command's
    documentation, and spooling one span costs well under a millisecond, after
    its response was sent: so past the limit, the thread that ends a span
    spools it itself, and overload slows that thread instead of losing data.
    Memory stays bounded by the queue size.
    """

    def __init__(self, exporter: SpanExporter, schedule_delay_millis: float, max_queue_size: int | None = None):
        if max_queue_size is None:
            try:
                max_queue_size = int(os.environ.get("OTEL_BSP_MAX_QUEUE_SIZE", "2048"))
            except ValueError:
                max_queue_size = 2048
        self._exporter = exporter
        self._limit = max_queue_size
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        super().__init__(_Taken(exporter, self._taken), max_queue_size=max_queue_size,
                         schedule_delay_millis=schedule_delay_millis)
        forked = weakref.WeakMethod(self._forked)

        def after_fork_in_child() -> None:
            method = forked()
            if method is not None:
                method()

        os.register_at_fork(after_in_child=after_fork_in_child)

    def _taken(self, count: int) -> None:
        with self._waiting_lock:
            self._waiting = max(0, self._waiting - count)

    def _forked(self) -> None:
        # The child's queue starts empty (the SDK re-creates it after fork).
        self._waiting_lock = threading.Lock()
        self._waiting = 0

    def on_end(self, span: ReadableSpan) -> None:
        if not (span.context and span.context.trace_flags.sampled):
            return
        with self._waiting_lock:
            queued = self._waiting < self._limit
            if queued:
                self._waiting += 1
        if queued:
            super().on_end(span)
            return
        try:
            self._exporter.export([span])
        except Exception as exc:  # noqa: BLE001 - our exporters report their own failures
            from otel_openstack.capture.guard import report

            report("spooling a span from the request thread", exc)


def processor_factory(settings: Settings):  # type: ignore[no-untyped-def]
    """The ``export_span_processor`` given to the SDK configurator."""

    def make(exporter: SpanExporter) -> SpanProcessor:
        from otel_openstack.exporters.docs import OpenStackDocsExporter

        ours: tuple[type, ...] = (OpenStackDocsExporter,)
        # Not imported for the check: unless the spool module is loaded, the
        # exporter is no SpoolSpanExporter (and a CLI needs it only at exit).
        spool = sys.modules.get("otel_openstack.exporters.spool")
        if spool is not None:
            ours += (spool.SpoolSpanExporter,)
        if isinstance(exporter, ours):
            return SpoolProcessor(exporter, schedule_delay_millis=max(1, settings.flush_millis))
        return BoundedProcessor(BatchSpanProcessor(exporter), settings.export_timeout)

    return make


#: Settings only the SDK's own configurator honours: when one is set, it does the set-up.
_SDK_CONFIGURATOR_SETTINGS = (
    "OTEL_CONFIG_FILE", "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER", "OTEL_PYTHON_TRACER_CONFIGURATOR",
    "OTEL_PYTHON_METER_CONFIGURATOR", "OTEL_PYTHON_LOGGER_CONFIGURATOR",
)


def _exporter_names(variable: str) -> list[str]:
    value = os.environ.get(variable, "").strip()
    if not value or value.lower() == "none":
        return []
    return [name.strip() for name in value.split(",")]


def _ours_alone(kwargs: dict[str, Any]) -> list[str] | None:
    """The trace exporters to set up without the SDK configurator, or None when it is needed.

    The SDK's configurator imports the metrics and logs SDKs and looks up a
    dozen entry-point groups, a tenth of a second that an ``openstack``
    command pays at every start.  With only our exporters, no metrics or logs
    exporter and none of the settings only it knows, what it does comes down
    to: a resource, a ``TracerProvider``, our exporters with their processor.
    """
    if set(kwargs) - {"auto_instrumentation_version"}:
        return None
    if any(os.environ.get(name, "").strip() for name in _SDK_CONFIGURATOR_SETTINGS):
        return None
    if os.environ.get("OTEL_PYTHON_ID_GENERATOR", "random").strip() != "random":
        return None
    if os.environ.get("OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED", "false").strip().lower() == "true":
        return None
    if _exporter_names("OTEL_METRICS_EXPORTER") or _exporter_names("OTEL_LOGS_EXPORTER"):
        return None
    names = _exporter_names("OTEL_TRACES_EXPORTER")
    if not names or any(name not in OUR_EXPORTERS for name in names):
        return None
    from opentelemetry.util._importlib_metadata import entry_points

    if list(entry_points(group="_opentelemetry_opamp")):  # an OpAMP agent hooks into the SDK's set-up
        return None
    return list(dict.fromkeys(names))


def _configure_ours_alone(names: list[str], settings: Settings, version: str | None) -> None:
    """What ``_OTelSDKConfigurator`` does for traces, for our exporters alone (see _ours_alone)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider(resource=Resource.create({"telemetry.auto.version": version} if version else {}))
    trace.set_tracer_provider(provider)
    make = processor_factory(settings)
    for name in names:
        if name == "otel_openstack":
            from otel_openstack.exporters.docs import OpenStackDocsExporter

            provider.add_span_processor(make(OpenStackDocsExporter()))
        else:
            from otel_openstack.exporters.spool import SpoolSpanExporter

            provider.add_span_processor(make(SpoolSpanExporter()))


class OpenStackConfigurator:
    """``opentelemetry_configurator`` entry point.

    The SDK's own configurator (``_OTelSDKConfigurator``), with our processors,
    unless only our exporters are configured: that set-up is done directly
    (same resource, provider, exporters and processors), without loading the
    metrics and logs SDKs nobody uses then.
    """

    def configure(self, **kwargs: Any) -> None:
        self._configure(**kwargs)

    def _configure(self, **kwargs: Any) -> None:
        settings = load()
        try:
            names = _ours_alone(kwargs)
            if names is not None:
                _configure_ours_alone(names, settings, kwargs.get("auto_instrumentation_version"))
                return
            from opentelemetry.sdk._configuration import _OTelSDKConfigurator

            _OTelSDKConfigurator._configure(self, export_span_processor=processor_factory(settings),  # type: ignore[arg-type]
                                            **kwargs)
        except Exception as exc:  # noqa: BLE001 - a bad OTEL_* value must not stop the program
            print(f"otel-openstack: OpenTelemetry set-up failed ({exc}); "
                  f"falling back to the otel_openstack exporter alone", file=sys.stderr)
            if not _configured():
                from opentelemetry.sdk.trace import TracerProvider
                from otel_openstack.exporters.docs import OpenStackDocsExporter

                provider = TracerProvider()
                provider.add_span_processor(processor_factory(settings)(OpenStackDocsExporter()))
                trace.set_tracer_provider(provider)


def _configured() -> bool:
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


_setup_lock = threading.Lock()


def configure_if_unconfigured(settings: Settings) -> bool:
    """Configure the SDK and client instrumentation unless something already did.

    For a service whose only contact with us is the paste filter: it then
    still exports spans and captures the calls it makes (keystonemiddleware
    validating tokens, swiftclient storing images).  Returns True if it acted.
    """
    with _setup_lock:
        if _configured():
            return False
        os.environ.update(environment_defaults(os.environ, sys.argv[0] if sys.argv else ""))
        OpenStackConfigurator().configure()
        from otel_openstack.instrumentation.keystoneauth import KeystoneauthInstrumentor
        from otel_openstack.instrumentation.requests import instrument_requests

        try:
            KeystoneauthInstrumentor().instrument()
        except Exception as exc:  # noqa: BLE001
            _logger.warning("otel-openstack: keystoneauth not instrumented: %s", exc)
        try:
            instrument_requests(settings)
        except Exception as exc:  # noqa: BLE001
            _logger.warning("otel-openstack: requests not instrumented: %s", exc)
        return True
