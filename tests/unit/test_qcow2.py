"""The generated qcow2 passes the format inspector glance uses on upload."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from oslo_utils.imageutils import format_inspector

from examples.localcloud.qcow2 import CLUSTER_SIZE, make_qcow2


@pytest.mark.parametrize("virtual_size", [1 << 20, 5 * (1 << 20) + 512, 1 << 30])
def test_detected_as_safe_qcow2(tmp_path: Path, virtual_size: int) -> None:
    path = make_qcow2(tmp_path / "image.qcow2", virtual_size=virtual_size)
    inspector = format_inspector.detect_file_format(str(path))
    assert inspector is not None
    assert str(inspector) == "qcow2"
    assert inspector.virtual_size == virtual_size
    inspector.safety_check()  # raises SafetyCheckFailed if unsafe


def test_streamed_like_glance_upload(tmp_path: Path) -> None:
    """glance wraps the upload in InspectWrapper and requires one format."""
    path = make_qcow2(tmp_path / "image.qcow2")
    with open(path, "rb") as stream:
        wrapper = format_inspector.InspectWrapper(stream)
        while wrapper.read(CLUSTER_SIZE):
            pass
        wrapper.close()
    detected = wrapper.format
    assert detected is not None
    assert str(detected) == "qcow2"
    assert detected.virtual_size == 1 << 20


def test_small(tmp_path: Path) -> None:
    path = make_qcow2(tmp_path / "image.qcow2")
    assert path.stat().st_size == 4 * CLUSTER_SIZE


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img not installed")
def test_qemu_img_check(tmp_path: Path) -> None:
    """If qemu-img is around, it must find no corruption or leaks either."""
    path = make_qcow2(tmp_path / "image.qcow2", virtual_size=1 << 20)
    subprocess.run(
        ["qemu-img", "check", "-f", "qcow2", str(path)], check=True, capture_output=True
    )
