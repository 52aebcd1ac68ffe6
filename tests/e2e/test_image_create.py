"""The main job, end to end: instrumented ``openstack image create`` on the real local cloud.

Three real processes (the CLI, glance-api, keystone), the real ``openstack``
CLI started through ``opentelemetry-instrument``, and the three outputs read
back from the folder the CLI wrote.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from examples.demo import cli_command, cli_env
from examples.localcloud import make_qcow2
from examples.localcloud.cloud import venv_bin_dir

pytestmark = pytest.mark.cloud


@pytest.fixture(scope="module")
def run(cloud, tmp_path_factory):
    """Run the demo's command once; yield (completed process, output folder, image)."""
    work = tmp_path_factory.mktemp("image-create")
    image = work / "cirros.qcow2"
    make_qcow2(image)
    output_dir = work / "out"
    env = cli_env(cloud, output_dir)
    done = subprocess.run(cli_command(venv_bin_dir(), image), env=env, capture_output=True,
                          text=True, timeout=180)
    folders = sorted(output_dir.glob("openstack-image-create-*")) if output_dir.is_dir() else []
    yield done, folders, image


def _folder(run) -> Path:
    done, folders, _ = run
    assert done.returncode == 0, done.stderr
    assert len(folders) == 1, f"expected one output folder, got {folders}"
    return folders[0]


def test_cli_output_and_status_are_unchanged(run):
    done, _, image = run
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["name"] == "cirros"
    assert created["disk_format"] == "qcow2"
    assert created["visibility"] == "public"
    assert created["size"] == image.stat().st_size
    # Nothing of ours on the CLI's stderr (no traceback, no warning).
    assert "Traceback" not in done.stderr
    assert "otel-openstack" not in done.stderr


def test_diagram_holds_the_whole_causal_sequence(run):
    folder = _folder(run)
    assert (folder / "diagram.md").read_text() == "\n".join([
        # the CLI: version discovery and token at keystone
        "openstack->>+keystone: GET /",
        "keystone-->>-openstack: 300 MULTIPLE CHOICES /",
        "openstack->>+keystone: POST /v3/auth/tokens",
        "keystone-->>-openstack: 201 CREATED /v3/auth/tokens",
        # the CLI discovers glance's versions
        "openstack->>+glance-api: GET /",
        "glance-api-->>-openstack: 300 Multiple Choices /",
        # image record; glance-api validates the CLI's token at keystone meanwhile
        "openstack->>+glance-api: POST /v2/images",
        "opt glance-api validates the token",
        "  glance-api->>+keystone: GET /",
        "  keystone-->>-glance-api: 300 MULTIPLE CHOICES /",
        "  glance-api->>+keystone: POST /v3/auth/tokens",
        "  keystone-->>-glance-api: 201 CREATED /v3/auth/tokens",
        "  glance-api->>+keystone: GET /v3/auth/tokens",
        "  keystone-->>-glance-api: 200 OK /v3/auth/tokens",
        "end",
        "glance-api-->>-openstack: 201 Created /v2/images",
        # image data (token validation is cached by keystonemiddleware now)
        "openstack->>+glance-api: PUT /v2/images/{image_id}/file",
        "glance-api-->>-openstack: 204 No Content /v2/images/{image_id}/file",
        # python-openstackclient >= 6 shows the image as stored
        "openstack->>+glance-api: GET /v2/images/{image_id}",
        "glance-api-->>-openstack: 200 OK /v2/images/{image_id}",
    ]) + "\n"


def test_folder_needs_no_hand_edits(run):
    """Placeholders with their legend, sections numbered as the arrows, a box around token validation, a page."""
    done, _, _ = run
    folder = _folder(run)
    image_id = json.loads(done.stdout)["id"]
    diagram = (folder / "diagram.md").read_text()
    body = (folder / "body.md").read_text()
    legend = (folder / "legend.md").read_text()
    page = (folder / "index.md").read_text()
    # placeholders: no raw id in the diagram or the section headings; the legend gives the value
    assert image_id not in diagram
    assert image_id not in "\n".join(re.findall(r"^### .*$", body, re.M))
    assert legend == f'!!! note "Placeholders"\n    - `{{image_id}}`: `{image_id}`\n'
    # section (N) is the N-th arrow, with the same text
    arrows = re.findall(r"^ *\S+?(?:-->>|->>)[+-]?\S+: (.*)$", diagram, re.M)
    sections = re.findall(r"^### \((\d+)\) (.*)$", body, re.M)
    assert [int(n) for n, _ in sections] == list(range(1, len(arrows) + 1)) and len(arrows) == 18
    assert [text for _, text in sections] == arrows
    # a labelled box around glance-api's token validation (arrows 8 to 13)
    box = diagram.split("opt glance-api validates the token\n", 1)[1].split("\nend\n", 1)[0]
    assert re.findall(r": (.*)$", box, re.M) == [text for _, text in sections[7:13]]
    assert "GET /v3/auth/tokens" in box
    # the page: title, command, whole diagram, legend, sections, log; nothing to include by hand
    assert page.startswith("# openstack image create\n\n## Command\n\n``` bash\n$ openstack image create")
    assert "``` mermaid\nsequenceDiagram\n    autonumber\n    openstack->>+keystone: GET /\n" in page
    assert legend.rstrip("\n") + "\n\n## Request / Response\n\n" + body.strip("\n") in page
    assert '## Full Log\n\n??? quote "requests.log"\n    ``` text title="requests.log" linenums="1"\n' in page
    assert "--8<--" not in page
    # 18 messages: under the default split size, so no parts
    assert sorted(p.name for p in folder.iterdir()) == [
        "body.md", "diagram.md", "index.md", "legend.md", "log.md", "requests.log", "trace.json"]


def test_log_and_body_show_the_same_exchanges_with_headers_and_bodies(run):
    folder = _folder(run)
    log = (folder / "requests.log").read_text()
    body = (folder / "body.md").read_text()
    diagram = [line for line in (folder / "diagram.md").read_text().splitlines() if ">>" in line]
    requests_in_log = re.findall(r"^### \((\S+)\) REQ >>> \((\S+)\) : (\S+) (\S+)$", log, re.M)
    responses_in_log = re.findall(r"^### \((\S+)\) RESP <<< \((\S+)\) : (\d+) ", log, re.M)
    assert len(requests_in_log) == len(responses_in_log) == len(diagram) // 2 == 9
    sections = re.findall(r"^### \((\d+)\) ", body, re.M)
    assert [int(n) for n in sections] == list(range(1, len(diagram) + 1))
    # The token request carries the JSON body (password redacted) and the CLI's headers.
    token_req = log.split("### (openstack) REQ >>> (keystone) : POST ", 1)[1].split("\n### ", 1)[0]
    assert "Content-Type: application/json" in token_req
    assert '"password": "***"' in token_req
    assert '"name": "admin"' in token_req
    # The image upload is a binary body: summarised, never raw bytes.
    put = log.split("REQ >>> (glance-api) : PUT ", 1)[1].split("\n### ", 1)[0]
    assert "Content-Type: application/octet-stream" in put
    assert "QFI" not in put  # the qcow2 magic would show raw bytes
    assert "262,144 bytes" in put or "262144 bytes" in put


def test_no_secret_reaches_any_output_or_the_spool(run, cloud):
    folder = _folder(run)
    texts = [p.read_text(errors="replace") for p in folder.iterdir()]
    texts += [p.read_text(errors="replace") for p in Path(cloud.spool_dir).rglob("*") if p.is_file()]
    everything = "\n".join(texts)
    assert cloud.admin_password not in everything
    # Fernet tokens start with gAAAAA (version byte 0x80): none in clear ...
    assert "gAAAAA" not in everything
    # ... but their digests are there, and the CLI's token keeps one digest everywhere.
    log = (folder / "requests.log").read_text()
    issued = re.search(r"^X-Subject-Token: (\{SHA256\}[0-9a-f]{64})$", log, re.M)
    assert issued is not None
    assert re.search(rf"^X-Auth-Token: {re.escape(issued.group(1))}$", log, re.M)


def test_output_files_are_private(run):
    folder = _folder(run)
    assert folder.stat().st_mode & 0o777 == 0o700
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_saved_trace_renders_again_to_the_same_files(run, tmp_path):
    folder = _folder(run)
    again = tmp_path / "again"
    done = subprocess.run([str(venv_bin_dir() / "otel-openstack"), "render", str(folder), "-o", str(again)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in ("requests.log", "log.md", "diagram.md", "body.md", "legend.md", "index.md"):
        assert (again / name).read_text() == (folder / name).read_text(), name
