"""The WSGI middleware: transparent to the application, captures what passed by.

Most tests call the middleware directly with a hand-made environ (exact
control over the input stream and over ``close()``); the upload test goes
through a real wsgiref server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tracemalloc
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import requests
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from capture_helpers import wait_for
from otel_openstack.capture.redact import digest
from otel_openstack.instrumentation.wsgi import OpenStackWSGIMiddleware, filter_factory, wrap

MB = 1024 * 1024
BLOCK = bytes(range(256)) * 256  # 64 KiB, allocated once


def make_environ(method: str = "GET", path: str = "/", body: bytes | None = None, *,
                 content_type: str | None = None, headers: dict[str, str] | None = None,
                 script_name: str = "", query: str = "", stream: Any = None,
                 content_length: int | None = None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:5000",
        "wsgi.url_scheme": "http",
        "wsgi.input": stream if stream is not None else io.BytesIO(body or b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if content_length is None and body:
        content_length = len(body)
    if content_length is not None:
        environ["CONTENT_LENGTH"] = str(content_length)
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


class Response:
    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.body = b""


def call(app: Any, environ: dict[str, Any]) -> Response:
    """Serve one request like a WSGI server: iterate, then close the iterable."""
    response = Response()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        response.status = status
        response.headers = list(headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        response.body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return response


def server_span(spans: Any) -> ReadableSpan:
    found = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert len(found) == 1, [s.name for s in spans.get_finished_spans()]
    return found[0]


def traceresponse_of(span: ReadableSpan) -> str:
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


# --- a JSON API app ---------------------------------------------------------------

def json_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    received = environ["wsgi.input"].read(length)
    body = json.dumps({"received": len(received), "path": environ["PATH_INFO"]}).encode()
    start_response("201 Created", [("Content-Type", "application/json"), ("X-Openstack-Request-Id", "req-1"),
                                   ("Content-Length", str(len(body)))])
    return [body[:10], body[10:]]


def test_a_wrapped_app_answers_exactly_like_the_bare_app(spans: Any) -> None:
    request = b'{"image": {"name": "cirros"}}'

    def environ() -> dict[str, Any]:
        return make_environ("POST", "/v2/images", request, content_type="application/json",
                            script_name="/image", query="a=1")

    bare = call(json_app, environ())
    wrapped = call(wrap(json_app, service_name="glance-api"), environ())
    span = server_span(spans)

    assert wrapped.status == bare.status == "201 Created"
    assert wrapped.body == bare.body == b'{"received": 29, "path": "/v2/images"}'
    assert wrapped.headers[:-1] == bare.headers
    assert wrapped.headers[-1] == ("traceresponse", traceresponse_of(span))
    assert wrapped.headers[-1][1] == "00-%032x-%016x-%02x" % (span.context.trace_id, span.context.span_id,
                                                             span.context.trace_flags)
    assert span.context.trace_flags & 0x01  # sampled

    a = span.attributes
    assert a["openstack.service.name"] == "glance-api"
    assert a["openstack.captured_by"] == "wsgi"
    assert a["http.request.method"] == "POST"
    assert a["url.full"] == "http://127.0.0.1:5000/image/v2/images?a=1"
    assert a["openstack.http.response.status_text"] == "Created"
    assert a["http.response.status_code"] == 201
    # WSGI keeps no header order: the environ's (the server's insertion order) is used
    assert a["openstack.http.request.header_names"] == ("Host", "Content-Length", "Content-Type")
    assert a["http.request.header.content-type"] == ("application/json",)
    assert a["http.request.body.content"] == '{"image":{"name":"cirros"}}'
    assert a["http.request.body.size"] == 29
    assert a["openstack.http.request.body.state"] == "text"
    assert a["openstack.http.response.header_names"] == ("Content-Type", "X-Openstack-Request-Id",
                                                          "Content-Length")
    assert a["http.response.header.x-openstack-request-id"] == ("req-1",)
    assert a["http.response.body.content"] == '{"received":29,"path":"/v2/images"}'
    assert a["openstack.http.response.body.state"] == "text"
    assert "openstack.http.response.body.sha256" not in a


def test_the_middleware_did_not_configure_its_own_provider(provider: Any) -> None:
    wrap(json_app, service_name="keystone")
    assert trace.get_tracer_provider() is provider


def test_status_text_kept_exactly_as_sent(spans: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("300 MULTIPLE CHOICES", [("Content-Type", "application/json")])
        return [b'{"versions": {"values": []}}']

    assert call(wrap(app, service_name="keystone"), make_environ()).status == "300 MULTIPLE CHOICES"
    a = server_span(spans).attributes
    assert (a["http.response.status_code"], a["openstack.http.response.status_text"]) == (300, "MULTIPLE CHOICES")


def test_incoming_traceparent_is_continued(spans: Any) -> None:
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    response = call(wrap(json_app, service_name="keystone"),
                    make_environ(headers={"traceparent": f"00-{trace_id}-{parent}-01"}))
    span = server_span(spans)
    assert f"{span.context.trace_id:032x}" == trace_id
    assert f"{span.parent.span_id:016x}" == parent
    assert dict(response.headers)["traceresponse"] == f"00-{trace_id}-{span.context.span_id:016x}-01"
    assert int(span.context.trace_flags) == 0x01


def test_shared_response_header_list_gets_each_requests_own_traceresponse(spans: Any) -> None:
    """An app that hands the same list to every start_response must not get a stale traceresponse."""
    headers = [("Content-Type", "text/plain")]

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", headers)
        return [b"ok"]

    middleware = wrap(app, service_name="keystone")
    first = call(middleware, make_environ())
    second = call(middleware, make_environ())
    first_span, second_span = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert dict(first.headers)["traceresponse"] == traceresponse_of(first_span)
    assert dict(second.headers)["traceresponse"] == traceresponse_of(second_span)
    assert headers == [("Content-Type", "text/plain")]  # the application's own list is left alone


def test_existing_traceresponse_is_not_duplicated(spans: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("traceresponse", "00-app-own")])
        return [b""]

    assert call(wrap(app, service_name="x"), make_environ()).headers == [("traceresponse", "00-app-own")]


# --- redaction ----------------------------------------------------------------------

KEYSTONE_AUTH = {"auth": {"identity": {"methods": ["password"], "password": {
    "user": {"name": "admin", "domain": {"id": "default"}, "password": "s3cret"}}}}}


def token_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("201 Created", [("Content-Type", "application/json"), ("X-Subject-Token", "TOKEN-1")])
    return [b'{"token": {"methods": ["password"]}}']


def test_tokens_and_passwords_redacted(spans: Any) -> None:
    body = json.dumps(KEYSTONE_AUTH).encode()
    call(wrap(token_app, service_name="keystone"),
         make_environ("POST", "/v3/auth/tokens", body, content_type="application/json",
                      headers={"X-Auth-Token": "TOKEN-0", "Cookie": "session=1"}))
    a = server_span(spans).attributes
    assert a["http.request.header.x-auth-token"] == ("{SHA256}" + hashlib.sha256(b"TOKEN-0").hexdigest(),)
    assert a["http.request.header.cookie"] == (digest("session=1"),)
    assert a["http.response.header.x-subject-token"] == ("{SHA256}" + hashlib.sha256(b"TOKEN-1").hexdigest(),)
    assert json.loads(a["http.request.body.content"]) == {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "admin", "domain": {"id": "default"}, "password": "***"}}}}}
    assert "s3cret" not in json.dumps(dict(a))


def test_redaction_off_by_setting_keeps_values(spans: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_OPENSTACK_REDACT", "false")
    body = json.dumps(KEYSTONE_AUTH).encode()
    call(wrap(token_app, service_name="keystone"),
         make_environ("POST", "/v3/auth/tokens", body, content_type="application/json",
                      headers={"X-Auth-Token": "TOKEN-0"}))
    a = server_span(spans).attributes
    assert a["http.request.header.x-auth-token"] == ("TOKEN-0",)
    assert a["http.response.header.x-subject-token"] == ("TOKEN-1",)
    assert a["http.request.body.content"] == body.decode()


# --- streaming: bounded memory, byte-identical ------------------------------------------

def test_20mb_generator_response_streams_with_bounded_memory(spans: Any) -> None:
    chunks = 20 * MB // len(BLOCK)

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        for _ in range(chunks):
            yield BLOCK

    expected = hashlib.sha256()
    for _ in range(chunks):
        expected.update(BLOCK)
    middleware = wrap(app, service_name="glance-api")
    received = hashlib.sha256()
    size = 0
    status: list[str] = []
    tracemalloc.start()
    try:
        result = middleware(make_environ(path="/v2/images/x/file"), lambda s, h, e=None: status.append(s))
        for chunk in result:
            assert chunk is BLOCK  # passed through untouched, not copied
            received.update(chunk)
            size += len(chunk)
        result.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == ["200 OK"]
    assert (size, received.hexdigest()) == (20 * MB, expected.hexdigest())
    assert peak < 2 * MB, f"peak allocation {peak} bytes for a 20 MB body"
    a = server_span(spans).attributes
    assert a["http.response.body.size"] == 20 * MB
    assert a["openstack.http.response.body.sha256"] == expected.hexdigest()
    assert a["openstack.http.response.body.state"] == "binary"
    assert "http.response.body.content" not in a


@pytest.mark.parametrize("configure", ["keyword", "environment"])
def test_body_digest_off_keeps_size_and_bytes_but_no_sha256(spans: Any, monkeypatch: Any, configure: str) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [BLOCK, BLOCK]

    if configure == "environment":
        monkeypatch.setenv("OTEL_OPENSTACK_BODY_DIGEST", "false")
        middleware = wrap(app, service_name="glance-api")
    else:
        middleware = wrap(app, service_name="glance-api", body_digest=False)
    upload = bytes(range(256)) * 512
    response = call(middleware, make_environ("PUT", "/v2/images/x/file", upload,
                                             content_type="application/octet-stream"))
    assert response.body == BLOCK + BLOCK
    a = server_span(spans).attributes
    assert (a["http.request.body.size"], a["http.response.body.size"]) == (len(upload), 2 * len(BLOCK))
    assert (a["openstack.http.request.body.state"], a["openstack.http.response.body.state"]) == ("binary", "binary")
    assert "openstack.http.request.body.sha256" not in a
    assert "openstack.http.response.body.sha256" not in a


def upload_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Reads its input in blocks, as glance does for an image upload."""
    remaining = int(environ["CONTENT_LENGTH"])
    digest_ = hashlib.sha256()
    size = 0
    stream = environ["wsgi.input"]
    while remaining:
        block = stream.read(min(65536, remaining))
        if not block:
            break
        digest_.update(block)
        size += len(block)
        remaining -= len(block)
    start_response("204 No Content", [("X-Received", f"{size} {digest_.hexdigest()}")])
    return []


def test_20mb_file_upload_through_a_real_server(spans: Any, serve: Any, tmp_path: Any) -> None:
    path = tmp_path / "image.raw"
    expected = hashlib.sha256()
    with open(path, "wb") as handle:
        for i in range(20 * MB // len(BLOCK)):
            handle.write(BLOCK)
            expected.update(BLOCK)
    server = serve(wrap(upload_app, service_name="glance-api"))
    tracemalloc.start()
    try:
        with open(path, "rb") as handle:
            response = requests.put(f"{server.url}/v2/images/x/file", data=handle,
                                    headers={"Content-Type": "application/octet-stream"})
        found = wait_for(spans, lambda s: any(x.kind == SpanKind.SERVER for x in s))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 204
    assert response.headers["X-Received"] == f"{20 * MB} {expected.hexdigest()}"
    assert peak < 4 * MB, f"peak allocation {peak} bytes for a 20 MB upload"
    (span,) = [s for s in found if s.kind == SpanKind.SERVER]
    a = span.attributes
    assert a["http.request.body.size"] == 20 * MB
    assert a["openstack.http.request.body.sha256"] == expected.hexdigest()
    assert a["openstack.http.request.body.state"] == "binary"
    assert "http.request.body.content" not in a
    assert response.headers["traceresponse"] == traceresponse_of(span)


TEXT = b"".join(b"line %04d of the request body\n" % i for i in range(300))  # ~9 KB


def echo_digest(received: bytes, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{len(received)} {hashlib.sha256(received).hexdigest()}".encode()]


@pytest.mark.parametrize("style", ["iterate", "readline", "readlines", "read-in-pieces"])
def test_app_reading_its_input_its_own_way_gets_every_byte(style: str, spans: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        stream = environ["wsgi.input"]
        if style == "iterate":
            received = b"".join(line for line in stream)
        elif style == "readline":
            received = b""
            while True:
                line = stream.readline()
                if not line:
                    break
                received += line
        elif style == "readlines":
            received = b"".join(stream.readlines())
        else:
            received = b""
            while piece := stream.read(1000):
                received += piece
        return echo_digest(received, start_response)

    response = call(wrap(app, service_name="swift"), make_environ("PUT", "/o", TEXT, content_type="text/plain"))
    assert response.body == f"{len(TEXT)} {hashlib.sha256(TEXT).hexdigest()}".encode()
    a = server_span(spans).attributes
    assert a["http.request.body.content"] == TEXT.decode()
    assert a["http.request.body.size"] == len(TEXT)
    assert a["openstack.http.request.body.state"] == "text"


def test_app_reading_part_of_its_input(spans: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return echo_digest(environ["wsgi.input"].read(10), start_response)

    response = call(wrap(app, service_name="swift"), make_environ("PUT", "/o", TEXT, content_type="text/plain"))
    assert response.body == f"10 {hashlib.sha256(TEXT[:10]).hexdigest()}".encode()
    a = server_span(spans).attributes
    assert a["http.request.body.size"] == 10
    assert a["openstack.http.request.body.state"] == "incomplete"
    assert a["openstack.http.request.body.sha256"] == hashlib.sha256(TEXT[:10]).hexdigest()
    assert "http.request.body.content" not in a


def test_input_without_content_length_read_to_the_end_is_complete(spans: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return echo_digest(environ["wsgi.input"].read(), start_response)

    call(wrap(app, service_name="swift"), make_environ("PUT", "/o", stream=io.BytesIO(b"abc")))
    a = server_span(spans).attributes
    assert (a["openstack.http.request.body.state"], a["http.request.body.content"]) == ("text", "abc")


class Boom(Exception):
    pass


BOOM = Boom("half-way")


def test_generator_app_raising_half_way(spans: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first part"
        raise BOOM

    received: list[bytes] = []
    result = wrap(app, service_name="nova-api")(make_environ(), lambda s, h, e=None: None)
    with pytest.raises(Boom) as caught:
        for chunk in result:
            received.append(chunk)
    assert caught.value is BOOM
    assert received == [b"first part"]
    span = server_span(spans)  # ended
    assert span.status.status_code == StatusCode.ERROR
    assert [e.attributes["exception.type"] for e in span.events if e.name == "exception"] == ["test_wsgi_middleware.Boom"]
    a = span.attributes
    assert a["openstack.http.response.body.state"] == "incomplete"
    assert a["http.response.body.size"] == len(b"first part")


def test_app_raising_before_responding(spans: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise BOOM

    with pytest.raises(Boom) as caught:
        wrap(app, service_name="nova-api")(make_environ(), lambda s, h, e=None: None)
    assert caught.value is BOOM
    assert server_span(spans).status.status_code == StatusCode.ERROR


class ClosingIterable:
    def __init__(self, chunks: list[bytes]):
        self.chunks = chunks
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed += 1


def test_close_of_the_app_iterable_called_exactly_once(spans: Any) -> None:
    iterable = ClosingIterable([b"a", b"b"])

    def app(environ: dict[str, Any], start_response: Any) -> ClosingIterable:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iterable

    assert call(wrap(app, service_name="x"), make_environ()).body == b"ab"
    assert iterable.closed == 1
    assert server_span(spans).attributes["http.response.body.content"] == "ab"


def test_close_once_when_the_client_goes_away_early(spans: Any) -> None:
    iterable = ClosingIterable([b"a", b"b", b"c"])

    def app(environ: dict[str, Any], start_response: Any) -> ClosingIterable:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iterable

    result = wrap(app, service_name="x")(make_environ(), lambda s, h, e=None: None)
    iterator = iter(result)
    assert next(iterator) == b"a"
    result.close()  # the server stops sending
    assert iterable.closed == 1
    a = server_span(spans).attributes
    assert (a["openstack.http.response.body.state"], a["http.response.body.size"]) == ("incomplete", 1)


def test_close_once_through_a_real_server(spans: Any, serve: Any) -> None:
    iterables: list[ClosingIterable] = []

    def app(environ: dict[str, Any], start_response: Any) -> ClosingIterable:
        start_response("200 OK", [("Content-Type", "text/plain")])
        iterables.append(ClosingIterable([b"hello ", b"world"]))
        return iterables[-1]

    server = serve(wrap(app, service_name="x"))
    assert requests.get(server.url + "/").text == "hello world"
    wait_for(spans, lambda s: any(x.kind == SpanKind.SERVER for x in s))
    assert [i.closed for i in iterables] == [1]


def test_capture_bodies_off(spans: Any) -> None:
    body = b'{"a": 1}'
    response = call(wrap(json_app, service_name="x", capture_bodies=False),
                    make_environ("POST", "/", body, content_type="application/json"))
    assert response.body == b'{"received": 8, "path": "/"}'
    a = server_span(spans).attributes
    assert not [k for k in a if ".body." in k]
    assert a["http.request.header.content-type"] == ("application/json",)


def test_body_limit_keyword(spans: Any) -> None:
    call(wrap(json_app, service_name="x", body_limit=5),
         make_environ("POST", "/", b'{"a": 123}', content_type="application/json"))
    a = server_span(spans).attributes
    assert a["openstack.http.request.body.state"] == "over_limit"
    assert a["openstack.http.request.body.sha256"] == hashlib.sha256(b'{"a": 123}').hexdigest()


def test_user_agent_recorded(spans: Any) -> None:
    call(wrap(json_app, service_name="swift-proxy-server"),
         make_environ(headers={"User-Agent": "python-swiftclient-4.1.0"}))
    assert server_span(spans).attributes["user_agent.original"] == "python-swiftclient-4.1.0"


def test_service_name_is_current_while_the_app_runs(spans: Any) -> None:
    from otel_openstack.capture.local import current_service

    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(current_service())
        start_response("200 OK", [])
        return []

    call(wrap(app, service_name="placement-api"), make_environ())
    assert seen == ["placement-api"]


def test_paste_filter_factory(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_openstack.instrumentation.wsgi"):
        factory = filter_factory({"__file__": "/etc/glance/api-paste.ini"}, service_name="glance-api",
                                 body_limit="100", redact="false", body_limit_typo="1",
                                 capture_bodies="perhaps")
        middleware = factory(json_app)
    assert isinstance(middleware, OpenStackWSGIMiddleware)
    assert middleware.app is json_app
    assert middleware.service_name == "glance-api"
    assert (middleware.settings.body_limit, middleware.settings.redact,
            middleware.settings.capture_bodies) == (100, False, True)
    assert sorted(r.getMessage() for r in caplog.records) == [
        "otel-openstack: ignoring paste option capture_bodies: expected true or false, got 'perhaps'",
        "otel-openstack: unknown paste option body_limit_typo ignored",
    ]


def test_a_failing_capture_never_breaks_the_request(spans: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_openstack.instrumentation import wsgi

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("capture bug")

    monkeypatch.setattr(wsgi, "header_attributes", broken)
    monkeypatch.setattr(wsgi.BodyRecorder, "attributes", broken)
    body = b'{"x": 1}'
    response = call(wrap(json_app, service_name="x"), make_environ("POST", "/", body, content_type="application/json"))
    assert (response.status, response.body) == ("201 Created", b'{"received": 8, "path": "/"}')
    assert server_span(spans).attributes["http.status_code"] == 201  # the upstream middleware's own


def test_iterable_app_result_types_kept(spans: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return (b for b in [b"[", b"1", b"]"])

    assert call(wrap(app, service_name="x"), make_environ()).body == b"[1]"
    assert server_span(spans).attributes["http.response.body.content"] == "[1]"


def test_body_sent_through_the_legacy_write_callable(spans: Any, serve: Any) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written, ")
        return [b"then returned"]

    server = serve(wrap(app, service_name="legacy"))
    assert requests.get(server.url + "/").content == b"written, then returned"
    (span,) = [s for s in wait_for(spans, lambda s: any(x.kind == SpanKind.SERVER for x in s))
               if s.kind == SpanKind.SERVER]
    assert span.attributes["http.response.body.content"] == "written, then returned"
    assert span.attributes["http.response.body.size"] == 22


@pytest.mark.parametrize("extra", [
    {},
    {"PATH_INFO": "/v2/images/0648f537-a3d5-439d-bbca-4354d228c188/file", "QUERY_STRING": "limit=5&marker=x"},
    {"PATH_INFO": "/a b/ü/%41", "QUERY_STRING": "q=a b"},
    {"PATH_INFO": "", "SCRIPT_NAME": ""},
    {"PATH_INFO": "x", "SCRIPT_NAME": ""},
    {"SCRIPT_NAME": "/identity", "PATH_INFO": "/v3/auth/tokens"},
    {"SCRIPT_NAME": "/id entity;v=1", "PATH_INFO": "/v3;a=b,c"},
    {"SCRIPT_NAME": "/image", "PATH_INFO": ""},
    {"HTTP_HOST": "", "SERVER_NAME": "glance", "SERVER_PORT": "9292"},
    {"HTTP_HOST": "", "SERVER_NAME": "glance", "SERVER_PORT": "80"},
    {"HTTP_HOST": "", "wsgi.url_scheme": "https", "SERVER_NAME": "glance", "SERVER_PORT": "443"},
    {"HTTP_HOST": "", "wsgi.url_scheme": "https", "SERVER_NAME": "glance", "SERVER_PORT": "80"},
    {"HTTP_HOST": "[::1]:5000", "PATH_INFO": "/v3/"},
])
def test_request_url_is_wsgirefs_request_uri(extra: dict[str, str]) -> None:
    import wsgiref.util

    from otel_openstack.instrumentation.wsgi import request_url

    environ: dict[str, Any] = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update(extra)
    assert request_url(environ) == wsgiref.util.request_uri(environ, include_query=True)
