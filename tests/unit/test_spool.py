"""The spool: one atomic private file per batch, read back as OTLP JSON, symlinks refused, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import stat
import threading
import time
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from otel_openstack.exporters import spool
from otel_openstack.exporters.spool import SpoolSpanExporter, UnsafeSpoolError
from otel_openstack.settings import load
from otel_openstack.sources.otlp_json import spans_from_document

TRACE_A = 0x0AF7651916CD43DD8448EB211C80319C
TRACE_B = 0x1BF7651916CD43DD8448EB211C80319D


def make_spans(trace_id: int, count: int, prefix: str = "span") -> list[ReadableSpan]:
    """``count`` finished SDK spans in trace ``trace_id`` (children of a remote parent)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    parent = trace.set_span_in_context(NonRecordingSpan(SpanContext(
        trace_id, 0x00F067AA0BA902B7, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))))
    for i in range(count):
        with tracer.start_as_current_span(f"{prefix}-{i}", context=parent,
                                          attributes={"i": i, "url.full": "http://h/x"}):
            pass
    return list(exporter.get_finished_spans())


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def only(path: Path) -> Path:
    """The one batch file under the spool ``path``."""
    (file,) = [p for p in path.rglob("*") if p.is_file()]
    return file


def test_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    in_a = make_spans(TRACE_A, 2)
    batch = in_a + make_spans(TRACE_B, 1)
    assert spool.write_spans(root, batch) == 1  # one file per batch, whatever its traces
    docs_a = spool.read_documents(root, f"{TRACE_A:032x}")
    docs_b = spool.read_documents(root, f"{TRACE_B:032x}")
    assert len(docs_a) == len(docs_b) == 1
    records = list(spans_from_document(docs_a[0][1]))
    assert sorted(r.name for r in records) == ["span-0", "span-1"]
    by_name = {r.name: r for r in records}
    original = {s.name: s for s in in_a}
    for name, record in by_name.items():
        assert record.trace_id == f"{TRACE_A:032x}"
        assert record.span_id == f"{original[name].context.span_id:016x}"
        assert record.parent_id == "00f067aa0ba902b7"
        assert record.start_ns == original[name].start_time
        assert record.end_ns == original[name].end_time
        assert record.attributes == {"i": int(name[-1]), "url.full": "http://h/x"}
    assert [r.name for r in spans_from_document(docs_b[0][1])] == ["span-0"]
    assert docs_a[0][0] == docs_b[0][0] == only(root)


def odd_spans() -> list[ReadableSpan]:
    """Spans using every part of the model: events, links, status, trace state, odd values, dropped counts."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "glance-api", "n": 3}, "https://schema/r"),
                              span_limits=SpanLimits(max_span_attributes=8, max_events=1, max_links=1,
                                                     max_event_attributes=1))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope", "1.2", schema_url="https://schema/s", attributes={"scope.a": True})
    parent = trace.set_span_in_context(NonRecordingSpan(SpanContext(
        TRACE_A, 0x00F067AA0BA902B7, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "x1"), ("other", "y")]))))
    with tracer.start_as_current_span("root", context=parent, kind=SpanKind.SERVER, attributes={
            "s": "caf\u00e9 \"quoted\"\n", "i": -(2 ** 62), "f": 1.5, "nan": float("nan"), "b": True,
            "list": ["a", "b"], "ints": (1, 2), "bytes": b"\x00\xff", "map": {"k": [1, "v"]},
            "extra1": 1, "extra2": 2}) as root:
        root.add_event("first", {"e": 1, "dropped": 2}, timestamp=123)
        root.add_event("second")
        root.set_status(Status(StatusCode.ERROR, "it broke"))
        with tracer.start_as_current_span("child", kind=SpanKind.CLIENT, links=[
                trace.Link(root.get_span_context(), {"why": "because"}),
                trace.Link(SpanContext(TRACE_B, 7, is_remote=True))]):
            pass
    with provider.get_tracer("other").start_as_current_span("no parent", context=Context()):
        pass
    return list(exporter.get_finished_spans())


def test_what_is_read_back_is_what_the_otlp_json_encoder_makes_of_the_spans(tmp_path: Path) -> None:
    spans = odd_spans()
    assert spans[1].dropped_attributes and spans[1].dropped_events and spans[0].dropped_links
    root = tmp_path / "spool"
    spool.write_spans(root, spans)
    for trace_id in {s.context.trace_id for s in spans}:
        (_, document), = spool.read_documents(root, f"{trace_id:032x}")
        want = spool.encode([s for s in spans if s.context.trace_id == trace_id])
        assert json.dumps(document, sort_keys=True) == json.dumps(want, sort_keys=True)  # NaN != NaN


def test_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        root = tmp_path / "spool"
        spool.write_spans(root, make_spans(TRACE_A, 1))
    finally:
        os.umask(old)
    file = only(root)
    folder = file.parent
    assert folder.parent == root and re.fullmatch(r"\d{8}T\d{4}Z", folder.name)
    assert (mode(root), mode(folder), mode(file)) == (0o700, 0o700, 0o600)
    assert re.fullmatch(rf"\d+-{os.getpid()}-\d+\.jsonl", file.name)


def test_existing_open_spool_is_tightened(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    spool.write_spans(root, make_spans(TRACE_A, 1))
    assert mode(root) == 0o700


def test_symlinked_minute_folder_refused_and_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    now = time.time_ns()
    for minute in range(3):  # the minute the write happens in, whichever it is
        (root / spool.shard_name(now + minute * 60 * 10**9)).symlink_to(elsewhere)
    with pytest.raises(UnsafeSpoolError, match="is not a plain directory"):
        spool.write_spans(root, make_spans(TRACE_A, 1))
    assert list(elsewhere.iterdir()) == []
    # a reader does not follow it either
    spool.write_private(elsewhere / f"{now}-1-1.jsonl", spool.encode_batch(make_spans(TRACE_A, 1)))
    assert spool.read_documents(root, f"{TRACE_A:032x}") == []


def test_dangling_symlink_as_minute_folder_refused(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir(mode=0o700)
    target = tmp_path / "not-yet"
    now = time.time_ns()
    for minute in range(3):
        (root / spool.shard_name(now + minute * 60 * 10**9)).symlink_to(target)
    with pytest.raises(UnsafeSpoolError):
        spool.write_spans(root, make_spans(TRACE_A, 1))
    assert not target.exists()


def test_symlinked_trace_folder_of_the_old_layout_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / f"{TRACE_A:032x}").symlink_to(elsewhere)
    (elsewhere / "planted.json").write_text('{"resourceSpans": []}')
    spool.write_spans(root, make_spans(TRACE_A, 1))
    assert [path.name for path in elsewhere.iterdir()] == ["planted.json"]
    assert [path.parent.parent for path, _ in spool.read_documents(root, f"{TRACE_A:032x}")] == [root]


def test_old_layout_still_read(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    spans = make_spans(TRACE_A, 2)
    folder = spool.secure_dir(root / f"{TRACE_A:032x}")
    spool.write_private(folder / "1-2-3.json", json.dumps(spool.encode(spans[:1])).encode())
    spool.write_spans(root, spans[1:])
    docs = spool.read_documents(root, f"{TRACE_A:032x}")
    assert sorted(r.name for _, d in docs for r in spans_from_document(d)) == ["span-0", "span-1"]
    spool.remove_trace(root, f"{TRACE_A:032x}")
    assert spool.read_documents(root, f"{TRACE_A:032x}") == []


def test_symlinked_spool_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = tmp_path / "spool"
    root.symlink_to(elsewhere)
    with pytest.raises(UnsafeSpoolError):
        spool.write_spans(root, make_spans(TRACE_A, 1))
    assert list(elsewhere.iterdir()) == []


def test_symlinked_file_skipped_by_reader(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    spool.write_spans(root, make_spans(TRACE_A, 1))
    real = only(root)
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(spool.encode_batch(make_spans(TRACE_A, 1)))
    (real.parent / f"{time.time_ns()}-1-1.jsonl").symlink_to(outside)
    docs = spool.read_documents(root, f"{TRACE_A:032x}")
    assert [path for path, _ in docs] == [real]


def test_unreadable_file_skipped_and_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "spool"
    spool.write_spans(root, make_spans(TRACE_A, 1))
    good = only(root)
    torn = good.with_name(f"{time.time_ns()}-1-1.jsonl")
    torn.write_bytes(good.read_bytes()[:-40])
    strange = good.with_name(f"{time.time_ns()}-1-2.jsonl")
    strange.write_bytes(b'{"spool": 1, "resources": [], "scopes": []}\n["' + f"{TRACE_A:032x}".encode() + b'", 1]\n')
    for _ in range(3):
        docs = spool.read_documents(root, f"{TRACE_A:032x}")
        assert [path for path, _ in docs] == [good]
    assert caplog.text.count("skipping unreadable spool file") == 2
    assert str(torn) in caplog.text and str(strange) in caplog.text


def test_trace_id_validated(tmp_path: Path) -> None:
    for bad in ("../../etc", "0AF7651916CD43DD8448EB211C80319C", "abc"):
        with pytest.raises(ValueError, match="not a trace id"):
            spool.trace_dir(tmp_path, bad)
        with pytest.raises(ValueError, match="not a trace id"):
            spool.read_documents(tmp_path, bad)
    assert spool.read_documents(tmp_path, f"{TRACE_A:032x}") == []


def test_a_reader_given_the_command_start_reads_only_files_written_since(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    spool.write_spans(root, make_spans(TRACE_A, 1))
    old = only(root)
    # the same file, as if written an hour ago, in the folder of its minute
    hour_ago = time.time_ns() - 3600 * 10**9
    folder = spool.secure_dir(root / spool.shard_name(hour_ago))
    os.rename(old, folder / f"{hour_ago}-1-1.jsonl")
    spool.write_spans(root, make_spans(TRACE_A, 1))
    assert len(spool.read_documents(root, f"{TRACE_A:032x}")) == 2
    assert len(spool.read_documents(root, f"{TRACE_A:032x}", since_ns=time.time_ns() - 10**9)) == 1
    assert len(spool.batch_files(root, since_ns=hour_ago - 10**9)) == 2


def test_remove_trace_and_stale(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    spool.write_spans(root, make_spans(TRACE_A, 1) + make_spans(TRACE_B, 1))  # shared with B: rewritten
    spool.write_spans(root, make_spans(TRACE_A, 2))  # A only: removed
    spool.remove_trace(root, f"{TRACE_A:032x}")
    assert spool.read_documents(root, f"{TRACE_A:032x}") == []
    (path, document), = spool.read_documents(root, f"{TRACE_B:032x}")
    assert [r.trace_id for r in spans_from_document(document)] == [f"{TRACE_B:032x}"]
    assert only(root) == path and mode(path) == 0o600
    assert not [p for p in root.rglob(".tmp-*")]
    mtime = path.parent.stat().st_mtime
    assert spool.remove_stale(root, max_age=100, now=mtime + 50) == 0
    assert spool.remove_stale(root, max_age=100, now=mtime + 101) == 1
    assert list(root.iterdir()) == []
    assert spool.remove_stale(tmp_path / "missing") == 0


def test_exporter(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "spool"
    exporter = SpoolSpanExporter(load({}, spool_dir=str(root)))
    assert exporter.export(make_spans(TRACE_A, 3)) == SpanExportResult.SUCCESS
    (path, document), = spool.read_documents(root, f"{TRACE_A:032x}")
    assert len(list(spans_from_document(document))) == 3
    assert [len(spans) for _, spans in spool.spans_in(root)] == [3]
    unsafe = tmp_path / "link"
    unsafe.symlink_to(tmp_path)
    assert SpoolSpanExporter(spool_dir=str(unsafe)).export(make_spans(TRACE_A, 1)) == SpanExportResult.FAILURE
    assert exporter.force_flush() is True


def _count(root: Path, trace_id: int) -> tuple[int, set[str]]:
    docs = spool.read_documents(root, f"{trace_id:032x}")
    ids = [r.span_id for _, d in docs for r in spans_from_document(d)]
    return len(ids), set(ids)


def test_concurrent_threads_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    batches = [make_spans(TRACE_A, 50, prefix=f"t{t}") for t in range(8)]
    errors: list[BaseException] = []

    def write(batch: list[ReadableSpan]) -> None:
        try:
            for span in batch:
                spool.write_spans(root, [span])  # one file per span: the most files at once
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    count, ids = _count(root, TRACE_A)
    assert count == len(ids) == 400
    assert ids == {f"{s.context.span_id:016x}" for b in batches for s in b}
    assert not [p for p in root.rglob(".tmp-*")]


def _process_writer(root: str, worker: int, count: int) -> list[str]:
    spans = make_spans(TRACE_A, count, prefix=f"p{worker}")
    for i in range(0, count, 10):
        spool.write_spans(Path(root), spans[i:i + 10])
    return [f"{s.context.span_id:016x}" for s in spans]


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        written = pool.starmap(_process_writer, [(str(root), w, 200) for w in range(4)])
    count, ids = _count(root, TRACE_A)
    assert count == 800
    assert ids == {i for batch in written for i in batch}
    assert len(spool.batch_files(root)) == 80


def test_default_spool_parent_is_made_private(tmp_path: Path) -> None:
    parent = tmp_path / f"otel-openstack-{os.getuid()}"
    parent.mkdir(mode=0o755)
    os.chmod(parent, 0o755)
    spool.secure_spool(parent / "spool")
    assert parent.stat().st_mode & 0o777 == 0o700
    assert (parent / "spool").stat().st_mode & 0o777 == 0o700


def test_default_spool_parent_planted_as_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / f"otel-openstack-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(spool.UnsafeSpoolError):
        spool.secure_spool(tmp_path / f"otel-openstack-{os.getuid()}" / "spool")
    assert not (elsewhere / "spool").exists()


def test_a_polled_file_is_decoded_once_and_again_when_rewritten(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "spool"
    spool.write_spans(root, make_spans(TRACE_A, 2) + make_spans(TRACE_B, 1))
    decoded: list[str | None] = []
    real = spool.read_batch
    monkeypatch.setattr(spool, "read_batch", lambda path, trace_id=None: decoded.append(trace_id) or real(path, trace_id))
    first = spool.read_documents(root, f"{TRACE_A:032x}")
    assert spool.read_documents(root, f"{TRACE_A:032x}") == first
    assert decoded == [f"{TRACE_A:032x}"]
    spool.remove_trace(root, f"{TRACE_B:032x}")  # the file is rewritten without B: read afresh
    os.utime(only(root), ns=(1, 1))
    assert [len(list(spans_from_document(d))) for _, d in spool.read_documents(root, f"{TRACE_A:032x}")] == [2]
    assert len(decoded) == 2
