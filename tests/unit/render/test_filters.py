"""Render-time filters: the old should_not_hook.json, our format, nesting and numbering."""

from __future__ import annotations

import json
import re

import pytest

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.pipeline import render_trace
from otel_openstack.render.filters import (
    FilterRule,
    RuleFileError,
    apply_filters,
    load_filters,
    parse_filters,
    template_regex,
)
from otel_openstack.render.options import RenderOptions
from otel_openstack.render.view import prepare

UUID = "a42bfade-78ec-4c95-b7b4-272ba265072c"
RP = "4529570d-57bf-4ec8-8d67-937f13b1d9ae"

#: The rules of the seed page ("생략된 시퀀스"), as the old tool's file held them.
SEED_RULES = [
    {
        "from": "glance-api",
        "to": "keystone",
        "method": "GET",
        "urls": [
            "/identity/{version}/limits",
            "/identity/{version}/registered_limits",
            "/identity/{version}/endpoints/{endpoint_id}",
        ],
    },
    {
        "from": "nova-compute",
        "to": "placement-api",
        "method": "GET",
        "urls": [
            "/placement/resource_providers",
            "/placement/resource_providers/{uuid}/inventories",
            "/placement/resource_providers/{uuid}/aggregates",
            "/placement/resource_providers/{uuid}/allocations",
            "/placement/resource_providers/{uuid}/traits",
        ],
    },
    {"from": "placement-api", "to": "keystone", "urls": ["/identity/"]},
]


def ex(caller: str, callee: str, method: str, path: str, status: int = 200, text: str = "OK",
       children: tuple[Exchange, ...] = ()) -> Exchange:
    return Exchange(caller=caller, callee=callee, method=method, url=f"http://192.0.2.10{path}", path=path,
                    status_code=status, status_text=text, children=children)


def noisy_trace() -> Trace:
    create = ex("openstack", "glance-api", "POST", "/image/v2/images", 201, "Created", children=(
        ex("glance-api", "keystone", "GET", "/identity/v3/limits"),
        ex("glance-api", "keystone", "GET", "/identity/v3/auth/tokens"),
    ))
    periodic = ex("nova-compute", "placement-api", "GET", f"/placement/resource_providers/{RP}/inventories",
                  children=(ex("placement-api", "keystone", "GET", "/identity/"),))
    upload = ex("openstack", "glance-api", "PUT", f"/image/v2/images/{UUID}/file", 204, "No Content", children=(
        ex("glance-api", "keystone", "GET", "/identity/v3/registered_limits"),
    ))
    return Trace("t", (create, periodic, upload), command="openstack image create")


EXPECTED_DIAGRAM = """\
openstack->>+glance-api: POST /image/v2/images
opt glance-api validates the token
  glance-api->>+keystone: GET /identity/v3/auth/tokens
  keystone-->>-glance-api: 200 OK /identity/v3/auth/tokens
end
glance-api-->>-openstack: 201 Created /image/v2/images
openstack->>+glance-api: PUT /image/v2/images/{image_id}/file
glance-api-->>-openstack: 204 No Content /image/v2/images/{image_id}/file
"""

EXPECTED_LEGEND = """\
!!! note "Placeholders"
    - `{image_id}`: `a42bfade-78ec-4c95-b7b4-272ba265072c`

!!! info "Hidden exchanges"
    4 exchanges hidden by filters.
"""


def write_old_file(tmp_path, text: str | None = None):
    path = tmp_path / "should_not_hook.json"
    path.write_text(text if text is not None else json.dumps(SEED_RULES, indent=4))
    return path


def test_old_should_not_hook_file_hides_the_seed_page_noise(tmp_path) -> None:
    rules = load_filters(write_old_file(tmp_path))
    assert rules[2] == FilterRule(callers=("placement-api",), callees=("keystone",), urls=("/identity/",))
    files = render_trace(noisy_trace(), RenderOptions(filters=rules))
    assert files["diagram.md"] == EXPECTED_DIAGRAM
    assert files["legend.md"] == EXPECTED_LEGEND
    assert re.findall(r"^### \((\d+)\) (.*)$", files["body.md"], re.M) == [
        ("1", "POST /image/v2/images"),
        ("2", "GET /identity/v3/auth/tokens"),
        ("3", "200 OK /identity/v3/auth/tokens"),
        ("4", "201 Created /image/v2/images"),
        ("5", "PUT /image/v2/images/{image_id}/file"),
        ("6", "204 No Content /image/v2/images/{image_id}/file"),
    ]
    assert re.findall(r"^### \((\S+)\) (REQ|RESP) \S+ \((\S+)\) : (.*)$", files["requests.log"], re.M) == [
        ("openstack", "REQ", "glance-api", "POST http://192.0.2.10/image/v2/images"),
        ("glance-api", "REQ", "keystone", "GET http://192.0.2.10/identity/v3/auth/tokens"),
        ("glance-api", "RESP", "keystone", "200 OK GET http://192.0.2.10/identity/v3/auth/tokens"),
        ("openstack", "RESP", "glance-api", "201 Created POST http://192.0.2.10/image/v2/images"),
        ("openstack", "REQ", "glance-api", f"PUT http://192.0.2.10/image/v2/images/{UUID}/file"),
        ("openstack", "RESP", "glance-api", f"204 No Content PUT http://192.0.2.10/image/v2/images/{UUID}/file"),
    ]
    assert "4 exchanges hidden by filters." in files["index.md"]


def test_old_file_as_the_seed_page_shows_it_without_brackets_and_a_single_rule(tmp_path) -> None:
    bare = ",\n".join(json.dumps(rule, indent=4) for rule in SEED_RULES[1:])
    assert load_filters(write_old_file(tmp_path, bare)) == parse_filters(json.dumps(SEED_RULES[1:]))
    single = parse_filters(json.dumps(SEED_RULES[0]))
    assert single == (FilterRule(("glance-api",), ("keystone",), ("GET",), tuple(SEED_RULES[0]["urls"])),)


def test_old_files_keep_their_extra_keys_ignored() -> None:
    assert parse_filters('[{"from": "a", "to": "b", "comment": "periodic"}]') == (FilterRule(("a",), ("b",)),)


def test_hidden_parent_hides_nested_exchanges_and_numbering_stays_consecutive() -> None:
    rules = (FilterRule(callers=("nova-compute",)),)  # the periodic call only, not its nested one by name
    view = prepare(noisy_trace(), RenderOptions(filters=rules))
    assert view.hidden == 2
    assert [(m.number, m.exchange.method, m.exchange.path, m.is_request) for m in view.messages] == [
        (1, "POST", "/image/v2/images", True),
        (2, "GET", "/identity/v3/limits", True),
        (3, "GET", "/identity/v3/limits", False),
        (4, "GET", "/identity/v3/auth/tokens", True),
        (5, "GET", "/identity/v3/auth/tokens", False),
        (6, "POST", "/image/v2/images", False),
        (7, "PUT", "/image/v2/images/{image_id}/file", True),
        (8, "GET", "/identity/v3/registered_limits", True),
        (9, "GET", "/identity/v3/registered_limits", False),
        (10, "PUT", "/image/v2/images/{image_id}/file", False),
    ]
    assert "placement-api" not in render_trace(noisy_trace(), RenderOptions(filters=rules))["diagram.md"]


def test_filtering_never_changes_the_trace_it_was_given() -> None:
    trace = noisy_trace()
    before = repr(trace)
    filtered, hidden = apply_filters(trace, (FilterRule(callees=("keystone",)),))
    assert hidden == 4 and repr(trace) == before
    assert [e.path for e in filtered.walk()] == [
        "/image/v2/images", f"/placement/resource_providers/{RP}/inventories", f"/image/v2/images/{UUID}/file",
    ]
    assert apply_filters(trace, ()) == (trace, 0)


@pytest.mark.parametrize(
    ("template", "path", "hit"),
    [
        ("/identity/", "/identity/", True),
        ("/identity/", "/identity/v3/auth/tokens", True),  # the seed page: everything under /identity/
        ("/identity/", "/identity", False),
        ("/placement/resource_providers", "/placement/resource_providers", True),
        ("/placement/resource_providers", f"/placement/resource_providers/{RP}/traits", True),
        ("/placement/resource_providers", "/placement/resource_providers_x", False),
        ("/placement/resource_providers$", f"/placement/resource_providers/{RP}", False),
        ("/placement/resource_providers$", "/placement/resource_providers", True),
        ("/placement/resource_providers/{uuid}/inventories", f"/placement/resource_providers/{RP}/inventories", True),
        ("/placement/resource_providers/{uuid}/inventories", "/placement/resource_providers/xyz/inventories", False),
        ("/identity/{version}/limits", "/identity/v3/limits", True),
        ("/identity/{version}/limits", "/identity/v3.14/limits/model", True),
        ("/identity/{version}/limits", "/identity/3/limits", False),
        ("/identity/{version}/endpoints/{endpoint_id}", "/identity/v3/endpoints/0a1b2c", True),
        ("/identity/{version}/endpoints/{endpoint_id}", "/identity/v3/endpoints/0a1b2x", False),
        ("/v1/{name}/glance", "/v1/AUTH_x/sub/glance", True),
        ("/v2/images/{image_id}/file", f"/v2/images/{UUID}/file", True),
        ("/v2/images/{image_id}/file", "/v2/images/a/b/file", False),
        ("/a.b(c)", "/a.b(c)", True),  # literal text is literal
        ("/a.b(c)", "/aXb(c)", False),
        ("/identity/", "/image/identity/", False),  # anchored at the start
    ],
)
def test_template_matching(template: str, path: str, hit: bool) -> None:
    assert bool(template_regex(template).match(path)) is hit


def test_rule_fields() -> None:
    get = ex("glance-api", "keystone", "get", "/identity/v3/limits")
    assert FilterRule(methods=("GET",)).matches(get)  # case-insensitive
    assert not FilterRule(callers=("nova-api",)).matches(get)
    assert FilterRule(callees=("keystone",)).matches(get)  # no urls: any path
    assert not FilterRule(callees=("keystone",), urls=()).matches(get)  # empty urls: no path


def test_our_format_lists_and_strictness() -> None:
    text = json.dumps({"hide": [
        {"from": ["glance-api", "nova-api"], "to": "keystone", "method": ["get", "HEAD"], "urls": "/identity/"},
        {"to": "placement-api"},
    ]})
    assert parse_filters(text) == (
        FilterRule(("glance-api", "nova-api"), ("keystone",), ("GET", "HEAD"), ("/identity/",)),
        FilterRule(callees=("placement-api",)),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"hide": [{"form": "a"}]}', "rule 1: unknown key(s) form (expected from, to, method, urls)"),
        ('{"hide": {}}', '"hide" must be a list of rules'),
        ('{"hide": [], "show": []}', 'unknown key(s) show (expected only "hide")'),
        ('[{"from": 1}]', 'rule 1 "from": expected a string or a list of strings'),
        ('[{"from": []}]', 'rule 1 "from": empty list (leave the key out to match anything)'),
        ('["x"]', "rule 1: expected an object with from/to/method/urls, got str"),
        ("{nope", "not JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
    ],
)
def test_bad_filter_files_say_what_is_wrong(tmp_path, text: str, message: str) -> None:
    path = write_old_file(tmp_path, text)
    with pytest.raises(RuleFileError) as caught:
        load_filters(path)
    assert str(caught.value) == f"{path}: {message}"


def test_missing_filter_file_is_an_input_error(tmp_path) -> None:
    from otel_openstack.sources.errors import TraceInputError

    with pytest.raises(TraceInputError, match="no such filter file"):
        load_filters(tmp_path / "missing.json")


def test_a_hidden_grandchild_is_hidden_too() -> None:
    inner = ex("swift-proxy-server", "keystone", "GET", "/identity/v3/auth/tokens")
    middle = ex("glance-api", "swift-proxy-server", "HEAD", "/v1/x", children=(inner,))
    outer = ex("openstack", "glance-api", "PUT", "/v2/x", children=(middle,))
    filtered, hidden = apply_filters(Trace("t", (outer,)), (FilterRule(callees=("keystone",)),))
    assert hidden == 1
    assert [(e.caller, e.callee) for e in filtered.walk()] == [
        ("openstack", "glance-api"), ("glance-api", "swift-proxy-server")]
