"""The ``openstack`` CLI: one root span per command.

``osc_lib``'s ``OpenStackShell.run`` is the whole life of a command (option
parsing, authentication, the command, output); cliff's ``run_subcommand``
is where the command words are known, so the span is renamed there
(``openstack image create``).
"""

from __future__ import annotations

from typing import Any, Collection

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.trace import SpanKind

from otel_openstack import __version__
from otel_openstack.capture import attributes as A
from otel_openstack.capture import cli_traces
from otel_openstack.capture.guard import swallow
from otel_openstack.capture.local import set_process_service
from otel_openstack.capture.redact import redact_argv

PROGRAM = "openstack"


@swallow("CLI command naming")
def _name_command(span: Any, shell: Any, argv: list[str]) -> None:
    _, name, _ = shell.command_manager.find_command(list(argv))
    command = f"{PROGRAM} {name}"
    span.update_name(command)
    span.set_attribute(A.CLI_COMMAND, command)


@swallow("CLI span start")
def _begin(span: Any, argv: list[str]) -> None:
    span.set_attributes({A.CLI_COMMAND: PROGRAM, A.CLI_ARGV: redact_argv([str(a) for a in argv]),
                         A.SERVICE_NAME: PROGRAM})
    cli_traces.begin(f"{span.get_span_context().trace_id:032x}")


#: Most of the command's output kept for the page (``openstack.cli.output``).
OUTPUT_LIMIT = 64 * 1024
#: Environment variables whose values are secrets to scrub from the output.
_SECRET_ENV = ("OS_PASSWORD", "OS_TOKEN", "OS_APPLICATION_CREDENTIAL_SECRET", "OS_CLIENT_SECRET")


class _OutputTee:
    """The shell's stdout: everything written passes on unchanged, a bounded copy is kept."""

    def __init__(self, stream: Any, limit: int = OUTPUT_LIMIT):
        self._stream = stream
        self._limit = limit
        self._parts: list[str] = []
        self._size = 0
        self.truncated = False

    def write(self, text: Any) -> Any:
        written = self._stream.write(text)
        try:
            if isinstance(text, str) and not self.truncated:
                room = self._limit - self._size
                self._parts.append(text[:room])
                self._size += min(len(text), room)
                self.truncated = len(text) > room
        except Exception:  # noqa: BLE001 - never disturb the output
            pass
        return written

    def text(self) -> str:
        return "".join(self._parts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@swallow("CLI span end")
def _finish(span: Any, code: Any, output: _OutputTee | None, argv: list[str]) -> None:
    import os

    from otel_openstack.capture.redact import MASK, redact_argv, scrub

    if isinstance(code, int):
        span.set_attribute(A.PROCESS_EXIT_CODE, code)
    if output is not None and output.text():
        secrets = [os.environ.get(name, "") for name in _SECRET_ENV]
        secrets += [raw for raw, shown in zip(argv, redact_argv(argv)) if raw != shown and shown == MASK]
        span.set_attribute(A.CLI_OUTPUT, scrub(output.text(), secrets) + ("\n[...]" if output.truncated else ""))


@swallow("CLI output capture")
def _tee_output(shell: Any) -> _OutputTee | None:
    stream = getattr(shell, "stdout", None)
    if stream is None:
        return None
    shell.stdout = _OutputTee(stream)
    return shell.stdout


class OpenStackCLIInstrumentor(BaseInstrumentor):
    """Instruments ``osc_lib.shell.OpenStackShell`` (the ``openstack`` command)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("osc-lib >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(__name__, __version__, kwargs.get("tracer_provider"))

        def run_wrapper(wrapped: Any, instance: Any, args: Any, kw: dict[str, Any]) -> Any:
            argv = list(args[0] if args else kw.get("argv", []))
            set_process_service(PROGRAM)
            with tracer.start_as_current_span(PROGRAM, kind=SpanKind.INTERNAL) as span:
                _begin(span, argv)
                output = _tee_output(instance)
                try:
                    code = wrapped(*args, **kw)
                finally:
                    if output is not None and getattr(instance, "stdout", None) is output:
                        instance.stdout = output._stream
                _finish(span, code, output, argv)
                return code

        def subcommand_wrapper(wrapped: Any, instance: Any, args: Any, kw: dict[str, Any]) -> Any:
            span = trace.get_current_span()
            _name_command(span, instance, list(args[0] if args else kw.get("argv", [])))
            return wrapped(*args, **kw)

        wrapt.wrap_function_wrapper("osc_lib.shell", "OpenStackShell.run", run_wrapper)
        wrapt.wrap_function_wrapper("osc_lib.shell", "OpenStackShell.run_subcommand", subcommand_wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        import osc_lib.shell

        unwrap(osc_lib.shell.OpenStackShell, "run")
        unwrap(osc_lib.shell.OpenStackShell, "run_subcommand")
