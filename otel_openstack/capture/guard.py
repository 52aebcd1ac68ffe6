"""Our errors never reach the instrumented program.

Every hook that runs inside a CLI or a cloud service goes through
:func:`swallow`: an exception is logged once per place (not once per request,
which would flood a busy service's log) and the program carries on as if we
were not there.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Callable, TypeVar

_logger = logging.getLogger("otel_openstack")
_seen: set[str] = set()
_lock = threading.Lock()

F = TypeVar("F", bound=Callable[..., Any])


def report(where: str, exc: BaseException) -> None:
    """Log ``exc`` at warning level the first time ``where`` fails, debug after."""
    with _lock:
        first = where not in _seen
        _seen.add(where)
    if first:
        _logger.warning("otel-openstack: %s failed (%s: %s); the program is not affected; "
                        "further failures here are logged at debug level",
                        where, type(exc).__name__, exc)
    else:
        _logger.debug("otel-openstack: %s failed again", where, exc_info=exc)


def swallow(where: str, default: Any = None) -> Callable[[F], F]:
    """Decorator: run the hook, report and return ``default`` on any exception."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - that is the point
                report(where, exc)
                return default

        return wrapper  # type: ignore[return-value]

    return decorate
