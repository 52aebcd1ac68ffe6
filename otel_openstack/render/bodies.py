"""Message content (bodies and header lines) as text, shared by all renderers.

The log and the doc fragment must show a body the same way, so the decision
"pretty JSON, text as is, ``none``, or a one-line summary" is made here once.

Conventions (tested exactly in ``tests/unit/render/test_bodies.py``):

* ``Body.captured`` False          -> ``(not captured)``
* state ``empty`` (or empty text)  -> ``none``
* state ``text``, JSON             -> ``json.dumps(indent=2, ensure_ascii=False)``,
  key order kept.  A body is JSON when its media type contains ``json``
  (``application/json``, ``...+json``, glance's ``...-json-patch``) or, with
  no content type at all, when it starts with ``{`` or ``[``.  Text that does
  not parse, or that has duplicate keys (which re-serialising would silently
  merge), is shown as is.
* state ``text``, other            -> the text as is, minus one final line
  break (the record's own empty line follows it).
* any other state                  -> one line,
  ``<LABEL: SIZE, CONTENT_TYPE, sha256:HEX>`` where LABEL says why there is no
  text (``binary body``, ``body over capture limit``, ``streamed body, not
  captured``, ``incomplete body``), SIZE is ``16,384 bytes (16.0 KiB)``
  (``512 bytes`` below 1 KiB, ``1 byte``, ``size unknown``), and the content
  type and digest are left out when unknown.

Single-line fields (header names and values, URLs, status texts) go through
:func:`one_line`: characters that are not printable (controls, line and
paragraph separators, bidi/format characters) are percent-encoded as their
UTF-8 bytes (``\\n`` -> ``%0A``), so one field can never forge a new record or
header line.  Bodies are the exception: they are multi-line by nature and are
kept as is; each output makes them safe in its own way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from otel_openstack.capture import attributes as attrs
from otel_openstack.model.types import Body, Headers, Message
from otel_openstack.render.options import RenderOptions

NOT_CAPTURED_TEXT = "(not captured)"
EMPTY_TEXT = "none"

_SUMMARY_LABELS = {
    attrs.BODY_BINARY: "binary body",
    attrs.BODY_TRUNCATED: "body over capture limit",
    attrs.BODY_STREAMED: "streamed body, not captured",
    attrs.BODY_INCOMPLETE: "incomplete body",
}

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


@dataclass(frozen=True)
class RenderedBody:
    """A body as text, and whether that text is (pretty-printed) JSON."""

    text: str
    is_json: bool = False

    @property
    def language(self) -> str:
        """Code-fence language for the doc fragment: ``json`` or ``text``."""
        return "json" if self.is_json else "text"


def one_line(text: str) -> str:
    """``text`` with every non-printable character percent-encoded (UTF-8).

    Percent-encoding is what a URL would show anyway, stays ASCII, and keeps
    the value on one line whatever it contains.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else percent_encode(ch) for ch in text)


def percent_encode(ch: str) -> str:
    """``ch`` as ``%XX`` escapes of its UTF-8 bytes (lone surrogates included)."""
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def header_lines(headers: Headers, options: RenderOptions) -> list[str]:
    """``Name: value`` lines in the order sent, hidden headers left out."""
    return [
        f"{one_line(name)}: {one_line(value)}"
        for name, value in headers
        if options.shows_header(name)
    ]


def human_size(size: int) -> str:
    """``16.0 KiB``-style size (binary units, one decimal); bytes below 1 KiB."""
    if size < 1024:
        return f"{size} byte" if size == 1 else f"{size} bytes"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if round(value, 1) < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def size_text(size: int | None) -> str:
    """``16,384 bytes (16.0 KiB)``; exact count first, human form when >= 1 KiB."""
    if size is None or size < 0:
        return "size unknown"
    exact = "1 byte" if size == 1 else f"{size:,} bytes"
    if size < 1024:
        return exact
    return f"{exact} ({human_size(size)})"


def body_summary(body: Body) -> str:
    """The one-line stand-in for a body whose content we do not show."""
    label = _SUMMARY_LABELS.get(body.state, f"body ({one_line(body.state)})")
    facts = [size_text(body.size)]
    if body.content_type:
        facts.append(one_line(body.content_type))
    if body.sha256:
        facts.append(f"sha256:{one_line(body.sha256)}")
    return f"<{label}: {', '.join(facts)}>"


def render_body(body: Body) -> RenderedBody:
    """A body as the text every output shows (see the module docstring)."""
    if not body.captured:
        return RenderedBody(NOT_CAPTURED_TEXT)
    if body.state == attrs.BODY_EMPTY:
        return RenderedBody(EMPTY_TEXT)
    if body.state != attrs.BODY_TEXT:
        return RenderedBody(body_summary(body))
    text = body.text or ""
    if text == "":
        return RenderedBody(EMPTY_TEXT)
    if _is_json_candidate(text, body.content_type):
        pretty = pretty_json(text)
        if pretty is not None:
            return RenderedBody(pretty, is_json=True)
    return RenderedBody(_drop_final_newline(text))


def message_body(message: Message) -> Body:
    """The body a message carries: the request's or the response's."""
    exchange = message.exchange
    return exchange.request_body if message.is_request else exchange.response_body


def body_text(body: Body) -> str:
    """Shorthand for ``render_body(body).text``."""
    return render_body(body).text


def pretty_json(text: str) -> str | None:
    """``text`` re-indented by 2 spaces, or None when it is not plain JSON."""
    try:
        value = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except (ValueError, RecursionError):
        return None
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # pragma: no cover - loads() guards this
        return None


def _refuse_duplicates(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _is_json_candidate(text: str, content_type: str | None) -> bool:
    if content_type:
        media_type = content_type.split(";", 1)[0].strip().lower()
        return "json" in media_type
    return text.lstrip()[:1] in ("{", "[")


def _drop_final_newline(text: str) -> str:
    for ending in ("\r\n", "\n", "\r"):
        if text.endswith(ending):
            return text[: -len(ending)]
    return text
