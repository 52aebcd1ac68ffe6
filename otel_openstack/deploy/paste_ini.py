"""Put our WSGI filter into every pipeline of a service's paste ini, and take it out again.

``enable`` and ``disable`` are pure: text in, text out.  The text is edited
line by line, never written back through configparser, so comments, order,
blank lines, whitespace and line endings stay as they were, the diff shows
only what we did, and ``disable(enable(text)) == text`` byte for byte:

* a pipeline gets ``otel_openstack`` plus one space, inserted before the
  anchor filter (``authtoken`` by default), after it with ``after=``, or
  first when the pipeline has no such filter; ``disable`` removes the name
  and one space next to it, which gives back exactly what was there;
* the ``[filter:otel_openstack]`` section is appended at the end of the file,
  after a blank line and a marker comment; its last line ends with a newline
  only if the file did, which is how ``disable`` knows whether to take the
  file's last newline away again.

Pipelines are what PasteDeploy and the services read as pipelines: the
``pipeline =`` value of ``[pipeline:*]`` sections (swift, cinder's
version and healthcheck apps, nova's version apps), and every option of a
``[composite:*]`` section whose factory is a ``pipeline_factory`` (nova's
``keystone =``, cinder's ``noauth =``/``keystone =``, glance's ``default =``,
``keystone+caching =`` ..., neutron's): the service picks one of them by its
auth strategy or deployment flavor, so each gets the filter.

Reading follows configparser's rules (which PasteDeploy uses): the file is
first checked by configparser itself, then scanned with the same line rules
(comments, indented continuation lines, ``=`` or ``:``) to know where each
word of a pipeline is.  The file operations (backup, atomic write keeping
mode and owner, unified diff) are at the end.
"""

from __future__ import annotations

import configparser
import difflib
import os
import re
import shutil
import stat
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from otel_openstack.naming import SERVICE_TYPE_NAMES

#: Name of our filter, in pipelines and as ``[filter:otel_openstack]``.
FILTER_NAME = "otel_openstack"
#: Our paste entry point.
FACTORY = "otel_openstack.instrumentation.wsgi:filter_factory"
#: First line of the block ``enable`` appends (``disable`` looks for it).
MARKER = "# Added by `otel-openstack enable-wsgi`; `otel-openstack disable-wsgi` takes it out again."
#: Default anchor: before ``authtoken``, so keystonemiddleware's token validation is inside our span.
DEFAULT_BEFORE = "authtoken"
#: ``PASTE_INI`` + this is the untouched copy ``enable_file`` keeps.
BACKUP_SUFFIX = ".otel-openstack.bak"

#: Section kinds PasteDeploy knows (``[kind:name]``); a file with none of them is not a paste ini.
_PASTE_KINDS = {"app", "application", "filter", "filter-app", "pipeline", "composite", "composit", "server"}
#: Options of a pipeline_factory composite that are not pipelines.
_NOT_PIPELINE_KEYS = ("use", "paste.composite_factory")
_NOT_PIPELINE_PREFIXES = ("paste.", "set ", "get ")
#: Packages that say nothing about which service a paste ini belongs to.
_GENERIC_PACKAGES = {"paste", "pastedeploy", "oslo_middleware", "keystonemiddleware", "osprofiler",
                     "otel_openstack", "webob", "routes", "oslo_service", "config"}
#: Top-level package -> devstack process name (``glance`` -> ``glance-api``).
_PROJECT_NAMES = {name.split("-")[0]: name for name in SERVICE_TYPE_NAMES.values()}

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
_SECTCRE = configparser.RawConfigParser.SECTCRE
_OPTCRE = configparser.RawConfigParser.OPTCRE
_WORD = re.compile(r"\S+")


class PasteIniError(ValueError):
    """The input is not a paste ini this can edit; the message is one line."""


@dataclass(frozen=True)
class Token:
    """One word of an option's value: line index, start and end column."""

    line: int
    start: int
    end: int
    text: str


@dataclass
class Option:
    key: str
    line: int
    tokens: list[Token] = field(default_factory=list)

    @property
    def value(self) -> str:
        return " ".join(t.text for t in self.tokens)


@dataclass
class Section:
    header: str
    line: int
    end: int = -1
    options: dict[str, Option] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``pipeline`` for ``[pipeline:main]``; PasteDeploy matches ``kind:`` at the very start."""
        kind, sep, _ = self.header.partition(":")
        return kind if sep else ""

    @property
    def name(self) -> str:
        return self.header.partition(":")[2].strip()


@dataclass(frozen=True)
class Pipeline:
    """A pipeline: ``[pipeline:X] pipeline =`` or one option of a pipeline_factory composite."""

    section: str
    key: str
    tokens: tuple[Token, ...]

    @property
    def names(self) -> list[str]:
        return [t.text for t in self.tokens]

    @property
    def label(self) -> str:
        return f"[{self.section}] {self.key}"


@dataclass
class PasteIni:
    """A scanned paste ini: its lines (body, line ending) and sections."""

    lines: list[tuple[str, str]]
    sections: list[Section]

    @property
    def newline(self) -> str:
        """The file's line ending (the first one found), ``\\n`` for a one-line file."""
        return next((end for _, end in self.lines if end), "\n")

    def pipelines(self) -> list[Pipeline]:
        found = []
        for section in self.sections:
            if section.kind == "pipeline":
                option = section.options.get("pipeline")
                if option is not None and option.tokens:
                    found.append(Pipeline(section.header, option.key, tuple(option.tokens)))
            elif section.kind in ("composite", "composit") and _is_pipeline_factory(section):
                for key, option in section.options.items():
                    if key in _NOT_PIPELINE_KEYS or key.startswith(_NOT_PIPELINE_PREFIXES) or not option.tokens:
                        continue
                    found.append(Pipeline(section.header, key, tuple(option.tokens)))
        return found

    def filter_section(self, name: str = FILTER_NAME) -> Section | None:
        return next((s for s in self.sections if s.kind == "filter" and s.name == name), None)

    def marked(self, section: Section) -> bool:
        """True when ``section`` is the block ``enable`` wrote (the marker line is right above it)."""
        return section.line > 0 and self.lines[section.line - 1][0] == MARKER


def _is_pipeline_factory(section: Section) -> bool:
    for key in ("use", "paste.composite_factory"):
        option = section.options.get(key)
        if option is not None and re.search(r"pipeline_factory", option.value):
            return True
    return False


@dataclass
class Edit:
    """What ``enable`` or ``disable`` did: the new text, and what to tell the user."""

    text: str
    changed: bool
    pipelines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    section_added: bool = False
    section_removed: bool = False
    service_name: str | None = None


def split_lines(text: str) -> list[tuple[str, str]]:
    """``[(body, ending)]`` with ``\\r\\n``, ``\\n`` or ``\\r`` endings kept (the last may be '')."""
    lines = []
    for match in _LINE.finditer(text):
        chunk = match.group()
        if chunk:
            body = chunk.rstrip("\r\n")
            lines.append((body, chunk[len(body):]))
    return lines


def join_lines(lines: list[tuple[str, str]]) -> str:
    return "".join(body + end for body, end in lines)


def parse(text: str, source: str = "<paste ini>") -> PasteIni:
    """Check ``text`` is a paste ini (configparser's rules, as PasteDeploy reads it) and scan it."""
    checker = configparser.RawConfigParser(strict=True)
    checker.optionxform = str  # type: ignore[assignment,method-assign]  # PasteDeploy keeps case
    try:
        checker.read_string(text.replace("\r\n", "\n").replace("\r", "\n"), source)
    except configparser.Error as exc:
        first = " ".join(str(exc).split())
        raise PasteIniError(f"{source}: not a paste ini ({first})") from None
    doc = _scan(split_lines(text))
    if not any(s.kind in _PASTE_KINDS for s in doc.sections):
        raise PasteIniError(f"{source}: not a paste ini (no [app:...], [filter:...], [pipeline:...] "
                            f"or [composite:...] section)")
    return doc


def _scan(lines: list[tuple[str, str]]) -> PasteIni:
    """configparser's ``_read`` line rules, keeping where each value word is."""
    sections: list[Section] = []
    current: Section | None = None
    option: Option | None = None
    indent_level = 0
    for index, (body, _) in enumerate(lines):
        stripped = body.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        indent = len(body) - len(body.lstrip())
        if current is not None and option is not None and indent > indent_level:
            option.tokens.extend(_words(index, body, 0))
            continue
        indent_level = indent
        header = _SECTCRE.match(stripped)
        if header:
            if current is not None:
                current.end = index
            current = Section(header.group("header"), index)
            sections.append(current)
            option = None
            continue
        match = _OPTCRE.match(stripped) if current is not None else None
        if match is None or current is None:
            option = None
            continue
        key = match.group("option").rstrip()
        option = Option(key, index, list(_words(index, body, indent + match.start("value"))))
        current.options[key] = option
    if current is not None:
        current.end = len(lines)
    return PasteIni(lines, sections)


def _words(index: int, body: str, offset: int) -> list[Token]:
    return [Token(index, offset + m.start(), offset + m.end(), m.group()) for m in _WORD.finditer(body[offset:])]


def guess_service_name(doc: PasteIni) -> str | None:
    """The service a paste ini belongs to, from the packages its factories name.

    ``glance.api...`` -> ``glance-api``, ``egg:swift#proxy`` -> ``swift-proxy-server``,
    ``neutron.auth`` -> ``neutron-server``; another project ``x`` -> ``x-api``.
    """
    counts: Counter[str] = Counter()
    for section in doc.sections:
        for key, option in section.options.items():
            if key == "use" or key.startswith("paste.") and key.endswith("_factory"):
                match = re.match(r"\s*(?:call:|egg:)?\s*([A-Za-z_][\w]*)", option.value)
                if match and match.group(1).lower() not in _GENERIC_PACKAGES:
                    counts[match.group(1).lower()] += 1
    if not counts:
        return None
    project = counts.most_common(1)[0][0]
    return _PROJECT_NAMES.get(project, f"{project}-api")


def _apply(lines: list[tuple[str, str]], edits: list[tuple[int, int, int, str]]) -> list[tuple[str, str]]:
    """Replace ``body[start:end]`` by a string, per line, right to left."""
    out = list(lines)
    for index, start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        body, ending = out[index]
        out[index] = (body[:start] + new + body[end:], ending)
    return out


def _filter_block(service_name: str | None) -> list[str]:
    block = [MARKER, f"[filter:{FILTER_NAME}]", f"paste.filter_factory = {FACTORY}"]
    if service_name:
        block.append(f"service_name = {service_name}")
    return block


def enable(text: str, service_name: str | None = None, before: str | None = None, after: str | None = None,
           source: str = "<paste ini>") -> Edit:
    """``text`` with our filter in every pipeline and its section at the end.

    ``before`` (default ``authtoken``) or ``after`` names the anchor filter;
    a pipeline without it gets ours first, and a note says so.  A pipeline
    that has ours already is left alone, and so is an existing
    ``[filter:otel_openstack]`` section (except that the one ``enable`` wrote
    takes a new ``service_name``), so running it twice changes nothing.
    """
    if before and after:
        raise ValueError("give before or after, not both")
    anchor, place = (after, "after") if after else (before or DEFAULT_BEFORE, "before")
    doc = parse(text, source)
    pipelines = doc.pipelines()
    if not pipelines:
        raise PasteIniError(f"{source}: no pipeline found (no [pipeline:...] section, no composite "
                            f"with a pipeline_factory)")
    if service_name is None:
        existing = doc.filter_section()
        kept = existing.options.get("service_name") if existing else None
        service_name = kept.value if kept and kept.value else guess_service_name(doc)
    notes: list[str] = []
    changed: list[str] = []
    edits: list[tuple[int, int, int, str]] = []
    for pipeline in pipelines:
        names = pipeline.names
        if FILTER_NAME in names:
            continue
        candidates = names[:-1] if place == "after" else names  # nothing goes after the app
        if anchor in candidates:
            k = candidates.index(anchor)
            if place == "before":
                token = pipeline.tokens[k]
                edits.append((token.line, token.start, token.start, FILTER_NAME + " "))
            elif pipeline.tokens[k + 1].line == pipeline.tokens[k].line:
                token = pipeline.tokens[k + 1]
                edits.append((token.line, token.start, token.start, FILTER_NAME + " "))
            else:
                token = pipeline.tokens[k]
                edits.append((token.line, token.end, token.end, " " + FILTER_NAME))
        else:
            token = pipeline.tokens[0]
            edits.append((token.line, token.start, token.start, FILTER_NAME + " "))
            notes.append(f"{pipeline.label}: no {anchor} in it, {FILTER_NAME} put first")
        changed.append(pipeline.label)
    lines = _apply(doc.lines, edits)

    section = doc.filter_section()
    section_added = False
    if section is None:
        newline = doc.newline
        final = lines[-1][1] if lines else ""
        if lines and not final:
            lines[-1] = (lines[-1][0], newline)
        block = [("", newline)] + [(body, newline) for body in _filter_block(service_name)]
        block[-1] = (block[-1][0], final)  # the file's last line ending, or none, stays last
        lines.extend(block)
        section_added = True
    elif doc.marked(section):
        lines = _set_service_name(lines, section, service_name, doc.newline, notes)
    else:
        notes.append(f"[{section.header}] was already there (not written by enable-wsgi): left as it is")
    new_text = join_lines(lines)
    return Edit(new_text, new_text != text, changed, notes, section_added=section_added, service_name=service_name)


def _set_service_name(lines: list[tuple[str, str]], section: Section, service_name: str | None, newline: str,
                      notes: list[str]) -> list[tuple[str, str]]:
    option = section.options.get("service_name")
    if not service_name or (option is not None and option.value == service_name):
        return lines
    if option is not None and option.tokens:
        first, last = option.tokens[0], option.tokens[-1]
        if first.line == last.line:
            notes.append(f"[{section.header}] service_name {option.value} -> {service_name}")
            return _apply(lines, [(first.line, first.start, last.end, service_name)])
        return lines
    after = max([section.line] + [o.line for o in section.options.values()] +
                [t.line for o in section.options.values() for t in o.tokens])
    out = list(lines)
    body, ending = out[after]
    out[after] = (body, ending or newline)
    out.insert(after + 1, (f"service_name = {service_name}", ending))
    notes.append(f"[{section.header}] service_name {service_name} added")
    return out


def disable(text: str, source: str = "<paste ini>") -> Edit:
    """``text`` without our filter: out of every pipeline, and its section gone.

    The exact inverse of :func:`enable`: ``disable(enable(t).text).text == t``.
    """
    doc = parse(text, source)
    if not doc.pipelines():
        raise PasteIniError(f"{source}: no pipeline found (no [pipeline:...] section, no composite "
                            f"with a pipeline_factory)")
    edits: list[tuple[int, int, int, str]] = []
    changed: list[str] = []
    for pipeline in doc.pipelines():
        ours = [t for t in pipeline.tokens if t.text == FILTER_NAME]
        for token in ours:
            body = doc.lines[token.line][0]
            start, end = token.start, token.end
            if body[end:end + 1] == " ":
                end += 1
            elif start > 0 and body[start - 1] == " ":
                start -= 1
            edits.append((token.line, start, end, ""))
        if ours:
            changed.append(pipeline.label)
    lines = _apply(doc.lines, edits)

    section = doc.filter_section()
    removed = False
    if section is not None:
        first, end = section.line, section.end
        while end > first + 1 and _blank_or_comment(lines[end - 1][0]):
            end -= 1  # comments and blank lines before the next section are the next section's
        if doc.marked(section):
            first -= 1
            if first > 0 and not lines[first - 1][0].strip():
                first -= 1
        at_end = end == len(lines)
        last_ending = lines[end - 1][1]
        del lines[first:end]
        if at_end and not last_ending and lines:
            lines[-1] = (lines[-1][0], "")
        removed = True
    new_text = join_lines(lines)
    return Edit(new_text, new_text != text, changed, section_removed=removed)


def _blank_or_comment(body: str) -> bool:
    stripped = body.strip()
    return not stripped or stripped.startswith(("#", ";"))


def unified_diff(old: str, new: str, path: str) -> str:
    """``diff -u`` of two texts, with ``\\ No newline at end of file`` where it applies."""
    a = [body + end for body, end in split_lines(old)]
    b = [body + end for body, end in split_lines(new)]
    out = []
    for line in difflib.unified_diff(a, b, fromfile=path, tofile=path, lineterm="\n"):
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


# --- files --------------------------------------------------------------------------------------


@dataclass
class FileResult:
    path: Path
    edit: Edit
    diff: str
    written: bool = False
    backup: Path | None = None
    notes: list[str] = field(default_factory=list)


def backup_path(path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(path)}{BACKUP_SUFFIX}")


def read_ini(path: str | os.PathLike[str]) -> str:
    """The file's text, exactly (UTF-8); ``PasteIniError`` for what is not a readable text file.

    Every problem with the input is a ``PasteIniError``; an ``OSError`` from
    the functions below means writing (the backup or the file) failed.
    """
    p = Path(path)
    if not p.exists():
        raise PasteIniError(f"{path}: no such file")
    if p.is_dir():
        raise PasteIniError(f"{path}: is a folder, not a paste ini")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise PasteIniError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PasteIniError(f"{path}: not a paste ini (not UTF-8 text)") from None


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Replace the file's content atomically, keeping its mode and (when allowed) its owner.

    Through a symlink the target is replaced.  When the folder is not
    writable, the file is rewritten in place instead.
    """
    target = Path(os.path.realpath(path))
    data = text.encode("utf-8")
    info = target.stat()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except PermissionError:
        with open(target, "wb") as out:
            out.write(data)
        return
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, stat.S_IMODE(info.st_mode))
        if hasattr(os, "chown"):
            try:
                os.chown(tmp, info.st_uid, info.st_gid)
            except PermissionError:
                pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def enable_file(path: str | os.PathLike[str], service_name: str | None = None, before: str | None = None,
                after: str | None = None, dry_run: bool = False) -> FileResult:
    """:func:`enable` on a file: backup first (kept if there already), then write; or only the diff."""
    text = read_ini(path)
    edit = enable(text, service_name=service_name, before=before, after=after, source=os.fspath(path))
    result = FileResult(Path(path), edit, unified_diff(text, edit.text, os.fspath(path)))
    if not edit.changed or dry_run:
        return result
    backup = backup_path(path)
    if backup.exists():
        result.notes.append(f"backup {backup} already there: kept as it is")
    else:
        shutil.copy2(os.path.realpath(path), backup)
    result.backup = backup
    write_text(path, edit.text)
    result.written = True
    return result


def disable_file(path: str | os.PathLike[str], dry_run: bool = False) -> FileResult:
    """:func:`disable` on a file; a backup that is now identical to the file is removed."""
    text = read_ini(path)
    edit = disable(text, source=os.fspath(path))
    result = FileResult(Path(path), edit, unified_diff(text, edit.text, os.fspath(path)))
    backup = backup_path(path)
    if dry_run:
        return result
    if edit.changed:
        write_text(path, edit.text)
        result.written = True
    if backup.is_file():
        if backup.read_bytes() == edit.text.encode("utf-8"):
            backup.unlink()
            result.notes.append(f"{path} is identical to its backup again: {backup} removed")
        else:
            result.backup = backup
            result.notes.append(f"backup {backup} kept: it differs from {path}")
    return result
