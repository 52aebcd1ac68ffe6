"""settings.load: environment, keyword overrides, bad values."""

from __future__ import annotations

import dataclasses
import logging
import os

import pytest

from otel_openstack import settings as S
from otel_openstack.settings import SETTINGS, Settings, load


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/4242")
    loaded = load({})
    assert loaded == Settings(spool_dir=f"/run/user/4242/otel-openstack-{os.getuid()}/spool")
    assert loaded.service_name is None
    assert loaded.output_dir == "otel-openstack"
    assert loaded.capture_bodies is True
    assert loaded.body_limit == 65536
    assert loaded.body_digest is True
    assert loaded.redact is True
    assert loaded.show_propagation_headers is False
    assert loaded.wait_seconds == 5.0
    assert loaded.export_timeout == 3.0
    assert loaded.flush_millis == 100
    assert loaded.write_outputs is True


def test_default_spool_without_runtime_dir_is_per_user_in_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert load({}).spool_dir == os.path.join(tempfile.gettempdir(), f"otel-openstack-{os.getuid()}", "spool")


def test_every_variable_is_parsed() -> None:
    env = {
        "OTEL_OPENSTACK_SERVICE_NAME": "glance-api",
        "OTEL_OPENSTACK_OUTPUT_DIR": "/tmp/out",
        "OTEL_OPENSTACK_SPOOL_DIR": "/tmp/spool",
        "OTEL_OPENSTACK_CAPTURE_BODIES": "off",
        "OTEL_OPENSTACK_BODY_LIMIT": " 1024 ",
        "OTEL_OPENSTACK_BODY_DIGEST": "no",
        "OTEL_OPENSTACK_REDACT": "FALSE",
        "OTEL_OPENSTACK_REDACT_HEADERS": "X-Secret, X-Other ,,",
        "OTEL_OPENSTACK_REDACT_FIELDS": "pin",
        "OTEL_OPENSTACK_SHOW_PROPAGATION_HEADERS": "yes",
        "OTEL_OPENSTACK_WAIT_SECONDS": "0.5",
        "OTEL_OPENSTACK_EXPORT_TIMEOUT": "1.5",
        "OTEL_OPENSTACK_FLUSH_MILLIS": "20",
        "OTEL_OPENSTACK_SERVICE_TYPE_NAMES": "image=glance, baremetal=ironic-api",
        "OTEL_OPENSTACK_URL_NAMES": "/image=glance-api,:8774=nova-api",
        "OTEL_OPENSTACK_WRITE_OUTPUTS": "0",
    }
    assert load(env) == Settings(
        service_name="glance-api",
        output_dir="/tmp/out",
        spool_dir="/tmp/spool",
        capture_bodies=False,
        body_limit=1024,
        body_digest=False,
        redact=False,
        redact_headers=("X-Secret", "X-Other"),
        redact_fields=("pin",),
        show_propagation_headers=True,
        wait_seconds=0.5,
        export_timeout=1.5,
        flush_millis=20,
        service_type_names=(("image", "glance"), ("baremetal", "ironic-api")),
        url_names=(("/image", "glance-api"), (":8774", "nova-api")),
        write_outputs=False,
    )


@pytest.mark.parametrize("variable, value", [
    ("OTEL_OPENSTACK_BODY_LIMIT", "-1"),
    ("OTEL_OPENSTACK_BODY_LIMIT", "64k"),
    ("OTEL_OPENSTACK_REDACT", "maybe"),
    ("OTEL_OPENSTACK_WAIT_SECONDS", "-0.1"),
    ("OTEL_OPENSTACK_WAIT_SECONDS", "soon"),
    ("OTEL_OPENSTACK_URL_NAMES", "/image"),
    ("OTEL_OPENSTACK_SERVICE_TYPE_NAMES", "image="),
])
def test_bad_value_is_logged_and_default_kept(variable: str, value: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_openstack.settings"):
        loaded = load({variable: value, "OTEL_OPENSTACK_SPOOL_DIR": "/s"})
    assert loaded == Settings(spool_dir="/s")
    assert [r.getMessage().split(":")[1].strip() for r in caplog.records] == [f"ignoring {variable}"]


def test_empty_value_means_unset() -> None:
    assert load({"OTEL_OPENSTACK_BODY_LIMIT": "", "OTEL_OPENSTACK_SPOOL_DIR": "/s"}).body_limit == 65536


def test_keyword_overrides_win_and_none_is_ignored() -> None:
    env = {"OTEL_OPENSTACK_BODY_LIMIT": "10", "OTEL_OPENSTACK_SERVICE_NAME": "keystone",
           "OTEL_OPENSTACK_SPOOL_DIR": "/s"}
    loaded = load(env, body_limit=20, service_name=None, redact=False)
    assert (loaded.body_limit, loaded.service_name, loaded.redact) == (20, "keystone", False)


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unknown otel-openstack setting\\(s\\): bodylimit, colour"):
        load({}, bodylimit=1, colour="red")


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_OPENSTACK_BODY_LIMIT", "77")
    assert load().body_limit == 77


def test_settings_table_matches_the_dataclass() -> None:
    """Every field has exactly one variable named after it, and vice versa."""
    table = {s.field: s.env for s in SETTINGS}
    assert len(table) == len(SETTINGS)
    assert set(table) == {f.name for f in dataclasses.fields(Settings)}
    assert all(env == "OTEL_OPENSTACK_" + field.upper() for field, env in table.items())
    assert all(s.doc.strip() for s in SETTINGS)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        load({}).body_limit = 1  # type: ignore[misc]


def test_parsers() -> None:
    assert [S._parse_bool(v) for v in ("1", "true", " Yes ", "ON", "0", "false", "no", "Off")] == \
        [True, True, True, True, False, False, False, False]
    assert S._parse_list(" a, b ,,c ") == ("a", "b", "c")
    assert S._parse_map("a=b, c = d") == (("a", "b"), ("c", "d"))
    with pytest.raises(ValueError, match="expected key=value pairs, got '=x'"):
        S._parse_map("=x")


def test_readme_settings_table_matches_settings() -> None:
    """The README table is generated from SETTINGS: same rows, same order, same text."""
    from pathlib import Path

    readme = Path(__file__).resolve().parents[2] / "README.md"
    rows = [line for line in readme.read_text().splitlines() if line.startswith("| `OTEL_OPENSTACK_")]
    assert rows == [f"| `{s.env}` | `{s.field}` | {s.doc} |" for s in SETTINGS]
