"""LocalCloud: a real keystone + glance (+ swift) on 127.0.0.1, for demos and tests.

Why: otel-openstack shows what an ``openstack`` command does on the wire,
including what happens inside the services (our WSGI middleware in keystone
and glance). That needs real services, so this boots keystone and glance
from their PyPI packages, with sqlite and a file store in a state folder of
the caller's choosing, on free ports, served by gunicorn.

Every ``start()`` builds the cloud from nothing (new ports, new databases),
which takes a few seconds and avoids stale catalogs.

``swift=True`` adds a single-node swift (proxy + account, container and
object servers, see examples.localcloud.swift) and makes it glance's default
store, as on devstack: an image upload then goes CLI -> glance-api ->
swift-proxy-server. It costs 6-8 s more to boot on two busy cores and
~220 MB more memory (PSS of the four servers), so it is off by default.

Services are stopped by the PIDs recorded in ``<state>/pids``, so another
process (``python -m examples.localcloud down``) can stop a cloud it did not
start.

State folder layout::

    keystone/     keystone.conf, keystone.db, fernet-keys/, credential-keys/
    glance/       glance-api.conf, glance-api-paste.ini, glance.db, images/
                  (+ glance-swift-store.conf with swift)
    swift/        etc/ (swift.conf, *-server.conf, rings), srv/d1/ (the
                  device), cache/; only with swift
    logs/         keystone.log, glance-api.log (setup output + service log),
                  swift-{proxy,account,container,object}-server.log
    pids/         keystone.pid, glance-api.pid, swift-*.pid ("PID START_TIME")
    spool/        OTEL_OPENSTACK_SPOOL_DIR of the services (left alone)
    cloud.json    ports, URLs, password: what ``cli_env()`` is made from
    openrc        ``export OS_...`` lines for a shell
"""

from __future__ import annotations

import dataclasses
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
from . import swift as swiftcfg
from .gunicorn import gunicorn_command
from .identity import IdentityClient
from .ports import HOST, free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]

ADMIN_PASSWORD = "localcloud-admin"
GLANCE_PASSWORD = "localcloud-glance"
SWIFT_PASSWORD = "localcloud-swift"
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
    services' environment last (e.g. to change the exporter). ``swift``:
    add swift and store glance's images there.
    """

    KEYSTONE = "keystone"
    GLANCE = "glance-api"
    SWIFT_PROXY = swiftcfg.service_name("proxy")
    SWIFT_BACKENDS = tuple(swiftcfg.service_name(kind) for kind in swiftcfg.BACKENDS)
    #: Every service a cloud may run, in stop order (callers first).
    ALL_SERVICES = (GLANCE, SWIFT_PROXY, *SWIFT_BACKENDS, KEYSTONE)

    def __init__(
        self,
        state_dir: Path,
        middleware: bool = True,
        extra_env: dict[str, str] | None = None,
        *,
        admin_password: str = ADMIN_PASSWORD,
        start_timeout: float | None = None,
        swift: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir).absolute()
        self.middleware = middleware
        self.swift = swift
        self.extra_env = dict(extra_env or {})
        self.admin_password = admin_password
        self._requested_password = admin_password
        #: Seconds one boot may take; swift's four servers need more.
        self.start_timeout = (
            start_timeout if start_timeout is not None else 120.0 if swift else 60.0
        )
        self.region = REGION
        self.host = HOST
        self.bin_dir = venv_bin_dir()
        self.keystone_port = 0
        self.glance_port = 0
        self.swift_ports: swiftcfg.SwiftPorts | None = None
        self.boot_seconds = 0.0
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._keystone = keystone.KeystonePaths(self.state_dir / "keystone")
        self._glance = glance.GlancePaths(self.state_dir / "glance")
        self._swift = swiftcfg.SwiftPaths(self.state_dir / "swift")
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
    def swift_log(self) -> Path:
        """The proxy's log (ring building output + service log)."""
        return self.logs_dir / f"{self.SWIFT_PROXY}.log"

    @property
    def swift_dir(self) -> Path:
        """swift's ``swift_dir``: swift.conf, server configs and rings."""
        return self._swift.swift_dir

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

    @property
    def swift_url(self) -> str:
        """The swift proxy's root URL (accounts under /v1/AUTH_<project id>)."""
        if self.swift_ports is None:
            raise process.CloudError(f"no swift in the cloud of {self.state_dir}")
        return f"http://{self.host}:{self.swift_ports.proxy}"

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
            for name in self.ALL_SERVICES
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
        """Stop every service; safe to call any number of times.

        Also stops swift's servers when this object was made without
        ``swift=True`` (``python -m examples.localcloud down``): the PID
        files say what runs.
        """
        with process.signals_deferred():
            process.stop_daemons(
                [self._pid_file(name) for name in self.ALL_SERVICES]
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

        Refuses to delete ``keystone/``, ``glance/`` or ``swift/`` folders
        that a previous start did not make (no cloud.json): a mistyped
        --state must not cost anyone their files.
        """
        ours = self._state_file.exists()
        services = [self._keystone.root, self._glance.root]
        if self.swift or ours:
            services.append(self._swift.root)
        for folder in services:
            if folder.exists() and not ours:
                raise process.CloudError(
                    f"{self.state_dir} has a {folder.name}/ folder but no "
                    f"{self._state_file.name}: not a local cloud state folder"
                )
        for folder in (*services, self.pids_dir):
            shutil.rmtree(folder, ignore_errors=True)
        for folder in (self.state_dir, self.logs_dir, self.pids_dir, self.spool_dir):
            folder.mkdir(parents=True, exist_ok=True)
        logs = [self.keystone_log, self.glance_log]
        if self.swift:
            logs += [self.logs_dir / f"{name}.log"
                     for name in (self.SWIFT_PROXY, *self.SWIFT_BACKENDS)]
        for log in logs:
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
        ports = free_ports(6 if self.swift else 2)
        self.keystone_port, self.glance_port = ports[:2]
        self.swift_ports = swiftcfg.SwiftPorts(*ports[2:]) if self.swift else None
        keystone.write_config(self._keystone)
        auth = glance.GlanceAuth(
            keystone_url=self.keystone_url,
            username="glance",
            password=GLANCE_PASSWORD,
        )
        glance.write_config(
            self._glance, auth, self.glance_url, self.middleware, swift=self.swift
        )
        swift_auth = swiftcfg.SwiftAuth(
            keystone_url=self.keystone_url, username="swift", password=SWIFT_PASSWORD
        )
        if self.swift_ports is not None:
            try:
                swiftcfg.write_config(
                    self._swift, self.swift_ports, swift_auth, self.middleware
                )
            except OSError as exc:  # no xattrs on the state folder's filesystem
                raise process.CloudError(str(exc)) from exc
        self._save_state()

        setup_env = {**self._base_env(), **self.extra_env}
        keystone_setup_env = {**setup_env, "OS_BOOTSTRAP_PASSWORD": self.admin_password}
        timeout = max(deadline - time.monotonic(), 1.0)
        # Both database set-ups are CPU-bound imports; run them side by side
        # (and swift's ring building, a third one).
        with ThreadPoolExecutor(max_workers=3 if self.swift else 2) as pool:
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
            rings = (
                pool.submit(
                    process.run,
                    swiftcfg.rings_command(self._swift, self.swift_ports),
                    env=setup_env,
                    log_path=self.swift_log,
                    timeout=timeout,
                    cwd=REPO_ROOT,
                )
                if self.swift_ports is not None
                else None
            )
            keystone_setup.result()
            self._start_service(
                self.KEYSTONE, keystone.APP, self.keystone_port,
                keystone.app_env(self._keystone),
            )
            if rings is not None:
                rings.result()
                self._start_swift()
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
        if self.swift_ports is not None:
            client.register_service(
                username=swift_auth.username,
                password=swift_auth.password,
                service_name="swift",
                service_type="object-store",
                url=swiftcfg.endpoint_url(self.swift_url),
                region=self.region,
            )
        process.wait_http(
            f"{self.glance_url}/healthcheck",
            proc=self._procs[self.GLANCE],
            log_path=self.glance_log,
            name=self.GLANCE,
            deadline=deadline,
        )
        if self.swift_ports is not None:
            self._wait_swift(deadline)
            self._create_glance_container(client, auth)
        self.openrc_path.write_text(self.openrc())

    def _start_swift(self) -> None:
        """Start swift's storage servers and its proxy (the proxy traced)."""
        assert self.swift_ports is not None
        for kind, name in zip(swiftcfg.BACKENDS, self.SWIFT_BACKENDS):
            self._procs[name] = process.start_daemon(
                swiftcfg.server_command(self._swift, kind),
                env={**self._base_env(), **self.extra_env},
                log_path=self.logs_dir / f"{name}.log",
                pid_path=self._pid_file(name),
                cwd=self.state_dir,
            )
        self._procs[self.SWIFT_PROXY] = process.start_daemon(
            [
                *tracing.launcher(self.bin_dir, self.middleware),
                *swiftcfg.server_command(self._swift, "proxy"),
            ],
            env=self._service_env(self.SWIFT_PROXY, {}),
            log_path=self.swift_log,
            pid_path=self._pid_file(self.SWIFT_PROXY),
            cwd=self.state_dir,
        )

    def _wait_swift(self, deadline: float) -> None:
        """Wait until every swift server answers its /healthcheck."""
        assert self.swift_ports is not None
        servers = [
            (name, self.swift_ports.backend(kind))
            for kind, name in zip(swiftcfg.BACKENDS, self.SWIFT_BACKENDS)
        ]
        servers.append((self.SWIFT_PROXY, self.swift_ports.proxy))
        for name, port in servers:
            process.wait_http(
                f"http://{self.host}:{port}/healthcheck",
                proc=self._procs[name],
                log_path=self.logs_dir / f"{name}.log",
                name=name,
                deadline=deadline,
            )

    def _create_glance_container(
        self, admin: IdentityClient, auth: glance.GlanceAuth
    ) -> None:
        """Create glance's container in the service project's account.

        Why: on devstack it exists once devstack has uploaded its cirros
        image, so the first ``image create`` a user traces finds it (HEAD
        204) rather than creating it (HEAD 404, PUT 201). This also makes
        the proxy's keystonemiddleware fetch its own service token now, as
        devstack's long-running proxy had, instead of inside the traced
        command.
        """
        account = f"AUTH_{admin.find_id('projects', auth.project)}"
        service = IdentityClient(self.keystone_url)
        service.login(auth.username, auth.password, auth.project)
        try:
            swiftcfg.create_container(
                f"{self.swift_url}/v1/{account}/{glance.SWIFT_CONTAINER}",
                service.token,
            )
        except OSError as exc:
            raise process.CloudError(
                f"could not create swift container {glance.SWIFT_CONTAINER!r} in"
                f" {account}: {exc}; log {self.swift_log}:\n"
                f"{process.log_tail(self.swift_log)}"
            ) from exc

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
                    **(
                        {"swift_ports": dataclasses.asdict(self.swift_ports)}
                        if self.swift_ports is not None
                        else {}
                    ),
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
        swift_ports = data.get("swift_ports")
        if isinstance(swift_ports, dict):
            self.swift_ports = swiftcfg.SwiftPorts(
                **{key: int(value) for key, value in swift_ports.items()}
            )
