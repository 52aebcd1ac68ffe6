"""Glance's configuration and setup for the local cloud.

Why these settings:

* glance 33 has no standalone server: gunicorn serves
  ``glance.wsgi.api:application``, which reads ``glance-api.conf`` from
  OS_GLANCE_CONFIG_DIR (default /etc/glance) and calls ``CONF([])``, so argv
  is not an issue here (unlike keystone).
* the paste file is the one shipped with the glance wheel (a data file in
  ``<venv>/etc/glance``), copied to the state folder with our
  ``otel_openstack`` filter inserted in the authenticated pipelines, before
  ``authtoken`` (so the token validation calls keystonemiddleware makes
  happen inside our span); where exactly is tracing.PASTE_FILTER_BEFORE.
* ``[paste_deploy] flavor = keystone`` selects the authenticated pipeline.
* ``[keystone_authtoken]`` without memcached_servers: keystonemiddleware
  then caches validated tokens in-process.
* file store in the state folder; no ``image_cache_dir``: the cache
  prefetcher worker blocks gunicorn's shutdown.
* with swift (``LocalCloud(swift=True)``): glance_store's swift driver is
  the default store, single-tenant, as on devstack: images go to the
  ``glance`` container of the ``service`` project's account, with the
  credentials of a ``swift_store_config_file`` reference (the glance service
  user and keystone's v3 URL as ``auth_address``: what the driver uses). No
  ``swift_store_auth_version``/``swift_store_auth_address``: both are
  deprecated for removal (glance_store 5 speaks keystone v3 only and warns
  when they are set). ``swift_store_create_container_on_put`` creates the
  container on a fresh swift (LocalCloud makes it at boot anyway, see
  cloud.LocalCloud._create_glance_container). python-swiftclient
  talks to swift with plain ``requests``, which opentelemetry-instrument
  captures in glance (see otel_openstack.instrumentation.requests).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from . import tracing

#: gunicorn app spec shipped by glance.
APP = "glance.wsgi.api:application"
#: Name of the pipeline section in glance's shipped paste file.
_PIPELINE_SECTION = "composite:api"


@dataclass(frozen=True)
class GlancePaths:
    """Where glance keeps its files inside the state folder."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "glance-api.conf"

    @property
    def paste(self) -> Path:
        return self.root / "glance-api-paste.ini"

    @property
    def database(self) -> Path:
        return self.root / "glance.db"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def swift_store_config(self) -> Path:
        return self.root / "glance-swift-store.conf"


@dataclass(frozen=True)
class GlanceAuth:
    """Glance's service account in keystone."""

    keystone_url: str
    username: str
    password: str
    project: str = "service"


#: Name of the reference in glance's swift store config file.
SWIFT_REFERENCE = "ref1"
#: Where glance_store's swift driver puts images (its default, as on devstack).
SWIFT_CONTAINER = "glance"


def shipped_paste_ini() -> Path:
    """Find glance-api-paste.ini as installed by the glance wheel.

    It is a data file (``<prefix>/etc/glance/``) rather than package data, so
    ask the distribution's file list instead of guessing the prefix.
    """
    dist = importlib.metadata.distribution("glance")
    for file in dist.files or []:
        if file.name == "glance-api-paste.ini":
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_file():
                return path
    fallback = Path(sys.prefix) / "etc" / "glance" / "glance-api-paste.ini"
    if fallback.is_file():
        return fallback
    raise FileNotFoundError("glance-api-paste.ini not found in the glance install")


def add_filter_to_pipelines(
    paste_ini: str, filter_name: str, section: str, before: str | None = None
) -> str:
    """Insert ``filter_name`` in every pipeline that has ``authtoken``; add ``section``.

    ``before=None`` puts it first in the pipeline, else right before the
    named filter. Only the authenticated (``keystone*``) pipelines are
    touched: they are the ones ``flavor = keystone`` selects. A text edit
    rather than configparser, so the shipped file keeps its comments and
    layout and the diff stays obvious.
    """
    out: list[str] = []
    current = None
    inserted = 0
    for line in paste_ini.splitlines():
        header = re.match(r"\s*\[([^]]+)\]", line)
        if header:
            current = header.group(1).strip()
        elif current == _PIPELINE_SECTION and re.search(r"(?<!\S)authtoken(?!\S)", line):
            key, sep, value = line.partition("=")
            names = value.split()
            if sep and filter_name not in names:
                position = names.index(before) if before in names else 0
                names.insert(position, filter_name)
                line = f"{key.rstrip()} = {' '.join(names)}"
                inserted += 1
        out.append(line)
    if not inserted:
        raise ValueError("no pipeline with authtoken found in glance's paste file")
    return "\n".join(out) + "\n\n" + section


def write_paste(paths: GlancePaths, middleware: bool) -> Path:
    """Copy glance's paste file into the state folder, with our filter if asked."""
    text = shipped_paste_ini().read_text()
    if middleware:
        text = add_filter_to_pipelines(
            text,
            "otel_openstack",
            tracing.paste_filter_section("glance-api"),
            before=tracing.PASTE_FILTER_BEFORE,
        )
    paths.paste.write_text(text)
    return paths.paste


def _store_section(paths: GlancePaths, auth: GlanceAuth, swift: bool) -> str:
    if not swift:
        return f"""\
[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {paths.images}
"""
    return f"""\
[glance_store]
stores = file, swift
default_store = swift
filesystem_store_datadir = {paths.images}
swift_store_config_file = {paths.swift_store_config}
default_swift_reference = {SWIFT_REFERENCE}
swift_store_container = {SWIFT_CONTAINER}
swift_store_create_container_on_put = True
"""


def render_swift_store_config(auth: GlanceAuth) -> str:
    """glance_store's swift reference: the glance service user, keystone v3."""
    return f"""\
[{SWIFT_REFERENCE}]
user = {auth.project}:{auth.username}
key = {auth.password}
auth_address = {auth.keystone_url}/v3
user_domain_id = default
project_domain_id = default
"""


def render_config(
    paths: GlancePaths, auth: GlanceAuth, public_url: str, swift: bool = False
) -> str:
    """Return glance-api.conf for a glance whose files live under ``paths``."""
    return f"""\
[DEFAULT]
use_stderr = true
debug = false
node_staging_uri = file://{paths.staging}
worker_self_reference_url = {public_url}
public_endpoint = {public_url}

[database]
connection = sqlite:///{paths.database}

[paste_deploy]
flavor = keystone
config_file = {paths.paste}

[keystone_authtoken]
www_authenticate_uri = {auth.keystone_url}
auth_url = {auth.keystone_url}
auth_type = password
username = {auth.username}
password = {auth.password}
project_name = {auth.project}
user_domain_name = Default
project_domain_name = Default
interface = public

{_store_section(paths, auth, swift)}
[oslo_concurrency]
lock_path = {paths.locks}
"""


def write_config(
    paths: GlancePaths,
    auth: GlanceAuth,
    public_url: str,
    middleware: bool,
    swift: bool = False,
) -> Path:
    """Create glance's folders, paste file and config; return the config path."""
    for folder in (paths.root, paths.images, paths.staging, paths.locks):
        folder.mkdir(parents=True, exist_ok=True)
    write_paste(paths, middleware)
    if swift:
        paths.swift_store_config.write_text(render_swift_store_config(auth))
    paths.config.write_text(render_config(paths, auth, public_url, swift))
    return paths.config


def db_sync_command(paths: GlancePaths, bin_dir: Path) -> list[str]:
    """``glance-manage db_sync`` against our config."""
    return [str(bin_dir / "glance-manage"), "--config-file", str(paths.config), "db_sync"]


def app_env(paths: GlancePaths) -> dict[str, str]:
    """Environment telling glance's WSGI module where its config is."""
    return {"OS_GLANCE_CONFIG_DIR": str(paths.root)}
