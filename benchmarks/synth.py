"""Synthetic traces in OTLP JSON: one CLI command making ``n`` HTTP exchanges.

Modelled on what ``make demo`` records (same attributes, same header sets,
same shapes), with small JSON bodies:

* the CLI (``openstack``, keystoneauth CLIENT spans under the command's root
  span) calls glance-api (``GET /v2/images/<id>``, ``GET /v2/images?...``,
  ``PATCH``) and keystone (version discovery, ``POST /v3/auth/tokens``);
* every server answers through our WSGI middleware (SERVER span, child of
  the CLIENT span, headers and bodies as the server saw them);
* glance-api validates tokens at keystone now and then while serving a
  request (a CLIENT span in glance, child of its SERVER span, and keystone's
  SERVER span under it): nested exchanges.

Spans are grouped the way the spool stores them (per process, in batches of
512), in one ``TracesData`` document.  Deterministic: the same ``n`` always
gives the same bytes.  Spans are made by filling pre-serialised templates,
so 100k exchanges (~0.8 GB) take seconds, not minutes.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any, Iterator

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
BATCH = 512
UA_CLI = "openstacksdk/4.22.0 keystoneauth1/5.18.1 python-requests/2.34.2 CPython/3.11.7"
UA_GLANCE = "glance/33.0.0 keystonemiddleware.auth_token/13.0.1 keystoneauth1/5.18.1 python-requests/2.34.2 CPython/3.11.7"
TOKEN_DIGEST = "{SHA256}708916285dd1e293fe8de50db1699b96c4cecec1f2c39fd10157a5b8bf921b70"
SERVICE_DIGEST = "{SHA256}1f2c39fd10157a5b8bf921b70708916285dd1e293fe8de50db1699b96c4cecec"
GLANCE = "http://127.0.0.1:9292"
KEYSTONE = "http://127.0.0.1:5000"
DATE = "Thu, 03 Dec 2026 19:03:33 GMT"

_RESOURCES = {
    "openstack": ("otel_openstack.instrumentation.keystoneauth", "0.1.0"),
    "glance-api": ("opentelemetry.instrumentation.wsgi", "0.66b2"),
    "keystone": ("opentelemetry.instrumentation.wsgi", "0.66b2"),
}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _attrs(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in mapping.items()]


def _headers(direction: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in headers:
        out.setdefault(f"http.{direction}.header.{name.lower()}", []).append(value)
    out[f"openstack.http.{direction}.header_names"] = [name for name, _ in headers]
    return out


def _body(direction: str, text: str | None) -> dict[str, Any]:
    if text is None:
        return {f"http.{direction}.body.size": 0, f"openstack.http.{direction}.body.state": "empty"}
    return {f"http.{direction}.body.size": len(text.encode()), f"openstack.http.{direction}.body.state": "text",
            f"http.{direction}.body.content": text}


def _image(image_id: str, number: int) -> str:
    return json.dumps({
        "name": f"image-{number}", "disk_format": "qcow2", "container_format": "bare", "visibility": "public",
        "size": 21430272, "status": "active", "checksum": "443b7623e27ecf03dc9e01ee93f67afe",
        "owner": "1767fe5e864f44e4b73af76db541f4a4", "id": image_id, "created_at": "2026-12-03T19:03:33Z",
        "tags": [], "self": f"/v2/images/{image_id}", "file": f"/v2/images/{image_id}/file",
        "schema": "/v2/schemas/image"}, separators=(",", ":"))


_TOKEN_BODY = json.dumps({"token": {
    "methods": ["password"], "user": {"domain": {"id": "default", "name": "Default"},
                                      "id": "3b8c2a1e9f6d4e5a8b7c6d5e4f3a2b1c", "name": "admin"},
    "audit_ids": ["X0vvwrVbQ1C6VWLgkYCo4A"], "expires_at": "2026-12-03T20:03:33.000000Z",
    "issued_at": "2026-12-03T19:03:33.000000Z",
    "project": {"domain": {"id": "default", "name": "Default"}, "id": "1767fe5e864f44e4b73af76db541f4a4",
                "name": "admin"},
    "roles": [{"id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "name": "admin"},
              {"id": "0f9e8d7c6b5a49382716a5b4c3d2e1f0", "name": "member"}]}}, separators=(",", ":"))
_AUTH_REQUEST = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "admin", "domain": {"name": "Default"}, "password": "***"}}},
    "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}, separators=(",", ":"))
_VERSIONS = json.dumps({"versions": {"values": [{"id": "v3.14", "status": "stable",
                                                 "updated": "2020-04-07T00:00:00Z",
                                                 "links": [{"rel": "self", "href": f"{KEYSTONE}/v3/"}],
                                                 "media-types": [{"base": "application/json",
                                                                  "type": "application/vnd.openstack.identity-v3+json"}]}]}},
                       separators=(",", ":"))


def _exchange_kinds(n: int) -> Iterator[tuple[str, int]]:
    """(kind, number) for ``n`` exchanges; nested ones count, in causal order."""
    made = 0
    number = 0
    while made < n:
        if number % 50 == 0:
            for kind in ("discovery", "auth"):
                if made < n:
                    yield kind, number
                    made += 1
        if made >= n:
            break
        if number % 4 == 0 and made + 2 <= n:
            yield "image_get_validated", number  # the glance exchange, with a nested keystone one
            made += 2
        else:
            yield ("image_list" if number % 3 == 0 else "image_get"), number
            made += 1
        number += 1


# Spans are made from templates: each kind of exchange is built and serialised
# once with placeholders (``@NAME___@``), then filled per instance.  The
# placeholders that end up inside bodies are as long as their values, so the
# recorded body sizes and Content-Length headers stay right.
_IMG = "@IMG" + "_" * 31 + "@"  # a UUID: 36 characters
_NUM = "@NUM_@"  # 6 digits
_TOKEN = re.compile(r"@([A-Z0-9]+)_*@")


def _span(span_id: str, parent: str, name: str, kind: int, start: str, end: str,
          attributes: dict[str, Any]) -> dict[str, Any]:
    return {"traceId": TRACE_ID, "spanId": span_id, "parentSpanId": parent, "flags": 256, "name": name,
            "kind": kind, "startTimeUnixNano": start, "endTimeUnixNano": end,
            "attributes": _attrs(attributes), "status": {}}


def _pair(prefix: str, parent: str, caller: str, callee: str, base: str, method: str, path: str, status: int,
          reason: str, req_body: str | None, resp_body: str | None, token: str, extra_resp: list[tuple[str, str]],
          service_type: str, user_agent: str) -> list[tuple[str, dict[str, Any]]]:
    """CLIENT span in ``caller`` + SERVER span in ``callee``, ids and times as placeholders."""
    client_id, server_id = f"@{prefix}C@", f"@{prefix}S@"
    url = base + path
    req_headers = [("Host", base[7:]), ("User-Agent", user_agent), ("Accept-Encoding", "gzip, deflate"),
                   ("Accept", "application/json"), ("Connection", "keep-alive"), ("X-Auth-Token", token)]
    if req_body is not None:
        req_headers += [("Content-Type", "application/json"), ("Content-Length", str(len(req_body)))]
    resp_len = str(len(resp_body.encode())) if resp_body else "0"
    app_headers = [("Content-Length", resp_len), ("Content-Type", "application/json"), *extra_resp,
                   ("x-openstack-request-id", f"req-@{prefix}REQ@")]
    client = _span(client_id, parent, method, 3, f"@{prefix}T0@", f"@{prefix}T3@", {
        "http.request.method": method, "url.full": url, "openstack.service.name": caller,
        "openstack.peer.service": callee, "openstack.captured_by": "keystoneauth1",
        "openstack.service.type": service_type, "openstack.service.interface": "public",
        "openstack.service.region": "RegionOne",
        **_headers("request", req_headers), "http.response.status_code": status,
        "openstack.http.response.status_text": reason,
        **_headers("response", [("Server", "gunicorn"), ("Date", DATE), ("Connection", "keep-alive"), *app_headers]),
        "openstack.http.response.traceresponse": f"00-{TRACE_ID}-{server_id}-01",
        **_body("request", req_body), **_body("response", resp_body)})
    server = _span(server_id, client_id, f"{method} {path.split('?')[0]}", 2, f"@{prefix}T1@", f"@{prefix}T2@", {
        "http.method": method, "http.scheme": "http", "http.host": base[7:], "http.target": path,
        "net.peer.ip": "127.0.0.1", "http.user_agent": user_agent, "http.flavor": "1.1",
        "openstack.service.name": callee, "openstack.captured_by": "wsgi", "http.request.method": method,
        "url.full": url, "user_agent.original": user_agent, **_headers("request", req_headers),
        "http.status_code": status, "openstack.http.response.status_text": reason,
        "http.response.status_code": status, **_headers("response", app_headers),
        **_body("request", req_body), **_body("response", resp_body)})
    return [(caller, client), (callee, server)]


def _kind_spans(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The spans of one exchange kind (placeholders: ids ``@C@ @S@``, nested ``@NC@ @NS@``, times, ...)."""
    if kind == "discovery":
        return _pair("", "@ROOT@", "openstack", "keystone", KEYSTONE, "GET", "/", 300, "MULTIPLE CHOICES",
                     None, _VERSIONS, TOKEN_DIGEST, [("Vary", "X-Auth-Token")], "identity", UA_CLI)
    if kind == "auth":
        return _pair("", "@ROOT@", "openstack", "keystone", KEYSTONE, "POST", "/v3/auth/tokens", 201, "CREATED",
                     _AUTH_REQUEST, _TOKEN_BODY, TOKEN_DIGEST, [("X-Subject-Token", TOKEN_DIGEST)],
                     "identity", UA_CLI)
    if kind == "image_list":
        listing = '{"images":[' + _image(_IMG, _NUM) + '],"first":"/v2/images?limit=1","schema":"/v2/schemas/images"}'
        return _pair("", "@ROOT@", "openstack", "glance-api", GLANCE, "GET", f"/v2/images?limit=1&marker={_IMG}",
                     200, "OK", None, listing, TOKEN_DIGEST, [], "image", UA_CLI)
    spans = _pair("", "@ROOT@", "openstack", "glance-api", GLANCE, "GET", f"/v2/images/{_IMG}", 200, "OK",
                  None, _image(_IMG, _NUM), TOKEN_DIGEST, [], "image", UA_CLI)
    if kind == "image_get_validated":
        spans += _pair("N", "@S@", "glance-api", "keystone", KEYSTONE, "GET", "/v3/auth/tokens", 200, "OK",
                       None, _TOKEN_BODY, SERVICE_DIGEST, [("X-Subject-Token", TOKEN_DIGEST)], "identity",
                       UA_GLANCE)
    return spans


_TEMPLATES: dict[str, list[tuple[str, str]]] = {}


def _templates(kind: str) -> list[tuple[str, str]]:
    if kind not in _TEMPLATES:
        _TEMPLATES[kind] = [(process, json.dumps(span, separators=(",", ":"))) for process, span in _kind_spans(kind)]
    return _TEMPLATES[kind]


def spans_text(n: int) -> list[tuple[str, str]]:
    """(process name, span as compact OTLP JSON) for a command of ``n`` exchanges, root span first."""
    next_span = 0x1000_0000_0000_0000
    clock = 1_796_324_613_000_000_000
    root_id = f"{next_span:016x}"
    root_start = clock
    out: list[tuple[str, str]] = []
    for kind, number in _exchange_kinds(n):
        values = {"ROOT": root_id, "IMG": str(uuid.UUID(int=(number * 0x9E3779B97F4A7C15) % (1 << 128))),
                  "NUM": f"{number:06d}"}
        for prefix in ("", "N"):
            next_span += 0x9E37_79B9
            values[prefix + "C"] = f"{next_span:016x}"
            next_span += 0x9E37_79B9
            values[prefix + "S"] = f"{next_span:016x}"
            values[prefix + "REQ"] = str(uuid.UUID(int=next_span << 64))
        # CLIENT start, SERVER start, (nested exchange), SERVER end, CLIENT end
        for name, step in (("T0", 250_000), ("T1", 400_000), ("NT0", 250_000), ("NT1", 400_000),
                           ("NT2", 3_000_000), ("NT3", 300_000), ("T2", 3_000_000), ("T3", 300_000)):
            clock += step
            values[name] = str(clock)
        for process, template in _templates(kind):
            out.append((process, _TOKEN.sub(lambda m: values[m.group(1)], template)))
    clock += 1_000_000
    root = _span(root_id, "", "openstack image list", 1, str(root_start), str(clock), {
        "openstack.cli.argv": ["image", "list"], "openstack.service.name": "openstack",
        "openstack.cli.command": "openstack image list", "process.exit.code": 0})
    del root["parentSpanId"]
    return [("openstack", json.dumps(root, separators=(",", ":"))), *out]


def document_text(n: int) -> str:
    """The OTLP JSON text (compact, like the spool) of a command of ``n`` exchanges."""
    by_process: dict[str, list[str]] = {}
    for process, text in spans_text(n):
        by_process.setdefault(process, []).append(text)
    chunks = []
    for process, texts in by_process.items():
        scope, version = _RESOURCES[process]
        resource = json.dumps({"attributes": _attrs({
            "telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": "1.45.2", "service.name": process})}, separators=(",", ":"))
        scope_json = json.dumps({"name": scope, "version": version}, separators=(",", ":"))
        for start in range(0, len(texts), BATCH):
            batch = ",".join(texts[start:start + BATCH])
            chunks.append(f'{{"resource":{resource},"scopeSpans":[{{"scope":{scope_json},"spans":[{batch}]}}]}}')
    return '{"resourceSpans":[' + ",".join(chunks) + "]}"


def write(n: int, path: Path) -> Path:
    path.write_text(document_text(n))
    return path
