"""Splitting large diagrams: parts between top-level exchanges, numbered as body.md."""

from __future__ import annotations

import re

from sample_trace import image_create_trace

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.pipeline import render_trace, write_folder
from otel_openstack.render.options import RenderOptions
from otel_openstack.render.split import plan_parts, render_parts
from otel_openstack.render.view import prepare

PART_1 = """\
autonumber 1
openstack->>+keystone: GET /identity/
keystone-->>-openstack: 300 MULTIPLE CHOICES /identity/
openstack->>+keystone: POST /identity/v3/auth/tokens
keystone-->>-openstack: 201 CREATED /identity/v3/auth/tokens
"""
PART_2 = """\
autonumber 5
openstack->>+glance-api: POST /image/v2/images
opt glance-api validates the token
  glance-api->>+keystone: GET /identity/v3/auth/tokens
  keystone-->>-glance-api: 200 OK /identity/v3/auth/tokens
end
glance-api-->>-openstack: 201 Created /image/v2/images
"""
PART_3 = """\
autonumber 9
openstack->>+glance-api: PUT /image/v2/images/{image_id}/file
glance-api-->>-openstack: 204 No Content /image/v2/images/{image_id}/file
"""


def ex(caller: str, callee: str, path: str, children: tuple[Exchange, ...] = ()) -> Exchange:
    return Exchange(caller=caller, callee=callee, method="GET", url="http://h" + path, path=path,
                    status_code=200, status_text="OK", children=children)


def test_parts_pack_top_level_exchanges_and_continue_the_numbering() -> None:
    files = render_trace(image_create_trace(), RenderOptions(split_size=4))
    assert sorted(files) == ["body.md", "diagram-1.md", "diagram-2.md", "diagram-3.md", "diagram.md", "index.md",
                             "legend.md", "log.md", "requests.log"]
    assert (files["diagram-1.md"], files["diagram-2.md"], files["diagram-3.md"]) == (PART_1, PART_2, PART_3)
    # diagram.md stays whole; the parts are exactly its lines, cut between top-level exchanges
    whole = render_trace(image_create_trace())["diagram.md"]
    assert files["diagram.md"] == whole
    assert "".join(p.split("\n", 1)[1] for p in (PART_1, PART_2, PART_3)) == whole


def test_part_boundaries() -> None:
    view = prepare(image_create_trace())
    assert [(p.index, p.first, p.last, len(p.nodes)) for p in plan_parts(view, 4)] == [
        (1, 1, 4, 2), (2, 5, 8, 1), (3, 9, 10, 1)]
    assert [(p.first, p.last) for p in plan_parts(view, 6)] == [(1, 4), (5, 10)]
    assert [(p.first, p.last) for p in plan_parts(view, 3)] == [(1, 2), (3, 4), (5, 8), (9, 10)]  # (5-8) > 3: alone


def test_no_split_at_or_under_the_size_never_with_zero_and_never_into_one_part() -> None:
    view = prepare(image_create_trace())
    assert plan_parts(view, 10) == [] and plan_parts(view, 40) == [] and plan_parts(view, 0) == []
    big = Trace("t", (ex("openstack", "nova-api", "/servers", tuple(ex("nova-api", "neutron-server", f"/p{i}")
                                                                     for i in range(30))),))
    assert len(prepare(big).messages) == 62
    assert plan_parts(prepare(big), 40) == []  # one top-level exchange: nothing to cut between
    files = render_trace(big)
    assert not any(name.startswith("diagram-") for name in files)


def test_default_split_size_is_40_messages() -> None:
    calls = (ex("openstack", "glance-api", "/v2/images"),) * 21  # 42 messages
    files = render_trace(Trace("t", calls))
    assert [name for name in sorted(files) if name.startswith("diagram-")] == ["diagram-1.md", "diagram-2.md"]
    assert files["diagram-2.md"].splitlines()[:2] == ["autonumber 41", "openstack->>+glance-api: GET /v2/images"]


def test_parts_declare_their_own_participants_with_the_whole_diagrams_aliases() -> None:
    trace = Trace("t", (ex("openstack", "glance-api", "/a"), ex("openstack", "end", "/b"), ex("end", "box", "/c")))
    parts = render_parts(prepare(trace), RenderOptions(split_size=2))
    assert [text for _, text in parts] == [
        "autonumber 1\nopenstack->>+glance-api: GET /a\nglance-api-->>-openstack: 200 OK /a\n",
        "autonumber 3\nparticipant openstack\nparticipant p_end as end\n"
        "openstack->>+p_end: GET /b\np_end-->>-openstack: 200 OK /b\n",
        "autonumber 5\nparticipant p_end as end\nparticipant p_box as box\n"
        "p_end->>+p_box: GET /c\np_box-->>-p_end: 200 OK /c\n",
    ]


def test_split_page_shows_one_block_per_part() -> None:
    page = render_trace(image_create_trace(), RenderOptions(split_size=4))["index.md"]
    assert re.findall(r"^### Part .*$", page, re.M) == [
        "### Part 1: (1) to (4)", "### Part 2: (5) to (8)", "### Part 3: (9) to (10)"]
    assert "``` mermaid\nsequenceDiagram\n    autonumber 5\n    openstack->>+glance-api: POST" in page


def test_a_new_render_removes_parts_it_does_not_have(tmp_path) -> None:
    folder = tmp_path / "out"
    write_folder(folder, render_trace(image_create_trace(), RenderOptions(split_size=4)))
    (folder / "diagram-notes.md").write_text("mine")
    write_folder(folder, render_trace(image_create_trace()))
    assert sorted(p.name for p in folder.iterdir()) == [
        "body.md", "diagram-notes.md", "diagram.md", "index.md", "legend.md", "log.md", "requests.log"]
