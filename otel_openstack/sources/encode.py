"""SpanRecords (or OTLP JSON documents) -> one canonical OTLP JSON document.

``trace.json`` in an output folder is always OTLP JSON, whatever the trace
was read from, so that it can be rendered again and uploaded to any OTLP
backend.  Two ways in:

* :func:`document` encodes SpanRecords (read from Jaeger, say).  It is the
  exact inverse of :mod:`otel_openstack.sources.otlp_json` for every field a
  SpanRecord has: ``spans_from_document(document(spans)) == spans``.
* :func:`select` keeps the spans of one trace from OTLP JSON documents as they
  were (scope, links, flags and all), with ids rewritten as hex and Tempo's
  ``batches`` renamed ``resourceSpans``: nothing a backend sent is lost.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from otel_openstack.sources.errors import TraceInputError
from otel_openstack.sources.otlp_json import decode_id
from otel_openstack.sources.spans import SpanRecord

_KINDS = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
_STATUS = {"unset": 0, "ok": 1, "error": 2}


def any_value(value: Any) -> dict[str, Any]:
    """A Python attribute value as an OTLP JSON ``AnyValue``."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": [{"key": str(k), "value": any_value(v)} for k, v in value.items()]}}
    return {"stringValue": str(value)}


def attributes(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(key), "value": any_value(value)} for key, value in values.items()]


def span(record: SpanRecord) -> dict[str, Any]:
    """One span as OTLP JSON (hex ids, times as decimal strings)."""
    out: dict[str, Any] = {"traceId": record.trace_id, "spanId": record.span_id}
    if record.parent_id:
        out["parentSpanId"] = record.parent_id
    out.update({
        "name": record.name,
        "kind": _KINDS.get(record.kind, 1),
        "startTimeUnixNano": str(record.start_ns),
        "endTimeUnixNano": str(record.end_ns),
        "attributes": attributes(record.attributes),
    })
    if record.events:
        out["events"] = [{"timeUnixNano": str(event.get("time_ns", 0)), "name": str(event.get("name", "")),
                          "attributes": attributes(event.get("attributes") or {})} for event in record.events]
    status: dict[str, Any] = {}
    if _STATUS.get(record.status_code, 0):
        status["code"] = _STATUS[record.status_code]
    if record.status_message:
        status["message"] = record.status_message
    out["status"] = status
    return out


def _resource_key(resource: Mapping[str, Any]) -> str:
    return repr(sorted((str(k), repr(v)) for k, v in resource.items()))


def document(records: Iterable[SpanRecord]) -> dict[str, Any]:
    """A ``TracesData`` document: one ``resourceSpans`` entry per distinct resource, spans in order."""
    groups: dict[str, tuple[Mapping[str, Any], list[dict[str, Any]]]] = {}
    for record in records:
        key = _resource_key(record.resource)
        groups.setdefault(key, (record.resource, []))[1].append(span(record))
    return {"resourceSpans": [
        {"resource": {"attributes": attributes(resource)}, "scopeSpans": [{"scope": {}, "spans": spans}]}
        for resource, spans in groups.values()
    ]}


def _hex(value: Any, length: int) -> str | None:
    try:
        return decode_id(value, length)
    except TraceInputError:
        return None


def select(documents: Sequence[Mapping[str, Any]], trace_id: str) -> dict[str, Any]:
    """The spans of ``trace_id`` in OTLP JSON ``documents``, structure kept, ids as hex.

    Spans whose ids cannot be read are left out (the reader has already
    reported them); empty scopes and resources are dropped.
    """
    resource_spans: list[dict[str, Any]] = []
    for document_ in documents:
        if not isinstance(document_, Mapping):
            continue
        for rs in document_.get("resourceSpans", document_.get("batches")) or []:
            if not isinstance(rs, Mapping):
                continue
            scopes = []
            for ss in rs.get("scopeSpans", rs.get("instrumentationLibrarySpans")) or []:
                if not isinstance(ss, Mapping):
                    continue
                kept = [_hex_span(s) for s in ss.get("spans") or [] if isinstance(s, Mapping)]
                kept = [s for s in kept if s is not None and s["traceId"] == trace_id]
                if kept:
                    scope = _replaced(ss, "spans", kept)
                    if "instrumentationLibrary" in ss:
                        scope = _replaced(scope, "scope", ss.get("scope", ss["instrumentationLibrary"]),
                                          legacy="instrumentationLibrary")
                    scopes.append(scope)
            if scopes:
                resource_spans.append(_replaced(rs, "scopeSpans", scopes, legacy="instrumentationLibrarySpans"))
    return {"resourceSpans": resource_spans}


def _replaced(node: Mapping[str, Any], key: str, value: Any, legacy: str | None = None) -> dict[str, Any]:
    """``node`` with ``value`` at ``key``, where ``key`` (or its ``legacy`` name) stood.

    The keys keep their order (``schemaUrl`` after ``spans``, as the SDK's
    encoder writes them), so a re-rendered ``trace.json`` is byte-identical
    to the one it was rendered from.  ``legacy`` is dropped, or renamed in
    place when ``key`` is absent.
    """
    out: dict[str, Any] = {}
    for name, item in node.items():
        if name == key or (name == legacy and key not in node):
            out[key] = value
        elif name != legacy:
            out[name] = item
    out.setdefault(key, value)
    return out


def _hex_span(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    trace_id, span_id = _hex(raw.get("traceId"), 16), _hex(raw.get("spanId"), 8)
    if not trace_id or not span_id:
        return None
    out = dict(raw)
    out["traceId"], out["spanId"] = trace_id, span_id
    if raw.get("parentSpanId"):
        parent = _hex(raw.get("parentSpanId"), 8)
        if parent:
            out["parentSpanId"] = parent
        else:
            out.pop("parentSpanId")
    links = []
    for link in raw.get("links") or []:
        if isinstance(link, Mapping):
            link_trace, link_span = _hex(link.get("traceId"), 16), _hex(link.get("spanId"), 8)
            if link_trace and link_span:
                links.append({**link, "traceId": link_trace, "spanId": link_span})
    if "links" in raw:
        out["links"] = links
    return out
