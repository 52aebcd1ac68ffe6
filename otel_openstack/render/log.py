"""The request log (``requests.log`` / ``log.md``): the old tool's format.

Per message one record, in :func:`~otel_openstack.model.types.messages`
order (REQ, nested exchanges, RESP)::

    <empty line>
    ### (FROM) REQ >>> (TO) : METHOD FULL_URL
    Header-Name: value
    <empty line>
    BODY
    <empty line>

and ``### (FROM) RESP <<< (TO) : STATUS_CODE STATUS_TEXT METHOD FULL_URL`` for
the response; the caller stays first in both.  When no response arrived the
status is replaced by ``ERROR <error text>``.  Every record ends with its own
empty line and starts with one, so records are separated by two empty lines,
exactly like the samples users know.

Heading fields and header lines are made single-line
(:func:`~otel_openstack.render.bodies.one_line`) so that no captured value can
forge a record; bodies are written as is (see ``bodies``), except a body line
that reads like a record heading, which gets a zero-width space in front.
"""

from __future__ import annotations

import re

from otel_openstack.model.types import Exchange, Message, Trace, messages
from otel_openstack.render.bodies import RenderedBody, header_lines, one_line, render_body
from otel_openstack.render.options import DEFAULT_OPTIONS, RenderOptions


def render_log(trace: Trace, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """The whole request log of ``trace``; empty string for an empty trace."""
    return "".join(render_record(message, options) for message in messages(trace))


def render_record(message: Message, options: RenderOptions = DEFAULT_OPTIONS,
                  rendered: RenderedBody | None = None) -> str:
    """One REQ or RESP record, newline-terminated.

    ``rendered``: the message's body already rendered (``render_body``), so
    that the pipeline pretty-prints each body once for the log and body.md.
    """
    exchange = message.exchange
    if message.is_request:
        headers, body = exchange.request_headers, exchange.request_body
    else:
        headers, body = exchange.response_headers, exchange.response_body
    lines = [
        "",
        record_heading(message),
        *header_lines(headers, options),
        "",
        unforgeable((rendered or render_body(body)).text),
        "",
    ]
    return "\n".join(lines) + "\n"


#: A line that readers (people and scripts) take for a record heading; a lone
#: ``\r`` ends a line too, as editors and Markdown take it.
_HEADING = re.compile(r"(?:^|(?<=\r))### \([^\r\n]*\) (?:REQ >>>|RESP <<<) \([^\r\n]*\) : ", re.M)


def unforgeable(text: str) -> str:
    """``text`` with every line that looks like a record heading defused.

    A captured body is written as is, so a body holding an empty line then
    ``### (a) REQ >>> (b) : DELETE ...`` would add a record to the log for
    every reader that splits on headings (the log's only structure).  Such a
    line gets an invisible zero-width space in front; every other byte is the
    body's.
    """
    if "### (" not in text:
        return text
    return _HEADING.sub(lambda m: ZERO_WIDTH_SPACE + m.group(0), text)


def record_heading(message: Message) -> str:
    """``### (FROM) REQ >>> (TO) : ...`` / ``### (FROM) RESP <<< (TO) : ...``."""
    exchange = message.exchange
    caller, callee = one_line(exchange.caller), one_line(exchange.callee)
    request_line = _join(one_line(exchange.method), one_line(exchange.url))
    if message.is_request:
        return f"### ({caller}) REQ >>> ({callee}) : {request_line}"
    return f"### ({caller}) RESP <<< ({callee}) : {_join(status_words(exchange), request_line)}"


def status_words(exchange: Exchange) -> str:
    """``201 Created``, or ``ERROR <text>`` when no response arrived (one line)."""
    if exchange.status_code is None:
        return _join("ERROR", one_line(exchange.error or "no response"))
    return _join(str(exchange.status_code), one_line(exchange.status_text))


def _join(*parts: str) -> str:
    """Space-join the non-empty parts (an empty status text leaves no gap)."""
    return " ".join(part for part in parts if part)


_FENCE_CLOSER = re.compile(r"^\s*(`{3,}|~{3,})\s*$")
#: Put in front of a line that would close the including page's fence.
ZERO_WIDTH_SPACE = "\u200b"


def log_for_markdown(log: str) -> str:
    """``log.md``: the log, safe to include inside a page's ``` fence (as the seed page does).

    Two lines of a captured body could escape that fence: a bare fence line
    (it would close the page's fence and let the rest render as HTML) and a
    ``--8<--`` line (pymdownx.snippets would include that file).  The first gets
    an invisible zero-width space in front, the second snippets' own ``;``
    escape, which snippets removes when it renders.  Line breaks are made
    ``\n`` first, as Markdown would (a lone ``\r`` in a body starts a line
    there too); every other byte is the log's.
    """
    from otel_openstack.render.markdown import escape_snippet_marker

    text = log.replace("\r\n", "\n").replace("\r", "\n")
    if "```" not in text and "~~~" not in text and "8<" not in text:
        return text  # no line can close a fence or include a file: nothing to split and check
    lines = text.split("\n")
    return "\n".join(
        ZERO_WIDTH_SPACE + line if _FENCE_CLOSER.match(line) else escape_snippet_marker(line)
        for line in lines
    )
