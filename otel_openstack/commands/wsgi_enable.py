"""``otel-openstack enable-wsgi`` / ``disable-wsgi``: our filter in a service's paste ini, or out of it.

    otel-openstack enable-wsgi PASTE_INI [--service-name NAME] [--before FILTER | --after FILTER] [--dry-run]
    otel-openstack disable-wsgi PASTE_INI [--dry-run]

``enable-wsgi`` adds ``[filter:otel_openstack]`` and puts ``otel_openstack``
in every pipeline (``[pipeline:*]`` and pipeline_factory composites), before
``authtoken`` unless told otherwise, keeps the untouched file as
``PASTE_INI.otel-openstack.bak`` (never overwritten) and prints the unified
diff on stdout; ``disable-wsgi`` gives back the file exactly as it was.
Both are idempotent.  Notes and the summary go to stderr.  Exit status: 0
done (or nothing to do), 2 bad command line or input (a one-line message),
1 the file could not be written.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, NoReturn, Sequence

from otel_openstack.deploy import paste_ini

PROG = "otel-openstack"
EXIT_OK = 0
EXIT_WRITE = 1
EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """A usage error is one line on stderr, status 2 (as cli.py's parser does)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_INPUT, f"{PROG}: {message} (see {self.prog} --help)\n")


def _say(message: str) -> None:
    print(f"{PROG}: {' '.join(str(message).split())}", file=sys.stderr)


def _word(text: str) -> str:
    """A service or filter name: one word (it goes into an ini line as it is)."""
    if not text or len(text.split()) != 1 or text != text.strip():
        raise argparse.ArgumentTypeError(f"expected one word without spaces, not {text!r}")
    return text


def register(subparsers: Any) -> None:
    """Add ``enable-wsgi`` and ``disable-wsgi`` to the ``otel-openstack`` subcommands."""
    enable = subparsers.add_parser(
        "enable-wsgi", help="put the otel_openstack filter in every pipeline of a service's paste ini",
        description="Add [filter:otel_openstack] to a paste ini and put it in every pipeline "
                    "([pipeline:*] sections and pipeline_factory composites), before authtoken unless "
                    "--before/--after say otherwise; a pipeline without the anchor gets it first. Keeps "
                    f"PASTE_INI{paste_ini.BACKUP_SUFFIX} (never overwritten) and prints the diff. "
                    "Running it again changes nothing.")
    enable.add_argument("paste_ini", metavar="PASTE_INI", help="the service's paste ini, e.g. /etc/nova/api-paste.ini")
    enable.add_argument("--service-name", metavar="NAME", type=_word,
                        help="name of the service in the outputs (glance-api, nova-api, cinder-api, "
                             "neutron-server, swift-proxy-server ...); default: guessed from the file's factories")
    where = enable.add_mutually_exclusive_group()
    where.add_argument("--before", metavar="FILTER", type=_word,
                       help=f"put it right before this filter (default {paste_ini.DEFAULT_BEFORE}: "
                            "token validation is then inside our span)")
    where.add_argument("--after", metavar="FILTER", type=_word,
                       help="put it right after this filter instead (e.g. versionnegotiation, to hide "
                            "version discovery)")
    enable.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    enable.set_defaults(func=cmd_enable)

    disable = subparsers.add_parser(
        "disable-wsgi", help="take the otel_openstack filter out of a paste ini again",
        description="Remove otel_openstack from every pipeline and the [filter:otel_openstack] section "
                    "enable-wsgi added: the file is then byte for byte what it was. Prints the diff.")
    disable.add_argument("paste_ini", metavar="PASTE_INI", help="the paste ini enable-wsgi edited")
    disable.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    disable.set_defaults(func=cmd_disable)


def _run(action: Callable[[], paste_ini.FileResult], summary: Callable[[paste_ini.FileResult], str]) -> int:
    """Diff on stdout; notes, then a one-line summary, on stderr; the exit status."""
    try:
        result = action()
    except paste_ini.PasteIniError as exc:
        _say(str(exc))
        return EXIT_INPUT
    except OSError as exc:  # reading problems are PasteIniError: this is the backup or the write
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        _say(f"cannot write: {exc.strerror or exc}{where}")
        return EXIT_WRITE
    if result.diff:
        sys.stdout.write(result.diff)
        sys.stdout.flush()
    for note in result.edit.notes + result.notes:
        _say(f"note: {note}")
    _say(summary(result))
    return EXIT_OK


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def cmd_enable(args: argparse.Namespace) -> int:
    def action() -> paste_ini.FileResult:
        return paste_ini.enable_file(args.paste_ini, service_name=args.service_name, before=args.before,
                                     after=args.after, dry_run=args.dry_run)

    def summary(result: paste_ini.FileResult) -> str:
        edit = result.edit
        if not edit.changed:
            return f"{args.paste_ini}: {paste_ini.FILTER_NAME} is in every pipeline already: nothing to change"
        parts = []
        if edit.pipelines:
            parts.append(f"{paste_ini.FILTER_NAME} added to {_count(len(edit.pipelines), 'pipeline')}")
        if edit.section_added:
            parts.append(f"[filter:{paste_ini.FILTER_NAME}] added with service_name = {edit.service_name}"
                         if edit.service_name else
                         f"[filter:{paste_ini.FILTER_NAME}] added without service_name (none given or guessed)")
        text = f"{args.paste_ini}: " + (", ".join(parts) or "service_name updated")
        if args.dry_run:
            return text + "; dry run: nothing written"
        return text + (f"; the original is in {result.backup}" if result.backup else "")

    return _run(action, summary)


def cmd_disable(args: argparse.Namespace) -> int:
    def action() -> paste_ini.FileResult:
        return paste_ini.disable_file(args.paste_ini, dry_run=args.dry_run)

    def summary(result: paste_ini.FileResult) -> str:
        edit = result.edit
        if not edit.changed:
            return f"{args.paste_ini}: no {paste_ini.FILTER_NAME} in it: nothing to change"
        parts = []
        if edit.pipelines:
            parts.append(f"{paste_ini.FILTER_NAME} removed from {_count(len(edit.pipelines), 'pipeline')}")
        if edit.section_removed:
            parts.append(f"[filter:{paste_ini.FILTER_NAME}] removed")
        text = f"{args.paste_ini}: " + ", ".join(parts)
        return text + ("; dry run: nothing written" if args.dry_run else "")

    return _run(action, summary)


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``enable-wsgi ...`` or ``disable-wsgi ...`` as the ``otel-openstack`` command would."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
