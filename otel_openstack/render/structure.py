"""The sequence diagram with structure: activation bars, boxes, loops, failure notes.

Renders a :class:`~otel_openstack.render.view.View` (or some of its top-level
exchanges, for a part of a split diagram) as the lines of a Mermaid
``sequenceDiagram``.  The arrows are exactly the colleague's
:func:`~otel_openstack.render.mermaid.message_line` lines, one per message of
``View.messages`` and in that order, so ``autonumber`` numbers them as
``body.md`` does; everything added here is a statement Mermaid does not
number:

* activation bars (``activations``): ``A->>+B: ...`` activates B while it
  serves the request, ``B-->>-A: ...`` ends it.  Every request has its
  response line (an ``ERROR`` one when none arrived), so bars always balance;
* boxes (``boxes``): the calls a service makes while serving a call, grouped
  in runs of consecutive calls to the same callee, each run in
  ``opt LABEL`` ... ``end``.  LABEL says what keystonemiddleware does when
  the run only talks to keystone's token API (``glance-api validates the
  token``, ``glance-api gets a token``), and otherwise
  ``glance-api → swift-proxy-server while serving PUT /v2/images/{image_id}/file``;
* loops (``collapse_loops``, see :mod:`~otel_openstack.render.view`):
  ``loop N times`` ... ``end`` around an exchange standing for N identical ones;
* failure notes (``failure_notes``): ``Note over CALLER,CALLEE: TEXT`` after
  the response of a failed exchange (4xx/5xx: status and the error message
  found in the body, or the recorded error; no response: the error).

Box labels and notes go through :func:`label_text`, not
:func:`~otel_openstack.render.mermaid.escape_text`: Mermaid always wraps a block
label to the block's width (and a note when ``wrap`` is on), and its wrapping
can cut a word inside an entity code (``#59;``), which then shows as garbage.
So these texts carry no entity codes at all: the characters Mermaid treats
specially become their fullwidth look-alikes (``#`` ``;`` ``<`` ``>`` ``&``
-> ``＃`` ``；`` ``＜`` ``＞`` ``＆``, ``%`` next to ``%`` -> ``％``), non-printable
characters are percent-encoded (:func:`~otel_openstack.render.bodies.one_line`),
Mermaid's own entity markers (U+FB02, U+00B6) become ``fl`` and ``❡``, and a
leading ``wrap:``/``nowrap:`` directive loses its colon to ``：``.  A label is
a description; the arrows keep the exact, escaped text.

Lines inside a box or loop are indented two spaces per level (Mermaid ignores
it; it is for the reader).  A part of a split diagram starts with
``autonumber N`` so that it numbers its arrows as the whole diagram does.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Sequence

from otel_openstack.model.types import Body, Exchange, Message
from otel_openstack.render.bodies import one_line
from otel_openstack.render.mermaid import (
    EMPTY_TEXT,
    message_line,
    participant_line,
    participant_names,
)
from otel_openstack.render.options import DEFAULT_OPTIONS, RenderOptions
from otel_openstack.render.view import Node, View, message_tree

BLOCK_INDENT = "  "
NOTE_LIMIT = 100
_TOKEN_PATH = re.compile(r".*/auth/tokens/?")
_DISCOVERY_PATH = re.compile(r"(?:/[^/]+)?(?:/v\d+(?:\.\d+)*)?/?")
_TAG = re.compile(r"<[^>]*>")
_DETAIL_KEYS = ("message", "detail", "title", "faultstring", "error_description")
_LOOKALIKES = str.maketrans({
    "#": "\uff03", ";": "\uff1b", "<": "\uff1c", ">": "\uff1e", "&": "\uff06",
    "\ufb02": "fl", "\u00b6": "\u2761",
})
_DOUBLE_PERCENT = re.compile(r"%(?=%)|(?<=%)%")
_WRAP_DIRECTIVE = re.compile(r"(?i):?(?:no)?wrap(?=:)")


def render_structured_diagram(view: View, options: RenderOptions = DEFAULT_OPTIONS,
                              nodes: Sequence[Node] | None = None, start: int | None = None) -> str:
    """Diagram lines for ``nodes`` (default: all of ``view``), newline-terminated.

    ``start`` adds a first line ``autonumber START`` (for a part of a split
    diagram); the whole diagram has none, the including page supplies it.
    """
    if nodes is None:
        nodes = message_tree(view.messages)
    aliases = view.aliases
    own = participant_names([message for node in nodes for message in node_messages(node)])
    lines: list[str] = []
    if start is not None:
        lines.append(f"autonumber {start}")
    if any(aliases[name] != name for name in own):
        lines.extend(participant_line(name, aliases[name]) for name in own)
    for node in nodes:
        lines.extend(node_lines(node, view, options, aliases, 0))
    return "".join(line + "\n" for line in lines)


def node_messages(node: Node) -> Iterable[Message]:
    """The node's messages in order: REQ, nested ..., RESP."""
    yield node.request
    for child in node.children:
        yield from node_messages(child)
    yield node.response


def node_lines(node: Node, view: View, options: RenderOptions, aliases: dict[str, str], level: int) -> list[str]:
    """The lines of one exchange and everything nested in it."""
    outer = BLOCK_INDENT * level
    times = view.repeats.get(node.request.number, 1)
    if times > 1:
        level += 1
    pad = BLOCK_INDENT * level
    lines = [outer + f"loop {times} times"] if times > 1 else []
    lines.append(pad + arrow(node.request, aliases, options.activations))
    for run in runs(node.children):
        if options.boxes:
            lines.append(pad + "opt " + (label_text(box_label(node.exchange, run)) or EMPTY_TEXT))
            for child in run:
                lines.extend(node_lines(child, view, options, aliases, level + 1))
            lines.append(pad + "end")
        else:
            for child in run:
                lines.extend(node_lines(child, view, options, aliases, level))
    lines.append(pad + arrow(node.response, aliases, options.activations))
    text = failure_text(node.exchange) if options.failure_notes else None
    if text is not None:
        lines.append(pad + note_line(node.exchange, text, aliases))
    if times > 1:
        lines.append(outer + "end")
    return lines


def arrow(message: Message, aliases: dict[str, str], activations: bool) -> str:
    """The message's line, with ``+`` (request) or ``-`` (response) after the arrow."""
    line = message_line(message, aliases)
    if not activations:
        return line
    exchange = message.exchange
    if message.is_request:
        head, mark = f"{aliases[exchange.caller]}->>", "+"
    else:
        head, mark = f"{aliases[exchange.callee]}-->>", "-"
    return head + mark + line[len(head):]


def runs(children: Sequence[Node]) -> list[list[Node]]:
    """Consecutive children grouped by (caller, callee)."""
    grouped: list[list[Node]] = []
    for child in children:
        ex = child.exchange
        if grouped and (grouped[-1][0].exchange.caller, grouped[-1][0].exchange.callee) == (ex.caller, ex.callee):
            grouped[-1].append(child)
        else:
            grouped.append([child])
    return grouped


def box_label(served: Exchange, run: Sequence[Node]) -> str:
    """What the calls of ``run`` are, made while serving ``served`` (unescaped)."""
    first = run[0].exchange
    calls = [(node.exchange.method.upper(), node.exchange.path) for node in run]
    token_calls = [(method, path) for method, path in calls if _TOKEN_PATH.fullmatch(path)]
    only_identity = all(
        _TOKEN_PATH.fullmatch(path) or (method == "GET" and _DISCOVERY_PATH.fullmatch(path))
        for method, path in calls
    )
    if token_calls and only_identity:
        if any(method in ("GET", "HEAD") for method, _ in token_calls):
            return f"{first.caller} validates the token"
        return f"{first.caller} gets a token"
    serving = " ".join(part for part in (served.method, served.path) if part)
    return f"{first.caller} \u2192 {first.callee} while serving {serving}"


def failure_text(exchange: Exchange) -> str | None:
    """The note of a failed exchange (unescaped), None when it did not fail."""
    if exchange.status_code is None:
        return _shorten(f"no response: {exchange.error}" if exchange.error else "no response")
    if exchange.status_code < 400:
        return None
    status = " ".join(part for part in (str(exchange.status_code), exchange.status_text) if part)
    detail = error_detail(exchange.response_body, status) or exchange.error
    return _shorten(f"{status}: {detail}" if detail else status)


def note_line(exchange: Exchange, text: str, aliases: dict[str, str]) -> str:
    over = aliases[exchange.caller]
    if exchange.callee != exchange.caller:
        over += "," + aliases[exchange.callee]
    return f"Note over {over}: {label_text(text) or EMPTY_TEXT}"


def label_text(text: str) -> str:
    """``text`` for a box label or note: no entity code, nothing Mermaid reads (see module doc)."""
    text = _DOUBLE_PERCENT.sub("\uff05", one_line(text).translate(_LOOKALIKES)).strip(" ")
    directive = _WRAP_DIRECTIVE.match(text)
    if directive:
        text = text[: directive.end()] + "\uff1a" + text[directive.end() + 1:]
    return text


def error_detail(body: Body, status: str = "") -> str | None:
    """The error message an OpenStack service put in its error body, if any.

    JSON: the first ``message`` / ``detail`` / ``title`` ... string, looked
    for level by level (``{"error": {"message": ...}}``,
    ``{"itemNotFound": {"message": ...}}``, placement's
    ``{"errors": [{"detail": ...}]}``); text or HTML (webob's error pages):
    the first line that is not the status line.
    """
    if not body.captured or body.state != "text" or not body.text:
        return None
    content_type = (body.content_type or "").lower()
    text = body.text
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        try:
            found = _find_detail([json.loads(text)])
        except (ValueError, RecursionError):
            found = None
        if found:
            return found
        if "json" in content_type:
            return None
    if "html" in content_type or text.lstrip()[:1] == "<":
        text = _TAG.sub("\n", text)
    for line in text.splitlines():
        line = " ".join(line.split())
        if line and line != status:
            return line
    return None


def _find_detail(level: list[Any], depth: int = 0) -> str | None:
    below: list[Any] = []
    for value in level:
        if isinstance(value, dict):
            for key in _DETAIL_KEYS:
                found = value.get(key)
                if isinstance(found, str) and found.strip():
                    return found
            below.extend(v for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            below.extend(v for v in value[:3] if isinstance(v, (dict, list)))
    if below and depth < 3:
        return _find_detail(below, depth + 1)
    return None


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1].rstrip() + "\u2026"
