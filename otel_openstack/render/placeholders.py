"""Placeholders: IDs in paths become names (``{image_id}``), listed in a legend.

Doc writers used to replace IDs by hand and list their values under the
diagram; this does it for them (see ``docs/placeholders.md``).

Built-in rules, applied to each path segment (``/``-separated):

* an *id-looking* segment is a UUID (``8-4-4-4-12`` hex), 32 hex digits, or a
  swift account (``AUTH_<hex>``, or ``<PREFIX>_<32 hex>`` for another reseller
  prefix);
* swift's layout ``/v1/{account}/{container}/{object}``: the account segment
  is ``{account}``; after it, the container and the object (the rest of the
  path) get ``{container}`` / ``{object}`` only when they are id-looking (a
  container named ``glance`` stays ``glance``);
* an id-looking segment after a version segment (``v3``, ``v2.1``) is
  ``{project_id}`` (cinder's ``/v3/{project_id}/volumes``);
* an id-looking segment after a collection segment is the collection's
  singular + ``_id``: ``/v2/images/<uuid>`` -> ``{image_id}``; irregular cases
  are in :data:`SPECIAL_COLLECTIONS` (``policies`` -> ``policy_id``,
  ``os-volume_attachments`` -> ``volume_id`` ...); otherwise ``os-`` is dropped,
  the name is lower-cased, non-alphanumerics become ``_`` and the last word is
  made singular (``os-server-groups`` -> ``server_group_id``);
* any other id-looking segment is ``{id}``.

User rules (:class:`PlaceholderRule`: a regex searched in the path, and a
name) run first; the text of group 1 (or of the whole match when the regex
has no group) gets the rule's name, or stays as it is when the name is None
(a way to switch a built-in rule off for some paths).

One value always gets one name within a trace, decided where it first
appears (paths are read in message order): the object a swift PUT stores under
an image's id shows ``{image_id}`` too.  Two different values of the same
kind get distinct names: ``{image_id}``, ``{image_id_2}``.  Names are made of
``[a-z0-9_]`` for built-in rules; user names must match
``[A-Za-z_][A-Za-z0-9_]*``.

Placeholders replace ``Exchange.path`` (used by the diagram and the doc
fragment); ``Exchange.url`` (the log headings) only when asked
(``in_log``).  Headers and bodies keep the real values: the legend maps them.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.render.filters import load_rule_file

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_HEX32 = r"[0-9a-fA-F]{32}"
_ACCOUNT = re.compile(r"AUTH_[0-9a-fA-F]+|[A-Z][A-Z0-9]*_[0-9a-fA-F]{32}")
_ID = re.compile(rf"{_UUID}|{_HEX32}|{_ACCOUNT.pattern}")
_VERSION = re.compile(r"v\d+(?:\.\d+)*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Collections whose placeholder is not "singular + _id" (lower-case keys).
SPECIAL_COLLECTIONS = {
    "policies": "policy_id",
    "os-volume_attachments": "volume_id",  # nova: /servers/{server_id}/os-volume_attachments/{volume_id}
    "os-interface": "port_id",  # nova: /servers/{server_id}/os-interface/{port_id}
    "os-quota-sets": "project_id",  # nova, cinder: /os-quota-sets/{project_id}
    "os-simple-tenant-usage": "project_id",
    "quotas": "project_id",  # neutron: /quotas/{project_id}
    "allocations": "consumer_id",  # placement: /allocations/{consumer_uuid}
    "os-instance-actions": "request_id",
    "aliases": "alias_id",
    "statuses": "status_id",
    "indices": "index_id",
}


@dataclass(frozen=True)
class PlaceholderRule:
    """``pattern`` searched in a path; group 1 (or the match) becomes ``{name}``.

    ``name`` None keeps the matched text as it is.
    """

    pattern: str
    name: str | None


@dataclass(frozen=True)
class Placeholder:
    """One legend entry: ``{name}`` stands for ``value``."""

    name: str
    value: str

    @property
    def token(self) -> str:
        return f"{{{self.name}}}"


def collection_name(segment: str) -> str:
    """The placeholder name for an ID after the collection ``segment``."""
    special = SPECIAL_COLLECTIONS.get(segment.lower())
    if special:
        return special
    word = segment.lower()
    if word.startswith("os-"):
        word = word[3:]
    word = re.sub(r"[^a-z0-9]+", "_", word).strip("_")
    if not word:
        return "id"
    head, _, last = word.rpartition("_")
    last = singular(last)
    return f"{head}_{last}_id" if head else f"{last}_id"


def singular(word: str) -> str:
    """A plain English singular, good enough for API collection names."""
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if len(word) > 1 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def is_id(segment: str) -> bool:
    """Whether a path segment looks like an ID (UUID, 32 hex, swift account)."""
    return _ID.fullmatch(segment) is not None


def safe_name(name: str) -> str:
    """``name`` reduced to ``[A-Za-z0-9_]`` (never empty)."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "id"


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class _Namer:
    """Assigns names to values, in the order paths are read."""

    def __init__(self, rules: tuple[PlaceholderRule, ...]):
        self.rules = rules
        self.by_value: dict[str, str] = {}
        self.used: set[str] = set()
        self.legend: list[Placeholder] = []
        #: Per kind, the counter of its last name: names only ever get taken, so
        #: the search for a free one resumes there instead of at ``kind`` (the
        #: n-th image id would otherwise try n-1 taken names first: quadratic).
        self.counters: dict[str, int] = {}

    def name_for(self, value: str, kind: str) -> str:
        known = self.by_value.get(value)
        if known is not None:
            return known
        kind = safe_name(kind)
        counter = self.counters.get(kind, 1)
        name = kind if counter == 1 else f"{kind}_{counter}"
        while name in self.used:
            counter += 1
            name = f"{kind}_{counter}"
        self.counters[kind] = counter
        self.used.add(name)
        self.by_value[value] = name
        self.legend.append(Placeholder(name, value))
        return name

    def path(self, path: str) -> str:
        """``path`` with its IDs replaced by ``{name}`` (names assigned on the way)."""
        claims: list[tuple[int, int, str | None]] = []  # start, end, kind (None: keep literal)
        for rule in self.rules:
            regex = _compiled(rule.pattern)
            for match in regex.finditer(path):
                start, end = match.span(1) if regex.groups else match.span()
                if start < end and not _overlaps(claims, start, end):
                    claims.append((start, end, rule.name))
        claims.extend(claim for claim in _builtin_claims(path) if not _overlaps(claims, claim[0], claim[1]))
        claims.sort()
        out: list[str] = []
        position = 0
        for start, end, kind in claims:
            if kind is None:
                continue
            out.append(path[position:start])
            out.append("{" + self.name_for(path[start:end], kind) + "}")
            position = end
        out.append(path[position:])
        return "".join(out)


def _overlaps(claims: list[tuple[int, int, str | None]], start: int, end: int) -> bool:
    return any(start < c_end and c_start < end for c_start, c_end, _ in claims)


def _segments(path: str) -> list[tuple[int, int, str]]:
    """``(start, end, text)`` of every non-empty ``/``-separated segment."""
    return [(m.start(), m.end(), m.group()) for m in re.finditer(r"[^/]+", path)]


def _builtin_claims(path: str) -> list[tuple[int, int, str]]:
    segments = _segments(path)
    claims: list[tuple[int, int, str]] = []
    for index, (start, end, text) in enumerate(segments):
        if _ACCOUNT.fullmatch(text):
            claims.append((start, end, "account"))
            rest = segments[index + 1:]
            if rest and is_id(rest[0][2]):
                claims.append((rest[0][0], rest[0][1], "container"))
            if len(rest) > 1:
                obj_start, obj_end = rest[1][0], rest[-1][1]
                if is_id(path[obj_start:obj_end]):
                    claims.append((obj_start, obj_end, "object"))
            return claims
        if not is_id(text):
            continue
        previous = segments[index - 1][2] if index else ""
        if _VERSION.fullmatch(previous):
            kind = "project_id"
        elif previous and not is_id(previous):
            kind = collection_name(previous)
        else:
            kind = "id"
        claims.append((start, end, kind))
    return claims


def apply_placeholders(trace: Trace, rules: Iterable[PlaceholderRule] = (),
                       in_log: bool = False) -> tuple[Trace, tuple[Placeholder, ...]]:
    """``trace`` with placeholders in its paths (and URLs when ``in_log``), and the legend.

    Paths are read in message order (an exchange before the ones nested in
    it), so names follow first appearance in the diagram.
    """
    namer = _Namer(tuple(rules))

    def visit(exchange: Exchange) -> Exchange:
        path = namer.path(exchange.path)
        children = tuple(visit(child) for child in exchange.children)
        url = _url_with_path(exchange.url, exchange.path, path) if in_log else exchange.url
        return replace(exchange, path=path, url=url, children=children)

    exchanges = tuple(visit(exchange) for exchange in trace.exchanges)
    return replace(trace, exchanges=exchanges), tuple(namer.legend)


def _url_with_path(url: str, old_path: str, new_path: str) -> str:
    """``url`` with its path replaced, when its path is the exchange's path."""
    if old_path == new_path:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if (parts.path or "/") != old_path:
        return url
    return urlunsplit(parts._replace(path=new_path))


def load_placeholder_rules(path: str | Path) -> tuple[PlaceholderRule, ...]:
    """User rules from a JSON file (see ``docs/placeholders.md``)."""
    return load_rule_file(path, "placeholder", parse_placeholder_rules)


def parse_placeholder_rules(text: str) -> tuple[PlaceholderRule, ...]:
    """``[{"pattern": REGEX, "name": NAME}, ...]`` (or one such object)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    items = data if isinstance(data, list) else [data]
    return tuple(_rule(item, index) for index, item in enumerate(items, 1))


def _rule(item: Any, index: int) -> PlaceholderRule:
    where = f"rule {index}"
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected an object with \"pattern\" and \"name\"")
    unknown = set(item) - {"pattern", "name"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (expected pattern, name)")
    pattern, name = item.get("pattern"), item.get("name")
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"{where}: \"pattern\" must be a non-empty regular expression")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: bad regular expression {pattern!r}: {exc}") from None
    if "name" not in item:
        raise ValueError(f"{where}: \"name\" is missing (null keeps the matched text)")
    if name is not None and (not isinstance(name, str) or not _NAME.fullmatch(name)):
        raise ValueError(f"{where}: \"name\" must be null or match [A-Za-z_][A-Za-z0-9_]*")
    return PlaceholderRule(pattern, name)
