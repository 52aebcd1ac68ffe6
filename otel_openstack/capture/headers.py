"""Headers -> span attributes, in order and redacted.

Semconv stores one attribute per header name (``http.request.header.x-auth-token``,
a list of values), which loses the order the headers were sent in; the order
(and original case) goes into ``openstack.http.*.header_names`` so the log can
print headers exactly as they were sent.
"""

from __future__ import annotations

from typing import Any, Iterable

from otel_openstack.capture import attributes as attrs
from otel_openstack.capture.redact import redact_header


def header_attributes(direction: str, headers: Iterable[tuple[str, str]], *, redact: bool,
                      extra_secret: Iterable[str] = ()) -> dict[str, Any]:
    """``direction`` is ``request`` or ``response``."""
    extra = tuple(extra_secret)
    prefix = attrs.HTTP_REQUEST_HEADER_PREFIX if direction == "request" else attrs.HTTP_RESPONSE_HEADER_PREFIX
    order_key = attrs.REQUEST_HEADER_ORDER if direction == "request" else attrs.RESPONSE_HEADER_ORDER
    names: list[str] = []
    values: dict[str, list[str]] = {}
    for name, value in headers:
        name = str(name)
        value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if redact:
            value = redact_header(name, value, extra)
        names.append(name)
        values.setdefault(prefix + name.lower(), []).append(value)
    out: dict[str, Any] = dict(values)
    out[order_key] = names
    return out


def environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Request headers as a WSGI server received them, names re-capitalised.

    WSGI keeps no original case or order beyond the environ's insertion order;
    ``HTTP_X_AUTH_TOKEN`` becomes ``X-Auth-Token``, the common spelling.
    """
    out: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if not value:
                continue
            name = key
        else:
            continue
        out.append(("-".join(part.capitalize() for part in name.split("_")), str(value)))
    return out
