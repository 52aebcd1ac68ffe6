"""Keystone's configuration and setup for the local cloud.

Why these settings:

* sqlite in the state folder: no database server needed.
* ``[cache] dogpile.cache.memory``: without any cache keystone re-reads
  everything from sqlite on each request; memcached is not available.
* ``password_hash_rounds = 4`` (bcrypt's minimum): the default 12 costs
  ~200 ms of CPU per password check, i.e. per token issued.
* ``use_stderr``: gunicorn's stdout/stderr already go to the service log, so
  keystone's own log lines end up in the same file, in order.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

#: gunicorn app spec: our module that builds (and maybe wraps) keystone's app.
APP = "examples.localcloud.wsgi_keystone:application"


@dataclass(frozen=True)
class KeystonePaths:
    """Where keystone keeps its files inside the state folder."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "keystone.conf"

    @property
    def database(self) -> Path:
        return self.root / "keystone.db"

    @property
    def fernet_keys(self) -> Path:
        return self.root / "fernet-keys"

    @property
    def credential_keys(self) -> Path:
        return self.root / "credential-keys"


def render_config(paths: KeystonePaths) -> str:
    """Return keystone.conf for a keystone whose files live under ``paths``."""
    return f"""\
[DEFAULT]
use_stderr = true
debug = false

[database]
connection = sqlite:///{paths.database}

[token]
provider = fernet

[fernet_tokens]
key_repository = {paths.fernet_keys}

[fernet_receipts]
key_repository = {paths.fernet_keys}

[credential]
key_repository = {paths.credential_keys}

[identity]
password_hash_rounds = 4

[cache]
enabled = true
backend = dogpile.cache.memory
"""


def write_config(paths: KeystonePaths) -> Path:
    """Create keystone's folder and config file; return the config path."""
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(render_config(paths))
    return paths.config


def setup_command(paths: KeystonePaths, identity_url: str, region: str) -> list[str]:
    """Command that runs db_sync, fernet/credential setup and bootstrap.

    The admin password is passed as OS_BOOTSTRAP_PASSWORD in the environment.
    """
    return [
        sys.executable,
        "-m",
        "examples.localcloud.keystone_manage",
        "--config-file", str(paths.config),
        "--url", identity_url,
        "--region", region,
    ]


def app_env(paths: KeystonePaths) -> dict[str, str]:
    """Environment telling keystone's WSGI factory where its config is."""
    return {
        "OS_KEYSTONE_CONFIG_DIR": str(paths.root),
        "OS_KEYSTONE_CONFIG_FILES": paths.config.name,
    }
