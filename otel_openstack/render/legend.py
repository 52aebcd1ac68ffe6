"""The legend (``legend.md``): what the placeholders stand for, what was hidden.

mkdocs-material admonitions, each present only when it has something to say
(an empty legend is the empty string)::

    !!! note "Placeholders"
        - `{image_id}`: `0b7c6d3e-5f7a-4e39-9c1a-2f8e4d6a1b90`
        - `{account}`: `AUTH_7c4cda7e4807414bbdfcb22b535a9802`

    !!! info "Hidden exchanges"
        3 exchanges hidden by filters.

Names and values are inline code spans built by
:func:`~otel_openstack.render.markdown.code_span` (a delimiter longer than
any backtick run inside, non-printable characters percent-encoded), so no
value can end its span or its line.
"""

from __future__ import annotations

from otel_openstack.render.markdown import INDENT, code_span
from otel_openstack.render.view import View


def render_legend(view: View) -> str:
    """The legend of ``view``; "" when there are no placeholders and nothing hidden."""
    blocks: list[str] = []
    if view.placeholders:
        lines = ['!!! note "Placeholders"']
        lines.extend(f"{INDENT}- {code_span(p.token)}: {code_span(p.value)}" for p in view.placeholders)
        blocks.append("\n".join(lines) + "\n")
    if view.hidden:
        blocks.append(f'!!! info "Hidden exchanges"\n{INDENT}{hidden_text(view.hidden)}\n')
    return "\n".join(blocks)


def hidden_text(count: int) -> str:
    """``1 exchange hidden by filters.`` / ``3 exchanges hidden by filters.``"""
    return f"{count} exchange{'' if count == 1 else 's'} hidden by filters."
