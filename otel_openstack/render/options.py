"""Options shared by every renderer, and their command-line / settings wiring.

One frozen value object is passed to all renderers so that the log, the
diagram and the doc fragment of one run are always rendered with the same
choices.  Rule files (filters, placeholder rules) are read by the loaders in
``render/filters.py`` and ``render/placeholders.py``, called here by
:func:`options_from_args` (the ``otel-openstack render`` command) and
:func:`options_from_settings` (the docs exporter); renderers only ever see
the loaded rules.

The defaults are what the CLI writes with no options:

=====================  ==========  ==========================================
field                  default     meaning
=====================  ==========  ==========================================
hide_propagation_...   True        drop traceparent & co. from the outputs
placeholders           True        IDs in paths become ``{image_id}`` ...
placeholders_in_log    False       ... also in the log's record headings
placeholder_rules      ()          user rules, tried before the built-in ones
filters                ()          hide exchanges (and what they nest)
activations            True        ``->>+`` / ``-->>-`` activation bars
boxes                  True        ``opt`` box around a service's nested calls
failure_notes          True        ``Note over`` failed exchanges (4xx/5xx,
                                   no response)
collapse_loops         False       identical consecutive exchanges as
                                   ``loop N times`` (one arrow pair)
split_size             40          split the diagram into parts above this
                                   many messages (0: never)
=====================  ==========  ==========================================
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from typing import Any

from otel_openstack.capture.attributes import PROPAGATION_HEADERS
from otel_openstack.render.filters import FilterRule, load_filters
from otel_openstack.render.placeholders import PlaceholderRule, load_placeholder_rules

_logger = logging.getLogger(__name__)

DEFAULT_SPLIT_SIZE = 40


@dataclass(frozen=True)
class RenderOptions:
    """How to render a trace (see the module docstring for every field).

    ``hide_propagation_headers``: drop the trace-context headers our own
    instrumentation adds (``traceparent``, ``tracestate``, ``baggage``,
    ``traceresponse``).  They are noise for readers of an API walkthrough, the
    same way the old tool's ``X-Requestshook-*`` headers were.
    """

    hide_propagation_headers: bool = True
    placeholders: bool = True
    placeholders_in_log: bool = False
    placeholder_rules: tuple[PlaceholderRule, ...] = ()
    filters: tuple[FilterRule, ...] = ()
    activations: bool = True
    boxes: bool = True
    failure_notes: bool = True
    collapse_loops: bool = False
    split_size: int = DEFAULT_SPLIT_SIZE

    def __post_init__(self) -> None:
        if self.split_size < 0:
            raise ValueError(f"split_size must be >= 0 (0: never split), got {self.split_size}")

    def shows_header(self, name: str) -> bool:
        """Whether a header named ``name`` (any case) appears in the outputs."""
        if self.hide_propagation_headers and name.strip().lower() in PROPAGATION_HEADERS:
            return False
        return True


DEFAULT_OPTIONS = RenderOptions()


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    """The rendering options of ``otel-openstack render`` (``--show-propagation-headers`` is the CLI's)."""
    group = parser.add_argument_group("rendering")
    group.add_argument("--filters", metavar="FILE", action="append", default=[],
                       help="hide exchanges listed in FILE (our JSON format or the old should_not_hook.json); "
                            "repeatable")
    group.add_argument("--placeholders", action=argparse.BooleanOptionalAction, default=DEFAULT_OPTIONS.placeholders,
                       help="replace IDs in paths by named placeholders ({image_id}) with a legend")
    group.add_argument("--placeholder-rules", metavar="FILE", default=None,
                       help="extra placeholder rules, JSON (default: $OTEL_OPENSTACK_PLACEHOLDERS)")
    group.add_argument("--placeholders-in-log", action=argparse.BooleanOptionalAction,
                       default=DEFAULT_OPTIONS.placeholders_in_log,
                       help="use the placeholders in the log's record headings too")
    group.add_argument("--split-size", metavar="N", type=_split_size, default=DEFAULT_OPTIONS.split_size,
                       help=f"split diagrams of more than N messages into parts (0: never; "
                            f"default {DEFAULT_OPTIONS.split_size})")
    group.add_argument("--activations", action=argparse.BooleanOptionalAction, default=DEFAULT_OPTIONS.activations,
                       help="activation bars on the participant serving a request")
    group.add_argument("--boxes", action=argparse.BooleanOptionalAction, default=DEFAULT_OPTIONS.boxes,
                       help="a labelled box around the calls a service makes while serving a call")
    group.add_argument("--failure-notes", action=argparse.BooleanOptionalAction,
                       default=DEFAULT_OPTIONS.failure_notes,
                       help="a note with the error on failed exchanges")
    group.add_argument("--collapse-loops", action=argparse.BooleanOptionalAction,
                       default=DEFAULT_OPTIONS.collapse_loops,
                       help="draw repeated identical exchanges once, in a 'loop N times' box")


def _split_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def options_from_args(args: argparse.Namespace, settings: Any = None) -> RenderOptions:
    """RenderOptions from parsed arguments (and settings); loads the rule files.

    Raises :class:`~otel_openstack.render.filters.RuleFileError` (a
    ``TraceInputError``: one line on stderr, exit status 2) for an unusable
    file.  Without ``--placeholder-rules`` the file named by the
    ``placeholders`` setting (``OTEL_OPENSTACK_PLACEHOLDERS``) is used, and
    without ``--filters`` the ``filters`` setting (``OTEL_OPENSTACK_FILTERS``);
    propagation headers show when ``--show-propagation-headers`` or the
    ``show_propagation_headers`` setting asks.  ``settings`` defaults to
    :func:`otel_openstack.settings.load`.
    """
    if settings is None:
        from otel_openstack.settings import load

        settings = load()
    filters: list[FilterRule] = []
    filter_files = list(getattr(args, "filters", None) or ())
    if not filter_files and getattr(settings, "filters", None):
        # the CLI's own folder was rendered with OTEL_OPENSTACK_FILTERS: so is this one
        filter_files = [settings.filters]
    for path in filter_files:
        filters.extend(load_filters(path))
    rules_file = getattr(args, "placeholder_rules", None)
    if rules_file is None:
        rules_file = getattr(settings, "placeholders", None) or None
    rules = load_placeholder_rules(rules_file) if rules_file else ()
    show_headers = getattr(args, "show_propagation_headers", False) or getattr(
        settings, "show_propagation_headers", False)
    return RenderOptions(
        hide_propagation_headers=not show_headers,
        placeholders=getattr(args, "placeholders", DEFAULT_OPTIONS.placeholders),
        placeholders_in_log=getattr(args, "placeholders_in_log", DEFAULT_OPTIONS.placeholders_in_log),
        placeholder_rules=rules,
        filters=tuple(filters),
        activations=getattr(args, "activations", DEFAULT_OPTIONS.activations),
        boxes=getattr(args, "boxes", DEFAULT_OPTIONS.boxes),
        failure_notes=getattr(args, "failure_notes", DEFAULT_OPTIONS.failure_notes),
        collapse_loops=getattr(args, "collapse_loops", DEFAULT_OPTIONS.collapse_loops),
        split_size=getattr(args, "split_size", DEFAULT_OPTIONS.split_size),
    )


def options_from_settings(settings: Any) -> RenderOptions:
    """RenderOptions for the docs exporter, from :class:`~otel_openstack.settings.Settings`.

    Reads ``show_propagation_headers``, and, when the settings have them,
    ``placeholders`` (a JSON rule file, ``OTEL_OPENSTACK_PLACEHOLDERS``) and
    ``filters`` (a filter file).  An unusable file is logged once and
    ignored: the exporter runs inside the user's command and must not fail it.
    """
    rules: tuple[PlaceholderRule, ...] = ()
    filters: tuple[FilterRule, ...] = ()
    rules_file = getattr(settings, "placeholders", None)
    if rules_file:
        try:
            rules = load_placeholder_rules(rules_file)
        except ValueError as exc:
            _logger.warning("otel-openstack: ignoring OTEL_OPENSTACK_PLACEHOLDERS: %s", exc)
    filters_file = getattr(settings, "filters", None)
    if filters_file:
        try:
            filters = load_filters(filters_file)
        except ValueError as exc:
            _logger.warning("otel-openstack: ignoring OTEL_OPENSTACK_FILTERS: %s", exc)
    return RenderOptions(
        hide_propagation_headers=not getattr(settings, "show_propagation_headers", False),
        placeholder_rules=rules,
        filters=filters,
    )
