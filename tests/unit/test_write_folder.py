"""pipeline.write_folder when the disk fills up: the trace first, no empty folder left behind."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from otel_openstack import pipeline
from otel_openstack.exporters import spool

FILES = {pipeline.LOG_FILE: "log", pipeline.DIAGRAM_FILE: "diagram", pipeline.TRACE_FILE: "{}"}


def _disk_fills_after(count: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    written: list[str] = []
    real = spool.write_private

    def write_private(path: Path, data: bytes) -> None:
        if len(written) >= count:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)
        written.append(path.name)

    monkeypatch.setattr(spool, "write_private", write_private)
    return written


def test_the_trace_is_written_first_so_a_full_disk_leaves_what_renders_again(tmp_path, monkeypatch) -> None:
    written = _disk_fills_after(1, monkeypatch)
    with pytest.raises(OSError):
        pipeline.write_folder(tmp_path / "out", FILES)
    assert written == [pipeline.TRACE_FILE]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [pipeline.TRACE_FILE]


def test_a_folder_that_got_nothing_is_removed(tmp_path, monkeypatch) -> None:
    _disk_fills_after(0, monkeypatch)
    with pytest.raises(OSError):
        pipeline.write_folder(tmp_path / "out", FILES)
    assert not (tmp_path / "out").exists()


def test_an_existing_folder_is_kept_even_when_nothing_could_be_written(tmp_path, monkeypatch) -> None:
    (tmp_path / "out").mkdir(mode=0o700)
    _disk_fills_after(0, monkeypatch)
    with pytest.raises(OSError):
        pipeline.write_folder(tmp_path / "out", FILES)
    assert (tmp_path / "out").is_dir()
