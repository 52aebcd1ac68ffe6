"""Start, watch and stop the cloud's processes, by PID only.

Why: the services are long-running gunicorn masters with worker children.
Each one is started in a new session, so its PID is also the ID of a process
group holding the master and its workers; stopping kills that group. PIDs are
recorded in the state folder together with the process start time, so a
``down`` from another shell can stop them, and a PID reused by an unrelated
process after a reboot is never signalled. Nothing here looks processes up
by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


class CloudError(RuntimeError):
    """A service failed to set up or to start; the message has its log tail."""


class PortInUseError(CloudError):
    """A service could not bind: another program took the port we picked."""


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file (or a note if missing)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log file {path})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail)


def run(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    log_path: Path,
    timeout: float = 120.0,
    cwd: Path | None = None,
) -> None:
    """Run a one-shot setup command, appending its output to ``log_path``.

    Raises CloudError with the log tail when it fails, because a bare
    "exit status 1" from keystone-manage tells nothing.
    """
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        try:
            proc = subprocess.run(
                list(cmd),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise CloudError(
                f"{cmd[0]} timed out after {timeout:.0f}s; log {log_path}:\n"
                f"{log_tail(log_path)}"
            ) from exc
    if proc.returncode != 0:
        raise CloudError(
            f"{' '.join(cmd)} failed with exit status {proc.returncode}; "
            f"log {log_path}:\n{log_tail(log_path)}"
        )


def start_daemon(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    log_path: Path,
    pid_path: Path,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session and record its PID in ``pid_path``."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(cmd),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_path.write_text(f"{proc.pid} {_start_time(proc.pid)}\n")
    return proc


def _start_time(pid: int) -> str:
    """Return the kernel's start time of ``pid`` (field 22 of /proc/PID/stat).

    Used as a fingerprint: PID plus start time identifies one process.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "?"
    # The command name (field 2) may contain spaces; it ends at the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]


def read_pid(pid_path: Path) -> int | None:
    """Return the recorded PID if that very process is still running."""
    try:
        pid_text, started = pid_path.read_text().split()
    except (FileNotFoundError, ValueError):
        return None
    pid = int(pid_text)
    if _start_time(pid) != started:
        return None  # gone, or the PID now belongs to someone else
    return pid


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child (else a zombie stays)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then deliver them.

    Why: a Ctrl-C landing in the middle of a stop would leave services
    running (or half-signalled) with nobody left to stop them. The stop is
    bounded (a few seconds), so the signal is only delayed, not lost.
    Signal handlers can only be changed in the main thread; elsewhere this
    does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def defer(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {
        signum: signal.signal(signum, defer)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for pending in dict.fromkeys(received):
            signal.raise_signal(pending)


def stop_daemons(pid_paths: Sequence[Path], timeout: float = 10.0) -> int:
    """Stop the process groups recorded in ``pid_paths``; idempotent.

    SIGTERM first, so gunicorn shuts down gracefully and the OpenTelemetry
    SDK in the workers flushes its spans at exit; SIGKILL after ``timeout``.
    All groups are signalled before waiting, because a graceful gunicorn
    stop takes ~2 s (worker and master poll once a second). Returns how
    many groups were signalled.
    """
    pgids: dict[int, Path] = {}
    for pid_path in pid_paths:
        pid = read_pid(pid_path)
        if pid is None:
            pid_path.unlink(missing_ok=True)
            continue
        try:
            # start_new_session=True: the daemon leads its own group.
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pid_path.unlink(missing_ok=True)
            continue
        pgids[pid] = pid_path
    _wait_groups(pgids, timeout)
    for pgid in pgids:
        if _group_alive(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _wait_groups(pgids, 5.0)
    for pid_path in pgids.values():
        pid_path.unlink(missing_ok=True)
    return len(pgids)


def _wait_groups(pgids: Mapping[int, Path], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pgid in pgids:
            _reap(pgid)
        if not any(_group_alive(pgid) for pgid in pgids):
            return
        time.sleep(0.05)


def wait_http(
    url: str,
    *,
    proc: subprocess.Popen[bytes],
    log_path: Path,
    name: str,
    deadline: float,
) -> None:
    """Wait until ``url`` answers with any HTTP status.

    Any status counts (a 300 from version discovery, a 401): the point is
    that the app is loaded in a worker. Fails early, with the log tail, if
    the service process exits.
    """
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if proc.poll() is not None:
            tail = log_tail(log_path)
            # gunicorn's words, then swift's (get_socket gives up after bind_timeout).
            in_use = "Address already in use" in tail or "Could not bind to" in tail
            error = PortInUseError if in_use else CloudError
            raise error(
                f"{name} exited with status {proc.returncode} before answering"
                f" {url}; log {log_path}:\n{tail}"
            )
        if time.monotonic() > deadline:
            raise CloudError(
                f"{name} did not answer {url} in time; log {log_path}:\n"
                f"{log_tail(log_path)}"
            )
        time.sleep(0.1)
