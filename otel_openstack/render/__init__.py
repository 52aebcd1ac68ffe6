"""Renderers: pure functions from a :class:`~otel_openstack.model.types.Trace` to text.

They never open files or read the environment; callers decide where the text
goes.  All three number and order their records with
:func:`~otel_openstack.model.types.messages`, so they always agree.
"""

from otel_openstack.render.log import render_log
from otel_openstack.render.markdown import render_body_md
from otel_openstack.render.mermaid import render_diagram
from otel_openstack.render.options import RenderOptions

__all__ = ["RenderOptions", "render_body_md", "render_diagram", "render_log"]
