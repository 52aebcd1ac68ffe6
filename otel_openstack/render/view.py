"""The transform step: what will be rendered, numbered once.

:func:`prepare` turns a captured :class:`Trace` into a :class:`View`:

1. filters hide exchanges (and everything nested in them);
2. repeated identical exchanges are collapsed into one (``collapse_loops``),
   the count kept for the diagram's ``loop N times``;
3. placeholders replace IDs in paths (names in order of first appearance).

``View.trace`` is an ordinary :class:`Trace`, and ``View.messages`` is
``messages(View.trace)``: the one numbering.  The log, the diagram (whole or
in parts) and the doc fragment are all rendered from ``View.messages``, so a
section ``(N)`` of ``body.md`` is always the N-th arrow of the diagram under
Mermaid ``autonumber``, whatever was filtered, collapsed or split.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Hashable, Mapping

from otel_openstack.model.types import Exchange, Message, Trace, messages
from otel_openstack.render.filters import apply_filters
from otel_openstack.render.mermaid import assign_aliases, participant_names
from otel_openstack.render.options import DEFAULT_OPTIONS, RenderOptions
from otel_openstack.render.placeholders import Placeholder, apply_placeholders


@dataclass(frozen=True)
class View:
    """A trace ready to render.

    ``repeats`` maps the number of a request message to how many identical
    exchanges it stands for (only counts above 1); ``hidden`` is the number
    of exchanges filters hid, nested ones included.
    """

    trace: Trace
    messages: tuple[Message, ...]
    placeholders: tuple[Placeholder, ...] = ()
    hidden: int = 0
    repeats: Mapping[int, int] = field(default_factory=dict)

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Every participant's Mermaid alias, computed once per view.

        The whole diagram and each of its parts use the whole view's aliases;
        recomputing them per part was a scan of every message per part
        (quadratic in the trace's size).
        """
        return assign_aliases(participant_names(list(self.messages)))


@dataclass
class Node:
    """An exchange as its two numbered messages and its nested nodes."""

    request: Message
    response: Message
    children: list["Node"]

    @property
    def exchange(self) -> Exchange:
        return self.request.exchange

    @property
    def size(self) -> int:
        """Messages this node renders (its own two and every nested one)."""
        return 2 + sum(child.size for child in self.children)


def prepare(trace: Trace, options: RenderOptions = DEFAULT_OPTIONS) -> View:
    """Filter, collapse and name ``trace`` as ``options`` ask; number it once."""
    shown, hidden = apply_filters(trace, options.filters)
    counts: list[int] = []
    if options.collapse_loops:
        shown, counts = collapse_repeats(shown)
    legend: tuple[Placeholder, ...] = ()
    if options.placeholders:
        shown, legend = apply_placeholders(shown, options.placeholder_rules, options.placeholders_in_log)
    numbered = tuple(messages(shown))
    requests = [message.number for message in numbered if message.is_request]
    repeats = {number: count for number, count in zip(requests, counts) if count > 1}
    return View(shown, numbered, legend, hidden, repeats)


def repeat_key(exchange: Exchange) -> Hashable:
    """What makes two exchanges "identical" for loop collapsing.

    Who called whom, method, path, status (code, text, error), and the same
    for everything nested; headers, bodies and times may differ.
    """
    return (exchange.caller, exchange.callee, exchange.method, exchange.path, exchange.status_code,
            exchange.status_text, exchange.error, tuple(repeat_key(child) for child in exchange.children))


def collapse_repeats(trace: Trace) -> tuple[Trace, list[int]]:
    """Runs of identical consecutive sibling exchanges kept once (the first).

    Returns the new trace and, for each of its exchanges in depth-first order
    (the order of request messages), how many exchanges it stands for.
    """
    counts: list[int] = []

    def collapse(siblings: tuple[Exchange, ...]) -> tuple[Exchange, ...]:
        runs: list[tuple[Exchange, int]] = []
        for exchange in siblings:
            if runs and repeat_key(runs[-1][0]) == repeat_key(exchange):
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((exchange, 1))
        kept = []
        for exchange, count in runs:
            counts.append(count)
            children = collapse(exchange.children)
            unchanged = len(children) == len(exchange.children) and all(
                new is old for new, old in zip(children, exchange.children))
            kept.append(exchange if unchanged else replace(exchange, children=children))
        return tuple(kept)

    exchanges = collapse(trace.exchanges)
    return replace(trace, exchanges=exchanges), counts


def message_tree(msgs: tuple[Message, ...] | list[Message]) -> list[Node]:
    """The top-level nodes of a ``messages()`` list (REQ, nested ..., RESP)."""
    roots: list[Node] = []
    stack: list[Node] = []
    for message in msgs:
        if message.is_request:
            node = Node(message, message, [])
            (stack[-1].children if stack else roots).append(node)
            stack.append(node)
        else:
            stack.pop().response = message
    return roots
