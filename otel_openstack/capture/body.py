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
import os
import queue
import threading
from typing import Any, Callable, Iterable, Iterator

from otel_openstack.capture import attributes as attrs
from otel_openstack.capture.redact import redact_form_text, redact_json_text

_logger = logging.getLogger(__name__)

_TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "application/xml",
               "application/javascript", "application/yaml", "application/x-yaml")
#: Chunks past the limit smaller than this are hashed inline (queueing costs more).
_HASH_INLINE_BELOW = 4096
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


class _Hasher:
    """One thread per process that hashes big bodies beside the threads moving them.

    Past the limit a body is only counted and hashed; SHA-256 costs about as
    much CPU as a WSGI server spends moving the bytes, so done inline it
    would cut a big transfer's throughput.  Chunks are queued (bounded: a
    stream outrunning the hash waits for it) and hashed in order by this
    thread, which ``hashlib`` lets run without the GIL, on another core.
    """

    QUEUED = 16

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Any, Any]] = queue.Queue(self.QUEUED)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:  # the thread does not survive a fork; queued work belonged to the parent
        self._queue = queue.Queue(self.QUEUED)
        self._thread = None
        self._lock = threading.Lock()

    def put(self, sha: Any, chunk: Any) -> None:
        """Hash ``chunk`` into ``sha`` later; ``chunk`` None: set the event ``sha`` is paired with."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    thread = threading.Thread(target=self._run, args=(self._queue,), daemon=True,
                                              name="otel-openstack-hash")
                    thread.start()
                    self._thread = thread
        self._queue.put((sha, chunk))

    @staticmethod
    def _run(work: queue.Queue) -> None:
        while True:
            sha, chunk = work.get()
            try:
                if type(sha) is threading.Event:
                    sha.set()
                else:
                    sha.update(chunk)
            except Exception:  # noqa: BLE001 - never let the thread die
                _logger.debug("otel-openstack: body hashing failed", exc_info=True)

    def wait(self) -> None:
        """Return once everything queued so far is hashed."""
        done = threading.Event()
        self.put(done, None)
        done.wait()


_hasher = _Hasher()


class BodyRecorder:
    """Accumulates what passes, up to a limit, plus size and digest of all of it."""

    __slots__ = ("limit", "content_type", "expected", "_buf", "_size", "_sha", "_over", "_closed", "_queued")

    def __init__(self, limit: int, content_type: str | None = None, expected: int | None = None):
        self.limit = limit
        self.content_type = content_type
        self.expected = expected
        self._buf = bytearray()
        self._size = 0
        self._sha = hashlib.sha256()
        self._over = False
        self._closed = False
        self._queued = False  # chunks of ours wait in the hasher's queue

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
        if self._over:
            if len(chunk) < _HASH_INLINE_BELOW:
                if self._queued:
                    _hasher.wait()
                    self._queued = False
                self._sha.update(chunk)
            else:  # bytes are immutable; a buffer the app may reuse is copied
                _hasher.put(self._sha, chunk if type(chunk) is bytes else bytes(chunk))
                self._queued = True
            return
        self._sha.update(chunk)
        if len(self._buf) + len(chunk) <= self.limit:
            self._buf += chunk
        else:
            self._over = True
            self._buf = bytearray()

    def _digest(self) -> str:
        if self._queued:
            _hasher.wait()
            self._queued = False
        return self._sha.hexdigest()

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
        out[sha_key] = self._digest()
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
