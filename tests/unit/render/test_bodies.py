"""Body text, summaries, sizes and header lines shared by the renderers."""

from __future__ import annotations

import pytest

from otel_openstack.model.types import NOT_CAPTURED, Body
from otel_openstack.render.bodies import (
    RenderedBody,
    body_summary,
    body_text,
    header_lines,
    human_size,
    one_line,
    pretty_json,
    render_body,
    size_text,
)
from otel_openstack.render.options import RenderOptions

SHA = "ab12" * 16


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (None, "size unknown"),
        (-1, "size unknown"),
        (0, "0 bytes"),
        (1, "1 byte"),
        (512, "512 bytes"),
        (1023, "1,023 bytes"),
        (1024, "1,024 bytes (1.0 KiB)"),
        (16384, "16,384 bytes (16.0 KiB)"),
        (1048575, "1,048,575 bytes (1.0 MiB)"),  # 1023.999 KiB rounds up to the next unit
        (21233664, "21,233,664 bytes (20.2 MiB)"),
        (3 * 1024**3, "3,221,225,472 bytes (3.0 GiB)"),
    ],
)
def test_size_text(size: int | None, expected: str) -> None:
    assert size_text(size) == expected


def test_human_size_small_values_stay_in_bytes() -> None:
    assert human_size(1) == "1 byte"
    assert human_size(1000) == "1000 bytes"
    assert human_size(1536) == "1.5 KiB"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            Body(size=16384, content_type="application/octet-stream", sha256=SHA, state="binary"),
            f"<binary body: 16,384 bytes (16.0 KiB), application/octet-stream, sha256:{SHA}>",
        ),
        (
            Body(size=2 * 1024**2, content_type="application/json", state="over_limit"),
            "<body over capture limit: 2,097,152 bytes (2.0 MiB), application/json>",
        ),
        (
            Body(size=21233664, content_type="application/octet-stream", state="not_captured"),
            "<streamed body, not captured: 21,233,664 bytes (20.2 MiB), application/octet-stream>",
        ),
        (
            Body(size=None, sha256=SHA, state="incomplete"),
            f"<incomplete body: size unknown, sha256:{SHA}>",
        ),
        (Body(size=10, state="mystery"), "<body (mystery): 10 bytes>"),
    ],
)
def test_summary_wording(body: Body, expected: str) -> None:
    assert body_summary(body) == expected
    assert render_body(body) == RenderedBody(expected, is_json=False)


def test_summary_keeps_one_line_with_hostile_content_type() -> None:
    body = Body(size=3, content_type="text/x\nevil", state="binary")
    assert body_text(body) == "<binary body: 3 bytes, text/x%0Aevil>"


def test_not_captured_and_empty() -> None:
    assert body_text(NOT_CAPTURED) == "(not captured)"
    # captured=False wins over any state
    assert body_text(Body(text="x", state="text", captured=False)) == "(not captured)"
    assert body_text(Body(state="empty", size=0)) == "none"
    assert body_text(Body(text="", state="text")) == "none"
    assert body_text(Body(text=None, state="text")) == "none"


def test_json_is_pretty_printed_keeping_key_order_and_non_ascii() -> None:
    text = '{"z": 1, "a": {"이름": "é", "list": [1, {}]}, "m": []}'
    body = Body(text=text, content_type="application/json", state="text")
    rendered = render_body(body)
    assert rendered.is_json and rendered.language == "json"
    assert rendered.text == (
        "{\n"
        '  "z": 1,\n'
        '  "a": {\n'
        '    "이름": "é",\n'
        '    "list": [\n'
        "      1,\n"
        "      {}\n"
        "    ]\n"
        "  },\n"
        '  "m": []\n'
        "}"
    )


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=UTF-8",
        "application/vnd.openstack.identity-v3+json",
        "application/openstack-images-v2.1-json-patch",
        None,  # sniffed: starts with [ or {
    ],
)
def test_json_detection(content_type: str | None) -> None:
    rendered = render_body(Body(text='[{"op": "add"}]', content_type=content_type, state="text"))
    assert rendered == RenderedBody('[\n  {\n    "op": "add"\n  }\n]', is_json=True)


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ('{"a": 1}', "text/plain"),  # declared as text: shown as sent
        ("{not json", "application/json"),
        ('{"a": 1, "a": 2}', "application/json"),  # duplicates would be merged silently
        ("42", None),  # no content type and not an object/array: not sniffed
    ],
)
def test_text_that_is_not_shown_as_json_stays_as_is(text: str, content_type: str | None) -> None:
    assert render_body(Body(text=text, content_type=content_type, state="text")) == RenderedBody(text)


def test_plain_text_drops_exactly_one_final_line_break() -> None:
    assert body_text(Body(text="a\nb\n", state="text")) == "a\nb"
    assert body_text(Body(text="a\r\n\r\n", state="text")) == "a\r\n"
    assert body_text(Body(text="  spaced  ", state="text")) == "  spaced  "


def test_pretty_json_refuses_deep_nesting_without_crashing() -> None:
    assert pretty_json("[" * 100000 + "]" * 100000) is None


def test_one_line() -> None:
    assert one_line("plain é 한") == "plain é 한"
    assert one_line("a\r\nb\tc\u2028d\x00") == "a%0D%0Ab%09c%E2%80%A8d%00"


def test_header_lines_hide_propagation_headers_case_insensitively() -> None:
    headers = (
        ("Host", "example"),
        ("Traceparent", "00-1-2-01"),
        ("tracestate", "x=1"),
        ("baggage", "k=v"),
        ("TraceResponse", "00-1-2-01"),
        ("X-Evil", "a\nFake: header"),
    )
    assert header_lines(headers, RenderOptions()) == ["Host: example", "X-Evil: a%0AFake: header"]
    assert header_lines(headers, RenderOptions(hide_propagation_headers=False)) == [
        "Host: example",
        "Traceparent: 00-1-2-01",
        "tracestate: x=1",
        "baggage: k=v",
        "TraceResponse: 00-1-2-01",
        "X-Evil: a%0AFake: header",
    ]


def test_options_are_frozen() -> None:
    with pytest.raises(AttributeError):
        RenderOptions().hide_propagation_headers = False  # type: ignore[misc]
