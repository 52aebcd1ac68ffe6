"""Part 3: ``opentelemetry-instrument openstack image list`` vs ``openstack image list``.

Against the local cloud (our middleware in keystone and glance, as ``make
demo`` runs it), wall time of the whole command, the two commands taking
turns (A B, B A, A B ...) after one warm-up run each.  With hyperfine
installed each pair is one ``hyperfine --runs 1`` call (its timing, no
shell); without it, the same pairs are timed here with perf_counter.  The
instrumented command does everything it does for a user: spans, waiting for
the services' spans, writing the output folder.

``cli.launcher`` times ``opentelemetry-instrument true`` the same way: the
upstream launcher process alone (an interpreter start, its imports, an
entry-point scan, then ``exec``), which every instrumented command pays
before the program starts and which this project cannot shorten.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Mapping, Sequence

from examples.demo import CLI_TRACING_ENV
from examples.localcloud.cloud import clean_environ, venv_bin_dir

from benchmarks.common import Budget, Row, check, info, log, median


def _commands() -> dict[str, list[str]]:
    bin_dir = venv_bin_dir()
    plain = [str(bin_dir / "openstack"), "image", "list", "-f", "value"]
    true = shutil.which("true") or "/bin/true"
    return {"plain": plain, "instrumented": [str(bin_dir / "opentelemetry-instrument"), *plain],
            "launcher": [str(bin_dir / "opentelemetry-instrument"), true]}


def _time_pair(order: Sequence[str], commands: Mapping[str, list[str]], env: Mapping[str, str],
               workdir: Path) -> dict[str, float]:
    if shutil.which("hyperfine"):
        export = workdir / "hyperfine.json"
        names = []
        cmd = ["hyperfine", "--runs", "1", "--shell=none", "--style", "none", "--export-json", str(export)]
        for name in order:
            cmd += ["--command-name", name, " ".join(commands[name])]
            names.append(name)
        subprocess.run(cmd, env=dict(env), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=300)
        results = json.loads(export.read_text())["results"]
        for result in results:
            if any(code != 0 for code in result.get("exit_codes", [0])):
                raise RuntimeError(f"{result['command']} failed")
        return {result["command"]: result["mean"] for result in results}
    out = {}
    for name in order:
        started = time.perf_counter()
        subprocess.run(commands[name], env=dict(env), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=300)
        out[name] = time.perf_counter() - started
    return out


def run_cli(budget: Budget, workdir: Path, cloud) -> list[Row]:  # type: ignore[no-untyped-def]
    commands = _commands()
    output_dir = workdir / "out"
    env = {**clean_environ(), **cloud.cli_env(), **CLI_TRACING_ENV, "OTEL_OPENSTACK_OUTPUT_DIR": str(output_dir)}
    _time_pair(["plain", "instrumented"], commands, env, workdir)  # warm-up: disk cache, .pyc, token cache
    times: dict[str, list[float]] = {"plain": [], "instrumented": [], "launcher": []}
    for number in range(budget.cli_runs):
        order = ["plain", "instrumented"] if number % 2 == 0 else ["instrumented", "plain"]
        for name, seconds in _time_pair(order, commands, env, workdir).items():
            times[name].append(seconds)
        times["launcher"] += _time_pair(["launcher"], commands, env, workdir).values()
        log(f"cli run {number + 1}/{budget.cli_runs}: plain {times['plain'][-1]:.2f}s, "
            f"instrumented {times['instrumented'][-1]:.2f}s")
    folders = list(output_dir.iterdir()) if output_dir.is_dir() else []
    if len(folders) != budget.cli_runs + 1:
        raise RuntimeError(f"the instrumented CLI wrote {len(folders)} output folders, expected {budget.cli_runs + 1}")
    plain, instrumented = median(times["plain"]), median(times["instrumented"])
    tool = "hyperfine" if shutil.which("hyperfine") else "perf_counter"
    return [
        info("cli.image_list.plain", plain, "s", f"median of {budget.cli_runs} interleaved runs ({tool})"),
        info("cli.image_list.instrumented", instrumented, "s", "opentelemetry-instrument openstack image list"),
        info("cli.image_list.added", instrumented - plain, "s"),
        info("cli.launcher", median(times["launcher"]), "s",
             "opentelemetry-instrument true: the upstream launcher process, part of the added time"),
        check("cli.image_list.ratio", instrumented / plain, "x", "<=", 1.15, "instrumented / plain wall time"),
    ]
