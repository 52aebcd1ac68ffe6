"""Jaeger v1 JSON -> SpanRecord, field by field; and the shapes format detection tells apart."""

from __future__ import annotations

import json

import pytest

from otel_openstack.sources import detect
from otel_openstack.sources.errors import TraceInputError
from otel_openstack.sources.jaeger import tag_value
from otel_openstack.sources.spans import SpanRecord

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def jaeger_span(**extra) -> dict:
    out = {"traceID": TRACE, "spanID": "00f067aa0ba902b7", "operationName": "GET", "references": [],
           "startTime": 1700000000123456, "duration": 1500, "tags": [], "logs": [], "processID": "p1"}
    out.update(extra)
    return out


def read(*spans: dict, processes: dict | None = None) -> list[SpanRecord]:
    document = {"data": [{"traceID": TRACE, "spans": list(spans),
                          "processes": processes or {"p1": {"serviceName": "glance-api", "tags": [
                              {"key": "host.name", "type": "string", "value": "controller"}]}}}]}
    return detect.load_text(json.dumps(document)).spans


def test_a_full_span_from_the_documented_mapping():
    (record,) = read(jaeger_span(
        references=[{"refType": "CHILD_OF", "traceID": TRACE, "spanID": "b7ad6b7169203331"},
                    {"refType": "FOLLOWS_FROM", "traceID": TRACE, "spanID": "1111111111111111"}],
        tags=[
            {"key": "span.kind", "type": "string", "value": "client"},
            {"key": "otel.status_code", "type": "string", "value": "ERROR"},
            {"key": "otel.status_description", "type": "string", "value": "boom"},
            {"key": "error", "type": "bool", "value": True},
            {"key": "otel.scope.name", "type": "string", "value": "otel_openstack.instrumentation.keystoneauth"},
            {"key": "internal.span.format", "type": "string", "value": "otlp"},
            {"key": "http.response.status_code", "type": "int64", "value": 503},
            {"key": "ratio", "type": "float64", "value": 0.25},
            {"key": "raw", "type": "binary", "value": "AAE="},
            {"key": "http.request.header.accept", "type": "string", "value": "[\"a/1\",\"a/2\"]"},
            {"key": "openstack.http.request.header_names", "type": "string", "value": "[\"Accept\",\"Accept\"]"},
            # a JSON array body stays the text it is
            {"key": "http.response.body.content", "type": "string", "value": "[\"x\"]"},
        ],
        logs=[{"timestamp": 1700000000124000, "fields": [
            {"key": "event", "type": "string", "value": "exception"},
            {"key": "exception.type", "type": "string", "value": "ConnectTimeout"}]}],
    ))
    assert record == SpanRecord(
        trace_id=TRACE, span_id="00f067aa0ba902b7", parent_id="b7ad6b7169203331", name="GET", kind="client",
        start_ns=1700000000123456000, end_ns=1700000000124956000,
        attributes={"http.response.status_code": 503, "ratio": 0.25, "raw": "AAE=",
                    "http.request.header.accept": ("a/1", "a/2"),
                    "openstack.http.request.header_names": ("Accept", "Accept"),
                    "http.response.body.content": "[\"x\"]"},
        resource={"host.name": "controller", "service.name": "glance-api"},
        status_code="error", status_message="boom",
        events=({"name": "exception", "time_ns": 1700000000124000000,
                 "attributes": {"exception.type": "ConnectTimeout"}},),
    )


@pytest.mark.parametrize("tags, kind, status", [
    ([], "internal", "unset"),  # the spec: no tag for INTERNAL
    ([{"key": "span.kind", "type": "string", "value": "internal"}], "internal", "unset"),  # the Collector adds one
    ([{"key": "span.kind", "type": "string", "value": "server"},
      {"key": "otel.status_code", "type": "string", "value": "OK"}], "server", "ok"),
    ([{"key": "error", "type": "bool", "value": True}], "internal", "error"),  # OpenTracing clients
    ([{"key": "error", "type": "string", "value": "true"}], "internal", "unset"),  # not the flag: an attribute
])
def test_kind_and_status(tags, kind, status):
    (record,) = read(jaeger_span(tags=tags))
    assert (record.kind, record.status_code) == (kind, status)


def test_short_ids_are_padded_and_old_parent_field_read():
    (record,) = read(jaeger_span(traceID="a3ce929d0e0e4736", spanID="f067aa0ba902b7", parentSpanID="1"))
    assert (record.trace_id, record.span_id, record.parent_id) == (
        "0000000000000000a3ce929d0e0e4736", "00f067aa0ba902b7", "0000000000000001")


def test_tags_typed_loosely_are_still_read():
    assert tag_value({"key": "n", "type": "int64", "value": "42"}) == 42
    assert tag_value({"key": "b", "type": "bool", "value": "true"}) is True
    assert tag_value({"key": "x", "type": "float64", "value": "nan?"}) == "nan?"
    assert tag_value({"key": "http.request.header.x", "value": "[1,2]"}) == (1, 2)
    assert tag_value({"key": "http.request.header.x", "value": "[not json"}) == "[not json"
    assert tag_value({"key": "other", "value": "[\"a\"]"}) == "[\"a\"]"  # not known to be an array


def test_process_embedded_in_the_span():
    (record,) = read(jaeger_span(processID="", process={"serviceName": "keystone", "tags": []}), processes={})
    assert record.resource == {"service.name": "keystone"}


@pytest.mark.parametrize("document, expected", [
    ({"resourceSpans": []}, "otlp"),
    ({"batches": []}, "tempo"),
    ({"trace": {"resourceSpans": []}}, "tempo"),  # Tempo API v2
    ({"result": {"resourceSpans": []}}, "jaeger-v3"),
    ({"data": [], "total": 0, "limit": 0, "offset": 0, "errors": None}, "jaeger-v1"),
    ({"traceID": TRACE, "spans": [], "processes": {}}, "jaeger-v1"),  # one trace
    ([{"traceID": TRACE, "spans": [], "processes": {}}], "jaeger-v1"),  # a list of traces
])
def test_format_detection(document, expected):
    assert detect.classify(document) == expected


def test_bad_jaeger_input_is_named():
    with pytest.raises(TraceInputError, match=r"^<input>: spanID is missing or not a string: None$"):
        read(jaeger_span(spanID=None))
    with pytest.raises(TraceInputError, match=r"^<input>: startTime is not a number of microseconds: 'soon'$"):
        read(jaeger_span(startTime="soon"))


def test_partial_skips_unreadable_jaeger_spans_with_a_warning():
    document = {"data": [{"traceID": TRACE, "processes": {}, "spans": [jaeger_span(), jaeger_span(spanID="x!")]}]}
    loaded = detect.load_text(json.dumps(document), "dl.json", partial=True)
    assert len(loaded.spans) == 1
    assert loaded.warnings == [f"dl.json: span 2 of trace {TRACE} skipped: spanID is not a hex id of at most "
                               f"8 bytes: 'x!'"]
