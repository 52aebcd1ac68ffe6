"""The README's reliability section shows what this run measured (runs last: file order).

Every figure is deterministic, so the check is exact.  A partial run (``-m
"not cloud"``, ``-k``) checks the rows whose figures it produced; a full run
checks the whole section.  After changing a test's counts, regenerate the
section with ``python -m tests.reliability.figures`` (it reads the JSON file
this session writes at its end).
"""

from __future__ import annotations

import pytest

from tests.reliability.figures import README, missing_keys, readme_section, render_section, rendered_rows


def test_readme_reliability_section_matches_this_run(figures) -> None:
    section = readme_section(README.read_text())
    assert section is not None, "README.md has no <!-- reliability:begin --> ... <!-- reliability:end --> section"
    rows = rendered_rows(figures.values)
    if not rows:
        pytest.skip("no reliability figures were produced in this run")
    stale = [row for row in rows if row not in section.splitlines()]
    assert not stale, ("README.md's reliability section is out of date; after this run, "
                       "`python -m tests.reliability.figures` rewrites it. Rows that differ:\n" + "\n".join(stale))
    if not missing_keys(figures.values):
        assert section == render_section(figures.values)
