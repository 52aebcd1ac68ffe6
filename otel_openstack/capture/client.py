"""Client-side capture for ``requests``: one function per moment of an exchange.

Shared by the keystoneauth instrumentor (its own CLIENT span) and by the hooks
given to ``opentelemetry-instrumentation-requests`` (plain ``requests``
callers such as python-swiftclient), so both record exactly the same data.
Every function here is called through ``guard.swallow``: it may fail, the
request may not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import Span

from otel_openstack import naming
from otel_openstack.capture import attributes as A
from otel_openstack.capture.body import BodyRecorder, TeeReader, tee_iterable
from otel_openstack.capture.headers import header_attributes
from otel_openstack.capture.local import current_service
from otel_openstack.settings import Settings

_RECORDER = "_otel_openstack_recorder"


@dataclass(frozen=True)
class Endpoint:
    """What keystoneauth resolved for a call (all None for plain requests)."""

    service_type: str | None = None
    interface: str | None = None
    region: str | None = None


def _wire_headers(request: Any) -> list[tuple[str, str]]:
    """Headers as they go on the wire: http.client sends ``Host`` first."""
    headers = list((request.headers or {}).items())
    if not any(name.lower() == "host" for name, _ in headers):
        netloc = urlsplit(request.url).netloc.rsplit("@", 1)[-1]
        headers.insert(0, ("Host", netloc))
    return headers


def on_request(span: Span, request: Any, settings: Settings, endpoint: Endpoint, captured_by: str) -> None:
    """Record the request; wrap a streaming body so it is captured as it is sent."""
    if not span.is_recording():
        return
    url = request.url
    peer = naming.callee_name(endpoint.service_type, url, settings.service_type_names, settings.url_names)
    attributes: dict[str, Any] = {
        A.HTTP_REQUEST_METHOD: request.method,
        A.URL_FULL: url,
        A.SERVICE_NAME: current_service(settings.service_name),
        A.PEER_SERVICE: peer,
        A.CAPTURED_BY: captured_by,
    }
    for key, value in ((A.SERVICE_TYPE, endpoint.service_type), (A.SERVICE_INTERFACE, endpoint.interface),
                       (A.SERVICE_REGION, endpoint.region)):
        if value:
            attributes[key] = value if isinstance(value, str) else ",".join(map(str, value))
    attributes.update(header_attributes("request", _wire_headers(request), redact=settings.redact,
                                        extra_secret=settings.redact_headers))
    span.set_attributes(attributes)
    if not settings.capture_bodies:
        return
    headers = request.headers or {}
    length = headers.get("Content-Length")
    recorder = BodyRecorder(settings.body_limit, headers.get("Content-Type"),
                            int(length) if length and str(length).isdigit() else None,
                            digest=settings.body_digest)
    body = request.body
    if body is None:
        pass
    elif isinstance(body, (bytes, bytearray, str)):
        recorder.feed(body)
    elif hasattr(body, "read"):
        request.body = TeeReader(body, recorder)
    elif hasattr(body, "__iter__"):
        request.body = tee_iterable(body, recorder)
    setattr(request, _RECORDER, recorder)


def on_response(span: Span, request: Any, response: Any, settings: Settings) -> None:
    """Record the response; its body only if the client already read it."""
    if not span.is_recording():
        return
    raw_headers = getattr(getattr(response, "raw", None), "headers", None)
    headers = list(raw_headers.items()) if raw_headers is not None else list(response.headers.items())
    attributes: dict[str, Any] = {
        A.HTTP_RESPONSE_STATUS_CODE: response.status_code,
        A.STATUS_TEXT: response.reason or "",
    }
    attributes.update(header_attributes("response", headers, redact=settings.redact,
                                        extra_secret=settings.redact_headers))
    traceresponse = response.headers.get("traceresponse")
    if traceresponse:
        attributes[A.TRACERESPONSE] = traceresponse
    if settings.capture_bodies:
        recorder: BodyRecorder | None = getattr(request, _RECORDER, None)
        if recorder is not None:
            attributes.update(recorder.attributes("request", redact=settings.redact,
                                                  redact_fields=settings.redact_fields,
                                                  complete=recorder.expected in (None, recorder.size)))
        attributes.update(_response_body(response, settings))
    span.set_attributes(attributes)


def _response_body(response: Any, settings: Settings) -> dict[str, Any]:
    """Only a body requests has already read is recorded: never consume a stream."""
    content = getattr(response, "_content", False)
    if content is False or content is None or not getattr(response, "_content_consumed", False):
        return {A.RESPONSE_BODY_STATE: A.BODY_STREAMED}
    recorder = BodyRecorder(settings.body_limit, response.headers.get("Content-Type"),
                            digest=settings.body_digest)
    recorder.feed(content)
    return recorder.attributes("response", redact=settings.redact, redact_fields=settings.redact_fields)


def on_error(span: Span, exc: BaseException) -> None:
    if span.is_recording():
        span.set_attribute(A.ERROR_TYPE, type(exc).__qualname__)
