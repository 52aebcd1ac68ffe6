"""Everything about how the services are traced, in one place.

Why: the cloud exists to show our middleware and exporter at work inside
real services; the lead changes these settings as the instrumentation
evolves, so they live here and nowhere else:

* ``middleware=True``: gunicorn is started through ``opentelemetry-instrument``
  with the OTEL_* environment below, glance's authenticated paste pipelines
  get our ``otel_openstack`` filter (placement: PASTE_FILTER_BEFORE) and
  keystone's app is wrapped by ``otel_openstack.instrumentation.wsgi.wrap``.
  With swift, its proxy is started the same way, with our filter first in
  its paste pipeline (examples.localcloud.swift); swift's storage servers
  are not traced (the proxy talks to them with its own HTTP client).
* ``middleware=False``: plain services, no OpenTelemetry at all (useful while
  the instrumentation is broken, or to compare timings).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

#: Module of the lead's WSGI middleware (paste filter_factory and wrap()).
MIDDLEWARE_MODULE = "otel_openstack.instrumentation.wsgi"

#: Where our paste filter goes in glance's authenticated pipelines: before
#: this filter, or first when None. First (before cors, versionnegotiation)
#: is the only place that sees every request: glance's versionnegotiation
#: filter answers ``GET /`` (the CLI's version discovery) itself, so a filter
#: placed after it, e.g. right before authtoken, never sees that request.
#: Either way the filter runs before authtoken, which is what matters for
#: seeing keystonemiddleware's calls to keystone.
PASTE_FILTER_BEFORE: str | None = None

#: Environment every traced service gets (plus OTEL_SERVICE_NAME and spool).
TRACING_ENV: dict[str, str] = {
    "OTEL_TRACES_EXPORTER": "otel_openstack",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


#: The caller's variables that reach the services and the demo's CLI although
#: other OTEL_* variables are scrubbed (see cloud.clean_environ): a user who
#: runs ``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 make demo`` wants
#: the whole trace in Jaeger, the services' spans included.
OTLP_PREFIX = "OTEL_EXPORTER_OTLP_"
OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def otlp_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's OTLP exporter settings, with OTLP added to the exporters when an endpoint is set."""
    environ = os.environ if environ is None else environ
    passed = {key: value for key, value in environ.items() if key.startswith(OTLP_PREFIX)}
    if any(environ.get(key) for key in OTLP_ENDPOINTS):
        passed["OTEL_TRACES_EXPORTER"] = "otel_openstack,otlp"
    return passed


def service_env(service_name: str, spool_dir: Path, middleware: bool,
                environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables that switch tracing on or off for one service.

    LOCALCLOUD_MIDDLEWARE is read by examples.localcloud.wsgi_keystone
    (glance gets the filter through its paste file instead).  ``environ`` is
    the caller's environment (default ``os.environ``), for its OTLP settings.
    """
    if not middleware:
        return {"LOCALCLOUD_MIDDLEWARE": "0"}
    return {
        **TRACING_ENV,
        **otlp_env(environ),
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_OPENSTACK_SPOOL_DIR": str(spool_dir),
        "LOCALCLOUD_MIDDLEWARE": "1",
    }


def launcher(bin_dir: Path, middleware: bool) -> list[str]:
    """Command prefix that starts a service program, traced or not.

    opentelemetry-instrument sets up the SDK through sitecustomize and then
    execs the program (same PID, so the PID file stays right). gunicorn loads
    the app in the worker (no --preload), and the SDK's span processors
    re-initialise after fork, so spans are exported from the workers.
    """
    if not middleware:
        return []
    return [str(bin_dir / "opentelemetry-instrument")]


def paste_filter_section(service_name: str) -> str:
    """The paste-deploy filter section for our middleware."""
    return (
        "[filter:otel_openstack]\n"
        f"paste.filter_factory = {MIDDLEWARE_MODULE}:filter_factory\n"
        f"service_name = {service_name}\n"
    )


def middleware_available() -> bool:
    """True once the lead's middleware module can be found."""
    import importlib.util

    try:
        return importlib.util.find_spec(MIDDLEWARE_MODULE) is not None
    except ModuleNotFoundError:
        return False
