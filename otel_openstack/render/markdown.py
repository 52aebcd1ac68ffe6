"""The documentation fragment (``body.md``) for mkdocs-material.

Needs pymdownx.superfences and pymdownx.tabbed (``alternate_style: true``); it
is usually pulled into a page with pymdownx.snippets.  Per message::

    ### (N) METHOD PATH                      ### (N) STATUS_CODE STATUS_TEXT PATH
    `FROM` --> `TO`                          `FROM` <-- `TO`

    === "Header"
        ``` http title="METHOD PATH" linenums="1"
        Header-Name: value
        ```

    === "Body"
        ``` json title="METHOD PATH" linenums="1"
        BODY
        ```

N is :attr:`Message.number`, the diagram's ``autonumber``.  The Body fence
says ``json`` when the body was pretty-printed as JSON and ``text`` for
anything else (plain text, ``none``, summaries), so highlighting never
misreads a summary line as broken JSON.  A response that never arrived has
the heading ``### (N) ERROR <text> PATH``.

Safety:

* fences: backticks, one longer than the longest backtick run in the content
  (minimum 3), so no content line can close its fence early (superfences
  closes only on an exact-length fence, CommonMark on any longer one);
* tabs: every content line is indented 4 spaces (empty lines stay empty), and
  the content is split on exactly the line breaks Markdown knows (``\\r\\n``,
  ``\\r``, ``\\n``) so that Python-Markdown's normalisation cannot create an
  unindented line;
* snippets: a content line that pymdownx.snippets would take for an include
  (``--8<-- "file"`` or a bare ``--8<--``) gets the extension's own escape,
  one ``;`` before the marker, which snippets removes again on output;
* fence titles: ``"``, backtick, ``<`` ``>`` ``&`` and non-printable
  characters are percent-encoded (``%22`` ...), as in a URL; a title can thus
  neither end the ``title="..."`` attribute nor the CommonMark info string,
  and shows the same text whether or not the highlighter HTML-escapes it;
* headings: ``& < >`` become HTML entities, Markdown punctuation
  (``\\ ` * _ [ ] #``) is backslash-escaped (``_`` only where it could start
  emphasis, so ``{image_id}`` stays readable), ``~`` ``^`` become ``&#126;``
  ``&#94;`` (pymdownx.tilde/caret), ``{`` after a space becomes ``\\{``
  (attr_list), a ``{`` opening a pymdownx.critic mark (``{--`` ``{++``
  ``{~~`` ``{==`` ``{>>``) becomes ``&#123;``, non-printable characters are
  percent-encoded;
* participant names are code spans whose backtick delimiter is longer than any
  backtick run inside the name.
"""

from __future__ import annotations

import re

from otel_openstack.model.types import Message, Trace, messages
from otel_openstack.render.bodies import RenderedBody, header_lines, one_line, percent_encode, render_body
from otel_openstack.render.log import status_words
from otel_openstack.render.options import DEFAULT_OPTIONS, RenderOptions

INDENT = "    "
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BACKTICK_RUN = re.compile(r"`+")
_SNIPPET_LINE = re.compile(
    r"""(?x)
    ^(?P<space>[ \t]*)
    (?P<rest>;*(?:-+8<-+[ \t]+(?:"(?:\\"|[^"\n\r])+?"|'(?:\\'|[^'\n\r])+?')|-+8<-+)(?![ \t]))
    \r?$
    """
)
_TITLE_UNSAFE = frozenset('"`<>&')
_TITLE_UNSAFE_RE = re.compile('["`<>&]')
#: Characters :func:`heading_text` may change; printable text without them is kept as is.
_HEADING_SPECIAL = re.compile(r"[&<>~^\\`*\[\]#_{]")
_HEADING_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "~": "&#126;", "^": "&#94;"}
_HEADING_BACKSLASHED = frozenset("\\`*[]#")
_CRITIC_SECOND = frozenset("-+~=>")  # pymdownx.critic openers: {-- {++ {~~ {== {>>


def render_body_md(trace: Trace, options: RenderOptions = DEFAULT_OPTIONS) -> str:
    """The whole fragment for ``trace``; empty string for an empty trace."""
    return "".join(render_section(message, options) for message in messages(trace))


def render_section(message: Message, options: RenderOptions = DEFAULT_OPTIONS,
                   rendered: RenderedBody | None = None) -> str:
    """One message's section, starting and ending with an empty line.

    ``rendered``: the message's body already rendered (see ``render_record``).
    """
    exchange = message.exchange
    title = message_title(message)
    caller, callee = code_span(exchange.caller), code_span(exchange.callee)
    if message.is_request:
        arrow = f"{caller} --> {callee}"
        headers, body = exchange.request_headers, exchange.request_body
    else:
        arrow = f"{caller} <-- {callee}"
        headers, body = exchange.response_headers, exchange.response_body
    if rendered is None:
        rendered = render_body(body)
    lines = [
        "",
        f"### ({message.number}) {heading_text(title)}",
        arrow,
        "",
        '=== "Header"',
        *fenced_block("\n".join(header_lines(headers, options)), "http", title),
        "",
        '=== "Body"',
        *fenced_block(rendered.text, rendered.language, title),
        "",
    ]
    return "\n".join(lines) + "\n"


def message_title(message: Message) -> str:
    """``METHOD PATH`` for a request, ``STATUS_CODE STATUS_TEXT PATH`` back (raw)."""
    exchange = message.exchange
    if message.is_request:
        words = (exchange.method, exchange.path)
    else:
        words = (status_words(exchange), exchange.path)
    return " ".join(word for word in words if word)


def fenced_block(content: str, language: str, title: str) -> list[str]:
    """A code fence indented into a tab, its content unable to escape it."""
    lines = split_lines(content) if content else []
    longest = max((len(run) for run in _BACKTICK_RUN.findall(content)), default=0) if "`" in content else 0
    fence = "`" * max(3, longest + 1)
    opening = f'{fence} {language} title="{title_attribute(title)}" linenums="1"'
    if "8<" in content:
        body = [INDENT + escape_snippet_marker(line) if line else "" for line in lines]
    else:
        body = [INDENT + line if line else "" for line in lines]
    return [INDENT + opening, *body, INDENT + fence]


def split_lines(text: str) -> list[str]:
    """Split on the line breaks Markdown recognises (and only those)."""
    if "\r" not in text:
        return text.split("\n")
    return _LINE_BREAK.split(text)


def escape_snippet_marker(line: str) -> str:
    """Add snippets' ``;`` escape to a line it would treat as an include."""
    if "8<" not in line:  # the marker (``-8<-``) is not there: most lines, cheaply
        return line
    match = _SNIPPET_LINE.match(line)
    if match is None:
        return line
    return f"{match.group('space')};{match.group('rest')}"


def title_attribute(title: str) -> str:
    """``title`` safe inside ``title="..."`` of a fence opening line."""
    if title.isprintable() and _TITLE_UNSAFE_RE.search(title) is None:
        return title
    return "".join(
        percent_encode(ch) if ch in _TITLE_UNSAFE or not ch.isprintable() else ch for ch in title
    )


def heading_text(text: str) -> str:
    """``text`` as literal inline Markdown for a heading (see module doc)."""
    if text.isprintable():
        # Only the special characters need a look at their neighbours.
        return _HEADING_SPECIAL.sub(lambda match: _heading_char(text, match.start()), text)
    out: list[str] = []
    for index, ch in enumerate(text):
        before = text[index - 1] if index > 0 else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        if ch in _HEADING_ENTITIES:
            out.append(_HEADING_ENTITIES[ch])
        elif ch in _HEADING_BACKSLASHED:
            out.append("\\" + ch)
        elif ch == "_" and not (before.isalnum() and after.isalnum()):
            out.append("\\_")
        elif ch == "{" and after in _CRITIC_SECOND:
            out.append("&#123;")
        elif ch == "{" and (before == "" or before.isspace()):
            out.append("\\{")
        elif not ch.isprintable():
            out.append(percent_encode(ch))
        else:
            out.append(ch)
    return "".join(out)


def _heading_char(text: str, index: int) -> str:
    """:func:`heading_text`'s escape of the printable special character at ``index``."""
    ch = text[index]
    if ch in _HEADING_ENTITIES:
        return _HEADING_ENTITIES[ch]
    if ch in _HEADING_BACKSLASHED:
        return "\\" + ch
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if ch == "_":
        return ch if before.isalnum() and after.isalnum() else "\\_"
    # ch == "{"
    if after in _CRITIC_SECOND:
        return "&#123;"
    if before == "" or before.isspace():
        return "\\{"
    return ch


def code_span(text: str) -> str:
    """``text`` as one inline code span, whatever backticks it holds."""
    text = one_line(text)
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    if not text.strip(" "):
        text = text or " "  # all-space content is never stripped
    elif text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " "):
        text = f" {text} "  # CommonMark strips exactly one space from each side
    return f"{ticks}{text}{ticks}"
