"""A recording forward HTTP proxy on 127.0.0.1: the raw tokens that crossed the wire.

Point ``HTTP_PROXY`` of the CLI and of the services at it: requests (and so
keystoneauth and keystonemiddleware) then send every ``http://`` request to it
as ``GET http://host:port/path HTTP/1.1``.  It forwards each one unchanged
(hop-by-hop headers aside, chunked bodies de-chunked), returns the answer,
and records every value of a credential header in either direction, plus
anything shaped like a Fernet token in a body.  That is the ground truth the
secrets test scans the outputs, the spool and the OTLP receiver for.
"""

from __future__ import annotations

import http.client
import http.server
import re
import socketserver
import threading
from urllib.parse import urlsplit

TOKEN_HEADERS = frozenset({"x-auth-token", "x-subject-token", "x-service-token", "authorization",
                           "x-storage-token", "cookie", "set-cookie"})
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te",
                        "trailer", "transfer-encoding", "upgrade"})
FERNET = re.compile(rb"gAAAAA[A-Za-z0-9_\-]{40,}={0,2}")


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.exchanges: list[tuple[str, str, int]] = []  # method, url, status

    def header(self, name: str, value: str) -> None:
        if name.lower() in TOKEN_HEADERS and value:
            with self.lock:
                self.tokens.add(value)
                if name.lower() == "authorization" and " " in value:
                    self.tokens.add(value.split(" ", 1)[1])

    def body(self, data: bytes) -> None:
        for match in FERNET.findall(data):
            with self.lock:
                self.tokens.add(match.decode())


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self) -> None:
        recorder = self.server.recorder
        target = urlsplit(self.path)
        body = self._body()
        headers = []
        for name, value in self.headers.items():
            recorder.header(name, value)
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                headers.append((name, value))
        recorder.body(body)
        connection = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=120)
        try:
            connection.putrequest(self.command, (target.path or "/") + (f"?{target.query}" if target.query else ""),
                                  skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            if body or self.command in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            data = response.read()
        except OSError as exc:
            self.send_error(502, f"proxy: {exc}")
            return
        finally:
            connection.close()
        with recorder.lock:
            recorder.exchanges.append((self.command, self.path, response.status))
        recorder.body(data)
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            recorder.header(name, value)
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        if self.command != "HEAD" and response.status not in (204, 304) and not 100 <= response.status < 200:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    recorder: Recorder


class RecordingProxy:
    """``with RecordingProxy() as proxy: ... proxy.url ... proxy.recorder.tokens``."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.recorder = Recorder()
        self.recorder = self.server.recorder
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self) -> "RecordingProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
