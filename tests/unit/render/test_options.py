"""Render options: defaults, command-line wiring, settings wiring."""

from __future__ import annotations

import argparse
import json
import logging
from types import SimpleNamespace

import pytest

from otel_openstack.render.filters import FilterRule, RuleFileError
from otel_openstack.render.options import (
    RenderOptions,
    add_render_arguments,
    options_from_args,
    options_from_settings,
)
from otel_openstack.render.placeholders import PlaceholderRule

NO_SETTINGS = SimpleNamespace()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-propagation-headers", action="store_true")  # the CLI's own option
    add_render_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_what_the_cli_writes_with_no_options() -> None:
    assert RenderOptions() == RenderOptions(
        hide_propagation_headers=True, placeholders=True, placeholders_in_log=False, placeholder_rules=(),
        filters=(), activations=True, boxes=True, failure_notes=True, collapse_loops=False, split_size=40)
    assert options_from_args(parse(), NO_SETTINGS) == RenderOptions()


def test_every_option_on_the_command_line(tmp_path) -> None:
    old = tmp_path / "should_not_hook.json"
    old.write_text(json.dumps({"from": "glance-api", "to": "keystone", "urls": ["/identity/{version}/limits"]}))
    ours = tmp_path / "filters.json"
    ours.write_text(json.dumps({"hide": [{"to": "placement-api"}]}))
    rules = tmp_path / "placeholders.json"
    rules.write_text(json.dumps([{"pattern": "/flavors/([^/]+)", "name": "flavor_id"}]))
    args = parse("--filters", str(old), "--filters", str(ours), "--no-placeholders", "--placeholder-rules",
                 str(rules), "--placeholders-in-log", "--split-size", "0", "--no-activations", "--no-boxes",
                 "--no-failure-notes", "--collapse-loops", "--show-propagation-headers")
    assert options_from_args(args, NO_SETTINGS) == RenderOptions(
        hide_propagation_headers=False,
        placeholders=False,
        placeholders_in_log=True,
        placeholder_rules=(PlaceholderRule("/flavors/([^/]+)", "flavor_id"),),
        filters=(FilterRule(("glance-api",), ("keystone",), (), ("/identity/{version}/limits",)),
                 FilterRule(callees=("placement-api",))),
        activations=False,
        boxes=False,
        failure_notes=False,
        collapse_loops=True,
        split_size=0,
    )


def test_placeholder_rules_default_to_the_setting(tmp_path) -> None:
    rules = tmp_path / "p.json"
    rules.write_text('[{"pattern": "/x/(y)", "name": "y"}]')
    options = options_from_args(parse(), SimpleNamespace(placeholders=str(rules)))
    assert options.placeholder_rules == (PlaceholderRule("/x/(y)", "y"),)


def test_bad_files_are_input_errors_on_the_command_line(tmp_path) -> None:
    from otel_openstack.sources.errors import TraceInputError

    bad = tmp_path / "f.json"
    bad.write_text("{")
    with pytest.raises(RuleFileError) as caught:
        options_from_args(parse("--filters", str(bad)), NO_SETTINGS)
    assert isinstance(caught.value, TraceInputError)
    assert str(caught.value) == f"{bad}: not JSON (Expecting property name enclosed in double quotes at line 1 column 2)"


@pytest.mark.parametrize("value", ["-1", "x"])
def test_split_size_must_be_a_number_from_zero(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--split-size", value)
    assert "--split-size" in capsys.readouterr().err
    with pytest.raises(ValueError, match="split_size must be >= 0"):
        RenderOptions(split_size=-1)


def test_settings_for_the_exporter(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    rules = tmp_path / "p.json"
    rules.write_text('[{"pattern": "/x/(y)", "name": "y"}]')
    settings = SimpleNamespace(show_propagation_headers=True, placeholders=str(rules))
    assert options_from_settings(settings) == RenderOptions(
        hide_propagation_headers=False, placeholder_rules=(PlaceholderRule("/x/(y)", "y"),))
    # a bad file never fails the user's command: logged, ignored
    with caplog.at_level(logging.WARNING):
        options = options_from_settings(SimpleNamespace(placeholders=str(tmp_path / "missing.json"),
                                                        filters=str(tmp_path / "missing-too.json")))
    assert options == RenderOptions()
    assert [r.getMessage() for r in caplog.records] == [
        f"otel-openstack: ignoring OTEL_OPENSTACK_PLACEHOLDERS: {tmp_path / 'missing.json'}: no such placeholder file",
        f"otel-openstack: ignoring OTEL_OPENSTACK_FILTERS: {tmp_path / 'missing-too.json'}: no such filter file",
    ]
    from otel_openstack.settings import Settings

    assert options_from_settings(Settings()) == RenderOptions()  # works before and after the new settings exist


def test_propagation_headers_show_when_the_flag_or_the_setting_asks() -> None:
    assert not options_from_args(parse(), SimpleNamespace(show_propagation_headers=True)).hide_propagation_headers
    assert not options_from_args(parse("--show-propagation-headers"), NO_SETTINGS).hide_propagation_headers
    assert options_from_args(parse(), SimpleNamespace(show_propagation_headers=False)).hide_propagation_headers


def test_re_render_uses_the_filters_setting_unless_filters_are_given(tmp_path) -> None:
    setting = tmp_path / "setting.json"
    setting.write_text(json.dumps({"from": "glance-api", "to": "keystone", "urls": ["/v3/auth/tokens"]}))
    given = tmp_path / "given.json"
    given.write_text(json.dumps({"from": "openstack", "to": "keystone", "urls": ["/"]}))
    settings = SimpleNamespace(filters=str(setting))
    from_setting = options_from_args(parse(), settings).filters
    assert [(r.callers, r.callees) for r in from_setting] == [(("glance-api",), ("keystone",))]
    from_flag = options_from_args(parse("--filters", str(given)), settings).filters
    assert [(r.callers, r.callees) for r in from_flag] == [(("openstack",), ("keystone",))]
