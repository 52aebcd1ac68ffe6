"""Build swift's three one-device rings in one interpreter.

Why: ``swift-ring-builder`` needs three invocations per ring (create, add,
rebalance), nine in all, each paying for swift's imports; swift's RingBuilder
API does the same in one process, and keeping it out of the caller's process
keeps eventlet and swift out of a test run or the demo. Why a subprocess at
all: it runs side by side with keystone's setup.

Usage (run by examples.localcloud.cloud, not by hand)::

    python -m examples.localcloud.swift_rings --swift-dir DIR --device d1 \
        --account-port=P1 --container-port=P2 --object-port=P3

writes ``account.ring.gz``, ``container.ring.gz``, ``object.ring.gz`` (what
the servers read) and the matching ``.builder`` files (what an operator would
change later) into DIR.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .swift import BACKENDS, MIN_PART_HOURS, PART_POWER, REPLICAS


def build_ring(swift_dir: Path, kind: str, port: int, device: str) -> Path:
    """Build, rebalance and save the ``kind`` ring with one device."""
    from swift.common.ring import RingBuilder  # slow import: swift + eventlet

    builder = RingBuilder(PART_POWER, REPLICAS, MIN_PART_HOURS)
    builder.add_dev(
        {
            "id": 0,
            "region": 1,
            "zone": 1,
            "ip": "127.0.0.1",
            "port": port,
            "device": device,
            "weight": 1.0,
            "meta": "",
        }
    )
    builder.rebalance(seed=1)
    builder.save(str(swift_dir / f"{kind}.builder"))
    ring_path = swift_dir / f"{kind}.ring.gz"
    builder.get_ring().save(str(ring_path))
    return ring_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swift-dir", type=Path, required=True)
    parser.add_argument("--device", required=True)
    for kind in BACKENDS:
        parser.add_argument(f"--{kind}-port", type=int, required=True)
    args = parser.parse_args(argv)
    for kind in BACKENDS:
        port = getattr(args, f"{kind}_port")
        path = build_ring(args.swift_dir, kind, port, args.device)
        print(f"{path.name}: 1 device (127.0.0.1:{port}/{args.device})", flush=True)


if __name__ == "__main__":
    main()
