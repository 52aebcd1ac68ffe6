"""Run one swift server with swift.conf from its config's ``swift_dir``, never /etc/swift.

Usage (run by examples.localcloud.cloud, not by hand)::

    python -m examples.localcloud.swift_server proxy|account|container|object CONF -v

Why a module of our own instead of ``swift-proxy-server CONF``: swift reads
``swift.conf`` at two moments. The hash path suffix is read again when
``run_wsgi`` applies the config's ``swift_dir`` (``set_swift_dir``), but the
storage policies (swift.common.storage_policy) and constraints
(swift.common.constraints) are read once, when those modules are first
imported, from ``swift.common.utils.SWIFT_CONF_FILE``, i.e.
/etc/swift/swift.conf, before any config is looked at. On a machine without
that file swift falls back to its defaults (which happen to match ours); on
a machine with one (a devstack host), our servers would take that cloud's
policies and constraints. So: point swift at our swift.conf first, then
import the server and hand over to its own ``main()`` (``run_wsgi``).
"""

from __future__ import annotations

import configparser
import importlib
import sys

#: Server kind -> module whose main() the ``swift-<kind>-server`` script runs.
SERVER_MODULES = {
    "proxy": "swift.proxy.server",
    "account": "swift.account.server",
    "container": "swift.container.server",
    "object": "swift.obj.server",
}


def swift_dir_of(conf_path: str) -> str:
    """The ``swift_dir`` of a server config's [DEFAULT] section."""
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(conf_path):
        raise SystemExit(f"swift_server: cannot read {conf_path}")
    try:
        return parser.defaults()["swift_dir"]
    except KeyError:
        raise SystemExit(f"swift_server: no swift_dir in [DEFAULT] of {conf_path}") from None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] not in SERVER_MODULES:
        raise SystemExit(
            f"usage: python -m examples.localcloud.swift_server "
            f"{{{'|'.join(SERVER_MODULES)}}} CONF [-v]"
        )
    kind, server_args = args[0], args[1:]
    swift_dir = swift_dir_of(server_args[0])

    # swift.common.utils imports neither storage_policy nor constraints, so
    # they are still to be read when we set the folder.
    from swift.common import utils

    utils.set_swift_dir(swift_dir)
    from swift.common import constraints, storage_policy  # noqa: F401  (read ours now)

    module = importlib.import_module(SERVER_MODULES[kind])
    sys.argv = [f"swift-{kind}-server", *server_args]
    module.main()


if __name__ == "__main__":
    main()
