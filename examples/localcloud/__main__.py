"""Command line: ``python -m examples.localcloud up|down|env --state DIR``.

``up --swift`` adds swift and makes it glance's store (slower to boot).

``up`` boots the cloud, leaves it running, writes ``DIR/openrc`` and prints
the client environment as ``export K=V`` lines, so ``eval "$(python -m
examples.localcloud up --state DIR)"`` configures the current shell. Progress
and errors go to stderr, keeping stdout eval-able. ``down`` stops it by the
PIDs recorded in DIR.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cloud import LocalCloud
from .process import CloudError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.localcloud",
        description="A local keystone + glance (+ swift) cloud for otel-openstack demos.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="boot the cloud and leave it running")
    up.add_argument("--state", type=Path, required=True, help="state folder")
    up.add_argument(
        "--no-middleware",
        action="store_true",
        help="run the services without OpenTelemetry and our middleware",
    )
    up.add_argument(
        "--swift",
        action="store_true",
        help="add swift (proxy + storage servers) as glance's image store",
    )
    down = sub.add_parser("down", help="stop the cloud of a state folder")
    down.add_argument("--state", type=Path, required=True, help="state folder")
    env = sub.add_parser("env", help="print the client environment again")
    env.add_argument("--state", type=Path, required=True, help="state folder")
    args = parser.parse_args(argv)

    cloud = LocalCloud(
        args.state,
        middleware=not getattr(args, "no_middleware", False),
        swift=getattr(args, "swift", False),
    )
    try:
        if args.command == "up":
            cloud.start()
            swift = f" swift {cloud.swift_url}" if cloud.swift else ""
            print(
                f"cloud up in {cloud.boot_seconds:.1f}s: keystone {cloud.keystone_url}"
                f" glance {cloud.glance_url}{swift}; logs in {cloud.logs_dir};"
                f" env in {cloud.openrc_path}",
                file=sys.stderr,
            )
            sys.stdout.write(cloud.openrc())
        elif args.command == "down":
            was_running = cloud.is_running()
            cloud.stop()
            print("cloud stopped" if was_running else "no cloud running",
                  file=sys.stderr)
        else:
            sys.stdout.write(cloud.openrc())
    except CloudError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
