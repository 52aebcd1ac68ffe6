"""The spool: where every process on a host leaves finished spans for the CLI.

Layout: ``<spool>/<minute>/<time>-<pid>-<n>.jsonl``, one file per export batch
(every trace the batch holds), in a folder per UTC minute
(``20261203T2131Z``).  Each file is written under a temporary name and renamed
into place, so a reader never sees half a file and several services and
workers never interleave: there is no shared file to corrupt.  The spool and
its folders are 0700 and files 0600, owned by the user; a planted symlink is
refused rather than followed.

A file's first line describes the batch's resources and instrumentation
scopes; every other line is one span, a JSON array whose first item is the
span's trace id (``["4bf92f35...",...``), so a reader finds a trace's spans
without parsing the others, and only looks at the files written since the
command began.  Writing this costs a ``json.dumps`` per span: the OTLP JSON
encoder (pure Python) cost ten times as much, on the export thread of a
busy service.  Readers get OTLP JSON documents, made by that same encoder
from the spans read back.  Trace folders of the previous layout
(``<spool>/<trace_id>/*.json``, one OTLP JSON document each) are still read.
"""

from __future__ import annotations

import base64
import itertools
import json
import json.encoder
import logging
import os
import re
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from otel_openstack.capture.guard import report
from otel_openstack.settings import Settings, load

_logger = logging.getLogger(__name__)
_counter = itertools.count()
_lock = threading.Lock()
STALE_SECONDS = 24 * 3600
#: Version of the batch file format (first line's ``"spool"``).
FORMAT = 1
SUFFIX = ".jsonl"
_SHARD = re.compile(r"\d{8}T\d{4}Z")
#: How far before a command's start a reader looks (the wall clock may be stepped back).
SINCE_SLACK_NS = 60 * 10**9
_BYTES = "\x00bytes"  # tag of a bytes attribute value (JSON has no bytes)


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
    tmp = path.with_name(f".tmp-{os.getpid()}-{next(_counter)}-{path.name}")
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
    """The folder of a trace in the previous spool layout (read, never written)."""
    if len(trace_id) != 32 or any(c not in "0123456789abcdef" for c in trace_id):
        raise ValueError(f"not a trace id: {trace_id!r}")
    return spool / trace_id


def shard_name(time_ns: int) -> str:
    """The minute folder of a file written at ``time_ns``: ``20261203T2131Z``."""
    return time.strftime("%Y%m%dT%H%MZ", time.gmtime(time_ns // 10**9))


# --- writing ------------------------------------------------------------------

def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (tuple, list)):
        return list(value)
    if hasattr(value, "items"):  # a Mapping that is not a dict (MappingProxyType, BoundedAttributes)
        return dict(value.items())
    raise TypeError(f"{type(value).__name__} is not an attribute value")


_dumps = json.JSONEncoder(separators=(",", ":"), default=_json_default).encode
if json.encoder.c_make_encoder is not None:  # CPython: the C encoder, made once, without the circularity check
    _c_encode = json.encoder.c_make_encoder(None, _json_default, json.encoder.encode_basestring_ascii, None,
                                            ":", ",", False, False, True)

    def _dumps_row(row: list[Any]) -> str:
        return "".join(_c_encode(row, 0))
else:  # pragma: no cover
    _dumps_row = _dumps


def _attributes(attributes: Any) -> dict[str, Any]:
    if not attributes:
        return {}
    inner = getattr(attributes, "_dict", None)  # BoundedAttributes: skip its per-key __getitem__
    return inner if type(inner) is dict else dict(attributes)


def _dropped(bounded: Any) -> int:
    return getattr(bounded, "dropped", 0) or 0


def encode_batch(spans: Sequence[ReadableSpan]) -> bytes:
    """The batch file of ``spans``: a header line (resources, scopes), then one line per span."""
    resources: dict[int, int] = {}
    scopes: dict[int, int] = {}
    header: dict[str, Any] = {"spool": FORMAT, "resources": [], "scopes": []}
    lines = [""]
    for span in spans:
        resource = span.resource
        r = resources.get(id(resource))
        if r is None:
            r = resources[id(resource)] = len(header["resources"])
            header["resources"].append([_attributes(resource.attributes), resource.schema_url])
        scope = span.instrumentation_scope
        s = scopes.get(id(scope))
        if s is None:
            s = scopes[id(scope)] = len(header["scopes"])
            header["scopes"].append(None if scope is None else
                                    [scope.name, scope.version, scope.schema_url, _attributes(scope.attributes)])
        context = span.context
        parent = span.parent
        status = span.status
        state = context.trace_state
        events = span._events  # noqa: SLF001 - read-only; the property copies into a tuple
        links = span._links  # noqa: SLF001
        lines.append(_dumps_row([
            f"{context.trace_id:032x}",
            f"{context.span_id:016x}",
            None if parent is None else f"{parent.span_id:016x}",
            None if parent is None else parent.is_remote,
            span.name,
            span.kind.value,
            span.start_time,
            span.end_time,
            _attributes(span._attributes),  # noqa: SLF001
            [[e.name, e.timestamp, _attributes(e.attributes), e.dropped_attributes] for e in events] if events else [],
            [[f"{link.context.trace_id:032x}", f"{link.context.span_id:016x}", link.context.is_remote,
              _attributes(link.attributes), link.dropped_attributes] for link in links] if links else [],
            status.status_code.value,
            status.description,
            _dropped(span._attributes), _dropped(events), _dropped(links),  # noqa: SLF001
            ",".join(f"{k}={v}" for k, v in state.items()) if state else "",
            int(context.trace_flags),
            r, s,
        ]))
    lines[0] = _dumps(header)
    lines.append("")
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def write_spans(spool: Path, spans: Sequence[ReadableSpan]) -> int:
    """Spool ``spans`` as one batch file; returns how many files were written (0 or 1)."""
    if not spans:
        return 0
    data = encode_batch(spans)
    secure_spool(spool)
    now = time.time_ns()
    folder = secure_dir(spool / shard_name(now))
    write_private(folder / f"{now}-{os.getpid()}-{next(_counter)}{SUFFIX}", data)
    return 1


# --- reading ------------------------------------------------------------------

def batch_files(spool: Path, since_ns: int | None = None) -> list[Path]:
    """The batch files of the spool, oldest first; with ``since_ns``, those written since then."""
    first_shard = None if since_ns is None else shard_name(since_ns)
    out: list[tuple[str, Path]] = []
    try:
        shards = [entry for entry in os.scandir(spool)
                  if _SHARD.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    for shard in shards:
        if first_shard is not None and shard.name < first_shard:
            continue
        try:
            entries = list(os.scandir(shard.path))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith(".") or not name.endswith(SUFFIX) or not entry.is_file(follow_symlinks=False):
                continue
            written, _, _ = name.partition("-")
            if since_ns is not None and (not written.isdigit() or int(written) < since_ns):
                continue
            out.append((name, Path(entry.path)))
    out.sort()
    return [path for _, path in out]


def _tuples(value: Any) -> Any:
    """JSON back to attribute values: arrays were tuples, tagged objects bytes."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    if isinstance(value, dict):
        if len(value) == 1 and _BYTES in value:
            return base64.b64decode(value[_BYTES])
        return {key: _tuples(item) for key, item in value.items()}
    return value


def _attrs_back(attributes: dict[str, Any], dropped: int = 0) -> BoundedAttributes | None:
    if not attributes and not dropped:
        return None
    bounded = BoundedAttributes(attributes={k: _tuples(v) for k, v in attributes.items()}, immutable=True)
    bounded.dropped = dropped
    return bounded


def _bounded_list(items: list[Any], dropped: int) -> Any:
    if not dropped:
        return tuple(items)
    bounded = BoundedList.from_seq(None, items)
    bounded.dropped = dropped
    return bounded


def _span_back(row: list[Any], resources: list[Resource], scopes: list[InstrumentationScope | None]) -> ReadableSpan:
    (trace_id, span_id, parent_id, parent_remote, name, kind, start, end, attributes, events, links,
     code, description, dropped_attributes, dropped_events, dropped_links, trace_state, flags, r, s) = row
    context = SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=False, trace_flags=TraceFlags(flags),
                          trace_state=TraceState.from_header([trace_state]) if trace_state else TraceState())
    parent = None if parent_id is None else SpanContext(int(trace_id, 16), int(parent_id, 16),
                                                        is_remote=bool(parent_remote))
    return ReadableSpan(
        name=name,
        context=context,
        parent=parent,
        resource=resources[r],
        attributes=_attrs_back(attributes, dropped_attributes),
        events=_bounded_list([Event(e_name, _attrs_back(e_attrs, e_dropped), timestamp)
                              for e_name, timestamp, e_attrs, e_dropped in events], dropped_events),
        links=_bounded_list([Link(SpanContext(int(l_trace, 16), int(l_span, 16), is_remote=bool(l_remote)),
                                  _attrs_back(l_attrs, l_dropped))
                             for l_trace, l_span, l_remote, l_attrs, l_dropped in links], dropped_links),
        kind=SpanKind(kind),
        status=Status(StatusCode(code), description),
        start_time=start,
        end_time=end,
        instrumentation_scope=scopes[s],
    )


def decode_batch(data: bytes, trace_id: str | None = None) -> list[ReadableSpan]:
    """The spans of a batch file (only those of ``trace_id`` if given); ValueError if malformed."""
    lines = data.split(b"\n")
    try:
        header = json.loads(lines[0])
        if header.get("spool") != FORMAT:
            raise ValueError(f"not a spool batch of format {FORMAT}")
        resources = [Resource(_tuples(attributes) or {}, schema_url) for attributes, schema_url in header["resources"]]
        scopes = [None if scope is None else InstrumentationScope(scope[0], scope[1], scope[2], _tuples(scope[3]) or None)
                  for scope in header["scopes"]]
        prefix = None if trace_id is None else b'["' + trace_id.encode("ascii") + b'"'
        spans = []
        for line in lines[1:]:
            if not line or (prefix is not None and not line.startswith(prefix)):
                continue
            spans.append(_span_back(json.loads(line), resources, scopes))
        if lines[-1] != b"":
            raise ValueError("no end of line after the last span")
        return spans
    except (KeyError, IndexError, TypeError, AttributeError, UnicodeError) as exc:
        raise ValueError(f"malformed spool batch: {type(exc).__name__}: {exc}") from exc


def read_batch(path: Path, trace_id: str | None = None) -> dict[str, Any] | None:
    """OTLP JSON document of a batch file's spans (of ``trace_id``), None if it holds none."""
    data = _read_private(path)
    if trace_id is not None and trace_id.encode("ascii") not in data:
        return None
    spans = decode_batch(data, trace_id)
    return encode(spans) if spans else None


def _read_private(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


_warned: set[str] = set()


def _skip(path: Path, exc: BaseException) -> None:
    if str(path) not in _warned:
        _warned.add(str(path))
        _logger.warning("otel-openstack: skipping unreadable spool file %s: %s", path, exc)


def _legacy_documents(spool: Path, trace_id: str) -> list[tuple[Path, dict[str, Any]]]:
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
            _skip(path, exc)
    return out


def read_documents(spool: Path, trace_id: str, since_ns: int | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """Every spool file holding spans of the trace, as OTLP JSON documents of those spans.

    ``since_ns`` (the command's start) limits the search to files written
    since then (less ``SINCE_SLACK_NS``); unreadable files are skipped, logged
    once.
    """
    out = _legacy_documents(spool, trace_id)
    since = None if since_ns is None else since_ns - SINCE_SLACK_NS
    for path in batch_files(spool, since):
        try:
            document = _read_batch_cached(path, trace_id)
        except FileNotFoundError:  # collected (rewritten) or removed meanwhile
            continue
        except (OSError, ValueError) as exc:
            _skip(path, exc)
            continue
        if document is not None:
            out.append((path, document))
    return out


#: (path, trace id) -> (size, mtime, document or None): a CLI polls the same
#: files until every announced span arrived, and decoding costs ~0.5 ms a
#: span; a file only changes by being rewritten (remove_trace), which changes
#: its size and mtime.  Documents are shared between calls: readers never
#: modify them (sources and the renderer only read).
_read_cache: dict[tuple[str, str], tuple[int, int, dict[str, Any] | None]] = {}
_READ_CACHE_MAX = 4096


def _read_batch_cached(path: Path, trace_id: str) -> dict[str, Any] | None:
    info = os.lstat(path)
    key = (str(path), trace_id)
    cached = _read_cache.get(key)
    if cached is not None and cached[0] == info.st_size and cached[1] == info.st_mtime_ns:
        return cached[2]
    document = read_batch(path, trace_id)
    if len(_read_cache) >= _READ_CACHE_MAX:
        _read_cache.clear()
    _read_cache[key] = (info.st_size, info.st_mtime_ns, document)
    return document


def remove_trace(spool: Path, trace_id: str, since_ns: int | None = None) -> None:
    """Take a collected trace's spans out of the spool (files of other traces are rewritten without them)."""
    folder = trace_dir(spool, trace_id)
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)
    needle = trace_id.encode("ascii")
    prefix = b'["' + needle + b'"'
    for path in batch_files(spool, None if since_ns is None else since_ns - SINCE_SLACK_NS):
        try:
            data = _read_private(path)
            if needle not in data:
                continue
            lines = data.split(b"\n")
            kept = [line for line in lines[1:] if line and not line.startswith(prefix)]
            if len(kept) == len([line for line in lines[1:] if line]):
                continue
            if kept:
                write_private(path, b"\n".join([lines[0], *kept, b""]))
            else:
                os.unlink(path)
        except OSError:
            continue


def remove_stale(spool: Path, max_age: float = STALE_SECONDS, now: float | None = None) -> int:
    """Drop minute folders (and old-layout trace folders) nobody collected: services' background traffic."""
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


def spans_in(spool: Path) -> Iterable[tuple[Path, list[ReadableSpan] | None]]:
    """Every batch file with its spans (None when unreadable): for tests and benchmarks."""
    for path in batch_files(spool):
        try:
            yield path, decode_batch(_read_private(path))
        except (OSError, ValueError):
            yield path, None


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
