"""WSGI apps for the reliability tests, served by gunicorn in a subprocess.

    gunicorn ... tests.reliability.apps:bare      # the app alone
    gunicorn ... tests.reliability.apps:wrapped   # the same app inside our middleware

``wrapped`` is built on first access (module ``__getattr__``), so a bare
server never imports OpenTelemetry.  The middleware sets the SDK up by itself
(nothing else configured it), with the environment the test gives gunicorn:
``OTEL_TRACES_EXPORTER=otel_openstack`` and a spool folder of the test's own.

One app, one behaviour per path (see ``ROUTES``).  Every response iterable
counts its ``close()`` calls under the request's ``id`` query parameter;
``GET /_closes?id=X`` answers the count, so a test can check "exactly once"
across the process boundary (one worker).

``RELIABILITY_FAULTS`` (comma-separated) injects faults into our code in this
process, before the middleware is built (see ``FAULTS``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
import time
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qs

BLOCK = bytes(range(256)) * 256  # 64 KiB
SERVICE_NAME = "reliability-app"
FILE_SIZE = 1 << 20

_closes: dict[str, int] = {}
_closes_lock = threading.Lock()


def _count_close(request_id: str | None) -> None:
    if request_id:
        with _closes_lock:
            _closes[request_id] = _closes.get(request_id, 0) + 1


class Closing:
    """An iterable whose ``close()`` is counted (the PEP 3333 "exactly once" duty)."""

    def __init__(self, chunks: Iterable[bytes], request_id: str | None):
        self._chunks = chunks
        self._id = request_id

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        _count_close(self._id)
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class CountingFile:
    """A real file (``fileno()`` works, so gunicorn may ``sendfile``) with a counted ``close()``."""

    def __init__(self, path: str, request_id: str | None):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by the server through close()
        self._id = request_id

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        _count_close(self._id)
        self._file.close()


def _query(environ: dict[str, Any]) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _read_all(environ: dict[str, Any], block: int = 1 << 16) -> Iterator[bytes]:
    """The request body as the app pulls it: Content-Length bytes, else to EOF (chunked)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    left = int(length) if length and length.isdigit() else None
    while left is None or left > 0:
        data = stream.read(block if left is None else min(block, left))
        if not data:
            return
        if left is not None:
            left -= len(data)
        yield data


def _file_path() -> str:
    path = os.path.join(os.environ.get("RELIABILITY_WORKDIR", "/tmp"), f"reliability-file-{os.getpid()}.bin")
    if not os.path.exists(path):
        with open(path + ".part", "wb") as handle:
            handle.write((BLOCK * (FILE_SIZE // len(BLOCK) + 1))[:FILE_SIZE])
        os.replace(path + ".part", path)
    return path


# --- routes: (environ, start_response, request id) -> iterable -------------------

def r_list(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    body = [b"alpha\n", b"beta\n", b"gamma\n"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(sum(map(len, body)))),
                              ("X-Openstack-Request-Id", "req-list")])
    return body


def r_single(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    """A one-item list and no Content-Length: some servers add it from ``len()``."""
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"versions": {"values": []}}']


def r_json(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    """Echo a JSON request with a secret field: redaction must not touch the real response."""
    received = b"".join(_read_all(environ))
    try:
        document = json.loads(received or b"{}")
    except ValueError:
        document = {"not_json": len(received)}
    body = json.dumps({"echo": document, "password": "s3cret", "token": {"id": "gAAAAAraw"}}).encode()
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                   ("X-Subject-Token", "gAAAAAraw-token"), ("Set-Cookie", "session=abc")])
    return Closing([body], rid)


def r_generator_raises(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    def chunks() -> Iterator[bytes]:
        yield b"first chunk\n"
        yield b"second chunk\n"
        raise RuntimeError("the app failed half-way")

    start_response("200 OK", [("Content-Type", "text/plain")])
    return Closing(chunks(), rid)


def r_file(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(FILE_SIZE))])
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is None:  # eventlet.wsgi has none: iterate the file ourselves
        from wsgiref.util import FileWrapper as wrapper
    return wrapper(CountingFile(_file_path(), rid), 1 << 16)


def r_close(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return Closing(iter([b"closed once", b"\n"]), rid)


def r_head(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    body = b"x" * 1000
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return Closing([] if environ["REQUEST_METHOD"] == "HEAD" else [body], rid)


def r_no_content(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    start_response("204 No Content", [("X-Openstack-Request-Id", "req-204")])
    return Closing([], rid)


def r_not_modified(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    start_response("304 Not Modified", [("ETag", '"abc"'), ("Cache-Control", "max-age=60")])
    return Closing([b""], rid)


def r_upload(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    """Read the whole input (Content-Length or chunked), answer its size and SHA-256."""
    sha = hashlib.sha256()
    size = 0
    for data in _read_all(environ):
        sha.update(data)
        size += len(data)
    body = json.dumps({"size": size, "sha256": sha.hexdigest()}).encode()
    start_response("201 Created", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Closing([body], rid)


def r_partial(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    """Reads 16 bytes of a larger input and answers (a service rejecting a request early)."""
    head = environ["wsgi.input"].read(16)
    body = json.dumps({"head": head.decode("latin-1")}).encode()
    start_response("413 Request Entity Too Large", [("Content-Type", "application/json"),
                                                    ("Content-Length", str(len(body)))])
    return Closing([body], rid)


def r_download(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    """``size`` bytes streamed by a generator in 64 KiB blocks (``chunked=1``: no Content-Length)."""
    query = _query(environ)
    size = int(query.get("size", str(1 << 20)))
    delay = float(query.get("delay", "0"))

    def chunks() -> Iterator[bytes]:
        left = size
        while left > 0:
            if delay:
                time.sleep(delay)
            piece = BLOCK if left >= len(BLOCK) else BLOCK[:left]
            left -= len(piece)
            yield piece

    headers = [("Content-Type", "application/octet-stream")]
    if query.get("chunked") != "1":
        headers.append(("Content-Length", str(size)))
    start_response("200 OK", headers)
    return Closing(chunks(), rid)


def r_write(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    """The legacy ``write()`` callable, then an iterable."""
    write = start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "16")])
    write(b"written early\n")
    return Closing([b"ok"], rid)


def r_noop(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    """The load-test endpoint: read the (small) body, answer a small JSON body."""
    received = b"".join(_read_all(environ))
    body = b'{"ok": true, "received": %d}' % len(received)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def r_closes(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    with _closes_lock:
        count = _closes.get(_query(environ).get("id", ""), 0)
    body = str(count).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def r_pid(environ: dict, start_response: Callable, rid: str | None) -> Iterable[bytes]:
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


ROUTES: dict[str, Callable[[dict, Callable, str | None], Iterable[bytes]]] = {
    "/list": r_list,
    "/single": r_single,
    "/json": r_json,
    "/generator-raises": r_generator_raises,
    "/file": r_file,
    "/close": r_close,
    "/head": r_head,
    "/204": r_no_content,
    "/304": r_not_modified,
    "/upload": r_upload,
    "/partial": r_partial,
    "/download": r_download,
    "/write": r_write,
    "/noop": r_noop,
    "/_closes": r_closes,
    "/_pid": r_pid,
}


def bare(environ: dict, start_response: Callable) -> Iterable[bytes]:
    route = ROUTES.get(environ.get("PATH_INFO", ""))
    if route is None:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"not found"]
    return route(environ, start_response, _query(environ).get("id"))


# --- faults injected into our code (RELIABILITY_FAULTS) ---------------------------

def _spool_dir() -> str:
    """The folder file-system faults apply to: ``RELIABILITY_FAULT_DIR``, else the spool."""
    return os.environ.get("RELIABILITY_FAULT_DIR") or os.environ.get("OTEL_OPENSTACK_SPOOL_DIR", "/nonexistent")


def _under(path: Any, folder: str) -> bool:
    try:
        return os.path.abspath(os.fsdecode(path)).startswith(os.path.abspath(folder) + os.sep)
    except (TypeError, ValueError):
        return False


def fault_spool_raises() -> None:
    """The spool writer raises (a bug of ours)."""
    from otel_openstack.exporters import spool

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("injected spool failure")

    spool.write_spans = broken


def fault_encode_raises() -> None:
    """Encoding spans for the spool raises inside the exporter."""
    from otel_openstack.exporters import spool

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise ValueError("injected encoder failure")

    spool.encode_batch = broken


def fault_capture_raises() -> None:
    """Header capture and body capture raise on every request."""
    from otel_openstack.capture import body
    from otel_openstack.instrumentation import wsgi

    def broken_headers(*args: Any, **kwargs: Any) -> dict:
        raise KeyError("injected header capture failure")

    def broken_feed(self: Any, chunk: Any) -> None:
        raise MemoryError("injected body capture failure")

    wsgi.header_attributes = broken_headers
    body.BodyRecorder.feed = broken_feed


def fault_enospc() -> None:
    """Files opened under the spool are ``/dev/full``: every write fails with a real ENOSPC."""
    real_open = os.open
    folder = _spool_dir()

    def full_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        if _under(path, folder) and flags & os.O_CREAT:
            return real_open("/dev/full", os.O_WRONLY)
        return real_open(path, flags, mode, *args, **kwargs)

    os.open = full_open


def fault_readonly() -> None:
    """The spool is on a read-only file system (EROFS), when the test could not mount one."""
    folder = _spool_dir()
    real_open, real_mkdir, real_chmod = os.open, os.mkdir, os.chmod

    def refuse(path: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    def ro_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        if _under(path, folder) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_open(path, flags, mode, *args, **kwargs)

    def ro_mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if _under(path, folder) or os.path.abspath(os.fsdecode(path)) == os.path.abspath(folder):
            refuse(path)
        real_mkdir(path, *args, **kwargs)

    def ro_chmod(path: Any, *args: Any, **kwargs: Any) -> None:
        if _under(path, folder) or os.path.abspath(os.fsdecode(path)) == os.path.abspath(folder):
            refuse(path)
        real_chmod(path, *args, **kwargs)

    os.open, os.mkdir, os.chmod = ro_open, ro_mkdir, ro_chmod


def fault_render_raises() -> None:
    """The render pipeline raises (a renderer bug meeting odd data)."""
    from otel_openstack import pipeline

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("injected render failure")

    pipeline.render_documents = broken


FAULTS: dict[str, Callable[[], None]] = {
    "render_raises": fault_render_raises,
    "spool_raises": fault_spool_raises,
    "encode_raises": fault_encode_raises,
    "capture_raises": fault_capture_raises,
    "enospc": fault_enospc,
    "readonly": fault_readonly,
}


def install_faults(names: str | None) -> list[str]:
    installed = []
    for name in filter(None, (n.strip() for n in (names or "").split(","))):
        FAULTS[name]()
        installed.append(name)
    return installed


def make_wrapped() -> Any:
    install_faults(os.environ.get("RELIABILITY_FAULTS"))
    from otel_openstack.instrumentation.wsgi import wrap

    return wrap(bare, service_name=SERVICE_NAME)


_wrapped: list[Any] = []


def __getattr__(name: str) -> Any:
    if name == "wrapped":
        if not _wrapped:
            _wrapped.append(make_wrapped())
        return _wrapped[0]
    raise AttributeError(name)


# --- other WSGI servers: python -m tests.reliability.apps {wsgiref,eventlet} APP PORT -----

def serve_wsgiref(app: Any, port: int) -> None:
    """The standard library's server (HTTP/1.0 framing, adds Content-Length from ``len()``)."""
    import socketserver
    import wsgiref.simple_server

    class Handler(wsgiref.simple_server.WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    class Server(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
        daemon_threads = True

    httpd = wsgiref.simple_server.make_server("127.0.0.1", port, app, server_class=Server, handler_class=Handler)
    httpd.serve_forever(poll_interval=0.05)


def serve_eventlet(app: Any, port: int) -> None:
    """eventlet.wsgi, monkey-patched as swift's servers do (the WSGI server of swift-proxy-server)."""
    import eventlet
    import eventlet.wsgi

    eventlet.wsgi.server(eventlet.listen(("127.0.0.1", port)), app, log_output=False, debug=False)


def main(argv: list[str]) -> None:
    server, name, port = argv
    if server == "eventlet":
        import warnings

        warnings.simplefilter("ignore")  # eventlet's deprecation notice on every start
        import eventlet

        eventlet.patcher.monkey_patch(all=False, socket=True, select=True, thread=True)
    app = bare if name == "bare" else __getattr__(name)
    {"wsgiref": serve_wsgiref, "eventlet": serve_eventlet}[server](app, int(port))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
