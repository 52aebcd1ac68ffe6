"""Demo: trace one real ``openstack image create`` against a local cloud.

    python -m examples.demo [--output DIR] [--keep] [--swift]

Boots keystone + glance (with our middleware) in a temporary state folder,
writes a small real qcow2, runs::

    opentelemetry-instrument openstack image create --disk-format qcow2 \\
        --file <qcow2> --public --format json cirros

with otel-openstack's exporter, prints the CLI's output and the output
folder it produced, stops the cloud (always: also on errors, Ctrl-C and
SIGTERM) and exits with the CLI's exit status. ``--keep`` keeps the state
folder (service logs, spool) for a look afterwards. ``--swift`` adds swift
(proxy + storage servers, traced proxy) as glance's image store, so the
upload goes on to swift-proxy-server as on devstack (~8 s more to boot).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from examples.localcloud import CloudError, LocalCloud, make_qcow2
from examples.localcloud.cloud import clean_environ, venv_bin_dir
from examples.localcloud.tracing import otlp_env

#: Environment of the traced CLI, on top of the cloud's OS_* variables.
CLI_TRACING_ENV = {
    "OTEL_TRACES_EXPORTER": "otel_openstack",
    "OTEL_METRICS_EXPORTER": "none",
    "OTEL_LOGS_EXPORTER": "none",
}


def cli_command(bin_dir: Path, image_file: Path) -> list[str]:
    """The exact command the demo traces."""
    return [
        str(bin_dir / "opentelemetry-instrument"),
        str(bin_dir / "openstack"),
        "image", "create",
        "--disk-format", "qcow2",
        "--file", str(image_file),
        "--public",
        "--format", "json",
        "cirros",
    ]


def cli_env(cloud: LocalCloud, output_dir: Path) -> dict[str, str]:
    """The caller's environment (see clean_environ), plus the cloud's and ours."""
    env = clean_environ()
    env.update(cloud.cli_env())
    env.update(CLI_TRACING_ENV)
    env.update(otlp_env())
    env["OTEL_OPENSTACK_OUTPUT_DIR"] = str(output_dir)
    return env


def newest_subfolder(folder: Path, before: set[Path]) -> Path | None:
    """The folder the CLI just wrote: new since ``before``, newest first."""
    if not folder.is_dir():
        return None
    subfolders = [p for p in folder.iterdir() if p.is_dir()]
    fresh = [p for p in subfolders if p not in before] or subfolders
    return max(fresh, key=lambda p: p.stat().st_mtime, default=None)


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--output", type=Path, default=Path("otel-openstack"),
        help="OTEL_OPENSTACK_OUTPUT_DIR (default ./otel-openstack)",
    )
    parser.add_argument(
        "--keep", action="store_true",
        help="keep the cloud's state folder (logs, spool) after the demo",
    )
    parser.add_argument(
        "--swift", action="store_true",
        help="store the image in swift (glance-api -> swift-proxy-server), as on devstack",
    )
    args = parser.parse_args(argv)
    output_dir = args.output.absolute()
    bin_dir = venv_bin_dir()

    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    state = Path(tempfile.mkdtemp(prefix="otel-openstack-demo-"))
    cloud = LocalCloud(state, middleware=True, swift=args.swift)
    status = 1
    try:
        status = _run(cloud, bin_dir, output_dir)
    except CloudError as exc:
        print(f"error: the local cloud failed: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        status = 130
    except SystemExit as exc:  # SIGTERM, see _raise_on_sigterm
        status = exc.code if isinstance(exc.code, int) else 1
    finally:
        # Always stop the cloud; a signal during the stop is delivered after it.
        try:
            cloud.stop()
        except KeyboardInterrupt:
            status = 130
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        if args.keep:
            print(f"State folder kept: {state}", file=sys.stderr)
        else:
            shutil.rmtree(state, ignore_errors=True)
    return status


def _run(cloud: LocalCloud, bin_dir: Path, output_dir: Path) -> int:
    """Boot, run the traced CLI, print its output folder; return its status."""
    services = "keystone + glance + swift" if cloud.swift else "keystone + glance"
    print(f"Booting {services} in {cloud.state_dir} ...", file=sys.stderr)
    cloud.start()
    swift = f", swift {cloud.swift_url}" if cloud.swift else ""
    print(
        f"Cloud up in {cloud.boot_seconds:.1f}s: keystone {cloud.keystone_url},"
        f" glance {cloud.glance_url}{swift}", file=sys.stderr,
    )
    image_file = make_qcow2(cloud.state_dir / "cirros.qcow2", virtual_size=1 << 20)
    output_dir.mkdir(parents=True, exist_ok=True)
    before = {p for p in output_dir.iterdir() if p.is_dir()}
    # Run from the image's folder with a relative --file: the page's Command section then reads
    # `--file cirros.qcow2`, as in the README, not a temporary path that differs at every run.
    command = cli_command(bin_dir, Path(image_file.name))
    print("$ " + " ".join(command[1:]), file=sys.stderr, flush=True)
    result = subprocess.run(command, env=cli_env(cloud, output_dir), cwd=image_file.parent, check=False)
    folder = newest_subfolder(output_dir, before)
    if folder is None:
        print(f"No output folder was written under {output_dir}", file=sys.stderr)
    else:
        print(f"Output folder: {folder}", flush=True)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
