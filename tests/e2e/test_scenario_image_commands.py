"""``otel-openstack scenario run examples/image-commands.yaml --local-cloud -o SITE``, for real.

One run (a local keystone + glance booted by the command itself, ten
instrumented ``openstack image`` commands, their setup and cleanup), then:
ten folders, a site that ``mkdocs build --strict`` builds, and for each
command the exchanges that make it what it is, read from its folder's
``diagram.md`` (exactly) and ``requests.log``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from otel_openstack.scenario.files import empty_qcow2
from test_mkdocs_site import browser, build_site, check_page, show, toolchain  # noqa: F401 - fixtures

pytestmark = pytest.mark.cloud

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "image-commands.yaml"
SLUGS = [
    "openstack-image-create", "openstack-image-list", "openstack-image-show", "openstack-image-save",
    "openstack-image-add-project", "openstack-image-member-list", "openstack-image-remove-project",
    "openstack-image-set", "openstack-image-unset", "openstack-image-delete",
]
#: What the instrumented CLI writes in every folder (18 messages at most: no diagram parts).
FILES = ["body.md", "diagram.md", "index.md", "legend.md", "log.md", "requests.log", "trace.json"]
#: The uploaded image: the scenario's `cirros: {qcow2: 1MiB}`.
QCOW2 = empty_qcow2(1 << 20)

#: Every command starts the same way: version discovery and a token at keystone, glance's versions.
PROLOGUE = [
    "openstack->>+keystone: GET /",
    "keystone-->>-openstack: 300 MULTIPLE CHOICES /",
    "openstack->>+keystone: POST /v3/auth/tokens",
    "keystone-->>-openstack: 201 CREATED /v3/auth/tokens",
    "openstack->>+glance-api: GET /",
    "glance-api-->>-openstack: 300 Multiple Choices /",
]
#: Where glance-api validates the CLI's new token (the first call with it); BOX is replaced by the box.
BOX = "<box>"
VALIDATION = [
    "opt glance-api validates the token",
    "  glance-api->>+keystone: GET /v3/auth/tokens",
    "  keystone-->>-glance-api: 200 OK /v3/auth/tokens",
    "end",
]
#: The same box when glance-api also gets its own service token first (its first request ever).
VALIDATION_WITH_SERVICE_TOKEN = [
    "opt glance-api validates the token",
    "  glance-api->>+keystone: GET /",
    "  keystone-->>-glance-api: 300 MULTIPLE CHOICES /",
    "  glance-api->>+keystone: POST /v3/auth/tokens",
    "  keystone-->>-glance-api: 201 CREATED /v3/auth/tokens",
    "  glance-api->>+keystone: GET /v3/auth/tokens",
    "  keystone-->>-glance-api: 200 OK /v3/auth/tokens",
    "end",
]
GET_IMAGE = ["openstack->>+glance-api: GET /v2/images/{image_id}", BOX,
             "glance-api-->>-openstack: 200 OK /v2/images/{image_id}"]
GET_PROJECT = ["openstack->>+keystone: GET /v3/projects/{project_id}",
               "keystone-->>-openstack: 200 OK /v3/projects/{project_id}"]
#: After the prologue, per command.
EXCHANGES = {
    "openstack-image-create": [
        "openstack->>+glance-api: POST /v2/images", BOX, "glance-api-->>-openstack: 201 Created /v2/images",
        "openstack->>+glance-api: PUT /v2/images/{image_id}/file",
        "glance-api-->>-openstack: 204 No Content /v2/images/{image_id}/file",
        "openstack->>+glance-api: GET /v2/images/{image_id}",
        "glance-api-->>-openstack: 200 OK /v2/images/{image_id}",
    ],
    "openstack-image-list": [
        "openstack->>+glance-api: GET /v2/images", BOX, "glance-api-->>-openstack: 200 OK /v2/images",
    ],
    "openstack-image-show": GET_IMAGE,
    "openstack-image-save": GET_IMAGE + [
        "openstack->>+glance-api: GET /v2/images/{image_id}",
        "glance-api-->>-openstack: 200 OK /v2/images/{image_id}",
        "openstack->>+glance-api: GET /v2/images/{image_id}/file",
        "glance-api-->>-openstack: 200 OK /v2/images/{image_id}/file",
    ],
    "openstack-image-add-project": GET_PROJECT + GET_IMAGE + [
        "openstack->>+glance-api: POST /v2/images/{image_id}/members",
        "glance-api-->>-openstack: 200 OK /v2/images/{image_id}/members",
    ],
    "openstack-image-member-list": GET_IMAGE + [
        "openstack->>+glance-api: GET /v2/images/{image_id}/members",
        "glance-api-->>-openstack: 200 OK /v2/images/{image_id}/members",
    ],
    "openstack-image-remove-project": GET_PROJECT + GET_IMAGE + [
        "openstack->>+glance-api: DELETE /v2/images/{image_id}/members/{project_id}",
        "glance-api-->>-openstack: 204 No Content /v2/images/{image_id}/members/{project_id}",
    ],
    "openstack-image-set": GET_IMAGE + [
        "openstack->>+glance-api: PATCH /v2/images/{image_id}",
        "glance-api-->>-openstack: 200 OK /v2/images/{image_id}",
    ],
    "openstack-image-unset": GET_IMAGE + [
        "openstack->>+glance-api: PATCH /v2/images/{image_id}",
        "glance-api-->>-openstack: 200 OK /v2/images/{image_id}",
    ],
    "openstack-image-delete": GET_IMAGE + [
        "openstack->>+glance-api: DELETE /v2/images/{image_id}",
        "glance-api-->>-openstack: 204 No Content /v2/images/{image_id}",
    ],
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The scenario, run once: (completed process, site folder, seconds)."""
    site = tmp_path_factory.mktemp("scenario") / "site"
    command = [str(Path(sys.executable).parent / "otel-openstack"), "scenario", "run", str(EXAMPLE),
               "--local-cloud", "-o", str(site)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    print(f"scenario run: {seconds:.1f} s\n{done.stderr}")
    return done, site, seconds


@pytest.fixture(scope="module")
def docs(run) -> Path:
    done, site, _ = run
    assert done.returncode == 0, done.stderr
    return site / "docs"


def _record(log: str, head: str) -> str:
    """The one log record whose first line matches the regex ``head`` (``URL`` stands for any base URL)."""
    pattern = "^### " + head.replace("URL", r"http://[^/ ]+") + r"\n.*?(?=^### |\Z)"
    found = re.findall(pattern, log, re.M | re.S)
    assert len(found) == 1, f"{len(found)} records match {head!r}"
    return found[0]


def _json_body(record: str) -> object:
    return json.loads(record.split("\n\n", 1)[1])


def _legend(docs: Path, slug: str) -> dict[str, str]:
    text = (docs / slug / "legend.md").read_text()
    return dict(re.findall(r"^    - `\{(\w+)\}`: `([^`]*)`$", text, re.M))


def test_the_run_documents_all_ten_commands(run):
    done, site, seconds = run
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{site}\n"
    lines = done.stderr.splitlines()
    assert lines[-1] == (f"otel-openstack: 10 of 10 commands documented in {site}; "
                         f"build it with: cd {site} && mkdocs build --strict")
    progress = [line for line in lines if re.match(r"otel-openstack: \[\d+/10\] ", line)]
    assert len(progress) == 10 and all(": ok, " in line for line in progress), progress
    assert any(line.startswith("otel-openstack: local cloud up in ") for line in lines)
    cleanup = [line for line in lines if line.startswith("otel-openstack: cleanup")]
    assert len(cleanup) == 2 and all(line.endswith(": ok") for line in cleanup), cleanup
    assert "Traceback" not in done.stderr


def test_one_folder_per_command_with_the_cli_files(docs):
    assert sorted(p.name for p in docs.iterdir()) == sorted(["index.md", *SLUGS])
    for slug in SLUGS:
        assert sorted(p.name for p in (docs / slug).iterdir()) == FILES, slug


@pytest.mark.parametrize("slug", SLUGS)
def test_diagram(docs, slug):
    """The whole diagram, exactly: the prologue, the command's own exchanges, the token validation box."""
    diagram = (docs / slug / "diagram.md").read_text()
    expected = [line for box in (VALIDATION, VALIDATION_WITH_SERVICE_TOKEN)
                for line in ["\n".join(PROLOGUE + [x for item in EXCHANGES[slug]
                                                   for x in (box if item == BOX else [item])]) + "\n"]]
    assert diagram in expected, diagram
    sections = re.findall(r"^### \((\d+)\) ", (docs / slug / "body.md").read_text(), re.M)
    assert len(sections) == diagram.count(">>")


def test_home_page_and_pages(docs):
    home = (docs / "index.md").read_text()
    rows = re.findall(r"^\| (\d+) \| \[([^]]+)\]\(([^)]+)\) \| (\d+) \| (\w+) \|$", home, re.M)
    assert [(int(n), title, link, result) for n, title, link, _, result in rows] == [
        (n, slug.replace("-", " "), f"{slug}/index.md", "ok") for n, slug in enumerate(SLUGS, 1)]
    for (_, _, _, messages, _), slug in zip(rows, SLUGS):
        assert int(messages) == (docs / slug / "diagram.md").read_text().count(">>")
        page = (docs / slug / "index.md").read_text()
        title = slug.replace("-", " ")
        assert page.startswith(f"# {title}\n\n"), page[:200]
        assert '!!! tip "CLI reference"' in page.split("## Command", 1)[0]
        assert f"\n## Command\n\n``` bash\n$ {title}" in page
        assert "\n## Full Log\n" in page and "failure" not in page.split("## Command", 1)[0]
    create = (docs / "openstack-image-create" / "index.md").read_text()
    assert "  --file cirros.qcow2 \\\n" in create  # made in the work folder: a plain name on the page
    assert re.search(r"^\$ openstack image save --file saved.qcow2 [0-9a-f-]{36}$",
                     (docs / "openstack-image-save" / "index.md").read_text(), re.M)


def test_create_uploads_the_qcow2(docs):
    log = (docs / "openstack-image-create" / "requests.log").read_text()
    post = _record(log, r"\(openstack\) REQ >>> \(glance-api\) : POST URL/v2/images")
    assert _json_body(post) == {"container_format": "bare", "disk_format": "qcow2", "name": "cirros",
                                "visibility": "public", "owner_specified.openstack.md5": "",
                                "owner_specified.openstack.sha256": "",
                                "owner_specified.openstack.object": "images/cirros"}
    put = _record(log, r"\(openstack\) REQ >>> \(glance-api\) : PUT URL/v2/images/[0-9a-f-]{36}/file")
    assert "Content-Type: application/octet-stream" in put
    assert (f"<binary body: 262,144 bytes (256.0 KiB), application/octet-stream, "
            f"sha256:{hashlib.sha256(QCOW2).hexdigest()}>") in put


def test_list_and_show(docs):
    listed = _record((docs / "openstack-image-list" / "requests.log").read_text(),
                     r"\(openstack\) RESP <<< \(glance-api\) : 200 OK GET URL/v2/images")
    names = [image["name"] for image in _json_body(listed)["images"]]
    assert names == ["cirros"]  # the shared image of the setup is made later, for `image show`
    image_id = _legend(docs, "openstack-image-show")["image_id"]
    shown = _record((docs / "openstack-image-show" / "requests.log").read_text(),
                    rf"\(openstack\) RESP <<< \(glance-api\) : 200 OK GET URL/v2/images/{image_id}")
    image = _json_body(shown)
    assert image["visibility"] == "shared" and image["name"].startswith("image-commands-")
    assert image["id"] == image_id


def test_save_downloads_the_image_data(docs):
    log = (docs / "openstack-image-save" / "requests.log").read_text()
    image_id = _legend(docs, "openstack-image-save")["image_id"]
    request = _record(log, rf"\(openstack\) REQ >>> \(glance-api\) : GET URL/v2/images/{image_id}/file")
    assert request.endswith("\nnone\n\n\n")  # no body
    download = _record(log, rf"\(openstack\) RESP <<< \(glance-api\) : 200 OK GET URL/v2/images/{image_id}/file")
    assert "Content-Type: application/octet-stream" in download
    assert "Content-Length: 262144" in download
    assert (f"\n<binary body: 262,144 bytes (256.0 KiB), application/octet-stream, "
            f"sha256:{hashlib.sha256(QCOW2).hexdigest()}>\n") in download  # the bytes create uploaded
    assert "QFI" not in log  # never the raw bytes


def test_add_member_list_remove_project(docs):
    added = _legend(docs, "openstack-image-add-project")
    image, project = added["image_id"], added["project_id"]
    log = (docs / "openstack-image-add-project" / "requests.log").read_text()
    _record(log, rf"\(openstack\) REQ >>> \(keystone\) : GET URL/v3/projects/{project}")
    post = _record(log, rf"\(openstack\) REQ >>> \(glance-api\) : POST URL/v2/images/{image}/members")
    assert _json_body(post) == {"member": project}
    response = _json_body(_record(log, r"\(openstack\) RESP <<< \(glance-api\) : 200 OK POST URL/v2/images/"
                                       rf"{image}/members"))
    assert (response["member_id"], response["image_id"], response["status"]) == (project, image, "pending")

    listed = (docs / "openstack-image-member-list" / "requests.log").read_text()
    members = _json_body(_record(listed, r"\(openstack\) RESP <<< \(glance-api\) : 200 OK GET URL/v2/images/"
                                         rf"{image}/members"))
    assert [m["member_id"] for m in members["members"]] == [project]

    removed = (docs / "openstack-image-remove-project" / "requests.log").read_text()
    _record(removed, r"\(openstack\) RESP <<< \(glance-api\) : 204 No Content DELETE URL/v2/images/"
                     rf"{image}/members/{project}")
    assert _legend(docs, "openstack-image-remove-project") == added


@pytest.mark.parametrize("slug, patch", [
    ("openstack-image-set", [{"op": "add", "path": "/os_distro", "value": "cirros"}]),
    ("openstack-image-unset", [{"op": "remove", "path": "/os_distro"}]),
])
def test_set_and_unset_patch_the_image(docs, slug, patch):
    log = (docs / slug / "requests.log").read_text()
    image_id = _legend(docs, slug)["image_id"]
    request = _record(log, rf"\(openstack\) REQ >>> \(glance-api\) : PATCH URL/v2/images/{image_id}")
    assert "Content-Type: application/openstack-images-v2.1-json-patch" in request
    assert _json_body(request) == patch
    response = _json_body(_record(log, rf"\(openstack\) RESP <<< \(glance-api\) : 200 OK PATCH URL/v2/images/{image_id}"))
    assert ("os_distro" in response) == (slug == "openstack-image-set")


def test_delete_removes_the_image_create_made(docs):
    created = _legend(docs, "openstack-image-create")["image_id"]
    assert _legend(docs, "openstack-image-delete") == {"image_id": created}
    log = (docs / "openstack-image-delete" / "requests.log").read_text()
    _record(log, rf"\(openstack\) REQ >>> \(glance-api\) : DELETE URL/v2/images/{created}")
    _record(log, rf"\(openstack\) RESP <<< \(glance-api\) : 204 No Content DELETE URL/v2/images/{created}")


def test_the_site_builds_with_mkdocs_strict(run, docs):
    _, site, _ = run
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=site, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"^(WARNING|ERROR)\b", done.stderr, re.M), done.stderr
    home = (site / "site" / "index.html").read_text()
    positions = [re.search(rf'href="{slug}/"', home) for slug in SLUGS]
    assert None not in positions
    assert [m.start() for m in positions] == sorted(m.start() for m in positions)  # nav in scenario order
    for slug in SLUGS:
        page = (site / "site" / slug / "index.html").read_text()
        assert '<pre class="mermaid"><code>sequenceDiagram' in page, slug
        assert (site / "site" / slug / "requests.log").is_file()
        assert not (site / "site" / slug / "diagram").exists()  # fragments are no pages


def test_a_page_in_the_browser(browser, docs, tmp_path):
    """The `image save` page in Chromium, with tests/e2e/test_mkdocs_site.py's harness."""
    folder = docs / "openstack-image-save"
    messages = (folder / "diagram.md").read_text().count(">>")
    built = build_site(folder, tmp_path, "scenario-image-save", with_log=True, own_page=True)
    shown = show(browser, built)
    check_page(built, shown, messages)
    texts = [text for d in shown.data["diagrams"] for text in d["messageTexts"]]
    assert "GET /v2/images/{image_id}/file" in texts
    assert 'The command failed' not in shown.data["articleText"]
