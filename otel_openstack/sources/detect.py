"""Any trace file, folder or store answer -> SpanRecords, the format detected.

Formats, told apart by their top-level keys (one document, or one per line):

==================  =========================================================
``otlp``            OTLP JSON ``TracesData`` / ``ExportTraceServiceRequest``
                    (``resourceSpans``); one per line is the OpenTelemetry
                    file-exporter format (the Collector's ``file`` exporter)
``tempo``           Grafana Tempo's JSON download (``batches``, base64 ids) and
                    its API v2 answer (``{"trace": {...}}``)
``jaeger-v3``       Jaeger v2's ``/api/v3/traces/{id}`` (``{"result": ...}``)
``jaeger-v1``       Jaeger's ``/api/traces/{id}`` answer and the UI's JSON
                    download (``{"data": [trace ...]}``, a trace, or a list)
==================  =========================================================

plus an otel-openstack output folder (its ``trace.json``).  gzip-compressed
files are read too.

Damaged input (a line that is not JSON, a span without ids) raises
:class:`TraceInputError` with a one-line message, unless ``partial`` is set:
then what can be read is kept and what cannot is listed in
``Loaded.warnings``.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from otel_openstack.sources import encode, jaeger
from otel_openstack.sources.errors import TraceInputError
from otel_openstack.sources.otlp_json import decode_id, spans_from_document
from otel_openstack.sources.spans import SpanRecord

TRACE_FILE = "trace.json"  # the name an output folder gives its trace (pipeline.TRACE_FILE)

OTLP = "otlp"
TEMPO = "tempo"
JAEGER_V1 = "jaeger-v1"
JAEGER_V3 = "jaeger-v3"

_KNOWN = ("expected OTLP JSON (resourceSpans), Jaeger JSON (data[].spans or result.resourceSpans) "
          "or Tempo JSON (batches)")


@dataclass
class Loaded:
    """What a source held: its spans and how they were read."""

    name: str  # file, folder or URL, for messages
    format: str  # "otlp", "otlp jsonl", "jaeger-v1" ... ("+"-joined when lines differ)
    spans: list[SpanRecord]
    warnings: list[str] = field(default_factory=list)
    #: The input's OTLP JSON documents (OTLP, Tempo, Jaeger v3), kept for trace.json.
    otlp_documents: list[Mapping[str, Any]] = field(default_factory=list)
    #: Trace ids in the input that ``load(only=...)`` left out.
    others: list[str] = field(default_factory=list)

    def by_trace(self) -> dict[str, list[SpanRecord]]:
        """Spans grouped by trace id, in order of each trace's first span (computed once)."""
        cached = getattr(self, "_by_trace", None)
        if cached is not None and cached[0] == len(self.spans):
            return cached[1]
        groups: dict[str, list[SpanRecord]] = {}
        for span in self.spans:
            groups.setdefault(span.trace_id, []).append(span)
        first = {trace_id: min(s.start_ns for s in spans) for trace_id, spans in groups.items()}
        ordered = {trace_id: groups[trace_id] for trace_id in sorted(groups, key=lambda t: (first[t], t))}
        self._by_trace = (len(self.spans), ordered)
        return ordered

    def trace_ids(self) -> list[str]:
        """Every trace id, in order of the trace's first span."""
        return list(self.by_trace())

    def spans_of(self, trace_id: str) -> list[SpanRecord]:
        return list(self.by_trace().get(trace_id, ()))

    def otlp_document(self, trace_id: str) -> dict[str, Any]:
        """One trace as a canonical OTLP JSON document (what ``trace.json`` holds).

        The input's own OTLP documents when there are any (nothing lost),
        else the SpanRecords encoded.
        """
        if self.otlp_documents:
            selected = encode.select(self.otlp_documents, trace_id)
            try:
                if len(list(spans_from_document(selected))) == len(self.spans_of(trace_id)):
                    return selected
            except TraceInputError:
                pass  # a span we skipped (--partial) is still in there: encode what we read
        return encode.document(self.spans_of(trace_id))


def load(source: str | Path, *, partial: bool = False, only: str | None = None) -> Loaded:
    """A trace file or output folder (a path), or trace JSON text itself.

    ``only``: keep the spans of this trace alone, without decoding the others
    (a Collector's file may hold thousands); ``Loaded.others`` then names the
    trace ids that were left out.
    """
    if isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
        return load_text(source, "<input>", partial=partial, only=only)
    return load_path(Path(source), partial=partial, only=only)


def load_path(path: Path, *, partial: bool = False, only: str | None = None) -> Loaded:
    folder = None
    if path.is_dir():
        folder, path = path, path / TRACE_FILE
        if not path.is_file():
            raise TraceInputError(f"{folder} has no {TRACE_FILE}: not an otel-openstack output folder")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TraceInputError(f"{path}: no such file") from None
    except PermissionError:
        raise TraceInputError(f"{path}: cannot read it (permission denied)") from None
    except OSError as exc:
        raise TraceInputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    text = _text(data, str(path))
    loaded = load_text(text, str(path), partial=partial, only=only)
    if folder is not None:
        loaded.name = str(folder)
    return loaded


def _text(data: bytes, name: str) -> str:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise TraceInputError(f"{name}: a damaged gzip file ({exc})") from None
    elif data[:4] == b"\x28\xb5\x2f\xfd":
        raise TraceInputError(f"{name}: zstd-compressed; decompress it first (zstd -d)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TraceInputError(f"{name}: not a text file (protobuf? export traces as JSON)") from None


def load_text(text: str, name: str = "<input>", *, partial: bool = False, only: str | None = None) -> Loaded:
    warnings: list[str] = []
    others: dict[str, None] = {}  # ids of left-out traces, in order of appearance
    documents, lines, jsonl = parse_json(text, name, partial, warnings.append)
    spans: list[SpanRecord] = []
    otlp_documents: list[Mapping[str, Any]] = []
    formats: list[str] = []
    for index, document in enumerate(documents):
        where = f"{name}: line {lines[index]}: " if len(documents) > 1 else f"{name}: "
        try:
            if only is not None:
                document = keep_trace(document, only, others)
            kind, found, otlp = read_document(document, partial, lambda m, w=where: warnings.append(w + m))
        except TraceInputError as exc:
            if not partial or len(documents) == 1:
                raise TraceInputError(f"{where}{exc}") from None
            warnings.append(f"{where}skipped: {exc}")
            continue
        if kind not in formats:
            formats.append(kind)
        spans.extend(found)
        if otlp is not None:
            otlp_documents.append(otlp)
    label = "+".join(formats) or OTLP
    return Loaded(name, f"{label} jsonl" if jsonl else label, spans, warnings, otlp_documents,
                  [t for t in others if t != only])


def parse_json(text: str, name: str, partial: bool,
               warn: Callable[[str], None]) -> tuple[list[Any], list[int], bool]:
    """One JSON document or JSON Lines -> (documents, their line numbers, whether JSON Lines).

    A broken last line of JSON Lines is what a writer that crashed leaves
    behind; it is named as such.
    """
    stripped = text.strip()
    if not stripped:
        raise TraceInputError(f"{name}: the file is empty")
    if stripped[0] not in "{[":
        raise TraceInputError(f"{name}: not JSON; {_KNOWN}")
    try:
        return [json.loads(stripped)], [1], False
    except json.JSONDecodeError as exc:
        whole = exc
    except RecursionError:
        raise TraceInputError(f"{name}: JSON nested too deeply") from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    try:
        first = json.loads(numbered[0][1])
    except (json.JSONDecodeError, RecursionError):
        # One (pretty-printed) document, broken where the parser stopped.
        if whole.pos >= len(stripped) or whole.msg.startswith("Unterminated"):
            raise TraceInputError(f"{name}: the JSON ends early at line {whole.lineno}, column {whole.colno} "
                                  f"({whole.msg}): the file looks truncated") from None
        raise TraceInputError(f"{name}: not valid JSON at line {whole.lineno}, column {whole.colno} "
                              f"({whole.msg})") from None
    documents, lines = [first], [numbered[0][0]]
    last = numbered[-1][0]
    for number, line in numbered[1:]:
        try:
            documents.append(json.loads(line))
            lines.append(number)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            if number == last:
                message = (f"line {number}, the last, is cut short ({reason}): "
                           f"the writer stopped mid-line")
                if not partial:
                    raise TraceInputError(f"{name}: {message}; --partial renders the lines before it") from None
            else:
                message = f"line {number} is not valid JSON ({reason})"
                if not partial:
                    raise TraceInputError(f"{name}: {message}; --partial skips it") from None
            warn(f"{name}: {message}; skipped")
    return documents, lines, True


def classify(document: Any) -> str:
    """The format of one parsed document (see the module docstring)."""
    if isinstance(document, Mapping):
        if "resourceSpans" in document:
            return OTLP
        if "batches" in document:
            return TEMPO
        if jaeger.unwrap_v3(document) is not None:
            return JAEGER_V3
        inner = document.get("trace")
        if isinstance(inner, Mapping) and ("resourceSpans" in inner or "batches" in inner or not inner):
            return TEMPO
        if jaeger.is_v1(document):
            return JAEGER_V1
        message = jaeger.api_error(document)
        if message is not None:
            raise TraceInputError(f"the trace store answered with an error: {message}")
        keys = ", ".join(sorted(str(k) for k in document)[:6]) or "none"
        raise TraceInputError(f"not a trace format otel-openstack knows ({_KNOWN}; top-level keys: {keys})")
    if jaeger.is_v1(document):
        return JAEGER_V1
    raise TraceInputError(f"not a trace format otel-openstack knows ({_KNOWN})")


def keep_trace(document: Any, trace_id: str, others: dict[str, None]) -> Any:
    """``document`` with the spans of ``trace_id`` only (others' ids added to ``others``).

    Cheap: only ids are read.  A document that is not a known trace format
    is returned as it is, for :func:`read_document` to name.
    """
    try:
        kind = classify(document)
    except TraceInputError:
        return document
    if kind == JAEGER_V1:
        kept = []
        for trace in jaeger.traces(document):
            try:
                found = jaeger.pad_id(trace.get("traceID") if isinstance(trace, Mapping) else None, 16, "traceID")
            except TraceInputError:
                kept.append(trace)  # no usable id: let the reader name the problem
                continue
            if found == trace_id:
                kept.append(trace)
            else:
                others.setdefault(found)
        return {"data": kept}
    otlp = _otlp_inside(document, kind)
    if not isinstance(otlp, Mapping) or not isinstance(otlp.get("resourceSpans", otlp.get("batches")), list):
        return document
    for rs in otlp.get("resourceSpans", otlp.get("batches")):
        scopes = rs.get("scopeSpans", rs.get("instrumentationLibrarySpans")) if isinstance(rs, Mapping) else None
        for ss in scopes if isinstance(scopes, list) else []:
            raws = ss.get("spans") if isinstance(ss, Mapping) else None
            for raw in raws if isinstance(raws, list) else []:
                try:
                    found = decode_id(raw.get("traceId"), 16) if isinstance(raw, Mapping) else None
                except TraceInputError:
                    found = None
                if found:
                    others.setdefault(found)
    selected = encode.select([otlp], trace_id)
    return {"result": selected} if kind == JAEGER_V3 else selected


def _otlp_inside(document: Any, kind: str) -> Any:
    """The OTLP JSON document a non-v1 document carries (itself, or under result/trace)."""
    if kind == JAEGER_V3:
        return jaeger.unwrap_v3(document)
    if kind == TEMPO and "trace" in document and "batches" not in document:
        return document["trace"]
    return document


def read_document(document: Any, partial: bool,
                  warn: Callable[[str], None]) -> tuple[str, list[SpanRecord], Mapping[str, Any] | None]:
    """(format, spans, the OTLP JSON document inside or None) of one parsed document."""
    kind = classify(document)
    if kind == JAEGER_V1:
        return kind, list(jaeger.spans_from_v1(document, warn, strict=not partial)), None
    otlp = _otlp_inside(document, kind)
    if not otlp:
        return kind, [], None
    return kind, otlp_spans(otlp, partial, warn), otlp


def otlp_spans(document: Mapping[str, Any], partial: bool, warn: Callable[[str], None]) -> list[SpanRecord]:
    """Spans of an OTLP JSON document; with ``partial``, unreadable spans are skipped, one by one."""
    try:
        return list(spans_from_document(document))
    except TraceInputError:
        if not partial:
            raise
    out: list[SpanRecord] = []
    resource_spans = document.get("resourceSpans", document.get("batches"))
    if not isinstance(resource_spans, list):
        raise TraceInputError("resourceSpans is not a list")
    number = 0
    for index, rs in enumerate(resource_spans):
        if not isinstance(rs, Mapping):
            warn("a resourceSpans entry is not an object; skipped")
            continue
        scopes = rs.get("scopeSpans", rs.get("instrumentationLibrarySpans")) or []
        if not isinstance(scopes, list):
            warn(f"resourceSpans[{index}]: scopeSpans is not a list; skipped")
            continue
        for ss in scopes:
            raws = ss.get("spans") or [] if isinstance(ss, Mapping) else []
            if not isinstance(raws, list):
                warn(f"resourceSpans[{index}]: a spans node is not a list; skipped")
                continue
            for raw in raws:
                number += 1
                single = {"resourceSpans": [{"resource": rs.get("resource"), "scopeSpans": [{"spans": [raw]}]}]}
                try:
                    out.extend(spans_from_document(single))
                except TraceInputError as exc:
                    warn(f"span {number} skipped: {exc}")
    return out

