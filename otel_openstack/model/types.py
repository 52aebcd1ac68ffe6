"""The rendering model: a trace as a tree of HTTP exchanges.

Renderers only ever see these types; they are independent of OpenTelemetry so
that a renderer can be tested with a hand-made ``Trace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Body:
    """A captured body: ``text`` when kept, otherwise a one-line ``summary``.

    ``captured`` is False when no capture point saw the body at all (a span
    from an upstream instrumentation without body capture).
    """

    text: str | None = None
    size: int | None = None
    content_type: str | None = None
    sha256: str | None = None
    state: str = "empty"  # see capture.attributes BODY_* constants
    captured: bool = True

    @property
    def is_empty(self) -> bool:
        return self.captured and self.state == "empty"


NOT_CAPTURED = Body(captured=False, state="not_captured")


@dataclass(frozen=True)
class Exchange:
    """One HTTP request from ``caller`` to ``callee`` and its response.

    ``children`` are the exchanges the callee made while serving this one, in
    causal order.  ``status_code`` is None when no response arrived (connection
    error); ``error`` then says why.
    """

    caller: str
    callee: str
    method: str
    url: str
    path: str
    status_code: int | None
    status_text: str
    request_headers: Headers = ()
    request_body: Body = NOT_CAPTURED
    response_headers: Headers = ()
    response_body: Body = NOT_CAPTURED
    start_ns: int = 0
    end_ns: int = 0
    error: str | None = None
    span_id: str = ""
    children: tuple["Exchange", ...] = ()

    def walk(self) -> Iterator["Exchange"]:
        """This exchange, then every nested exchange, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Trace:
    """Everything a renderer needs for one trace (usually one CLI command)."""

    trace_id: str
    exchanges: tuple[Exchange, ...]
    command: str | None = None  # "openstack image create"
    argv: tuple[str, ...] = ()
    exit_code: int | None = None
    output: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def walk(self) -> Iterator[Exchange]:
        for exchange in self.exchanges:
            yield from exchange.walk()


@dataclass(frozen=True)
class Message:
    """One arrow of the sequence: a request (``is_request``) or its response.

    ``number`` is the 1-based position under Mermaid ``autonumber``; ``depth``
    is the nesting level of the exchange (0 for the CLI's own calls).
    """

    number: int
    exchange: Exchange
    is_request: bool
    depth: int


def messages(trace: Trace) -> list[Message]:
    """Flatten a trace into numbered messages: REQ, nested exchanges, RESP.

    Every output numbers and orders its records from this one function, so the
    log, the diagram and the doc fragment always agree.
    """
    out: list[Message] = []

    def visit(exchange: Exchange, depth: int) -> None:
        out.append(Message(len(out) + 1, exchange, True, depth))
        for child in exchange.children:
            visit(child, depth + 1)
        out.append(Message(len(out) + 1, exchange, False, depth))

    for exchange in trace.exchanges:
        visit(exchange, 0)
    return out
