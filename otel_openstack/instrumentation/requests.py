"""Plain ``requests`` callers (python-swiftclient in glance's swift store).

Capture rides on ``opentelemetry-instrumentation-requests`` through its
``request_hook``/``response_hook``: that instrumentor owns the span, we add
the same data keystoneauth calls get.  Under ``opentelemetry-instrument`` the
distro hands these hooks to the upstream instrumentor; code that sets things
up by hand calls :func:`instrument_requests`.
"""

from __future__ import annotations

from typing import Any, Callable

from opentelemetry import trace
from opentelemetry.propagate import inject

from otel_openstack.capture import client
from otel_openstack.capture.guard import swallow
from otel_openstack.settings import Settings


def hooks(settings: Settings) -> dict[str, Callable[..., None]]:
    """``request_hook``/``response_hook`` kwargs for ``RequestsInstrumentor().instrument``."""

    @swallow("requests request capture")
    def request_hook(span: Any, request: Any) -> None:
        # The upstream instrumentor injects ``traceparent`` only after this
        # hook; inject the same value now, so the captured headers are exactly
        # those sent (as for keystoneauth calls).
        if request.headers is not None:
            inject(request.headers, context=trace.set_span_in_context(span))
        client.on_request(span, request, settings, client.Endpoint(), "requests")

    @swallow("requests response capture")
    def response_hook(span: Any, request: Any, response: Any) -> None:
        client.on_response(span, request, response, settings)

    return {"request_hook": request_hook, "response_hook": response_hook}


def instrument_requests(settings: Settings, **kwargs: Any) -> None:
    """Instrument ``requests`` with our hooks, replacing a hook-less instrumentation."""
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    instrumentor = RequestsInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(**hooks(settings), **kwargs)
