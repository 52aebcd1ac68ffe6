"""keystoneauth1: one CLIENT span per wire exchange, with what keystoneauth knew."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import keystoneauth1.session
import pytest
import requests
import requests.sessions
from keystoneauth1 import adapter as ksa_adapter
from keystoneauth1 import exceptions as ksa_exceptions
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from capture_helpers import request_body, wait_for
from otel_openstack.capture.redact import digest
from otel_openstack.instrumentation.keystoneauth import KeystoneauthInstrumentor
from otel_openstack.instrumentation.requests import instrument_requests
from otel_openstack.instrumentation.wsgi import wrap
from otel_openstack.settings import load

STREAM_BODY = bytes(range(256)) * 4096  # 1 MiB


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ["PATH_INFO"]
    base = f"http://{environ['HTTP_HOST']}"
    if path == "/redirect":
        start_response("302 Found", [("Location", f"{base}/target"), ("Content-Length", "0")])
        return []
    if path == "/moved":
        start_response("301 Moved Permanently", [("Location", f"{base}/target"), ("Content-Length", "0")])
        return []
    if path == "/multiple":
        body = b'{"versions": {"values": [{"id": "v3.14"}]}}'
        start_response("300 MULTIPLE CHOICES", [("Content-Type", "application/json"),
                                                ("Content-Length", str(len(body)))])
        return [body]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(STREAM_BODY)))])
        return [STREAM_BODY[i:i + 65536] for i in range(0, len(STREAM_BODY), 65536)]
    received = request_body(environ)
    body = json.dumps({
        "path": path,
        "traceparent": environ.get("HTTP_TRACEPARENT"),
        "received_size": len(received),
        "received_sha256": hashlib.sha256(received).hexdigest(),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Subject-Token", "TOKEN-1"),
                              ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def restore_patches() -> Iterator[None]:
    """Whatever happens in a test, requests and keystoneauth end up unpatched."""
    send = requests.sessions.Session.__dict__["send"]
    ksa = {name: keystoneauth1.session.Session.__dict__[name] for name in ("request", "_send_request")}
    yield
    for instrumentor in (KeystoneauthInstrumentor(), RequestsInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    requests.sessions.Session.send = send
    for name, function in ksa.items():
        setattr(keystoneauth1.session.Session, name, function)


ORDERS = {
    "keystoneauth-only": ("keystoneauth",),
    "requests-then-keystoneauth": ("requests", "keystoneauth"),
    "keystoneauth-then-requests": ("keystoneauth", "requests"),
}


@pytest.fixture(params=list(ORDERS))
def instrumented(request: pytest.FixtureRequest, provider: Any, restore_patches: None) -> Iterator[tuple[str, ...]]:
    """Instrument in the given order, uninstrument in reverse."""
    order = ORDERS[request.param]
    done = []
    for name in order:
        if name == "keystoneauth":
            KeystoneauthInstrumentor().instrument(tracer_provider=provider)
        else:
            instrument_requests(load({}), tracer_provider=provider)
        done.append(name)
    yield order
    for name in reversed(done):
        (KeystoneauthInstrumentor() if name == "keystoneauth" else RequestsInstrumentor()).uninstrument()


@pytest.fixture
def ksa(provider: Any, restore_patches: None) -> Iterator[None]:
    KeystoneauthInstrumentor().instrument(tracer_provider=provider)
    yield
    KeystoneauthInstrumentor().uninstrument()


def clients(spans: Any) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT]


def test_exactly_one_client_span_per_exchange(instrumented: tuple[str, ...], spans: Any, serve: Any) -> None:
    server = serve(app)
    session = keystoneauth1.session.Session()
    response = session.get(f"{server.url}/target")
    assert response.json()["path"] == "/target"
    (span,) = clients(spans)
    assert span.name == "GET"
    assert span.attributes["openstack.captured_by"] == "keystoneauth1"
    assert span.attributes["url.full"] == f"{server.url}/target"
    assert span.attributes["http.response.status_code"] == 200
    # the upstream span name attributes are absent: the requests instrumentor stood aside
    assert "http.method" not in span.attributes

    spans.clear()
    assert requests.get(f"{server.url}/plain").status_code == 200
    plain = clients(spans)
    if "requests" in instrumented:
        assert [s.attributes["openstack.captured_by"] for s in plain] == ["requests"]
    else:
        assert plain == []


def test_uninstrument_removes_every_patch(provider: Any, spans: Any, serve: Any, restore_patches: None) -> None:
    send = requests.sessions.Session.__dict__["send"]
    KeystoneauthInstrumentor().instrument(tracer_provider=provider)
    assert requests.sessions.Session.__dict__["send"] is not send
    KeystoneauthInstrumentor().uninstrument()
    assert requests.sessions.Session.__dict__["send"] is send
    keystoneauth1.session.Session().get(serve(app).url + "/target")
    assert clients(spans) == []


@pytest.mark.parametrize("path, code, text", [("/redirect", 302, "Found"), ("/moved", 301, "Moved Permanently")])
def test_redirect_gives_two_sibling_spans(path: str, code: int, text: str, ksa: None, spans: Any, serve: Any,
                                          provider: Any) -> None:
    server = serve(app)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("command") as parent:
        response = keystoneauth1.session.Session().get(f"{server.url}{path}")
    assert response.status_code == 200
    first, second = sorted(clients(spans), key=lambda s: s.start_time)
    assert (first.attributes["url.full"], first.attributes["http.response.status_code"],
            first.attributes["openstack.http.response.status_text"]) == (f"{server.url}{path}", code, text)
    assert (second.attributes["url.full"], second.attributes["http.response.status_code"]) == \
        (f"{server.url}/target", 200)
    assert first.parent.span_id == second.parent.span_id == parent.get_span_context().span_id
    assert first.end_time <= second.start_time


def test_traceparent_injected_and_server_span_is_the_child(ksa: None, spans: Any, serve: Any) -> None:
    server = serve(wrap(app, service_name="glance-api"))
    response = keystoneauth1.session.Session().get(f"{server.url}/target")
    finished = wait_for(spans, lambda s: any(x.kind == SpanKind.SERVER for x in s))
    (client,) = [s for s in finished if s.kind == SpanKind.CLIENT]
    (srv,) = [s for s in finished if s.kind == SpanKind.SERVER]
    ctx = client.get_span_context()
    sent = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    assert response.json()["traceparent"] == sent
    assert client.attributes["http.request.header.traceparent"] == (sent,)
    assert srv.parent.span_id == ctx.span_id
    assert srv.context.trace_id == ctx.trace_id
    server_response = f"00-{ctx.trace_id:032x}-{srv.context.span_id:016x}-{int(srv.context.trace_flags):02x}"
    assert response.headers["traceresponse"] == server_response
    assert client.attributes["openstack.http.response.traceresponse"] == server_response
    assert srv.attributes["openstack.service.name"] == "glance-api"


def test_adapter_call_records_service_type_interface_region(ksa: None, spans: Any, serve: Any) -> None:
    server = serve(app)
    image = ksa_adapter.Adapter(keystoneauth1.session.Session(), service_type="image", interface="public",
                                region_name="RegionOne", endpoint_override=f"{server.url}/image")
    assert image.get("/v2/images?limit=1").status_code == 200
    (span,) = clients(spans)
    a = span.attributes
    assert (a["openstack.service.type"], a["openstack.service.interface"], a["openstack.service.region"]) == \
        ("image", "public", "RegionOne")
    assert a["openstack.peer.service"] == "glance-api"
    assert a["url.full"] == f"{server.url}/image/v2/images?limit=1"
    assert a["http.request.method"] == "GET"


def test_plain_session_call_named_from_url(ksa: None, spans: Any, serve: Any) -> None:
    server = serve(app)
    keystoneauth1.session.Session().get(f"{server.url}/identity/v3")
    a = clients(spans)[0].attributes
    assert a["openstack.peer.service"] == "keystone"
    assert "openstack.service.type" not in a


def test_status_text_as_sent(ksa: None, spans: Any, serve: Any) -> None:
    server = serve(app)
    response = keystoneauth1.session.Session().get(f"{server.url}/multiple")
    assert response.status_code == 300
    a = clients(spans)[0].attributes
    assert (a["http.response.status_code"], a["openstack.http.response.status_text"]) == (300, "MULTIPLE CHOICES")
    assert a["http.response.body.content"] == '{"versions":{"values":[{"id":"v3.14"}]}}'


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/identity/v3"


def test_connection_refused(spans: Any, provider: Any, restore_patches: None) -> None:
    url = _refused_url()
    with pytest.raises(ksa_exceptions.ConnectFailure) as bare:
        keystoneauth1.session.Session().get(url)
    KeystoneauthInstrumentor().instrument(tracer_provider=provider)
    try:
        with pytest.raises(ksa_exceptions.ConnectFailure) as caught:
            keystoneauth1.session.Session().get(url)
    finally:
        KeystoneauthInstrumentor().uninstrument()
    assert type(caught.value) is type(bare.value)
    prefix = f"Unable to establish connection to {url}: "
    assert str(caught.value).startswith(prefix) and str(bare.value).startswith(prefix)
    assert isinstance(caught.value.__context__, requests.exceptions.ConnectionError)
    (span,) = clients(spans)
    assert span.attributes["error.type"] == "ConnectionError"
    assert span.status.status_code == StatusCode.ERROR
    assert "http.response.status_code" not in span.attributes
    assert span.attributes["openstack.peer.service"] == "keystone"


def test_stream_response_is_not_consumed(ksa: None, spans: Any, serve: Any) -> None:
    server = serve(app)
    response = keystoneauth1.session.Session().get(f"{server.url}/stream", stream=True)
    assert response._content_consumed is False
    (span,) = clients(spans)
    assert span.attributes["openstack.http.response.body.state"] == "not_captured"
    assert "http.response.body.content" not in span.attributes
    assert b"".join(response.iter_content(10000)) == STREAM_BODY


def test_bodies_headers_and_redaction(ksa: None, spans: Any, serve: Any) -> None:
    server = serve(app)
    auth = {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": {"name": "admin", "password": "s3cret"}}}}}
    response = keystoneauth1.session.Session().post(f"{server.url}/identity/v3/auth/tokens", json=auth,
                                                    headers={"X-Auth-Token": "TOKEN-0"})
    sent = json.dumps(auth).encode()
    assert response.json()["received_sha256"] == hashlib.sha256(sent).hexdigest()
    a = clients(spans)[0].attributes
    assert json.loads(a["http.request.body.content"]) == {"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "admin", "password": "***"}}}}}
    assert a["http.request.body.size"] == len(sent)
    assert a["http.request.header.x-auth-token"] == (digest("TOKEN-0"),)
    assert a["http.response.header.x-subject-token"] == (digest("TOKEN-1"),)
    assert json.loads(a["http.response.body.content"])["path"] == "/identity/v3/auth/tokens"
    assert a["openstack.http.response.body.state"] == "text"
    assert a["openstack.http.request.header_names"][0] == "Host"
    assert a["http.request.header.host"] == (f"127.0.0.1:{server.port}",)


def test_generator_and_file_uploads_arrive_intact(ksa: None, spans: Any, serve: Any, tmp_path: Any) -> None:
    server = serve(app)
    data = bytes(range(256)) * 1000
    session = keystoneauth1.session.Session()
    response = session.put(f"{server.url}/gen", data=(data[i:i + 1000] for i in range(0, len(data), 1000)),
                           headers={"Content-Type": "application/octet-stream"})
    assert response.json()["received_sha256"] == hashlib.sha256(data).hexdigest()
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        response = session.put(f"{server.url}/file", data=handle,
                               headers={"Content-Type": "application/octet-stream"})
    assert response.json()["received_size"] == len(data)
    assert response.json()["received_sha256"] == hashlib.sha256(data).hexdigest()
    for span in clients(spans):
        a = span.attributes
        assert (a["http.request.body.size"], a["openstack.http.request.body.sha256"],
                a["openstack.http.request.body.state"]) == (len(data), hashlib.sha256(data).hexdigest(), "binary")


def _raw_server() -> tuple[str, list[bytes], threading.Thread]:
    """One-shot socket server that keeps the exact bytes of the request head."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    heads: list[bytes] = []

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            heads.append(data.split(b"\r\n\r\n")[0])
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", heads, thread


def test_request_headers_recorded_in_wire_order(spans: Any, provider: Any, restore_patches: None) -> None:
    url, heads, thread = _raw_server()
    KeystoneauthInstrumentor().instrument(tracer_provider=provider, redact=False)
    try:
        keystoneauth1.session.Session().get(f"{url}/v3", headers={"X-Auth-Token": "TOKEN-0"})
    finally:
        KeystoneauthInstrumentor().uninstrument()
    thread.join(5)
    wire = [tuple(line.decode().split(": ", 1)) for line in heads[0].split(b"\r\n")[1:]]
    a = clients(spans)[0].attributes
    assert list(a["openstack.http.request.header_names"]) == [name for name, _ in wire]
    assert [(n, a["http.request.header." + n.lower()][0]) for n in a["openstack.http.request.header_names"]] == wire


def test_nested_call_belongs_to_the_serving_service(ksa: None, spans: Any, serve: Any) -> None:
    keystone = serve(wrap(app, service_name="keystone"))

    def glance(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        keystoneauth1.session.Session().get(f"{keystone.url}/identity/v3/auth/tokens")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    outer = serve(wrap(glance, service_name="glance-api"))
    keystoneauth1.session.Session().get(f"{outer.url}/image/v2/images")
    finished = wait_for(spans, lambda s: len([x for x in s if x.kind == SpanKind.SERVER]) == 2)
    servers = {s.attributes["openstack.service.name"]: s for s in finished if s.kind == SpanKind.SERVER}
    glance_server, keystone_server = servers["glance-api"], servers["keystone"]
    (outer_client,) = [s for s in finished if s.kind == SpanKind.CLIENT and s.parent is None]
    (glance_client,) = [s for s in finished if s.kind == SpanKind.CLIENT and s.parent is not None]
    assert glance_server.parent.span_id == outer_client.context.span_id
    assert glance_client.parent.span_id == glance_server.context.span_id
    assert keystone_server.parent.span_id == glance_client.context.span_id
    assert glance_client.attributes["openstack.service.name"] == "glance-api"
    assert glance_client.attributes["openstack.peer.service"] == "keystone"
    assert outer_client.attributes["openstack.peer.service"] == "glance-api"


def test_a_failing_capture_never_breaks_the_call(ksa: None, spans: Any, serve: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_openstack.capture import client

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("capture bug")

    monkeypatch.setattr(client, "header_attributes", broken)
    server = serve(app)
    response = keystoneauth1.session.Session().get(f"{server.url}/target")
    assert response.json()["path"] == "/target"
    assert len(clients(spans)) == 1
