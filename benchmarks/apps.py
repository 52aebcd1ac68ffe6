"""The WSGI apps under test, one module for every variant.

gunicorn serves ``benchmarks.apps:application``; ``BENCH_VARIANT`` (read in
the worker, after the fork: no ``--preload``) picks what wraps the app:

* ``bare``: the app alone;
* ``plain``: upstream ``OpenTelemetryMiddleware`` with an SDK
  ``TracerProvider`` and a ``BatchSpanProcessor`` exporting to an exporter
  that drops the spans (so spans are created, batched and handed over, like
  ours, just not written anywhere);
* ``ours``: ``otel_openstack.instrumentation.wsgi.wrap`` with its defaults
  (headers and bodies captured, redaction on) and, configured by the
  middleware itself from ``OTEL_TRACES_EXPORTER=otel_openstack``, our
  exporter writing to its spool (``OTEL_OPENSTACK_SPOOL_DIR``).

``plain_filter_factory`` is the paste filter used for glance's ``plain``
variant (glance's ``ours`` variant uses our own ``filter_factory``).

The app: ``GET /json`` (any path not below) answers a small JSON document,
like a typical OpenStack ``GET /v2/images/<id>``; ``PUT /upload`` reads the
request body in 64 KiB chunks (glance_store's chunk size) and discards it;
``GET /download?size=N`` sends N bytes in 64 KiB chunks.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Iterable, Iterator, Sequence

CHUNK = 64 * 1024

_IMAGE = {
    "id": "0648f537-a3d5-439d-bbca-4354d228c188",
    "name": "cirros",
    "status": "active",
    "disk_format": "qcow2",
    "container_format": "bare",
    "visibility": "public",
    "size": 21430272,
    "checksum": "443b7623e27ecf03dc9e01ee93f67afe",
    "owner": "1767fe5e864f44e4b73af76db541f4a4",
    "protected": False,
    "tags": [],
    "created_at": "2026-12-03T19:03:33Z",
    "updated_at": "2026-12-03T19:03:33Z",
    "self": "/v2/images/0648f537-a3d5-439d-bbca-4354d228c188",
    "file": "/v2/images/0648f537-a3d5-439d-bbca-4354d228c188/file",
    "schema": "/v2/schemas/image",
}
_JSON_BODY = json.dumps(_IMAGE, separators=(",", ":")).encode()
_ZEROS = bytes(CHUNK)


def _download(size: int) -> Iterator[bytes]:
    full, rest = divmod(size, CHUNK)
    chunk = os.urandom(CHUNK) if full else b""  # not all zeros: nothing may special-case it
    for _ in range(full):
        yield chunk
    if rest:
        yield chunk[:rest] if chunk else os.urandom(rest)


def app(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/upload":
        stream = environ["wsgi.input"]
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
        received = 0
        while remaining > 0:
            data = stream.read(min(CHUNK, remaining))
            if not data:
                break
            received += len(data)
            remaining -= len(data)
        body = json.dumps({"received": received}).encode()
        start_response("201 Created", [("Content-Type", "application/json"),
                                       ("Content-Length", str(len(body)))])
        return [body]
    if path == "/download":
        query = dict(part.partition("=")[::2] for part in environ.get("QUERY_STRING", "").split("&") if part)
        size = int(query.get("size", CHUNK))
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(size))])
        return _download(size)
    start_response("200 OK", [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(_JSON_BODY))),
        ("X-Openstack-Request-Id", "req-4eb65a7f-620f-4488-9a0f-f9bd5fcc685e"),
    ])
    return [_JSON_BODY]


def _dropping_provider() -> None:
    """SDK TracerProvider + BatchSpanProcessor + an exporter that drops the spans."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DropExporter(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "bench")}))
    provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    trace.set_tracer_provider(provider)


def wrap_variant(inner: Callable[..., Any], variant: str, service_name: str) -> Callable[..., Any]:
    if variant == "bare":
        return inner
    if variant == "plain":
        from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

        _dropping_provider()
        return OpenTelemetryMiddleware(inner)
    if variant == "ours":
        from otel_openstack.instrumentation.wsgi import wrap

        return wrap(inner, service_name=service_name)
    if variant == "ours-drop":
        # Diagnostics (python -m benchmarks.profile): our capture, plain's dropping exporter.
        from otel_openstack.instrumentation.wsgi import wrap

        _dropping_provider()
        return wrap(inner, service_name=service_name)
    raise ValueError(f"unknown BENCH_VARIANT {variant!r}")


def plain_filter_factory(global_conf: dict, **local_conf: str) -> Callable[[Any], Any]:
    """Paste filter: upstream OpenTelemetryMiddleware with a dropping exporter."""

    def factory(inner: Any) -> Any:
        return wrap_variant(inner, "plain", local_conf.get("service_name", "bench"))

    return factory


application = wrap_variant(app, os.environ.get("BENCH_VARIANT", "bare"), "bench-app")
