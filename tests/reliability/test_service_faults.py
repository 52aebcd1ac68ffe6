"""Fault isolation in a service: whatever breaks on our side, the app answers exactly as without us.

Each fault gets a wrapped gunicorn of its own (one worker, threads), the same
mix of requests as the transparency matrix, several times over, compared
byte for byte with a bare gunicorn.  Then the server is stopped (the span
processor flushes at exit) and its log read: each of our warnings appears
once, however many requests met the fault.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind

from otel_openstack.exporters import spool as spool_files
from tests.reliability.cases import CASES
from tests.reliability.servers import Gunicorn, comparable, exchange, free_port, read_only_folder, tracing_env

ROUNDS = 4
SYMLINK_TRACE = "5e1f0000000000000000000000000001"


@dataclass
class Fault:
    name: str
    env: dict[str, str] = field(default_factory=dict)
    #: a phrase of our warning, when the fault must produce one
    warns: tuple[str, ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = ()
    #: whether the spool must still receive every server span
    spooled: bool = False


def faults(work: Path, mechanism: str) -> list[Fault]:
    return [
        Fault("spool writer raises", {"RELIABILITY_FAULTS": "spool_raises"}, ("injected spool failure",)),
        Fault("encoder raises", {"RELIABILITY_FAULTS": "encode_raises"}, ("injected encoder failure",)),
        Fault("header and body capture raise", {"RELIABILITY_FAULTS": "capture_raises"},
              ("injected header capture failure", "injected body capture failure")),
        Fault("ENOSPC on every spool write", {"RELIABILITY_FAULTS": "enospc"}, ("No space left on device",)),
        Fault(f"read-only spool ({mechanism})",
              {"OTEL_OPENSTACK_SPOOL_DIR": str(work / "ro" / "spool"),
               **({"RELIABILITY_FAULTS": "readonly"} if mechanism == "injected" else {})},
              ("writing spans to the spool",)),
        Fault("spool path is a file", {"OTEL_OPENSTACK_SPOOL_DIR": str(work / "a-file")},
              ("is not a plain directory",)),
        Fault("corrupt OTEL_OPENSTACK_* values", {
            "OTEL_OPENSTACK_BODY_LIMIT": "lots", "OTEL_OPENSTACK_REDACT": "maybe",
            "OTEL_OPENSTACK_CAPTURE_BODIES": "perhaps", "OTEL_OPENSTACK_FLUSH_MILLIS": "99999999999999999",
            "OTEL_OPENSTACK_WAIT_SECONDS": "nan", "OTEL_OPENSTACK_EXPORT_TIMEOUT": "inf",
            "OTEL_OPENSTACK_SERVICE_TYPE_NAMES": "image", "OTEL_OPENSTACK_URL_NAMES": "=x"},
              ("ignoring OTEL_OPENSTACK_BODY_LIMIT", "ignoring OTEL_OPENSTACK_WAIT_SECONDS"), spooled=True),
        Fault("symlink planted in the spool", {}, ("is not a plain directory",),
              extra_headers=(("traceparent", f"00-{SYMLINK_TRACE}-00f067aa0ba902b7-01"),)),
        Fault("OTLP endpoint unreachable", {
            "OTEL_TRACES_EXPORTER": "otel_openstack,otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}", "OTEL_OPENSTACK_EXPORT_TIMEOUT": "1"},
              spooled=True),
    ]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    work = tmp_path_factory.mktemp("faults")
    os.chmod(work, 0o700)
    (work / "a-file").write_text("not a folder\n")
    with read_only_folder(work / "ro") as mechanism:
        yield work, mechanism


@pytest.fixture(scope="module")
def bare(work) -> Iterator[Gunicorn]:
    folder, _ = work
    with Gunicorn("bare", folder / "bare.log", env={"RELIABILITY_WORKDIR": str(folder)}) as server:
        yield server


OUR_WARNING = re.compile(r"^otel-openstack: .*$", re.M)


def fault_names() -> list[str]:
    return [f.name.split(" (")[0] for f in faults(Path("/nonexistent"), "mount")]


@pytest.mark.parametrize("index", range(len(fault_names())), ids=fault_names())
def test_app_answers_as_without_us_and_the_fault_is_logged_once(work, bare, index: int, figures) -> None:
    folder, mechanism = work
    fault = faults(folder, mechanism)[index]
    spool = folder / f"spool-{index}"
    victim = folder / f"victim-{index}"
    if fault.name.startswith("symlink"):
        victim.mkdir()
        spool.mkdir(mode=0o700)
        (spool / SYMLINK_TRACE).symlink_to(victim)  # a trace folder of the old layout
        now = time.time_ns()
        for minute in range(30):  # the minute folders the writer would use while the test runs
            (spool / spool_files.shard_name(now + minute * 60 * 10**9)).symlink_to(victim)
    env = {"RELIABILITY_WORKDIR": str(folder), **tracing_env(spool), **fault.env}
    server = Gunicorn("wrapped", folder / f"fault-{index}.log", env=env)
    differences = requests = 0
    try:
        for _ in range(ROUNDS):
            for case in CASES:
                rid = uuid.uuid4().hex
                got = exchange(server.port, case.raw(rid, fault.extra_headers))
                want = exchange(bare.port, case.raw(rid, fault.extra_headers))
                requests += 1
                differences += comparable(got) != comparable(want)
    finally:
        status = server.stop()
    log = server.log_text()
    ours = OUR_WARNING.findall(log)
    repeated = sum(count - 1 for count in Counter(ours).values())
    figures.add("service_fault_kinds")
    figures.add("service_fault_requests", requests)
    figures.add("service_fault_differences", differences)
    figures.add("service_fault_repeats", repeated)

    assert differences == 0
    assert status == 0, log[-3000:]
    assert repeated == 0, ours
    for phrase in fault.warns:
        assert any(phrase in line for line in ours), (phrase, ours, log[-3000:])
    assert "Traceback" not in _without_app_errors(log), log[-5000:]
    if fault.spooled:  # our side still works where the fault allows it
        assert server_spans(spool) >= requests
    if fault.name.startswith("symlink"):
        assert list(victim.iterdir()) == [], "a spool writer followed a planted symlink"
    if fault.name.startswith("OTLP"):  # upstream's retry lines: per export attempt, not per request
        assert len(re.findall(r"^Transient error|^Failed to export", log, re.M)) <= 10


def server_spans(spool: Path) -> int:
    return sum(1 for _, spans in spool_files.spans_in(spool) for span in spans or () if span.kind == SpanKind.SERVER)


def _without_app_errors(log: str) -> str:
    """The log minus the app's own half-way failure (logged by the server with its traceback)."""
    blocks = re.split(r"(?=^\[\d{4}-\d\d-\d\d [^\]]*\] \[\d+\] \[ERROR\])", log, flags=re.M)
    return "".join(b for b in blocks if "the app failed half-way" not in b)
