"""The ``otel-openstack`` command: render a stored trace again, list traces.

Errors in the input are one line on stderr and exit status 2, never a
traceback: the user gave us a file, the message must say what is wrong with it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from otel_openstack import __version__, pipeline
from otel_openstack.model.build import NamingOptions
from otel_openstack.render.options import RenderOptions
from otel_openstack.sources.errors import TraceInputError
from otel_openstack.sources.otlp_json import documents_from_text, spans_from_document

EXIT_INPUT = 2


def load_documents(path: Path) -> list[dict[str, Any]]:
    """An OTLP JSON file (document or JSON Lines) or an output folder's ``trace.json``."""
    if path.is_dir():
        path = path / pipeline.TRACE_FILE
        if not path.is_file():
            raise TraceInputError(f"{path.parent} has no {pipeline.TRACE_FILE}: not an otel-openstack output folder")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceInputError(f"{path}: cannot read it ({exc})") from None
    try:
        return documents_from_text(text)
    except TraceInputError as exc:
        raise TraceInputError(f"{path}: {exc}") from None


def _spans(documents: Sequence[dict[str, Any]], path: Path):  # type: ignore[no-untyped-def]
    try:
        return [span for document in documents for span in spans_from_document(document)]
    except TraceInputError as exc:
        raise TraceInputError(f"{path}: {exc}") from None


def cmd_render(args: argparse.Namespace) -> int:
    path = Path(args.input)
    documents = load_documents(path)
    spans = _spans(documents, path)
    if not spans:
        raise TraceInputError(f"{path}: the trace has no spans")
    trace_ids = {s.trace_id for s in spans}
    if args.trace and args.trace.lower() not in trace_ids:
        raise TraceInputError(f"{path}: no trace {args.trace} (it has {len(trace_ids)}: "
                              f"{', '.join(sorted(trace_ids)[:5])}{' ...' if len(trace_ids) > 5 else ''})")
    options = RenderOptions(hide_propagation_headers=not args.show_propagation_headers)
    rendered = pipeline.render_documents(documents, options, NamingOptions(), trace_id=args.trace and args.trace.lower())
    output = Path(args.output)
    pipeline.write_folder(output, rendered.files)
    print(output)
    return 0


def cmd_traces(args: argparse.Namespace) -> int:
    from otel_openstack.model.build import build_trace

    path = Path(args.input)
    spans = _spans(load_documents(path), path)
    by_trace: dict[str, list[Any]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    for trace_id, group in sorted(by_trace.items(), key=lambda item: min(s.start_ns for s in item[1])):
        trace = build_trace(group, trace_id)
        start = min(s.start_ns for s in group)
        import datetime

        when = datetime.datetime.fromtimestamp(start / 1e9, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{trace_id}  {when}  {len(group):5d} spans  {trace.command or '(no CLI command)'}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="otel-openstack", description=__doc__.splitlines()[0])
    top.add_argument("--version", action="version", version=f"otel-openstack {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render", help="render a stored trace (OTLP JSON file or output folder) again")
    render.add_argument("input", help="OTLP JSON / JSON Lines file, or an otel-openstack output folder")
    render.add_argument("-o", "--output", required=True, help="folder to write requests.log, diagram.md, body.md")
    render.add_argument("--trace", help="trace id, when the input holds several traces")
    render.add_argument("--show-propagation-headers", action="store_true",
                        help="keep traceparent/tracestate/baggage/traceresponse in the outputs")
    render.set_defaults(func=cmd_render)
    traces = sub.add_parser("traces", help="list the traces in a file")
    traces.add_argument("input")
    traces.set_defaults(func=cmd_traces)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TraceInputError as exc:
        print(f"otel-openstack: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        print(f"otel-openstack: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
