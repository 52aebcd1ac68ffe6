"""Property: any bag of spans builds and renders, and no exchange is lost or shown twice.

Span ids come from a small pool, so duplicates, parent cycles, missing
parents and self-parents are frequent; kinds, attribute names (old and new
semantic conventions), clocks and resources are mixed at random.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_openstack import pipeline
from otel_openstack.model.build import build_trace, is_http
from otel_openstack.sources.spans import SpanRecord

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
IDS = [f"{i:016x}" for i in range(1, 9)]
RESOURCES = [{"service.name": "openstack"}, {"service.name": "glance-api", "host.name": "b"},
             {"service.name": "keystone", "host.name": "c"}, {}]


@st.composite
def spans(draw) -> SpanRecord:
    kind = draw(st.sampled_from(["client", "server", "internal", "producer"]))
    attributes: dict = {}
    style = draw(st.sampled_from(["new", "old", "none", "parts"]))
    method = draw(st.sampled_from(["GET", "POST", "_OTHER"]))
    url = draw(st.sampled_from(["http://h/identity/v3", "http://h:9292/v2/images", "http://h/image/x?y=1"]))
    if style == "new":
        attributes.update({"http.request.method": method, "url.full": url})
    elif style == "old":
        attributes.update({"http.method": method, "http.url": url})
    elif style == "parts":
        attributes.update({"http.request.method": method, "server.address": "h", "server.port": 5000})
    if style != "none" and draw(st.booleans()):
        attributes[draw(st.sampled_from(["http.response.status_code", "http.status_code"]))] = \
            draw(st.sampled_from([200, 201, 300, 404, 500, "204", "x"]))
    if draw(st.booleans()):
        attributes["openstack.http.response.traceresponse"] = f"00-{TRACE}-{draw(st.sampled_from(IDS))}-01"
    start = draw(st.integers(0, 10_000)) + draw(st.sampled_from([0, 0, 3_600_000, -7_200_000]))
    return SpanRecord(
        trace_id=TRACE, span_id=draw(st.sampled_from(IDS)), parent_id=draw(st.sampled_from([None, *IDS, "f" * 16])),
        name=draw(st.sampled_from(["GET /v3", "POST", "db", ""])), kind=kind,
        start_ns=start, end_ns=start + draw(st.integers(0, 5_000)),
        attributes=attributes, resource=draw(st.sampled_from(RESOURCES)),
        status_code=draw(st.sampled_from(["unset", "ok", "error"])),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans(), max_size=14))
def test_any_spans_build_without_losing_or_repeating_an_exchange(records):
    trace = build_trace(records, trace_id=TRACE)
    shown = [exchange.span_id for exchange in trace.walk()]
    assert len(shown) == len(set(shown))  # nothing twice
    kept = {}
    for record in sorted(records, key=lambda s: (s.start_ns, s.span_id)):
        kept.setdefault(record.span_id, record)
    http = {span_id for span_id, record in kept.items() if is_http(record)}
    assert set(shown) <= http
    # every HTTP client span is shown, or is part of an exchange that is (same request, nested)
    for span_id in http:
        record = kept[span_id]
        if record.kind == "client" and span_id not in shown:
            parent = kept.get(record.parent_id or "")
            assert parent is not None and parent.kind == "client" and is_http(parent), record
    assert all(isinstance(w, str) and "\n" not in w for w in trace.warnings)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans(), max_size=10))
def test_any_spans_render(records):
    rendered = pipeline.render(records, trace_id=TRACE)
    assert set(rendered.files) >= {"requests.log", "diagram.md", "body.md"}
