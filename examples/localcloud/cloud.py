"""LocalCloud: a real keystone + glance on 127.0.0.1, for demos and tests.

Why: otel-openstack shows what an ``openstack`` command does on the wire,
including what happens inside the services (our WSGI middleware in keystone
and glance). That needs real services, so this boots keystone and glance
from their PyPI packages, with sqlite and a file store in a state folder of
the caller's choosing, on free ports, served by gunicorn.

Every ``start()`` builds the cloud from nothing (new ports, new databases),
which takes a few seconds and avoids stale catalogs. Services are stopped by
the PIDs recorded in ``<state>/pids``, so another process (``python -m
examples.localcloud down``) can stop a cloud it did not start.

State folder layout::

    keystone/     keystone.conf, keystone.db, fernet-keys/, credential-keys/
    glance/       glance-api.conf, glance-api-paste.ini, glance.db, images/
    logs/         keystone.log, glance-api.log (setup output + service log)
    pids/         keystone.pid, glance-api.pid ("PID START_TIME")
    spool/        OTEL_OPENSTACK_SPOOL_DIR of the services (left alone)
    cloud.json    ports, URLs, password: what ``cli_env()`` is made from
    openrc        ``export OS_...`` lines for a shell
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from . import glance, keystone, process, tracing
from .gunicorn import gunicorn_command
from .identity import IdentityClient
from .ports import HOST, free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]

ADMIN_PASSWORD = "localcloud-admin"
GLANCE_PASSWORD = "localcloud-glance"
REGION = "RegionOne"
#: Boots tried when a picked port is taken before gunicorn binds it.
_BOOT_ATTEMPTS = 3

#: Variables of the caller that must not leak into the services or the CLI
#: (a user's own cloud credentials, the tracing set-up of a test harness) ...
_SCRUBBED_PREFIXES = ("OS_", "OTEL_")
#: ... except otel-openstack's own settings (OTEL_OPENSTACK_REDACT=false,
#: OTEL_OPENSTACK_BODY_LIMIT ...), which should reach every process; the
#: spool folder is the cloud's own though.
_KEPT_PREFIX = "OTEL_OPENSTACK_"
_CLOUD_OWNED = ("OTEL_OPENSTACK_SPOOL_DIR",)


def clean_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment minus OS_* and foreign OTEL_* variables."""
    environ = os.environ if environ is None else environ
    return {
        key: value
        for key, value in environ.items()
        if not key.startswith(_SCRUBBED_PREFIXES)
        or (key.startswith(_KEPT_PREFIX) and key not in _CLOUD_OWNED)
    }


def venv_bin_dir() -> Path:
    """The bin folder of the running interpreter's environment.

    Not resolved: in a venv, sys.executable is a symlink whose folder holds
    gunicorn, keystone-manage, glance-manage, openstack, ...
    """
    candidate = Path(sys.executable).parent
    if (candidate / "gunicorn").exists():
        return candidate
    return Path(sys.prefix) / "bin"


class LocalCloud:
    """A keystone + glance cloud living in ``state_dir``.

    ``middleware``: run the services with our OpenTelemetry middleware
    (see examples.localcloud.tracing). ``extra_env``: added to the
    services' environment last (e.g. to change the exporter).
    """

    KEYSTONE = "keystone"
    GLANCE = "glance-api"

    def __init__(
        self,
        state_dir: Path,
        middleware: bool = True,
        extra_env: dict[str, str] | None = None,
        *,
        admin_password: str = ADMIN_PASSWORD,
        start_timeout: float = 60.0,
    ) -> None:
        self.state_dir = Path(state_dir).absolute()
        self.middleware = middleware
        self.extra_env = dict(extra_env or {})
        self.admin_password = admin_password
        self._requested_password = admin_password
        self.start_timeout = start_timeout
        self.region = REGION
        self.host = HOST
        self.bin_dir = venv_bin_dir()
        self.keystone_port = 0
        self.glance_port = 0
        self.boot_seconds = 0.0
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._keystone = keystone.KeystonePaths(self.state_dir / "keystone")
        self._glance = glance.GlancePaths(self.state_dir / "glance")
        self._load_state()

    # -- paths ------------------------------------------------------------

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pids_dir(self) -> Path:
        return self.state_dir / "pids"

    @property
    def spool_dir(self) -> Path:
        return self.state_dir / "spool"

    @property
    def images_dir(self) -> Path:
        return self._glance.images

    @property
    def keystone_log(self) -> Path:
        return self.logs_dir / f"{self.KEYSTONE}.log"

    @property
    def glance_log(self) -> Path:
        return self.logs_dir / f"{self.GLANCE}.log"

    @property
    def openrc_path(self) -> Path:
        return self.state_dir / "openrc"

    @property
    def _state_file(self) -> Path:
        return self.state_dir / "cloud.json"

    def _pid_file(self, name: str) -> Path:
        return self.pids_dir / f"{name}.pid"

    # -- URLs and client environment -----------------------------------------

    @property
    def keystone_url(self) -> str:
        """Keystone's root URL (version discovery lives here; v3 under /v3)."""
        return f"http://{self.host}:{self.keystone_port}"

    @property
    def identity_url(self) -> str:
        """The identity endpoint registered in the catalog."""
        return f"{self.keystone_url}/v3"

    @property
    def glance_url(self) -> str:
        return f"http://{self.host}:{self.glance_port}"

    def cli_env(self) -> dict[str, str]:
        """OS_* variables for the openstack CLI, plus the spool folder.

        OS_AUTH_URL has no /v3 on purpose: the CLI then does version
        discovery, as it would against most real clouds.
        """
        if not self.keystone_port:
            raise process.CloudError(f"no cloud state in {self.state_dir}")
        return {
            "OS_AUTH_TYPE": "password",
            "OS_AUTH_URL": self.keystone_url,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_USERNAME": "admin",
            "OS_PASSWORD": self.admin_password,
            "OS_PROJECT_NAME": "admin",
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": self.region,
            "OS_INTERFACE": "public",
            "OTEL_OPENSTACK_SPOOL_DIR": str(self.spool_dir),
        }

    def openrc(self) -> str:
        """``export K=V`` lines of cli_env(), shell-quoted."""
        return "".join(
            f"export {key}={shlex.quote(value)}\n"
            for key, value in self.cli_env().items()
        )

    # -- lifecycle ----------------------------------------------------------

    def is_running(self) -> bool:
        """True if any recorded service process is still alive."""
        return any(
            process.read_pid(self._pid_file(name)) is not None
            for name in (self.KEYSTONE, self.GLANCE)
        )

    def start(self) -> LocalCloud:
        """Build and boot the cloud; return when both services answer.

        Raises CloudError (with the failing service's log tail) on failure,
        after stopping whatever was started.
        """
        if self.is_running():
            raise process.CloudError(
                f"a cloud is already running in {self.state_dir}; stop it first"
            )
        if self.middleware and not tracing.middleware_available():
            raise process.CloudError(
                f"middleware=True but {tracing.MIDDLEWARE_MODULE} is not "
                "importable; use middleware=False"
            )
        started = time.monotonic()
        for attempt in range(1, _BOOT_ATTEMPTS + 1):
            try:
                self._boot(deadline=time.monotonic() + self.start_timeout)
                break
            except process.PortInUseError:
                # Someone took a port between our pick and gunicorn's bind:
                # start over with new ports (they are baked into configs).
                self.stop()
                if attempt == _BOOT_ATTEMPTS:
                    raise
            except BaseException:
                self.stop()
                raise
        self.boot_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Stop both services; safe to call any number of times."""
        with process.signals_deferred():
            process.stop_daemons(
                [self._pid_file(self.GLANCE), self._pid_file(self.KEYSTONE)]
            )
            for proc in self._procs.values():
                proc.poll()  # already reaped; just settle the Popen object
            self._procs.clear()

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- boot steps -----------------------------------------------------------

    def _fresh_state(self) -> None:
        """Remove what a previous start left (not the spool: not ours).

        Refuses to delete ``keystone/`` or ``glance/`` folders that a
        previous start did not make (no cloud.json): a mistyped --state must
        not cost anyone their files.
        """
        ours = self._state_file.exists()
        for folder in (self._keystone.root, self._glance.root):
            if folder.exists() and not ours:
                raise process.CloudError(
                    f"{self.state_dir} has a {folder.name}/ folder but no "
                    f"{self._state_file.name}: not a local cloud state folder"
                )
        for folder in (self._keystone.root, self._glance.root, self.pids_dir):
            shutil.rmtree(folder, ignore_errors=True)
        for folder in (self.state_dir, self.logs_dir, self.pids_dir, self.spool_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for log in (self.keystone_log, self.glance_log):
            log.write_bytes(b"")

    def _base_env(self) -> dict[str, str]:
        env = clean_environ()
        pythonpath = [str(REPO_ROOT)]
        if env.get("PYTHONPATH"):
            pythonpath.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(pythonpath)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _service_env(self, name: str, app_env: dict[str, str]) -> dict[str, str]:
        return {
            **self._base_env(),
            **app_env,
            **tracing.service_env(name, self.spool_dir, self.middleware),
            **self.extra_env,
        }

    def _boot(self, deadline: float) -> None:
        self.admin_password = self._requested_password
        self._fresh_state()
        self.keystone_port, self.glance_port = free_ports(2)
        keystone.write_config(self._keystone)
        auth = glance.GlanceAuth(
            keystone_url=self.keystone_url,
            username="glance",
            password=GLANCE_PASSWORD,
        )
        glance.write_config(self._glance, auth, self.glance_url, self.middleware)
        self._save_state()

        setup_env = {**self._base_env(), **self.extra_env}
        keystone_setup_env = {**setup_env, "OS_BOOTSTRAP_PASSWORD": self.admin_password}
        timeout = max(deadline - time.monotonic(), 1.0)
        # Both database set-ups are CPU-bound imports; run them side by side.
        with ThreadPoolExecutor(max_workers=2) as pool:
            keystone_setup = pool.submit(
                process.run,
                keystone.setup_command(self._keystone, self.identity_url, self.region),
                env=keystone_setup_env,
                log_path=self.keystone_log,
                timeout=timeout,
                cwd=REPO_ROOT,
            )
            glance_setup = pool.submit(
                process.run,
                glance.db_sync_command(self._glance, self.bin_dir),
                env=setup_env,
                log_path=self.glance_log,
                timeout=timeout,
                cwd=self.state_dir,
            )
            keystone_setup.result()
            self._start_service(
                self.KEYSTONE, keystone.APP, self.keystone_port,
                keystone.app_env(self._keystone),
            )
            glance_setup.result()
        self._start_service(
            self.GLANCE, glance.APP, self.glance_port, glance.app_env(self._glance)
        )

        process.wait_http(
            f"{self.keystone_url}/v3",
            proc=self._procs[self.KEYSTONE],
            log_path=self.keystone_log,
            name=self.KEYSTONE,
            deadline=deadline,
        )
        client = IdentityClient(self.keystone_url)
        client.login("admin", self.admin_password, "admin")
        client.register_service(
            username=auth.username,
            password=auth.password,
            service_name="glance",
            service_type="image",
            url=self.glance_url,
            region=self.region,
        )
        process.wait_http(
            f"{self.glance_url}/healthcheck",
            proc=self._procs[self.GLANCE],
            log_path=self.glance_log,
            name=self.GLANCE,
            deadline=deadline,
        )
        self.openrc_path.write_text(self.openrc())

    def _start_service(
        self, name: str, app: str, port: int, app_env: dict[str, str]
    ) -> None:
        cmd = [
            *tracing.launcher(self.bin_dir, self.middleware),
            *gunicorn_command(self.bin_dir, app, name=name, host=self.host, port=port),
        ]
        self._procs[name] = process.start_daemon(
            cmd,
            env=self._service_env(name, app_env),
            log_path=self.logs_dir / f"{name}.log",
            pid_path=self._pid_file(name),
            cwd=self.state_dir,
        )

    # -- persisted state --------------------------------------------------------

    def _save_state(self) -> None:
        self._state_file.write_text(
            json.dumps(
                {
                    "keystone_port": self.keystone_port,
                    "glance_port": self.glance_port,
                    "admin_password": self.admin_password,
                    "middleware": self.middleware,
                },
                indent=2,
            )
            + "\n"
        )

    def _load_state(self) -> None:
        """Pick up ports and password of a cloud started by another process."""
        try:
            data = json.loads(self._state_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        self.keystone_port = int(data.get("keystone_port", 0))
        self.glance_port = int(data.get("glance_port", 0))
        self.admin_password = str(data.get("admin_password", self.admin_password))
