"""Pick free TCP ports on 127.0.0.1.

Why: a demo and a test run must be able to run side by side, so nothing
uses fixed ports. The kernel hands out a free port when binding port 0; the
socket is closed again right away, and the service binds it a moment later.
That leaves a tiny race with other programs, which the caller reports (the
service log shows gunicorn's "Address already in use").
"""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, host: str = HOST) -> list[int]:
    """Return ``count`` distinct free ports (all sockets held until the end)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((host, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for sock in socks:
            sock.close()
