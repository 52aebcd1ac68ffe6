"""Plain ``requests`` callers through opentelemetry-instrumentation-requests and our hooks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import keystoneauth1.session
import pytest
import requests
import requests.sessions
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from capture_helpers import request_body
from otel_openstack.capture.redact import digest
from otel_openstack.instrumentation.keystoneauth import KeystoneauthInstrumentor
from otel_openstack.instrumentation.requests import hooks, instrument_requests
from otel_openstack.settings import load


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    received = request_body(environ)
    body = json.dumps({"size": len(received), "sha256": hashlib.sha256(received).hexdigest(),
                       "chunked": environ.get("HTTP_TRANSFER_ENCODING") == "chunked",
                       "traceparent": environ.get("HTTP_TRACEPARENT")}).encode()
    start_response("201 Created", [("Content-Type", "application/json"), ("Etag", "abc"),
                                   ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def patched() -> Iterator[None]:
    send = requests.sessions.Session.__dict__["send"]
    yield
    for instrumentor in (KeystoneauthInstrumentor(), RequestsInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    requests.sessions.Session.send = send


def client_span(spans: Any) -> ReadableSpan:
    found = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert len(found) == 1, found
    return found[0]


OURS = ("openstack.", "http.request.header.", "http.response.header.", "http.request.body.",
        "http.response.body.", "url.full", "http.request.method", "http.response.status_code")


def ours(span: ReadableSpan) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith(OURS)}


def test_plain_requests_call_captured(patched: None, provider: Any, spans: Any, serve: Any) -> None:
    server = serve(app)
    instrument_requests(load({}), tracer_provider=provider)
    url = f"{server.url}/v1/AUTH_abc/glance/image-1"
    response = requests.put(url, data=b"hello object", headers={"X-Auth-Token": "T", "Content-Type": "text/plain",
                                                                "User-Agent": "python-swiftclient-4.1.0"})
    assert response.status_code == 201
    span = client_span(spans)
    a = span.attributes
    assert a["openstack.captured_by"] == "requests"
    assert a["http.request.method"] == "PUT"
    assert a["url.full"] == url
    assert a["openstack.peer.service"] == f"127.0.0.1:{server.port}"
    assert a["http.request.header.x-auth-token"] == (digest("T"),)
    assert a["http.request.header.user-agent"] == ("python-swiftclient-4.1.0",)
    assert a["http.request.body.content"] == "hello object"
    assert a["openstack.http.response.status_text"] == "Created"
    assert a["http.response.header.etag"] == ("abc",)
    assert json.loads(a["http.response.body.content"])["sha256"] == hashlib.sha256(b"hello object").hexdigest()
    # the captured headers are those sent, trace context included
    assert a["http.request.header.traceparent"] == (response.json()["traceparent"],)
    ctx = span.get_span_context()
    assert response.json()["traceparent"] == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def test_same_attributes_as_a_keystoneauth_call(patched: None, provider: Any, spans: Any, serve: Any) -> None:
    server = serve(app)
    url = f"{server.url}/v1/x"
    headers = {"Content-Type": "text/plain", "User-Agent": "ua", "X-Auth-Token": "T"}
    KeystoneauthInstrumentor().instrument(tracer_provider=provider)
    keystoneauth1.session.Session().put(url, data=b"same", headers=headers)
    via_ksa = ours(client_span(spans))
    KeystoneauthInstrumentor().uninstrument()
    spans.clear()
    instrument_requests(load({}), tracer_provider=provider)
    requests.put(url, data=b"same", headers=headers)
    via_requests = ours(client_span(spans))

    assert via_ksa.pop("openstack.captured_by") == "keystoneauth1"
    assert via_requests.pop("openstack.captured_by") == "requests"
    assert set(via_ksa) == set(via_requests)
    for key in via_ksa:
        if key not in ("http.request.header.traceparent", "http.response.header.date",
                       "http.response.body.content"):
            assert via_ksa[key] == via_requests[key], key
    assert via_ksa["http.request.body.content"] == "same"


def test_generator_upload_teed(patched: None, provider: Any, spans: Any, serve: Any) -> None:
    server = serve(app)
    instrument_requests(load({}), tracer_provider=provider)
    data = b"".join(b"%06d:" % i + bytes(range(256)) for i in range(400))
    expected = hashlib.sha256(data).hexdigest()
    response = requests.post(f"{server.url}/upload", data=(data[i:i + 4096] for i in range(0, len(data), 4096)),
                             headers={"Content-Type": "application/octet-stream"})
    assert {k: v for k, v in response.json().items() if k != "traceparent"} == \
        {"size": len(data), "sha256": expected, "chunked": True}
    a = client_span(spans).attributes
    assert (a["http.request.body.size"], a["openstack.http.request.body.sha256"],
            a["openstack.http.request.body.state"]) == (len(data), expected, "binary")


def test_generator_upload_without_digest(patched: None, provider: Any, spans: Any, serve: Any) -> None:
    server = serve(app)
    instrument_requests(load({"OTEL_OPENSTACK_BODY_DIGEST": "false"}), tracer_provider=provider)
    data = bytes(range(256)) * 400
    response = requests.post(f"{server.url}/upload", data=(data[i:i + 4096] for i in range(0, len(data), 4096)),
                             headers={"Content-Type": "application/octet-stream"})
    assert response.json()["size"] == len(data)  # every byte still sent
    a = client_span(spans).attributes
    assert (a["http.request.body.size"], a["openstack.http.request.body.state"]) == (len(data), "binary")
    assert "openstack.http.request.body.sha256" not in a


def test_small_text_generator_upload_kept_as_text(patched: None, provider: Any, spans: Any, serve: Any) -> None:
    server = serve(app)
    instrument_requests(load({}), tracer_provider=provider)
    response = requests.post(f"{server.url}/upload", data=iter([b'{"a": ', b'"b"}']),
                             headers={"Content-Type": "application/json"})
    assert response.json()["size"] == 10
    assert client_span(spans).attributes["http.request.body.content"] == '{"a":"b"}'


def test_instrument_requests_replaces_a_hookless_instrumentation(patched: None, provider: Any, spans: Any,
                                                                serve: Any) -> None:
    server = serve(app)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    instrument_requests(load({}), tracer_provider=provider)
    requests.get(f"{server.url}/x")
    assert client_span(spans).attributes["openstack.captured_by"] == "requests"


def test_hooks_swallow_their_errors(spans: Any) -> None:
    hook = hooks(load({}))

    class Broken:
        def is_recording(self) -> bool:
            raise RuntimeError("boom")

    assert hook["request_hook"](Broken(), object()) is None
    assert hook["response_hook"](Broken(), object(), object()) is None
