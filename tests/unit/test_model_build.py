"""build_trace: hand-made spans -> exchanges (pairing, nesting, naming, ordering, preferences)."""

from __future__ import annotations

from typing import Any

from otel_openstack.model import NOT_CAPTURED, Body, messages
from otel_openstack.model.build import NamingOptions, build_trace, span_url
from otel_openstack.sources.spans import SpanRecord

TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER = "1bf7651916cd43dd8448eb211c80319d"


def rec(span_id: str, parent: str | None = None, kind: str = "client", start: int = 0, end: int | None = None,
        trace_id: str = TRACE, service: str | None = None, resource: dict | None = None, **attrs: Any) -> SpanRecord:
    attributes = {k.replace("__", "."): v for k, v in attrs.items()}
    if service:
        attributes["openstack.service.name"] = service
    return SpanRecord(trace_id=trace_id, span_id=span_id.ljust(16, "0"), parent_id=parent.ljust(16, "0") if parent else None,
                      name="x", kind=kind, start_ns=start, end_ns=start + 10 if end is None else end,
                      attributes=attributes, resource=resource or {})


def http(method: str, url: str, code: int | None = None, text: str | None = None, **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"http.request.method": method, "url.full": url}
    if code is not None:
        out["http.response.status_code"] = code
    if text is not None:
        out["openstack.http.response.status_text"] = text
    out.update(more)
    return out


def build(*spans: SpanRecord, **kwargs: Any) -> Any:
    return build_trace(list(spans), **kwargs)


def test_client_and_server_pair_into_one_exchange() -> None:
    client = rec("c1", service="openstack", start=100, end=200,
                 **http("GET", "http://10.0.0.5/image/v2/images?limit=1", 200, "OK"))
    server = SpanRecord(**{**rec("s1", "c1", "server", start=110, end=190, service="glance-api").__dict__,
                           "attributes": {**http("GET", "http://10.0.0.5/image/v2/images?limit=1", 200, "OK"),
                                          "openstack.service.name": "glance-api"}})
    trace = build(client, server)
    (exchange,) = trace.exchanges
    assert (exchange.caller, exchange.callee, exchange.method, exchange.url, exchange.path) == \
        ("openstack", "glance-api", "GET", "http://10.0.0.5/image/v2/images?limit=1", "/image/v2/images")
    assert (exchange.status_code, exchange.status_text, exchange.start_ns, exchange.end_ns) == (200, "OK", 100, 200)
    assert exchange.span_id == "c100000000000000"
    assert exchange.children == ()
    assert exchange.error is None
    assert trace.trace_id == TRACE


def test_service_call_nested_under_the_server_span_of_the_outer_exchange() -> None:
    spans = [
        rec("c1", service="openstack", start=100, end=900, **http("POST", "http://h/image/v2/images", 201)),
        rec("s1", "c1", "server", start=110, end=890, service="glance-api",
            **http("POST", "http://h/image/v2/images", 201)),
        rec("i1", "s1", "internal", start=120, end=400),  # e.g. a function span in glance
        rec("c2", "i1", start=130, end=300, service="glance-api",
            **http("GET", "http://h/identity/v3/auth/tokens", 200)),
        rec("s2", "c2", "server", start=140, end=290, service="keystone",
            **http("GET", "http://h/identity/v3/auth/tokens", 200)),
        rec("c3", "s1", start=500, end=600, service="glance-api",
            **http("PUT", "http://h:8080/v1/AUTH_x/glance/img", 201)),
        rec("c4", service="openstack", start=1000, end=1100, **http("GET", "http://h/image/v2/images/1", 200)),
    ]
    trace = build(*reversed(spans))
    outer, last = trace.exchanges
    assert (outer.caller, outer.callee) == ("openstack", "glance-api")
    assert [(c.caller, c.callee, c.method, c.path) for c in outer.children] == [
        ("glance-api", "keystone", "GET", "/identity/v3/auth/tokens"),
        ("glance-api", "swift-proxy-server", "PUT", "/v1/AUTH_x/glance/img"),
    ]
    assert last.path == "/image/v2/images/1" and last.children == ()
    assert [m.exchange.span_id[:2] + ("REQ" if m.is_request else "RESP") for m in messages(trace)] == [
        "c1REQ", "c2REQ", "c2RESP", "c3REQ", "c3RESP", "c1RESP", "c4REQ", "c4RESP"]
    assert [m.depth for m in messages(trace)] == [0, 1, 1, 1, 1, 0, 0, 0]
    assert [m.number for m in messages(trace)] == list(range(1, 9))


def test_uninstrumented_caller_named_from_user_agent() -> None:
    server = rec("s1", "ffff", "server", service="swift-proxy-server",
                 **http("PUT", "http://h:8080/v1/AUTH_x/c/o", 201, "Created"),
                 user_agent__original="python-swiftclient-4.1.0 keystoneauth1/5.0")
    old = rec("s2", None, "server", start=50, service="keystone", **{"http.method": "GET", "http.url": "http://h/identity/v3",
                                                                    "http.status_code": 300, "http.user_agent": "curl/8.5.0"})
    trace = build(server, old)
    assert [(e.caller, e.callee, e.status_code, e.status_text) for e in trace.exchanges] == [
        ("python-swiftclient-4.1.0", "swift-proxy-server", 201, "Created"),
        ("curl", "keystone", 300, "Multiple Choices"),
    ]


def test_callee_named_from_service_type_then_url_then_host() -> None:
    spans = [
        rec("c1", service="openstack", start=1, openstack__service__type="image",
            **http("GET", "http://10.0.0.5:9292/v2/images", 200)),
        rec("c2", service="openstack", start=2, **http("GET", "http://10.0.0.5/identity/v3", 300)),
        rec("c3", service="openstack", start=3, **http("GET", "http://10.0.0.5:8080/info", 200)),
        rec("c4", service="openstack", start=4, **http("GET", "http://cloud.example:1234/x", 200)),
        rec("c5", service="openstack", start=5, openstack__peer__service="my-api",
            openstack__service__type="image", **http("GET", "http://h/image", 200)),
        rec("c6", service="openstack", start=6, openstack__service__type="volumev3",
            **http("GET", "http://h/volume/v3", 200)),
    ]
    assert [e.callee for e in build(*spans).exchanges] == [
        "glance-api", "keystone", "swift-proxy-server", "cloud.example:1234", "my-api", "cinder-api"]


def test_naming_overrides() -> None:
    spans = [rec("c1", service="openstack", start=1, openstack__service__type="image", **http("GET", "http://h/x", 200)),
             rec("c2", service="openstack", start=2, **http("GET", "http://h:8774/v2.1", 200))]
    options = NamingOptions(service_type_names=[("image", "glance")], url_names=[(":8774", "compute")])
    assert [e.callee for e in build(*spans, options=options).exchanges] == ["glance", "compute"]


def test_caller_falls_back_to_the_resource_service_name() -> None:
    (exchange,) = build(rec("c1", resource={"service.name": "nova-compute"}, **http("GET", "http://h/placement/x", 200))).exchanges
    assert (exchange.caller, exchange.callee) == ("nova-compute", "placement-api")


def test_exchanges_ordered_by_start_time() -> None:
    spans = [rec(f"c{i}", service="openstack", start=start, **http("GET", f"http://h/identity/{i}", 200))
             for i, start in enumerate([300, 100, 200])]
    assert [e.path for e in build(*spans).exchanges] == ["/identity/1", "/identity/2", "/identity/0"]


def test_client_headers_preferred_over_server_headers() -> None:
    client = rec("c1", service="openstack", **http(
        "GET", "http://h/image/v2", 200,
        **{"openstack.http.request.header_names": ("Host", "Accept", "Accept"),
           "http.request.header.host": ("h",), "http.request.header.accept": ("a/1", "a/2")}))
    server = rec("s1", "c1", "server", service="glance-api", **http(
        "GET", "http://h/image/v2", 200,
        **{"openstack.http.request.header_names": ("Host",), "http.request.header.host": ("server-view",),
           "openstack.http.response.header_names": ("Content-Type",),
           "http.response.header.content-type": ("application/json",)}))
    (exchange,) = build(client, server).exchanges
    assert exchange.request_headers == (("Host", "h"), ("Accept", "a/1"), ("Accept", "a/2"))
    assert exchange.response_headers == (("Content-Type", "application/json"),)  # the client captured none


def test_headers_without_the_order_attribute() -> None:
    (exchange,) = build(rec("c1", **http("GET", "http://h/x", 200, **{
        "http.request.header.accept": ("*/*",), "http.request.header.x-a": "1"}))).exchanges
    assert exchange.request_headers == (("accept", "*/*"), ("x-a", "1"))


def test_server_body_used_when_the_client_did_not_capture_it() -> None:
    client = rec("c1", service="openstack", **http(
        "GET", "http://h/image/v2/images/1/file", 200,
        **{"openstack.http.response.body.state": "not_captured",
           "openstack.http.request.body.state": "empty", "http.request.body.size": 0,
           "openstack.http.response.header_names": ("Content-Type",),
           "http.response.header.content-type": ("application/octet-stream",)}))
    server = rec("s1", "c1", "server", service="glance-api", **http(
        "GET", "http://h/image/v2/images/1/file", 200,
        **{"openstack.http.response.body.state": "binary", "http.response.body.size": 1048576,
           "openstack.http.response.body.sha256": "ab" * 32,
           "openstack.http.request.body.state": "text", "http.request.body.content": "server-side",
           "http.request.body.size": 11}))
    (exchange,) = build(client, server).exchanges
    assert exchange.response_body == Body(text=None, size=1048576, content_type="application/octet-stream",
                                          sha256="ab" * 32, state="binary")
    assert exchange.request_body == Body(text=None, size=0, content_type=None, sha256=None, state="empty")


def test_client_body_preferred_and_not_captured_when_nobody_saw_it() -> None:
    client = rec("c1", service="openstack", **http("POST", "http://h/identity/v3/auth/tokens", 201, **{
        "openstack.http.request.body.state": "text", "http.request.body.content": '{"a":1}',
        "http.request.body.size": 8,
        "openstack.http.request.header_names": ("Content-Type",),
        "http.request.header.content-type": ("application/json",)}))
    server = rec("s1", "c1", "server", service="keystone", **http("POST", "http://h/identity/v3/auth/tokens", 201, **{
        "openstack.http.request.body.state": "text", "http.request.body.content": '{"b":2}'}))
    (exchange,) = build(client, server).exchanges
    assert exchange.request_body == Body(text='{"a":1}', size=8, content_type="application/json", state="text")
    assert exchange.response_body is NOT_CAPTURED


def test_status_text_preference_and_fallback() -> None:
    client = rec("c1", service="openstack", **http("GET", "http://h/identity", 300))
    server = rec("s1", "c1", "server", service="keystone", **http("GET", "http://h/identity", 300, "MULTIPLE CHOICES"))
    assert build(client, server).exchanges[0].status_text == "MULTIPLE CHOICES"
    assert build(client).exchanges[0].status_text == "Multiple Choices"
    assert build(rec("c1", **http("GET", "http://h/", 599))).exchanges[0].status_text == ""


def test_connection_error_exchange() -> None:
    (exchange,) = build(rec("c1", service="openstack", **http("GET", "http://h:5000/v3", None,
                                                                    **{"error.type": "ConnectionError"}))).exchanges
    assert (exchange.status_code, exchange.status_text, exchange.error) == (None, "", "ConnectionError")
    assert exchange.callee == "keystone"


def test_exception_event_and_error_status() -> None:
    span = SpanRecord(trace_id=TRACE, span_id="c1".ljust(16, "0"), parent_id=None, name="GET", kind="client",
                      start_ns=0, end_ns=1, attributes=http("GET", "http://h/x"), status_code="error",
                      status_message="", events=({"name": "exception", "attributes": {
                          "exception.type": "ConnectTimeout", "exception.message": "timed out"}},))
    assert build(span).exchanges[0].error == "ConnectTimeout: timed out"
    failing = rec("c2", **http("GET", "http://h/x", 500))
    assert build(failing).exchanges[0].error is None  # a 500 with nothing more to say


def test_url_from_old_attributes() -> None:
    span = rec("s1", kind="server", **{"http.method": "GET", "http.scheme": "http", "http.host": "h:8080",
                                        "http.target": "/v1/a?format=json"})
    assert span_url(span) == "http://h:8080/v1/a?format=json"
    new = rec("s2", kind="server", **{"http.request.method": "GET", "server.address": "h", "server.port": 5000,
                                       "url.path": "/v3", "url.query": "nocatalog", "url.scheme": "https"})
    assert span_url(new) == "https://h:5000/v3?nocatalog"


def test_cli_root_and_trace_selection() -> None:
    root = rec("r1", kind="internal", service="openstack", start=0, end=1000, **{
        "openstack.cli.command": "openstack image list",
        "openstack.cli.argv": ("image", "list"), "process.exit.code": 0, "openstack.cli.output": "+--+"})
    call = rec("c1", "r1", service="openstack", start=10, **http("GET", "http://h/image/v2/images", 200))
    noise = [rec(f"n{i}", trace_id=OTHER, kind="server", start=i, service="placement-api",
                 **http("GET", "http://h/placement/x", 200)) for i in range(3)]
    trace = build(root, call, *noise)
    assert (trace.trace_id, trace.command, trace.argv, trace.exit_code, trace.output) == \
        (TRACE, "openstack image list", ("image", "list"), 0, "+--+")
    assert [e.path for e in trace.exchanges] == ["/image/v2/images"]
    assert build(*noise).trace_id == OTHER
    assert [e.caller for e in build(root, call, *noise, trace_id=OTHER).exchanges] == ["unknown-client"] * 3


def test_duplicate_ids_and_cycles_are_warned_not_fatal() -> None:
    a = rec("c1", "c2", start=1, **http("GET", "http://h/identity/a", 200))
    b = rec("c2", "c1", start=2, **http("GET", "http://h/identity/b", 200))
    dup = rec("c1", start=3, **http("GET", "http://h/identity/dup", 200))
    trace = build(a, b, dup)
    assert "duplicate span id c100000000000000 ignored" in trace.warnings
    assert "cycle in parent links at span c100000000000000; nested at top level" in trace.warnings
    # nothing lost: the loop is cut at its earliest exchange
    assert [(e.path, [c.path for c in e.children]) for e in trace.exchanges] == [("/identity/a", ["/identity/b"])]


def test_non_http_spans_are_not_exchanges() -> None:
    assert build(rec("i1", kind="internal", **http("GET", "http://h/")), rec("c1", kind="client")).exchanges == ()
