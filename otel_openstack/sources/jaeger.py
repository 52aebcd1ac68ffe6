"""Jaeger JSON -> SpanRecords.

Two shapes:

* **v1** (Jaeger's own model): the query API's ``/api/traces/{id}`` and
  ``/api/traces?service=...`` answers and the UI's downloaded JSON,
  ``{"data": [trace, ...]}``; a bare trace or a list of traces is accepted
  too.  A trace is ``{"traceID", "spans": [...], "processes": {id: process}}``,
  times are microseconds, tags are ``{"key", "type", "value"}``.
* **v3** (Jaeger v2's ``/api/v3/traces/{id}``): OTLP JSON wrapped as
  ``{"result": TracesData}``; :func:`unwrap_v3` hands the inner document to
  the OTLP JSON reader.

The v1 reading undoes OpenTelemetry's documented OTLP -> Jaeger mapping
(``specification/trace/sdk_exporters/jaeger.md`` and the Collector's
translator): the ``span.kind`` tag is the kind; ``otel.status_code`` /
``otel.status_description`` and the ``error`` flag are the status;
``otel.scope.*`` / ``otel.library.*`` name the scope (dropped); the first
``CHILD_OF`` reference in the same trace is the parent; logs are events (the
``event`` field is the name); the process is the resource (``serviceName`` is
``service.name``).  Jaeger keeps no arrays: it writes them as JSON strings,
and the attributes we know to be arrays (captured headers, header order,
CLI arguments) are parsed back.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator, Mapping

from otel_openstack.capture import attributes as A
from otel_openstack.sources.errors import TraceInputError
from otel_openstack.sources.spans import SpanRecord

#: Attributes that are string arrays in OpenTelemetry and JSON strings in Jaeger.
ARRAY_KEYS = frozenset({
    A.REQUEST_HEADER_ORDER, A.RESPONSE_HEADER_ORDER, A.CLI_ARGV,
    "process.command_args", "http.request.header_names", "http.response.header_names",
})
ARRAY_PREFIXES = (A.HTTP_REQUEST_HEADER_PREFIX, A.HTTP_RESPONSE_HEADER_PREFIX,
                  "rpc.grpc.request.metadata.", "rpc.grpc.response.metadata.")

#: Tags the OTLP -> Jaeger mapping adds; they become SpanRecord fields, not attributes.
_MAPPING_TAGS = frozenset({
    "span.kind", "otel.status_code", "otel.status_description", "otel.scope.name", "otel.scope.version",
    "otel.library.name", "otel.library.version", "internal.span.format", "w3c.tracestate",
})
_KINDS = {"client": "client", "server": "server", "producer": "producer", "consumer": "consumer",
          "internal": "internal"}

Warn = Callable[[str], None]


def is_v1(document: Any) -> bool:
    """Whether ``document`` looks like Jaeger v1 JSON (API answer, UI download, bare trace)."""
    if isinstance(document, Mapping):
        if "data" in document and ("errors" in document or isinstance(document.get("data"), list)):
            data = document.get("data")
            return data is None or (isinstance(data, list) and all(_is_trace(t) for t in data))
        return _is_trace(document)
    return isinstance(document, list) and bool(document) and all(_is_trace(t) for t in document)


def _is_trace(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("spans"), list) and (
        "traceID" in value or "processes" in value)


def unwrap_v3(document: Any) -> Mapping[str, Any] | None:
    """The OTLP JSON inside a Jaeger API v3 answer (``{"result": TracesData}``), else None."""
    if isinstance(document, Mapping) and isinstance(document.get("result"), Mapping):
        inner = document["result"]
        if "resourceSpans" in inner or not inner:
            return inner
    return None


def api_error(document: Any) -> str | None:
    """The error message of a Jaeger API answer (v1 ``errors``, v3 ``error``), if it is one."""
    if not isinstance(document, Mapping):
        return None
    errors = document.get("errors")
    if isinstance(errors, list) and errors and not document.get("data"):
        return "; ".join(str(e.get("msg") or e) if isinstance(e, Mapping) else str(e) for e in errors)
    error = document.get("error")
    if isinstance(error, Mapping) and ("message" in error or "httpCode" in error):
        return str(error.get("message") or f"HTTP {error.get('httpCode')}")
    return None


def traces(document: Any) -> list[Mapping[str, Any]]:
    """The trace objects of a v1 document."""
    if isinstance(document, list):
        return list(document)
    if isinstance(document, Mapping) and "data" in document and not _is_trace(document):
        message = api_error(document)
        if message is not None:
            raise TraceInputError(f"Jaeger reported: {message}")
        return list(document.get("data") or [])
    return [document]


def spans_from_v1(document: Any, warn: Warn | None = None, strict: bool = True) -> Iterator[SpanRecord]:
    """Every span of a Jaeger v1 document.

    ``strict``: a span that cannot be read raises :class:`TraceInputError`;
    otherwise it is skipped and named through ``warn``.  ``warn`` also gets
    what is read but cannot be kept (a parent in another trace).
    """
    def note(message: str) -> None:
        if warn is not None:
            warn(message)

    for trace in traces(document):
        if not isinstance(trace, Mapping):
            raise TraceInputError("a Jaeger trace is not an object")
        processes = trace.get("processes") or {}
        if not isinstance(processes, Mapping):
            raise TraceInputError("Jaeger processes is not an object")
        resources = {key: _resource(value) for key, value in processes.items()}
        for number, raw in enumerate(trace.get("spans") or [], 1):
            try:
                yield _span(raw, trace, resources, note)
            except TraceInputError as exc:
                if strict:
                    raise
                note(f"span {number} of trace {trace.get('traceID', '?')} skipped: {exc}")


def pad_id(value: Any, length: int, what: str) -> str:
    """A Jaeger hex id (leading zeros may be dropped) as ``length`` bytes of lower-case hex."""
    if not isinstance(value, str) or not value:
        raise TraceInputError(f"{what} is missing or not a string: {value!r}")
    text = value.lower()
    if len(text) > length * 2 or any(c not in "0123456789abcdef" for c in text):
        raise TraceInputError(f"{what} is not a hex id of at most {length} bytes: {value!r}")
    return text.rjust(length * 2, "0")


def tag_value(tag: Mapping[str, Any]) -> Any:
    """A Jaeger tag's value as the OpenTelemetry attribute it came from."""
    kind = str(tag.get("type") or "").lower()
    value = tag.get("value")
    key = str(tag.get("key", ""))
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "int64":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if kind == "float64":
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    if kind == "binary":
        return value  # base64 text, as OTLP JSON's bytesValue
    if isinstance(value, str) and _is_array_key(key):
        return _unflatten(value)
    if kind == "" and isinstance(value, list):
        return tuple(value)
    return value


def _is_array_key(key: str) -> bool:
    return key in ARRAY_KEYS or key.startswith(ARRAY_PREFIXES)


def _unflatten(text: str) -> Any:
    """``["a","b"]`` -> ("a", "b"); anything that is not a JSON array of scalars stays text."""
    if not (text.startswith("[") and text.endswith("]")):
        return text
    try:
        items = json.loads(text)
    except ValueError:
        return text
    if isinstance(items, list) and all(isinstance(i, (str, int, float, bool)) for i in items):
        return tuple(items)
    return text


def _tags(raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag in raw or ():
        if isinstance(tag, Mapping) and "key" in tag:
            out[str(tag["key"])] = tag_value(tag)
    return out


def _resource(process: Any) -> dict[str, Any]:
    if not isinstance(process, Mapping):
        return {}
    resource = _tags(process.get("tags"))
    if process.get("serviceName"):
        resource["service.name"] = str(process["serviceName"])
    return resource


def _micros(value: Any, what: str) -> int:
    if value is None:
        return 0
    try:
        return int(value) * 1000
    except (TypeError, ValueError):
        raise TraceInputError(f"{what} is not a number of microseconds: {value!r}") from None


def _span(raw: Any, trace: Mapping[str, Any], resources: Mapping[str, dict[str, Any]], note: Warn) -> SpanRecord:
    if not isinstance(raw, Mapping):
        raise TraceInputError("a Jaeger span is not an object")
    trace_id = pad_id(raw.get("traceID") or trace.get("traceID"), 16, "traceID")
    span_id = pad_id(raw.get("spanID"), 8, "spanID")
    tags = _tags(raw.get("tags"))
    kind = _KINDS.get(str(tags.get("span.kind", "")).lower(), "internal")
    status_code, status_message = _status(tags)
    attributes = {k: v for k, v in tags.items() if k not in _MAPPING_TAGS}
    if status_code == "error" and attributes.get("error") is True:
        del attributes["error"]
    parent_id = _parent(raw, trace_id, span_id, note)
    start = _micros(raw.get("startTime"), "startTime")
    if "process" in raw and isinstance(raw["process"], Mapping):
        resource = _resource(raw["process"])
    else:
        resource = resources.get(str(raw.get("processID", "")), {})
    events = []
    for log in raw.get("logs") or ():
        if not isinstance(log, Mapping):
            continue
        fields = _tags(log.get("fields"))
        name = fields.pop("event", "")
        events.append({"name": str(name), "time_ns": _micros(log.get("timestamp"), "log timestamp"),
                       "attributes": fields})
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent_id,
        name=str(raw.get("operationName", "")),
        kind=kind,
        start_ns=start,
        end_ns=start + _micros(raw.get("duration"), "duration"),
        attributes=attributes,
        resource=resource,
        status_code=status_code,
        status_message=status_message,
        events=tuple(events),
    )


def _status(tags: Mapping[str, Any]) -> tuple[str, str]:
    code = str(tags.get("otel.status_code", "")).upper()
    message = str(tags.get("otel.status_description", "") or "")
    if code == "ERROR":
        return "error", message
    if code == "OK":
        return "ok", message
    if tags.get("error") is True:
        return "error", message
    return "unset", message


def _parent(raw: Mapping[str, Any], trace_id: str, span_id: str, note: Warn) -> str | None:
    elsewhere = None
    for ref in raw.get("references") or ():
        if not isinstance(ref, Mapping) or str(ref.get("refType", "CHILD_OF")).upper() != "CHILD_OF":
            continue
        try:
            ref_trace = pad_id(ref.get("traceID") or trace_id, 16, "reference traceID")
            ref_span = pad_id(ref.get("spanID"), 8, "reference spanID")
        except TraceInputError as exc:
            note(f"span {span_id}: unreadable parent reference ignored ({exc})")
            continue
        if ref_trace == trace_id:
            return ref_span
        elsewhere = elsewhere or (ref_trace, ref_span)
    if raw.get("parentSpanID") not in (None, "", "0", "0000000000000000"):
        try:
            return pad_id(raw["parentSpanID"], 8, "parentSpanID")
        except TraceInputError as exc:
            note(f"span {span_id}: unreadable parentSpanID ignored ({exc})")
    if elsewhere is not None:
        note(f"span {span_id}: its parent {elsewhere[1]} is in another trace ({elsewhere[0]}); "
             f"shown without a parent")
    return None

