"""The spool: atomic private files per batch and trace, symlinks refused, concurrent writers."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

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


def test_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    in_a = make_spans(TRACE_A, 2)
    batch = in_a + make_spans(TRACE_B, 1)
    assert spool.write_spans(root, batch) == 2
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
    assert docs_a[0][0].parent == root / f"{TRACE_A:032x}"


def test_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        root = tmp_path / "spool"
        spool.write_spans(root, make_spans(TRACE_A, 1))
    finally:
        os.umask(old)
    folder = root / f"{TRACE_A:032x}"
    (file,) = list(folder.iterdir())
    assert (mode(root), mode(folder), mode(file)) == (0o700, 0o700, 0o600)
    assert file.name.endswith(".json") and not file.name.startswith(".tmp-")


def test_existing_open_spool_is_tightened(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    spool.write_spans(root, make_spans(TRACE_A, 1))
    assert mode(root) == 0o700


def test_symlinked_trace_folder_refused_and_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / f"{TRACE_A:032x}").symlink_to(elsewhere)
    with pytest.raises(UnsafeSpoolError, match="is not a plain directory"):
        spool.write_spans(root, make_spans(TRACE_A, 1))
    assert list(elsewhere.iterdir()) == []
    # a reader does not follow it either
    (elsewhere / "planted.json").write_text('{"resourceSpans": []}')
    assert spool.read_documents(root, f"{TRACE_A:032x}") == []


def test_dangling_symlink_as_trace_folder_refused(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir(mode=0o700)
    target = tmp_path / "not-yet"
    (root / f"{TRACE_A:032x}").symlink_to(target)
    with pytest.raises(UnsafeSpoolError):
        spool.write_spans(root, make_spans(TRACE_A, 1))
    assert not target.exists()


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
    outside = tmp_path / "outside.json"
    outside.write_text('{"resourceSpans": []}')
    (root / f"{TRACE_A:032x}" / "0-planted.json").symlink_to(outside)
    docs = spool.read_documents(root, f"{TRACE_A:032x}")
    assert [path.name for path, _ in docs if path.name == "0-planted.json"] == []
    assert len(docs) == 1


def test_unreadable_file_skipped_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "spool"
    spool.write_spans(root, make_spans(TRACE_A, 1))
    (root / f"{TRACE_A:032x}" / "1-broken.json").write_text('{"resourceSp')
    docs = spool.read_documents(root, f"{TRACE_A:032x}")
    assert len(docs) == 1
    assert "skipping unreadable spool file" in caplog.text


def test_trace_id_validated(tmp_path: Path) -> None:
    for bad in ("../../etc", "0AF7651916CD43DD8448EB211C80319C", "abc"):
        with pytest.raises(ValueError, match="not a trace id"):
            spool.trace_dir(tmp_path, bad)
    assert spool.read_documents(tmp_path, f"{TRACE_A:032x}") == []


def test_remove_trace_and_stale(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    spool.write_spans(root, make_spans(TRACE_A, 1) + make_spans(TRACE_B, 1))
    spool.remove_trace(root, f"{TRACE_A:032x}")
    assert sorted(p.name for p in root.iterdir()) == [f"{TRACE_B:032x}"]
    mtime = (root / f"{TRACE_B:032x}").stat().st_mtime
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
    assert not [p for p in (root / f"{TRACE_A:032x}").iterdir() if p.name.startswith(".tmp-")]


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
    assert len(list((root / f"{TRACE_A:032x}").iterdir())) == 80


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
