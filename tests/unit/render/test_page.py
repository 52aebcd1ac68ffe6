"""The page (index.md): the folder as one mkdocs-material page, exact text and safe fences."""

from __future__ import annotations

import dataclasses
import re

from markdown_it import MarkdownIt
from sample_trace import IMAGE_ID, image_create_trace
from test_log import EXPECTED_LOG
from test_markdown import EXPECTED_BODY_MD, as_snippets_outputs

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.pipeline import render_trace
from otel_openstack.render.filters import FilterRule
from otel_openstack.render.options import RenderOptions
from otel_openstack.render.page import command_lines, fence

MD = MarkdownIt("commonmark")
ARGV = ("image", "create", "--disk-format", "qcow2", "--file", "cirros.qcow2", "--public", "cirros")
OUTPUT = f'{{"id": "{IMAGE_ID}", "status": "active"}}\n'


def indented(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.split("\n"))


def sample() -> Trace:
    return dataclasses.replace(image_create_trace(), argv=ARGV, output=OUTPUT)


EXPECTED_HEAD = f"""\
# openstack image create

## Command

``` bash
$ openstack image create --disk-format qcow2 --file cirros.qcow2 --public cirros
```

## Sequence Diagram

``` mermaid
sequenceDiagram
    autonumber
    openstack->>+keystone: GET /identity/
    keystone-->>-openstack: 300 MULTIPLE CHOICES /identity/
    openstack->>+keystone: POST /identity/v3/auth/tokens
    keystone-->>-openstack: 201 CREATED /identity/v3/auth/tokens
    openstack->>+glance-api: POST /image/v2/images
    opt glance-api validates the token
      glance-api->>+keystone: GET /identity/v3/auth/tokens
      keystone-->>-glance-api: 200 OK /identity/v3/auth/tokens
    end
    glance-api-->>-openstack: 201 Created /image/v2/images
    openstack->>+glance-api: PUT /image/v2/images/{{image_id}}/file
    glance-api-->>-openstack: 204 No Content /image/v2/images/{{image_id}}/file
```

!!! note "Placeholders"
    - `{{image_id}}`: `{IMAGE_ID}`

## Request / Response

"""

EXPECTED_TAIL = f"""

## Output

``` json title="openstack image create --disk-format qcow2 --file cirros.qcow2 --public cirros"
{{"id": "{IMAGE_ID}", "status": "active"}}
```

## Full Log

??? quote "requests.log"
    ``` text title="requests.log" linenums="1"
{indented(EXPECTED_LOG.strip(chr(10)))}
    ```
"""


def test_sample_page_exactly() -> None:
    body = EXPECTED_BODY_MD.replace(f"/image/v2/images/{IMAGE_ID}/file", "/image/v2/images/{image_id}/file")
    assert render_trace(sample())["index.md"] == EXPECTED_HEAD + body.strip("\n") + EXPECTED_TAIL


def test_page_without_command_output_or_exchanges() -> None:
    page = render_trace(Trace("0af7651916cd43dd8448eb211c80319c", ()))["index.md"]
    assert page == (
        "# Trace 0af7651916cd43dd8448eb211c80319c\n"
        "\n"
        "## Sequence Diagram\n"
        "\n"
        "No HTTP exchange was recorded.\n"
    )
    without_output = render_trace(image_create_trace())["index.md"]
    assert "## Output" not in without_output
    assert "## Command\n\n``` bash\n$ openstack image create\n```\n" in without_output


def test_hidden_count_is_on_the_page() -> None:
    page = render_trace(sample(), RenderOptions(filters=(FilterRule(callers=("glance-api",)),)))["index.md"]
    assert '!!! info "Hidden exchanges"\n    1 exchange hidden by filters.\n' in page


def test_long_commands_get_one_option_a_line() -> None:
    trace = dataclasses.replace(image_create_trace(), argv=(
        "image", "create", "--disk-format", "qcow2", "--file", "/tmp/otel-openstack-demo-zkf9d9ka/cirros.qcow2",
        "--public", "--property", "os_distro=cirros", "--format", "json", "my image"))
    assert command_lines(trace) == [
        "$ openstack image create \\",
        "  --disk-format qcow2 \\",
        "  --file /tmp/otel-openstack-demo-zkf9d9ka/cirros.qcow2 \\",
        "  --public \\",
        "  --property os_distro=cirros \\",
        "  --format json \\",
        "  'my image'",
    ]


def test_fence_is_longer_than_any_backtick_run_and_escapes_snippet_lines() -> None:
    assert fence('a ```` b\n--8<-- "/etc/passwd"\n\n--8<--', "text", title='x"y') == [
        '````` text title="x%22y"',
        "a ```` b",
        ';--8<-- "/etc/passwd"',
        "",
        ";--8<--",
        "`````",
    ]


def hostile_trace() -> Trace:
    evil = '```\n--8<-- "/etc/passwd"\n-8<-\n````` x\n=== "Body"\n# heading'
    exchange = Exchange(caller="openstack", callee="glance-api", method="GET", url="http://h/v2/images`x`",
                        path="/v2/images`x`", status_code=200, status_text="OK",
                        request_headers=(("X-Evil", '--8<-- "/etc/shadow"'),))
    return Trace("t", (exchange,), command="openstack `image` <b>list</b> #x", argv=("image", "list", evil),
                 output=evil)


def top_level_blocks(page: str) -> list[tuple[str, str, str]]:
    """(type, info, content) of every top-level block, the way CommonMark reads the page."""
    tokens = MD.parse("\n".join(as_snippets_outputs(line) for line in page.split("\n")))
    return [(t.type, t.info, t.content) for t in tokens if t.level == 0 and t.type in ("fence", "heading_open")]


def test_nothing_in_a_hostile_trace_escapes_its_fence() -> None:
    trace = hostile_trace()
    files = render_trace(trace)
    page = files["index.md"]
    blocks = top_level_blocks(page)
    assert [(kind, (info.split() or [""])[0]) for kind, info, _ in blocks] == [
        ("heading_open", ""), ("heading_open", ""), ("fence", "bash"),  # title, Command
        ("heading_open", ""), ("fence", "mermaid"),  # Sequence Diagram
        ("heading_open", ""), ("heading_open", ""), ("heading_open", ""),  # Request / Response, (1), (2)
        ("heading_open", ""), ("fence", "text"),  # Output
        ("heading_open", ""),  # Full Log (its fence is inside the admonition)
    ]
    command, mermaid, output = (content for kind, _, content in blocks if kind == "fence")
    # the command words differ from argv (backticks): every word on its own line
    assert command == "$ openstack \\\n  image \\\n  list \\\n  '" + trace.argv[2] + "'\n"
    assert mermaid.splitlines()[2:] == ["    " + line for line in files["diagram.md"].splitlines()]
    assert output == trace.output + "\n"
    assert page.startswith("# openstack \\`image\\` &lt;b&gt;list&lt;/b&gt; \\#x\n")
    # the log: one fence inside the admonition, holding the log exactly
    log_block = page.split('??? quote "requests.log"\n', 1)[1]
    dedented = "\n".join(line[4:] for line in log_block.split("\n"))
    tokens = MD.parse("\n".join(as_snippets_outputs(line) for line in dedented.split("\n")))
    assert [t.type for t in tokens] == ["fence"]
    assert tokens[0].content == files["requests.log"].strip("\n") + "\n"
    # nothing pymdownx.snippets would execute, anywhere
    for line in page.split("\n"):
        as_snippets_outputs(line)
