"""Body capture that only watches bytes pass by.

The predecessor broke swift (HTTP 500) by reading request bodies ahead of the
application.  Here nothing is ever read on the application's behalf: readers
and iterables are wrapped, and each chunk the application (or the HTTP client)
pulls through is also fed to a :class:`BodyRecorder`.  The recorder keeps at
most ``limit`` bytes, so memory stays bounded for a multi-GB image, and always
counts the size and a SHA-256 of what passed, for the summary line.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Callable, Iterable, Iterator

from otel_openstack.capture import attributes as attrs
from otel_openstack.capture.redact import redact_form_text, redact_json_text

_logger = logging.getLogger(__name__)

_TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "application/xml",
               "application/javascript", "application/yaml", "application/x-yaml")
_BINARY_PREFIXES = ("application/octet-stream", "image/", "audio/", "video/",
                    "application/x-", "application/zip", "application/gzip")


def is_text_type(content_type: str | None) -> bool | None:
    """True / False when the media type settles it, None when we must look."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml")):
        return True
    if media.startswith(_BINARY_PREFIXES):
        return False
    return None


class BodyRecorder:
    """Accumulates what passes, up to a limit, plus size and digest of all of it.

    ``digest=False`` (``OTEL_OPENSTACK_BODY_DIGEST=false``) skips the SHA-256:
    for a multi-GB image stream it is nearly all that capture costs.
    """

    __slots__ = ("limit", "content_type", "expected", "_buf", "_size", "_sha", "_over", "_closed")

    def __init__(self, limit: int, content_type: str | None = None, expected: int | None = None,
                 digest: bool = True):
        self.limit = limit
        self.content_type = content_type
        self.expected = expected
        self._buf = bytearray()
        self._size = 0
        self._sha = hashlib.sha256() if digest else None
        self._over = False
        self._closed = False

    @property
    def size(self) -> int:
        return self._size

    def feed(self, chunk: Any) -> None:
        if not chunk:
            return
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8", "surrogateescape")
        elif not isinstance(chunk, (bytes, bytearray, memoryview)):
            return
        self._size += len(chunk)
        if self._sha is not None:
            self._sha.update(chunk)
        if not self._over:
            if len(self._buf) + len(chunk) <= self.limit:
                self._buf += chunk
            else:
                self._over = True
                self._buf = bytearray()

    def attributes(self, prefix: str, *, redact: bool, redact_fields: Iterable[str] = (),
                   complete: bool = True) -> dict[str, Any]:
        """Span attributes for the body, under ``http.<prefix>.body.*``.

        ``prefix`` is ``request`` or ``response``.  ``complete`` is False when
        the stream stopped early (client gone, app raised, partial read).
        """
        content_key = f"http.{prefix}.body.content"
        out: dict[str, Any] = {f"http.{prefix}.body.size": self._size}
        state_key = f"openstack.http.{prefix}.body.state"
        sha_key = f"openstack.http.{prefix}.body.sha256"
        if self._size == 0 and complete:
            out[state_key] = attrs.BODY_EMPTY
            return out
        text = None if self._over else _as_text(bytes(self._buf), self.content_type)
        if not complete:
            out[state_key] = attrs.BODY_INCOMPLETE
        elif self._over:
            out[state_key] = attrs.BODY_TRUNCATED if is_text_type(self.content_type) else attrs.BODY_BINARY
        elif text is None:
            out[state_key] = attrs.BODY_BINARY
        else:
            out[state_key] = attrs.BODY_TEXT
            out[content_key] = _redacted(text, self.content_type, redact_fields) if redact else text
            return out
        if self._sha is not None:
            out[sha_key] = self._sha.hexdigest()
        return out


def _redacted(text: str, content_type: str | None, redact_fields: Iterable[str]) -> str:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return redact_form_text(text, redact_fields)
    return redact_json_text(text, redact_fields)


def _as_text(data: bytes, content_type: str | None) -> str | None:
    verdict = is_text_type(content_type)
    if verdict is False:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if verdict is None and any(ord(c) < 32 and c not in "\t\r\n" for c in text[:4096]):
        return None
    return text


class TeeReader:
    """A file-like proxy: every read also feeds the recorder.

    Everything that is not a read method is delegated, so ``fileno()``,
    ``tell()`` and ``seek()`` keep working for the HTTP client's length
    detection; the byte stream the consumer sees is unchanged.
    """

    def __init__(self, raw: Any, recorder: BodyRecorder, on_eof: Callable[[], None] | None = None):
        self._raw = raw
        self._recorder = recorder
        self._on_eof = on_eof
        self._eof = False

    def _seen(self, data: Any, requested: int | None = None) -> Any:
        try:
            if data:
                self._recorder.feed(data)
            elif requested != 0 and not self._eof:
                self._eof = True
                if self._on_eof is not None:
                    self._on_eof()
        except Exception:  # never let capture break the stream
            _logger.debug("otel-openstack: body capture failed", exc_info=True)
        return data

    def read(self, *args: Any) -> Any:
        requested = args[0] if args else None
        return self._seen(self._raw.read(*args), requested)

    def read1(self, *args: Any) -> Any:
        return self._seen(self._raw.read1(*args), args[0] if args else None)

    def readline(self, *args: Any) -> Any:
        return self._seen(self._raw.readline(*args), args[0] if args else None)

    def readlines(self, *args: Any) -> Any:
        lines = self._raw.readlines(*args)
        for line in lines:
            self._seen(line)
        return lines

    def readinto(self, buffer: Any) -> Any:
        count = self._raw.readinto(buffer)
        if count:
            self._seen(bytes(memoryview(buffer)[:count]))
        return count

    def __iter__(self) -> Iterator[Any]:
        for line in self._raw:
            yield self._seen(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def tee_iterable(iterable: Iterable[Any], recorder: BodyRecorder) -> Iterator[Any]:
    """Yield the same chunks, feeding each to the recorder (for generator bodies)."""
    for chunk in iterable:
        try:
            recorder.feed(chunk)
        except Exception:
            _logger.debug("otel-openstack: body capture failed", exc_info=True)
        yield chunk
