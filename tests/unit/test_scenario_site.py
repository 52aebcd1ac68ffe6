"""The site of a scenario run: mkdocs.yml, home page, command pages, and a real ``mkdocs build --strict``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from otel_openstack import pipeline
from otel_openstack.model.types import Body, Exchange, Trace
from otel_openstack.scenario import site
from otel_openstack.scenario.site import Failure, Page, SiteError

EXTENSIONS = ["admonition", "pymdownx.details", "pymdownx.highlight", "pymdownx.superfences",
              "pymdownx.tabbed", "pymdownx.snippets"]


class _TagsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml's tags (``!!python/name:``, ``!relative``) as tagged strings."""


_TagsLoader.add_multi_constructor("", lambda loader, tag, node: f"{tag} {loader.construct_scalar(node)}".strip())


def _config(text: str) -> dict:
    return yaml.load(text, Loader=_TagsLoader)  # noqa: S506 - a SafeLoader subclass


def _pages() -> list[Page]:
    return [
        Page("openstack image create", "openstack-image-create", "openstack image create x", messages=14),
        Page('odd "title" | [x] `y` <b>', "odd", "openstack image list", messages=10,
             failure=Failure("exit status 1", stderr="No Image found")),
        Page("openstack image delete", "openstack-image-delete", "openstack image delete '{cirros.id}'",
             failure=Failure("it needs cirros (openstack image create), which failed", ran=False)),
    ]


# --- mkdocs.yml --------------------------------------------------------------------------------------------

def test_mkdocs_yml_has_the_extensions_the_pages_need_and_the_nav_in_order():
    text = site.mkdocs_yml("Image commands", _pages(), source="examples/image-commands.yaml")
    assert text.startswith(site.MARKER + "\n# From examples/image-commands.yaml.\n")
    config = _config(text)
    assert config["site_name"] == "Image commands"
    assert config["theme"] == {"name": "material"}
    assert config["docs_dir"] == "docs"
    names = [next(iter(e)) if isinstance(e, dict) else e for e in config["markdown_extensions"]]
    assert names == EXTENSIONS
    options = {next(iter(e)): e[next(iter(e))] for e in config["markdown_extensions"] if isinstance(e, dict)}
    assert options["pymdownx.superfences"] == {"custom_fences": [{
        "name": "mermaid", "class": "mermaid",
        "format": "tag:yaml.org,2002:python/name:pymdownx.superfences.fence_code_format"}]}
    assert options["pymdownx.tabbed"] == {"alternate_style": True}
    assert options["pymdownx.snippets"] == {"base_path": ["!relative", "!relative $docs_dir"], "check_paths": True}
    assert config["nav"] == [
        {"Home": "index.md"},
        {"openstack image create": "openstack-image-create/index.md"},
        {'odd "title" | [x] `y` <b>': "odd/index.md"},
        {"openstack image delete": "openstack-image-delete/index.md"},
    ]
    assert config["exclude_docs"].split() == ["/*/diagram.md", "/*/diagram-*.md", "/*/body.md",
                                              "/*/legend.md", "/*/log.md"]


@pytest.mark.parametrize("title", ['a: b', "# not a comment", "'quoted'", 'x"y', "한글 🚀", "- item", "{a}",
                                   "line\nbreak", "tab\there", "null", "yes", "@at", "`tick`"])
def test_titles_stay_literal_in_yaml(title):
    config = _config(f"site_name: {site.yaml_string(title)}\n")
    expected = title if title.isprintable() else title.replace("\n", "%0A").replace("\t", "%09")
    assert config["site_name"] == expected


# --- pages -------------------------------------------------------------------------------------------------

def test_home_page_lists_the_commands_with_their_results():
    page = site.home_page("Image <commands>", "Some *Markdown*.", _pages())
    lines = page.splitlines()
    assert lines[0] == "# Image &lt;commands&gt;"
    assert "Some *Markdown*." in lines
    table = [line for line in lines if line.startswith("|")]
    assert table == [
        "| | Command | Messages | Result |",
        "|---:|---|---:|---|",
        "| 1 | [openstack image create](openstack-image-create/index.md) | 14 | ok |",
        '| 2 | [odd "title" \\| \\[x\\] \\`y\\` &lt;b&gt;](odd/index.md) | 10 | **failed: exit status 1** |',
        "| 3 | [openstack image delete](openstack-image-delete/index.md) |  | "
        "**not run: it needs cirros (openstack image create), which failed** |",
    ]
    assert "3 commands, 2 failed or not run." in page


def test_failure_note_holds_stderr_literally():
    stderr = 'boom ```` fence\n--8<-- "/etc/passwd"\n<script>x</script>\n'
    note = site.failure_note(Failure('exit status 2 "quoted"', stderr=stderr))
    assert note.splitlines() == [
        '!!! failure "The command failed: exit status 2 %22quoted%22"',
        "",
        '    ````` text title="stderr"',
        "    boom ```` fence",
        '    ;--8<-- "/etc/passwd"',
        "    <script>x</script>",
        "    `````",
    ]
    assert site.failure_note(Failure("timed out after 5 s")).splitlines()[2] == "    It printed nothing on stderr."
    not_run = site.failure_note(Failure("it needs image, which failed", ran=False))
    assert not_run.splitlines() == ['!!! failure "The command did not run: it needs image, which failed"', "",
                                    "    Nothing was recorded: the command was not started."]


def test_command_page_gets_description_and_failure_under_its_title():
    page = "# openstack image show\n\n## Command\n\nx\n"
    out = site.command_page(page, "Shows an image.", Failure("exit status 1", stderr="No Image found"))
    assert out == ("# openstack image show\n\nShows an image.\n\n"
                   '!!! failure "The command failed: exit status 1"\n\n'
                   '    ``` text title="stderr"\n    No Image found\n    ```\n\n## Command\n\nx\n')
    assert site.command_page(page, None, None) == page
    assert site.add_to_page("no title\n", ["A."]) == "A.\n\nno title\n"
    assert site.add_to_page("# only a title\n", ["A."]) == "# only a title\n\nA.\n"


def test_stand_in_page():
    page = site.stand_in_page(_pages()[2])
    assert page == ("# openstack image delete\n\n"
                    '!!! failure "The command did not run: it needs cirros (openstack image create), which failed"\n\n'
                    "    Nothing was recorded: the command was not started.\n\n"
                    "## Command\n\n``` bash\n$ openstack image delete '{cirros.id}'\n```\n")
    ran = site.stand_in_page(Page("t", "t", "openstack x", failure=Failure("exit status 1")))
    assert ran.endswith("The instrumented command wrote no output folder: there is no diagram.\n")


# --- the folder --------------------------------------------------------------------------------------------

def test_check_site_dir(tmp_path):
    site.check_site_dir(tmp_path / "new")
    site.check_site_dir(tmp_path)  # empty
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SiteError, match="not empty and holds no site of an earlier"):
        site.check_site_dir(tmp_path)
    (tmp_path / "mkdocs.yml").write_text("site_name: mine\n")
    with pytest.raises(SiteError):
        site.check_site_dir(tmp_path)
    (tmp_path / "mkdocs.yml").write_text(site.mkdocs_yml("x", []))
    site.check_site_dir(tmp_path)
    with pytest.raises(SiteError, match="is not a folder"):
        site.check_site_dir(tmp_path / "notes.txt")


def _exchange(method: str, path: str, status: int, text: str, **kwargs) -> Exchange:
    return Exchange(caller=kwargs.pop("caller", "openstack"), callee=kwargs.pop("callee", "glance-api"),
                    method=method, url=f"http://127.0.0.1:9292{path}", path=path, status_code=status,
                    status_text=text, request_headers=(("Accept", "application/json"),),
                    response_headers=(("Content-Type", "application/json"),), **kwargs)


def _folder(root: Path, name: str, trace: Trace) -> Path:
    files = pipeline.render_trace(trace)
    files[pipeline.TRACE_FILE] = "{}\n"
    return pipeline.write_folder(root / name, files)


def _json(value: object) -> Body:
    text = json.dumps(value)
    return Body(text=text, size=len(text), content_type="application/json", state="text")


@pytest.fixture
def folders(tmp_path) -> dict[str, Path]:
    """Two output folders as the instrumented CLI writes them (a real render of hand-made traces)."""
    token = _exchange("GET", "/v3/auth/tokens", 200, "OK", caller="glance-api", callee="keystone")
    ok = Trace("1" * 32, (
        _exchange("GET", "/v2/images", 200, "OK", children=(token,),
                  response_body=_json({"images": [], "note": '```\n--8<-- "/etc/passwd"\n'})),
    ), command="openstack image list", argv=("image", "list"), exit_code=0, output="[]\n")
    failed = Trace("2" * 32, (
        _exchange("GET", "/v2/images/nope", 404, "Not Found", response_body=_json({"message": "no"})),
    ), command="openstack image show", argv=("image", "show", "nope"), exit_code=1)
    out = tmp_path / "out"
    return {"ok": _folder(out, "openstack-image-list-1", ok), "failed": _folder(out, "openstack-image-show-2", failed)}


def _site_pages(folders: dict[str, Path]) -> list[Page]:
    return [
        Page("openstack image list", "openstack-image-list", "openstack image list", messages=4,
             description="Lists images.\n\n!!! tip \"CLI reference\"\n    [list](https://example.org/#list)",
             folder=folders["ok"]),
        Page("openstack image show", "openstack-image-show", "openstack image show nope", messages=2,
             failure=Failure("exit status 1", stderr='No Image found for nope\n--8<-- "/etc/passwd"\n'),
             folder=folders["failed"]),
        Page("openstack image delete", "openstack-image-delete", "openstack image delete '{cirros.id}'",
             failure=Failure("it needs cirros, which was never made", ran=False)),
    ]


def test_write_site_lays_out_one_folder_per_command(tmp_path, folders):
    out = tmp_path / "site"
    site.write_site(out, "Images", "Home text.", _site_pages(folders), source="s.yaml")
    docs = out / "docs"
    assert sorted(p.name for p in docs.iterdir()) == ["index.md", "openstack-image-delete", "openstack-image-list",
                                                       "openstack-image-show"]
    assert sorted(p.name for p in (docs / "openstack-image-list").iterdir()) == [
        "body.md", "diagram.md", "index.md", "legend.md", "log.md", "requests.log", "trace.json"]
    assert not folders["ok"].exists()  # moved, not copied
    page = (docs / "openstack-image-list" / "index.md").read_text()
    assert page.startswith("# openstack image list\n\nLists images.\n\n!!! tip")
    assert "\n## Sequence Diagram\n" in page
    shown = (docs / "openstack-image-show" / "index.md").read_text()
    assert shown.startswith('# openstack image show\n\n!!! failure "The command failed: exit status 1"\n')
    assert '    ;--8<-- "/etc/passwd"\n' in shown
    assert (docs / "openstack-image-delete" / "index.md").read_text().startswith(
        '# openstack image delete\n\n!!! failure "The command did not run')
    assert (out / "mkdocs.yml").read_text().startswith(site.MARKER)

    # A second run replaces the first one's site (and only that).
    (out / "site").mkdir()
    (out / "site" / "stale.html").write_text("old")
    site.write_site(out, "Images again", None, [Page("t", "t", "openstack x", failure=Failure("exit status 1"))])
    assert sorted(p.name for p in (out / "docs").iterdir()) == ["index.md", "t"]
    assert not (out / "site").exists()
    assert _config((out / "mkdocs.yml").read_text())["site_name"] == "Images again"


def test_the_site_builds_with_mkdocs_strict(tmp_path, folders):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    pytest.importorskip("pymdownx")
    out = tmp_path / "site"
    site.write_site(out, "Images", "Home *text*.", _site_pages(folders))
    docs = out / "docs"
    # Hand-written pages including fragments, as the seed site does: next to the folder and from docs/.
    (docs / "openstack-image-list" / "seed.md").write_text(
        '# seed\n\n``` mermaid\nsequenceDiagram\n    autonumber\n    --8<-- "diagram.md"\n```\n\n--8<-- "body.md"\n')
    (docs / "seed.md").write_text('# seed\n\n--8<-- "openstack-image-list/body.md"\n')
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=out, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"^(WARNING|ERROR)\b", done.stderr, re.M), done.stderr
    built = out / "site"
    home = (built / "index.html").read_text()
    order = [re.search(rf">\s*{title}\s*<", home) for title in ("Home", "openstack image list",
                                                                 "openstack image show", "openstack image delete")]
    assert None not in order, order
    assert [m.start() for m in order] == sorted(m.start() for m in order)
    page = (built / "openstack-image-list" / "index.html").read_text()
    assert '<pre class="mermaid"><code>sequenceDiagram' in page
    assert "/etc/passwd" in page and "root:x:0:0" not in page  # shown, never included
    assert 'class="tabbed-set tabbed-alternate"' in page
    assert (built / "openstack-image-list" / "requests.log").is_file()
    assert (built / "openstack-image-list" / "trace.json").is_file()
    assert not (built / "openstack-image-list" / "diagram").exists()  # fragments are no pages
    assert not (built / "openstack-image-list" / "body").exists()
    seed = (built / "openstack-image-list" / "seed" / "index.html").read_text()
    assert "glance-api-&gt;&gt;+keystone: GET /v3/auth/tokens" in seed
    assert "(1) GET /v2/images" in (built / "seed" / "index.html").read_text()
    shown = (built / "openstack-image-show" / "index.html").read_text()
    assert 'class="admonition failure"' in shown and "No Image found for nope" in shown
    assert "root:x:0:0" not in shown


def test_a_folder_without_a_page_gets_a_stand_in_and_keeps_its_files(tmp_path):
    folder = tmp_path / "out" / "openstack-image-list-x"
    folder.mkdir(parents=True)
    (folder / "requests.log").write_text("log\n")
    site.write_site(tmp_path / "site", "t", None,
                    [Page("openstack image list", "list", "openstack image list", folder=folder)])
    target = tmp_path / "site" / "docs" / "list"
    assert sorted(p.name for p in target.iterdir()) == ["index.md", "requests.log"]
    assert (target / "index.md").read_text().endswith("The output folder has no index.md: its files are next "
                                                      "to this page.\n")
