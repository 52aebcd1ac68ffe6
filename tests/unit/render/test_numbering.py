"""One numbering everywhere: the N-th arrow of the diagram (whole or split) is section (N) of body.md.

Property-based: random exchange trees, random filters, placeholders, loop
collapsing, structure switches and split sizes.
"""

from __future__ import annotations

import re
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.pipeline import render_trace
from otel_openstack.render.filters import FilterRule
from otel_openstack.render.options import RenderOptions

MD = MarkdownIt("commonmark")
UUIDS = ["a42bfade-78ec-4c95-b7b4-272ba265072c", "da9259d0-b57f-4230-a2cf-e5bc6cedf19e"]
HEXES = ["7c4cda7e4807414bbdfcb22b535a9802", "de5af600557d44d0996e667499376dbb"]
SEGMENTS = ["v2", "v3", "v1", "images", "file", "auth", "tokens", "identity", "servers", "x;y", "a#b", "c_d",
            "AUTH_" + HEXES[0], *UUIDS, *HEXES]
NAMES = ["openstack", "keystone", "glance-api", "swift-proxy-server", "end", "my svc;x"]

_ARROW = re.compile(r"^ *([A-Za-z0-9_.-]+?)(->>|-->>)([+-]?)([A-Za-z0-9_.-]+): (.*)$")
_PARTICIPANT = re.compile(r"^participant (\S+)(?: as (.*))?$")
_ENTITY = re.compile(r"#(\d+|lt|gt|amp);")
_SECTION = re.compile(r"^### \((\d+)\) (.*)$", re.M)
_RECORD = re.compile(r"^### \((.*)\) (REQ >>>|RESP <<<) \((.*)\) : ", re.M)

paths = st.lists(st.sampled_from(SEGMENTS), max_size=4).map(lambda segs: "/" + "/".join(segs))


@st.composite
def exchanges(draw: st.DrawFn, depth: int = 0) -> Exchange:
    children: list[Exchange] = []
    if depth < 2:
        children = draw(st.lists(exchanges(depth=depth + 1), max_size=3))
        if children and draw(st.booleans()):  # identical neighbours, for loop collapsing
            children.insert(0, children[0])
    path = draw(paths)
    status = draw(st.sampled_from([200, 201, 204, 300, 404, 500, None]))
    return Exchange(
        caller=draw(st.sampled_from(NAMES)),
        callee=draw(st.sampled_from(NAMES)),
        method=draw(st.sampled_from(["GET", "POST", "PUT", "HEAD"])),
        url="http://h" + path,
        path=path,
        status_code=status,
        status_text="" if status is None else "Status;#1",
        error="refused; #9" if status is None else None,
        children=tuple(children),
    )


rules = st.builds(
    FilterRule,
    callers=st.lists(st.sampled_from(NAMES), max_size=1).map(tuple),
    callees=st.lists(st.sampled_from(NAMES), max_size=1).map(tuple),
    methods=st.lists(st.sampled_from(["GET", "post"]), max_size=1).map(tuple),
    urls=st.one_of(st.none(), st.lists(st.sampled_from(["/v2/images", "/v3/{x}", "/{version}/", "/identity/",
                                                        "/{name}/file", "/{uuid}$"]), max_size=2).map(tuple)),
)
options = st.builds(
    RenderOptions,
    placeholders=st.booleans(),
    filters=st.lists(rules, max_size=2).map(tuple),
    activations=st.booleans(),
    boxes=st.booleans(),
    failure_notes=st.booleans(),
    collapse_loops=st.booleans(),
    split_size=st.integers(0, 12),
)


def decode(text: str) -> str:
    named = {"lt": "<", "gt": ">", "amp": "&"}
    return _ENTITY.sub(lambda m: named.get(m.group(1)) or chr(int(m.group(1))), text)


def heading_visible_text(heading: str) -> str:
    inline = [t for t in MD.parse(heading) if t.type == "inline"][0]
    return "".join(child.content for child in inline.children or [])


def arrows(diagram: str) -> list[tuple[str, bool, str]]:
    """(display names 'from>to', is_request, decoded text) of every arrow line."""
    displays = {m.group(1): decode(m.group(2) or m.group(1))
                for m in map(_PARTICIPANT.match, diagram.splitlines()) if m}
    out = []
    for line in diagram.splitlines():
        m = _ARROW.match(line)
        if m:
            a, b = displays.get(m.group(1), m.group(1)), displays.get(m.group(4), m.group(4))
            out.append((f"{a}>{b}", m.group(2) == "->>", decode(m.group(5))))
    return out


def check_blocks_balance(diagram: str) -> None:
    for line in diagram.splitlines():  # labels and notes: no entity code Mermaid's wrapping could cut
        if re.match(r"^ *(opt |loop |Note over )", line):
            assert "#" not in line and ";" not in line and line.isprintable(), line
    opened = sum(1 for line in diagram.splitlines() if re.match(r"^ *(opt|loop) ", line))
    assert opened == sum(1 for line in diagram.splitlines() if line.strip() == "end")
    active: Counter[str] = Counter()
    for line in diagram.splitlines():
        m = _ARROW.match(line)
        if m and m.group(3) == "+":
            active[m.group(4)] += 1
        elif m and m.group(3) == "-":
            active[m.group(1)] -= 1
            assert active[m.group(1)] >= 0, line
    assert not +active and not -active


@settings(max_examples=250, deadline=None)
@given(st.lists(exchanges(), max_size=4), options)
def test_arrows_sections_records_and_parts_share_one_numbering(roots: list[Exchange], opts: RenderOptions) -> None:
    trace = Trace("t", tuple(roots))
    files = render_trace(trace, opts)
    whole = arrows(files["diagram.md"])
    sections = _SECTION.findall(files["body.md"])
    records = _RECORD.findall(files["requests.log"])

    # same count, consecutive numbers, same message at each number
    assert [int(n) for n, _ in sections] == list(range(1, len(whole) + 1))
    assert len(records) == len(whole)
    body_arrow_lines = re.findall(r"^### \(\d+\) .*\n(.*)$", files["body.md"], re.M)
    for (names, is_request, text), (number, heading), arrow_line, record in zip(whole, sections, body_arrow_lines,
                                                                                  records):
        assert heading_visible_text(f"### ({number}) {heading}") == f"({number}) {text}".rstrip()
        assert (" --> " in arrow_line) is is_request and (record[1] == "REQ >>>") is is_request
        caller, callee = names.split(">") if is_request else reversed(names.split(">"))
        assert (record[0], record[2]) == (caller, callee)
    check_blocks_balance(files["diagram.md"])

    # filters only hide: what is shown plus what is hidden is everything (without loop collapsing)
    hidden = re.search(r"(\d+) exchanges? hidden by filters", files["legend.md"])
    if not opts.collapse_loops:
        assert len(whole) // 2 + (int(hidden.group(1)) if hidden else 0) == sum(1 for _ in trace.walk())

    # placeholders: every name in an arrow is in the legend
    if opts.placeholders:
        legend_names = set(re.findall(r"`\{(\w+)\}`", files["legend.md"]))
        assert {n for _, _, text in whole for n in re.findall(r"\{(\w+)\}", text)} <= legend_names

    # parts: consecutive files, each starting at the number its first arrow has in the whole diagram
    part_names = sorted((name for name in files if name.startswith("diagram-")), key=lambda n: int(n[8:-3]))
    assert part_names == [f"diagram-{k}.md" for k in range(1, len(part_names) + 1)]
    assert len(part_names) != 1
    if part_names:
        assert opts.split_size and len(whole) > opts.split_size
    joined: list[tuple[str, bool, str]] = []
    for name in part_names:
        text = files[name]
        assert text.split("\n", 1)[0] == f"autonumber {len(joined) + 1}"
        assert f"    autonumber {len(joined) + 1}\n" in files["index.md"]
        check_blocks_balance(text)
        joined.extend(arrows(text))
    if part_names:
        assert joined == whole
