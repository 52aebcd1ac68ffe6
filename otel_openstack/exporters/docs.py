"""``OTEL_TRACES_EXPORTER=otel_openstack``: the same exporter in every process.

In a service it spools spans.  In the CLI process it holds the command's
spans until the command's root span ends, then collects what the services
spooled for that trace, waiting (bounded) for every server span that a
``traceresponse`` header announced, and writes the output folder through the
same pipeline ``otel-openstack render`` uses.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_openstack.capture import attributes as A
from otel_openstack.capture import cli_traces
from otel_openstack.capture.guard import report
from otel_openstack.settings import Settings, load

# The spool (its OTLP encoder), the model and the renderer are imported when
# first needed: a CLI process needs them only once its command has ended, and
# then imports them while it waits for the services' spans (see collect()).

_logger = logging.getLogger(__name__)
#: How often the CLI looks for newly spooled spans while it waits.
_POLL_SECONDS = 0.01
#: What rendering the output folder needs, imported while waiting for spans.
_RENDER_MODULES = ("otel_openstack.model.build", "otel_openstack.render.options", "otel_openstack.pipeline")


def announced_server_spans(documents: Sequence[dict[str, Any]]) -> set[str]:
    """Span ids that servers announced in ``traceresponse`` headers."""
    from otel_openstack.sources.otlp_json import spans_from_document

    wanted = set()
    for document in documents:
        for span in spans_from_document(document):
            value = span.attributes.get(A.TRACERESPONSE)
            if isinstance(value, str):
                parts = value.split("-")
                if len(parts) == 4 and len(parts[2]) == 16:
                    wanted.add(parts[2].lower())
    return wanted


def present_spans(documents: Sequence[dict[str, Any]]) -> set[str]:
    from otel_openstack.sources.otlp_json import spans_from_document

    return {span.span_id for document in documents for span in spans_from_document(document)}


def _import_quietly(name: str) -> Callable[[], None]:
    """An import to do while waiting; a failure is left to the import that needs the module."""

    def run() -> None:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - finish_command imports it again and reports
            pass

    return run


def _is_cli_root(span: ReadableSpan) -> bool:
    return span.parent is None and (span.attributes or {}).get(A.CLI_COMMAND) is not None


class OpenStackDocsExporter(SpanExporter):
    """Spool in services; render the command's folder in the CLI."""

    def __init__(self, settings: Settings | None = None, **kwargs: Any):
        self.settings = settings or load(**kwargs)
        self.spool = Path(self.settings.spool_dir)
        self._held: dict[str, list[ReadableSpan]] = {}
        self._lock = threading.Lock()
        self.written: list[Path] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        to_spool: list[ReadableSpan] = []
        finished: list[str] = []
        with self._lock:
            for span in spans:
                trace_id = f"{span.context.trace_id:032x}"
                if cli_traces.is_cli_trace(trace_id):
                    self._held.setdefault(trace_id, []).append(span)
                    if _is_cli_root(span):
                        finished.append(trace_id)
                else:
                    to_spool.append(span)
        result = SpanExportResult.SUCCESS
        if to_spool:
            try:
                from otel_openstack.exporters import spool as spool_files

                spool_files.write_spans(self.spool, to_spool)
            except Exception as exc:  # noqa: BLE001
                report(f"writing spans to the spool {self.spool}", exc)
                result = SpanExportResult.FAILURE
        for trace_id in finished:
            with self._lock:
                held = self._held.pop(trace_id, [])
            cli_traces.end(trace_id)
            try:
                self.finish_command(trace_id, held)
            except Exception as exc:  # noqa: BLE001
                report("writing the otel-openstack output folder", exc)
                result = SpanExportResult.FAILURE
        return result

    def collect(self, trace_id: str, own: list[dict[str, Any]], since_ns: int | None = None,
                meanwhile: Sequence[Callable[[], Any]] = ()) -> tuple[list[dict[str, Any]], list[Path], set[str]]:
        """Own spans plus spooled ones; waits until every announced span arrived.

        Returns the documents, the spool files used and the span ids that were
        announced but never arrived (named in the output as a warning).
        ``since_ns``, the command's start, spares reading older spool files.
        While waiting, the steps of ``meanwhile`` (the renderer's imports) are
        done one per poll instead of sleeping; whatever is left of them is the
        caller's.
        """
        from otel_openstack.exporters import spool as spool_files

        deadline = time.monotonic() + self.settings.wait_seconds
        steps = list(meanwhile)
        announced = announced_server_spans(own)
        present = present_spans(own)
        seen: set[Path] = set()
        while True:
            polled = time.monotonic()
            found = spool_files.read_documents(self.spool, trace_id, since_ns)
            new = [doc for path, doc in found if path not in seen]
            seen.update(path for path, _ in found)
            announced |= announced_server_spans(new)
            present |= present_spans(new)
            missing = announced - present
            if not missing or time.monotonic() >= deadline:
                return own + [doc for _, doc in found], [path for path, _ in found], missing
            if steps:
                steps.pop(0)()
            else:
                # A poll is cheap on a quiet spool; on a busy one, polling takes at most a third of the time.
                time.sleep(max(_POLL_SECONDS, 2 * (time.monotonic() - polled)))

    def finish_command(self, trace_id: str, held: list[ReadableSpan]) -> Path | None:
        if not self.settings.write_outputs:
            return None
        from otel_openstack.exporters import spool as spool_files

        since_ns = min((span.start_time for span in held if span.start_time), default=None)
        documents, _, missing = self.collect(trace_id, [spool_files.encode(held)], since_ns,
                                             meanwhile=[_import_quietly(name) for name in _RENDER_MODULES])
        from otel_openstack import pipeline
        from otel_openstack.model.build import NamingOptions
        from otel_openstack.render.options import options_from_settings

        if missing:
            _logger.warning("otel-openstack: %d server span(s) did not arrive within %.1fs: %s",
                            len(missing), self.settings.wait_seconds, ", ".join(sorted(missing)))
        rendered = pipeline.render_documents(
            documents,
            options_from_settings(self.settings),
            NamingOptions(self.settings.service_type_names, self.settings.url_names),
            trace_id=trace_id,
        )
        if rendered.trace.warnings:
            _logger.warning("otel-openstack: %d problem(s) in trace %s, rendered as far as possible: %s",
                            len(rendered.trace.warnings), trace_id, "; ".join(rendered.trace.warnings[:5]))
        folder = Path(self.settings.output_dir) / pipeline.folder_name(rendered.trace)
        pipeline.write_folder(folder, rendered.files)
        self.written.append(folder)
        spool_files.remove_trace(self.spool, trace_id, since_ns)
        spool_files.remove_stale(self.spool)
        _logger.info("otel-openstack: wrote %s", folder)
        return folder

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
