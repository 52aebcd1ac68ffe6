"""Options shared by every renderer.

One frozen value object is passed to all renderers so that the log, the
diagram and the doc fragment of one run are always rendered with the same
choices.  It stays small on purpose: placeholders and diagram splitting will
add fields here later, each with a default that keeps today's output.
"""

from __future__ import annotations

from dataclasses import dataclass

from otel_openstack.capture.attributes import PROPAGATION_HEADERS


@dataclass(frozen=True)
class RenderOptions:
    """How to render a trace.

    ``hide_propagation_headers``: drop the trace-context headers our own
    instrumentation adds (``traceparent``, ``tracestate``, ``baggage``,
    ``traceresponse``).  They are noise for readers of an API walkthrough, the
    same way the old tool's ``X-Requestshook-*`` headers were.
    """

    hide_propagation_headers: bool = True

    def shows_header(self, name: str) -> bool:
        """Whether a header named ``name`` (any case) appears in the outputs."""
        if self.hide_propagation_headers and name.strip().lower() in PROPAGATION_HEADERS:
            return False
        return True


DEFAULT_OPTIONS = RenderOptions()
