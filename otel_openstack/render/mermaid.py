"""The sequence diagram (``diagram.md``): lines for a Mermaid ``sequenceDiagram``.

One message a line, in :func:`~otel_openstack.model.types.messages` order, so
Mermaid's ``autonumber`` gives every arrow the number the doc fragment uses::

    FROM->>TO: METHOD PATH
    TO-->>FROM: STATUS_CODE STATUS_TEXT PATH
    TO-->>FROM: ERROR <error text> PATH        (no response arrived)

The including page supplies ``sequenceDiagram`` and ``autonumber``.

Safety, from Mermaid's sequence lexer (``sequenceDiagram.jison``) and its
entity pre-pass (``encodeEntities``):

* A participant name is written bare only when it matches
  :data:`_BARE_NAME` (letters, digits, ``_`` ``.``, single ``-`` between
  segments, like ``glance-api`` or ``python-swiftclient-4.1.0``), no segment
  after a ``-`` starts with ``x`` (``-x`` is Mermaid's cross arrow) and its
  leading word is not a keyword (the lexer is case-insensitive and matches
  ``end`` in ``end-user``).  Any other name gets an alias
  (``p_<ascii slug>``, made unique) declared as ``participant ALIAS as
  Display``.  When one name needs an alias, every participant is declared, in
  order of first appearance, so declaring never reorders the columns.
* Message text and displayed names go through :func:`escape_text`:
  ``#`` ``;`` ``:`` become ``#35;`` ``#59;`` ``#58;`` (``#`` starts a comment,
  ``;`` ends a statement, and a raw ``:`` after ``style`` lets Mermaid's
  pre-pass eat the ``;`` of a later entity); ``<`` ``>`` ``&`` become ``#lt;``
  ``#gt;`` ``#amp;`` (no HTML, no ``<br>``, no ``-->>``); a ``%`` next to
  another ``%`` becomes ``#37;`` (no ``%%`` comment or ``%%{init}%%``
  directive); non-printable characters (newlines, controls, Unicode line
  separators, format characters) and the two characters Mermaid uses as
  entity markers (U+FB02, U+00B6) become decimal codes ``#N;``.  Other
  non-ASCII text is kept: Mermaid renders UTF-8.
"""

from __future__ import annotations

import re

from otel_openstack.model.types import Exchange, Message, Trace, messages
from otel_openstack.render.options import DEFAULT_OPTIONS, RenderOptions

#: Words the sequence lexer treats specially (compared lower-case; the lexer is
#: case-insensitive).  Generous on purpose: an alias costs one line.
MERMAID_KEYWORDS = frozenset(
    {
        "participant", "actor", "create", "destroy", "box", "loop", "rect",
        "opt", "alt", "else", "par", "par_over", "and", "critical", "option",
        "break", "end", "left", "right", "of", "over", "note", "links", "link",
        "properties", "details", "activate", "deactivate", "title",
        "acctitle", "accdescr", "sequencediagram", "autonumber", "off", "as",
        "wrap", "nowrap", "boundary", "control", "entity", "database",
        "collections", "queue",
    }
)  # fmt: skip

_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*")
_LEADING_WORD = re.compile(r"[A-Za-z0-9_]+")
_CROSS_ARROW = re.compile(r"-[xX]")
_NAMED_ENTITIES = {"<": "#lt;", ">": "#gt;", "&": "#amp;"}
_CODED = frozenset("#;:\u00b6\ufb02")
#: Any character :func:`escape_text` may change (non-printable ones aside).
_ESCAPED = re.compile("[<>&#;:\u00b6\ufb02]|%%")
EMPTY_TEXT = "(empty)"


def render_diagram(trace: Trace, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """The diagram lines of ``trace``, newline-terminated; "" when empty."""
    del options  # no diagram option yet; kept for a uniform renderer signature
    msgs = messages(trace)
    names = participant_names(msgs)
    aliases = assign_aliases(names)
    lines: list[str] = []
    if any(aliases[name] != name for name in names):
        lines.extend(participant_line(name, aliases[name]) for name in names)
    lines.extend(message_line(message, aliases) for message in msgs)
    return "".join(line + "\n" for line in lines)


def participant_names(msgs: list[Message]) -> list[str]:
    """Every participant, once, in order of first appearance (sender first)."""
    seen: dict[str, None] = {}
    for message in msgs:
        seen.setdefault(message.exchange.caller)
        seen.setdefault(message.exchange.callee)
    return list(seen)


def is_bare_name(name: str) -> bool:
    """Whether Mermaid reads ``name`` as one participant without an alias."""
    if _BARE_NAME.fullmatch(name) is None or _CROSS_ARROW.search(name):
        return False
    leading = _LEADING_WORD.match(name)
    return leading is not None and leading.group().lower() not in MERMAID_KEYWORDS


def assign_aliases(names: list[str]) -> dict[str, str]:
    """Map each name to itself when bare, else to a unique ``p_<slug>`` alias."""
    taken = {name for name in names if is_bare_name(name)}
    aliases: dict[str, str] = {}
    for name in names:
        if name in taken:
            aliases[name] = name
            continue
        slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
        base = f"p_{slug}" if slug else "p"
        alias, counter = base, 1
        while alias in taken:
            counter += 1
            alias = f"{base}_{counter}"
        taken.add(alias)
        aliases[name] = alias
    return aliases


def participant_line(name: str, alias: str) -> str:
    """``participant glance-api`` or ``participant p_end as end``."""
    if alias == name:
        return f"participant {name}"
    return f"participant {alias} as {escape_text(name) or EMPTY_TEXT}"


def message_line(message: Message, aliases: dict[str, str]) -> str:
    """One arrow: ``FROM->>TO: ...`` for a request, ``TO-->>FROM: ...`` back."""
    exchange = message.exchange
    caller, callee = aliases[exchange.caller], aliases[exchange.callee]
    if message.is_request:
        return f"{caller}->>{callee}: {escape_text(_join(exchange.method, exchange.path)) or EMPTY_TEXT}"
    return f"{callee}-->>{caller}: {escape_text(response_text(exchange)) or EMPTY_TEXT}"


def response_text(exchange: Exchange) -> str:
    """``200 OK /path`` or ``ERROR <text> /path`` (unescaped)."""
    if exchange.status_code is None:
        return _join("ERROR", exchange.error or "no response", exchange.path)
    return _join(str(exchange.status_code), exchange.status_text, exchange.path)


def escape_text(text: str) -> str:
    """``text`` made safe for a message or participant display (see module doc)."""
    if text.isprintable() and _ESCAPED.search(text) is None:
        return text.strip(" ")  # nothing to escape: most paths and status lines
    out: list[str] = []
    last = len(text) - 1
    for index, ch in enumerate(text):
        if ch in _NAMED_ENTITIES:
            out.append(_NAMED_ENTITIES[ch])
        elif ch in _CODED or not ch.isprintable():
            out.append(f"#{ord(ch)};")
        elif ch == "%" and (
            (index > 0 and text[index - 1] == "%") or (index < last and text[index + 1] == "%")
        ):
            out.append("#37;")
        else:
            out.append(ch)
    return "".join(out).strip(" ")


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)
