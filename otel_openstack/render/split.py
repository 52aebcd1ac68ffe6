"""Splitting a large diagram into parts a reader can follow.

A diagram of more than ``split_size`` messages is cut between top-level
exchanges (the CLI's own calls, with everything nested in them): consecutive
top-level exchanges are packed into a part while it stays within
``split_size`` messages; a top-level exchange larger than that is a part of
its own (it is never cut, so every part is self-contained: each activation
bar, box and loop opens and closes in the same part).  When that leaves a
single part, nothing is split.

Each part is a complete set of diagram lines starting with ``autonumber N``,
N being the number its first arrow has in the whole diagram and in
``body.md``; it declares the participants it uses (with the whole diagram's
aliases) when any needs an alias.

Files (see ``pipeline.py``): ``diagram.md`` is always the whole diagram;
``diagram-1.md``, ``diagram-2.md`` ... exist only when splitting happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_openstack.render.options import DEFAULT_OPTIONS, RenderOptions
from otel_openstack.render.structure import render_structured_diagram
from otel_openstack.render.view import Node, View, message_tree


@dataclass(frozen=True)
class Part:
    """One part: its 1-based index, the numbers of its first and last message, its exchanges."""

    index: int
    first: int
    last: int
    nodes: tuple[Node, ...]


def plan_parts(view: View, size: int) -> list[Part]:
    """The parts of ``view``'s diagram; an empty list when it is not split."""
    if size <= 0 or len(view.messages) <= size:
        return []
    groups: list[list[Node]] = []
    count = 0
    for node in message_tree(view.messages):
        if groups and groups[-1] and count + node.size <= size:
            groups[-1].append(node)
            count += node.size
        else:
            groups.append([node])
            count = node.size
    if len(groups) < 2:
        return []
    return [
        Part(index, group[0].request.number, group[-1].response.number, tuple(group))
        for index, group in enumerate(groups, 1)
    ]


def render_parts(view: View, options: RenderOptions = DEFAULT_OPTIONS) -> list[tuple[Part, str]]:
    """Each part and its diagram lines (``autonumber N`` first); [] when not split."""
    return [
        (part, render_structured_diagram(view, options, nodes=part.nodes, start=part.first))
        for part in plan_parts(view, options.split_size)
    ]
