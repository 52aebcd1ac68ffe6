"""Traces we did not make, or that arrived damaged, still render; what cannot is named.

Every case goes through the real command (``otel-openstack render FILE``),
checking its status and exact warnings, and through the model, checking the
exact sequence of exchanges (``tracebuilder.sequence``: diagram-like lines
indented by nesting, independent of the Mermaid renderer's styling).
"""

from __future__ import annotations

import json

import pytest

import converters
from otel_openstack import cli
from otel_openstack.sources import detect
from otel_openstack.model.build import build_trace
from tracebuilder import TRACE, document, sequence, server, sid, span, write
from tracebuilder import client as ours

CLI = {"service.name": "openstack", "host.name": "laptop"}
GLANCE = {"service.name": "glance-api", "host.name": "controller"}
KEYSTONE = {"service.name": "keystone", "host.name": "identity"}


@pytest.fixture
def run(tmp_path, capsys):
    """``run(trace, *options)`` -> (status, exchange sequence, stderr lines) of ``otel-openstack render``."""
    def go(content, *extra: str) -> tuple[int, list[str], list[str]]:
        source = write(tmp_path / "trace.json", content)
        out = tmp_path / "out"
        status = cli.main(["render", str(source), "-o", str(out), *extra])
        err = capsys.readouterr().err.splitlines()
        return status, sequence(build_trace(detect.load(source, partial=True).spans)), err
    return go


# --- spans from upstream instrumentations ---------------------------------------------

UPSTREAM = document(
    ({"service.name": "my-app"}, [
        # opentelemetry-instrumentation-requests, default (old) semantic conventions
        span("c1", None, "client", "POST", 0, 100, {
            "http.method": "POST", "http.url": "http://127.0.0.1:9292/v2/images?x=1",
            "user_agent.original": "python-glanceclient", "http.status_code": 201}),
        # ... with OTEL_SEMCONV_STABILITY_OPT_IN=http
        span("c2", None, "client", "GET", 200, 300, {
            "http.request.method": "GET", "url.full": "http://127.0.0.1:9292/v2/images/abc",
            "user_agent.original": "python-glanceclient", "server.address": "127.0.0.1", "server.port": 9292,
            "http.response.status_code": 200, "network.protocol.version": "1.1"}),
        # ... a connection that failed
        span("c3", None, "client", "GET", 400, 410, {
            "http.method": "GET", "http.url": "http://127.0.0.1:1/x", "user_agent.original": "python-requests/2.34.2"},
            status={"code": 2, "message": "ConnectionError"},
            events=[{"name": "exception", "timeUnixNano": "1700000000405000000", "attributes": [
                {"key": "exception.type", "value": {"stringValue": "requests.exceptions.ConnectionError"}},
                {"key": "exception.message", "value": {"stringValue": "Connection refused"}}]}]),
    ]),
    ({"service.name": "glance-api"}, [
        # opentelemetry-instrumentation-wsgi, old names
        span("b1", "c1", "server", "POST /v2/images", 10, 90, {
            "http.method": "POST", "http.server_name": "localhost", "http.scheme": "http",
            "net.host.name": "127.0.0.1:9292", "http.host": "127.0.0.1:9292", "net.host.port": 9292,
            "http.url": "http://127.0.0.1:9292/v2/images?x=1", "net.peer.ip": "127.0.0.1",
            "http.user_agent": "python-glanceclient", "http.flavor": "1.1", "http.status_code": 201}),
        # new names, headers captured (OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST=".*"),
        # no url.path (the server set no RAW_URI): the span name has it
        span("b2", "c2", "server", "GET /v2/images/abc", 210, 290, {
            "http.request.method": "GET", "url.scheme": "http", "server.address": "127.0.0.1:9292",
            "server.port": 9292, "client.address": "127.0.0.1", "user_agent.original": "python-glanceclient",
            "http.request.header.host": ["127.0.0.1:9292"], "http.request.header.user_agent": ["python-glanceclient"],
            "http.request.header.accept": ["*/*"],
            "http.request.header.traceparent": [f"00-{TRACE}-{sid('c2')}-01"],
            "http.response.status_code": 200}),
        # an uninstrumented caller
        span("b3", None, "server", "GET /healthcheck", 500, 510, {
            "http.request.method": "GET", "url.scheme": "http", "server.address": "127.0.0.1:9292",
            "server.port": 9292, "user_agent.original": "curl/8.5.0", "http.response.status_code": 200}),
    ]),
)


def test_upstream_instrumentation_spans_old_and_new_names_render(run, tmp_path):
    status, seq, warnings = run(UPSTREAM)
    assert status == 0 and warnings == []
    assert seq == [
        "my-app->>glance-api: POST /v2/images",
        "glance-api-->>my-app: 201 Created /v2/images",
        "my-app->>glance-api: GET /v2/images/abc",
        "glance-api-->>my-app: 200 OK /v2/images/abc",
        "my-app->>127.0.0.1:1: GET /x",
        "127.0.0.1:1-->>my-app: ERROR requests.exceptions.ConnectionError: Connection refused /x",
        "curl->>glance-api: GET /healthcheck",
        "glance-api-->>curl: 200 OK /healthcheck",
    ]
    log = (tmp_path / "out" / "requests.log").read_text()
    for record in [
        # nothing captured: no header lines, and the body says so
        "\n### (my-app) REQ >>> (glance-api) : POST http://127.0.0.1:9292/v2/images?x=1\n\n(not captured)\n",
        "\n### (my-app) RESP <<< (glance-api) : 201 Created POST http://127.0.0.1:9292/v2/images?x=1\n\n"
        "(not captured)\n",
        # headers the server captured, named as upstream writes them (user_agent -> user-agent);
        # traceparent hidden as usual
        "\n### (my-app) REQ >>> (glance-api) : GET http://127.0.0.1:9292/v2/images/abc\n"
        "host: 127.0.0.1:9292\nuser-agent: python-glanceclient\naccept: */*\n\n(not captured)\n",
        "\n### (my-app) RESP <<< (127.0.0.1:1) : ERROR requests.exceptions.ConnectionError: "
        "Connection refused GET http://127.0.0.1:1/x\n\n(not captured)\n",
        # the URL rebuilt from server.address and the span name (no url.path)
        "\n### (curl) REQ >>> (glance-api) : GET http://127.0.0.1:9292/healthcheck\n\n(not captured)\n",
    ]:
        assert record in log, record


def test_upstream_trace_read_from_jaeger_renders_the_same(run, tmp_path):
    _, from_otlp, _ = run(UPSTREAM)
    log = (tmp_path / "out" / "requests.log").read_text()
    status, from_jaeger, warnings = run(converters.to_jaeger_v1(UPSTREAM))
    assert (status, warnings) == (0, [])
    assert from_jaeger == from_otlp
    assert (tmp_path / "out" / "requests.log").read_text() == log


# --- clocks ------------------------------------------------------------------------------

HOUR = 3_600_000  # ms
GLANCE_SKEW, KEYSTONE_SKEW = -1 * HOUR, -3 * HOUR  # how far each host's clock is behind the CLI's


def _skewed_trace() -> dict:
    g, k = GLANCE_SKEW, KEYSTONE_SKEW
    return document(
        (CLI, [
            span("a0", None, "internal", "openstack image create", 0, 2000,
                 {"openstack.cli.command": "openstack image create", "openstack.service.name": "openstack"}),
            span("c1", "a0", "client", "POST", 100, 900,
                 ours("POST", "http://h/image/v2/images", 201, "openstack")),
            span("c2", "a0", "client", "GET", 1000, 1100,
                 ours("GET", "http://h/image/v2/images/1", 200, "openstack")),
        ]),
        (GLANCE, [
            span("b1", "c1", "server", "POST /v2/images", 110 + g, 890 + g,
                 server("POST", "http://h/image/v2/images", 201, "glance-api")),
            span("d1", "b1", "client", "GET", 200 + g, 300 + g,
                 ours("GET", "http://h/identity/v3/auth/tokens", 200, "glance-api")),
            span("d2", "b1", "client", "GET", 600 + g, 700 + g,
                 ours("GET", "http://h/identity/v3/users/1", 200, "glance-api")),
            span("b2", "c2", "server", "GET /v2/images/1", 1010 + g, 1090 + g,
                 server("GET", "http://h/image/v2/images/1", 200, "glance-api")),
        ]),
        (KEYSTONE, [
            span("e1", "d1", "server", "GET /v3/auth/tokens", 210 + k, 290 + k,
                 server("GET", "http://h/identity/v3/auth/tokens", 200, "keystone")),
            # glance called keystone through a client we do not see (context propagated):
            # a server span straight under glance's server span, on keystone's clock
            span("e2", "b1", "server", "POST /v3/auth/tokens", 400 + k, 450 + k,
                 server("POST", "http://h/identity/v3/auth/tokens", 201, "keystone",
                        user_agent__original="keystonemiddleware.auth_token/10.0")),
            span("e3", "d2", "server", "GET /v3/users/1", 610 + k, 690 + k,
                 server("GET", "http://h/identity/v3/users/1", 200, "keystone")),
        ]),
    )


def test_skewed_clocks_order_by_causality_then_by_corrected_time(run):
    trace = _skewed_trace()
    status, seq, warnings = run(trace)
    assert (status, warnings) == (0, [])
    assert seq == [
        "openstack->>glance-api: POST /image/v2/images",
        "  glance-api->>keystone: GET /identity/v3/auth/tokens",
        "  keystone-->>glance-api: 200 OK /identity/v3/auth/tokens",
        # on keystone's own clock this call is 2 hours before glance's first one
        "  keystonemiddleware.auth_token->>keystone: POST /identity/v3/auth/tokens",
        "  keystone-->>keystonemiddleware.auth_token: 201 Created /identity/v3/auth/tokens",
        "  glance-api->>keystone: GET /identity/v3/users/1",
        "  keystone-->>glance-api: 200 OK /identity/v3/users/1",
        "glance-api-->>openstack: 201 Created /image/v2/images",
        "openstack->>glance-api: GET /image/v2/images/1",
        "glance-api-->>openstack: 200 OK /image/v2/images/1",
    ]
    # raw times would have put it first (what time-ordering alone would do)
    raw = {s.span_id: s.start_ns for s in detect.load_text(json.dumps(trace)).spans}
    assert raw[sid("e2")] < raw[sid("d1")]


def test_skewed_clocks_exchange_times_are_on_the_callers_clock():
    from otel_openstack.model.build import build_trace

    spans = detect.load_text(json.dumps(_skewed_trace())).spans
    outer, last = build_trace(spans).exchanges
    # ms after the CLI's request, on the CLI's clock: each host's offset recovered from the
    # client/server pairs (both hosts' true offsets here: -1 h and -3 h)
    assert [(c.caller, (c.start_ns - outer.start_ns) // 1_000_000, (c.end_ns - outer.start_ns) // 1_000_000)
            for c in outer.children] == [
        ("glance-api", 100, 200), ("keystonemiddleware.auth_token", 300, 350), ("glance-api", 500, 600)]
    assert ((last.start_ns - outer.start_ns) // 1_000_000) == 900


# --- missing, duplicate and looping parents -------------------------------------------------

def _glance_span_lost(announce: bool) -> dict:
    extra = {"openstack.http.response.traceresponse": f"00-{TRACE}-{sid('b1')}-01"} if announce else {}
    return document(
        (CLI, [span("c1", None, "client", "POST", 100, 900,
                    ours("POST", "http://h/image/v2/images", 201, "openstack", **extra))]),
        (GLANCE, [span("d1", "b1", "client", "GET", 200, 300,
                       ours("GET", "http://h/identity/v3/auth/tokens", 200, "glance-api"))]),
    )


def test_missing_server_span_named_by_traceresponse_keeps_its_calls_nested(run):
    status, seq, warnings = run(_glance_span_lost(announce=True))
    assert status == 0
    assert seq == [
        "openstack->>glance-api: POST /image/v2/images",
        "  glance-api->>keystone: GET /identity/v3/auth/tokens",
        "  keystone-->>glance-api: 200 OK /identity/v3/auth/tokens",
        "glance-api-->>openstack: 201 Created /image/v2/images",
    ]
    assert warnings == ["otel-openstack: warning: missing span b100000000000000 (parent of 1 span): nested under "
                        "openstack -> glance-api POST /image/v2/images, whose response named it"]


def test_missing_parent_puts_what_it_held_at_the_top(run):
    status, seq, warnings = run(_glance_span_lost(announce=False))
    assert status == 0
    assert seq == [
        "openstack->>glance-api: POST /image/v2/images",
        "glance-api-->>openstack: 201 Created /image/v2/images",
        "glance-api->>keystone: GET /identity/v3/auth/tokens",
        "keystone-->>glance-api: 200 OK /identity/v3/auth/tokens",
    ]
    assert warnings == ["otel-openstack: warning: missing span b100000000000000 (parent of 1 span): "
                        "shown at top level"]


def test_duplicate_span_ids_exact_copies_silently_others_with_a_warning(run):
    first = span("c1", None, "client", "GET", 100, 200, ours("GET", "http://h/identity/v3", 200, "openstack"))
    other = span("c1", None, "client", "GET", 300, 400, ours("GET", "http://h/identity/other", 200, "openstack"))
    status, seq, warnings = run(document((CLI, [first, first, other])))
    assert status == 0
    assert seq == ["openstack->>keystone: GET /identity/v3", "keystone-->>openstack: 200 OK /identity/v3"]
    assert warnings == ["otel-openstack: warning: duplicate span id c100000000000000 ignored"]


def test_parent_cycle_is_cut_and_named(run):
    status, seq, warnings = run(document((CLI, [
        span("c1", "c2", "client", "GET", 100, 200, ours("GET", "http://h/identity/a", 200, "openstack")),
        span("c2", "c1", "client", "GET", 150, 180, ours("GET", "http://h/identity/b", 200, "openstack")),
    ])))
    assert status == 0
    assert seq == [
        "openstack->>keystone: GET /identity/a",
        "  openstack->>keystone: GET /identity/b",
        "  keystone-->>openstack: 200 OK /identity/b",
        "keystone-->>openstack: 200 OK /identity/a",
    ]
    assert warnings == ["otel-openstack: warning: cycle in parent links at span c100000000000000; "
                        "nested at top level"]


def test_jaeger_reference_into_another_trace_is_named_and_the_span_kept(run, tmp_path):
    jaeger = converters.to_jaeger_v1(document((GLANCE, [
        span("b1", None, "server", "GET /v2/images", 100, 200, server("GET", "http://h/image/v2/images", 200,
                                                                      "glance-api", user_agent__original="curl/8")),
    ])))
    other_trace = "0af7651916cd43dd8448eb211c80319c"
    jaeger["data"][0]["spans"][0]["references"] = [
        {"refType": "CHILD_OF", "traceID": other_trace, "spanID": "00f067aa0ba902b7"}]
    status, seq, warnings = run(jaeger)
    assert status == 0
    assert seq == ["curl->>glance-api: GET /image/v2/images", "glance-api-->>curl: 200 OK /image/v2/images"]
    assert warnings == [f"otel-openstack: warning: {tmp_path / 'trace.json'}: span {sid('b1')}: its parent "
                        f"00f067aa0ba902b7 is in another trace ({other_trace}); shown without a parent"]


# --- spans that are not HTTP -------------------------------------------------------------------

def test_non_http_spans_are_skipped_and_named_their_http_children_kept(run):
    status, seq, warnings = run(document(
        (CLI, [span("c1", None, "client", "POST", 100, 900, ours("POST", "http://h/identity/v3/auth/tokens",
                                                                 201, "openstack"))]),
        (KEYSTONE, [
            span("e1", "c1", "server", "POST /v3/auth/tokens", 110, 890,
                 server("POST", "http://h/identity/v3/auth/tokens", 201, "keystone")),
            span("e2", "e1", "internal", "token.issue", 120, 800),
            span("e3", "e2", "client", "SELECT keystone", 130, 140, {"db.system": "sqlite"}),
            span("e4", "e2", "client", "SELECT keystone", 150, 160, {"db.system": "sqlite"}),
            span("e5", "e2", "producer", "notify", 170, 180, {"messaging.system": "rabbitmq"}),
            span("e6", "e2", "client", "/grpc.Health/Check", 190, 200, {"rpc.system": "grpc"}),
            # an HTTP call under the internal span still nests under the exchange
            span("e7", "e2", "client", "GET", 300, 400,
                 ours("GET", "http://h:9696/v2.0/networks", 200, "keystone")),
        ]),
    ))
    assert status == 0
    assert seq == [
        "openstack->>keystone: POST /identity/v3/auth/tokens",
        "  keystone->>neutron-server: GET /v2.0/networks",
        "  neutron-server-->>keystone: 200 OK /v2.0/networks",
        "keystone-->>openstack: 201 Created /identity/v3/auth/tokens",
    ]
    assert warnings == ["otel-openstack: warning: 5 spans not shown, not HTTP exchanges: keystone: token.issue (internal), "
                        "keystone: SELECT keystone (db) x2, keystone: notify (messaging), "
                        "keystone: /grpc.Health/Check (rpc)"]


def test_two_client_spans_of_one_request_are_one_exchange(run):
    """requests' span around urllib3's (or keystoneauth's around requests') for the same call."""
    status, seq, warnings = run(document(
        ({"service.name": "my-app"}, [
            span("c1", None, "client", "GET", 100, 500, {"http.method": "GET", "http.url": "http://h:5000/v3"}),
            span("c2", "c1", "client", "GET", 110, 490, {"http.request.method": "GET", "url.full": "http://h:5000/v3",
                                                        "http.response.status_code": 300}),
        ]),
        (KEYSTONE, [span("e1", "c2", "server", "GET /v3", 120, 480,
                         server("GET", "http://h:5000/v3", 300, "keystone",
                                openstack__http__response__status_text="MULTIPLE CHOICES"))]),
    ))
    assert (status, warnings) == (0, [])
    assert seq == ["my-app->>keystone: GET /v3", "keystone-->>my-app: 300 MULTIPLE CHOICES /v3"]


def test_a_trace_without_http_exchanges_is_an_input_error_unless_partial(run, tmp_path):
    trace = document((KEYSTONE, [span("e1", None, "internal", "cron.cleanup", 0, 10)]))
    status, seq, warnings = run(trace)
    assert (status, seq, (tmp_path / "out").exists()) == (2, [], False)
    assert warnings == ["otel-openstack: warning: 1 span not shown, not HTTP exchanges: keystone: cron.cleanup "
                        "(internal)",
                        f"otel-openstack: {tmp_path / 'trace.json'}: trace {TRACE} has no HTTP exchanges to render "
                        f"(1 span, none of them an HTTP request); --partial writes the empty outputs anyway"]
    status, seq, warnings = run(trace, "--partial")
    assert (status, seq, (tmp_path / "out" / "diagram.md").exists()) == (0, [], True)
    assert warnings[-1] == (f"otel-openstack: warning: {tmp_path / 'trace.json'}: trace {TRACE} has no HTTP "
                            f"exchanges to render (1 span, none of them an HTTP request)")


def test_a_server_span_ending_after_its_client_span_is_not_skew():
    """Same host: the server closes up just after the client read the last byte; no correction."""
    spans = detect.load_text(json.dumps(document(
        (CLI, [span("c1", None, "client", "POST", 100, 200, ours("POST", "http://h/image/v2/images", 201, "openstack"))]),
        (GLANCE, [
            span("b1", "c1", "server", "POST /v2/images", 101, 203, server("POST", "http://h/image/v2/images", 201,
                                                                           "glance-api")),
            span("d1", "b1", "client", "GET", 150, 160, ours("GET", "http://h/identity/v3", 200, "glance-api")),
        ]),
    ))).spans
    (outer,) = build_trace(spans).exchanges
    assert (outer.children[0].start_ns - outer.start_ns) // 1_000_000 == 50  # glance's clock, unshifted


def test_two_client_spans_of_one_request_in_a_parent_cycle_still_make_one_exchange(run):
    status, seq, warnings = run(document((CLI, [
        span("c1", "c2", "client", "GET", 100, 200, ours("GET", "http://h/identity/v3", 200, "openstack")),
        span("c2", "c1", "client", "GET", 110, 190, ours("GET", "http://h/identity/v3", 200, "openstack")),
    ])))
    assert status == 0
    assert seq == ["openstack->>keystone: GET /identity/v3", "keystone-->>openstack: 200 OK /identity/v3"]
    assert warnings == ["otel-openstack: warning: cycle in parent links at span c200000000000000; nested at top level"]
