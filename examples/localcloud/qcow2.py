"""Write a small, valid, empty qcow2 (version 3) image in pure Python.

Why: glance inspects uploaded data (oslo_utils.imageutils.format_inspector)
and rejects payloads whose content does not match ``--disk-format qcow2``,
so the demo needs a *real* qcow2, and qemu-img is not available on a fresh
machine. An empty image is enough: every guest cluster is unallocated and
reads as zeros, so the file only holds the metadata qemu itself would write.

Layout (cluster_bits 16, i.e. 64 KiB clusters, the qemu-img default)::

    cluster 0  header (104 bytes, qcow2 v3) + end-of-extensions marker
    cluster 1  refcount table  (1 entry -> cluster 2)
    cluster 2  refcount block  (16-bit refcounts; clusters 0..3 = 1)
    cluster 3  L1 table        (all zero: no L2 table allocated yet)

The file is padded to whole clusters, so every byte is covered by a refcount
and ``qemu-img check`` would report no leaks or corruption.
"""

from __future__ import annotations

import struct
from pathlib import Path

MAGIC = b"QFI\xfb"
VERSION = 3
CLUSTER_BITS = 16
CLUSTER_SIZE = 1 << CLUSTER_BITS
HEADER_LENGTH = 104  # fixed part of a v3 header (no compression_type field)
REFCOUNT_ORDER = 4  # 16-bit refcounts, the qemu default

_HEADER = struct.Struct(
    ">4sIQIIQIIQQIIQQQQII"
)  # 104 bytes: magic .. header_length


def qcow2_bytes(virtual_size: int = 1 << 20) -> bytes:
    """Return the bytes of an empty qcow2 v3 image of ``virtual_size`` bytes."""
    if virtual_size <= 0:
        raise ValueError("virtual_size must be positive")
    # One L2 table (one cluster of 8-byte entries) maps this many bytes.
    bytes_per_l2 = (CLUSTER_SIZE // 8) * CLUSTER_SIZE
    l1_size = -(-virtual_size // bytes_per_l2)
    if l1_size * 8 > CLUSTER_SIZE:
        raise ValueError("virtual_size too large for a one-cluster L1 table")

    refcount_table_offset = 1 * CLUSTER_SIZE
    refcount_block_offset = 2 * CLUSTER_SIZE
    l1_table_offset = 3 * CLUSTER_SIZE
    n_clusters = 4

    header = _HEADER.pack(
        MAGIC,
        VERSION,
        0,  # backing_file_offset: none (a backing file fails glance's checks)
        0,  # backing_file_size
        CLUSTER_BITS,
        virtual_size,
        0,  # crypt_method: none
        l1_size,
        l1_table_offset,
        refcount_table_offset,
        1,  # refcount_table_clusters
        0,  # nb_snapshots
        0,  # snapshots_offset
        0,  # incompatible_features (no dirty bit, no external data file)
        0,  # compatible_features
        0,  # autoclear_features
        REFCOUNT_ORDER,
        HEADER_LENGTH,
    )
    assert len(header) == HEADER_LENGTH
    end_of_extensions = struct.pack(">II", 0, 0)

    image = bytearray(n_clusters * CLUSTER_SIZE)
    image[0 : len(header)] = header
    image[HEADER_LENGTH : HEADER_LENGTH + 8] = end_of_extensions
    # Refcount table: first entry points to the only refcount block.
    struct.pack_into(">Q", image, refcount_table_offset, refcount_block_offset)
    # Refcount block: each metadata cluster is referenced exactly once.
    for cluster in range(n_clusters):
        struct.pack_into(">H", image, refcount_block_offset + 2 * cluster, 1)
    # L1 table stays zero: no guest data is allocated.
    return bytes(image)


def make_qcow2(path: Path | str, virtual_size: int = 1 << 20) -> Path:
    """Write an empty qcow2 image to ``path`` and return the path."""
    path = Path(path)
    path.write_bytes(qcow2_bytes(virtual_size))
    return path
