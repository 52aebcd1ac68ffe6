"""The README's main command (``make demo`` runs ``python -m examples.demo``), as a newcomer runs it.

The other end-to-end tests drive the demo's command on a shared cloud; this
one runs the demo program itself: it boots its own cloud, runs the traced
``openstack image create``, prints the output folder and stops the cloud.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from examples.localcloud.cloud import clean_environ

pytestmark = pytest.mark.cloud

REPO = Path(__file__).resolve().parents[2]
FILES = ("requests.log", "diagram.md", "body.md", "index.md", "legend.md", "log.md", "trace.json")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    output = tmp_path_factory.mktemp("demo") / "out"
    done = subprocess.run([sys.executable, "-m", "examples.demo", "--output", str(output)], cwd=REPO,
                          env=clean_environ(), capture_output=True, text=True, timeout=300)
    return done, output


def test_demo_prints_the_cli_output_and_the_folder_it_wrote(demo) -> None:
    done, output = demo
    assert done.returncode == 0, done.stderr
    printed = re.findall(r"^Output folder: (.+)$", done.stdout, re.MULTILINE)
    assert len(printed) == 1, done.stdout
    folder = Path(printed[0])
    assert folder.parent == output and folder.name.startswith("openstack-image-create-")
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    created = json.loads(done.stdout[: done.stdout.index("Output folder:")])
    assert created["name"] == "cirros" and created["visibility"] == "public"
    assert "Traceback" not in done.stderr


def test_demo_page_shows_the_command_as_the_readme_writes_it(demo) -> None:
    """Not the demo's temporary state folder, which differs at every run."""
    done, output = demo
    (folder,) = output.glob("openstack-image-create-*")
    page = (folder / "index.md").read_text()
    assert "--file cirros.qcow2" in page
    assert "otel-openstack-demo-" not in page


def test_demo_leaves_no_state_folder_behind(demo) -> None:
    done, _ = demo
    booted = re.search(r"^Booting .* in (\S+) \.\.\.$", done.stderr, re.MULTILINE)
    assert booted, done.stderr
    assert not Path(booted.group(1)).exists()
