"""Fetch traces from a running Jaeger over HTTP (urllib, bounded by a timeout).

``fetch_trace`` asks the API v3 first (``/api/v3/traces/{id}``, OTLP JSON:
Jaeger v2, and Jaeger 1.4x's query service), then the classic v1 API
(``/api/traces/{id}``, which every Jaeger since 1.0 serves on the UI port).
``find_traces`` lists a service's recent traces the same way
(``/api/v3/traces?query.service_name=...`` then ``/api/traces?service=...``).
Both answer with a :class:`~otel_openstack.sources.detect.Loaded`, so the
rest of the program cannot tell a live trace from a file.

Every failure is a :class:`TraceInputError` with one line that says what
went wrong and where: unreachable, no answer within the timeout, not found,
or an answer that is not a trace.
"""

from __future__ import annotations

import datetime
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from otel_openstack.sources import detect
from otel_openstack.sources.errors import TraceInputError

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "otel-openstack"


class NotFound(TraceInputError):
    """The store answered 404 (no such trace, or no such API)."""


def base_url(url: str) -> str:
    """``http://host:16686`` (a trailing ``/`` or ``/search`` from the UI is dropped)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TraceInputError(f"--jaeger needs an http(s) URL such as http://127.0.0.1:16686, not {url!r}")
    path = parts.path.rstrip("/")
    for ui_page in ("/search", "/trace"):
        if path.endswith(ui_page):
            path = path[: -len(ui_page)]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def trace_id_arg(value: str) -> str:
    """A trace id as given by a user (1 to 32 hex digits, any case) -> 32 lower-case hex digits."""
    text = value.strip().lower()
    if not 1 <= len(text) <= 32 or any(c not in "0123456789abcdef" for c in text):
        raise TraceInputError(f"not a trace id: {value!r} (expected 1 to 32 hex digits; "
                              "shorter ones are zero-padded, as Jaeger pads 64-bit ids)")
    return text.rjust(32, "0")


def get_json(url: str, timeout: float) -> Any:
    """GET ``url`` and parse its JSON; one-line errors for every failure."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
    where = _origin(url)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - user's URL
            body = response.read()
    except urllib.error.HTTPError as exc:
        detail = _error_detail(exc)
        if exc.code == 404:
            raise NotFound(f"{where} answered 404 for {_path(url)}{detail}") from None
        raise TraceInputError(f"{where} answered {exc.code} {exc.reason} for {_path(url)}{detail}") from None
    except urllib.error.URLError as exc:
        raise TraceInputError(f"cannot reach {where}: {_reason(exc.reason, timeout)}") from None
    except (socket.timeout, TimeoutError):
        raise TraceInputError(f"{where} did not answer within {timeout:g}s") from None
    except (http.client.HTTPException, ConnectionError, OSError) as exc:
        raise TraceInputError(f"{where}: the connection failed ({_reason(exc, timeout)})") from None
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise TraceInputError(f"{where} answered {_path(url)} with something that is not JSON "
                              f"(is this Jaeger's query port, usually 16686?)") from None


def fetch_trace(url: str, trace_id: str, timeout: float = DEFAULT_TIMEOUT) -> detect.Loaded:
    """One trace from Jaeger at ``url``: API v3 first, then v1."""
    base = base_url(url)
    trace_id = trace_id_arg(trace_id)
    attempts = [f"/api/v3/traces/{trace_id}", f"/api/traces/{trace_id}"]
    for path in attempts:
        try:
            document = get_json(base + path, timeout)
        except NotFound:
            continue
        loaded = _read(document, base + path)
        if loaded is not None and loaded.spans_of(trace_id):
            loaded.name = base
            return loaded
    raise TraceInputError(f"Jaeger at {base} has no trace {trace_id} (asked {' and '.join(attempts)})")


def find_traces(url: str, service: str = "openstack", limit: int = 20, lookback_seconds: float = 86400,
                timeout: float = DEFAULT_TIMEOUT, now: datetime.datetime | None = None) -> detect.Loaded:
    """The recent traces of ``service`` (at most ``limit``): API v3, then v1."""
    base = base_url(url)
    end = now or datetime.datetime.now(datetime.timezone.utc)
    start = end - datetime.timedelta(seconds=lookback_seconds)
    v3 = f"{base}/api/v3/traces?" + urllib.parse.urlencode({
        "query.service_name": service,
        "query.start_time_min": _rfc3339(start),
        "query.start_time_max": _rfc3339(end),
        "query.num_traces": str(limit),
        "query.search_depth": str(limit),
    })
    v1 = f"{base}/api/traces?" + urllib.parse.urlencode({
        "service": service, "limit": str(limit),
        "start": str(int(start.timestamp() * 1e6)), "end": str(int(end.timestamp() * 1e6)),
    })
    for address in (v3, v1):
        try:
            document = get_json(address, timeout)
        except NotFound as exc:
            if "No traces found" in str(exc) or "trace not found" in str(exc):
                return detect.Loaded(base, detect.JAEGER_V3, [])
            continue
        loaded = _read(document, address)
        if loaded is not None:
            loaded.name = base
            return loaded
    raise TraceInputError(f"Jaeger at {base} has neither /api/v3/traces nor /api/traces "
                          f"(is this Jaeger's query port, usually 16686?)")


def _read(document: Any, address: str) -> detect.Loaded | None:
    if isinstance(document, dict) and document.get("result") is None and "error" in document:
        message = detect.jaeger.api_error(document)
        if message and "not found" in message.lower():
            return None
    try:
        kind, spans, otlp = detect.read_document(document, False, lambda message: None)
    except TraceInputError as exc:
        if "not found" in str(exc).lower():
            return None
        raise TraceInputError(f"{_origin(address)} {_path(address)}: {exc}") from None
    return detect.Loaded(address, kind, spans, [], [otlp] if otlp else [])


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"Jaeger at {parts.scheme}://{parts.netloc}"


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path


def _reason(reason: Any, timeout: float) -> str:
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g}s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror or reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower() if reason.strerror[:1].isupper() else reason.strerror
    return str(reason)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(4096).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the status alone is enough
        return ""
    try:
        message = detect.jaeger.api_error(json.loads(body))
    except ValueError:
        message = body.strip().splitlines()[0] if body.strip() else None
    return f": {message}" if message else ""


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
