"""Hand-written OTLP JSON traces for the robustness tests (plain dicts, no project code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
EPOCH_NS = 1_700_000_000_000_000_000
KINDS = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}


def value(v: Any) -> dict:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, (list, tuple)):
        return {"arrayValue": {"values": [value(x) for x in v]}}
    return {"stringValue": v}


def sid(short: str) -> str:
    """``"c1"`` -> ``"c100000000000000"``: readable span ids."""
    return short.ljust(16, "0")


def span(span_id: str, parent: str | None, kind: str, name: str, start_ms: int, end_ms: int,
         attributes: dict | None = None, trace: str = TRACE, status: dict | None = None,
         events: list | None = None) -> dict:
    """One OTLP JSON span; times in ms after a fixed epoch."""
    out = {"traceId": trace, "spanId": sid(span_id), "name": name, "kind": KINDS[kind],
           "startTimeUnixNano": str(EPOCH_NS + start_ms * 1_000_000),
           "endTimeUnixNano": str(EPOCH_NS + end_ms * 1_000_000),
           "attributes": [{"key": k, "value": value(v)} for k, v in (attributes or {}).items()]}
    if parent:
        out["parentSpanId"] = sid(parent)
    if status:
        out["status"] = status
    if events:
        out["events"] = events
    return out


def document(*processes: tuple[dict, list[dict]]) -> dict:
    """``TracesData`` from (resource attributes, spans) pairs, one per process."""
    return {"resourceSpans": [
        {"resource": {"attributes": [{"key": k, "value": value(v)} for k, v in resource.items()]},
         "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}
        for resource, spans in processes
    ]}


def write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def client(method: str, url: str, code: int | None, service: str, **more: Any) -> dict:
    """Attributes of one of our CLIENT spans (no headers or bodies: the model fills in)."""
    out = {"http.request.method": method, "url.full": url, "openstack.service.name": service}
    if code is not None:
        out["http.response.status_code"] = code
    out.update({k.replace("__", "."): v for k, v in more.items()})
    return out


def server(method: str, url: str, code: int, service: str, **more: Any) -> dict:
    return client(method, url, code, service, **more)


def sequence(trace: Any) -> list[str]:
    """A model ``Trace`` as diagram-like lines, indented by nesting depth (renderer-independent)."""
    from otel_openstack.model import messages

    out = []
    for message in messages(trace):
        e = message.exchange
        indent = "  " * message.depth
        if message.is_request:
            out.append(f"{indent}{e.caller}->>{e.callee}: {e.method} {e.path}")
        else:
            status = f"{e.status_code} {e.status_text}" if e.status_code is not None else f"ERROR {e.error}"
            out.append(f"{indent}{e.callee}-->>{e.caller}: {status} {e.path}")
    return out
