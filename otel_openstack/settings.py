"""Every ``OTEL_OPENSTACK_*`` setting, read once into one frozen dataclass.

The OpenTelemetry way: environment variables configure auto-instrumentation,
and the same options are keyword arguments for code that wires things up by
hand (``wrap(app, body_limit=...)``).  Keyword arguments win over the
environment.  A bad value never raises into the instrumented program: it is
logged once and the default is used.  The README table is generated from
``SETTINGS`` below (``tests`` check they agree).
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping

_logger = logging.getLogger(__name__)


def _default_spool_dir() -> str:
    """Per-user spool so two users on one host never read each other's spans."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path(tempfile.gettempdir())
    return str(base / f"otel-openstack-{os.getuid()}" / "spool")


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _parse_int(value: str) -> int:
    number = int(value.strip())
    if number < 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return number


def _parse_float(value: str) -> float:
    """Seconds: finite, >= 0 and small enough to be a timeout (``nan`` would wait forever)."""
    number = float(value.strip())
    if not math.isfinite(number) or number < 0 or number > threading.TIMEOUT_MAX:
        raise ValueError(f"expected a number of seconds >= 0, got {value!r}")
    return number


def _parse_millis(value: str) -> int:
    """Milliseconds, within what a timeout may be."""
    number = _parse_int(value)
    if number > threading.TIMEOUT_MAX * 1000:
        raise ValueError(f"expected at most {int(threading.TIMEOUT_MAX * 1000)} ms, got {value!r}")
    return number


def _parse_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _parse_map(value: str) -> tuple[tuple[str, str], ...]:
    """``a=b,c=d`` -> (("a", "b"), ("c", "d")): kept as a tuple to stay hashable."""
    pairs = []
    for item in _parse_list(value):
        key, sep, mapped = item.partition("=")
        if not sep or not key.strip() or not mapped.strip():
            raise ValueError(f"expected key=value pairs, got {item!r}")
        pairs.append((key.strip(), mapped.strip()))
    return tuple(pairs)


@dataclass(frozen=True)
class Setting:
    env: str
    field: str
    parse: Callable[[str], Any]
    doc: str


#: The single table of settings: env name, dataclass field, parser, meaning.
SETTINGS: tuple[Setting, ...] = (
    Setting("OTEL_OPENSTACK_SERVICE_NAME", "service_name", str,
            "Name of this process in the outputs (`glance-api`, `keystone` ...). Default: the paste "
            "`service_name`, else `OTEL_SERVICE_NAME`, else detected from the program name."),
    Setting("OTEL_OPENSTACK_OUTPUT_DIR", "output_dir", str,
            "Where the CLI writes one folder per command. Default `./otel-openstack`."),
    Setting("OTEL_OPENSTACK_SPOOL_DIR", "spool_dir", str,
            "Where every process on the host leaves finished spans for the CLI to collect. "
            "Default `$XDG_RUNTIME_DIR/otel-openstack-<uid>/spool` (or the temp dir)."),
    Setting("OTEL_OPENSTACK_CAPTURE_BODIES", "capture_bodies", _parse_bool,
            "Capture request and response bodies. Default `true`."),
    Setting("OTEL_OPENSTACK_BODY_LIMIT", "body_limit", _parse_int,
            "Largest text body kept in full, in bytes; larger or binary bodies become a summary "
            "(size, type, SHA-256). Default `65536`."),
    Setting("OTEL_OPENSTACK_BODY_DIGEST", "body_digest", _parse_bool,
            "Compute the SHA-256 of every body for its summary. Default `true`; `false` saves the "
            "hashing (about 0.6 s of CPU per GiB on a SHA-NI core) in services that stream large images, "
            "and summaries then give size and type only."),
    Setting("OTEL_OPENSTACK_REDACT", "redact", _parse_bool,
            "Replace tokens by digests and secret JSON fields by `***` at capture time. "
            "Default `true`; `false` only for local doc writing."),
    Setting("OTEL_OPENSTACK_REDACT_HEADERS", "redact_headers", _parse_list,
            "Extra header names whose values are digested (comma-separated)."),
    Setting("OTEL_OPENSTACK_REDACT_FIELDS", "redact_fields", _parse_list,
            "Extra JSON field names whose values become `***` (comma-separated)."),
    Setting("OTEL_OPENSTACK_SHOW_PROPAGATION_HEADERS", "show_propagation_headers", _parse_bool,
            "Show `traceparent`, `tracestate`, `baggage`, `traceresponse` in the outputs. Default `false`."),
    Setting("OTEL_OPENSTACK_WAIT_SECONDS", "wait_seconds", _parse_float,
            "How long the CLI waits, at most, for the spans of the services it called. Default `5`."),
    Setting("OTEL_OPENSTACK_EXPORT_TIMEOUT", "export_timeout", _parse_float,
            "Upper bound, in seconds, that other exporters (OTLP) may add to the CLI's exit. Default `3`."),
    Setting("OTEL_OPENSTACK_FLUSH_MILLIS", "flush_millis", _parse_millis,
            "How often services hand finished spans to the spool, in ms. Default `100`."),
    Setting("OTEL_OPENSTACK_SERVICE_TYPE_NAMES", "service_type_names", _parse_map,
            "Extra or overriding service-type -> name mappings, e.g. `image=glance,baremetal=ironic-api`."),
    Setting("OTEL_OPENSTACK_URL_NAMES", "url_names", _parse_map,
            "Extra URL-prefix or `:port` -> name mappings, e.g. `/image=glance-api,:8774=nova-api`."),
    Setting("OTEL_OPENSTACK_WRITE_OUTPUTS", "write_outputs", _parse_bool,
            "Write the output folder when a CLI command ends. Default `true`."),
    Setting("OTEL_OPENSTACK_FILTERS", "filters", str,
            "A filter file (ours, or the old tool's `should_not_hook.json`): exchanges it matches are "
            "left out of the outputs, never out of the capture. See docs/filters.md."),
    Setting("OTEL_OPENSTACK_PLACEHOLDERS", "placeholders", str,
            "A JSON file of extra placeholder rules (`[{\"pattern\": REGEX, \"name\": NAME}]`), tried "
            "before the built-in ones. See docs/placeholders.md."),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`load`."""

    service_name: str | None = None
    output_dir: str = "otel-openstack"
    spool_dir: str = ""
    capture_bodies: bool = True
    body_limit: int = 64 * 1024
    body_digest: bool = True
    redact: bool = True
    redact_headers: tuple[str, ...] = ()
    redact_fields: tuple[str, ...] = ()
    show_propagation_headers: bool = False
    wait_seconds: float = 5.0
    export_timeout: float = 3.0
    flush_millis: int = 100
    service_type_names: tuple[tuple[str, str], ...] = ()
    url_names: tuple[tuple[str, str], ...] = ()
    write_outputs: bool = True
    filters: str = ""
    placeholders: str = ""


_FIELDS = {f.name for f in fields(Settings)}

#: (variable, value) pairs already reported: every load() of a process reads the
#: environment again, and a bad value must be logged once, not once per load.
_reported: set[tuple[str, str]] = set()
_reported_lock = threading.Lock()


def _report_once(name: str, raw: str, exc: ValueError) -> None:
    with _reported_lock:
        if (name, raw) in _reported:
            return
        _reported.add((name, raw))
    _logger.warning("otel-openstack: ignoring %s: %s", name, exc)


def load(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, then keyword overrides.

    Unknown keyword arguments are a programming error and raise ``TypeError``
    (caught where the caller is instrumentation code); bad environment values
    are logged and ignored, because a typo in an env var must not take a cloud
    service down.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {"spool_dir": _default_spool_dir()}
    for setting in SETTINGS:
        raw = env.get(setting.env)
        if raw is None or raw == "":
            continue
        try:
            values[setting.field] = setting.parse(raw)
        except ValueError as exc:
            _report_once(setting.env, raw, exc)
    unknown = set(overrides) - _FIELDS
    if unknown:
        raise TypeError(f"unknown otel-openstack setting(s): {', '.join(sorted(unknown))}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def markdown_table() -> str:
    """The README's settings table (``python -m otel_openstack.settings`` prints it)."""
    rows = ["| variable | keyword | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | `{s.field}` | {s.doc} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
