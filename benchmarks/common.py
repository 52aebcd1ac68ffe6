"""Rows, the table, the JSON file, and small statistics shared by every part."""

from __future__ import annotations

import json
import os
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
LATEST = RESULTS_DIR / "latest.json"


@dataclass
class Row:
    """One line of the table and one object of ``latest.json``.

    ``target`` is a human-readable bound (``"<= 1.25"``) or None for a row
    that only reports; ``met`` is True/False for target rows, None otherwise.
    """

    name: str
    value: float | None
    unit: str
    target: str | None = None
    met: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(name: str, value: float | None, unit: str, op: str, bound: float, note: str = "") -> Row:
    """A target row: ``value op bound`` decides ``met`` (None value: not met)."""
    ops: dict[str, Callable[[float, float], bool]] = {
        "<=": lambda v, b: v <= b, "<": lambda v, b: v < b,
        ">=": lambda v, b: v >= b, ">": lambda v, b: v > b,
    }
    met = value is not None and ops[op](value, bound)
    return Row(name, value, unit, f"{op} {bound:g}", bool(met), note)


def info(name: str, value: float | None, unit: str, note: str = "") -> Row:
    return Row(name, value, unit, None, None, note)


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(rows: Sequence[Row]) -> str:
    """The table printed at the end of a run (notes after it)."""
    head = ("benchmark", "value", "unit", "target", "met")
    cells = [
        (r.name, fmt(r.value), r.unit, r.target or "", "" if r.met is None else ("yes" if r.met else "NO"))
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    for row in cells:
        lines.append("  ".join((c.rjust(w) if i == 1 else c.ljust(w)) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    notes = [f"  {r.name}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def write_json(rows: Sequence[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n")
    os.replace(tmp, path)


def log(message: str) -> None:
    """Progress goes to stderr; the table goes to stdout."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class Budget:
    """Sizes and counts of one run: ``full`` for ``make bench``, ``smoke`` for CI."""

    smoke: bool
    rounds: int
    load_seconds: float
    latency_seconds: float
    connections: int
    glance_rounds: int
    stream_bytes: int
    stream_rounds: int
    cli_runs: int
    render_sizes: tuple[int, ...]
    render_reps: dict[int, int] = field(default_factory=dict)
    render_seconds: float = 240.0
    render_trace_json: int = 0
    #: The whole run's bound: the renderer part (last) gets what is left of it.
    total_seconds: float = 570.0
    #: (n, 2n): the sizes whose times are compared for linearity.
    render_doubling: tuple[int, int] = (10_000, 20_000)

    @classmethod
    def full(cls) -> "Budget":
        return cls(smoke=False, rounds=4, load_seconds=3.0, latency_seconds=1.0, connections=8,
                   glance_rounds=3, stream_bytes=1 << 30, stream_rounds=2, cli_runs=7,
                   render_sizes=(1_000, 5_000, 10_000, 100_000),
                   render_reps={1_000: 5, 5_000: 2, 10_000: 2, 100_000: 1},
                   render_seconds=300.0, render_trace_json=1_000, total_seconds=500.0,
                   render_doubling=(5_000, 10_000))

    @classmethod
    def tiny(cls) -> "Budget":
        return cls(smoke=True, rounds=1, load_seconds=1.0, latency_seconds=0.5, connections=4,
                   glance_rounds=1, stream_bytes=8 << 20, stream_rounds=1, cli_runs=1,
                   render_sizes=(100, 200, 400), render_reps={100: 1, 200: 1, 400: 1},
                   render_seconds=30.0, render_trace_json=100, total_seconds=55.0, render_doubling=(100, 200))
