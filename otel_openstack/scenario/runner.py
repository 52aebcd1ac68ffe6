"""Run a scenario against a cloud: setup steps, documented commands, cleanup.

Every command runs in one work folder (the scenario's files are made there,
so a command line says ``--file cirros.qcow2``, not a temporary path):

* setup and cleanup steps run as plain ``openstack``; a named step's JSON
  output is kept, and ``{name.field}`` in later words is replaced by it;
* a documented command runs as ``opentelemetry-instrument openstack ...``
  with the demo's environment (``OTEL_TRACES_EXPORTER=otel_openstack``,
  metrics and logs off) and its own ``OTEL_OPENSTACK_OUTPUT_DIR``, so the
  folder it writes is known; that folder becomes its page.

A command whose needs are missing (a setup step failed, an earlier command
it needs failed) is recorded as not run; a failing command is recorded with
its exit status and stderr; the run goes on either way.  Cleanup steps run
at the end whatever happened (also after Ctrl-C), each only when what it
refers to was made; their failures are warnings.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from otel_openstack.pipeline import BODY_FILE, PAGE_FILE
from otel_openstack.scenario import files as scenario_files
from otel_openstack.scenario.site import Failure, Page
from otel_openstack.scenario.spec import (
    FILES, RUN, Command, Reference, Scenario, Step, lookup, prints_json, substitute,
)

#: The demo's tracing environment (examples/demo.py CLI_TRACING_ENV).
TRACING_ENV = {
    "OTEL_TRACES_EXPORTER": "otel_openstack",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}
#: Variables whose values never reach a page or a message.
SECRET_ENV = ("OS_PASSWORD", "OS_TOKEN", "OS_APPLICATION_CREDENTIAL_SECRET", "OS_CLIENT_SECRET")
DEFAULT_TIMEOUT = 300.0
#: At most this many last lines of a failed command's stderr go on its page.
STDERR_LINES = 200
_SECTION = re.compile(r"^### \(\d+\) ", re.M)


class RunnerError(Exception):
    """The run cannot start (no CLI, a missing input file); ``str()`` is one line."""


class _Unresolved(Exception):
    """A reference has no value (a field the output lacks); the step or command cannot run."""


# --- environments --------------------------------------------------------------------------------------

def scrubbed_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` without ``OS_*`` and foreign ``OTEL_*`` variables (otel-openstack's own stay).

    What a local cloud's commands run with, before its own ``OS_*``: a user's
    credentials for another cloud must not leak into them (the local cloud's
    ``clean_environ`` does the same).
    """
    environ = os.environ if environ is None else environ
    return {key: value for key, value in environ.items()
            if not key.startswith(("OS_", "OTEL_"))
            or (key.startswith("OTEL_OPENSTACK_") and key != "OTEL_OPENSTACK_SPOOL_DIR")}


def openrc_env(path: Path) -> dict[str, str]:
    """The ``export K=V`` lines of an openrc (shell-quoted values, as the local cloud writes them)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunnerError(f"{path}: no such file (is it a local cloud's state folder?)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunnerError(f"{path}: cannot read it ({exc})") from None
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise RunnerError(f"{path}: line {number}: {exc}") from None
        if words and words[0] == "export":
            words = words[1:]
        for word in words:
            key, sep, value = word.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise RunnerError(f"{path}: line {number}: expected `export NAME=value`, not {line!r}")
            env[key] = value
    if "OS_AUTH_URL" not in env and "OS_CLOUD" not in env:
        raise RunnerError(f"{path}: no OS_AUTH_URL or OS_CLOUD in it: not an openrc")
    return env


def user_cloud_env(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> dict[str, str]:
    """The environment's own cloud (``OS_*`` of an openrc, or ``OS_CLOUD``), for commands run elsewhere.

    Commands run in the work folder, so a ``clouds.yaml`` of the current folder
    is passed on as ``OS_CLIENT_CONFIG_FILE``.
    """
    env = dict(os.environ if environ is None else environ)
    if not env.get("OS_AUTH_URL") and not env.get("OS_CLOUD"):
        raise RunnerError("no cloud: set OS_AUTH_URL and the other OS_* variables (source an openrc) "
                          "or OS_CLOUD, or use --local-cloud")
    here = (cwd or Path.cwd()) / "clouds.yaml"
    if "OS_CLIENT_CONFIG_FILE" not in env and here.is_file():
        env["OS_CLIENT_CONFIG_FILE"] = str(here.absolute())
    return env


def tracing_env(env: Mapping[str, str], output_dir: Path) -> dict[str, str]:
    """``env`` plus what makes ``opentelemetry-instrument openstack`` write its folder in ``output_dir``.

    An ``OTEL_TRACES_EXPORTER`` naming ``otel_openstack`` already (``otlp,otel_openstack``)
    is kept, as are metrics and logs exporters the user chose.
    """
    out = dict(env)
    if "otel_openstack" not in [name.strip() for name in out.get("OTEL_TRACES_EXPORTER", "").split(",")]:
        out["OTEL_TRACES_EXPORTER"] = TRACING_ENV["OTEL_TRACES_EXPORTER"]
    for key in ("OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"):
        out.setdefault(key, TRACING_ENV[key])
    out["OTEL_OPENSTACK_OUTPUT_DIR"] = str(output_dir)
    out["OTEL_OPENSTACK_WRITE_OUTPUTS"] = "true"
    return out


def find_program(name: str, bin_dir: Path | None = None) -> str:
    """``name`` next to this Python (its venv), else on PATH."""
    for folder in ([bin_dir] if bin_dir else []) + [Path(sys.executable).parent]:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        package = "python-openstackclient" if name == "openstack" else "otel-openstack"
        raise RunnerError(f"no `{name}` next to {sys.executable} or on PATH (pip install {package})")
    return found


# --- results -------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one run of a command gave."""

    words: tuple[str, ...]  # as run (references replaced), "openstack" first
    status: int | None  # exit status; None: timed out or could not start
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    error: str | None = None  # why it did not finish, when status is None

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass
class CommandResult:
    command: Command
    outcome: Outcome | None = None  # None: not run
    folder: Path | None = None  # the output folder the instrumented CLI wrote
    messages: int | None = None  # arrows of its diagram (sections of body.md)
    failure: Failure | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass
class StepResult:
    step: Step
    outcome: Outcome | None = None
    skipped: str | None = None  # why it did not run


class Runner:
    """Runs one scenario; ``run()`` returns a result per documented command, in order."""

    def __init__(self, scenario: Scenario, env: Mapping[str, str], work_dir: Path, *,
                 bin_dir: Path | None = None, timeout: float = DEFAULT_TIMEOUT,
                 say: Callable[[str], None] | None = None):
        self.scenario = scenario
        self.env = dict(env)
        self.work_dir = Path(work_dir)
        self.timeout = timeout
        self.say = say or (lambda message: print(f"otel-openstack: {message}", file=sys.stderr, flush=True))
        self.openstack = find_program("openstack", bin_dir)
        self.instrument = find_program("opentelemetry-instrument", bin_dir)
        self.run_id = secrets.token_hex(4)
        self.secrets = [self.env[key] for key in SECRET_ENV if len(self.env.get(key, "")) >= 4]
        #: JSON printed by named steps and commands.
        self.values: dict[str, Any] = {}
        #: name -> None (made) or why not.
        self.made: dict[str, str | None] = {}
        self.files: dict[str, str] = {}
        self.setup_results: list[StepResult] = []
        self.cleanup_results: list[StepResult] = []

    # -- the run --

    def run(self) -> list[CommandResult]:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.files = scenario_files.prepare(self.scenario.files, self.work_dir)
        except (scenario_files.FilesError, OSError) as exc:
            raise RunnerError(str(exc)) from None
        results: list[CommandResult] = []
        try:
            lazy = {step.name for step in self.scenario.setup_closure(
                name for command in self.scenario.commands for name in command.needs)}
            for step in self.scenario.setup:  # what no command needs: first
                if step.name is None or step.name not in lazy:
                    self._prepare(step.needs)
                    if step.name is None or step.name not in self.made:
                        self._setup(step)
            total = len(self.scenario.commands)
            for number, command in enumerate(self.scenario.commands, 1):
                self._prepare(command.needs)
                results.append(self._document(command, number, total))
        finally:
            for step in self.scenario.cleanup:
                self.cleanup_results.append(self._cleanup(step))
        return results

    def _prepare(self, needs: Sequence[str]) -> None:
        """Run the setup steps ``needs`` needs (with theirs) that have not run yet, in file order."""
        for step in self.scenario.setup_closure(needs):
            if step.name not in self.made:
                self._setup(step)

    def _missing(self, needs: Sequence[str]) -> str | None:
        """Why something needing ``needs`` cannot run, or None."""
        for name in needs:
            if name not in self.made:
                return f"it needs {name}, which was never made"
            if self.made[name] is not None:
                return f"it needs {name}{self.made[name]}"
        return None

    def _setup(self, step: Step) -> None:
        result = StepResult(step)
        self.setup_results.append(result)
        why = self._missing(step.needs)
        if why is not None:
            result.skipped = why
            if step.name:
                self.made[step.name] = f", which was not made ({why})"
            self.say(f"setup {step.name or step.where}: not run: {why}")
            return
        label = f"setup {step.name or step.where}"
        try:
            outcome = self._run_plain(step.run)
        except _Unresolved as exc:
            if step.name:
                self.made[step.name] = f", which failed ({exc})"
            result.skipped = str(exc)
            self.say(f"{label}: not run: {exc}")
            return
        result.outcome = outcome
        problem = self._problem(outcome)
        if problem is None and step.name and prints_json(step.run):
            problem = self._bind(step.name, outcome.stdout)
        if step.name:
            self.made[step.name] = None if problem is None else f", which failed ({problem})"
        if problem is None:
            self.say(f"{label}: {self.shown(outcome.words)}: ok ({outcome.seconds:.1f} s)")
        else:
            last = _last_line(self.scrub(outcome.stderr))
            self.say(f"{label}: {self.shown(outcome.words)}: FAILED, {problem}" + (f": {last}" if last else ""))

    def _document(self, command: Command, number: int, total: int) -> CommandResult:
        result = CommandResult(command)
        label = f"[{number}/{total}] {command.title}"
        why = self._missing(command.needs)
        if why is not None:
            return self._not_run(result, label, why)
        try:
            words = self._words(command.run)
        except _Unresolved as exc:
            return self._not_run(result, label, str(exc))
        output_dir = self.work_dir / "out" / f"{number:02d}-{command.slug}"
        if output_dir.exists():
            shutil.rmtree(output_dir)
        output_dir.mkdir(parents=True)
        outcome = self._execute([self.instrument, self.openstack, *words[1:]], words,
                                tracing_env(self.env, output_dir))
        result.outcome = outcome
        folders = sorted((p for p in output_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        if folders:
            result.folder = folders[-1]
            if len(folders) > 1:
                result.notes.append(f"{len(folders)} output folders were written; the page is the newest")
            body = result.folder / BODY_FILE
            result.messages = len(_SECTION.findall(body.read_text(encoding="utf-8"))) if body.is_file() else 0
            if not (result.folder / PAGE_FILE).is_file():
                result.notes.append(f"the output folder has no {PAGE_FILE}")
        else:
            result.notes.append("the instrumented command wrote no output folder")
        problem = self._problem(outcome)
        if problem is not None:
            result.failure = Failure(problem, stderr=_tail(self.scrub(outcome.stderr), STDERR_LINES))
        if command.name:
            unbound = (self._bind(command.name, outcome.stdout) if problem is None and prints_json(command.run)
                       else None)
            if unbound is not None:
                result.notes.append(unbound)
            self.made[command.name] = (f" ({command.title}), which failed" if problem is not None
                                       else f" ({command.title}), whose output is not JSON" if unbound
                                       else None)
        seconds = f"{outcome.seconds:.1f} s"
        if problem is None:
            shown = f"{result.messages} messages" if result.messages is not None else "no output folder"
            self.say(f"{label}: ok, {shown} ({seconds})")
        else:
            last = _last_line(self.scrub(outcome.stderr))
            self.say(f"{label}: FAILED, {problem} ({seconds})" + (f": {last}" if last else ""))
        for note in result.notes:
            self.say(f"{label}: note: {note}")
        return result

    def _not_run(self, result: CommandResult, label: str, why: str) -> CommandResult:
        result.failure = Failure(why, ran=False)
        if result.command.name:
            self.made[result.command.name] = f" ({result.command.title}), which did not run"
        self.say(f"{label}: NOT RUN: {why}")
        return result

    def _cleanup(self, step: Step) -> StepResult:
        result = StepResult(step)
        why = self._missing(step.needs)
        if why is not None:
            result.skipped = why
            return result
        try:
            outcome = self._run_plain(step.run)
        except _Unresolved as exc:
            result.skipped = str(exc)
            self.say(f"cleanup: warning: {step.where}: not run: {exc}")
            return result
        result.outcome = outcome
        problem = self._problem(outcome)
        if problem is None:
            self.say(f"cleanup: {self.shown(outcome.words)}: ok")
        else:
            last = _last_line(self.scrub(outcome.stderr))
            self.say(f"cleanup: warning: {self.shown(outcome.words)}: {problem}" + (f": {last}" if last else ""))
        return result

    # -- running one command line --

    def _run_plain(self, template: Sequence[str]) -> Outcome:
        words = self._words(template)
        return self._execute([self.openstack, *words[1:]], words, self.env)

    def _execute(self, argv: list[str], words: tuple[str, ...], env: Mapping[str, str]) -> Outcome:
        started = time.monotonic()
        try:
            done = subprocess.run(argv, env=dict(env), cwd=self.work_dir, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, errors="replace", timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            return Outcome(words, None, _text(exc.stdout), _text(exc.stderr), time.monotonic() - started,
                           error=f"timed out after {self.timeout:g} s")
        except OSError as exc:
            return Outcome(words, None, seconds=time.monotonic() - started,
                           error=f"could not start {argv[0]}: {exc.strerror or exc}")
        return Outcome(words, done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def _problem(self, outcome: Outcome) -> str | None:
        if outcome.error is not None:
            return outcome.error
        if outcome.status != 0:
            return f"exit status {outcome.status}"
        return None

    def _bind(self, name: str, stdout: str) -> str | None:
        """Keep ``name``'s JSON output; the problem when it is none."""
        try:
            self.values[name] = json.loads(stdout)
        except ValueError:
            return f"{name}: its output is not JSON, so {{{name}.FIELD}} has no value"
        return None

    def _words(self, template: Sequence[str]) -> tuple[str, ...]:
        return tuple(substitute(word, self.value) for word in template)

    def value(self, ref: Reference) -> str:
        """The text a reference stands for (needs were checked before, so it is there)."""
        if ref.name == FILES:
            return self.files[ref.path[0]]
        if ref.name == RUN:
            return self.run_id
        try:
            value = lookup(self.values[ref.name], ref.path)
        except KeyError as exc:
            raise _Unresolved(f"{ref.text}: {exc.args[0]} in the output of {ref.name}") from None
        if value is None:
            raise _Unresolved(f"{ref.text}: is null in the output of {ref.name}")
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    # -- showing --

    def scrub(self, text: str) -> str:
        from otel_openstack.capture.redact import scrub

        return scrub(text, self.secrets)

    def shown(self, words: Sequence[str]) -> str:
        """A command line for messages and pages: secret options masked, secrets scrubbed."""
        from otel_openstack.capture.redact import redact_argv

        return self.scrub(shlex.join(redact_argv(list(words))))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _tail(text: str, lines: int) -> str:
    kept = text.splitlines()
    if len(kept) <= lines:
        return text
    return f"[... {len(kept) - lines} lines left out ...]\n" + "\n".join(kept[-lines:]) + "\n"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[-1].split())[:300] if lines else ""


def pages(runner: Runner, results: Sequence[CommandResult]) -> list[Page]:
    """The site's pages, one per documented command, in scenario order."""
    out = []
    for result in results:
        command = result.command
        line = runner.shown(result.outcome.words if result.outcome is not None else command.run)
        out.append(Page(title=command.title, slug=command.slug, command_line=line,
                        description=command.description, failure=result.failure,
                        messages=result.messages, folder=result.folder))
    return out
