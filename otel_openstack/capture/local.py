"""Which participant is speaking: the name this process goes by right now.

A CLIENT span made while a service handles a request belongs to that
service (glance-api validating a token); one made outside any request belongs
to the process.  The WSGI middleware sets the per-request name; an explicit
name given to the middleware also becomes the process default.
"""

from __future__ import annotations

import contextvars

from otel_openstack.naming import process_name

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("otel_openstack_service", default=None)
_process_default: list[str] = []


def set_process_service(name: str) -> None:
    _process_default[:] = [name]


def enter_service(name: str) -> contextvars.Token:
    return _current.set(name)


def leave_service(token: contextvars.Token) -> None:
    try:
        _current.reset(token)
    except ValueError:  # reset from another context (generator finished elsewhere)
        _current.set(None)


def current_service(configured: str | None = None) -> str:
    return _current.get() or configured or (_process_default[0] if _process_default else process_name())
