"""The ``otel-openstack`` command: render a stored trace again, list traces.

    otel-openstack render INPUT -o DIR [--trace ID] [--partial]
    otel-openstack render --jaeger URL --trace ID -o DIR
    otel-openstack traces INPUT | --jaeger URL [--service NAME] [--limit N] [--lookback 24h]

(and the subcommands of the modules in ``otel_openstack.commands``).

INPUT is a trace file in any format ``sources.detect`` reads (OTLP JSON or
JSON Lines, Jaeger v1 or v3 JSON, Tempo JSON) or an otel-openstack output
folder.  Errors in the input or the command line are one line on stderr and
exit status 2, never a traceback: the user gave us a file, the message must
say what is wrong with it.  Damaged input is refused unless ``--partial``
asks for what can be read.  What the model could not place (missing
parents, non-HTTP spans ...) is rendered as far as possible and named in
warnings on stderr.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from otel_openstack import __version__, pipeline
from otel_openstack.capture import attributes as A
from otel_openstack.model.build import NamingOptions
from otel_openstack.render.options import add_render_arguments, options_from_args
from otel_openstack.sources import detect, live
from otel_openstack.sources.errors import TraceInputError
from otel_openstack.sources.spans import SpanRecord
from otel_openstack.commands._args import positive_seconds

EXIT_OK = 0
EXIT_INPUT = 2
PROG = "otel-openstack"


class UsageError(TraceInputError):
    """A bad command line (reported like bad input: one line, status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and status 2, as argparse does)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{PROG}: {message} (see {self.prog} --help)\n")


def warn(message: str) -> None:
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def load_input(args: argparse.Namespace) -> detect.Loaded:
    """The spans the command line names: a file or folder, or Jaeger (one trace, or a search)."""
    if bool(args.input) == bool(args.jaeger):
        raise UsageError("give either a trace file or folder, or --jaeger URL")
    if args.jaeger:
        if args.command == "render":
            if not args.trace:
                raise UsageError("--jaeger needs --trace ID (otel-openstack traces --jaeger URL lists them)")
            return live.fetch_trace(args.jaeger, args.trace, args.timeout)
        return live.find_traces(args.jaeger, args.service, args.limit, args.lookback, args.timeout)
    only = live.trace_id_arg(args.trace) if args.command == "render" and args.trace else None
    return detect.load(Path(args.input), partial=args.partial, only=only)


def choose_trace(loaded: detect.Loaded, wanted: str | None) -> str:
    """The trace to render: ``--trace``, the only one, or the only CLI command's."""
    ids = loaded.trace_ids()
    if not ids and not loaded.others:
        raise TraceInputError(f"{loaded.name}: no spans in it, nothing to render")
    if wanted:
        trace_id = live.trace_id_arg(wanted)
        if trace_id not in ids:
            ids = ids + [t for t in loaded.others if t not in ids]
            listed = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
            raise TraceInputError(f"{loaded.name}: no trace {trace_id} (it holds {len(ids)}: {listed})")
        return trace_id
    if len(ids) == 1:
        return ids[0]
    commands = [t for t in ids if _cli_command(loaded.spans_of(t))]
    if len(commands) == 1:
        warn(f"{loaded.name} holds {len(ids)} traces; rendering {commands[0]} "
             f"({_cli_command(loaded.spans_of(commands[0]))}); choose another with --trace")
        return commands[0]
    raise TraceInputError(f"{loaded.name} holds {len(ids)} traces: choose one with --trace "
                          f"(`{PROG} traces {loaded.name}` lists them)")


def cmd_render(args: argparse.Namespace) -> int:
    from otel_openstack.settings import load as load_settings

    loaded = load_input(args)
    for message in loaded.warnings:
        warn(message)
    trace_id = choose_trace(loaded, args.trace)
    settings = load_settings()
    options = options_from_args(args, settings)  # the same settings the CLI's own exporter renders with
    naming = NamingOptions(settings.service_type_names, settings.url_names)
    rendered = pipeline.render_documents([loaded.otlp_document(trace_id)], options, naming, trace_id=trace_id)
    for message in rendered.trace.warnings:
        warn(message)
    if not rendered.trace.exchanges:
        spans = loaded.spans_of(trace_id)
        message = (f"{loaded.name}: trace {trace_id} has no HTTP exchanges to render "
                   f"({len(spans)} span{'s' if len(spans) != 1 else ''}, none of them an HTTP request)")
        if not args.partial:
            raise TraceInputError(message + "; --partial writes the empty outputs anyway")
        warn(message)
    output = Path(args.output)
    pipeline.write_folder(output, rendered.files)
    print(output)
    return EXIT_OK


def cmd_traces(args: argparse.Namespace) -> int:
    loaded = load_input(args)
    for message in loaded.warnings:
        warn(message)
    ids = loaded.trace_ids()
    if not ids:
        if args.jaeger:
            print(f"{PROG}: no traces of service {args.service!r} in {loaded.name} within {args.lookback.text}",
                  file=sys.stderr)
            return EXIT_OK
        raise TraceInputError(f"{loaded.name}: no spans in it")
    for line in trace_lines(loaded):
        print(line)
    return EXIT_OK


def trace_lines(loaded: detect.Loaded) -> list[str]:
    """``<trace id>  <start, UTC>  <n> spans  <root>``, one line per trace, oldest first."""
    lines = []
    for trace_id in loaded.trace_ids():
        group = loaded.spans_of(trace_id)
        start = min(s.start_ns for s in group)
        when = datetime.datetime.fromtimestamp(start / 1e9, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{trace_id}  {when}  {len(group):5d} span{'s' if len(group) != 1 else ' '}  {root_text(group)}")
    return lines


def root_text(spans: Sequence[SpanRecord]) -> str:
    """The CLI command of a trace, else its root span as ``(service: name)``."""
    command = _cli_command(spans)
    if command:
        return command
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_id or s.parent_id not in ids] or list(spans)
    root = min(roots, key=lambda s: (s.start_ns, s.span_id))
    service = root.attributes.get(A.SERVICE_NAME) or root.service_name or "unknown_service"
    return _one_line(f"({service}: {root.name})")


def _cli_command(spans: Sequence[SpanRecord]) -> str | None:
    commands = [s for s in spans if s.attributes.get(A.CLI_COMMAND)]
    if not commands:
        return None
    return _one_line(str(min(commands, key=lambda s: s.start_ns).attributes[A.CLI_COMMAND]))


class Duration(float):
    """Seconds, remembering how the user wrote them (``24h``) for messages."""

    text = ""


def _lookback(text: str) -> Duration:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration such as 30m, 24h or 7d, not {text!r}")
    seconds = Duration(float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)])
    seconds.text = text.strip()
    return seconds


def _limit(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog=PROG, description="See what an OpenStack CLI command did on the wire: render stored "
                                         "traces (any format, or from Jaeger), list them, set services up.")
    top.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def source_arguments(command: argparse.ArgumentParser) -> None:
        command.add_argument("input", nargs="?",
                             help="trace file (OTLP JSON or JSON Lines, Jaeger v1/v3 JSON, Tempo JSON) "
                                  "or an otel-openstack output folder")
        command.add_argument("--jaeger", metavar="URL",
                             help="read from a running Jaeger instead (its query/UI address, "
                                  "e.g. http://127.0.0.1:16686)")
        command.add_argument("--timeout", type=positive_seconds, default=live.DEFAULT_TIMEOUT, metavar="SECONDS",
                             help=f"for --jaeger: give up after this long (default {live.DEFAULT_TIMEOUT:g})")
        command.add_argument("--partial", action="store_true",
                             help="read what can be read from damaged input (a truncated last line, "
                                  "unreadable spans) and say what was skipped, instead of failing")

    render = sub.add_parser("render", help="render a stored trace again (any format, or from Jaeger)")
    source_arguments(render)
    render.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="folder to write requests.log, diagram.md, body.md and trace.json to")
    render.add_argument("--trace", metavar="ID", help="trace id (32 hex digits), when the input holds several")
    render.add_argument("--show-propagation-headers", action="store_true",
                        help="keep traceparent/tracestate/baggage/traceresponse in the outputs")
    add_render_arguments(render)
    render.set_defaults(func=cmd_render)

    traces = sub.add_parser("traces", help="list the traces in a file, or a service's recent traces in Jaeger")
    source_arguments(traces)
    traces.add_argument("--service", default="openstack",
                        help="for --jaeger: the service whose traces to list (default openstack)")
    traces.add_argument("--limit", type=_limit, default=20, help="for --jaeger: at most this many (default 20)")
    traces.add_argument("--lookback", type=_lookback, default=_lookback("24h"), metavar="DURATION",
                        help="for --jaeger: how far back to look, e.g. 30m, 24h, 7d (default 24h)")
    traces.set_defaults(func=cmd_traces)
    for command in _command_modules():
        command.register(sub)
    return top


def _command_modules() -> list:
    """The modules of ``otel_openstack.commands``: each adds its subcommands with ``register(subparsers)``."""
    import importlib
    import pkgutil

    from otel_openstack import commands

    names = sorted(info.name for info in pkgutil.iter_modules(commands.__path__) if not info.name.startswith("_"))
    modules = [importlib.import_module(f"{commands.__name__}.{name}") for name in names]
    return [module for module in modules if hasattr(module, "register")]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TraceInputError as exc:
        print(f"{PROG}: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"{PROG}: {_one_line(exc.strerror or str(exc))}{where}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
