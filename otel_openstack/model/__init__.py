"""Spans -> Trace of exchanges (see ``types`` for the model, ``build`` for the conversion)."""

from otel_openstack.model.types import NOT_CAPTURED, Body, Exchange, Message, Trace, messages

__all__ = ["Body", "Exchange", "Message", "NOT_CAPTURED", "Trace", "messages"]
