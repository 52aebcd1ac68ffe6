"""The documentation output in the real toolchain: mkdocs-material builds it, Chromium shows it.

For one rendered output folder at a time the test builds a real mkdocs-material
site with ``mkdocs build --strict`` (pymdownx.superfences with the ``mermaid``
custom fence, pymdownx.tabbed in the alternate style, pymdownx.snippets whose
``base_path`` makes the folder's includes resolve), serves it with
``http.server`` on 127.0.0.1 and loads it in headless Chromium (Debian's
``chromium`` and ``chromium-driver``, driven by Selenium).

The page is the folder's own ``index.md`` when it has one (the page writer's
output); otherwise the test writes one with the seed page's structure
(``sequenceDiagram`` / ``autonumber`` / ``--8<-- "diagram.md"`` inside a
``mermaid`` fence, ``--8<-- "body.md"`` at top level, the request log in a
collapsed ``text`` fence).

Mermaid is the npm package pinned in ``tests/e2e/site/package.json`` (the
major version mkdocs-material itself loads), copied into the built site and
listed in ``extra_javascript``. mkdocs-material's own Mermaid integration then
finds ``mermaid`` already defined and uses it instead of fetching it from its
CDN, so the page renders exactly as a reader's page does, offline: same fence
format, same ``mermaid.initialize`` settings, same theme CSS. (The test asserts
that every resource the page loaded came from the local server.) Material
draws each diagram into a *closed* shadow root; the test makes shadow roots
open before any page script runs (``Page.addScriptToEvaluateOnNewDocument``)
so it can read the SVG. The same hook replaces ``alert``/``confirm``/``prompt``
by recorders, so a script smuggled into the page shows up as a recorded call.

Asserted per page: every diagram renders as an SVG (no Mermaid "Syntax error"),
with as many message arrows, message texts and autonumbers as its ``mermaid``
fence has message lines; one ``h3`` section ``(N) ...`` per message, numbered
1..N, each with a "Header" and a "Body" tab holding a code block; nothing
loaded from anywhere but 127.0.0.1.

The tests:

* ``test_hostile_trace_renders_safely`` and ``test_hostile_fragments_in_seed_page``
  (marker ``site``, no cloud): a hand-made Trace with hostile URLs, headers,
  bodies and participant names (``;`` ``#`` ``:`` ``-->>`` ``%%``,
  ``<script>``, line breaks, 한글 and emoji, backticks and fences, a
  participant ``end``, ``--8<-- "/etc/passwd"`` lines), rendered through
  ``otel_openstack.pipeline``; shown once as the folder's own page and once as
  a seed-like page including ``diagram.md`` and ``body.md``. Also asserted: the
  message texts, participant names and section headings show the raw values
  literally, no script ran (``window.__xss`` stays undefined, no dialog), no
  ``on*`` attribute or ``<script>`` reached the article, ``/etc/passwd`` was
  not included.
* ``test_hostile_diagram_labels_show_literally`` and
  ``test_hostile_request_log_in_seed_page``: block labels and notes show
  literally, and ``log.md`` is safe to include the way the seed includes its log.
* ``test_a_mermaid_syntax_error_is_caught``: the checks are not blind.
* ``test_image_create_site`` (marker ``cloud``): the folder the instrumented
  ``openstack image create`` writes on the real local cloud, as its own page
  and as a seed-like page (fragments and the request log included).

A screenshot of each page (and of each diagram) is written to
``test-output/site/`` in the repository root, for a person to look at.

Without Chromium, chromedriver, Selenium, mkdocs-material or the Mermaid
package the tests skip, except under ``CI`` (set by CI), where they fail:
``.ci/run`` installs all of them.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from otel_openstack import pipeline
from otel_openstack.model.types import Body, Exchange, Trace, messages

ROOT = Path(__file__).resolve().parents[2]
SITE_TOOLS = Path(__file__).resolve().parent / "site"
MERMAID_JS = SITE_TOOLS / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
SCREENSHOTS = ROOT / "test-output" / "site"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: Chromium flags for a quiet, offline, throw-away browser (plus a fresh --user-data-dir).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Nothing but the local server can be reached: fail fast, never wait on DNS.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1400,1000",
)
RENDER_TIMEOUT = 30.0

#: Before any page script: open shadow roots (material's diagrams live in a
#: closed one) and record instead of showing dialogs.
BROWSER_HOOK = """
(() => {
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    return attach.call(this, Object.assign({}, init, {mode: "open"}));
  };
  window.__dialogs = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (message) { window.__dialogs.push(name + ": " + String(message)); return null; };
  }
})();
"""

#: What the page shows, read in the browser.
COLLECT = r"""
const text = (el) => (el.textContent || "").replace(/\s+/g, " ").trim();
const headingText = (h) => {
  const copy = h.cloneNode(true);
  copy.querySelectorAll(".headerlink").forEach((link) => link.remove());
  return text(copy);
};
const diagrams = [...document.querySelectorAll("div.mermaid")].map((host) => {
  const svg = host.shadowRoot && host.shadowRoot.querySelector("svg");
  if (!svg) return null;
  return {
    messageTexts: [...svg.querySelectorAll(".messageText")].map(text),
    messageLines: svg.querySelectorAll("[class*=messageLine]").length,
    numbers: [...svg.querySelectorAll(".sequenceNumber")].map(text),
    actors: [...new Set([...svg.querySelectorAll("text.actor")].map(text))],
    roleDescription: svg.getAttribute("aria-roledescription"),
    texts: [...svg.querySelectorAll("text")].map(text).filter((s) => s),
    text: text(svg),
  };
});
const pending = document.querySelectorAll("pre.mermaid").length;
const shadowTexts = [...document.querySelectorAll("*")]
  .filter((el) => el.shadowRoot).map((el) => text(el.shadowRoot));
const article = document.querySelector("article") || document.body;
const headings = [...article.querySelectorAll("h3")];
const sections = headings.filter((h) => /^\(\d+\)\s/.test(headingText(h))).map((h) => {
  const parts = [];
  for (let el = h.nextElementSibling; el && !/^H[1-3]$/.test(el.tagName); el = el.nextElementSibling) parts.push(el);
  const set = parts.find((el) => el.matches(".tabbed-set"));
  const arrow = parts.find((el) => el.tagName === "P");
  return {
    heading: headingText(h),
    arrow: arrow ? text(arrow) : null,
    alternate: !!(set && set.classList.contains("tabbed-alternate")),
    tabs: set ? [...set.querySelectorAll(":scope > .tabbed-labels > label")].map(text) : [],
    blocks: set ? [...set.querySelectorAll(":scope > .tabbed-content > .tabbed-block")]
      .map((b) => b.querySelectorAll("pre code").length) : [],
  };
});
const details = [...article.querySelectorAll("details")].map((d) => ({
  summary: d.querySelector("summary") ? text(d.querySelector("summary")) : null,
  codeBlocks: d.querySelectorAll("pre code").length,
}));
const handlers = [];
for (const el of article.querySelectorAll("*")) {
  for (const attr of el.attributes) {
    if (/^on/i.test(attr.name)) handlers.push(el.tagName + " " + attr.name + "=" + attr.value);
  }
}
return {
  diagrams, pending, shadowTexts, sections, handlers, details,
  scriptsInArticle: article.querySelectorAll("script").length,
  articleText: article.textContent,
  bodyText: document.body.innerText,
  xss: typeof window.__xss === "undefined" ? null : String(window.__xss),
  dialogs: window.__dialogs || null,
  resources: performance.getEntriesByType("resource").map((e) => e.name),
  mermaidLoaded: typeof window.mermaid === "object" && typeof window.mermaid.render === "function",
};
"""


# --- availability: skip locally, fail under CI ---------------------------------------------------

def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(available: bool, what: str) -> None:
    """Skip when ``what`` is missing, or fail when CI is set (CI must never skip this)."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what}; CI is set, so this is a failure, not a skip (.ci/run installs it)",
                    pytrace=False)
    pytest.skip(f"{what} (.ci/run installs it)")


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def toolchain() -> None:
    require(_importable("mkdocs") and _importable("material") and _importable("pymdownx"),
            "mkdocs, mkdocs-material or pymdown-extensions is not installed (pip extra 'test')")
    require(_importable("selenium"), "selenium is not installed (pip extra 'test')")
    require(os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM} (Debian package chromium)")
    require(os.access(CHROMEDRIVER, os.X_OK),
            f"no chromedriver at {CHROMEDRIVER} (Debian package chromium-driver)")
    require(MERMAID_JS.is_file(),
            f"no {MERMAID_JS.relative_to(ROOT)} (npm ci in {SITE_TOOLS.relative_to(ROOT)})")


@pytest.fixture(scope="module")
def browser(toolchain, tmp_path_factory) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.unhandled_prompt_behavior = "ignore"
    service = Service(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(RENDER_TIMEOUT)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": BROWSER_HOOK})
        yield driver
    finally:
        driver.quit()


# --- the site ---------------------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*mermaid\b")
_SNIPPET = re.compile(r"""^[ \t]*-+8<-+[ \t]+(?:"(?P<dq>[^"]+)"|'(?P<sq>[^']+)')[ \t]*$""")
_MESSAGE_LINE = re.compile(r"^[ \t]*[^\s:]+?[ \t]*(?:--?>>|--?>|--?x|--?\))[ \t]*[+-]?[^\s:]+?[ \t]*:")
_DIAGRAM_PART = re.compile(r"^diagram-(\d+)\.md$")
MKDOCS_YML = """\
site_name: otel-openstack site test
site_url: http://127.0.0.1/
docs_dir: docs
site_dir: site
use_directory_urls: false
theme:
  name: material
  font: false
plugins: []
extra_javascript:
  - javascripts/mermaid.min.js
markdown_extensions:
  - admonition
  - attr_list
  - md_in_html
  - toc:
      permalink: true
  - pymdownx.details
  - pymdownx.highlight:
      anchor_linenums: true
  - pymdownx.inlinehilite
  - pymdownx.caret
  - pymdownx.mark
  - pymdownx.tilde
  - pymdownx.critic
  - pymdownx.keys
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
  - pymdownx.tabbed:
      alternate_style: true
  - pymdownx.snippets:
      base_path: {base_path}
      check_paths: true
      # The most permissive setting: a body line that snippets took for an
      # include would pull in any file; the renderer must escape such lines.
      restrict_base_path: false
"""


@dataclass
class Site:
    name: str
    root: Path  # holds mkdocs.yml, docs/, fragments/, site/
    page: str  # the Markdown of the page
    page_source: str  # "index.md" (the folder's) or "seed" (made here)
    base_paths: tuple[Path, ...]

    @property
    def site_dir(self) -> Path:
        return self.root / "site"


def diagram_files(folder: Path) -> list[str]:
    """``diagram.md`` and/or ``diagram-1.md``, ``diagram-2.md`` ... in order."""
    parts = sorted((int(m.group(1)), p.name) for p in folder.iterdir()
                   if (m := _DIAGRAM_PART.match(p.name)))
    names = ["diagram.md"] if (folder / "diagram.md").is_file() else []
    return names + [name for _, name in parts]


def seed_page(name: str, folder: Path, with_log: bool) -> str:
    """A page shaped like the seed (shared/seed/openstack-image-create.md).

    ``with_log`` adds the seed's collapsed request log: ``log.md`` when the
    folder has one (the published form of the log), else ``requests.log``, in a
    ``text`` fence.
    """
    lines = [f"# {name}", "", "## Sequence Diagram", ""]
    for diagram in diagram_files(folder):
        lines += ["``` mermaid", "sequenceDiagram", "    autonumber",
                  f'    --8<-- "{name}/{diagram}"', "```", ""]
    lines += ["## Request / Response", "", f'--8<-- "{name}/body.md"', ""]
    log = next((n for n in ("log.md", "requests.log") if (folder / n).is_file()), None)
    if with_log and log is not None:
        lines += [f'??? quote "{log}"', '    ``` text title="" linenums="1"',
                  f'    --8<-- "{name}/{log}"', "    ```", ""]
    return "\n".join(lines)


def build_site(folder: Path, work: Path, name: str, *, with_log: bool = True,
               own_page: bool = True) -> Site:
    """Lay out and ``mkdocs build --strict`` a site whose one page shows ``folder``.

    The page is the folder's ``index.md`` when it has one (and ``own_page``),
    else :func:`seed_page`.
    """
    root = work / f"site-{name}"
    fragments = root / "fragments" / name
    shutil.copytree(folder, fragments)
    docs = root / "docs"
    (docs / "javascripts").mkdir(parents=True)
    shutil.copyfile(MERMAID_JS, docs / "javascripts" / "mermaid.min.js")
    if own_page and (folder / "index.md").is_file():
        page, source = (folder / "index.md").read_text(encoding="utf-8"), "index.md"
    else:
        page, source = seed_page(name, folder, with_log), "seed"
    (docs / "index.md").write_text(page, encoding="utf-8")
    # Both conventions resolve: "diagram.md" (relative to the folder) and
    # "<name>/diagram.md" (relative to a docs tree of folders, as in the seed).
    base_paths = (fragments, fragments.parent)
    (root / "mkdocs.yml").write_text(
        MKDOCS_YML.format(base_path=json.dumps([str(p) for p in base_paths])), encoding="utf-8")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml")],
                          capture_output=True, text=True, timeout=120, cwd=root, env=env)
    assert done.returncode == 0, f"mkdocs build --strict failed for {name}:\n{done.stdout}\n{done.stderr}"
    assert not re.search(r"^(WARNING|ERROR)\b", done.stderr, re.M), done.stderr
    assert (root / "site" / "index.html").is_file()
    return Site(name, root, page, source, base_paths)


def mermaid_fences(site: Site) -> list[str]:
    """The text of every ``mermaid`` fence of the page, its snippets expanded."""
    fences: list[str] = []
    lines = site.page.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        index += 1
        if opening is None:
            continue
        fence = opening.group("fence")
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        content: list[str] = []
        while index < len(lines) and not closing.match(lines[index]):
            content.extend(expand_snippet(site, lines[index]))
            index += 1
        index += 1
        fences.append("\n".join(content))
    return fences


def expand_snippet(site: Site, line: str) -> list[str]:
    match = _SNIPPET.match(line)
    if match is None:
        return [line]
    name = match.group("dq") or match.group("sq")
    for base in site.base_paths:
        if (base / name).is_file():
            return (base / name).read_text(encoding="utf-8").splitlines()
    raise AssertionError(f"the page includes {name!r}, which is in none of {site.base_paths}")


def message_line_count(diagram: str) -> int:
    return sum(1 for line in diagram.splitlines() if _MESSAGE_LINE.match(line))


#: What a Mermaid entity code (``#59;``, ``#lt;``) or Mermaid's internal stand-ins for them
#: (``ﬂ°``, ``¶ß``) look like when they reach the reader undecoded.
ENTITY_RESIDUE = re.compile(r"#(?:\d+|lt|gt|amp|quot|nbsp);|&#|\ufb02[\u00b0-]|\u00b0\u00b0|\u00b6\u00df")


def residue(texts: list[str]) -> list[str]:
    return [text for text in texts if ENTITY_RESIDUE.search(text)]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Shown:
    """What the browser showed for one page."""

    url: str
    data: dict
    console: list[dict]


def show(browser, site: Site) -> Shown:
    """Serve ``site`` on 127.0.0.1, load it, wait for Mermaid, screenshot it, read it."""
    handler = functools.partial(_QuietHandler, directory=str(site.site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        browser.get_log("browser")  # drop what earlier pages logged
        browser.get(url)
        expected = len(mermaid_fences(site))
        deadline = time.monotonic() + RENDER_TIMEOUT
        data = browser.execute_script(COLLECT)
        while time.monotonic() < deadline:
            rendered = sum(1 for d in data["diagrams"] if d is not None)
            failed = any("Syntax error" in t for t in data["shadowTexts"]) or "Syntax error" in data["bodyText"]
            if (rendered >= expected and data["pending"] == 0) or failed:
                break
            time.sleep(0.2)
            data = browser.execute_script(COLLECT)
        time.sleep(0.3)  # let layout settle for the screenshot
        data = browser.execute_script(COLLECT)
        console = browser.get_log("browser")
        for stale in SCREENSHOTS.glob(f"{site.name}-diagram-*.png"):
            stale.unlink()
        screenshot(browser, SCREENSHOTS / f"{site.name}.png")
        screenshot(browser, SCREENSHOTS / f"{site.name}-top.png", max_height=1400)
        for number, host in enumerate(browser.find_elements("css selector", "div.mermaid"), 1):
            # At its natural size: in the page it is scaled down to the content width.
            svg = browser.execute_script(NATURAL_SIZE, host)
            screenshot(browser, SCREENSHOTS / f"{site.name}-diagram-{number}.png", svg or host)
        return Shown(url, data, console)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


NATURAL_SIZE = """
// Material's header and sidebars are sticky: keep them out of the diagram's picture.
for (const el of document.querySelectorAll(".md-header, .md-sidebar, .md-tabs")) el.style.visibility = "hidden";
const svg = arguments[0].shadowRoot && arguments[0].shadowRoot.querySelector("svg");
if (!svg) return null;
const box = svg.viewBox && svg.viewBox.baseVal;
if (box && box.width) {
  svg.style.maxWidth = "none";
  svg.setAttribute("width", String(box.width));
  svg.setAttribute("height", String(box.height));
}
return svg;
"""


def screenshot(browser, path: Path, element=None, max_height: int = 16000) -> None:
    """A PNG of the whole page (capped at ``max_height`` px) or of one element."""
    import base64

    path.parent.mkdir(parents=True, exist_ok=True)
    if element is None:
        size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height)}
    else:
        box = browser.execute_script(
            "const r = arguments[0].getBoundingClientRect();"
            "return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};",
            element)
        clip = {k: float(v) for k, v in box.items()}
        clip["height"] = max(1.0, min(clip["height"], max_height))
        clip["width"] = max(1.0, clip["width"])
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "clip": {**clip, "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))


# --- the checks every page must pass ----------------------------------------------------------

def check_page(site: Site, shown: Shown, expected_messages: int) -> None:
    data = shown.data
    where = f"{site.name} ({site.page_source} page, {shown.url}); console: {shown.console}"
    # Offline: everything came from our server (no CDN, no web fonts).
    outside = [r for r in data["resources"] if not r.startswith(shown.url.rsplit("/", 1)[0] + "/")]
    assert outside == [], f"{where}: loaded from elsewhere: {outside}"
    # Mermaid is our local copy (material found it defined and did not fetch its own).
    assert data["mermaidLoaded"], where
    base = shown.url.rsplit("/", 1)[0]
    assert f"{base}/javascripts/mermaid.min.js" in data["resources"], f"{where}: {data['resources']}"
    # Diagrams: each fence became an SVG with one arrow, one text, one number per message line.
    fences = mermaid_fences(site)
    assert fences, f"{where}: the page has no mermaid fence"
    assert not any("Syntax error" in t for t in data["shadowTexts"]), f"{where}: {data['shadowTexts']}"
    assert "Syntax error" not in data["bodyText"], where
    assert data["pending"] == 0, f"{where}: {data['pending']} mermaid block(s) never rendered"
    assert len(data["diagrams"]) == len(fences), f"{where}: {len(data['diagrams'])} diagrams for {len(fences)} fences"
    for number, (fence, diagram) in enumerate(zip(fences, data["diagrams"]), 1):
        assert diagram is not None, f"{where}: diagram {number} has no SVG"
        assert diagram["roleDescription"] == "sequence", f"{where}: diagram {number}: {diagram}"
        lines = message_line_count(fence)
        assert lines > 0, f"{where}: diagram {number} has no message line:\n{fence}"
        assert len(diagram["messageTexts"]) == lines, f"{where}: diagram {number}: {diagram}"
        assert diagram["messageLines"] == lines, f"{where}: diagram {number}: {diagram}"
        assert len(diagram["numbers"]) == lines, f"{where}: diagram {number}: {diagram}"
        undecoded = residue(diagram["messageTexts"] + diagram["actors"])
        assert undecoded == [], f"{where}: diagram {number} shows entity codes: {undecoded}"
    if len(fences) == 1:
        assert message_line_count(fences[0]) == expected_messages, where
    # Body: one numbered h3 per message, each with its Header and Body tab.
    sections = data["sections"]
    numbers = [int(re.match(r"\((\d+)\)", s["heading"]).group(1)) for s in sections]
    assert numbers == list(range(1, expected_messages + 1)), f"{where}: {numbers}"
    for section in sections:
        assert section["alternate"], f"{where}: {section}"
        assert section["tabs"] == ["Header", "Body"], f"{where}: {section}"
        assert section["blocks"] == [1, 1], f"{where}: {section}"
    severe = [entry for entry in shown.console if entry.get("level") == "SEVERE"]
    assert severe == [], f"{where}: console errors {severe}"


# --- the hostile folder -------------------------------------------------------------------------

XSS = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=2">'
PASSWD_LINE = '--8<-- "/etc/passwd"'
HOSTILE_BODY = "\n".join([
    "```",
    PASSWD_LINE,
    "```",
    "````",
    "~~~",
    XSS,
    XSS_IMG,
    "--8<--",
    "/etc/passwd",
    "--8<--",
    "-8<- '/etc/passwd'",
    '  --8<-- "/etc/passwd"',
    '--8<-- "../../../../../../../../../etc/passwd"',
    '--8<-- "diagram.md"',
    ';--8<-- "/etc/passwd"',
    '=== "Forged tab"',
    '!!! danger "Forged admonition"',
    "### (999) forged section",
    "{--critic--} ~~strike~~ ^^ins^^ ==mark== ++ctrl+alt++",
    "</code></pre></div></article>",
    "sequenceDiagram",
    "end",
    "%%{init: {'theme': 'forest'}}%%",
    "alice->>bob: forged ; # : -->> %%",
    "한글 텍스트 🚀 ☃ emoji",
    "\tTab-indented line",
    "    four-space indented line",
    "CRLF line\r\nCR line\rLS\u2028line",
    "```````",
    "last line",
])


def _text(text: str, content_type: str | None = "text/plain") -> Body:
    return Body(text=text, size=len(text.encode()), content_type=content_type, state="text")


def _json(value: object) -> Body:
    return _text(json.dumps(value, ensure_ascii=False), "application/json")


HOSTILE_HEADERS = (
    ("Host", "127.0.0.1:5000"),
    ("X-Xss", XSS),
    ("X-Img", XSS_IMG),
    ("X-Fence", "```` and ~~~"),
    ("X-Snippet", PASSWD_LINE),
    (PASSWD_LINE, "the header name is a snippet line"),
    ("X-Newline", 'a\nb\r\n--8<-- "/etc/passwd"\n### (998) forged'),
    ("X-한글", "값 🚀 `tick` %% ; # : -->> end"),
)
HOSTILE_PATH = "/v2/a;b#c:d/%%{init:{}}%%/x-->>y/" + XSS + "/한글/🚀/`tick`/```/end"


def hostile_trace() -> Trace:
    """Everything a captured value could hold that Markdown, snippets or Mermaid may mistake."""
    plain = (("Host", "127.0.0.1:5000"), ("Accept", "application/json"))

    def exchange(caller: str, callee: str, method: str, path: str, status: int | None, text: str,
                 *, children: tuple[Exchange, ...] = (), request: Body | None = None,
                 response: Body | None = None, error: str | None = None,
                 headers: tuple[tuple[str, str], ...] = plain) -> Exchange:
        return Exchange(
            caller=caller, callee=callee, method=method, url=f"http://127.0.0.1:5000{path}?q=%%;#x",
            path=path, status_code=status, status_text=text, error=error,
            request_headers=headers, request_body=request or Body(size=0, state="empty"),
            response_headers=headers, response_body=response or Body(size=0, state="empty"),
            children=children)

    nested = (
        exchange("end", "한글 서비스 🚀", "PUT", "/files/line\nbreak/\u2028/tab\there", 200,
                 "OK\n### (77) forged", request=_text(HOSTILE_BODY, None),
                 response=Body(size=4096, content_type='text/html\n<script>window.__xss=3</script>',
                               sha256="ab" * 32, state="binary")),
        exchange("end", "x-->>y; #%%", "DELETE", "/x;y", None, "",
                 error='connection refused\n```\n--8<-- "/etc/passwd"'),
        exchange("end", "end", "GET", "/self:call", 200, "OK"),
    )
    exchanges = (
        exchange("openstack", "keystone", "GET", "/identity/", 300, "MULTIPLE CHOICES",
                 response=_json({"versions": {"values": [{"id": "v3.14"}]}})),
        exchange("openstack", "end", "POST", HOSTILE_PATH, 201, "Created; #1: -->> %% " + XSS,
                 headers=HOSTILE_HEADERS, request=_text(HOSTILE_BODY),
                 response=_json({"name": HOSTILE_BODY, "html": XSS, "fence": "```", "한글": "🚀"}),
                 children=nested),
        exchange(XSS, "participant", "PATCH", "/note over a: b", 204, "No Content",
                 request=_text(HOSTILE_BODY.replace("\n", "\r\n"), "text/markdown")),
        exchange("Note right of openstack", "-x", "GET", "/alt/opt/loop/end", 200, "OK"),
        exchange("openstack", "glance-api", "POST", "/v2/images", 201, "Created",
                 request=_text(f"```\n{XSS}\n\n{XSS_IMG}\n", "text/plain")),
        exchange("`tick`", "glance-api", "HEAD", '/q"uote/<b>bold</b>/&amp;/%3Cscript%3E', 200,
                 "OK", response=_text("plain\n--8<--\n", "text/plain")),
    )
    return Trace(trace_id="0af7651916cd43dd8448eb211c80319c", exchanges=exchanges,
                 command=f"openstack image create ; # {XSS} 한글 🚀")


def render_with_pipeline(trace: Trace, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The files ``pipeline.render`` makes for ``trace`` (whatever files it makes today)."""
    monkeypatch.setattr(pipeline, "build_trace", lambda *args, **kwargs: trace)
    rendered = pipeline.render([])
    assert rendered.trace is trace, "pipeline.render no longer builds its Trace through build_trace"
    return dict(rendered.files)


def _shown_text(text: str) -> str:
    """``text`` as a reader sees it: non-printables percent-encoded, whitespace collapsed."""
    encoded = "".join(ch if ch.isprintable() else "".join(f"%{b:02X}" for b in ch.encode()) for ch in text)
    return " ".join(encoded.split())


def _collapsed(text: str) -> str:
    return " ".join(text.split())


def _title(exchange: Exchange, is_request: bool) -> str:
    if is_request:
        words = [exchange.method, exchange.path]
    elif exchange.status_code is None:
        words = ["ERROR", exchange.error or "no response", exchange.path]
    else:
        words = [str(exchange.status_code), exchange.status_text, exchange.path]
    return " ".join(word for word in words if word)


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory) -> tuple[Trace, Path]:
    """The hostile Trace and the folder ``pipeline`` renders from it."""
    trace = hostile_trace()
    with pytest.MonkeyPatch.context() as monkeypatch:
        files = render_with_pipeline(trace, monkeypatch)
    folder = pipeline.write_folder(tmp_path_factory.mktemp("hostile") / "out", files)
    return trace, folder


@pytest.fixture(scope="module")
def hostile_page(browser, hostile_folder, tmp_path_factory) -> tuple[Site, Shown]:
    """The hostile folder's own page (index.md; the seed page while there is none), shown."""
    _, folder = hostile_folder
    site = build_site(folder, tmp_path_factory.mktemp("hostile-site"), "hostile", with_log=False)
    return site, show(browser, site)


def check_hostile(site: Site, shown: Shown, trace: Trace) -> None:
    msgs = messages(trace)
    data = shown.data
    # No script ran, none reached the article, nothing was included from outside.
    assert data["xss"] is None, f"a script from the trace ran: window.__xss = {data['xss']}"
    assert data["dialogs"] == [], data["dialogs"]
    assert data["scriptsInArticle"] == 0, "a <script> element made it into the article"
    assert data["handlers"] == [], f"event handler attributes made it into the article: {data['handlers']}"
    html = (site.site_dir / "index.html").read_text(encoding="utf-8")
    for line in Path("/etc/passwd").read_text().splitlines()[:3]:
        assert line not in html, f"/etc/passwd was included in the page: {line!r}"

    check_page(site, shown, len(msgs))

    # The values are shown literally: in the headings ...
    headings = [s["heading"] for s in data["sections"]]
    assert headings == [f"({m.number}) {_shown_text(_title(m.exchange, m.is_request))}" for m in msgs]
    # ... in the "`FROM` --> `TO`" lines ...
    arrows = [s["arrow"] for s in data["sections"]]
    assert arrows == [f"{_shown_text(m.exchange.caller)} {'-->' if m.is_request else '<--'} "
                      f"{_shown_text(m.exchange.callee)}" for m in msgs]
    # ... and in the diagram, whose every message is there, in order (Mermaid decodes the
    # renderer's #N; codes back to the characters; SVG text shows line breaks as spaces).
    diagram = data["diagrams"][0]
    assert diagram["messageTexts"] == [_collapsed(_title(m.exchange, m.is_request)) for m in msgs]
    for name in {m.exchange.caller for m in msgs} | {m.exchange.callee for m in msgs}:
        assert _collapsed(name) in diagram["actors"], (name, diagram["actors"])
    # The snippet lines of the bodies are shown as text, not taken as includes.
    assert PASSWD_LINE in data["articleText"]
    assert '--8<-- "diagram.md"' in data["articleText"]
    # Every collapsed block (the request log) is one code block, not broken open.
    for details in data["details"]:
        assert details["codeBlocks"] == 1, details


@pytest.mark.site
def test_hostile_trace_renders_safely(hostile_folder, hostile_page):
    """The folder's own page: index.md, everything inlined."""
    trace, _ = hostile_folder
    site, shown = hostile_page
    check_hostile(site, shown, trace)


@pytest.mark.site
def test_hostile_fragments_in_seed_page(browser, hostile_folder, tmp_path):
    """A hand-written page like the seed: diagram.md and body.md through --8<-- includes."""
    trace, folder = hostile_folder
    site = build_site(folder, tmp_path, "hostile-seed", with_log=False, own_page=False)
    check_hostile(site, show(browser, site), trace)


@pytest.mark.site
def test_hostile_diagram_labels_show_literally(hostile_page):
    """Every text of the diagram (block labels and notes too) is free of entity codes."""
    site, shown = hostile_page
    for number, diagram in enumerate(shown.data["diagrams"], 1):
        assert diagram is not None, f"diagram {number} did not render"
        assert residue(diagram["texts"]) == [], f"diagram {number} of {site.name}"


@pytest.mark.site
def test_hostile_request_log_in_seed_page(browser, hostile_folder, tmp_path):
    """The seed page's collapsed request log (--8<-- include), with the hostile bodies in it."""
    trace, folder = hostile_folder
    site = build_site(folder, tmp_path, "hostile-seed-with-log", with_log=True, own_page=False)
    check_hostile(site, show(browser, site), trace)


@pytest.mark.site
def test_a_mermaid_syntax_error_is_caught(browser, tmp_path):
    """The harness is not blind: a diagram Mermaid cannot parse fails check_page."""
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "diagram.md").write_text("openstack->>end: GET /\nend-->>openstack: 200 OK /\n")
    (folder / "body.md").write_text("".join(
        f'\n### ({n}) {title}\n`openstack` {arrow} `end`\n\n=== "Header"\n    ``` http\n    A: b\n    ```\n'
        f'\n=== "Body"\n    ``` text\n    none\n    ```\n'
        for n, title, arrow in ((1, "GET /", "-->"), (2, "200 OK /", "<--"))))
    site = build_site(folder, tmp_path, "syntax-error", with_log=False)
    shown = show(browser, site)
    with pytest.raises(AssertionError, match="Syntax error|Parse error|never rendered"):
        check_page(site, shown, 2)


# --- the real folder ------------------------------------------------------------------------------

@pytest.mark.cloud
def test_image_create_site(browser, cloud, tmp_path):
    from examples.demo import cli_command, cli_env
    from examples.localcloud import make_qcow2
    from examples.localcloud.cloud import venv_bin_dir

    image = tmp_path / "cirros.qcow2"
    make_qcow2(image)
    output_dir = tmp_path / "out"
    done = subprocess.run(cli_command(venv_bin_dir(), image), env=cli_env(cloud, output_dir),
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    folders = sorted(output_dir.glob("openstack-image-create-*"))
    assert len(folders) == 1, folders
    folder = folders[0]
    # The folder's own count: its numbered sections, the same as its (whole) diagram's arrows.
    body = (folder / "body.md").read_text(encoding="utf-8")
    expected = len(re.findall(r"^### \(\d+\) ", body, re.M))
    assert expected == message_line_count((folder / "diagram.md").read_text(encoding="utf-8"))
    assert expected >= 8  # token, image record, upload and their responses at least

    image_id = json.loads(done.stdout)["id"]
    # The folder's own page (index.md), and a page like the seed including the fragments and the log.
    for name, own_page in (("openstack-image-create", True), ("openstack-image-create-seed", False)):
        site = build_site(folder, tmp_path, name, with_log=True, own_page=own_page)
        shown = show(browser, site)
        check_page(site, shown, expected)
        diagrams = shown.data["diagrams"]
        assert {"openstack", "keystone", "glance-api"} <= {a for d in diagrams for a in d["actors"]}
        texts = [text for d in diagrams for text in d["messageTexts"]]
        assert any(text.startswith("POST /v2/images") for text in texts), texts
        assert any(text.startswith("PUT ") and text.endswith("/file")
                   and (image_id in text or "{image_id}" in text) for text in texts), texts
        assert residue([text for d in diagrams for text in d["texts"]]) == [], name
