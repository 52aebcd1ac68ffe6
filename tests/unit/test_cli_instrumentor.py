"""The ``openstack`` CLI instrumentor, on the real openstackclient shell run in-process.

``module list`` with ``--os-auth-type none`` needs no cloud: it lists the
client libraries installed and exits 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import osc_lib.shell
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from otel_openstack.capture import cli_traces
from otel_openstack.capture.local import current_service
from otel_openstack.instrumentation.cli import OpenStackCLIInstrumentor


@pytest.fixture
def cli(provider: Any) -> Iterator[None]:
    run = osc_lib.shell.OpenStackShell.__dict__["run"]
    OpenStackCLIInstrumentor().instrument(tracer_provider=provider)
    yield
    OpenStackCLIInstrumentor().uninstrument()
    cli_traces._active.clear()
    assert osc_lib.shell.OpenStackShell.__dict__["run"] is run


def run(argv: list[str]) -> int:
    from openstackclient.shell import OpenStackShell

    return OpenStackShell().run(argv)


def root(spans: Any) -> ReadableSpan:
    found = [s for s in spans.get_finished_spans() if s.parent is None]
    assert len(found) == 1, [s.name for s in spans.get_finished_spans()]
    return found[0]


def test_root_span_for_a_command(cli: None, spans: Any, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--os-auth-type", "none", "--os-password", "secret", "module", "list"]
    assert run(argv) == 0
    assert "openstackclient" in capsys.readouterr().out
    span = root(spans)
    assert span.name == "openstack module list"
    assert span.kind == SpanKind.INTERNAL
    a = span.attributes
    assert a["openstack.cli.command"] == "openstack module list"
    assert a["openstack.cli.argv"] == ("--os-auth-type", "none", "--os-password", "***", "module", "list")
    assert a["process.exit.code"] == 0
    assert a["openstack.service.name"] == "openstack"
    assert "secret" not in repr(dict(a))
    assert cli_traces.is_cli_trace(f"{span.context.trace_id:032x}")
    cli_traces.end(f"{span.context.trace_id:032x}")
    assert current_service() == "openstack"


def test_password_given_with_equals(cli: None, spans: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--os-auth-type", "none", "--os-password=secret", "module", "list"]) == 0
    assert root(spans).attributes["openstack.cli.argv"] == \
        ("--os-auth-type", "none", "--os-password=***", "module", "list")


def test_failing_command_records_its_exit_code(cli: None, spans: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["--os-auth-type", "none", "no-such-command-words"])
    assert code != 0
    span = root(spans)
    assert span.name == "openstack"  # no command found to name it after
    assert span.attributes["openstack.cli.command"] == "openstack"
    assert span.attributes["process.exit.code"] == code


def test_uninstrumented_shell_makes_no_span(spans: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--os-auth-type", "none", "module", "list"]) == 0
    assert spans.get_finished_spans() == ()


def test_command_output_is_kept_as_written(cli: None, spans: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--os-auth-type", "none", "module", "list", "-f", "json"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("{") and "openstackclient" in out
    assert root(spans).attributes["openstack.cli.output"] == out


def test_a_secret_printed_by_the_command_is_scrubbed_from_the_kept_output(
        cli: None, spans: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # The "password" is a word the command prints: it must not be kept in clear.
    assert run(["--os-auth-type", "none", "--os-password", "openstackclient", "module", "list",
                "-f", "json"]) == 0
    out = capsys.readouterr().out
    assert '"openstackclient"' in out  # the user's terminal gets the real output
    kept = root(spans).attributes["openstack.cli.output"]
    assert kept == out.replace("openstackclient", "***")
