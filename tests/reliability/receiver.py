"""A minimal OTLP/HTTP trace receiver on 127.0.0.1 (``POST /v1/traces``, protobuf).

Keeps every request body as received (the bytes a backend would store) and
its decoding (``opentelemetry.proto``), so a test can scan both for secrets
and count what arrived.  Answers like a collector: 200 with an empty
``ExportTraceServiceResponse``.
"""

from __future__ import annotations

import gzip
import http.server
import socketserver
import threading
import zlib

from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            data = gzip.decompress(data)
        elif encoding == "deflate":
            data = zlib.decompress(data)
        if self.path.split("?")[0] != "/v1/traces":
            self._answer(404, b"")
            return
        message = ExportTraceServiceRequest()
        try:
            message.ParseFromString(data)
        except Exception:  # noqa: BLE001 - a bad payload is a 400, as a collector answers
            self._answer(400, b"")
            return
        with self.server.lock:
            self.server.raw.append(data)
            self.server.decoded.append(message)
        self._answer(200, ExportTraceServiceResponse().SerializeToString())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class OTLPReceiver:
    """``with OTLPReceiver() as receiver: ... receiver.endpoint ... receiver.spans()``."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.lock = threading.Lock()
        self.server.raw = []
        self.server.decoded = []
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def raw(self) -> list[bytes]:
        with self.server.lock:
            return list(self.server.raw)

    def texts(self) -> list[str]:
        """Each export request decoded to JSON text (attribute values readable)."""
        with self.server.lock:
            return [MessageToJson(m) for m in self.server.decoded]

    def spans(self) -> list[tuple[str, str, dict[str, object]]]:
        """(trace id hex, service.name, attributes) of every span received."""
        out = []
        with self.server.lock:
            messages = list(self.server.decoded)
        for message in messages:
            for resource_spans in message.resource_spans:
                service = next((a.value.string_value for a in resource_spans.resource.attributes
                                if a.key == "service.name"), "")
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = {a.key: _value(a.value) for a in span.attributes}
                        out.append((span.trace_id.hex(), service, attributes))
        return out

    def __enter__(self) -> "OTLPReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _value(value: object) -> object:
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]  # type: ignore[attr-defined]
    return getattr(value, kind) if kind else None
