"""Placeholders: IDs in paths become stable names, listed in a legend."""

from __future__ import annotations

import json

import pytest
from sample_trace import IMAGE_ID, image_create_trace

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.render.filters import RuleFileError
from otel_openstack.render.legend import render_legend
from otel_openstack.render.placeholders import (
    Placeholder,
    PlaceholderRule,
    apply_placeholders,
    collection_name,
    load_placeholder_rules,
    parse_placeholder_rules,
)
from otel_openstack.render.view import View, prepare

UUID_A = "a42bfade-78ec-4c95-b7b4-272ba265072c"
UUID_B = "da9259d0-b57f-4230-a2cf-e5bc6cedf19e"
HEX_P = "7c4cda7e4807414bbdfcb22b535a9802"
HEX_Q = "de5af600557d44d0996e667499376dbb"


def exchange(path: str, caller: str = "openstack", callee: str = "svc", children: tuple[Exchange, ...] = (),
             method: str = "GET") -> Exchange:
    return Exchange(caller=caller, callee=callee, method=method, url=f"http://h:80{path}?q=1", path=path,
                    status_code=200, status_text="OK", children=children)


def paths(trace: Trace) -> list[str]:
    return [e.path for e in trace.walk()]


def named(*path_list: str, rules: tuple[PlaceholderRule, ...] = ()) -> tuple[list[str], list[tuple[str, str]]]:
    trace = Trace("t", tuple(exchange(p) for p in path_list))
    out, legend = apply_placeholders(trace, rules)
    return paths(out), [(p.name, p.value) for p in legend]


@pytest.mark.parametrize(
    ("path", "expected", "legend"),
    [
        (f"/v2/images/{UUID_A}", "/v2/images/{image_id}", [("image_id", UUID_A)]),
        (f"/v2/images/{UUID_A}/file", "/v2/images/{image_id}/file", [("image_id", UUID_A)]),
        (f"/image/v2/images/{UUID_A}/members/{HEX_P}", "/image/v2/images/{image_id}/members/{member_id}",
         [("image_id", UUID_A), ("member_id", HEX_P)]),
        (f"/v1/AUTH_{HEX_P}/glance", "/v1/{account}/glance", [("account", f"AUTH_{HEX_P}")]),
        (f"/v1/AUTH_{HEX_P}/glance/{UUID_A}", "/v1/{account}/glance/{object}",
         [("account", f"AUTH_{HEX_P}"), ("object", UUID_A)]),
        (f"/v1/AUTH_{HEX_P}/{UUID_B}/images/x", "/v1/{account}/{container}/images/x",
         [("account", f"AUTH_{HEX_P}"), ("container", UUID_B)]),
        (f"/identity/v3/endpoints/{HEX_P}", "/identity/v3/endpoints/{endpoint_id}", [("endpoint_id", HEX_P)]),
        (f"/v3/projects/{HEX_P}/users/{HEX_Q}/roles", "/v3/projects/{project_id}/users/{user_id}/roles",
         [("project_id", HEX_P), ("user_id", HEX_Q)]),
        (f"/volume/v3/{HEX_P}/volumes/{UUID_A}", "/volume/v3/{project_id}/volumes/{volume_id}",
         [("project_id", HEX_P), ("volume_id", UUID_A)]),
        (f"/compute/v2.1/servers/{UUID_A}/os-volume_attachments/{UUID_B}",
         "/compute/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}",
         [("server_id", UUID_A), ("volume_id", UUID_B)]),
        (f"/compute/v2.1/servers/{UUID_A}/os-interface/{UUID_B}",
         "/compute/v2.1/servers/{server_id}/os-interface/{port_id}", [("server_id", UUID_A), ("port_id", UUID_B)]),
        (f"/networking/v2.0/ports/{UUID_A}", "/networking/v2.0/ports/{port_id}", [("port_id", UUID_A)]),
        (f"/identity/v3/policies/{HEX_P}", "/identity/v3/policies/{policy_id}", [("policy_id", HEX_P)]),
        (f"/placement/resource_providers/{UUID_A}/inventories",
         "/placement/resource_providers/{resource_provider_id}/inventories", [("resource_provider_id", UUID_A)]),
        (f"/{UUID_A}", "/{id}", [("id", UUID_A)]),
        (f"/x/{UUID_A}/{UUID_B}", "/x/{x_id}/{id}", [("x_id", UUID_A), ("id", UUID_B)]),
        # not id-looking: names, short ids, 31 hex digits, uppercase words stay
        ("/compute/v2.1/flavors/c1", "/compute/v2.1/flavors/c1", []),
        (f"/v2/images/{HEX_P[:31]}", f"/v2/images/{HEX_P[:31]}", []),
        ("/v1/AUTH_test/c", "/v1/AUTH_test/c", []),
    ],
)
def test_builtin_rules(path: str, expected: str, legend: list[tuple[str, str]]) -> None:
    assert named(path) == ([expected], legend)


@pytest.mark.parametrize(
    ("segment", "name"),
    [
        ("images", "image_id"), ("policies", "policy_id"), ("addresses", "address_id"),
        ("os-server-groups", "server_group_id"), ("security-group-rules", "security_group_rule_id"),
        ("OS-TRUST", "trust_id"), ("floatingips", "floatingip_id"), ("aliases", "alias_id"),
        ("status", "status_id"), ("allocations", "consumer_id"), ("boxes", "box_id"), ("---", "id"),
    ],
)
def test_collection_names(segment: str, name: str) -> None:
    assert collection_name(segment) == name


def test_one_value_one_name_and_distinct_values_get_numbered_names() -> None:
    out, legend = named(
        f"/v2/images/{UUID_A}",
        f"/v2/images/{UUID_B}/file",
        f"/v1/AUTH_{HEX_P}/glance/{UUID_A}",  # the swift object is the first image: same name
        f"/v2/images/{UUID_A}",
    )
    assert out == [
        "/v2/images/{image_id}",
        "/v2/images/{image_id_2}/file",
        "/v1/{account}/glance/{image_id}",
        "/v2/images/{image_id}",
    ]
    assert legend == [("image_id", UUID_A), ("image_id_2", UUID_B), ("account", f"AUTH_{HEX_P}")]


def test_names_follow_message_order_parent_before_nested() -> None:
    inner = exchange(f"/v1/AUTH_{HEX_P}/glance/{UUID_A}", caller="glance-api", callee="swift-proxy-server")
    outer = exchange(f"/v2/images/{UUID_A}/file", children=(inner,), method="PUT")
    out, legend = apply_placeholders(Trace("t", (outer,)))
    assert paths(out) == ["/v2/images/{image_id}/file", "/v1/{account}/glance/{image_id}"]
    assert legend == (Placeholder("image_id", UUID_A), Placeholder("account", f"AUTH_{HEX_P}"))


def test_urls_change_only_when_asked_and_keep_host_and_query() -> None:
    trace = Trace("t", (exchange(f"/v2/images/{UUID_A}"),))
    kept, _ = apply_placeholders(trace)
    assert kept.exchanges[0].url == f"http://h:80/v2/images/{UUID_A}?q=1"
    changed, _ = apply_placeholders(trace, in_log=True)
    assert changed.exchanges[0].url == "http://h:80/v2/images/{image_id}?q=1"


def test_user_rules_add_override_and_switch_off() -> None:
    rules = (
        PlaceholderRule(r"^/compute/v2\.1/flavors/([^/]+)", "flavor_id"),  # adds: not id-looking
        PlaceholderRule(r"/v2/images/([^/]+)", "glance_image"),  # overrides the built-in name
        PlaceholderRule(r"/v3/endpoints/([^/]+)", None),  # switches the built-in off
        PlaceholderRule(r"/stacks/[^/]+/[0-9a-f-]{36}", "stack"),  # no group: the whole match
    )
    out, legend = named(
        "/compute/v2.1/flavors/c1",
        f"/v2/images/{UUID_A}/file",
        f"/v3/endpoints/{HEX_P}",
        f"/heat/v1/stacks/web/{UUID_B}/resources",
        rules=rules,
    )
    assert out == [
        "/compute/v2.1/flavors/{flavor_id}",
        "/v2/images/{glance_image}/file",
        f"/v3/endpoints/{HEX_P}",
        "/heat/v1{stack}/resources",
    ]
    assert legend == [("flavor_id", "c1"), ("glance_image", UUID_A), ("stack", f"/stacks/web/{UUID_B}")]


def test_sample_trace_through_prepare_and_legend() -> None:
    view = prepare(image_create_trace())
    assert [e.path for e in view.trace.walk()][-1] == "/image/v2/images/{image_id}/file"
    assert render_legend(view) == (
        '!!! note "Placeholders"\n'
        f"    - `{{image_id}}`: `{IMAGE_ID}`\n"
    )


def test_placeholders_off_keeps_paths_and_legend_empty() -> None:
    from otel_openstack.render.options import RenderOptions

    view = prepare(image_create_trace(), RenderOptions(placeholders=False))
    assert [e.path for e in view.trace.walk()][-1] == f"/image/v2/images/{IMAGE_ID}/file"
    assert render_legend(view) == ""


def test_legend_values_cannot_break_their_code_span() -> None:
    rules = (PlaceholderRule(r"(?s)/a/(.+)", "v"),)
    out, legend = apply_placeholders(Trace("t", (exchange("/a/x`y\n/b"),)), rules)
    assert paths(out) == ["/a/{v}"]
    text = render_legend(View(out, (), legend))
    assert text == '!!! note "Placeholders"\n    - `{v}`: ``x`y%0A/b``\n'


def test_rule_file(tmp_path) -> None:
    path = tmp_path / "placeholders.json"
    path.write_text(json.dumps([{"pattern": "/flavors/([^/]+)", "name": "flavor_id"},
                                {"pattern": "/v3/endpoints/([^/]+)", "name": None}]))
    assert load_placeholder_rules(path) == (
        PlaceholderRule("/flavors/([^/]+)", "flavor_id"),
        PlaceholderRule("/v3/endpoints/([^/]+)", None),
    )
    assert parse_placeholder_rules('{"pattern": "/x/(y)", "name": "y"}') == (PlaceholderRule("/x/(y)", "y"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "not JSON (Expecting value at line 1 column 2)"),
        ('[{"pattern": "(", "name": "x"}]', "rule 1: bad regular expression '(': missing ), unterminated subpattern at position 0"),
        ('[{"pattern": "/x", "name": "a b"}]', 'rule 1: "name" must be null or match [A-Za-z_][A-Za-z0-9_]*'),
        ('[{"pattern": "/x"}]', 'rule 1: "name" is missing (null keeps the matched text)'),
        ('[{"pattern": "", "name": "x"}]', 'rule 1: "pattern" must be a non-empty regular expression'),
        ('[{"regex": "/x", "name": "x"}]', "rule 1: unknown key(s) regex (expected pattern, name)"),
        ("[1]", 'rule 1: expected an object with "pattern" and "name"'),
    ],
)
def test_bad_rule_files_say_what_is_wrong(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(RuleFileError) as caught:
        load_placeholder_rules(path)
    assert str(caught.value) == f"{path}: {message}"


def test_missing_rule_file(tmp_path) -> None:
    with pytest.raises(RuleFileError, match="no such placeholder file"):
        load_placeholder_rules(tmp_path / "nope.json")
