"""The one span type every source produces and the model consumes.

Sources read many formats (OTLP JSON, Jaeger, Tempo, the SDK's own
``ReadableSpan``); they all end here, so the model has a single input type and
never needs to know where a trace came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

KIND_INTERNAL = "internal"
KIND_SERVER = "server"
KIND_CLIENT = "client"
KIND_PRODUCER = "producer"
KIND_CONSUMER = "consumer"


@dataclass(frozen=True)
class SpanRecord:
    """A finished span, format-neutral: ids as lower-case hex, times in ns."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    attributes: Mapping[str, Any] = field(default_factory=dict)
    resource: Mapping[str, Any] = field(default_factory=dict)
    status_code: str = "unset"  # unset | ok | error
    status_message: str = ""
    events: tuple[Mapping[str, Any], ...] = ()

    @property
    def service_name(self) -> str | None:
        """The process's ``service.name`` resource attribute, if any."""
        value = self.resource.get("service.name")
        return str(value) if value else None
