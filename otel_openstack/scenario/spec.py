"""The scenario file: YAML in, checked dataclasses out (pure: no process, no cloud).

A scenario lists ``openstack`` commands to document, in the order of the
site's navigation, with what they need::

    title: OpenStack image commands           # the site's name (default: the file's name)
    description: One page per command.        # Markdown for the site's home page (optional)

    files:                                    # files in the work folder, where every command runs
      cirros: {qcow2: 1MiB}                   # an empty, valid qcow2 (virtual size), cirros.qcow2
      saved: {name: saved.qcow2}              # only a name: a command writes it
      real: {path: ~/cirros-0.6.1.img}        # an existing file (relative to this file), linked in

    setup:                                    # run without instrumentation, each before the first
      - name: image                           # command that needs it (the others before the first)
        run: openstack image create --file {files.cirros} --disk-format qcow2 --shared --format json img
      - name: project
        run: openstack project create --format json member-{run.id}

    commands:                                 # each runs under opentelemetry-instrument: one page
      - title: openstack image show           # the page's title in the navigation (required)
        run: openstack image show --format json {image.id}
        needs: [project]                      # more than what the references imply (optional)
        name: shown                           # for `needs:` of later commands, and {shown.id} (optional)
        slug: image-show                      # the page's folder (default: from the title)
        description: Show one image.          # Markdown under the page's title (optional)

    cleanup:                                  # at the end, whatever happened; skipped when what
      - openstack project delete {project.id} # it refers to was never made; failures only warn

``name`` names a step or command for the ``needs:`` of others; when its
command line asks for JSON (``--format json``, ``-f json``), its output is
kept too: ``{NAME.FIELD}`` (``{image.id}``, ``{image.properties.os_distro}``,
``{projects.0.ID}``) is a field of it;
``{files.NAME}`` is a file's name in the work folder; ``{run.id}`` is 8 hex
digits unique to the run (for names that must not clash with an earlier
run's leftovers); ``{{`` and ``}}`` are literal braces.  A reference is a
need: a command runs only when everything it needs was made (setup steps
run first, earlier commands must have succeeded), otherwise it is recorded
as not run.  ``run`` is one string (split as a shell would, with no
expansion) or a list of words; references are replaced inside a word, so a
value with spaces stays one argument.

Everything wrong with a file is a :class:`ScenarioError` whose message is one
line naming the file and the entry.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

PROGRAM = "openstack"
#: Built-in namespaces of references.
FILES = "files"
RUN = "run"
RESERVED_NAMES = (FILES, RUN)
#: Slugs that would collide with what mkdocs-material puts in a site.
RESERVED_SLUGS = ("assets", "search", "javascripts", "stylesheets", "index", "site")

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_FIELD = re.compile(r"[A-Za-z0-9_-]+")
#: ``{name}``, ``{name.field.0.x}``; ``{{`` / ``}}`` are escapes.
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z0-9_-]+)*)\}")
_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)(i?B)?\s*\Z", re.I)
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
#: Largest qcow2 the built-in writer makes (one L1 cluster: 4 TiB).
MAX_QCOW2 = 1 << 42

_TOP_KEYS = ("title", "description", "files", "setup", "commands", "cleanup")
_COMMAND_KEYS = ("title", "run", "name", "needs", "slug", "description")
_STEP_KEYS = ("run", "name", "needs")
_FILE_KEYS = ("qcow2", "path", "name")


class ScenarioError(ValueError):
    """The scenario file is unreadable or wrong; ``str()`` is one line."""


# --- the model -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """``{name.a.b}``: ``name`` and the field path ``("a", "b")``."""

    name: str
    path: tuple[str, ...]

    @property
    def text(self) -> str:
        return "{" + ".".join((self.name, *self.path)) + "}"


@dataclass(frozen=True)
class FileSpec:
    """A file of the work folder: made (``qcow2``), linked (``source``) or only named."""

    name: str  # the key: {files.NAME}
    filename: str  # its name in the work folder
    qcow2: int | None = None  # virtual size of an empty qcow2 to write
    source: Path | None = None  # an existing file, linked in

    @property
    def kind(self) -> str:
        return "qcow2" if self.qcow2 is not None else "path" if self.source is not None else "output"


@dataclass(frozen=True)
class Step:
    """A setup or cleanup command (run without instrumentation)."""

    where: str  # "setup[1] (image)": for messages
    run: tuple[str, ...]  # words, with references
    name: str | None = None
    needs: tuple[str, ...] = ()  # every name it needs: given and referenced, in order

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(ref for word in self.run for ref in references(word))


@dataclass(frozen=True)
class Command:
    """A documented command: run under ``opentelemetry-instrument``, one page."""

    where: str
    title: str
    slug: str
    run: tuple[str, ...]
    name: str | None = None
    needs: tuple[str, ...] = ()
    description: str | None = None

    @property
    def references(self) -> tuple[Reference, ...]:
        return tuple(ref for word in self.run for ref in references(word))


@dataclass(frozen=True)
class Scenario:
    title: str
    commands: tuple[Command, ...]
    description: str | None = None
    files: tuple[FileSpec, ...] = ()
    setup: tuple[Step, ...] = ()
    cleanup: tuple[Step, ...] = ()
    source: Path | None = None  # the file it was read from

    def step(self, name: str) -> Step | None:
        return next((s for s in self.setup if s.name == name), None)

    def command(self, name: str) -> Command | None:
        return next((c for c in self.commands if c.name == name), None)

    def setup_closure(self, names: Iterable[str]) -> list[Step]:
        """The setup steps ``names`` need (directly or through other steps), in file order."""
        wanted: set[str] = set()
        todo = [n for n in names if self.step(n) is not None]
        while todo:
            name = todo.pop()
            if name in wanted:
                continue
            wanted.add(name)
            step = self.step(name)
            assert step is not None
            todo.extend(n for n in step.needs if self.step(n) is not None)
        return [s for s in self.setup if s.name in wanted]


# --- templates -------------------------------------------------------------------------------------

def references(word: str) -> list[Reference]:
    return [Reference(m.group(1), tuple(p for p in m.group(2).split(".") if p))
            for m in _TOKEN.finditer(word) if m.group(1)]


def substitute(word: str, value_of: Callable[[Reference], str]) -> str:
    """``word`` with every reference replaced by ``value_of(reference)`` and ``{{``/``}}`` unescaped."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "{{":
            return "{"
        if match.group(0) == "}}":
            return "}"
        return value_of(Reference(match.group(1), tuple(p for p in match.group(2).split(".") if p)))

    return _TOKEN.sub(replace, word)


def lookup(value: Any, path: Sequence[str]) -> Any:
    """``value[path[0]][path[1]]...``: keys of objects, indexes of lists; KeyError naming the step."""
    for depth, key in enumerate(path):
        where = ".".join(path[: depth + 1])
        if isinstance(value, Mapping):
            if key not in value:
                keys = ", ".join(sorted(str(k) for k in value)[:12])
                raise KeyError(f"no field {where!r} (it has: {keys or 'nothing'})")
            value = value[key]
        elif isinstance(value, list):
            if not key.isdigit() or int(key) >= len(value):
                raise KeyError(f"no item {where!r} (a list of {len(value)})")
            value = value[int(key)]
        else:
            raise KeyError(f"no field {where!r} (the value there is not an object or a list)")
    return value


def prints_json(words: Sequence[str]) -> bool:
    """True when the command line asks cliff for JSON (``-f json``, ``--format json``, ``--format=json``)."""
    for index, word in enumerate(words):
        if word in ("-f", "--format") and index + 1 < len(words) and words[index + 1] == "json":
            return True
        if word in ("-fjson", "--format=json"):
            return True
    return False


# --- sizes and slugs -------------------------------------------------------------------------------

def parse_size(value: Any) -> int:
    """``1048576``, ``1MiB``, ``512K``, ``2 GiB`` (K, M, G, T are powers of 1024) -> bytes."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as 1MiB, not {value!r}")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"expected a size such as 1MiB or 65536, not {value!r}")
        size = int(match.group(1)) * _SIZE_UNITS[match.group(2).upper()]
    if size <= 0:
        raise ValueError(f"expected a size above 0, not {value!r}")
    return size


def slug(text: str) -> str:
    """``openstack image add project`` -> ``openstack-image-add-project``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- loading ---------------------------------------------------------------------------------------

def load(path: str | Path) -> Scenario:
    """Read and check a scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a folder, not a scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read it ({_one_line(str(exc))})") from None
    return loads(text, path)


def loads(text: str, path: str | Path = "<scenario>") -> Scenario:
    """Parse and check scenario text; ``path`` names it in messages and anchors relative file paths."""
    data = _yaml(text, str(path))
    try:
        return _Checker(Path(path)).scenario(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def _yaml(text: str, name: str) -> Any:
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    mark = key_node.start_mark
                    raise ScenarioError(f"{name}: line {mark.line + 1}: the key {key!r} is given twice")
                seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "invalid"
        raise ScenarioError(f"{name}: not valid YAML: {where}{_one_line(problem)}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{name}: not valid YAML: {_one_line(str(exc))}") from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Checker:
    """Turns the parsed YAML into a Scenario, or raises the first problem as one line."""

    def __init__(self, path: Path):
        self.path = path
        self.base = path.parent if str(path) != "<scenario>" else Path(".")

    # -- the parts --

    def scenario(self, data: Any) -> Scenario:
        if data is None:
            raise ScenarioError("the file is empty: it needs at least `commands:`")
        if not isinstance(data, Mapping):
            raise ScenarioError(f"expected a mapping with `commands:` at the top, not {_kind(data)}")
        self._keys(data, _TOP_KEYS, "the top level")
        if "commands" not in data:
            raise ScenarioError("no `commands:`: nothing to document")
        title = self._text(data.get("title", self.path.stem if self.path.name else "Scenario"), "title")
        description = self._optional_text(data, "description", "description", one_line=False)
        files = self._files(data.get("files"))
        setup = self._steps(data.get("setup"), "setup")
        commands = self._commands(data["commands"])
        cleanup = self._steps(data.get("cleanup"), "cleanup")
        scenario = Scenario(title=title, description=description, files=files, setup=setup,
                            commands=commands, cleanup=cleanup, source=self.path)
        self._check_names(scenario)
        return scenario

    def _files(self, data: Any) -> tuple[FileSpec, ...]:
        if data is None:
            return ()
        if not isinstance(data, Mapping):
            raise ScenarioError(f"files: expected a mapping of names to files, not {_kind(data)}")
        files: list[FileSpec] = []
        filenames: dict[str, str] = {}
        for key, spec in data.items():
            where = f"files.{key}"
            if not isinstance(key, str) or not _NAME.match(key):
                raise ScenarioError(f"files: {key!r} is not a name (letters, digits, _ and -, "
                                    "starting with a letter)")
            if spec is None:
                spec = {}
            if not isinstance(spec, Mapping):
                raise ScenarioError(f"{where}: expected a mapping such as {{qcow2: 1MiB}}, "
                                    f"{{path: FILE}} or {{name: FILE}}, not {_kind(spec)}")
            self._keys(spec, _FILE_KEYS, where)
            if "qcow2" in spec and "path" in spec:
                raise ScenarioError(f"{where}: give `qcow2` (a file to make) or `path` (an existing "
                                    "file), not both")
            qcow2 = None
            source = None
            if "qcow2" in spec:
                try:
                    qcow2 = parse_size(spec["qcow2"])
                except ValueError as exc:
                    raise ScenarioError(f"{where}.qcow2: {exc}") from None
                if qcow2 > MAX_QCOW2:
                    raise ScenarioError(f"{where}.qcow2: at most 4TiB")
                default = f"{key}.qcow2"
            elif "path" in spec:
                text = self._text(spec["path"], f"{where}.path")
                source = Path(text).expanduser()
                if not source.is_absolute():
                    source = self.base / source
                default = source.name
            else:
                default = key
            filename = self._text(spec.get("name", default), f"{where}.name")
            if "/" in filename or "\\" in filename or filename in (".", "..") or filename.startswith("-"):
                raise ScenarioError(f"{where}.name: {filename!r} must be a plain file name "
                                    "(no folder, not starting with -)")
            if filename in filenames:
                raise ScenarioError(f"{where}: the file name {filename!r} is files.{filenames[filename]}'s too")
            filenames[filename] = key
            files.append(FileSpec(name=key, filename=filename, qcow2=qcow2, source=source))
        return tuple(files)

    def _steps(self, data: Any, section: str) -> tuple[Step, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            raise ScenarioError(f"{section}: expected a list of commands, not {_kind(data)}")
        steps = []
        for index, item in enumerate(data):
            where = f"{section}[{index}]"
            if isinstance(item, (str, list)):
                item = {"run": item}
            if not isinstance(item, Mapping):
                raise ScenarioError(f"{where}: expected a command line or a mapping with `run:`, "
                                    f"not {_kind(item)}")
            if section == "cleanup" and "name" in item:
                raise ScenarioError(f"{where}: a cleanup step has no `name` (nothing runs after it)")
            name = self._name(item, where)
            if name:
                where = f"{where} ({name})"
            self._keys(item, _STEP_KEYS, where)
            run = self._run(item, where)
            steps.append(Step(where=where, run=run, name=name, needs=self._needs(item, run, where)))
        return tuple(steps)

    def _commands(self, data: Any) -> tuple[Command, ...]:
        if not isinstance(data, list) or not data:
            raise ScenarioError("commands: expected a non-empty list of commands"
                                + ("" if isinstance(data, list) else f", not {_kind(data)}"))
        commands = []
        slugs: dict[str, str] = {}
        for index, item in enumerate(data):
            where = f"commands[{index}]"
            if not isinstance(item, Mapping):
                raise ScenarioError(f"{where}: expected a mapping with `title:` and `run:`, not {_kind(item)}")
            if "title" not in item:
                self._keys(item, _COMMAND_KEYS, where)
                raise ScenarioError(f"{where}: no `title:` (the page's title, e.g. openstack image create)")
            title = self._text(item["title"], f"{where}.title")
            where = f"{where} ({title})"
            self._keys(item, _COMMAND_KEYS, where)
            run = self._run(item, where)
            name = self._name(item, where)
            page = self._text(item["slug"], f"{where}.slug") if "slug" in item else slug(title)
            if not _SLUG.match(page):
                raise ScenarioError(f"{where}: the slug {page!r} must be lower-case letters, digits "
                                    "and -, starting with a letter or digit")
            if page in RESERVED_SLUGS:
                raise ScenarioError(f"{where}: the slug {page!r} is taken by the site itself; "
                                    "give the command another `slug:`")
            if page in slugs:
                raise ScenarioError(f"{where}: its page {page!r} is also {slugs[page]}'s; give one "
                                    "of them a `slug:`")
            slugs[page] = where
            description = self._optional_text(item, "description", f"{where}.description", one_line=False)
            commands.append(Command(where=where, title=title, slug=page, run=run, name=name,
                                    needs=self._needs(item, run, where), description=description))
        return tuple(commands)

    # -- names and references --

    def _check_names(self, scenario: Scenario) -> None:
        owners: dict[str, str] = {}
        for entry in (*scenario.setup, *scenario.commands):
            if entry.name is None:
                continue
            if entry.name in owners:
                raise ScenarioError(f"{entry.where}: the name {entry.name!r} is {owners[entry.name]}'s too")
            owners[entry.name] = entry.where
        files = {f.name for f in scenario.files}
        setup = {s.name for s in scenario.setup if s.name}
        earlier: set[str] = set()
        every = {c.name for c in scenario.commands if c.name}

        def check(entry: Step | Command, allowed: set[str], what: str) -> None:
            for word in entry.run:
                for ref in references(word):
                    self._check_reference(entry.where, ref, files, scenario)
            for name in entry.needs:
                if name in (FILES, RUN):
                    continue
                if name not in setup | every:
                    known = ", ".join(sorted(setup | every)) or "none"
                    raise ScenarioError(f"{entry.where}: needs {name!r}, which is no setup step or "
                                        f"command name (names: {known})")
                if name == entry.name:
                    raise ScenarioError(f"{entry.where}: needs itself")
                if name not in allowed:
                    raise ScenarioError(f"{entry.where}: needs {name!r}, {what}")

        for step in scenario.setup:
            check(step, setup - {step.name}, "but a setup step can only need other setup steps")
        self._check_cycles(scenario)
        for command in scenario.commands:
            check(command, setup | earlier, "a command named later: a command can only need setup "
                                            "steps and the commands before it")
            if command.name:
                earlier.add(command.name)
        for step in scenario.cleanup:
            check(step, setup | every, "")

    def _check_reference(self, where: str, ref: Reference, files: set[str], scenario: Scenario) -> None:
        if ref.name == FILES:
            if len(ref.path) != 1:
                raise ScenarioError(f"{where}: {ref.text}: say which file, e.g. {{files.NAME}}")
            if ref.path[0] not in files:
                known = ", ".join(sorted(files)) or "none declared"
                raise ScenarioError(f"{where}: {ref.text}: no such file in `files:` ({known})")
            return
        if ref.name == RUN:
            if ref.path != ("id",):
                raise ScenarioError(f"{where}: {ref.text}: the only run field is {{run.id}}")
            return
        entry = scenario.step(ref.name) or scenario.command(ref.name)
        if entry is None:
            names = [s.name for s in scenario.setup if s.name] + [c.name for c in scenario.commands if c.name]
            known = ", ".join([*names, "files", "run"])
            raise ScenarioError(f"{where}: {ref.text}: unknown name {ref.name!r} (names: {known})")
        if not ref.path:
            raise ScenarioError(f"{where}: {ref.text}: say which field of {ref.name}'s output, "
                                f"e.g. {{{ref.name}.id}}")
        if not prints_json(entry.run):
            raise ScenarioError(f"{where}: {ref.text}: {ref.name} prints no JSON to take fields from "
                                f"(add --format json to {entry.where})")

    def _check_cycles(self, scenario: Scenario) -> None:
        state: dict[str, int] = {}

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join(trail[trail.index(name):] + [name])
                raise ScenarioError(f"setup: the steps need each other in a circle: {cycle}")
            state[name] = 1
            step = scenario.step(name)
            assert step is not None
            for need in step.needs:
                if scenario.step(need) is not None:
                    visit(need, trail + [name])
            state[name] = 2

        for step in scenario.setup:
            if step.name:
                visit(step.name, [])

    # -- values --

    def _run(self, item: Mapping[str, Any], where: str) -> tuple[str, ...]:
        if "run" not in item:
            raise ScenarioError(f"{where}: no `run:` (the command line, e.g. openstack image list)")
        value = item["run"]
        if isinstance(value, str):
            try:
                words = shlex.split(value, comments=False)
            except ValueError as exc:
                raise ScenarioError(f"{where}.run: cannot split the command line: {exc}") from None
        elif isinstance(value, list) and all(isinstance(w, (str, int, float)) and not isinstance(w, bool)
                                             for w in value):
            words = [str(w) for w in value]
        else:
            raise ScenarioError(f"{where}.run: expected a command line or a list of words, not {_kind(value)}")
        if not words:
            raise ScenarioError(f"{where}.run: the command line is empty")
        if words[0] != PROGRAM:
            raise ScenarioError(f"{where}.run: must start with `{PROGRAM}`, not {words[0]!r}")
        if len(words) == 1:
            raise ScenarioError(f"{where}.run: `{PROGRAM}` alone is no command")
        for word in words:
            for match in re.finditer(r"\{[^{}]*\}", _TOKEN.sub("", word)):
                raise ScenarioError(f"{where}.run: {match.group(0)} is no reference (references look "
                                    "like {image.id}; write {{ and }} for literal braces)")
        return tuple(words)

    def _needs(self, item: Mapping[str, Any], run: Sequence[str], where: str) -> tuple[str, ...]:
        value = item.get("needs", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise ScenarioError(f"{where}.needs: expected a list of names, not {_kind(value)}")
        names: list[str] = []
        for name in [*value, *(ref.name for word in run for ref in references(word))]:
            if name in RESERVED_NAMES:
                continue
            if not _NAME.match(name):
                raise ScenarioError(f"{where}.needs: {name!r} is not a name")
            if name not in names:
                names.append(name)
        return tuple(names)

    def _name(self, item: Mapping[str, Any], where: str) -> str | None:
        if "name" not in item:
            return None
        name = item["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise ScenarioError(f"{where}.name: {name!r} is not a name (letters, digits, _ and -, "
                                "starting with a letter)")
        if name in RESERVED_NAMES:
            raise ScenarioError(f"{where}.name: {name!r} is reserved ({{files.X}} and {{run.id}})")
        return name

    def _keys(self, data: Mapping[Any, Any], allowed: Sequence[str], where: str) -> None:
        for key in data:
            if key not in allowed:
                raise ScenarioError(f"{where}: unknown key {key!r} (expected: {', '.join(allowed)})")

    def _text(self, value: Any, where: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ScenarioError(f"{where}: expected text, not {_kind(value)}")
        text = str(value).strip()
        if not text:
            raise ScenarioError(f"{where}: is empty")
        if "\n" in text or "\r" in text:
            raise ScenarioError(f"{where}: must be one line")
        return text

    def _optional_text(self, data: Mapping[str, Any], key: str, where: str, *, one_line: bool) -> str | None:
        if data.get(key) is None:
            return None
        value = data[key]
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: expected text, not {_kind(value)}")
        return self._text(value, where) if one_line else (value.strip("\n") or None)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


__all__ = [
    "Command", "FileSpec", "Reference", "Scenario", "ScenarioError", "Step", "load", "loads",
    "lookup", "parse_size", "prints_json", "references", "slug", "substitute",
]
