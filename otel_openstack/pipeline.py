"""sources -> model -> render -> folder, as one function.

The docs exporter runs this in the CLI process when a command ends ("render
now"); ``otel-openstack render`` runs it on a stored trace ("render later").
One code path, so both give byte-identical files for the same spans.
"""

from __future__ import annotations

import gc
import json
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from otel_openstack.model.build import NamingOptions, build_trace
from otel_openstack.model.types import Trace
from otel_openstack.render.bodies import message_body, render_body
from otel_openstack.render.legend import render_legend
from otel_openstack.render.log import log_for_markdown, render_record
from otel_openstack.render.markdown import render_section
from otel_openstack.render.options import DEFAULT_OPTIONS, RenderOptions
from otel_openstack.render.page import render_page
from otel_openstack.render.split import render_parts
from otel_openstack.render.structure import render_structured_diagram
from otel_openstack.render.view import prepare
from otel_openstack.sources.otlp_json import spans_from_document
from otel_openstack.sources.spans import SpanRecord

LOG_FILE = "requests.log"
LOG_MD_FILE = "log.md"
DIAGRAM_FILE = "diagram.md"
BODY_FILE = "body.md"
LEGEND_FILE = "legend.md"
PAGE_FILE = "index.md"
TRACE_FILE = "trace.json"


def diagram_part_file(index: int) -> str:
    """``diagram-1.md`` ...: written only when the diagram was split (``diagram.md`` stays whole)."""
    return f"diagram-{index}.md"


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
    """Pure: spans in, file texts out (``Rendered.trace`` is the trace as captured)."""
    with cyclic_gc_paused():
        trace = build_trace(spans, trace_id=trace_id, options=naming)
        return Rendered(trace, render_trace(trace, options or RenderOptions()))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while rendering.

    Rendering allocates millions of small objects (dicts, tuples, model and
    message objects, strings), none of them in reference cycles: reference
    counting frees them all.  Each allocation burst still triggers the cyclic
    collector, whose older generations re-traverse everything alive, the
    caller's parsed OTLP document and spans included, to find nothing.  On a
    large trace that was a third of the rendering time, growing with the
    trace.  It is switched back on (if it was on) when rendering ends, also
    on an error; the garbage cycles made meanwhile, if any, are collected then.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_trace(trace: Trace, options: RenderOptions = DEFAULT_OPTIONS) -> dict[str, str]:
    """Every text file of an output folder but ``trace.json``.

    One :func:`~otel_openstack.render.view.prepare` (filters, loop collapsing,
    placeholders) and one numbering, ``view.messages``, for every file:
    ``requests.log``, ``log.md`` (the log, safe to include in a page's fence),
    ``diagram.md`` (whole), ``diagram-K.md`` (parts, only
    when split), ``body.md``, ``legend.md`` (may be empty) and ``index.md``.
    """
    view = prepare(trace, options)
    records: list[str] = []
    sections: list[str] = []
    for message in view.messages:
        # Pretty-printing a body is the costliest step of a record: once for both files.
        rendered = render_body(message_body(message))
        records.append(render_record(message, options, rendered))
        sections.append(render_section(message, options, rendered))
    log = "".join(records)
    body = "".join(sections)
    del records, sections
    diagram = render_structured_diagram(view, options)
    parts = render_parts(view, options)
    legend = render_legend(view)
    files = {LOG_FILE: log, LOG_MD_FILE: log_for_markdown(log), DIAGRAM_FILE: diagram, BODY_FILE: body,
             LEGEND_FILE: legend}
    for part, text in parts:
        files[diagram_part_file(part.index)] = text
    files[PAGE_FILE] = render_page(view, diagram=diagram, parts=parts, legend=legend, body=body, log=log,
                                   log_name=LOG_FILE)
    return files


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


_PART_FILE = re.compile(r"diagram-[0-9]+\.md")


def write_folder(folder: Path, files: Mapping[str, str]) -> Path:
    """Write the texts, 0600 files in a 0700 folder; existing files are replaced.

    Diagram parts (``diagram-K.md``) of an earlier render that this one does
    not have are removed, so a folder never mixes two renders' parts.
    ``trace.json`` goes first: when the disk fills up half-way, what is left
    is the trace, from which ``otel-openstack render`` makes the rest later;
    a folder this call created and could put nothing in is removed again.
    """
    from otel_openstack.exporters.spool import secure_dir, write_private

    created = not folder.exists()
    secure_dir(folder)
    try:
        for stale in folder.iterdir():
            if _PART_FILE.fullmatch(stale.name) and stale.name not in files and not stale.is_dir():
                stale.unlink()
        for name in sorted(files, key=lambda name: name != TRACE_FILE):
            target = folder / name
            if target.exists() and not target.is_symlink():
                target.unlink()
            write_private(target, files[name].encode("utf-8"))
    except BaseException:
        if created and not any(folder.iterdir()):
            folder.rmdir()
        raise
    return folder
