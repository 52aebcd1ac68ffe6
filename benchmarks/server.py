"""gunicorn servers started and stopped by the benchmarks (by PID, never by name)."""

from __future__ import annotations

import os
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from examples.localcloud import process
from examples.localcloud.cloud import clean_environ, venv_bin_dir
from examples.localcloud.ports import HOST, free_port, free_ports

from benchmarks.common import REPO_ROOT

#: The same server for every variant: gunicorn, 1 worker, gthread (keep-alive,
#: like the local cloud), no access log (it would cost every variant the same).
WORKER_CLASS = "gthread"
THREADS = 4


def gunicorn_command(app: str, port: int, name: str, *, access_log: bool = False) -> list[str]:
    cmd = [
        str(venv_bin_dir() / "gunicorn"),
        "--bind", f"{HOST}:{port}",
        "--workers", "1",
        "--worker-class", WORKER_CLASS,
        "--threads", str(THREADS),
        "--timeout", "300",
        "--graceful-timeout", "5",
        "--keep-alive", "30",
        "--backlog", "512",
        "--name", name,
        "--no-control-socket",
        "--error-logfile", "-",
    ]
    if access_log:
        cmd += ["--access-logfile", "-"]
    return [*cmd, app]


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without OS_*/OTEL_* (see clean_environ), repo on the path."""
    env = clean_environ()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def ours_env(spool: Path, service_name: str) -> dict[str, str]:
    """What our middleware needs to set up the SDK with our exporter by itself."""
    return {
        "OTEL_TRACES_EXPORTER": "otel_openstack",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_OPENSTACK_SPOOL_DIR": str(spool),
    }


@dataclass
class Server:
    name: str
    cmd: Sequence[str]
    env: Mapping[str, str]
    workdir: Path
    port: int
    ready_path: str = "/"
    proc: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    def launch(self) -> "Server":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = process.start_daemon(self.cmd, env=self.env, log_path=self.log_path,
                                         pid_path=self.pid_path, cwd=self.workdir)
        return self

    def wait_ready(self, timeout: float = 120.0) -> "Server":
        process.wait_http(self.url + self.ready_path, proc=self.proc, log_path=self.log_path,
                          name=self.name, deadline=time.monotonic() + timeout)
        return self

    def start(self, timeout: float = 120.0) -> "Server":
        return self.launch().wait_ready(timeout)

    def stop(self) -> None:
        process.stop_daemons([self.pid_path])

    def worker_pid(self) -> int:
        """The (single) gunicorn worker: the master's child."""
        master = self.proc.pid  # type: ignore[attr-defined]
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if len(children) != 1:
            raise RuntimeError(f"{self.name}: expected one worker, found {children}")
        return int(children[0])

    def worker_cpu(self) -> float:
        """CPU seconds (user + system) the worker has used so far, all its threads."""
        fields = Path(f"/proc/{self.worker_pid()}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def worker_status(self, key: str) -> int:
        """A ``VmHWM``/``VmRSS`` value of the worker, in bytes."""
        for line in Path(f"/proc/{self.worker_pid()}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(key)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> bytes:
        request = urllib.request.Request(self.url + path, headers=dict(headers or {}))
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()


#: Variants that are ours with extra settings: name -> (BENCH_VARIANT, environment).
OURS_WITH = {"ours_nodigest": ("ours", {"OTEL_OPENSTACK_BODY_DIGEST": "false"})}


def app_server(variant: str, workdir: Path, *, spool: Path, port: int | None = None) -> Server:
    """The small JSON app (benchmarks.apps) under ``variant`` (one of apps' or of OURS_WITH)."""
    bench_variant, extra = OURS_WITH.get(variant, (variant, {}))
    env = base_env({"BENCH_VARIANT": bench_variant})
    if bench_variant == "ours":
        env.update(ours_env(spool, "bench-app"))
        env.update(extra)
    port = port or free_port()
    return Server(f"app-{variant}", gunicorn_command("benchmarks.apps:application", port, f"bench-{variant}"),
                  env, workdir, port, ready_path="/json")


def start_all(servers: Iterable[Server]) -> None:
    """Launch every server, then wait for each (they boot side by side)."""
    servers = list(servers)
    for server in servers:
        server.launch()
    for server in servers:
        server.wait_ready()


def stop_all(servers: Iterable[Server]) -> None:
    process.stop_daemons([server.pid_path for server in servers])


def app_servers(variants: Sequence[str], workdir: Path, *, spool: Path) -> dict[str, Server]:
    ports = free_ports(len(variants))
    return {v: app_server(v, workdir, spool=spool, port=p) for v, p in zip(variants, ports)}
