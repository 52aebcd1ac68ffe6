"""Swift's configuration and setup for the local cloud (``LocalCloud(swift=True)``).

What: a single-node, all-in-one swift from the ``swift`` PyPI package on
127.0.0.1: a proxy (keystone auth, our middleware first in its pipeline) and
account, container and object servers sharing one device in the state folder,
with one-device rings (part power 8, one replica).

Why these settings:

* ``swift_dir`` in every server config: swift's servers read ``swift.conf``
  (hash path suffix, storage policies, constraints) and the rings from
  there, instead of /etc/swift. ``run_wsgi`` applies it for the hash suffix
  only; policies and constraints are read when swift's modules are imported,
  so the servers start through examples.localcloud.swift_server, which
  points swift at our swift.conf first. Nothing is read or written under
  /etc. Our policy has the alias ``localcloud``: ``/info`` shows it, which
  tells that our swift.conf was the one read.
* ``workers = 0``: swift's own eventlet server (``run_wsgi``) in the
  foreground, one process per server: its PID is the one we record, and the
  traced proxy's spans are all made in that process. gunicorn is not used:
  swift's proxy relies on eventlet (green pools, timeouts, monkey-patched
  sockets), which run_wsgi sets up.
* ``user`` is the current user: run_wsgi would switch to ``swift`` in forked
  workers (there are none with workers = 0, but a changed setting must not
  fail on a missing account).
* logs: swift always adds a syslog handler (``/dev/log``, else UDP to
  localhost:514). ``-v`` adds a stderr handler (stderr is the service's log
  file), and ``log_custom_handlers`` (:func:`stderr_only`) removes the syslog
  one, so everything goes to ``logs/swift-*.log`` and nowhere else. ``-v``
  also keeps fd 2 open when swift closes stdio once it is ready.
* ``mount_check = false``, devices under the state folder: swift stores
  metadata in extended attributes (``user.swift.metadata``, split into small
  values), which the state folder's filesystem must support (ext4, xfs and
  btrfs do, tmpfs from Linux 6.6 on); :func:`check_xattrs` says so early if
  not.
* proxy pipeline: ``otel_openstack`` first (it sees every request, including
  the token validation authtoken makes at keystone), then swift's required
  filters listed explicitly, so swift does not insert ``catch_errors`` in
  front of ours; ``authtoken`` + ``keystoneauth`` with the ``swift`` service
  user; ``delay_auth_decision`` so ``/info`` answers without a token
  (``/healthcheck`` comes before authtoken); ``account_autocreate`` so a project's account exists on
  first use; no memcache (keystonemiddleware then caches tokens in-process).
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from . import tracing

#: The storage servers behind the proxy, in start order.
BACKENDS = ("account", "container", "object")
#: The one device of the one-node ring.
DEVICE = "d1"
PART_POWER = 8
REPLICAS = 1
MIN_PART_HOURS = 1
#: Service name of the traced proxy in the outputs (devstack's name).
PROXY_SERVICE_NAME = "swift-proxy-server"
#: Alias of the one storage policy (``Policy-0``, as on devstack): seen in
#: ``/info`` only when swift read our swift.conf.
POLICY_ALIAS = "localcloud"

#: Module and function swift calls for ``log_custom_handlers``.
_LOG_HOOK = "examples.localcloud.swift.stderr_only"


@dataclass(frozen=True)
class SwiftPaths:
    """Where swift keeps its files inside the state folder."""

    root: Path

    @property
    def swift_dir(self) -> Path:
        """swift.conf, the server configs, rings and builders."""
        return self.root / "etc"

    @property
    def swift_conf(self) -> Path:
        return self.swift_dir / "swift.conf"

    @property
    def devices(self) -> Path:
        return self.root / "srv"

    @property
    def device(self) -> Path:
        return self.devices / DEVICE

    @property
    def cache(self) -> Path:
        """recon cache (only swift's background daemons write there)."""
        return self.root / "cache"

    def server_config(self, server: str) -> Path:
        """``proxy-server.conf``, ``account-server.conf`` ..."""
        return self.swift_dir / f"{server}-server.conf"


@dataclass(frozen=True)
class SwiftPorts:
    proxy: int
    account: int
    container: int
    object: int

    def backend(self, kind: str) -> int:
        return int(getattr(self, kind))


@dataclass(frozen=True)
class SwiftAuth:
    """The proxy's service user (keystonemiddleware validates tokens with it)."""

    keystone_url: str
    username: str
    password: str
    project: str = "service"


def service_name(server: str) -> str:
    """``swift-proxy-server``, ``swift-object-server`` ... (devstack's names)."""
    return f"swift-{server}-server"


def _current_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _common_default(paths: SwiftPaths, server: str, port: int) -> str:
    return f"""\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
bind_timeout = 5
workers = 0
user = {_current_user()}
swift_dir = {paths.swift_dir}
devices = {paths.devices}
mount_check = false
recon_cache_path = {paths.cache}
log_name = {service_name(server)}
log_level = INFO
log_custom_handlers = {_LOG_HOOK}
"""


def render_swift_conf(hash_suffix: str) -> str:
    """swift.conf: the hash path suffix and the one storage policy."""
    return f"""\
[swift-hash]
swift_hash_path_suffix = {hash_suffix}

[storage-policy:0]
name = Policy-0
aliases = {POLICY_ALIAS}
default = yes
"""


def render_backend_config(paths: SwiftPaths, kind: str, port: int) -> str:
    """account-, container- or object-server.conf."""
    return (
        _common_default(paths, kind, port)
        + f"""
[pipeline:main]
pipeline = healthcheck {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}

[filter:healthcheck]
use = egg:swift#healthcheck
"""
    )


#: The proxy pipeline after our filter: swift's required filters (see
#: swift.proxy.server.required_filters) written out, so swift leaves the
#: pipeline as it is, with keystone auth as in devstack.
PROXY_PIPELINE = (
    "catch_errors gatekeeper healthcheck proxy-logging listing_formats"
    " authtoken keystoneauth copy dlo versioned_writes proxy-logging proxy-server"
)


def render_proxy_config(
    paths: SwiftPaths, port: int, auth: SwiftAuth, middleware: bool
) -> str:
    """proxy-server.conf with keystone auth, and our filter first if asked."""
    pipeline = f"otel_openstack {PROXY_PIPELINE}" if middleware else PROXY_PIPELINE
    text = (
        _common_default(paths, "proxy", port)
        + f"""
[pipeline:main]
pipeline = {pipeline}

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = {auth.keystone_url}
auth_url = {auth.keystone_url}
auth_type = password
username = {auth.username}
password = {auth.password}
project_name = {auth.project}
user_domain_name = Default
project_domain_name = Default
interface = public
delay_auth_decision = true
include_service_catalog = false

[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
reseller_prefix = AUTH_

[filter:copy]
use = egg:swift#copy

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
"""
    )
    if middleware:
        text += "\n" + tracing.paste_filter_section(PROXY_SERVICE_NAME)
    return text


def check_xattrs(folder: Path) -> None:
    """Raise OSError (with a hint) if ``folder``'s filesystem lacks user xattrs."""
    probe = folder / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.localcloud", b"x" * 255)
    except OSError as exc:
        raise OSError(
            exc.errno,
            f"swift needs extended attributes (user.*) on the state folder's "
            f"filesystem, and {folder} has none ({exc.strerror}); use a state "
            f"folder on ext4, xfs, btrfs or tmpfs",
        ) from exc
    finally:
        probe.unlink(missing_ok=True)


def write_config(
    paths: SwiftPaths, ports: SwiftPorts, auth: SwiftAuth, middleware: bool
) -> None:
    """Create swift's folders and every config file (not the rings)."""
    for folder in (paths.swift_dir, paths.device, paths.cache):
        folder.mkdir(parents=True, exist_ok=True)
    check_xattrs(paths.device)
    paths.swift_conf.write_text(render_swift_conf(secrets.token_hex(16)))
    for kind in BACKENDS:
        paths.server_config(kind).write_text(
            render_backend_config(paths, kind, ports.backend(kind))
        )
    paths.server_config("proxy").write_text(
        render_proxy_config(paths, ports.proxy, auth, middleware)
    )


def rings_command(paths: SwiftPaths, ports: SwiftPorts) -> list[str]:
    """Command that builds the three rings (see examples.localcloud.swift_rings)."""
    return [
        sys.executable,
        "-m",
        "examples.localcloud.swift_rings",
        "--swift-dir", str(paths.swift_dir),
        "--device", DEVICE,
        *(f"--{kind}-port={ports.backend(kind)}" for kind in BACKENDS),
    ]


def server_command(paths: SwiftPaths, server: str) -> list[str]:
    """What ``swift-<server>-server <conf> -v`` does, with our swift.conf.

    Foreground, logs on stderr; see examples.localcloud.swift_server.
    """
    return [
        sys.executable,
        "-m",
        "examples.localcloud.swift_server",
        server,
        str(paths.server_config(server)),
        "-v",
    ]


def endpoint_url(proxy_url: str) -> str:
    """The object-store endpoint of the catalog (keystone fills in the project)."""
    return f"{proxy_url}/v1/AUTH_%(project_id)s"


def stderr_only(conf, name, log_to_console, log_route, fmt, logger, adapted_logger):
    """swift ``log_custom_handlers`` hook: drop the syslog handler swift added.

    With ``-v`` swift also logs to stderr, which is the service's log file.
    """
    from logging.handlers import SysLogHandler

    for handler in list(logger.handlers):
        if isinstance(handler, SysLogHandler):
            logger.removeHandler(handler)
            handler.close()


def create_container(url: str, token: str, timeout: float = 30.0) -> int:
    """PUT a container (201 new, 202 already there); return the status."""
    import urllib.request

    request = urllib.request.Request(url, data=b"", method="PUT")
    request.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)
