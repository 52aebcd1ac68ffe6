"""The mkdocs-material site of a scenario run: text functions (pure) and one writer.

Layout of ``SITE_DIR``::

    mkdocs.yml                  the extensions the pages need, nav in scenario order
    docs/index.md               the home page: the scenario's title, description, a table of commands
    docs/<slug>/index.md        a command's page: the output folder's own index.md (plus the
                                command's description and, when it failed, a failure note)
    docs/<slug>/...             the rest of the folder (requests.log, diagram.md, body.md, legend.md,
                                log.md, trace.json), next to its page

``mkdocs build --strict`` (in ``SITE_DIR``) builds it.  The Markdown
fragments are left out of the pages (``exclude_docs``) but stay includable:
pymdownx.snippets looks in the including page's folder first, then in
``docs/``, so a hand-written page can say ``--8<-- "diagram.md"`` next to a
folder or ``--8<-- "openstack-image-create/diagram.md"`` from anywhere.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from otel_openstack.pipeline import BODY_FILE, DIAGRAM_FILE, LEGEND_FILE, LOG_MD_FILE, PAGE_FILE
from otel_openstack.render.bodies import one_line
from otel_openstack.render.markdown import INDENT, heading_text
from otel_openstack.render.page import fence

MKDOCS_FILE = "mkdocs.yml"
DOCS_DIR = "docs"
HOME_PAGE = "index.md"
#: First line of every mkdocs.yml we write: a site folder holding it may be written again.
MARKER = "# Written by `otel-openstack scenario run`: written again (replaced) by the next run."
#: The folder's Markdown fragments: files next to the page, never pages themselves.
FRAGMENTS = (DIAGRAM_FILE, "diagram-*.md", BODY_FILE, LEGEND_FILE, LOG_MD_FILE)


class SiteError(Exception):
    """The site folder cannot be used; ``str()`` is one line."""


@dataclass(frozen=True)
class Failure:
    """Why a command has no (complete) documentation: ``summary`` is one line."""

    summary: str  # "exit status 1", "timed out after 300 s", "it needs image, which failed"
    stderr: str = ""  # what the command printed on stderr (secrets already scrubbed)
    ran: bool = True  # False: never started (what it needs is missing)

    @property
    def heading(self) -> str:
        return ("The command failed: " if self.ran else "The command did not run: ") + one_line(self.summary)

    @property
    def result(self) -> str:
        return ("failed" if self.ran else "not run") + ": " + one_line(self.summary)


@dataclass(frozen=True)
class Page:
    """One command of the site."""

    title: str
    slug: str
    command_line: str  # "openstack image show ..." as run (secrets masked); with {references} when not run
    description: str | None = None
    failure: Failure | None = None
    messages: int | None = None  # arrows of its diagram; None without an output folder
    folder: Path | None = None  # the CLI's output folder, to become docs/<slug>/

    @property
    def path(self) -> str:
        return f"{self.slug}/{PAGE_FILE}"


# --- text --------------------------------------------------------------------------------------------

def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(one_line(text), ensure_ascii=False)


def mkdocs_yml(title: str, pages: Sequence[Page], source: str | None = None) -> str:
    """``mkdocs.yml``: material, the page's extensions, fragments excluded, nav in scenario order."""
    made_from = f"\n# From {one_line(source)}." if source else ""
    nav = "".join(f"  - {yaml_string(page.title)}: {page.path}\n" for page in pages)
    excluded = "".join(f"  /*/{name}\n" for name in FRAGMENTS)
    return f"""\
{MARKER}{made_from}
# Build it here with: mkdocs build --strict   (or serve it: mkdocs serve)
site_name: {yaml_string(title)}
docs_dir: {DOCS_DIR}
theme:
  name: material
markdown_extensions:
  - admonition
  - pymdownx.details
  - pymdownx.highlight:
      anchor_linenums: true
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
  - pymdownx.tabbed:
      alternate_style: true
  - pymdownx.snippets:
      # --8<-- "diagram.md" from a page next to it, or "<slug>/diagram.md" from anywhere
      base_path:
        - !relative
        - !relative $docs_dir
      check_paths: true
# A command's fragments are there to be included, not pages of their own.
exclude_docs: |
{excluded}nav:
  - Home: {HOME_PAGE}
{nav}"""


def cell(text: str) -> str:
    """``text`` as literal inline Markdown inside a table cell."""
    return heading_text(one_line(text)).replace("|", "\\|")


def home_page(title: str, description: str | None, pages: Sequence[Page]) -> str:
    """``docs/index.md``: the title, the description, one table row per command."""
    blocks = [f"# {heading_text(one_line(title))}"]
    if description:
        blocks.append(description.strip("\n"))
    rows = ["| | Command | Messages | Result |", "|---:|---|---:|---|"]
    for number, page in enumerate(pages, 1):
        messages = "" if page.messages is None else str(page.messages)
        result = "ok" if page.failure is None else f"**{cell(page.failure.result)}**"
        rows.append(f"| {number} | [{cell(page.title)}]({page.path}) | {messages} | {result} |")
    blocks.append("\n".join(rows))
    failed = sum(1 for page in pages if page.failure is not None)
    blocks.append(f"{len(pages)} commands, {failed} failed or not run. Each page shows the command, its sequence "
                  "diagram, every request and response with headers and body, its output and the "
                  "request log; the files next to it are the ones the instrumented command wrote.")
    return "\n\n".join(blocks) + "\n"


def failure_note(failure: Failure) -> str:
    """A ``failure`` admonition: the one-line summary, and what the command said on stderr."""
    lines = [f'!!! failure "{failure.heading.replace(chr(34), "%22")}"']
    stderr = failure.stderr.strip("\n")
    if stderr:
        lines += ["", *fence(stderr, "text", title="stderr", indent=INDENT)]
    elif failure.ran:
        lines += ["", INDENT + "It printed nothing on stderr."]
    else:
        lines += ["", INDENT + "Nothing was recorded: the command was not started."]
    return "\n".join(lines)


def add_to_page(page: str, blocks: Sequence[str]) -> str:
    """``page`` with ``blocks`` right after its title (the first line, when it is an ``# h1``)."""
    blocks = [block.strip("\n") for block in blocks if block and block.strip()]
    if not blocks:
        return page
    head, _, rest = page.strip("\n").partition("\n\n")
    if not head.startswith("# ") or "\n" in head:
        return "\n\n".join([*blocks, page.strip("\n")]) + "\n"
    return "\n\n".join([head, *blocks] + ([rest.strip("\n")] if rest.strip() else [])) + "\n"


def command_page(page: str, description: str | None, failure: Failure | None) -> str:
    """The folder's own page with the scenario's description and the failure note."""
    return add_to_page(page, [description or "", failure_note(failure) if failure else ""])


def stand_in_page(page: Page) -> str:
    """The page of a command that left no output folder (not run, or no trace written)."""
    blocks = [f"# {heading_text(one_line(page.title))}"]
    if page.description:
        blocks.append(page.description.strip("\n"))
    if page.failure:
        blocks.append(failure_note(page.failure))
    if page.command_line:
        blocks += ["## Command", "\n".join(fence("$ " + page.command_line, "bash"))]
    if page.folder is not None:
        blocks.append(f"The output folder has no {PAGE_FILE}: its files are next to this page.")
    elif page.failure is None or page.failure.ran:
        blocks.append("The instrumented command wrote no output folder: there is no diagram.")
    return "\n\n".join(blocks) + "\n"


# --- the folder ----------------------------------------------------------------------------------------

def check_site_dir(site_dir: Path) -> None:
    """Refuse a folder that holds anything but an earlier scenario site (it would be replaced)."""
    if not site_dir.exists():
        return
    if not site_dir.is_dir():
        raise SiteError(f"{site_dir}: exists and is not a folder")
    entries = list(site_dir.iterdir())
    if not entries:
        return
    config = site_dir / MKDOCS_FILE
    try:
        ours = config.is_file() and config.read_text(encoding="utf-8").startswith(MARKER)
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        raise SiteError(f"{site_dir}: the folder is not empty and holds no site of an earlier "
                        "`otel-openstack scenario run`; give a new or empty folder")


def write_site(site_dir: Path, title: str, description: str | None, pages: Sequence[Page],
               source: str | None = None) -> Path:
    """Write ``site_dir`` (replacing an earlier run's site there); move each page's folder into it."""
    check_site_dir(site_dir)
    site_dir.mkdir(parents=True, exist_ok=True)
    for stale in (site_dir / DOCS_DIR, site_dir / "site"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
    docs = site_dir / DOCS_DIR
    docs.mkdir()
    for page in pages:
        target = docs / page.slug
        if page.folder is not None and page.folder.is_dir():
            shutil.move(str(page.folder), str(target))
        else:
            target.mkdir(mode=0o700)
        index = target / PAGE_FILE
        if index.is_file():
            text = index.read_text(encoding="utf-8")
            index.write_text(command_page(text, page.description, page.failure), encoding="utf-8")
        else:
            index.write_text(stand_in_page(page), encoding="utf-8")
    (docs / HOME_PAGE).write_text(home_page(title, description, pages), encoding="utf-8")
    (site_dir / MKDOCS_FILE).write_text(mkdocs_yml(title, pages, source), encoding="utf-8")
    return site_dir
