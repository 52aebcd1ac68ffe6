"""sources -> model -> render -> folder, as one function.

The docs exporter runs this in the CLI process when a command ends ("render
now"); ``otel-openstack render`` runs it on a stored trace ("render later").
One code path, so both give byte-identical files for the same spans.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from otel_openstack.model.build import NamingOptions, build_trace
from otel_openstack.model.types import Trace
from otel_openstack.render.log import render_log
from otel_openstack.render.markdown import render_body_md
from otel_openstack.render.mermaid import render_diagram
from otel_openstack.render.options import RenderOptions
from otel_openstack.sources.otlp_json import spans_from_document
from otel_openstack.sources.spans import SpanRecord

LOG_FILE = "requests.log"
DIAGRAM_FILE = "diagram.md"
BODY_FILE = "body.md"
TRACE_FILE = "trace.json"


@dataclass(frozen=True)
class Rendered:
    """The texts of one output folder."""

    trace: Trace
    files: Mapping[str, str]


def merge_documents(documents: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Several OTLP JSON documents as one ``TracesData`` (resourceSpans concatenated)."""
    resource_spans: list[Any] = []
    for document in documents:
        resource_spans.extend(document.get("resourceSpans") or [])
    return {"resourceSpans": resource_spans}


def render(spans: Sequence[SpanRecord], options: RenderOptions | None = None,
           naming: NamingOptions | None = None, trace_id: str | None = None) -> Rendered:
    """Pure: spans in, file texts out."""
    options = options or RenderOptions()
    trace = build_trace(spans, trace_id=trace_id, options=naming)
    return Rendered(trace, {
        LOG_FILE: render_log(trace, options),
        DIAGRAM_FILE: render_diagram(trace, options),
        BODY_FILE: render_body_md(trace, options),
    })


def render_documents(documents: Sequence[Mapping[str, Any]], options: RenderOptions | None = None,
                     naming: NamingOptions | None = None, trace_id: str | None = None) -> Rendered:
    spans = [span for document in documents for span in spans_from_document(document)]
    rendered = render(spans, options, naming, trace_id)
    trace_doc = merge_documents(documents)
    files = dict(rendered.files)
    files[TRACE_FILE] = json.dumps(trace_doc, indent=1) + "\n"
    return Rendered(rendered.trace, files)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "trace"


def folder_name(trace: Trace, when: float | None = None) -> str:
    """``openstack-image-create-20261203-184501-1a2b3c4d``: sortable, unique per trace."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    return f"{slug(trace.command or 'trace')}-{stamp}-{trace.trace_id[:8] or 'none'}"


def write_folder(folder: Path, files: Mapping[str, str]) -> Path:
    """Write the texts, 0600 files in a 0700 folder; existing files are replaced."""
    from otel_openstack.exporters.spool import secure_dir, write_private

    secure_dir(folder)
    for name, text in files.items():
        target = folder / name
        if target.exists() and not target.is_symlink():
            target.unlink()
        write_private(target, text.encode("utf-8"))
    return folder
