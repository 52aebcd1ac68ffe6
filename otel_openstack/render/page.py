"""The page (``index.md``): the whole output folder as one mkdocs-material page.

Laid out like the pages users wrote by hand around the old tool's files::

    # openstack image create                   (the command; "Trace <id>" without one)
    ## Command                                 (```` bash ````: ``$ openstack ...``; left out without argv)
    ## Sequence Diagram                        (``` mermaid: sequenceDiagram, autonumber, the lines;
                                                one block per part, under "### Part K: (A) to (B)",
                                                when the diagram was split)
    <the legend>                               (admonitions, when there is one)
    ## Request / Response                      (the sections of body.md)
    ## Output                                  (the command's output; left out when unknown)
    ## Full Log                                (??? quote, the log in a fence)

Everything is *inlined*, not included with ``--8<--``: pymdownx.snippets
resolves an include against its ``base_path`` list (default: the directory
mkdocs runs in), never against the including page, so ``--8<-- "diagram.md"``
would need every user to configure ``base_path`` per folder, and two folders
in one site would silently include each other's files.  An inlined page
works wherever the folder is dropped, with only the extensions body.md
already needs (superfences with the mermaid custom fence, tabbed with
alternate style, admonition and details, and snippets for its ``;--8<--``
escapes).  The fragment files stay in the folder for pages that include them.

Safety: every fence is longer than the longest backtick run of its content;
every content line that pymdownx.snippets would execute gets its ``;``
escape (snippets runs before fences are parsed, so a log line
``--8<-- "/etc/passwd"`` would otherwise be an include); content inside the
log's ``??? quote`` is indented like the rest of the admonition; the title
goes through :func:`~otel_openstack.render.markdown.heading_text`.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Sequence

from otel_openstack.model.types import Trace
from otel_openstack.render.bodies import one_line
from otel_openstack.render.markdown import (
    INDENT,
    escape_snippet_marker,
    heading_text,
    split_lines,
    title_attribute,
)
from otel_openstack.render.split import Part
from otel_openstack.render.view import View

COMMAND_WIDTH = 80
_BACKTICK_RUN = re.compile(r"`+")


def render_page(view: View, *, diagram: str, parts: Sequence[tuple[Part, str]], legend: str,
                body: str, log: str, log_name: str) -> str:
    """The page for ``view``, from the texts already rendered for its folder."""
    trace = view.trace
    blocks: list[str] = [f"# {heading_text(one_line(page_title(trace)))}"]
    command = command_lines(trace)
    if command:
        blocks += ["## Command", _join(fence("\n".join(command), "bash"))]
    blocks.append("## Sequence Diagram")
    if not view.messages:
        blocks.append("No HTTP exchange was recorded.")
    elif parts:
        for part, text in parts:
            blocks.append(f"### Part {part.index}: ({part.first}) to ({part.last})")
            blocks.append(_join(mermaid_block(text, autonumber=False)))
    else:
        blocks.append(_join(mermaid_block(diagram, autonumber=True)))
    if legend:
        blocks.append(legend.strip("\n"))
    if body.strip("\n"):
        blocks += ["## Request / Response", body.strip("\n")]
    if trace.output is not None:
        output = trace.output.rstrip("\r\n")
        language = "json" if _is_json(output) else "text"
        blocks += ["## Output", _join(fence(output, language, title=command_title(trace)))]
    if log.strip("\n"):
        blocks += ["## Full Log", _join([f'??? quote "{_admonition_title(log_name)}"',
                                         *fence(log.strip("\n"), "text", title=log_name, linenums=True,
                                                indent=INDENT)])]
    return "\n\n".join(blocks) + "\n"


def page_title(trace: Trace) -> str:
    return trace.command or f"Trace {trace.trace_id}"


def command_words(trace: Trace) -> list[str]:
    """The command line as words: ``openstack`` + the recorded arguments."""
    if not trace.argv:
        return (trace.command or "").split()
    program = (trace.command or "openstack").split()[0] if (trace.command or "").strip() else "openstack"
    return [program, *trace.argv]


def command_title(trace: Trace) -> str:
    return one_line(shlex.join(command_words(trace))) if command_words(trace) else page_title(trace)


def command_lines(trace: Trace) -> list[str]:
    """``$ openstack ...``, on one line or, when long, one option per line (``\\``)."""
    words = command_words(trace)
    if not words:
        return []
    single = "$ " + shlex.join(words)
    if len(single) <= COMMAND_WIDTH:
        return [single]
    command = (trace.command or "").split()
    lead = len(command) if command and words[: len(command)] == command else 1
    groups: list[list[str]] = [words[:lead]]
    rest = words[lead:]
    index = 0
    while index < len(rest):
        word = rest[index]
        takes_value = (word.startswith("-") and "=" not in word and index + 1 < len(rest)
                       and not rest[index + 1].startswith("-"))
        groups.append(rest[index: index + 2] if takes_value else [word])
        index += 2 if takes_value else 1
    lines = [("$ " if i == 0 else "  ") + shlex.join(group) for i, group in enumerate(groups)]
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def mermaid_block(diagram: str, autonumber: bool) -> list[str]:
    """A ``mermaid`` fence: ``sequenceDiagram``, ``autonumber`` when asked, the lines (indented)."""
    lines = ["sequenceDiagram"] + ([INDENT + "autonumber"] if autonumber else [])
    lines += [INDENT + line for line in diagram.rstrip("\n").split("\n") if line]
    return fence("\n".join(lines), "mermaid")


def fence(content: str, language: str, title: str | None = None, linenums: bool = False,
          indent: str = "") -> list[str]:
    """A code fence holding ``content`` literally (see the module docstring)."""
    lines = split_lines(content) if content else []
    longest = max((len(run) for run in _BACKTICK_RUN.findall(content)), default=0)
    ticks = "`" * max(3, longest + 1)
    opening = f"{ticks} {language}"
    if title is not None:
        opening += f' title="{title_attribute(title)}"'
    if linenums:
        opening += ' linenums="1"'
    if "8<" in content:
        body = [indent + escape_snippet_marker(line) if line else "" for line in lines]
    else:
        body = [indent + line if line else "" for line in lines]
    return [indent + opening, *body, indent + ticks]


def _join(lines: list[str]) -> str:
    return "\n".join(lines)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return text.lstrip()[:1] in ("{", "[")


def _admonition_title(text: str) -> str:
    return "".join("%22" if ch == '"' else ch for ch in one_line(text))
