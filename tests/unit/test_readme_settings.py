"""The README's settings table is the one generated from ``settings.SETTINGS``."""

from pathlib import Path

from otel_openstack.settings import SETTINGS, Settings, markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_holds_the_generated_settings_table() -> None:
    assert markdown_table() in README.read_text(encoding="utf-8")


def test_every_setting_has_a_field_and_every_field_a_setting() -> None:
    fields = set(Settings.__dataclass_fields__)
    assert {s.field for s in SETTINGS} == fields
    assert all(s.env == "OTEL_OPENSTACK_" + s.field.upper() for s in SETTINGS)
