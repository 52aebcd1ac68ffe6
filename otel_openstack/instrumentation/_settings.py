"""Settings for instrumentors: read once per ``instrument()`` call, overridable by kwargs."""

from __future__ import annotations

from typing import Any

from otel_openstack.settings import Settings, load

_SETTINGS_KEYS = ("service_name", "capture_bodies", "body_limit", "redact", "redact_headers",
                  "redact_fields", "service_type_names", "url_names")


def settings_from(kwargs: dict[str, Any]) -> Settings:
    """Pick our settings out of ``instrument(**kwargs)``; other kwargs are the SDK's."""
    return load(**{k: kwargs[k] for k in _SETTINGS_KEYS if k in kwargs})
