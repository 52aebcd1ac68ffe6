"""Fixtures for the end-to-end tests: a real local keystone + glance.

The cloud is module-scoped: booting it takes a few seconds, and every test
of a module can share it. Set LOCALCLOUD_MIDDLEWARE=0 to boot it without
OpenTelemetry and our middleware (to tell a cloud problem from an
instrumentation problem).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from examples.localcloud import LocalCloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A started LocalCloud in a fresh state folder; stopped after the module."""
    middleware = os.environ.get("LOCALCLOUD_MIDDLEWARE", "1") != "0"
    state = tmp_path_factory.mktemp("localcloud")
    with LocalCloud(state, middleware=middleware) as started:
        yield started
