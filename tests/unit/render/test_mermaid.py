"""The Mermaid sequence diagram: exact lines, and safety against hostile input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sample_trace import image_create_trace

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.render import RenderOptions, render_diagram
from otel_openstack.render.mermaid import (
    MERMAID_KEYWORDS,
    assign_aliases,
    escape_text,
    is_bare_name,
    response_text,
)

EXPECTED_DIAGRAM = """\
openstack->>keystone: GET /identity/
keystone-->>openstack: 300 MULTIPLE CHOICES /identity/
openstack->>keystone: POST /identity/v3/auth/tokens
keystone-->>openstack: 201 CREATED /identity/v3/auth/tokens
openstack->>glance-api: POST /image/v2/images
glance-api->>keystone: GET /identity/v3/auth/tokens
keystone-->>glance-api: 200 OK /identity/v3/auth/tokens
glance-api-->>openstack: 201 Created /image/v2/images
openstack->>glance-api: PUT /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file
glance-api-->>openstack: 204 No Content /image/v2/images/0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90/file
"""


def exchange(caller: str, callee: str, method: str = "GET", path: str = "/", **kw: object) -> Exchange:
    kw.setdefault("status_code", 200)
    kw.setdefault("status_text", "OK")
    url = "http://h" + path
    return Exchange(caller=caller, callee=callee, method=method, url=url, path=path, **kw)  # type: ignore[arg-type]


def test_sample_diagram_exactly() -> None:
    assert render_diagram(image_create_trace(), RenderOptions()) == EXPECTED_DIAGRAM
    assert render_diagram(image_create_trace()) == EXPECTED_DIAGRAM


def test_empty_trace() -> None:
    assert render_diagram(Trace("t", ())) == ""


def test_error_response_line() -> None:
    failed = exchange("glance-api", "swift-proxy-server", "PUT", "/v1/AUTH_x/c", status_code=None,
                      status_text="", error="ConnectionError: [Errno 111] Connection refused; #2")
    assert render_diagram(Trace("t", (failed,))) == (
        "glance-api->>swift-proxy-server: PUT /v1/AUTH_x/c\n"
        "swift-proxy-server-->>glance-api: ERROR ConnectionError#58; [Errno 111] Connection refused#59; #35;2 /v1/AUTH_x/c\n"
    )
    no_text = exchange("a", "b", status_code=None, status_text="")
    assert response_text(no_text) == "ERROR no response /"


def test_empty_status_text_leaves_no_gap_and_empty_text_gets_a_placeholder() -> None:
    assert render_diagram(Trace("t", (exchange("a", "b", "", "", status_text=""),))) == (
        "a->>b: (empty)\n"
        "b-->>a: 200\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /a;b", "GET /a#59;b"),
        ("GET /a#b", "GET /a#35;b"),
        ("GET /#59;", "GET /#35;59#59;"),  # an entity-looking input stays literal
        ("GET /a%%b", "GET /a#37;#37;b"),
        ("GET /%%{init: {'theme': 'dark'}}%%", "GET /#37;#37;{init#58; {'theme'#58; 'dark'}}#37;#37;"),
        ("GET /a%20b/100%", "GET /a%20b/100%"),  # single % (URL escapes) is harmless
        ("x-->>y", "x--#gt;#gt;y"),
        ("<script>alert(1)</script>", "#lt;script#gt;alert(1)#lt;/script#gt;"),
        ("a<br/>b & c", "a#lt;br/#gt;b #amp; c"),
        ("line1\nline2\r\tx", "line1#10;line2#13;#9;x"),
        ("sep\u2028x\u0085y\u200bz\u00a0", "sep#8232;x#133;y#8203;z#160;"),
        ("a:b", "a#58;b"),
        ("이미지 생성 é", "이미지 생성 é"),  # printable non-ASCII is kept
        ("\ufb02\u00b0lt\u00b6\u00df", "#64258;\u00b0lt#182;\u00df"),  # Mermaid's own entity markers
        ("  padded  ", "padded"),
        ("end", "end"),  # keywords are harmless inside message text
    ],
)
def test_escape_text(text: str, expected: str) -> None:
    assert escape_text(text) == expected


def test_hostile_message_text_in_a_full_line() -> None:
    hostile = exchange("openstack", "glance-api", "GET", "/v2/images;drop#x%%y-->>z<b>\nq", status_text="OK; fine")
    assert render_diagram(Trace("t", (hostile,))) == (
        "openstack->>glance-api: GET /v2/images#59;drop#35;x#37;#37;y--#gt;#gt;z#lt;b#gt;#10;q\n"
        "glance-api-->>openstack: 200 OK#59; fine /v2/images#59;drop#35;x#37;#37;y--#gt;#gt;z#lt;b#gt;#10;q\n"
    )


@pytest.mark.parametrize(
    "name",
    ["openstack", "glance-api", "swift-proxy-server", "nova-compute", "python-swiftclient-4.1.0",
     "curl", "keystone", "placement-api", "neutron-server", "endpoint", "optimus", "notes", "x",
     "a.b", "_private", "Box_office"],
)
def test_bare_names(name: str) -> None:
    assert is_bare_name(name)


@pytest.mark.parametrize(
    "name",
    ["end", "END", "End", "participant", "box", "loop", "opt", "alt", "else", "rect", "note",
     "activate", "end-user", "opt-in", "note.svc", "links-api", "and", "par_over", "autonumber",
     "my service", "my service;x", "a#b", "a,b", "host:8080", "192.0.2.1:5000", "a>b", "a+b",
     "서비스", "naïve", "nova-xvpvnc", "swift-X", "a--b", "-lead", "trail-", "9lives", "", " ",
     "a%%b", "a\nb"],
)
def test_names_needing_an_alias(name: str) -> None:
    assert not is_bare_name(name)


def test_keywords_are_all_lower_case() -> None:
    assert all(word == word.lower() for word in MERMAID_KEYWORDS)


def test_aliases_are_unique_and_never_collide_with_bare_names() -> None:
    names = ["p_end", "end", "END", "서비스", "한국", "my service;x", "p"]
    aliases = assign_aliases(names)
    assert aliases == {
        "p_end": "p_end",
        "end": "p_end_2",
        "END": "p_END",
        "서비스": "p_2",
        "한국": "p_3",
        "my service;x": "p_my_service_x",
        "p": "p",
    }
    assert len(set(aliases.values())) == len(names)


def test_alias_declarations_keep_first_appearance_order() -> None:
    trace = Trace("t", (
        exchange("openstack", "keystone", "GET", "/identity/"),
        exchange("openstack", "end", "POST", "/x", children=(exchange("end", "my service;x", "GET", "/y"),)),
    ))
    assert render_diagram(trace) == (
        "participant openstack\n"
        "participant keystone\n"
        "participant p_end as end\n"
        "participant p_my_service_x as my service#59;x\n"
        "openstack->>keystone: GET /identity/\n"
        "keystone-->>openstack: 200 OK /identity/\n"
        "openstack->>p_end: POST /x\n"
        "p_end->>p_my_service_x: GET /y\n"
        "p_my_service_x-->>p_end: 200 OK /y\n"
        "p_end-->>openstack: 200 OK /x\n"
    )


def test_display_of_hostile_participant_names() -> None:
    trace = Trace("t", (exchange("a:b", "x\ny#%%<z>"), exchange("", "   ")))
    assert render_diagram(trace) == (
        "participant p_a_b as a#58;b\n"
        "participant p_x_y_z as x#10;y#35;#37;#37;#lt;z#gt;\n"
        "participant p as (empty)\n"
        "participant p_2 as (empty)\n"
        "p_a_b->>p_x_y_z: GET /\n"
        "p_x_y_z-->>p_a_b: 200 OK /\n"
        "p->>p_2: GET /\n"
        "p_2-->>p: 200 OK /\n"
    )


# --- property: whatever the input, the diagram keeps its shape ----------------

_ENTITY = re.compile(r"#(?:\d+|lt|gt|amp);")
_NAME_TOKEN = r"[A-Za-z_][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*"
_MESSAGE = re.compile(rf"^({_NAME_TOKEN})(->>|-->>)({_NAME_TOKEN}): (.+)$")
_PARTICIPANT = re.compile(rf"^participant ({_NAME_TOKEN})(?: as (.+))?$")

hostile_text = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(list(";#%:<>-&\n\r\t `\u2028\ufb02\u00b6°ß e") + ["%%", "-->>", "#59;", "end"]),
             max_size=12).map("".join),
)
names = st.one_of(
    st.sampled_from(["openstack", "keystone", "glance-api", "end", "my service;x", "p", "p_end", "서비스", ""]),
    st.text(max_size=12),
)


@st.composite
def exchanges(draw: st.DrawFn, depth: int = 0) -> Exchange:
    children = ()
    if depth < 2:
        children = tuple(draw(st.lists(exchanges(depth=depth + 1), max_size=2)))
    status = draw(st.one_of(st.none(), st.integers(100, 599)))
    return Exchange(
        caller=draw(names),
        callee=draw(names),
        method=draw(hostile_text),
        url="http://h/",
        path=draw(hostile_text),
        status_code=status,
        status_text=draw(hostile_text),
        error=draw(st.one_of(st.none(), hostile_text)),
        children=children,
    )


def decode(text: str) -> str:
    named = {"lt": "<", "gt": ">", "amp": "&"}
    return re.sub(r"#(\d+|lt|gt|amp);", lambda m: named.get(m.group(1)) or chr(int(m.group(1))), text)


@settings(max_examples=300, deadline=None)
@given(st.lists(exchanges(), max_size=3))
def test_diagram_shape_survives_any_input(roots: list[Exchange]) -> None:
    trace = Trace("t", tuple(roots))
    flat = list(trace.walk())
    out = render_diagram(trace)
    if not flat:
        assert out == ""
        return
    assert out.endswith("\n")
    lines = out[:-1].split("\n")
    participants = [line for line in lines if line.startswith("participant ")]
    message_lines = lines[len(participants):]
    assert len(message_lines) == 2 * len(flat)
    distinct = {e.caller for e in flat} | {e.callee for e in flat}
    assert len(participants) in (0, len(distinct))

    declared: set[str] = set()
    for line in participants:
        m = _PARTICIPANT.match(line)
        assert m, line
        declared.add(m.group(1))
    assert len(declared) == len(participants)

    for line in lines:
        assert line.isprintable(), line  # no raw newline, control or line separator
        without_entities = _ENTITY.sub("", line)
        assert "#" not in without_entities and ";" not in without_entities, line
        assert "%%" not in line

    for line in message_lines:
        m = _MESSAGE.match(line)
        assert m, line
        for name in (m.group(1), m.group(3)):
            assert is_bare_name(name), name
            if participants:
                assert name in declared
        text = m.group(4)
        assert ":" not in text and "<" not in text and ">" not in _ENTITY.sub("", text)
        assert "\ufb02" not in text and "\u00b6" not in text

    # nothing is lost: decoding the entities gives back the (space-trimmed) text
    expected: list[str] = []

    def visit(e: Exchange) -> None:
        expected.append(" ".join(p for p in (e.method, e.path) if p).strip(" ") or "(empty)")
        for child in e.children:
            visit(child)
        expected.append(response_text(e).strip(" ") or "(empty)")

    for root in roots:
        visit(root)
    assert [decode(_MESSAGE.match(line).group(4)) for line in message_lines] == expected  # type: ignore[union-attr]
