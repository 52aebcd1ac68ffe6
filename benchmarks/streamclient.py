"""``python -m benchmarks.streamclient upload|download URL SIZE``: one big transfer, timed.

Raw sockets, 1 MiB buffers, keep-alive-free: the client must be much faster
than the server so that the server is what is measured.  Prints one JSON
object: bytes moved, seconds from the first byte sent to the last received,
and the response status.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
from urllib.parse import urlsplit

BUFFER = 1 << 20


def _connect(url: str) -> tuple[socket.socket, str, str]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return sock, parts.netloc, target


def _read_head(sock: socket.socket) -> tuple[int, int | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    return status, int(match.group(1)) if match else None, rest


def _drain(sock: socket.socket, length: int | None, already: int) -> int:
    received = already
    buffer = bytearray(BUFFER)
    view = memoryview(buffer)
    while length is None or received < length:
        count = sock.recv_into(view)
        if not count:
            break
        received += count
    return received


def upload(url: str, size: int) -> dict:
    sock, host, target = _connect(url)
    block = os.urandom(BUFFER)
    head = (f"PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
    started = time.perf_counter()
    sock.sendall(head)
    remaining = size
    while remaining > 0:
        sent = block if remaining >= BUFFER else block[:remaining]
        sock.sendall(sent)
        remaining -= len(sent)
    status, length, rest = _read_head(sock)
    _drain(sock, length, len(rest))
    seconds = time.perf_counter() - started
    sock.close()
    return {"bytes": size, "seconds": seconds, "status": status}


def download(url: str, size: int) -> dict:
    sock, host, target = _connect(f"{url}?size={size}")
    started = time.perf_counter()
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    status, length, rest = _read_head(sock)
    received = _drain(sock, length, len(rest))
    seconds = time.perf_counter() - started
    sock.close()
    return {"bytes": received, "seconds": seconds, "status": status}


def main(argv: list[str]) -> int:
    direction, url, size = argv[0], argv[1], int(argv[2])
    result = upload(url, size) if direction == "upload" else download(url, size)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
