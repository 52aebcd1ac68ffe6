"""The mkdocs-material fragment: exact sections, and fences/tabs that hold any content."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from sample_trace import image_create_trace

from otel_openstack.model.types import Body, Exchange, Message, Trace, messages
from otel_openstack.render import RenderOptions, render_body_md
from otel_openstack.render.bodies import one_line, render_body
from otel_openstack.render.markdown import (
    code_span,
    escape_snippet_marker,
    heading_text,
    message_title,
    render_section,
    title_attribute,
)

EXPECTED_BODY_MD = """
### (1) GET /identity/
`openstack` --> `keystone`

=== "Header"
    ``` http title="GET /identity/" linenums="1"
    Host: 192.0.2.10
    User-Agent: openstacksdk/4.0.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.11.7
    Accept: application/json
    ```

=== "Body"
    ``` text title="GET /identity/" linenums="1"
    none
    ```


### (2) 300 MULTIPLE CHOICES /identity/
`openstack` <-- `keystone`

=== "Header"
    ``` http title="300 MULTIPLE CHOICES /identity/" linenums="1"
    Content-Type: application/json
    Location: http://192.0.2.10/identity/v3/
    ```

=== "Body"
    ``` json title="300 MULTIPLE CHOICES /identity/" linenums="1"
    {
      "versions": {
        "values": [
          {
            "id": "v3.14",
            "status": "stable"
          }
        ]
      }
    }
    ```


### (3) POST /identity/v3/auth/tokens
`openstack` --> `keystone`

=== "Header"
    ``` http title="POST /identity/v3/auth/tokens" linenums="1"
    Host: 192.0.2.10
    User-Agent: openstacksdk/4.0.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.11.7
    Accept: application/json
    Content-Type: application/json
    ```

=== "Body"
    ``` json title="POST /identity/v3/auth/tokens" linenums="1"
    {
      "auth": {
        "identity": {
          "methods": [
            "password"
          ],
          "password": {
            "user": {
              "name": "admin",
              "password": "***"
            }
          }
        }
      }
    }
    ```


### (4) 201 CREATED /identity/v3/auth/tokens
`openstack` <-- `keystone`

=== "Header"
    ``` http title="201 CREATED /identity/v3/auth/tokens" linenums="1"
    Content-Type: application/json
    X-Subject-Token: ***
    ```

=== "Body"
    ``` json title="201 CREATED /identity/v3/auth/tokens" linenums="1"
    {
      "token": {
        "methods": [
          "password"
        ],
        "expires_at": "2030-01-01T00:00:00Z"
      }
    }
    ```


### (5) POST /image/v2/images
`openstack` --> `glance-api`

=== "Header"
    ``` http title="POST /image/v2/images" linenums="1"
    Host: 192.0.2.10
    User-Agent: openstacksdk/4.0.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.11.7
    Accept: application/json
    Content-Type: application/json
    ```

=== "Body"
    ``` json title="POST /image/v2/images" linenums="1"
    {
      "name": "cirros",
      "disk_format": "qcow2"
    }
    ```


### (6) GET /identity/v3/auth/tokens
`glance-api` --> `keystone`

=== "Header"
    ``` http title="GET /identity/v3/auth/tokens" linenums="1"
    X-Auth-Token: ***
    X-Subject-Token: ***
    ```

=== "Body"
    ``` text title="GET /identity/v3/auth/tokens" linenums="1"
    none
    ```


### (7) 200 OK /identity/v3/auth/tokens
`glance-api` <-- `keystone`

=== "Header"
    ``` http title="200 OK /identity/v3/auth/tokens" linenums="1"
    Content-Type: application/json
    ```

=== "Body"
    ``` json title="200 OK /identity/v3/auth/tokens" linenums="1"
    {
      "token": {
        "user": {
          "name": "admin"
        }
      }
    }
    ```


### (8) 201 Created /image/v2/images
`openstack` <-- `glance-api`

=== "Header"
    ``` http title="201 Created /image/v2/images" linenums="1"
    Content-Type: application/json
    Location: http://192.0.2.10/image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90
    ```

=== "Body"
    ``` json title="201 Created /image/v2/images" linenums="1"
    {
      "id": "0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90",
      "status": "queued"
    }
    ```


### (9) PUT /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file
`openstack` --> `glance-api`

=== "Header"
    ``` http title="PUT /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file" linenums="1"
    Content-Type: application/octet-stream
    ```

=== "Body"
    ``` text title="PUT /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file" linenums="1"
    <binary body: 16,384 bytes (16.0 KiB), application/octet-stream, sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08>
    ```


### (10) 204 No Content /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file
`openstack` <-- `glance-api`

=== "Header"
    ``` http title="204 No Content /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file" linenums="1"
    Content-Length: 0
    ```

=== "Body"
    ``` text title="204 No Content /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file" linenums="1"
    none
    ```

"""


def exchange(**kw: object) -> Exchange:
    base: dict[str, object] = dict(
        caller="openstack", callee="glance-api", method="GET", url="http://h/v2/images",
        path="/v2/images", status_code=200, status_text="OK",
    )
    base.update(kw)
    return Exchange(**base)  # type: ignore[arg-type]


def test_sample_fragment_exactly() -> None:
    assert render_body_md(image_create_trace(), RenderOptions()) == EXPECTED_BODY_MD
    assert render_body_md(image_create_trace()) == EXPECTED_BODY_MD


def test_numbering_nesting_and_arrow_direction() -> None:
    lines = EXPECTED_BODY_MD.splitlines()
    pairs = [(line, lines[i + 1]) for i, line in enumerate(lines) if line.startswith("### ")]
    assert pairs == [
        ("### (1) GET /identity/", "`openstack` --> `keystone`"),
        ("### (2) 300 MULTIPLE CHOICES /identity/", "`openstack` <-- `keystone`"),
        ("### (3) POST /identity/v3/auth/tokens", "`openstack` --> `keystone`"),
        ("### (4) 201 CREATED /identity/v3/auth/tokens", "`openstack` <-- `keystone`"),
        ("### (5) POST /image/v2/images", "`openstack` --> `glance-api`"),
        ("### (6) GET /identity/v3/auth/tokens", "`glance-api` --> `keystone`"),
        ("### (7) 200 OK /identity/v3/auth/tokens", "`glance-api` <-- `keystone`"),
        ("### (8) 201 Created /image/v2/images", "`openstack` <-- `glance-api`"),
        ("### (9) PUT /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file", "`openstack` --> `glance-api`"),
        ("### (10) 204 No Content /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file", "`openstack` <-- `glance-api`"),
    ]


def test_propagation_headers_shown_when_asked() -> None:
    ex = exchange(request_headers=(("Accept", "*/*"), ("traceparent", "00-a-b-01")))
    shown = render_section(Message(1, ex, True, 0), RenderOptions(hide_propagation_headers=False))
    hidden = render_section(Message(1, ex, True, 0))
    assert "    traceparent: 00-a-b-01\n" in shown
    assert "traceparent" not in hidden


def test_error_section_and_empty_headers() -> None:
    failed = exchange(status_code=None, status_text="", error='Read timed out "x"')
    assert render_section(Message(2, failed, False, 0)) == (
        "\n"
        '### (2) ERROR Read timed out "x" /v2/images\n'
        "`openstack` <-- `glance-api`\n"
        "\n"
        '=== "Header"\n'
        '    ``` http title="ERROR Read timed out %22x%22 /v2/images" linenums="1"\n'
        "    ```\n"
        "\n"
        '=== "Body"\n'
        '    ``` text title="ERROR Read timed out %22x%22 /v2/images" linenums="1"\n'
        "    (not captured)\n"
        "    ```\n"
        "\n"
    )


def test_body_with_backticks_gets_a_longer_fence_and_stays_in_its_tab() -> None:
    body = Body(text="a ``` b\n\n  `````\r\nlast\rline\n", state="text", content_type="text/plain")
    ex = exchange(method="POST", request_headers=(("X-Quote", 'say "hi" `x`'),), request_body=body)
    assert render_section(Message(3, ex, True, 0)) == (
        "\n"
        "### (3) POST /v2/images\n"
        "`openstack` --> `glance-api`\n"
        "\n"
        '=== "Header"\n'
        '    ``` http title="POST /v2/images" linenums="1"\n'
        '    X-Quote: say "hi" `x`\n'
        "    ```\n"
        "\n"
        '=== "Body"\n'
        '    `````` text title="POST /v2/images" linenums="1"\n'
        "    a ``` b\n"
        "\n"
        "      `````\n"
        "    last\n"
        "    line\n"
        "    ``````\n"
        "\n"
    )


def test_json_body_containing_a_fence_and_non_ascii() -> None:
    ex = exchange(response_body=Body(text='{"note": "```\\n이미지"}', state="text", content_type="application/json"))
    assert render_section(Message(2, ex, False, 0)) == (
        "\n"
        "### (2) 200 OK /v2/images\n"
        "`openstack` <-- `glance-api`\n"
        "\n"
        '=== "Header"\n'
        '    ``` http title="200 OK /v2/images" linenums="1"\n'
        "    ```\n"
        "\n"
        '=== "Body"\n'
        '    ```` json title="200 OK /v2/images" linenums="1"\n'
        "    {\n"
        '      "note": "```\\n이미지"\n'
        "    }\n"
        "    ````\n"
        "\n"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('--8<-- "/etc/passwd"', ';--8<-- "/etc/passwd"'),
        ("  -8<- 'x.md'", "  ;-8<- 'x.md'"),
        ("--8<--", ";--8<--"),
        (';--8<-- "a"', ';;--8<-- "a"'),  # already escaped once: keep what the user wrote
        ('--8<-- "a" trailing', '--8<-- "a" trailing'),  # not a snippet line: untouched
        ("--8<--\tx", "--8<--\tx"),
        ("text --8<--", "text --8<--"),
    ],
)
def test_snippet_markers_are_escaped(line: str, expected: str) -> None:
    assert escape_snippet_marker(line) == expected


def test_snippet_marker_in_a_body_is_escaped_in_place() -> None:
    ex = exchange(request_body=Body(text='--8<-- "secrets.md"\n--8<--\n/etc/passwd\n--8<--', state="text"))
    section = render_section(Message(1, ex, True, 0))
    assert '    ;--8<-- "secrets.md"\n    ;--8<--\n    /etc/passwd\n    ;--8<--\n' in section


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("GET /v2/images/{image_id}", "GET /v2/images/{image_id}"),
        ('GET /a"b', "GET /a%22b"),
        ("GET /a`b<c>&d'e", "GET /a%60b%3Cc%3E%26d'e"),
        ("GET /a\nb\u2028", "GET /a%0Ab%E2%80%A8"),
        ("GET /이미지", "GET /이미지"),
    ],
)
def test_title_attribute(title: str, expected: str) -> None:
    assert title_attribute(title) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /v2/images/{image_id}/file", "GET /v2/images/{image_id}/file"),
        ("GET /os-availability_zone/detail", "GET /os-availability_zone/detail"),
        ("GET /_x_/*y*", "GET /\\_x\\_/\\*y\\*"),
        ("GET /[a](b) `c` \\d", "GET /\\[a\\](b) \\`c\\` \\\\d"),
        ("GET /<script>&amp;", "GET /&lt;script&gt;&amp;amp;"),
        ("GET /~a~^b^ #", "GET /&#126;a&#126;&#94;b&#94; \\#"),
        ("GET /a {: .cls}", "GET /a \\{: .cls}"),
        ("GET /{--x--}/{++y++}/{id}", "GET /&#123;--x--}/&#123;++y++}/{id}"),  # pymdownx.critic
        ("GET /a\nb", "GET /a%0Ab"),
    ],
)
def test_heading_text(text: str, expected: str) -> None:
    assert heading_text(text) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("glance-api", "`glance-api`"),
        ("my `svc`", "`` my `svc` ``"),
        ("a``b", "```a``b```"),
        ("x\ny", "`x%0Ay`"),
        (" padded ", "`  padded  `"),
        ("", "` `"),
    ],
)
def test_code_span(name: str, expected: str) -> None:
    assert code_span(name) == expected


def test_empty_trace() -> None:
    assert render_body_md(Trace("t", ())) == ""


# --- property: content never leaves its fence or its tab ----------------------

INDENT = "    "
MD = MarkdownIt("commonmark")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

hostile_line_text = st.one_of(
    st.text(max_size=20),
    st.lists(st.sampled_from(list('`~"<>&#*_[]{}\\ \t;:%-8é\u2028\x00') + ["```", "--8<--", '"a"', "\n"]),
             max_size=10).map("".join),
)
hostile_body_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(["`", "```", "````", "~~~", "\n", "\r", "\r\n", " ", "    ", "\t", "a", "é",
                              "=== \"Body\"", "--8<--", ';--8<-- "x"', '--8<-- "f.md"', "#", "\x00", "<b>"]),
             max_size=25).map("".join),
)
bodies = st.one_of(
    st.builds(Body, text=hostile_body_text, state=st.just("text"),
              content_type=st.sampled_from([None, "text/plain", "application/json"])),
    st.builds(Body, size=st.one_of(st.none(), st.integers(0, 2**40)), state=st.sampled_from(["binary", "over_limit"]),
              content_type=st.one_of(st.none(), hostile_line_text)),
    st.just(Body(state="empty")),
    st.just(Body(captured=False, state="not_captured")),
)
headers = st.lists(st.tuples(hostile_line_text, hostile_line_text), max_size=3).map(tuple)


@st.composite
def exchanges(draw: st.DrawFn, depth: int = 0) -> Exchange:
    children = tuple(draw(st.lists(exchanges(depth=depth + 1), max_size=2))) if depth < 1 else ()
    return Exchange(
        caller=draw(hostile_line_text),
        callee=draw(hostile_line_text),
        method=draw(hostile_line_text),
        url="http://h/",
        path=draw(hostile_line_text),
        status_code=draw(st.one_of(st.none(), st.integers(100, 599))),
        status_text=draw(hostile_line_text),
        error=draw(st.one_of(st.none(), hostile_line_text)),
        request_headers=draw(headers),
        request_body=draw(bodies),
        response_headers=draw(headers),
        response_body=draw(bodies),
        children=children,
    )


def fence_text(text: str) -> str:
    """What a CommonMark fence holding ``text`` must report as its content."""
    if text == "":
        return ""
    return "\n".join(_LINE_BREAK.split(text)).replace("\x00", "\ufffd") + "\n"


def expected_tabs(trace: Trace) -> list[tuple[str, str]]:
    out = []
    for message in messages(trace):
        ex = message.exchange
        hdrs = ex.request_headers if message.is_request else ex.response_headers
        body = ex.request_body if message.is_request else ex.response_body
        hidden = {"traceparent", "tracestate", "baggage", "traceresponse"}
        lines = [f"{one_line(n)}: {one_line(v)}" for n, v in hdrs if n.strip().lower() not in hidden]
        rendered = render_body(body)
        out.append(("http", fence_text("\n".join(lines))))
        out.append((rendered.language, fence_text(rendered.text)))
    return out


def split_tabs(text: str) -> tuple[list[str], list[list[str]]]:
    """Top-level lines, and the dedented block under each ``=== "..."`` line."""
    top: list[str] = []
    tabs: list[list[str]] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        if current is not None and (line == "" or line.startswith(INDENT)):
            current.append(line[len(INDENT):])
            continue
        current = None
        top.append(line)
        if line.startswith("=== "):
            current = []
            tabs.append(current)
    return top, tabs


_SNIPPET = re.compile(r"""^[ \t]*(;*)(-+8<-+[ \t]+("(\\"|[^"\n\r])+?"|'(\\'|[^'\n\r])+?')|-+8<-+)(?![ \t])\r?$""")


def as_snippets_outputs(line: str) -> str:
    """The line after pymdownx.snippets: an escaped marker loses its first ``;``."""
    m = _SNIPPET.match(line)
    assert m is None or m.group(1), f"unescaped snippet marker: {line!r}"
    return line.replace(";", "", 1) if m else line


def inline_children(line: str) -> list[tuple[str, str]]:
    tokens = MD.parse(line)
    inline = [t for t in tokens if t.type == "inline"]
    assert len(inline) == 1, (line, tokens)
    return [(c.type, c.content) for c in inline[0].children or []]


@settings(max_examples=200, deadline=None)
@given(st.lists(exchanges(), min_size=1, max_size=2))
def test_content_never_escapes_fence_or_tab(roots: list[Exchange]) -> None:
    trace = Trace("t", tuple(roots))
    out = render_body_md(trace)
    msgs = messages(trace)
    top, tabs = split_tabs(out)

    # top level holds only the section skeleton
    skeleton = [line for line in top if line != ""]
    assert len(skeleton) == 4 * len(msgs)
    for i, message in enumerate(msgs):
        heading, arrow, header_tab, body_tab = skeleton[4 * i: 4 * i + 4]
        assert heading.startswith(f"### ({message.number}) ")
        assert header_tab == '=== "Header"' and body_tab == '=== "Body"'

        # the heading is one CommonMark heading whose text is the title, literally
        assert [t.type for t in MD.parse(heading)] == ["heading_open", "inline", "heading_close"]
        children = inline_children(heading)
        assert {kind for kind, _ in children} <= {"text"}, children
        visible = f"({message.number}) " + one_line(message_title(message))
        assert "".join(c for _, c in children) == visible.rstrip(" \t")

        # the arrow line is two code spans holding the names
        ex = message.exchange
        kinds = inline_children(arrow)
        assert [k for k, _ in kinds] == ["code_inline", "text", "code_inline"], kinds
        assert kinds[0][1] == (one_line(ex.caller) or " ")
        assert kinds[1][1] == (" --> " if message.is_request else " <-- ")
        assert kinds[2][1] == (one_line(ex.callee) or " ")

    # each tab is exactly one fence, holding exactly the content
    assert len(tabs) == 2 * len(msgs)
    for block, (language, content) in zip(tabs, expected_tabs(trace)):
        tokens = MD.parse("\n".join(as_snippets_outputs(line) for line in block))
        assert [t.type for t in tokens] == ["fence"], block
        fence = tokens[0]
        assert fence.content == content
        assert fence.info.split()[0] == language
        opening = block[0]
        title = re.fullmatch(r'`{3,} \w+ title="([^"]*)" linenums="1"', opening)
        assert title, opening
        assert not set(title.group(1)) & set('"`<>&') and title.group(1).isprintable()
        while block[-1] == "":
            block = block[:-1]
        assert block[-1] == fence.markup
        for line in block[1:-1]:
            assert fence.markup not in line  # superfences closes only on the exact fence

    # nothing a snippet preprocessor would expand
    for line in out.split("\n"):
        as_snippets_outputs(line)
