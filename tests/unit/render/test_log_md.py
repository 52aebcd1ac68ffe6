"""log.md: the request log made safe to include inside a page's ``` fence."""

from otel_openstack.render.log import ZERO_WIDTH_SPACE, log_for_markdown


def test_fence_lines_get_a_zero_width_space_and_nothing_else_changes() -> None:
    log = "\n### (a) REQ >>> (b) : GET http://x/\nA: b\n\n```\n  ~~~~ \n```json\nx ``` y\n"
    assert log_for_markdown(log) == (
        "\n### (a) REQ >>> (b) : GET http://x/\nA: b\n\n"
        f"{ZERO_WIDTH_SPACE}```\n{ZERO_WIDTH_SPACE}  ~~~~ \n```json\nx ``` y\n")


def test_snippet_include_lines_are_escaped() -> None:
    assert log_for_markdown('--8<-- "/etc/passwd"\nok') == ';--8<-- "/etc/passwd"\nok'
    assert log_for_markdown('   --8<-- \'a.md\'') == "   ;--8<-- 'a.md'"


def test_carriage_returns_become_line_breaks_before_the_checks() -> None:
    # Markdown starts a new line at a lone \r: "x\r```" would close the fence.
    assert log_for_markdown("x\r```\r\n--8<-- \"a\"\r") == f'x\n{ZERO_WIDTH_SPACE}```\n;--8<-- "a"\n'
