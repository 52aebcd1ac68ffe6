"""The local cloud works for the real ``openstack`` CLI (not instrumented)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from examples.localcloud import LocalCloud, make_qcow2
from examples.localcloud.cloud import clean_environ

pytestmark = pytest.mark.cloud

OPENSTACK = Path(sys.executable).parent / "openstack"


def openstack(
    cloud: LocalCloud, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the openstack CLI against ``cloud``, with none of our env leaking in."""
    env = clean_environ()
    env.update(cloud.cli_env())
    proc = subprocess.run(
        [str(OPENSTACK), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, (
        f"openstack {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}\n"
        f"keystone log tail:\n{_tail(cloud.keystone_log)}\n"
        f"glance log tail:\n{_tail(cloud.glance_log)}"
    )
    return proc


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def test_token_issue(cloud: LocalCloud) -> None:
    token = json.loads(openstack(cloud, "token", "issue", "-f", "json").stdout)
    assert token["id"]
    assert token["project_id"]


def test_image_create_becomes_active(cloud: LocalCloud, tmp_path: Path) -> None:
    image_file = make_qcow2(tmp_path / "cirros.qcow2", virtual_size=1 << 20)
    created = json.loads(
        openstack(
            cloud, "image", "create", "--disk-format", "qcow2",
            "--file", str(image_file), "--public", "cirros", "-f", "json",
        ).stdout
    )
    image = created
    deadline = time.monotonic() + 30
    while image["status"] != "active" and time.monotonic() < deadline:
        time.sleep(0.5)
        image = json.loads(
            openstack(cloud, "image", "show", created["id"], "-f", "json").stdout
        )
    assert image["status"] == "active"
    assert image["size"] == image_file.stat().st_size
    assert image["disk_format"] == "qcow2"
    assert image["virtual_size"] == 1 << 20


def test_swift_cloud_boots_stores_images_in_swift_and_stops(tmp_path: Path) -> None:
    """``swift=True``: four more servers, glance's store in swift, nothing in /etc."""
    etc_swift_before = Path("/etc/swift").exists()
    cloud = LocalCloud(tmp_path / "state", middleware=False, swift=True)
    with cloud:
        assert cloud.is_running()
        # swift reads its config and rings from the state folder (swift_dir) ...
        assert sorted(p.name for p in cloud.swift_dir.glob("*.ring.gz")) == [
            "account.ring.gz", "container.ring.gz", "object.ring.gz"]
        # (the policy's alias shows that swift read our swift.conf, not /etc's)
        with urllib.request.urlopen(f"{cloud.swift_url}/info", timeout=30) as resp:
            policies = json.loads(resp.read())["swift"]["policies"]
        assert [(p["name"], p["aliases"]) for p in policies] == [("Policy-0", "Policy-0, localcloud")]
        # ... and the CLI finds it in keystone's catalog, per project.
        endpoints = json.loads(openstack(
            cloud, "endpoint", "list", "--service", "object-store", "-f", "json").stdout)
        assert {e["URL"] for e in endpoints} == {f"{cloud.swift_url}/v1/AUTH_%(project_id)s"}
        image_file = make_qcow2(tmp_path / "cirros.qcow2", virtual_size=1 << 20)
        image = json.loads(openstack(
            cloud, "image", "create", "--disk-format", "qcow2",
            "--file", str(image_file), "--public", "cirros", "-f", "json").stdout)
        assert image["status"] == "active"
        data = list((cloud.state_dir / "swift" / "srv").rglob("*.data"))
        assert [p.stat().st_size for p in data] == [image_file.stat().st_size]
        assert not any(cloud.images_dir.iterdir())
    assert not cloud.is_running()
    assert Path("/etc/swift").exists() == etc_swift_before
