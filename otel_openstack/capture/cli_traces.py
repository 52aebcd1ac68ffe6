"""Traces whose root is a CLI command running in this process.

The docs exporter keeps those spans in memory until the command ends (and
renders them); every other span goes to the spool for some CLI to collect.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_active: set[str] = set()


def begin(trace_id: str) -> None:
    with _lock:
        _active.add(trace_id)


def end(trace_id: str) -> None:
    with _lock:
        _active.discard(trace_id)


def is_cli_trace(trace_id: str) -> bool:
    with _lock:
        return trace_id in _active
