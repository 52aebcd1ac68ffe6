"""WSGI middleware for OpenStack API services, built on ``opentelemetry-instrumentation-wsgi``.

The upstream ``OpenTelemetryMiddleware`` opens the SERVER span (continuing the
caller's trace from ``traceparent``) and ends it when the response has been
iterated; we add, through its hooks and one inner wrapper:

* the participant name (``openstack.service.name``) and the request headers;
* request and response bodies, teed as the application and the server pull
  them (never read ahead: the predecessor broke swift that way);
* the status text as sent and the response headers;
* a W3C ``traceresponse`` header, so the CLI knows which server span to wait for.

Use it as a paste filter (``paste.filter_factory =
otel_openstack.instrumentation.wsgi:filter_factory``, ``service_name = glance-api``)
or as ``application = wrap(app, service_name="keystone")``.  If nothing has
configured OpenTelemetry in the process (a service started without
``opentelemetry-instrument``), the first middleware sets it up.
"""

from __future__ import annotations

import logging
import re
import wsgiref.util
from typing import Any, Callable, Iterable, Iterator

from opentelemetry import trace
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

from otel_openstack.capture import attributes as A
from otel_openstack.capture.body import BodyRecorder, TeeReader
from otel_openstack.capture.guard import report, swallow
from otel_openstack.capture.headers import environ_headers, header_attributes
from otel_openstack.capture.local import enter_service, leave_service, set_process_service
from otel_openstack.settings import SETTINGS, Settings, load

_logger = logging.getLogger(__name__)

_SPAN = "otel_openstack.span"
_REQUEST_BODY = "otel_openstack.request_body"
_INPUT = "otel_openstack.input"
_TEE = "otel_openstack.response_tee"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


def _traceresponse(span: Any) -> str | None:
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


class _ResponseTee:
    """The application's response iterable, teed; ``close()`` records the bodies.

    The upstream middleware calls ``close()`` exactly once, before it ends the
    span, which is the last moment the span takes attributes.  ``recorder`` is
    None when bodies are not captured: the tee then only passes chunks on.
    """

    def __init__(self, iterable: Iterable[Any], span: Any, environ: dict, recorder: BodyRecorder | None,
                 settings: Settings):
        self._iterable = iterable
        self._span = span
        self._environ = environ
        self._recorder = recorder
        self._settings = settings
        self._finished = False
        self._closed = False
        self._skipped = False

    @property
    def app_iterable(self) -> Iterable[Any]:
        return self._iterable

    def skip(self) -> None:
        """Iterate as empty: the server closed the response before asking for any of it."""
        self._skipped = True

    def __iter__(self) -> Iterator[Any]:
        if self._skipped:
            return
        for chunk in self._iterable:
            if self._recorder is not None:
                self._feed(chunk)
            yield chunk
        self._finished = True

    def _feed(self, chunk: Any) -> None:
        try:
            self._recorder.feed(chunk)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001
            report("wsgi response body capture", exc)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            if self._recorder is not None:
                self._record()

    @swallow("wsgi body recording")
    def _record(self) -> None:
        if not self._span.is_recording():
            return
        settings = self._settings
        self._recorder.content_type = self._environ.get(_RESPONSE_TYPE)
        attributes = self._recorder.attributes("response", redact=settings.redact,
                                               redact_fields=settings.redact_fields,
                                               complete=self._finished)
        request = self._environ.get(_REQUEST_BODY)
        tee = self._environ.get(_INPUT)
        if request is not None:
            complete = request.expected in (None, request.size) or bool(tee and tee._eof)
            attributes.update(request.attributes("request", redact=settings.redact,
                                                 redact_fields=settings.redact_fields, complete=complete))
        self._span.set_attributes(attributes)


class _ServerResult:
    """What the server gets for a lazy body: the upstream middleware's generator, plus a safe ``close()``.

    PEP 3333 servers call ``close()`` when the request is over, which may be
    before they iterated at all (the client left, a filter above replaced the
    response).  Closing a generator that never started skips its ``finally``,
    where upstream closes the app's iterable, ends the span and detaches the
    request's context; so here the generator is run to its end over an empty
    body instead: everything is cleaned up, nothing is pulled from the app.
    """

    def __init__(self, generator: Iterator[Any], tee: _ResponseTee):
        self._generator = generator
        self._tee = tee
        self._started = False

    def __iter__(self) -> Iterator[Any]:
        self._started = True
        return self._generator

    def close(self) -> None:
        if not self._started:
            self._started = True
            self._tee.skip()
            next(self._generator, None)
        self._generator.close()


def _server_result(result: Iterable[Any], tee: _ResponseTee | None) -> Iterable[Any]:
    """The upstream generator made as transparent to the server as the app's own result.

    A list or tuple body is already in memory: servers take its ``len()``
    (wsgiref adds ``Content-Length`` when it has one block) or iterate it twice
    (eventlet.wsgi sums the chunk lengths first), which a generator defeats.
    It is passed through now, which also ends the span, and the server gets a
    list of the same chunks.
    """
    if tee is None:
        return result
    if isinstance(tee.app_iterable, (list, tuple)):
        try:
            return list(result)
        finally:
            getattr(result, "close", lambda: None)()
    return _ServerResult(iter(result), tee)


class OpenStackWSGIMiddleware:
    """Wrap a WSGI app: SERVER spans with headers, bodies and the service name."""

    def __init__(self, app: WSGIApp, service_name: str | None = None, **settings: Any):
        self.app = app
        self.settings = load(service_name=service_name, **settings)
        self.service_name = self.settings.service_name or _default_name()
        if service_name:
            set_process_service(service_name)
        _ensure_configured(self.settings)
        self._otel = OpenTelemetryMiddleware(self._capture, request_hook=self._request_hook,
                                             response_hook=self._response_hook)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        result = self._otel(environ, start_response)
        return _server_result(result, environ.pop(_TEE, None))

    def _capture(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Runs inside the span: name the speaker for nested client calls, tee the body."""
        span = environ.get(_SPAN)
        recorder = None
        if span is not None and self.settings.capture_bodies:
            recorder = BodyRecorder(self.settings.body_limit, digest=self.settings.body_digest)
        token = enter_service(self.service_name)
        try:
            iterable = self.app(environ, _start_response(start_response, recorder))
        finally:
            leave_service(token)
        try:
            tee = _ResponseTee(iterable, span, environ, recorder, self.settings)
        except Exception as exc:  # noqa: BLE001
            report("wsgi response capture", exc)
            return iterable
        environ[_TEE] = tee
        return tee

    def _request_hook(self, span: Any, environ: dict) -> None:
        try:
            self._on_request(span, environ)
        except Exception as exc:  # noqa: BLE001
            report("wsgi request capture", exc)

    def _on_request(self, span: Any, environ: dict) -> None:
        if not span.is_recording():
            return
        environ[_SPAN] = span
        settings = self.settings
        attributes: dict[str, Any] = {
            A.SERVICE_NAME: self.service_name,
            A.CAPTURED_BY: "wsgi",
            A.HTTP_REQUEST_METHOD: environ.get("REQUEST_METHOD", ""),
            A.URL_FULL: request_url(environ),
        }
        user_agent = environ.get("HTTP_USER_AGENT")
        if user_agent:
            attributes[A.USER_AGENT_ORIGINAL] = user_agent
        attributes.update(header_attributes("request", environ_headers(environ), redact=settings.redact,
                                            extra_secret=settings.redact_headers))
        span.set_attributes(attributes)
        if settings.capture_bodies and environ.get("wsgi.input") is not None:
            length = environ.get("CONTENT_LENGTH")
            recorder = BodyRecorder(settings.body_limit, environ.get("CONTENT_TYPE"),
                                    int(length) if length and str(length).isdigit() else None,
                                    digest=settings.body_digest)
            tee = TeeReader(environ["wsgi.input"], recorder)
            environ["wsgi.input"] = tee
            environ[_REQUEST_BODY] = recorder
            environ[_INPUT] = tee

    def _response_hook(self, span: Any, environ: dict, status: str, response_headers: list) -> None:
        try:
            self._on_response(span, environ, status, response_headers)
        except Exception as exc:  # noqa: BLE001
            report("wsgi response header capture", exc)

    def _on_response(self, span: Any, environ: dict, status: str, response_headers: list) -> None:
        if span.is_recording():
            code, _, text = str(status).partition(" ")
            attributes: dict[str, Any] = {A.STATUS_TEXT: text.strip()}
            if code.isdigit():
                attributes[A.HTTP_RESPONSE_STATUS_CODE] = int(code)
            headers = header_attributes("response", response_headers, redact=self.settings.redact,
                                        extra_secret=self.settings.redact_headers)
            attributes.update(headers)
            span.set_attributes(attributes)
            content_type = headers.get(_CONTENT_TYPE_KEY)
            if content_type:
                environ[_RESPONSE_TYPE] = content_type[-1]
            has_traceresponse = _TRACERESPONSE_KEY in headers
        else:
            has_traceresponse = any(str(n).lower() == "traceresponse" for n, _ in response_headers)
        value = _traceresponse(span)
        if value and isinstance(response_headers, list) and not has_traceresponse:
            response_headers.append(("traceresponse", value))


_RESPONSE_TYPE = "otel_openstack.response_content_type"
_CONTENT_TYPE_KEY = A.response_header_key("content-type")
_TRACERESPONSE_KEY = A.response_header_key("traceresponse")
#: Characters ``urllib.parse.quote`` leaves alone in PATH_INFO (safe ``/;=,``) and SCRIPT_NAME (safe ``/``).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.~/;=,-]*")
_PLAIN_SCRIPT = re.compile(r"[A-Za-z0-9_.~/-]*")


def request_url(environ: dict) -> str:
    """``wsgiref.util.request_uri(environ)``, without its ``quote()`` calls when there is nothing to quote."""
    path = environ.get("PATH_INFO", "")
    script = environ.get("SCRIPT_NAME")
    if not (type(path) is str and _PLAIN_PATH.fullmatch(path)
            and (not script or (type(script) is str and _PLAIN_SCRIPT.fullmatch(script)))):
        return wsgiref.util.request_uri(environ, include_query=True)
    scheme = environ["wsgi.url_scheme"]
    host = environ.get("HTTP_HOST")
    if host:
        url = f"{scheme}://{host}"
    else:
        port = environ["SERVER_PORT"]
        url = f"{scheme}://{environ['SERVER_NAME']}"
        if port != ("443" if scheme == "https" else "80"):
            url += ":" + port
    url += (script + path) if script else ("/" + path[1:])
    query = environ.get("QUERY_STRING")
    return f"{url}?{query}" if query else url


def _start_response(start_response: StartResponse, recorder: BodyRecorder | None) -> StartResponse:
    """The application's ``start_response``: a copy of its header list, a teed ``write()``.

    ``traceresponse`` is appended to the list the response hook gets; an
    application that hands the same list to every response would otherwise
    keep the first request's value and send it with every later response.
    Bytes sent through the legacy ``write()`` callable are part of the body.
    """

    def wrapped(status: str, headers: list, *args: Any, **kwargs: Any) -> Any:
        write = start_response(status, list(headers), *args, **kwargs)
        if recorder is None:
            return write

        def tee_write(data: bytes) -> Any:
            try:
                recorder.feed(data)
            except Exception as exc:  # noqa: BLE001
                report("wsgi response body capture", exc)
            return write(data)

        return tee_write

    return wrapped


def _default_name() -> str:
    from otel_openstack.capture.local import current_service

    return current_service()


def _ensure_configured(settings: Settings) -> None:
    """Set up the SDK if nobody did (a paste filter in a service started by hand)."""
    try:
        from otel_openstack.distro import configure_if_unconfigured

        configure_if_unconfigured(settings)
    except Exception as exc:  # noqa: BLE001
        report("OpenTelemetry set-up from the WSGI middleware", exc)


def wrap(app: WSGIApp, service_name: str | None = None, **settings: Any) -> OpenStackWSGIMiddleware:
    """``application = wrap(app, service_name="keystone")`` for apps built in code."""
    return OpenStackWSGIMiddleware(app, service_name=service_name, **settings)


def filter_factory(global_conf: dict, **local_conf: str) -> Callable[[WSGIApp], OpenStackWSGIMiddleware]:
    """Paste entry point; ini keys are the setting fields (``service_name``, ``body_limit`` ...)."""
    parsers = {s.field: s.parse for s in SETTINGS}
    settings: dict[str, Any] = {}
    for key, value in local_conf.items():
        if key in parsers:
            try:
                settings[key] = parsers[key](value) if parsers[key] is not str else value
            except ValueError as exc:
                _logger.warning("otel-openstack: ignoring paste option %s: %s", key, exc)
        else:
            _logger.warning("otel-openstack: unknown paste option %s ignored", key)

    def factory(app: WSGIApp) -> OpenStackWSGIMiddleware:
        return OpenStackWSGIMiddleware(app, **settings)

    return factory
