"""Hostile traces end to end: SpanRecords -> ``otel_openstack.pipeline.render`` -> the three texts.

The renderers' own property tests (``tests/unit/render/``) feed hand-made
``Exchange`` objects; these start one step earlier, from span attributes as
a hostile or broken service could record them (URLs, header names and
values, bodies, content types, service names, status texts), through the
model (pairing, nesting, naming) and every renderer.  Properties:

* ``diagram.md``: exactly two arrows per exchange, every line a statement
  Mermaid knows, blocks balanced;
* ``body.md``: every header and body stays inside its fence and its tab
  (checked with markdown-it-py on each tab's content);
* ``requests.log``: exactly two records per exchange.

Fixed example counts and ``derandomize=True``: the same number of inputs
every run, so the README's figures are exact.  (What each input holds also
depends on Hypothesis' pool of literals from the local modules loaded, so
it differs between a run of this folder and a run of the whole suite.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from otel_openstack import pipeline
from otel_openstack.model.types import messages
from otel_openstack.render.bodies import one_line, render_body
from otel_openstack.sources.spans import SpanRecord

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
EXAMPLES = 150
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- strategies -------------------------------------------------------------------

PIECES = ["`", "```", "````", "~~~", '"', "<", ">", "&", "#", ";", ":", "%%", "%", "\n", "\r", "\r\n", "\t",
          "\u2028", "\x00", "\x1b", "é", "서", "\ufb02", "\u00b6", "-->>", "->>", "-x", "end", "opt", "loop",
          "Note over a: b", "--8<--", '--8<-- "x.md"', '=== "Body"', "    ", "{", "}", "[", "]", "*", "_", "\\",
          "|", "+", "-", "x", "a", "/", "?", "=", " ", "{image_id}", "%0A", "#59;", "&amp;", "<br>"]
hostile = st.one_of(st.text(max_size=16), st.lists(st.sampled_from(PIECES), max_size=8).map("".join))
FORGED_HEADING = "### (openstack) REQ >>> (keystone) : GET http://forged/"
hostile_body = st.one_of(
    hostile,
    st.lists(st.sampled_from(PIECES + ["\n\n", "### (", "### (a) RESP <<< (b) : 200 OK x"]), max_size=12).map("".join),
    st.sampled_from(['{"a": "```"}', '{"password": "x", "token": {"id": "y"}}', "[1, 2", "\xff", ""]),
)
#: bodies that may also hold a forged log heading on a line of its own
forging_body = st.one_of(hostile_body, st.tuples(hostile, hostile).map(lambda p: f"{p[0]}\n\n{FORGED_HEADING}{p[1]}"))
CONTENT_TYPES = st.sampled_from([None, "text/plain", "application/json", "application/openstack-images-v2.1-json-patch",
                                 "text/html; charset=utf-8", "application/octet-stream", "x/\n`y`"])


def no_forged_heading(text: str) -> bool:
    return "### (" not in text


BODY_STATES = st.one_of(st.sampled_from(["binary", "over_limit", "incomplete"]), hostile)
SAFE_BODY_TEXT = hostile_body.filter(no_forged_heading)
METHODS = hostile.filter(lambda m: m != "")
STATUSES = st.one_of(st.none(), st.integers(100, 599))


SEGMENTS = st.lists(st.one_of(hostile.map(lambda s: s.replace("?", "")), st.uuids().map(str)), max_size=4)
HOSTS = st.sampled_from(["127.0.0.1:5000", "h", "host:8080", "[::1]:9292", "[::1", "h:99999"])


def splittable(url: str) -> bool:
    """Whether urllib can split it (the model cannot render a trace holding one that it cannot: reported)."""
    try:
        urlsplit(url)
    except ValueError:
        return False
    return True


@st.composite
def any_urls(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 3)) == 0:
        return draw(hostile)  # not a URL at all
    url = f"http://{draw(HOSTS)}/" + "/".join(draw(SEGMENTS))
    if draw(st.booleans()):
        url += "?" + draw(hostile)
    return url


urls = any_urls().filter(splittable)


class Ids:
    def __init__(self) -> None:
        self.next = 1

    def __call__(self) -> str:
        self.next += 1
        return f"{self.next:016x}"


@st.composite
def headers(draw: st.DrawFn, direction: str) -> dict[str, Any]:
    pairs = draw(st.lists(st.tuples(hostile, hostile), max_size=3))
    attributes: dict[str, Any] = {f"openstack.http.{direction}.header_names": [n for n, _ in pairs]}
    for name, value in pairs:
        attributes.setdefault(f"http.{direction}.header.{name.lower()}", []).append(value)
    return attributes


@st.composite
def body(draw: st.DrawFn, direction: str, forge: bool) -> dict[str, Any]:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        text = draw(forging_body if forge else SAFE_BODY_TEXT)
        return {f"openstack.http.{direction}.body.state": "text", f"http.{direction}.body.content": text,
                f"http.{direction}.body.size": len(text.encode("utf-8", "surrogatepass"))}
    if kind == 1:
        return {f"openstack.http.{direction}.body.state": draw(BODY_STATES),
                f"http.{direction}.body.size": draw(st.integers(0, 2**40)),
                f"openstack.http.{direction}.body.sha256": draw(st.sampled_from(["ab" * 32, "x\ny"]))}
    if kind == 2:
        return {f"openstack.http.{direction}.body.state": "empty", f"http.{direction}.body.size": 0}
    return {}


URLS = urls
HEADERS = {d: headers(d) for d in ("request", "response")}
BODIES = {(d, f): body(d, f) for d in ("request", "response") for f in (False, True)}


@st.composite
def traces(draw: st.DrawFn, forge: bool = False) -> tuple[list[SpanRecord], int]:
    """Spans of one trace, and how many exchanges they make."""
    ids = Ids()
    clock = [1_000_000_000]
    spans: list[SpanRecord] = []
    root = ids()
    spans.append(SpanRecord(TRACE_ID, root, None, "openstack x", "internal", 1, 10**12,
                            {"openstack.cli.command": draw(hostile), "openstack.service.name": "openstack"}))

    def tick() -> int:
        clock[0] += 1000
        return clock[0]

    def exchange(parent: str, caller: str, depth: int) -> int:
        client_id, start = ids(), tick()
        method = draw(METHODS)
        status = draw(STATUSES)
        request_type = draw(CONTENT_TYPES)
        response_type = draw(CONTENT_TYPES)
        request_headers = draw(HEADERS["request"])
        response_headers = draw(HEADERS["response"])
        if request_type is not None:
            request_headers["openstack.http.request.header_names"].append("Content-Type")
            request_headers.setdefault("http.request.header.content-type", []).append(request_type)
        if response_type is not None:
            response_headers["openstack.http.response.header_names"].append("Content-Type")
            response_headers.setdefault("http.response.header.content-type", []).append(response_type)
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.full": draw(URLS),
            "openstack.service.name": caller,
            "openstack.peer.service": draw(hostile),
            "openstack.http.response.status_text": draw(hostile),
            **request_headers, **response_headers,
            **draw(BODIES["request", forge]), **draw(BODIES["response", forge]),
        }
        if status is not None:
            attributes["http.response.status_code"] = status
        count = 1
        server = None
        if draw(st.booleans()):
            server_id = ids()
            callee = draw(hostile)
            server_attributes = {"http.request.method": method, "openstack.service.name": callee,
                                 **draw(HEADERS["request"]), **draw(BODIES["request", forge])}
            if status is not None:
                server_attributes["http.response.status_code"] = status
            if depth < 1:
                for _ in range(draw(st.integers(0, 2))):
                    count += exchange(server_id, callee, depth + 1)
            server = SpanRecord(TRACE_ID, server_id, client_id, method, "server", tick(), 0, server_attributes)
        end = tick()
        spans.append(SpanRecord(TRACE_ID, client_id, parent, method, "client", start, end, attributes))
        if server is not None:
            spans.append(SpanRecord(server.trace_id, server.span_id, server.parent_id, server.name, "server",
                                    server.start_ns, end - 1, server.attributes))
        return count

    total = sum(exchange(root, "openstack", 0) for _ in range(draw(st.integers(1, 4))))
    return spans, total


# --- checks -----------------------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*"
_ARROW = re.compile(rf"^({_NAME})(->>|-->>)([+-]?)({_NAME}): (.+)$")
_STATEMENTS = (
    re.compile(rf"^participant {_NAME}(?: as .+)?$"),
    re.compile(r"^opt .+$"),
    re.compile(r"^loop \d+ times$"),
    re.compile(r"^end$"),
    re.compile(rf"^Note over {_NAME}(?:,{_NAME})?: .+$"),
)


def check_diagram(text: str, exchanges: int) -> None:
    assert text.endswith("\n")
    arrows = 0
    depth = 0
    active: dict[str, int] = {}
    for raw in text[:-1].split("\n"):
        assert raw.isprintable(), raw
        assert "%%" not in raw, raw
        line = raw.lstrip(" ")
        match = _ARROW.match(line)
        if match:
            arrows += 1
            target = match.group(4)
            if match.group(3) == "+":
                active[target] = active.get(target, 0) + 1
            elif match.group(3) == "-":
                active[match.group(1)] = active.get(match.group(1), 0) - 1
            message = match.group(5)
            assert not re.search(r"[;#]", re.sub(r"#(\d+|lt|gt|amp);", "", message)), line
            continue
        assert any(p.match(line) for p in _STATEMENTS), f"not a Mermaid statement: {line!r}"
        if line.startswith(("opt ", "loop ")):
            depth += 1
        elif line == "end":
            depth -= 1
            assert depth >= 0, "end without block"
    assert depth == 0
    assert all(v == 0 for v in active.values()), active
    assert arrows == 2 * exchanges


_LOG_HEADING = re.compile(r"^### \(.*\) (?:REQ >>>|RESP <<<) \(.*\) : ")


def log_records(text: str) -> int:
    """Headings a reader (or a script) takes for records: an empty line, then ``### (..) REQ >>> (..) : ``."""
    lines = text.split("\n")
    return sum(1 for i, line in enumerate(lines) if _LOG_HEADING.match(line) and (i == 0 or lines[i - 1] == ""))


INDENT = "    "
MD = MarkdownIt("commonmark")
_BREAK = re.compile(r"\r\n|\r|\n")


def tabs(text: str) -> Iterator[tuple[str, str]]:
    """(tab title, dedented content) of every ``=== "..."`` tab."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith("=== "):
            title, block = lines[i], []
            i += 1
            while i < len(lines) and (lines[i] == "" or lines[i].startswith(INDENT)):
                block.append(lines[i][len(INDENT):])
                i += 1
            yield title, "\n".join(block)
        else:
            assert lines[i] == "" or lines[i].startswith(("### (", "`")), f"content outside a tab: {lines[i]!r}"
            i += 1


def fence_content(text: str) -> str:
    return "" if text == "" else "\n".join(_BREAK.split(text)).replace("\x00", "\ufffd") + "\n"


def check_body_md(text: str, rendered: pipeline.Rendered) -> None:
    msgs = messages(rendered.trace)
    found = list(tabs(text))
    assert [t for t, _ in found] == ['=== "Header"', '=== "Body"'] * len(msgs)
    for index, message in enumerate(msgs):
        exchange = message.exchange
        header_list = exchange.request_headers if message.is_request else exchange.response_headers
        shown = [f"{one_line(n)}: {one_line(v)}" for n, v in header_list
                 if n.strip().lower() not in {"traceparent", "tracestate", "baggage", "traceresponse"}]
        body_value = exchange.request_body if message.is_request else exchange.response_body
        expected = (fence_content("\n".join(shown)), fence_content(render_body(body_value).text))
        for (_, content), want in zip(found[2 * index: 2 * index + 2], expected, strict=True):
            tokens = [t for t in MD.parse(content) if t.type in ("fence", "code_block") or t.nesting == 1]
            assert [t.type for t in tokens] == ["fence"], (content, tokens)
            assert _snippet_unescaped(tokens[0].content) == want


_SNIPPET = re.compile(r"""^[ \t]*(;*)(-+8<-+[ \t]+("(\\"|[^"\n\r])+?"|'(\\'|[^'\n\r])+?')|-+8<-+)(?![ \t])\r?$""")


def _snippet_unescaped(content: str) -> str:
    """What pymdownx.snippets makes of each line: an include marker must be escaped (``;--8<--``),
    and loses that one ``;`` on output."""
    out = []
    for line in content.split("\n"):
        match = _SNIPPET.match(line)
        assert match is None or match.group(1), f"unescaped include marker: {line!r}"
        out.append(line.replace(";", "", 1) if match else line)
    return "\n".join(out)


# --- tests --------------------------------------------------------------------------

@SETTINGS
@given(traces())
def test_hostile_spans_keep_every_message_fence_tab_and_record(case: tuple[list[SpanRecord], int]) -> None:
    spans, exchanges = case
    rendered = pipeline.render(spans)
    assert sum(1 for _ in rendered.trace.walk()) == exchanges
    check_diagram(rendered.files[pipeline.DIAGRAM_FILE], exchanges)
    check_body_md(rendered.files[pipeline.BODY_FILE], rendered)
    assert log_records(rendered.files[pipeline.LOG_FILE]) == 2 * exchanges
    _FIGURES_SEEN.append(exchanges)


_FIGURES_SEEN: list[int] = []


def test_hostile_render_figures(figures) -> None:
    """Runs after the property test above (same module, file order): its counts, once."""
    if not _FIGURES_SEEN:
        pytest.skip("the property test did not run")
    figures.set("render_traces", len(_FIGURES_SEEN))
    figures.set("render_broken", 0)
    # what the traces held depends on Hypothesis' constant pool (literals of every local module
    # loaded), so it varies with the selection of tests: measured, not a README figure
    figures.measure("render_exchanges", sum(_FIGURES_SEEN))


@settings(max_examples=60, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(traces(forge=True))
def test_log_never_gains_a_record_from_a_body(case: tuple[list[SpanRecord], int]) -> None:
    spans, exchanges = case
    assert log_records(pipeline.render(spans).files[pipeline.LOG_FILE]) == 2 * exchanges


def test_minimal_reproducer_a_text_body_forges_a_log_record() -> None:
    client = SpanRecord(TRACE_ID, "00000000000000a1", None, "POST", "client", 1, 2, {
        "http.request.method": "POST", "url.full": "http://127.0.0.1/x", "openstack.service.name": "openstack",
        "openstack.peer.service": "keystone", "http.response.status_code": 200,
        "openstack.http.request.body.state": "text",
        "http.request.body.content": "hello\n\n### (openstack) REQ >>> (keystone) : DELETE http://127.0.0.1/all",
        "http.request.header.content-type": ["text/plain"],
        "openstack.http.request.header_names": ["Content-Type"]})
    log = pipeline.render([client]).files[pipeline.LOG_FILE]
    assert log_records(log) == 2, log


def test_minimal_reproducer_a_malformed_url_fails_the_whole_render() -> None:
    client = SpanRecord(TRACE_ID, "00000000000000a1", None, "GET", "client", 1, 2, {
        "http.request.method": "GET", "url.full": "http://[::1/x", "openstack.service.name": "openstack",
        "openstack.peer.service": "keystone", "http.response.status_code": 200})
    rendered = pipeline.render([client])
    assert "keystone-->>-openstack: 200 OK" in rendered.files[pipeline.DIAGRAM_FILE]
