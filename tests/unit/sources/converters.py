"""Test-only converters: one OTLP JSON trace -> every input format otel-openstack reads.

Written from the formats' documentation, independently of the readers in
``otel_openstack.sources`` (nothing is imported from there), so that a
reader and its converter cannot share a mistake:

* OTLP JSON / JSON Lines: the OTLP spec's JSON encoding (hex ids); JSON Lines
  is the OpenTelemetry file-exporter format, one ``TracesData`` a line;
* protobuf JSON: what ``google.protobuf.json_format`` writes for OTLP messages
  (base64 ids, enum names, int64 as strings) - Tempo's download, the
  Collector's ``file`` exporter in some versions;
* Tempo: protobuf JSON under ``batches`` (and ``instrumentationLibrarySpans``
  in Tempo 1.x);
* Jaeger v1: OpenTelemetry's "OpenTelemetry to Jaeger Transformation"
  (``specification/trace/sdk_exporters/jaeger.md``) into Jaeger's JSON model
  (``model/json/model.go``): ``span.kind`` / ``otel.status_code`` /
  ``otel.status_description`` / ``error`` / ``otel.scope.*`` tags, arrays as
  JSON strings, parent as the first ``CHILD_OF`` reference, events as logs
  with an ``event`` field, resources as processes, microsecond times;
* Jaeger v3: Jaeger v2's ``/api/v3/traces/{id}`` answer, ``{"result": TracesData}``.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any, Iterator

KIND_NAMES = {0: "SPAN_KIND_UNSPECIFIED", 1: "SPAN_KIND_INTERNAL", 2: "SPAN_KIND_SERVER",
              3: "SPAN_KIND_CLIENT", 4: "SPAN_KIND_PRODUCER", 5: "SPAN_KIND_CONSUMER"}
STATUS_NAMES = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}
JAEGER_KINDS = {2: "server", 3: "client", 4: "producer", 5: "consumer"}  # internal: no tag (spec)


# --- walking OTLP JSON ----------------------------------------------------------

def all_spans(document: dict) -> Iterator[tuple[dict, dict, dict]]:
    """(resourceSpans entry, scopeSpans entry, span) for every span."""
    for rs in document["resourceSpans"]:
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                yield rs, ss, span


def plain_value(value: dict) -> Any:
    """An OTLP JSON AnyValue as a plain Python value (what an array element is in JSON)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return value["doubleValue"]
    if "arrayValue" in value:
        return [plain_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: plain_value(kv["value"]) for kv in value["kvlistValue"].get("values", [])}
    return None


# --- OTLP JSON variants ---------------------------------------------------------

def to_otlp_jsonl(document: dict) -> str:
    """One TracesData per line, one resourceSpans entry each (as batches arrive)."""
    return "".join(json.dumps({"resourceSpans": [rs]}, separators=(",", ":")) + "\n"
                   for rs in document["resourceSpans"])


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def _protobuf_value(value: dict) -> dict:
    if "intValue" in value:
        return {"intValue": str(value["intValue"])}
    if "arrayValue" in value:
        return {"arrayValue": {"values": [_protobuf_value(v) for v in value["arrayValue"].get("values", [])]}}
    return dict(value)


def _protobuf_attributes(attributes: list) -> list:
    return [{"key": a["key"], "value": _protobuf_value(a["value"])} for a in attributes]


def _protobuf_span(span: dict) -> dict:
    out = dict(span)
    out["traceId"], out["spanId"] = _b64(span["traceId"]), _b64(span["spanId"])
    if span.get("parentSpanId"):
        out["parentSpanId"] = _b64(span["parentSpanId"])
    else:
        out.pop("parentSpanId", None)
    out["kind"] = KIND_NAMES[span.get("kind", 0)]
    out["attributes"] = _protobuf_attributes(span.get("attributes", []))
    if span.get("events"):
        out["events"] = [{**e, "attributes": _protobuf_attributes(e.get("attributes", []))} for e in span["events"]]
    status = dict(span.get("status") or {})
    if "code" in status:
        status["code"] = STATUS_NAMES[status["code"]]
    out["status"] = status
    return out


def to_protobuf_json(document: dict, key: str = "resourceSpans", scope_key: str = "scopeSpans") -> dict:
    """protobuf's JSON mapping of the same trace (base64 ids, enum names)."""
    entries = []
    for rs in document["resourceSpans"]:
        entry = {"resource": {"attributes": _protobuf_attributes(rs["resource"].get("attributes", []))},
                 scope_key: []}
        for ss in rs.get("scopeSpans", []):
            scope = {("instrumentationLibrary" if scope_key == "instrumentationLibrarySpans" else "scope"):
                     ss.get("scope", {}),
                     "spans": [_protobuf_span(s) for s in ss.get("spans", [])]}
            entry[scope_key].append(scope)
        entries.append(entry)
    return {key: entries}


def to_tempo(document: dict, legacy: bool = False) -> dict:
    """Tempo's JSON download: ``batches``; Tempo 1.x also says ``instrumentationLibrarySpans``."""
    return to_protobuf_json(document, "batches", "instrumentationLibrarySpans" if legacy else "scopeSpans")


def to_jaeger_v3(document: dict) -> dict:
    """Jaeger v2's ``GET /api/v3/traces/{id}`` answer."""
    return {"result": copy.deepcopy(document)}


# --- Jaeger v1 -------------------------------------------------------------------

def _jaeger_tag(key: str, value: dict) -> dict:
    if "stringValue" in value:
        return {"key": key, "type": "string", "value": value["stringValue"]}
    if "boolValue" in value:
        return {"key": key, "type": "bool", "value": bool(value["boolValue"])}
    if "intValue" in value:
        return {"key": key, "type": "int64", "value": int(value["intValue"])}
    if "doubleValue" in value:
        return {"key": key, "type": "float64", "value": float(value["doubleValue"])}
    if "bytesValue" in value:
        return {"key": key, "type": "binary", "value": value["bytesValue"]}
    # arrays and maps: "serialized to string like a JSON list" (spec, Attributes)
    return {"key": key, "type": "string", "value": json.dumps(plain_value(value), separators=(",", ":"))}


def _jaeger_id(hex_id: str, drop_leading_zeros: bool) -> str:
    return (hex_id.lstrip("0") or "0") if drop_leading_zeros else hex_id


def to_jaeger_v1(document: dict, drop_leading_zeros: bool = False) -> dict:
    """Jaeger's ``/api/traces/{id}`` answer (also what the UI downloads) for an OTLP JSON trace."""
    traces: dict[str, dict] = {}
    process_ids: dict[str, str] = {}
    for rs, ss, span in all_spans(document):
        trace = traces.setdefault(span["traceId"], {"traceID": _jaeger_id(span["traceId"], drop_leading_zeros),
                                                     "spans": [], "processes": {}, "warnings": None})
        resource = rs["resource"].get("attributes", [])
        process_key = json.dumps(resource, sort_keys=True)
        if process_key not in process_ids:
            process_ids[process_key] = f"p{len(process_ids) + 1}"
        process_id = process_ids[process_key]
        if process_id not in trace["processes"]:
            service = next((a["value"]["stringValue"] for a in resource if a["key"] == "service.name"),
                           "unknown_service")
            trace["processes"][process_id] = {
                "serviceName": service,
                "tags": [_jaeger_tag(a["key"], a["value"]) for a in resource if a["key"] != "service.name"],
            }
        tags = [_jaeger_tag(a["key"], a["value"]) for a in span.get("attributes", [])]
        scope = ss.get("scope") or {}
        if scope.get("name"):
            tags.append({"key": "otel.scope.name", "type": "string", "value": scope["name"]})
        if scope.get("version"):
            tags.append({"key": "otel.scope.version", "type": "string", "value": scope["version"]})
        kind = JAEGER_KINDS.get(span.get("kind", 0))
        if kind:
            tags.append({"key": "span.kind", "type": "string", "value": kind})
        status = span.get("status") or {}
        code = status.get("code", 0)
        if code == 1:
            tags.append({"key": "otel.status_code", "type": "string", "value": "OK"})
        elif code == 2:
            tags.append({"key": "otel.status_code", "type": "string", "value": "ERROR"})
            tags.append({"key": "error", "type": "bool", "value": True})
        if code and status.get("message"):
            tags.append({"key": "otel.status_description", "type": "string", "value": status["message"]})
        references = []
        if span.get("parentSpanId"):
            references.append({"refType": "CHILD_OF", "traceID": trace["traceID"],
                               "spanID": _jaeger_id(span["parentSpanId"], drop_leading_zeros)})
        start_us = int(span["startTimeUnixNano"]) // 1000
        logs = []
        for event in span.get("events", []):
            fields = [_jaeger_tag(a["key"], a["value"]) for a in event.get("attributes", [])]
            if not any(f["key"] == "event" for f in fields):
                fields.insert(0, {"key": "event", "type": "string", "value": event["name"]})
            logs.append({"timestamp": int(event["timeUnixNano"]) // 1000, "fields": fields})
        trace["spans"].append({
            "traceID": trace["traceID"],
            "spanID": _jaeger_id(span["spanId"], drop_leading_zeros),
            "operationName": span["name"],
            "references": references,
            "startTime": start_us,
            "duration": (int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"])) // 1000,
            "tags": tags,
            "logs": logs,
            "processID": process_id,
            "warnings": None,
            "flags": 1,
        })
    return {"data": list(traces.values()), "total": 0, "limit": 0, "offset": 0, "errors": None}
