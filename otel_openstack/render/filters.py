"""Render-time filters: hide exchanges by caller, callee, method and URL path.

Filtering never touches what was captured, spooled or exported: it only
decides what the outputs show.  A hidden exchange hides every exchange nested
in it, and the numbering of what remains stays consecutive (the filtered trace
is numbered afresh by :func:`~otel_openstack.model.types.messages`).

Two file formats, both JSON (see ``docs/filters.md``):

* the old tool's ``should_not_hook.json``, read unchanged: a list of rules (or
  one rule object, or objects separated by commas without the brackets, the
  way the old pages showed them), each ``{"from", "to", "method", "urls"}``;
  unknown keys are ignored, as the old tool did;
* ours: ``{"hide": [rule, ...]}`` with the same keys; unknown keys are an
  error there (a typo must not silently show everything).

``from``, ``to``, ``method`` and ``urls`` each take a string or a list of
strings (in both formats).

In both, a missing key matches anything (``urls`` missing: every path; an
empty ``urls`` list: no path).  ``urls`` are path templates matched against
the URL path (no query string), from its start: a template matches the whole
path or a leading part of it that ends at a ``/`` boundary, so ``/identity/``
hides everything under ``/identity/`` and ``/placement/resource_providers``
hides that collection and everything below it, but not
``/placement/resource_providers_x``.  A template ending in ``$`` must match
the whole path.  Placeholders: ``{uuid}`` -> ``[a-fA-F0-9-]+``, ``{version}``
-> ``v[0-9.]+``, ``{name}`` -> ``.+?``, ``{endpoint_id}`` -> ``[a-fA-F0-9]+``,
any other ``{x}`` -> ``[^/]+``; everything else is literal.

The loader (:func:`load_filters`) is the only function here that reads a
file; the CLI and the exporter call it and put the rules in
:class:`~otel_openstack.render.options.RenderOptions`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.sources.errors import TraceInputError

#: The old tool's named placeholders; any other ``{x}`` is one path segment.
TEMPLATE_PLACEHOLDERS = {
    "uuid": "[a-fA-F0-9-]+",
    "version": "v[0-9.]+",
    "name": ".+?",
    "endpoint_id": "[a-fA-F0-9]+",
}
_ANY_SEGMENT = "[^/]+"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_OLD_KEYS = ("from", "to", "method", "urls")
_OUR_KEYS = frozenset(_OLD_KEYS)


T = TypeVar("T")


class RuleFileError(TraceInputError):
    """A filter or placeholder file we cannot use; ``str()`` is the one-line message."""


@dataclass(frozen=True)
class FilterRule:
    """Hide exchanges matching every given field; an empty/None field matches anything.

    ``methods`` are compared case-insensitively; ``urls`` is None for "any
    path" and a tuple of templates otherwise (an empty tuple matches nothing).
    """

    callers: tuple[str, ...] = ()
    callees: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    urls: tuple[str, ...] | None = None

    def matches(self, exchange: Exchange) -> bool:
        if self.callers and exchange.caller not in self.callers:
            return False
        if self.callees and exchange.callee not in self.callees:
            return False
        if self.methods and exchange.method.upper() not in {m.upper() for m in self.methods}:
            return False
        if self.urls is None:
            return True
        return any(template_regex(url).match(exchange.path) for url in self.urls)


@functools.lru_cache(maxsize=1024)
def template_regex(template: str) -> re.Pattern[str]:
    """The compiled regex of a path template (matched with ``re.match``)."""
    exact = template.endswith("$")
    if exact:
        template = template[:-1]
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position:match.start()]))
        parts.append(f"(?:{TEMPLATE_PLACEHOLDERS.get(match.group(1), _ANY_SEGMENT)})")
        position = match.end()
    parts.append(re.escape(template[position:]))
    if exact:
        end = r"\Z"
    elif template.endswith("/"):
        end = ""
    else:
        end = r"(?=/|\Z)"
    return re.compile("".join(parts) + end, re.DOTALL)


def apply_filters(trace: Trace, rules: Iterable[FilterRule]) -> tuple[Trace, int]:
    """``trace`` without the exchanges any rule matches, and how many were hidden.

    The count includes the nested exchanges of a hidden exchange.
    """
    rules = tuple(rules)
    if not rules:
        return trace, 0
    hidden = 0

    def keep(exchange: Exchange) -> Exchange | None:
        nonlocal hidden
        if any(rule.matches(exchange) for rule in rules):
            hidden += sum(1 for _ in exchange.walk())
            return None
        children = tuple(kept for kept in map(keep, exchange.children) if kept is not None)
        if len(children) == len(exchange.children) and all(
                new is old for new, old in zip(children, exchange.children)):
            return exchange  # nothing below was hidden
        return replace(exchange, children=children)

    roots = tuple(kept for kept in map(keep, trace.exchanges) if kept is not None)
    return replace(trace, exchanges=roots), hidden


def load_rule_file(path: str | Path, kind: str, parse: Callable[[str], T]) -> T:
    """Read and parse a user's rule file; any problem is one :class:`RuleFileError` line.

    ``kind`` names the file in the message (``filter``, ``placeholder``).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleFileError(f"{path}: no such {kind} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(f"{path}: cannot read it ({exc})") from None
    try:
        return parse(text)
    except ValueError as exc:
        raise RuleFileError(f"{path}: {exc}") from None


def load_filters(path: str | Path) -> tuple[FilterRule, ...]:
    """Rules from a filter file (either format); :class:`RuleFileError` when unusable."""
    return load_rule_file(path, "filter", parse_filters)


def parse_filters(text: str) -> tuple[FilterRule, ...]:
    """Rules from the text of a filter file; ``ValueError`` says what is wrong."""
    data = _load_json(text)
    if isinstance(data, dict) and "hide" in data:
        unknown = set(data) - {"hide"}
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))} (expected only \"hide\")")
        if not isinstance(data["hide"], list):
            raise ValueError('"hide" must be a list of rules')
        return tuple(_rule(item, index, strict=True) for index, item in enumerate(data["hide"], 1))
    items = data if isinstance(data, list) else [data]
    return tuple(_rule(item, index, strict=False) for index, item in enumerate(items, 1))


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        # The old pages showed several rules as "{...},\n{...}" without brackets.
        try:
            return json.loads(f"[{text}]")
        except json.JSONDecodeError:
            raise ValueError(f"not JSON ({first.msg} at line {first.lineno} column {first.colno})") from None


def _rule(item: Any, index: int, strict: bool) -> FilterRule:
    where = f"rule {index}"
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected an object with from/to/method/urls, got {type(item).__name__}")
    if strict:
        unknown = set(item) - _OUR_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                             f"(expected {', '.join(_OLD_KEYS)})")
    urls = item.get("urls")
    return FilterRule(
        callers=_strings(item.get("from"), f"{where} \"from\""),
        callees=_strings(item.get("to"), f"{where} \"to\""),
        methods=tuple(m.upper() for m in _strings(item.get("method"), f"{where} \"method\"")),
        urls=None if urls is None else _strings(urls, f"{where} \"urls\"", empty_ok=True),
    )


def _strings(value: Any, where: str, empty_ok: bool = False) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if not value and not empty_ok:
            raise ValueError(f"{where}: empty list (leave the key out to match anything)")
        return tuple(value)
    raise ValueError(f"{where}: expected a string or a list of strings")
