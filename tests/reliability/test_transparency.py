"""Never break the cloud: a wrapped app answers byte for byte like the bare app.

The same raw requests go to ``tests.reliability.apps:bare`` and to the same
app inside our middleware (capture on, redaction on), each served by three
real WSGI servers in subprocesses: gunicorn (gthread, what the local cloud
uses), wsgiref (the standard library) and eventlet.wsgi (swift's server).
Status line, every header but ``Date`` and the one we add (``traceresponse``,
documented) and every byte after the headers (chunk framing included) must
be identical, and the app's ``close()`` must be called exactly once.
"""

from __future__ import annotations

import socket
import struct
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.reliability.cases import CASES, Case
from tests.reliability.servers import (
    HOST,
    Server,
    comparable,
    exchange,
    request,
    start_server,
    tracing_env,
    traceresponse_count,
)

KINDS = ("gunicorn", "wsgiref", "eventlet")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Server]]:
    work = tmp_path_factory.mktemp("transparency")
    started: dict[tuple[str, str], Server] = {}
    try:
        for kind in KINDS:
            for app in ("bare", "wrapped"):
                env = {"RELIABILITY_WORKDIR": str(work)}
                if app == "wrapped":
                    env.update(tracing_env(work / f"spool-{kind}"))
                started[(kind, app)] = start_server(kind, app, work / f"{kind}-{app}.log", env)
        yield started
    finally:
        for server in started.values():
            server.stop()


def close_count(server: Server, request_id: str, *, timeout: float = 10.0) -> int:
    """The app's close() count for a request, once the server had time to call it."""
    deadline = time.monotonic() + timeout
    while True:
        count = int(request(server.port, "GET", f"/_closes?id={request_id}")[2])
        if count or time.monotonic() > deadline:
            time.sleep(0.05)  # a second call would show up now
            return int(request(server.port, "GET", f"/_closes?id={request_id}")[2])
        time.sleep(0.02)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_wrapped_app_answers_like_the_bare_app(servers, kind: str, case: Case, figures) -> None:
    if kind in case.skip:
        pytest.skip(f"{kind} does not support it")
    bare, wrapped = servers[(kind, "bare")], servers[(kind, "wrapped")]
    ids = {"bare": uuid.uuid4().hex, "wrapped": uuid.uuid4().hex}
    raw_bare = exchange(bare.port, case.raw(ids["bare"]))
    raw_wrapped = exchange(wrapped.port, case.raw(ids["wrapped"]))
    figures.add("transparency_exchanges", 2)
    figures.add("transparency_differences", int(comparable(raw_wrapped) != comparable(raw_bare)))

    assert comparable(raw_wrapped) == comparable(raw_bare)
    assert traceresponse_count(raw_wrapped) <= 1
    assert traceresponse_count(raw_bare) == 0
    if case.counts_close:
        figures.add("closes_checked", 2)
        assert (close_count(bare, ids["bare"]), close_count(wrapped, ids["wrapped"])) == (1, 1)
        figures.add("closes_once", 2)
    figures.add("transparency_cases")


def _disconnect_mid_response(port: int, request_id: str) -> int:
    """Ask for 64 MiB, read 256 KiB, reset the connection; bytes read."""
    raw = (f"GET /download?size={64 << 20}&id={request_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Connection: close\r\n\r\n").encode()
    got = 0
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(raw)
        while got < 256 << 10:
            data = sock.recv(1 << 16)
            if not data:
                break
            got += len(data)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
    return got


@pytest.mark.parametrize("kind", KINDS)
def test_client_gone_mid_response(servers, kind: str, figures) -> None:
    bare, wrapped = servers[(kind, "bare")], servers[(kind, "wrapped")]
    ids = {"bare": uuid.uuid4().hex, "wrapped": uuid.uuid4().hex}
    for app, server in (("bare", bare), ("wrapped", wrapped)):
        assert _disconnect_mid_response(server.port, ids[app]) >= 256 << 10
    figures.add("transparency_exchanges", 2)
    figures.add("closes_checked", 2)
    assert (close_count(bare, ids["bare"]), close_count(wrapped, ids["wrapped"])) == (1, 1)
    figures.add("closes_once", 2)
    # and both still serve
    assert request(wrapped.port, "GET", "/list")[2] == request(bare.port, "GET", "/list")[2] == b"alpha\nbeta\ngamma\n"
    figures.add("transparency_cases")


def test_no_traceback_of_ours_in_the_server_logs(servers) -> None:
    """The wrapped servers' logs hold the app's own errors only, never one of ours."""
    for (kind, app), server in servers.items():
        if app != "wrapped":
            continue
        text = server.log_text()
        assert "otel-openstack" not in text, (kind, text[-2000:])
        assert "Failed to detach context" not in text, (kind, text[-2000:])
