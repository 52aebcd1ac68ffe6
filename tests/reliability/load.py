"""A bounded load generator: C concurrent keep-alive clients on 127.0.0.1, N requests in all.

asyncio streams, one event loop, so hundreds of connections cost one thread.
Every request carries a ``traceparent`` of its own (trace id = a counter), so
the spool can be checked span by span: each trace must hold exactly one
server span.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.trace import SpanKind

from otel_openstack.exporters import spool as spool_files

HOST = "127.0.0.1"


def trace_id(number: int, prefix: int = 0xA11) -> str:
    """A valid, recognisable trace id for request ``number``."""
    return f"{prefix:08x}{number:024x}"


@dataclass
class LoadResult:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    trace_ids: list[str] = field(default_factory=list)


async def _client(port: int, numbers: list[int], result: LoadResult, prefix: int) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        for number in numbers:
            tid = trace_id(number, prefix)
            body = b'{"n": %d}' % number if number % 2 else b""
            method = "POST" if body else "GET"
            head = (f"{method} /noop HTTP/1.1\r\nHost: {HOST}\r\n"
                    f"traceparent: 00-{tid}-{number + 1:016x}-01\r\n"
                    f"X-Auth-Token: gAAAAAload{number}\r\n")
            if body:
                head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            writer.write(head.encode() + b"\r\n" + body)
            result.sent += 1
            result.trace_ids.append(tid)
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            parts = status_line.split()
            result.statuses[int(parts[1]) if len(parts) > 1 else 0] += 1
    except (OSError, asyncio.IncompleteReadError) as exc:
        result.errors.append(repr(exc))
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def _run(port: int, first: int, count: int, clients: int, prefix: int) -> LoadResult:
    result = LoadResult()
    numbers = list(range(first, first + count))
    shares = [numbers[i::clients] for i in range(clients)]
    await asyncio.gather(*(_client(port, share, result, prefix) for share in shares if share))
    return result


def run_load(port: int, first: int, count: int, clients: int, prefix: int = 0xA11) -> LoadResult:
    """Requests ``first .. first+count-1``, spread over ``clients`` connections."""
    return asyncio.run(_run(port, first, count, clients, prefix))


def ids(first: int, count: int, prefix: int = 0xA11) -> set[str]:
    return {trace_id(n, prefix) for n in itertools.islice(itertools.count(first), count)}


def spooled_trace_ids(spool: Path) -> set[str]:
    """Trace ids of every span in the spool (readable files only)."""
    return {f"{span.context.trace_id:032x}" for _, spans in spool_files.spans_in(spool) for span in spans or ()}


def wait_spooled(spool: Path, expected: set[str], timeout: float = 60.0) -> set[str]:
    """Traces still missing from the spool once all arrived (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        missing = expected - spooled_trace_ids(spool)
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.2)


def spool_census(spool: Path, prefix: str) -> tuple[Counter, int, int, set[str]]:
    """Server spans per trace id (ours only), files, unparseable files, writer pids."""
    spans: Counter = Counter()
    files = unparseable = 0
    pids: set[str] = set()
    for path, batch in spool_files.spans_in(spool):
        files += 1
        pids.add(path.name.split("-")[1])
        if batch is None:
            unparseable += 1
            continue
        for span in batch:
            trace_id = f"{span.context.trace_id:032x}"
            if trace_id.startswith(prefix) and span.kind == SpanKind.SERVER:
                spans[trace_id] += 1
    return spans, files, unparseable, pids
