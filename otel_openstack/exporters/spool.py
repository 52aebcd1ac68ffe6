"""The spool: where every process on a host leaves finished spans for the CLI.

Layout: ``<spool>/<trace_id>/<time>-<pid>-<n>.json``, one OTLP JSON document
per export batch and trace.  Each file is written under a temporary name and
renamed into place, so a reader never sees half a file and several services
and workers never interleave: there is no shared file to corrupt.  The spool
and its folders are 0700 and files 0600, owned by the user; a planted symlink
is refused rather than followed.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_openstack.capture.guard import report
from otel_openstack.settings import Settings, load

_logger = logging.getLogger(__name__)
_counter = itertools.count()
_lock = threading.Lock()
STALE_SECONDS = 24 * 3600


class UnsafeSpoolError(OSError):
    """The spool path is a symlink or belongs to someone else."""


def secure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) 0700; refuse a symlink or a foreign owner."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:  # e.g. a dangling symlink: refused just below
        pass
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeSpoolError(f"{path} is not a plain directory")
    if info.st_uid != os.getuid():
        raise UnsafeSpoolError(f"{path} is owned by uid {info.st_uid}, not by us")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def secure_spool(spool: Path) -> Path:
    """Secure the spool, and its per-user parent when it is our default location.

    The default ``/tmp/otel-openstack-<uid>/spool`` has a predictable parent
    in a shared directory: another user could create it first and watch or
    swap what we write.  It must be ours and private too.
    """
    if spool.parent.name == f"otel-openstack-{os.getuid()}":
        secure_dir(spool.parent)
    return secure_dir(spool)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, 0600, never through a symlink."""
    tmp = path.with_name(f".tmp-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def encode(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """OTLP JSON (``ExportTraceServiceRequest`` mapping) of SDK spans."""
    return encode_spans(spans).to_dict()


def trace_dir(spool: Path, trace_id: str) -> Path:
    if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
        raise ValueError(f"not a trace id: {trace_id!r}")
    return spool / trace_id


def encode_by_trace(spans: Sequence[ReadableSpan]) -> dict[str, dict[str, Any]]:
    """One OTLP JSON document per trace id, from a single encoding of the whole batch.

    Encoding is most of an export's cost, and a busy service's batch holds
    hundreds of one-span traces (each request of a client without a trace):
    encoding each trace on its own cost twice as much (measured on 512
    one-span traces), time the export thread of a loaded worker does not have.
    """
    documents: dict[str, dict[str, Any]] = {}
    for resource_spans in encode(spans).get("resourceSpans", []):
        scopes_by_trace: dict[str, list[dict[str, Any]]] = {}
        for scope_spans in resource_spans.get("scopeSpans", []):
            groups: dict[str, list[Any]] = {}
            for span in scope_spans.get("spans", []):
                groups.setdefault(str(span.get("traceId", "")).lower(), []).append(span)
            scope = {k: v for k, v in scope_spans.items() if k != "spans"}
            for trace_id, group in groups.items():
                scopes_by_trace.setdefault(trace_id, []).append({**scope, "spans": group})
        resource = {k: v for k, v in resource_spans.items() if k != "scopeSpans"}
        for trace_id, scopes in scopes_by_trace.items():
            documents.setdefault(trace_id, {"resourceSpans": []})["resourceSpans"].append(
                {**resource, "scopeSpans": scopes})
    return documents


def write_spans(spool: Path, spans: Sequence[ReadableSpan]) -> int:
    """Spool ``spans``, one file per trace; returns how many files were written."""
    if not spans:
        return 0
    by_trace = encode_by_trace(spans)
    secure_spool(spool)
    written = 0
    for trace_id, document in by_trace.items():
        folder = secure_dir(trace_dir(spool, trace_id))
        name = f"{time.time_ns()}-{os.getpid()}-{next(_counter)}.json"
        write_private(folder / name, json.dumps(document, separators=(",", ":")).encode())
        written += 1
    return written


def read_documents(spool: Path, trace_id: str) -> list[tuple[Path, dict[str, Any]]]:
    """Every complete spool document of a trace (unreadable ones are skipped, logged)."""
    folder = trace_dir(spool, trace_id)
    if not folder.is_dir() or folder.is_symlink():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        if path.is_symlink():
            continue
        try:
            out.append((path, json.loads(path.read_bytes())))
        except (OSError, ValueError) as exc:
            _logger.warning("otel-openstack: skipping unreadable spool file %s: %s", path, exc)
    return out


def remove_trace(spool: Path, trace_id: str) -> None:
    folder = trace_dir(spool, trace_id)
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale(spool: Path, max_age: float = STALE_SECONDS, now: float | None = None) -> int:
    """Drop trace folders nobody collected (services' background traffic)."""
    now = time.time() if now is None else now
    removed = 0
    if not spool.is_dir():
        return 0
    for folder in spool.iterdir():
        try:
            if folder.is_dir() and not folder.is_symlink() and now - folder.stat().st_mtime > max_age:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


class SpoolSpanExporter(SpanExporter):
    """Writes every span to the spool (``OTEL_TRACES_EXPORTER=otel_openstack_spool``)."""

    def __init__(self, settings: Settings | None = None, **kwargs: Any):
        self.settings = settings or load(**kwargs)
        self.spool = Path(self.settings.spool_dir)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            with _lock:
                write_spans(self.spool, spans)
            return SpanExportResult.SUCCESS
        except Exception as exc:  # noqa: BLE001 - a full disk must not break the service
            report(f"writing spans to the spool {self.spool}", exc)
            return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
