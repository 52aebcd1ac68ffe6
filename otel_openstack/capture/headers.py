"""Headers -> span attributes, in order and redacted.

Semconv stores one attribute per header name (``http.request.header.x-auth-token``,
a list of values), which loses the order the headers were sent in; the order
(and original case) goes into ``openstack.http.*.header_names`` so the log can
print headers exactly as they were sent.
"""

from __future__ import annotations

from typing import Any, Iterable

from otel_openstack.capture import attributes as attrs
from otel_openstack.capture.redact import redact_secret_value, secret_header_names

#: Per-name work done once: header name -> lower-case name; environ key -> header
#: name (None: not a header).  Bounded: a client can send any name it likes.
_LOWER: dict[str, str] = {}
_ENVIRON_NAMES: dict[str, str | None] = {}
_CACHE_MAX = 2048


def _lower(name: str) -> str:
    lowered = _LOWER.get(name)
    if lowered is None:
        lowered = name.lower()
        if len(_LOWER) < _CACHE_MAX:
            _LOWER[name] = lowered
    return lowered


def header_attributes(direction: str, headers: Iterable[tuple[str, str]], *, redact: bool,
                      extra_secret: Iterable[str] = ()) -> dict[str, Any]:
    """``direction`` is ``request`` or ``response``."""
    secret = secret_header_names(tuple(extra_secret)) if redact else frozenset()
    prefix = attrs.HTTP_REQUEST_HEADER_PREFIX if direction == "request" else attrs.HTTP_RESPONSE_HEADER_PREFIX
    order_key = attrs.REQUEST_HEADER_ORDER if direction == "request" else attrs.RESPONSE_HEADER_ORDER
    names: list[str] = []
    out: dict[str, Any] = {}
    for name, value in headers:
        if type(name) is not str:
            name = str(name)
        if type(value) is not str:
            value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        lowered = _lower(name)
        if lowered in secret:
            value = redact_secret_value(value)
        names.append(name)
        key = prefix + lowered
        values = out.get(key)
        if values is None:
            out[key] = [value]
        else:
            values.append(value)
    out[order_key] = names
    return out


def _environ_name(key: str) -> str | None:
    if key.startswith("HTTP_"):
        name = key[5:]
    elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        name = key
    else:
        return None
    return "-".join(part.capitalize() for part in name.split("_"))


def environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Request headers as a WSGI server received them, names re-capitalised.

    WSGI keeps no original case or order beyond the environ's insertion order;
    ``HTTP_X_AUTH_TOKEN`` becomes ``X-Auth-Token``, the common spelling.
    """
    out: list[tuple[str, str]] = []
    names = _ENVIRON_NAMES
    for key, value in environ.items():
        try:
            name = names[key]
        except KeyError:
            name = _environ_name(key) if type(key) is str else None
            if len(names) < _CACHE_MAX:
                names[key] = name
        except TypeError:  # an unhashable key: not a header
            continue
        if name is None or (not value and key in ("CONTENT_TYPE", "CONTENT_LENGTH")):
            continue
        out.append((name, value if type(value) is str else str(value)))
    return out
