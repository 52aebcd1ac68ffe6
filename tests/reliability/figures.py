"""The figures of the reliability run, and the README section made from them.

Tests record what they tried and what survived (``figures.add("load_requests",
10000)``); the session writes ``test-output/reliability.json`` at its end, and

    python -m tests.reliability.figures           # rewrite the README section from it
    python -m tests.reliability.figures --check   # exit 1 if the README is out of date

turns it into the README's section between ``<!-- reliability:begin -->`` and
``<!-- reliability:end -->``.  Every README figure is deterministic (fixed
request counts, fixed hypothesis example counts with ``derandomize=True``), so
the section is checked exactly, by ``test_zz_readme.py`` too.  Measurements
that vary from run to run (RSS, seconds) go to the JSON file's ``measured``
part only.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
FIGURES_FILE = REPO_ROOT / "test-output" / "reliability.json"
BEGIN = "<!-- reliability:begin -->"
END = "<!-- reliability:end -->"


@dataclass(frozen=True)
class Row:
    """One line of the README table: what was tried, and the figures that say how it went."""

    tried: str
    result: str  # str.format template over figure keys

    def keys(self) -> list[str]:
        import string

        return [field for _, field, _, _ in string.Formatter().parse(self.result) if field]

    def render(self, values: dict[str, Any]) -> str:
        shown = {k: f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v for k, v in values.items()}
        return f"| {self.tried} | {self.result.format(**shown)} |"


ROWS: tuple[Row, ...] = (
    Row("The same requests sent to a bare and to a wrapped app on gunicorn, wsgiref and eventlet.wsgi "
        "(list, one-item list, generator raising half-way, `wsgi.file_wrapper`, `close()`, HEAD, 204, 304, "
        "chunked upload, partial read, `write()`, JSON with secrets, client gone mid-response)",
        "{transparency_exchanges} exchanges in {transparency_cases} cases: {transparency_differences} differences "
        "in status, headers (the documented `traceresponse` aside) or body bytes; `close()` called exactly "
        "once in {closes_once} of {closes_checked}"),
    Row("Odd WSGI servers, in process: `close()` without iterating, a second iteration of a list",
        "{odd_server_cases} cases: {odd_server_failures} failures"),
    Row("Streamed upload and download through gunicorn, bare and wrapped",
        "{stream_mib} MiB each way: bytes identical; wrapped worker's extra peak RSS under "
        "{stream_rss_bound_mib} MiB"),
    Row("Faults injected into a wrapped gunicorn service (spool writer raising, encoder raising, capture "
        "raising, ENOSPC, read-only spool, spool path a file, corrupt settings, planted symlink, OTLP "
        "endpoint unreachable)",
        "{service_fault_kinds} faults, {service_fault_requests} requests under fault: "
        "{service_fault_differences} responses differed from the bare app's; {service_fault_repeats} warnings "
        "repeated (each fault logged once)"),
    Row("Faults injected into the instrumented `openstack` CLI",
        "{cli_fault_kinds} faults: {cli_fault_differences} differences in stdout or exit status; "
        "{cli_fault_repeats} warnings repeated"),
    Row("Repeated failures of one capture point (`capture/guard.py`)",
        "{guard_failures} failures in {guard_places} places, from {guard_threads} threads: "
        "{guard_warnings} warnings"),
    Row("Load: concurrent clients against gunicorn, several workers with threads, spooling",
        "{load_requests} requests from {load_clients} clients to {load_workers} workers × {load_threads} "
        "threads: {load_spans} server spans spooled, {load_lost} lost, {load_duplicated} duplicated, "
        "{load_unparseable} torn spool files; RSS growth from request {load_rss_first} to {load_requests} "
        "under {load_rss_slack_mib} MiB per worker"),
    Row("Fork safety: gunicorn `--preload` (SDK set up in the master, then forked)",
        "{preload_requests} requests over {preload_workers} workers: {preload_lost} spans lost"),
    Row("`openstack image create` on the real cloud while a loaded service fills the same spool",
        "{cli_load_requests} concurrent requests: {cli_load_missing} server spans the command's responses "
        "announced were missing from its trace, {cli_load_foreign} foreign spans in it"),
    Row("Secrets: instrumented CLI commands on the real cloud, through a recording proxy, OTLP export on",
        "{secret_commands} commands: {secret_leaks} occurrences of the password or of any raw token in "
        "outputs, spool and OTLP; every token digest consistent; {secret_bad_modes} files or folders not "
        "0600/0700"),
    Row("Hostile traces (URLs, header names and values, bodies, service names) through `pipeline.render`",
        "{render_traces} generated traces of 1 to 12 exchanges: {render_broken} with a Mermaid message count, "
        "a fence, a tab or a log record broken"),
    Row("Fuzzed trace input for the readers of `otel_openstack.sources` (random text, every truncation of "
        "real OTLP JSON documents)",
        "{fuzz_inputs} inputs: {fuzz_escapes} errors other than `TraceInputError`"),
    Row("Bugs found in modules this suite does not own (mistyped JSON in `sources/`, a malformed URL in "
        "`model/`, a record forged by a body in the log), reported and pinned by strict xfail tests",
        "{known_bugs} xfail tests"),
)


class Figures:
    """Thread-safe figures of one session: ``add`` counts, ``set`` values, ``measure`` for the JSON only."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.measured: dict[str, Any] = {}
        self._lock = threading.Lock()

    def add(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self.values[key] = self.values.get(key, 0) + amount

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self.values[key] = value

    def measure(self, key: str, value: Any) -> None:
        with self._lock:
            self.measured[key] = value

    def document(self) -> dict[str, Any]:
        return {"figures": dict(sorted(self.values.items())), "measured": dict(sorted(self.measured.items())),
                "missing": missing_keys(self.values)}


def missing_keys(values: dict[str, Any]) -> list[str]:
    return sorted({key for row in ROWS for key in row.keys()} - set(values))


def render_section(values: dict[str, Any]) -> str:
    """The README section (markers included) for a complete set of figures."""
    missing = missing_keys(values)
    if missing:
        raise ValueError(f"figures missing (run the whole reliability suite): {', '.join(missing)}")
    lines = [
        BEGIN,
        "## Reliability",
        "",
        "What the reliability tests (`tests/reliability/`) tried, and what survived. Generated from the",
        "test run's `test-output/reliability.json` by `python -m tests.reliability.figures`; the suite checks",
        "that this table matches its own figures.",
        "",
        "| tried | result |",
        "|---|---|",
        *(row.render(values) for row in ROWS),
        END,
    ]
    return "\n".join(lines)


def rendered_rows(values: dict[str, Any]) -> list[str]:
    """The table rows whose figures are all present (a partial run checks just those)."""
    return [row.render(values) for row in ROWS if not set(row.keys()) - set(values)]


def readme_section(text: str) -> str | None:
    start = text.find(BEGIN)
    end = text.find(END)
    if start < 0 or end < start:
        return None
    return text[start:end + len(END)]


def replace_section(text: str, section: str) -> str:
    current = readme_section(text)
    if current is None:
        return text.rstrip("\n") + "\n\n" + section + "\n"
    return text.replace(current, section, 1)


def write_json(figures: Figures, path: Path = FIGURES_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures.document(), indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.figures", description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=Path, default=FIGURES_FILE, help="the JSON file the test run wrote")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the README is out of date")
    args = parser.parse_args(argv)
    try:
        values = json.loads(args.figures.read_text())["figures"]
        section = render_section(values)
    except (OSError, ValueError, KeyError) as exc:
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return 2
    text = args.readme.read_text()
    updated = replace_section(text, section)
    if args.check:
        if updated != text:
            print(f"{args.readme}: the reliability section is out of date; run {parser.prog}", file=sys.stderr)
            return 1
        return 0
    if updated != text:
        args.readme.write_text(updated)
        print(f"{args.readme}: reliability section updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
