"""Participant names: who called, who answered.

Instrumented processes name themselves (``openstack.service.name``).  For an
uninstrumented peer the name is derived from what the other side knew, in the
order the spec gives: keystoneauth's service type, then the devstack URL
layout, then ``host:port``; an uninstrumented caller is named by the first
product token of its User-Agent.  Names follow devstack's process names
(``glance-api``, not ``glance``) because that is what operators see in
``systemctl`` and what the predecessor's diagrams used.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from typing import Iterable, Mapping
from urllib.parse import SplitResult, urlsplit

#: Official service type -> devstack process name.
SERVICE_TYPE_NAMES: Mapping[str, str] = {
    "identity": "keystone",
    "image": "glance-api",
    "object-store": "swift-proxy-server",
    "compute": "nova-api",
    "network": "neutron-server",
    "placement": "placement-api",
    "block-storage": "cinder-api",
    "orchestration": "heat-api",
    "load-balancer": "octavia-api",
    "baremetal": "ironic-api",
    "key-manager": "barbican-api",
    "dns": "designate-api",
    "shared-file-system": "manila-api",
    "metric": "gnocchi-api",
    "alarming": "aodh-api",
    "workflow": "mistral-api",
    "container-infrastructure-management": "magnum-api",
}

#: devstack URL layout: path prefix (or ``:port``) -> process name.
URL_NAMES: tuple[tuple[str, str], ...] = (
    ("/identity", "keystone"),
    ("/image", "glance-api"),
    ("/compute", "nova-api"),
    ("/volume", "cinder-api"),
    ("/placement", "placement-api"),
    ("/networking", "neutron-server"),
    ("/load-balancer", "octavia-api"),
    ("/key-manager", "barbican-api"),
    ("/baremetal", "ironic-api"),
    ("/orchestration", "heat-api"),
    (":8080", "swift-proxy-server"),
    (":9696", "neutron-server"),
    (":5000", "keystone"),
    (":9292", "glance-api"),
    (":8774", "nova-api"),
    (":8776", "cinder-api"),
    (":8778", "placement-api"),
)

#: Program names (``argv[0]`` basenames) -> participant name.
PROGRAM_NAMES: Mapping[str, str] = {
    "openstack": "openstack",
    "keystone-wsgi-public": "keystone",
    "keystone-wsgi-admin": "keystone",
    "glance-wsgi-api": "glance-api",
    "placement-api": "placement-api",
    "nova-api-wsgi": "nova-api",
    "nova-metadata-wsgi": "nova-metadata",
    "neutron-api": "neutron-server",
    "cinder-wsgi": "cinder-api",
    # Programs that already carry devstack's name (non-WSGI services that
    # call APIs: nova-compute -> placement, cinder-volume -> glance ...).
    **{name: name for name in (
        "glance-api", "nova-compute", "nova-conductor", "nova-scheduler", "nova-api",
        "neutron-server", "cinder-api", "cinder-volume", "cinder-scheduler", "cinder-backup",
        "swift-proxy-server", "heat-engine", "octavia-worker", "ironic-conductor",
    )},
}


@lru_cache(maxsize=256)
def _canonical_type(service_type: str) -> str:
    """``volumev3`` -> ``block-storage`` via os-service-types, when installed."""
    try:
        return _service_types().get_service_type(service_type) or service_type
    except Exception:  # os-service-types missing or its data unreadable
        return service_type


@lru_cache(maxsize=1)
def _service_types():  # type: ignore[no-untyped-def]
    import os_service_types

    return os_service_types.ServiceTypes()


def name_for_service_type(service_type: str | None,
                          overrides: Iterable[tuple[str, str]] = ()) -> str | None:
    if not service_type:
        return None
    extra = dict(overrides)
    if service_type in extra:
        return extra[service_type]
    canonical = _canonical_type(service_type)
    return extra.get(canonical) or SERVICE_TYPE_NAMES.get(canonical)


#: RFC 3986's appendix B: splits any string, valid URL or not.
_URI_PARTS = re.compile(r"^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?")


def split_url(url: str) -> SplitResult:
    """``urlsplit(url)``, or the RFC 3986 split when urllib refuses the URL.

    urllib raises ValueError for URLs a span may well carry (``http://[::1/x``,
    a bracket missing; a port out of range is only raised on ``.port``): one
    such span must not make the whole trace unrenderable, so its parts are
    taken as they are written.
    """
    try:
        return urlsplit(url)
    except ValueError:
        scheme, netloc, path, query, fragment = _URI_PARTS.match(url).groups()  # type: ignore[union-attr]
        return SplitResult(scheme or "", netloc or "", path or "", query or "", fragment or "")


def name_for_url(url: str, overrides: Iterable[tuple[str, str]] = ()) -> str:
    """Name a callee from its URL alone: user rules first, then devstack's layout."""
    parts = split_url(url)
    path = parts.path or "/"
    try:
        port = parts.port
    except ValueError:
        port = None
    for prefix, name in (*overrides, *URL_NAMES):
        if prefix.startswith(":"):
            if port is not None and prefix == f":{port}":
                return name
        elif path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return name
    host = parts.hostname or "unknown"
    if ":" in host:  # IPv6: bracketed as in URLs, or "::1:5000" would read as one address
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def callee_name(service_type: str | None, url: str,
                type_overrides: Iterable[tuple[str, str]] = (),
                url_overrides: Iterable[tuple[str, str]] = ()) -> str:
    return name_for_service_type(service_type, type_overrides) or name_for_url(url, url_overrides)


def caller_from_user_agent(user_agent: str | None) -> str:
    """First product token, version kept: ``python-swiftclient-4.1.0``, ``curl``.

    ``curl/8.5.0`` -> ``curl``: a ``/version`` suffix is dropped, as the spec
    names callers by product; a version joined with ``-`` is part of the token.
    """
    if not user_agent or not user_agent.strip():
        return "unknown-client"
    token = user_agent.strip().split()[0]
    return token.split("/", 1)[0] or "unknown-client"


def process_name(argv0: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Name of this process when nobody configured one.

    ``OTEL_SERVICE_NAME`` wins; else the program name, mapped through devstack's
    conventions (``keystone-wsgi-public`` -> ``keystone``).
    """
    env = os.environ if environ is None else environ
    configured = env.get("OTEL_SERVICE_NAME")
    if configured:
        return configured
    program = os.path.basename(argv0 if argv0 is not None else (sys.argv[0] if sys.argv else ""))
    if program.endswith(".py"):
        program = program[:-3]
    return PROGRAM_NAMES.get(program, program or "unknown_service")
