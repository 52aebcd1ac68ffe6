"""OTLP JSON (``TracesData`` / ``ExportTraceServiceRequest``) -> SpanRecords.

This is also the spool's and ``trace.json``'s format, so the CLI's "render
now" and a later ``otel-openstack render`` read spans through this one
function.  Ids may be hex (the OTLP JSON spec) or base64 (protobuf's JSON
mapping, as Tempo writes them); ``batches`` (Tempo) is accepted as an alias
of ``resourceSpans``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Iterable, Iterator, Mapping

from otel_openstack.sources.errors import TraceInputError
from otel_openstack.sources.spans import SpanRecord

_KINDS = {
    0: "internal", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer",
    "SPAN_KIND_UNSPECIFIED": "internal", "SPAN_KIND_INTERNAL": "internal",
    "SPAN_KIND_SERVER": "server", "SPAN_KIND_CLIENT": "client",
    "SPAN_KIND_PRODUCER": "producer", "SPAN_KIND_CONSUMER": "consumer",
}
_STATUS = {0: "unset", 1: "ok", 2: "error", "STATUS_CODE_UNSET": "unset",
           "STATUS_CODE_OK": "ok", "STATUS_CODE_ERROR": "error"}


#: What mistyped JSON nodes raise inside the reader (``"status": "x"`` -> ``AttributeError``,
#: ``"kind": [1]`` -> ``TypeError``, ``{"intValue": "x"}`` -> ``ValueError``, an infinite
#: time -> ``OverflowError``, absurd nesting -> ``RecursionError``).  The reader does not
#: check the type of every node: that would cost the renderer's speed on every well-formed
#: trace.  It catches these once per document level and per span instead, where a ``try``
#: costs nothing unless something is raised, and names the place in a TraceInputError.
MISTYPED = (AttributeError, TypeError, ValueError, KeyError, IndexError, OverflowError, RecursionError)


def mistyped(where: str, exc: BaseException) -> TraceInputError:
    """The one-line error for a node of the wrong type under ``where`` (``resourceSpans[0]...``)."""
    if isinstance(exc, TraceInputError):
        return exc
    if isinstance(exc, RecursionError):
        reason = "nested too deeply"
    elif isinstance(exc, (AttributeError, TypeError, KeyError, IndexError)):
        reason = f"a value has the wrong type ({' '.join(str(exc).split())[:120]})"
    else:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
    return TraceInputError(f"malformed OTLP JSON at {where}: {reason}")


def decode_id(value: Any, length: int, what: str | None = None) -> str | None:
    """Hex or base64 id -> lower-case hex of ``length`` bytes; None when absent/empty.

    ``what`` names the id in errors; by default it follows from ``length``
    (16 bytes: a trace id, else a span id), so a bad trace id is not reported
    as a span id.
    """
    if value is None or value == "":
        return None
    what = what or ("trace id" if length == 16 else "span id")
    if not isinstance(value, str):
        raise TraceInputError(f"{what} is not a string: {value!r}")
    if len(value) == length * 2:
        try:
            bytes.fromhex(value)
            return None if not value.strip("0") else value.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise TraceInputError(f"{what} is neither hex nor base64: {value!r}") from None
    if len(raw) != length:
        raise TraceInputError(f"{what} has {len(raw)} bytes, expected {length}: {value!r}")
    hexed = raw.hex()
    return None if not hexed.strip("0") else hexed


def any_value(value: Mapping[str, Any]) -> Any:
    """Decode an OTLP ``AnyValue`` (JSON mapping) into a Python value.

    Trusts the types below ``value`` (see :data:`MISTYPED`).
    """
    # ``type() is dict`` first: parsed JSON is always a dict, and the ABC
    # check alone was half the time of reading a large trace.
    if type(value) is not dict and not isinstance(value, Mapping):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        # Header values are arrays of strings: those are decoded inline.
        return [v["stringValue"] if type(v) is dict and "stringValue" in v else any_value(v)
                for v in (value["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in value:
        return {kv.get("key"): any_value(kv.get("value", {})) for kv in
                (value["kvlistValue"] or {}).get("values", []) or []}
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    """OTLP ``KeyValue`` list -> dict (arrays as tuples); trusts nested types (see :data:`MISTYPED`)."""
    out: dict[str, Any] = {}
    for item in items or ():
        if (type(item) is dict or isinstance(item, Mapping)) and "key" in item:
            raw = item.get("value")
            # Most attributes are strings: decoded inline, one call fewer each.
            value = raw["stringValue"] if type(raw) is dict and "stringValue" in raw else any_value(raw or {})
            if isinstance(value, list):
                value = tuple(value)
            key = item["key"]
            out[key if type(key) is str else str(key)] = value
    return out


def _int(value: Any, name: str) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        raise TraceInputError(f"{name} is not a number: {value!r}") from None


def spans_from_document(document: Mapping[str, Any]) -> Iterator[SpanRecord]:
    """Every span of one OTLP JSON document.

    Any node of the wrong type is a :class:`TraceInputError` naming where it
    is (``resourceSpans[2].scopeSpans[0].spans[17]``), never another exception.
    """
    if not isinstance(document, Mapping):
        raise TraceInputError("OTLP JSON document is not an object")
    resource_spans = document.get("resourceSpans", document.get("batches"))
    if resource_spans is None:
        raise TraceInputError("no resourceSpans in the OTLP JSON document")
    if not isinstance(resource_spans, list):
        raise TraceInputError("resourceSpans is not a list")
    for index, rs in enumerate(resource_spans):
        if not isinstance(rs, Mapping):
            raise TraceInputError("a resourceSpans entry is not an object")
        try:
            resource = attributes((rs.get("resource") or {}).get("attributes"))
            # list(): a scopeSpans or spans node that is not a list fails here, not mid-iteration.
            batches = [list((ss or {}).get("spans") or []) for ss in
                       list(rs.get("scopeSpans", rs.get("instrumentationLibrarySpans")) or [])]
        except MISTYPED as exc:
            raise mistyped(f"resourceSpans[{index}]", exc) from None
        for scope, spans in enumerate(batches):
            for number, span in enumerate(spans):
                try:
                    record = _span(span, resource)
                except MISTYPED as exc:
                    raise mistyped(f"resourceSpans[{index}].scopeSpans[{scope}].spans[{number}]", exc) from None
                yield record


def _span(span: Mapping[str, Any], resource: Mapping[str, Any]) -> SpanRecord:
    if not isinstance(span, Mapping):
        raise TraceInputError("a span is not an object")
    trace_id = decode_id(span.get("traceId"), 16)
    span_id = decode_id(span.get("spanId"), 8)
    if not trace_id or not span_id:
        raise TraceInputError("a span has no traceId or spanId")
    status = span.get("status") or {}
    events = tuple(
        {"name": e.get("name", ""), "time_ns": _int(e.get("timeUnixNano"), "event time"),
         "attributes": attributes(e.get("attributes"))}
        for e in span.get("events") or [] if isinstance(e, Mapping)
    )
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=decode_id(span.get("parentSpanId"), 8, "parent span id"),
        name=str(span.get("name", "")),
        kind=_KINDS.get(span.get("kind", 0), "internal"),
        start_ns=_int(span.get("startTimeUnixNano"), "startTimeUnixNano"),
        end_ns=_int(span.get("endTimeUnixNano"), "endTimeUnixNano"),
        attributes=attributes(span.get("attributes")),
        resource=resource,
        status_code=_STATUS.get(status.get("code", 0), "unset"),
        status_message=str(status.get("message", "") or ""),
        events=events,
    )


def documents_from_text(text: str) -> list[dict[str, Any]]:
    """One JSON document, or JSON Lines (one document a line), as parsed JSON."""
    stripped = text.strip()
    if not stripped:
        raise TraceInputError("the trace file is empty")
    try:
        return [json.loads(stripped)]
    except json.JSONDecodeError as exc:
        whole = exc
    except RecursionError:
        raise TraceInputError("the JSON is nested too deeply") from None
    documents = []
    for number, line in enumerate(stripped.splitlines(), 1):
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except RecursionError:
            raise TraceInputError(f"line {number} is nested too deeply") from None
        except json.JSONDecodeError as exc:
            if not documents:
                # Not JSON Lines but one (pretty-printed) document, broken where
                # the parser stopped: often the end of a truncated file.
                raise TraceInputError(f"not valid JSON at line {whole.lineno}, column {whole.colno} "
                                      f"({whole.msg})") from None
            raise TraceInputError(f"line {number} is not valid JSON ({exc.msg})") from None
    return documents


def parse_text(text: str) -> list[SpanRecord]:
    """Every span of a document or of JSON Lines."""
    return [span for document in documents_from_text(text) for span in spans_from_document(document)]
