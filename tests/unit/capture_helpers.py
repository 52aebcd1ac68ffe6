"""Helpers for the capture / instrumentation tests: a wsgiref server in a thread, waiting for spans."""

from __future__ import annotations

import threading
import time
import wsgiref.simple_server
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def wait_for(exporter: InMemorySpanExporter, predicate: Callable[[list[ReadableSpan]], bool],
             timeout: float = 10.0) -> list[ReadableSpan]:
    """Finished spans once ``predicate`` holds for them.

    A server span ends when the server closes the response iterable, which a
    wsgiref server does after the client already has the last byte: tests that
    go over the wire wait for it (a bound against hanging, not a timing test).
    """
    deadline = time.monotonic() + timeout
    while True:
        finished = list(exporter.get_finished_spans())
        if predicate(finished):
            return finished
        if time.monotonic() > deadline:
            raise AssertionError(f"spans never satisfied the condition: {[s.name for s in finished]}")
        time.sleep(0.01)


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class Server:
    """A wsgiref server on 127.0.0.1 (port 0) serving ``app`` from a thread."""

    def __init__(self, app: Callable[..., Any]):
        self.httpd = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def read_chunked(stream: Any) -> bytes:
    """Decode a chunked request body from a raw ``wsgi.input`` (wsgiref does not)."""
    out = bytearray()
    while True:
        size = int(stream.readline().split(b";")[0].strip(), 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        out += stream.read(size)
        stream.readline()


def request_body(environ: dict) -> bytes:
    """The whole request body, chunked or not (for test apps)."""
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return read_chunked(environ["wsgi.input"])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""
