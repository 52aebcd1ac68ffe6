"""The gunicorn command line shared by keystone and glance.

Why these options:

* gunicorn rather than uWSGI: uWSGI's --http-socket needs "Connection:
  close" from clients, which keystoneauth/requests do not send.
* one worker with threads (gthread): enough for a CLI, keeps memory low,
  keeps HTTP keep-alive, and puts all of a service's spans in one process.
* no --preload: the app (and with it our middleware) is loaded in the
  worker, after the fork.
* --no-control-socket: gunicorn >= 27 otherwise opens ~/.gunicorn/gunicorn.ctl,
  shared by every gunicorn of the user, so two clouds would clash.
* logs to stdout, which the caller redirects into the service's log file.
"""

from __future__ import annotations

from pathlib import Path


def gunicorn_command(
    bin_dir: Path,
    app: str,
    *,
    name: str,
    host: str,
    port: int,
    threads: int = 4,
) -> list[str]:
    """Return ``gunicorn ... app`` serving ``app`` (``module:callable``)."""
    return [
        str(bin_dir / "gunicorn"),
        "--bind", f"{host}:{port}",
        "--workers", "1",
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--timeout", "120",
        "--graceful-timeout", "5",
        "--keep-alive", "5",
        "--name", name,
        "--no-control-socket",
        "--access-logfile", "-",
        "--error-logfile", "-",
        app,
    ]
