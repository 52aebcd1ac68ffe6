"""keystoneauth1: one CLIENT span per HTTP exchange made through a Session.

keystoneauth is where OpenStack clients (the CLI, openstacksdk, and services
calling each other: glance validating a token through keystonemiddleware)
send their requests, and where the service type, interface and region of a
call are known.  Three wrappers cooperate:

* ``Session.request`` remembers the endpoint filter of the call (a
  contextvar, so nested token requests made by the auth plugin get their own);
* ``Session._send_request`` marks "the next send is ours" and suppresses
  ``opentelemetry-instrumentation-requests`` for it, so each exchange gets
  exactly one CLIENT span whichever instrumentor was installed first;
* ``requests.Session.send`` opens the span around the real wire exchange, so
  a redirect or a retry is a span of its own, as it is a request of its own.
"""

from __future__ import annotations

import contextvars
from typing import Any, Collection

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import (
    is_instrumentation_enabled,
    suppress_http_instrumentation,
    unwrap,
)
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind

from otel_openstack import __version__
from otel_openstack.capture import client
from otel_openstack.capture.guard import swallow
from otel_openstack.instrumentation._settings import settings_from

_endpoint: contextvars.ContextVar[client.Endpoint | None] = contextvars.ContextVar(
    "otel_openstack_ksa_endpoint", default=None)
_pending: contextvars.ContextVar[client.Endpoint | None] = contextvars.ContextVar(
    "otel_openstack_ksa_pending", default=None)

_on_request = swallow("keystoneauth request capture")(client.on_request)
_on_response = swallow("keystoneauth response capture")(client.on_response)
_on_error = swallow("keystoneauth error capture")(client.on_error)
_inject = swallow("keystoneauth trace context injection")(inject)


def _endpoint_of(kwargs: dict[str, Any]) -> client.Endpoint:
    filt = kwargs.get("endpoint_filter") or {}
    return client.Endpoint(
        service_type=filt.get("service_type"),
        interface=filt.get("interface"),
        region=filt.get("region_name"),
    )


class KeystoneauthInstrumentor(BaseInstrumentor):
    """Instruments ``keystoneauth1.session.Session``."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("keystoneauth1 >= 3.0",)

    def _instrument(self, **kwargs: Any) -> None:
        settings = settings_from(kwargs)
        tracer = trace.get_tracer(__name__, __version__, kwargs.get("tracer_provider"))

        def request_wrapper(wrapped: Any, instance: Any, args: Any, kw: dict[str, Any]) -> Any:
            token = _endpoint.set(_safe_endpoint(kw))
            try:
                return wrapped(*args, **kw)
            finally:
                _endpoint.reset(token)

        def send_request_wrapper(wrapped: Any, instance: Any, args: Any, kw: dict[str, Any]) -> Any:
            token = _pending.set(_endpoint.get() or client.Endpoint())
            try:
                with suppress_http_instrumentation():
                    return wrapped(*args, **kw)
            finally:
                _pending.reset(token)

        def send_wrapper(wrapped: Any, instance: Any, args: Any, kw: dict[str, Any]) -> Any:
            endpoint = _pending.get()
            if endpoint is None or not is_instrumentation_enabled():
                return wrapped(*args, **kw)
            request = args[0] if args else kw.get("request")
            token = _pending.set(None)
            try:
                with tracer.start_as_current_span(str(getattr(request, "method", "HTTP")),
                                                  kind=SpanKind.CLIENT) as span:
                    # Inject first: the captured headers are then exactly those sent.
                    if request is not None and request.headers is not None:
                        _inject(request.headers)
                    _on_request(span, request, settings, endpoint, "keystoneauth1")
                    try:
                        response = wrapped(*args, **kw)
                    except Exception as exc:
                        _on_error(span, exc)
                        raise
                    _on_response(span, request, response, settings)
                    return response
            finally:
                _pending.reset(token)

        wrapt.wrap_function_wrapper("keystoneauth1.session", "Session.request", request_wrapper)
        wrapt.wrap_function_wrapper("keystoneauth1.session", "Session._send_request", send_request_wrapper)
        wrapt.wrap_function_wrapper("requests.sessions", "Session.send", send_wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        import keystoneauth1.session
        import requests.sessions

        unwrap(keystoneauth1.session.Session, "request")
        unwrap(keystoneauth1.session.Session, "_send_request")
        _unwrap_ours(requests.sessions.Session)


@swallow("keystoneauth endpoint lookup", default=None)
def _safe_endpoint(kwargs: dict[str, Any]) -> client.Endpoint:
    return _endpoint_of(kwargs)


def _unwrap_ours(cls: type) -> None:
    """Remove our ``send`` wrapper wherever it sits in a chain of wrappers.

    Another instrumentor (requests) may have wrapped ours; unwrapping blindly
    would remove theirs instead.
    """
    current = cls.__dict__.get("send")
    # wrapt 2 moved FunctionWrapper under BaseObjectProxy (no longer an ObjectProxy).
    proxy_type = getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)
    if isinstance(current, proxy_type) and getattr(current, "_self_wrapper", None) is not None \
            and getattr(current._self_wrapper, "__qualname__", "").endswith("send_wrapper"):
        setattr(cls, "send", current.__wrapped__)
        return
    # Ours sits below someone else's wrapper: it stays, but with the
    # ``_send_request`` wrapper gone nothing sets ``_pending`` and it passes
    # every call straight through.
