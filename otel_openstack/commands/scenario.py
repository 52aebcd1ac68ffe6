"""``otel-openstack scenario run`` / ``scenario check``: a scenario file -> one documented site.

    otel-openstack scenario run FILE -o SITE_DIR [--local-cloud [--swift] | --cloud-state DIR]
                                [--timeout SECONDS] [--keep-work]
    otel-openstack scenario check FILE

``run`` runs the scenario's setup steps, each of its commands under
``opentelemetry-instrument`` and its cleanup against a cloud, and writes
SITE_DIR: ``mkdocs.yml`` and ``docs/`` with one folder (page + files) per
command; ``cd SITE_DIR && mkdocs build --strict`` builds it.  The cloud is
the one the environment's ``OS_*`` variables (or ``OS_CLOUD``) name; with
``--local-cloud`` a local keystone + glance is booted for the run and
stopped after it, ``--cloud-state DIR`` uses one already running
(``python -m examples.localcloud up --state DIR``); both need the
repository's checkout (``examples/``).

Progress goes to stderr, one line per step, then a summary line; stdout
gets SITE_DIR.  Exit status: 0 every command documented; 1 a command failed
or did not run (its page says why) or the local cloud failed; 2 a bad
scenario file, command line or site folder (one line on stderr, nothing run).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

from otel_openstack.commands._args import positive_seconds

PROG = "otel-openstack"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def register(subparsers: Any) -> None:
    """Add ``scenario run`` and ``scenario check`` to the ``otel-openstack`` subcommands."""
    from otel_openstack.scenario.runner import DEFAULT_TIMEOUT

    scenario = subparsers.add_parser(
        "scenario", help="document a list of openstack commands (a scenario file) as one mkdocs-material site",
        description="Run the commands of a scenario file instrumented and write one mkdocs-material site "
                    "with a page per command (see docs/scenarios.md).")
    sub = scenario.add_subparsers(dest="scenario_command", required=True, metavar="{run,check}",
                                  parser_class=type(scenario))
    run = sub.add_parser(
        "run", help="run a scenario against a cloud and write its site",
        description="Run the scenario's setup steps, each command under opentelemetry-instrument, and its "
                    "cleanup; write SITE_DIR (mkdocs.yml, docs/<command>/...). The cloud is the one of the "
                    "environment's OS_* variables unless --local-cloud or --cloud-state says otherwise.")
    run.add_argument("scenario", metavar="FILE", help="the scenario (YAML), e.g. examples/image-commands.yaml")
    run.add_argument("-o", "--output", required=True, metavar="SITE_DIR",
                     help="the site folder to write (new, empty, or an earlier run's site: replaced)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--local-cloud", action="store_true",
                       help="boot the repository's local keystone + glance for the run (needs the checkout)")
    where.add_argument("--cloud-state", metavar="DIR", type=Path,
                       help="use the local cloud running in DIR (python -m examples.localcloud up --state DIR)")
    run.add_argument("--swift", action="store_true",
                     help="with --local-cloud: add swift as glance's image store, as on devstack")
    run.add_argument("--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                     help=f"give up on one command after this long (default {DEFAULT_TIMEOUT:g})")
    run.add_argument("--keep-work", action="store_true",
                     help="keep the work folder (the scenario's files) and the local cloud's state folder")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="check a scenario file and list its pages (runs nothing)")
    check.add_argument("scenario", metavar="FILE", help="the scenario (YAML)")
    check.set_defaults(func=cmd_check)


# --- check ----------------------------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    from otel_openstack.scenario.spec import ScenarioError, load

    try:
        scenario = load(args.scenario)
    except ScenarioError as exc:
        _say(_one_line(str(exc)))
        return EXIT_INPUT
    print(f"{scenario.title}: {len(scenario.commands)} commands, {len(scenario.setup)} setup steps, "
          f"{len(scenario.cleanup)} cleanup steps")
    for number, command in enumerate(scenario.commands, 1):
        needs = f"  (needs {', '.join(command.needs)})" if command.needs else ""
        print(f"{number:3d}. {command.slug}/  {command.title}{needs}")
    return EXIT_OK


# --- run ------------------------------------------------------------------------------------------------

class _Input(Exception):
    """Bad input found before anything ran: one line, exit 2."""


def cmd_run(args: argparse.Namespace) -> int:
    from otel_openstack.scenario import runner, site
    from otel_openstack.scenario.spec import ScenarioError, load

    site_dir = Path(args.output)
    try:
        if args.swift and not args.local_cloud:
            raise _Input("--swift goes with --local-cloud")
        scenario = load(args.scenario)
        site.check_site_dir(site_dir)
        for program in ("openstack", "opentelemetry-instrument"):
            runner.find_program(program)
        env_source = _cloud(args)
    except (ScenarioError, site.SiteError, runner.RunnerError, _Input) as exc:
        _say(_one_line(str(exc)))
        return EXIT_INPUT

    work = Path(tempfile.mkdtemp(prefix="otel-openstack-scenario-"))
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    results: list[runner.CommandResult] = []
    try:
        with env_source as env:
            scenario_runner = runner.Runner(scenario, env, work, timeout=args.timeout)
            results = scenario_runner.run()
            pages = runner.pages(scenario_runner, results)
            site.write_site(site_dir, scenario.title, scenario.description, pages, source=str(args.scenario))
    except (runner.RunnerError, site.SiteError) as exc:
        _say(_one_line(str(exc)))
        return EXIT_INPUT
    except _CloudFailed as exc:
        _say(f"the local cloud failed: {_one_line(str(exc))}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if args.keep_work:
            _say(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    failed = [r for r in results if not r.ok]
    documented = len(results) - len(failed)
    summary = f"{documented} of {len(results)} commands documented in {site_dir}"
    if failed:
        summary += f"; {len(failed)} failed: " + "; ".join(
            f"{r.command.title} ({r.failure.result if r.failure else 'failed'})" for r in failed)
    _say(summary + f"; build it with: cd {site_dir} && mkdocs build --strict")
    print(site_dir)
    return EXIT_FAILED if failed else EXIT_OK


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class _CloudFailed(Exception):
    pass


class _Environment:
    """A context manager giving the commands' environment (and booting/stopping a local cloud)."""

    def __init__(self, env: dict[str, str] | None = None, cloud: Any = None, state: Path | None = None,
                 keep: bool = False):
        self.env = env
        self.cloud = cloud
        self.state = state
        self.keep = keep

    def __enter__(self) -> dict[str, str]:
        if self.cloud is None:
            assert self.env is not None
            return self.env
        from otel_openstack.scenario.runner import scrubbed_environ

        services = "keystone + glance + swift" if getattr(self.cloud, "swift", False) else "keystone + glance"
        _say(f"booting a local cloud ({services}) in {self.state} ...")
        try:
            self.cloud.start()
        except BaseException as exc:  # CloudError, whatever a half-booted cloud raises, Ctrl-C
            self._stop()
            if isinstance(exc, Exception):
                raise _CloudFailed(str(exc)) from None
            raise
        _say(f"local cloud up in {self.cloud.boot_seconds:.1f} s: keystone {self.cloud.keystone_url}, "
             f"glance {self.cloud.glance_url}")
        return {**scrubbed_environ(), **self.cloud.cli_env()}

    def __exit__(self, *exc_info: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if self.cloud is None:
            return
        self.cloud.stop()
        if self.keep:
            _say(f"local cloud state kept: {self.state}")
        elif self.state is not None:
            shutil.rmtree(self.state, ignore_errors=True)
        self.cloud = None


def _cloud(args: argparse.Namespace) -> _Environment:
    from otel_openstack.scenario.runner import openrc_env, scrubbed_environ, user_cloud_env

    if args.local_cloud:
        localcloud = _localcloud("--local-cloud")
        state = Path(tempfile.mkdtemp(prefix="otel-openstack-scenario-cloud-"))
        options = {"swift": True} if args.swift else {}
        return _Environment(cloud=localcloud.LocalCloud(state, middleware=True, **options), state=state,
                            keep=args.keep_work)
    if args.cloud_state is not None:
        state = args.cloud_state
        if not state.is_dir():
            raise _Input(f"--cloud-state {state}: no such folder")
        env = {**scrubbed_environ(), **openrc_env(state / "openrc")}
        try:
            localcloud = _localcloud("--cloud-state")
        except _Input:
            localcloud = None  # the openrc is all we need; without the checkout, no liveness check
        if localcloud is not None and not localcloud.LocalCloud(state).is_running():
            raise _Input(f"--cloud-state {state}: no local cloud is running there "
                         f"(python -m examples.localcloud up --state {state})")
        return _Environment(env=env)
    return _Environment(env=user_cloud_env())


def _localcloud(option: str) -> Any:
    """``examples.localcloud``, from the checkout this otel-openstack runs from (or the current folder)."""
    import importlib

    try:
        return importlib.import_module("examples.localcloud")
    except ImportError:
        pass
    import otel_openstack

    for root in _checkouts(Path.cwd(), Path(otel_openstack.__file__).resolve().parents[1]):
        if (root / "examples" / "localcloud" / "__init__.py").is_file():
            sys.path.insert(0, str(root))
            for name in [n for n in sys.modules if n == "examples" or n.startswith("examples.")]:
                del sys.modules[name]  # another "examples" package may have been found first
            try:
                return importlib.import_module("examples.localcloud")
            except ImportError as exc:
                raise _Input(f"{option}: cannot import the local cloud from {root}: {exc}") from None
    raise _Input(f"{option} needs the otel-openstack repository checkout (examples/localcloud/): "
                 "run it from the checkout's folder")


def _checkouts(*roots: Path) -> Iterator[Path]:
    seen = set()
    for root in roots:
        if root not in seen:
            seen.add(root)
            yield root
