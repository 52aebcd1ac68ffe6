"""The files of a scenario's work folder: an empty qcow2 made here, an existing file linked in.

The qcow2 writer is the local cloud's (``examples/localcloud/qcow2.py``),
repeated here because ``otel_openstack`` must not import ``examples``: glance
inspects uploads and refuses a ``--disk-format qcow2`` payload that is not
one, and a fresh machine has no ``qemu-img``.  The image is empty (every
guest cluster unallocated), four 64 KiB clusters: header, refcount table,
refcount block, L1 table.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Sequence

from otel_openstack.scenario.spec import FileSpec

_CLUSTER_BITS = 16
_CLUSTER = 1 << _CLUSTER_BITS
_HEADER = struct.Struct(">4sIQIIQIIQQIIQQQQII")  # qcow2 v3, 104 bytes


def empty_qcow2(virtual_size: int) -> bytes:
    """The bytes of an empty qcow2 v3 image of ``virtual_size`` bytes (at most 4 TiB)."""
    if virtual_size <= 0:
        raise ValueError("virtual_size must be positive")
    l1_size = -(-virtual_size // ((_CLUSTER // 8) * _CLUSTER))
    if l1_size * 8 > _CLUSTER:
        raise ValueError("virtual_size too large for a one-cluster L1 table")
    refcount_table, refcount_block, l1_table, clusters = _CLUSTER, 2 * _CLUSTER, 3 * _CLUSTER, 4
    header = _HEADER.pack(b"QFI\xfb", 3, 0, 0, _CLUSTER_BITS, virtual_size, 0, l1_size, l1_table,
                          refcount_table, 1, 0, 0, 0, 0, 0, 4, _HEADER.size)
    image = bytearray(clusters * _CLUSTER)
    image[: len(header)] = header  # followed by the end-of-extensions marker: 8 zero bytes
    struct.pack_into(">Q", image, refcount_table, refcount_block)
    for cluster in range(clusters):
        struct.pack_into(">H", image, refcount_block + 2 * cluster, 1)
    return bytes(image)


class FilesError(Exception):
    """A file the scenario names cannot be made or found; ``str()`` is one line."""


def prepare(files: Sequence[FileSpec], work_dir: Path) -> dict[str, str]:
    """Make or link every file in ``work_dir``; ``{files.NAME}`` -> its name there."""
    names: dict[str, str] = {}
    for spec in files:
        target = work_dir / spec.filename
        if target.is_symlink() or target.exists():
            target.unlink()
        if spec.qcow2 is not None:
            target.write_bytes(empty_qcow2(spec.qcow2))
        elif spec.source is not None:
            if not spec.source.is_file():
                raise FilesError(f"files.{spec.name}: {spec.source}: no such file")
            os.symlink(spec.source.resolve(), target)
        names[spec.name] = spec.filename
    return names
