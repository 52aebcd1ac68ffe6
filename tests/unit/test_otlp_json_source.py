"""OTLP JSON -> SpanRecord: ids, kinds, attribute types, JSON Lines, bad input."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from otel_openstack.sources.errors import TraceInputError
from otel_openstack.sources.otlp_json import any_value, decode_id, parse_text, spans_from_document
from otel_openstack.sources.spans import SpanRecord

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
PARENT = "00f067aa0ba902b7"


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def span_json(span_id: str = SPAN, parent: str | None = PARENT, trace_id: str = TRACE, **extra: Any) -> dict:
    out = {"traceId": trace_id, "spanId": span_id, "name": "GET", "kind": 3,
           "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000500000000"}
    if parent is not None:
        out["parentSpanId"] = parent
    out.update(extra)
    return out


def document(*spans: dict, resource: dict | None = None) -> dict:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in (resource or {}).items()]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}],
    }]}


def test_a_full_span() -> None:
    span = span_json(
        attributes=[
            {"key": "http.request.method", "value": {"stringValue": "POST"}},
            {"key": "http.response.status_code", "value": {"intValue": "201"}},
            {"key": "openstack.http.request.header_names",
             "value": {"arrayValue": {"values": [{"stringValue": "Host"}, {"stringValue": "Accept"}]}}},
            {"key": "ratio", "value": {"doubleValue": 0.5}},
            {"key": "ok", "value": {"boolValue": True}},
            {"key": "map", "value": {"kvlistValue": {"values": [{"key": "a", "value": {"intValue": 1}}]}}},
            {"key": "raw", "value": {"bytesValue": "AAE="}},
            {"key": "nothing", "value": {}},
        ],
        status={"code": 2, "message": "boom"},
        events=[{"name": "exception", "timeUnixNano": "1700000000100000000",
                 "attributes": [{"key": "exception.type", "value": {"stringValue": "ConnectionError"}}]}],
    )
    (record,) = parse_text(json.dumps(document(span, resource={"service.name": "openstack"})))
    assert record == SpanRecord(
        trace_id=TRACE, span_id=SPAN, parent_id=PARENT, name="GET", kind="client",
        start_ns=1700000000000000000, end_ns=1700000000500000000,
        attributes={"http.request.method": "POST", "http.response.status_code": 201,
                    "openstack.http.request.header_names": ("Host", "Accept"), "ratio": 0.5, "ok": True,
                    "map": {"a": 1}, "raw": "AAE=", "nothing": None},
        resource={"service.name": "openstack"},
        status_code="error", status_message="boom",
        events=({"name": "exception", "time_ns": 1700000000100000000,
                 "attributes": {"exception.type": "ConnectionError"}},),
    )
    assert record.service_name == "openstack"
    assert type(record.attributes["http.response.status_code"]) is int


def test_base64_ids_as_protobuf_json_writes_them() -> None:
    span = span_json(span_id=b64(SPAN), parent=b64(PARENT), trace_id=b64(TRACE))
    (record,) = spans_from_document(document(span))
    assert (record.trace_id, record.span_id, record.parent_id) == (TRACE, SPAN, PARENT)


def test_upper_case_hex_ids_are_lowered() -> None:
    (record,) = spans_from_document(document(span_json(span_id=SPAN.upper(), trace_id=TRACE.upper())))
    assert (record.trace_id, record.span_id) == (TRACE, SPAN)


@pytest.mark.parametrize("parent", [None, "", "0000000000000000", b64("0000000000000000")])
def test_root_spans_have_no_parent(parent: str | None) -> None:
    (record,) = spans_from_document(document(span_json(parent=parent)))
    assert record.parent_id is None


@pytest.mark.parametrize("value, message", [
    ("xyz!", "span id is neither hex nor base64: 'xyz!'"),
    (b64("00f067aa"), "span id has 4 bytes, expected 8"),
    (12, "span id is not a string: 12"),
])
def test_bad_ids(value: Any, message: str) -> None:
    with pytest.raises(TraceInputError, match=message.replace("(", "\\(")):
        decode_id(value, 8)


@pytest.mark.parametrize("field, value, message", [
    ("traceId", "zz", "trace id is neither hex nor base64: 'zz'"),
    ("traceId", 7, "trace id is not a string: 7"),
    ("traceId", b64("00f067aa"), "trace id has 4 bytes, expected 16"),
    ("spanId", "zz", "span id is neither hex nor base64: 'zz'"),
    ("parentSpanId", "zz", "parent span id is neither hex nor base64: 'zz'"),
])
def test_bad_ids_in_a_document_name_the_field(field: str, value: Any, message: str) -> None:
    raw = span_json()
    raw[field] = value
    with pytest.raises(TraceInputError, match=message.replace("(", "\\(")):
        list(spans_from_document(document(raw)))


@pytest.mark.parametrize("kind, expected", [
    (0, "internal"), (1, "internal"), (2, "server"), (3, "client"), (4, "producer"), (5, "consumer"),
    ("SPAN_KIND_SERVER", "server"), ("SPAN_KIND_CLIENT", "client"), ("SPAN_KIND_INTERNAL", "internal"),
])
def test_kinds(kind: Any, expected: str) -> None:
    (record,) = spans_from_document(document(span_json(kind=kind)))
    assert record.kind == expected


def test_status_names_and_defaults() -> None:
    (ok,) = spans_from_document(document(span_json(status={"code": "STATUS_CODE_OK"})))
    (unset,) = spans_from_document(document(span_json()))
    assert (ok.status_code, unset.status_code, unset.status_message) == ("ok", "unset", "")


def test_json_lines_and_tempo_batches() -> None:
    first = document(span_json(span_id="1" * 16))
    second = {"batches": document(span_json(span_id="2" * 16))["resourceSpans"]}
    text = json.dumps(first) + "\n\n" + json.dumps(second) + "\n"
    assert [r.span_id for r in parse_text(text)] == ["1" * 16, "2" * 16]


def test_pretty_printed_document() -> None:
    text = json.dumps(document(span_json()), indent=1)
    assert [r.span_id for r in parse_text(text)] == [SPAN]


def test_truncated_last_line() -> None:
    lines = [json.dumps(document(span_json(span_id=f"{i}" * 16))) for i in range(1, 4)]
    text = "\n".join(lines[:2] + [lines[2][:40]])
    with pytest.raises(TraceInputError) as caught:
        parse_text(text)
    assert str(caught.value).startswith("line 3 is not valid JSON (")


def test_truncated_pretty_printed_document_names_where_it_ends() -> None:
    text = json.dumps(document(span_json(), span_json(span_id="1" * 16)), indent=1)
    cut = text[: len(text) // 2]
    with pytest.raises(TraceInputError) as caught:
        parse_text(cut)
    last_line = cut.count("\n") + 1
    assert str(caught.value).startswith(f"not valid JSON at line {last_line}, column "), str(caught.value)


def test_broken_first_line_of_json_lines() -> None:
    text = '{"resourceSpans": [}\n' + json.dumps(document(span_json()))
    with pytest.raises(TraceInputError) as caught:
        parse_text(text)
    assert str(caught.value) == "not valid JSON at line 1, column 20 (Expecting value)"


@pytest.mark.parametrize("text, message", [
    ("", "the trace file is empty"),
    ("  \n ", "the trace file is empty"),
    ("[]", "OTLP JSON document is not an object"),
    ("{}", "no resourceSpans in the OTLP JSON document"),
    ('{"resourceSpans": {}}', "resourceSpans is not a list"),
    ('{"resourceSpans": [1]}', "a resourceSpans entry is not an object"),
    ('{"resourceSpans": [{"scopeSpans": [{"spans": [1]}]}]}', "a span is not an object"),
    ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x"}]}]}]}', "a span has no traceId or spanId"),
    (json.dumps(document(span_json(startTimeUnixNano="soon"))), "startTimeUnixNano is not a number: 'soon'"),
    (json.dumps(document(span_json(endTimeUnixNano=1e400))), "endTimeUnixNano is not a number: inf"),
    # Mistyped nodes: one error naming where, not an AttributeError/TypeError/ValueError traceback.
    (json.dumps(document(span_json(status="x"))),
     "malformed OTLP JSON at resourceSpans[0].scopeSpans[0].spans[0]: a value has the wrong type "
     "('str' object has no attribute 'get')"),
    (json.dumps(document(span_json(attributes=[{"key": "a", "value": {"intValue": "x"}}]))),
     "malformed OTLP JSON at resourceSpans[0].scopeSpans[0].spans[0]: invalid literal for int() with base 10: 'x'"),
    ('{"resourceSpans": [{}, {"scopeSpans": 5}]}',
     "malformed OTLP JSON at resourceSpans[1]: a value has the wrong type ('int' object is not iterable)"),
    ('{"resourceSpans": [{"resource": [1]}]}',
     "malformed OTLP JSON at resourceSpans[0]: a value has the wrong type ('list' object has no attribute 'get')"),
    ("[" * 100_000, "the JSON is nested too deeply"),
])
def test_bad_documents(text: str, message: str) -> None:
    with pytest.raises(TraceInputError) as caught:
        parse_text(text)
    assert str(caught.value) == message


def test_empty_resource_and_scopes() -> None:
    assert parse_text('{"resourceSpans": [{"scopeSpans": [{}]}, {}]}') == []


def test_any_value_passthrough() -> None:
    assert any_value("plain") == "plain"
    assert any_value({"arrayValue": {}}) == []
    assert any_value({"intValue": 7}) == 7
