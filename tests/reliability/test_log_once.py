"""Repeated faults are logged once; corrupt settings never hang, crash or flood.

In process: ``capture/guard.py`` under thousands of failures from many
threads, corrupt ``OTEL_OPENSTACK_*`` values read by every ``load()`` of a
process, and the one loop that waits on a setting (the CLI collecting
announced server spans) with every kind of bad number.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import pytest

from otel_openstack import settings as settings_module
from otel_openstack.capture import guard
from otel_openstack.settings import load

THREADS = 8
FAILURES_PER_THREAD = 250
PLACES = 4


@pytest.fixture
def fresh_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "_seen", set())


@pytest.fixture(autouse=True)
def _fresh_settings_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad values seen here must not count as "already reported" for later tests of this process."""
    monkeypatch.setattr(settings_module, "_reported", set(), raising=False)


def warnings_of(caplog: pytest.LogCaptureFixture, needle: str = "otel-openstack") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and needle in r.getMessage()]


def test_a_place_failing_thousands_of_times_from_many_threads_warns_once(fresh_guard, caplog, figures) -> None:
    places = [f"reliability place {n}" for n in range(PLACES)]
    hooks = [guard.swallow(place, default="fallback")(lambda: 1 / 0) for place in places]
    results: list[object] = []
    barrier = threading.Barrier(THREADS)

    def hammer() -> None:
        barrier.wait()
        for i in range(FAILURES_PER_THREAD):
            results.append(hooks[i % PLACES]())

    caplog.set_level(logging.DEBUG, logger="otel_openstack")
    threads = [threading.Thread(target=hammer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    warned = warnings_of(caplog)
    figures.set("guard_failures", len(results))
    figures.set("guard_places", PLACES)
    figures.set("guard_threads", THREADS)
    figures.set("guard_warnings", len(warned))
    assert results == ["fallback"] * THREADS * FAILURES_PER_THREAD
    assert sorted(warned) == sorted(
        f"otel-openstack: {place} failed (ZeroDivisionError: division by zero); the program is not affected; "
        "further failures here are logged at debug level" for place in places)
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and "failed again" in r.getMessage()]
    assert len(debug) == THREADS * FAILURES_PER_THREAD - PLACES


BAD_VALUES = {
    "OTEL_OPENSTACK_BODY_LIMIT": "lots",
    "OTEL_OPENSTACK_CAPTURE_BODIES": "perhaps",
    "OTEL_OPENSTACK_REDACT": "nope!",
    "OTEL_OPENSTACK_FLUSH_MILLIS": "-5",
    "OTEL_OPENSTACK_WAIT_SECONDS": "nan",
    "OTEL_OPENSTACK_EXPORT_TIMEOUT": "inf",
    "OTEL_OPENSTACK_SERVICE_TYPE_NAMES": "image",
    "OTEL_OPENSTACK_URL_NAMES": "=glance",
    "OTEL_OPENSTACK_SHOW_PROPAGATION_HEADERS": "2",
    "OTEL_OPENSTACK_WRITE_OUTPUTS": "",
}


def test_corrupt_settings_fall_back_to_defaults_and_warn_once_per_variable(caplog) -> None:
    """Every ``load()`` of a process reads the environment; a bad value is reported once, not per load."""
    caplog.set_level(logging.WARNING)
    loaded = [load(dict(BAD_VALUES)) for _ in range(20)]
    assert all(s == load({}) for s in loaded)  # every field at its default
    warned = warnings_of(caplog, "ignoring OTEL_OPENSTACK_")
    named = sorted(message.split()[2].rstrip(":") for message in warned)
    assert named == sorted(k for k, v in BAD_VALUES.items() if v)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "1e300", "9" * 400])
@pytest.mark.parametrize("name", ["OTEL_OPENSTACK_WAIT_SECONDS", "OTEL_OPENSTACK_EXPORT_TIMEOUT"])
def test_time_settings_are_finite_and_usable_as_timeouts(name: str, value: str) -> None:
    settings = load({name: value})
    seconds = getattr(settings, name[len("OTEL_OPENSTACK_"):].lower())
    assert math.isfinite(seconds) and 0 <= seconds <= threading.TIMEOUT_MAX
    threading.Event().wait(min(seconds, 0.001))  # a valid timeout: no OverflowError/ValueError


@pytest.mark.parametrize("value", ["99999999999999999", "9" * 400])
def test_flush_interval_is_usable_by_the_span_processor(value: str) -> None:
    millis = load({"OTEL_OPENSTACK_FLUSH_MILLIS": value}).flush_millis
    assert 0 < millis / 1000 <= threading.TIMEOUT_MAX


def test_collecting_announced_spans_gives_up_in_bounded_time(tmp_path) -> None:
    """The CLI waits for server spans its exchanges announced; a bad wait setting must not make that forever."""
    from otel_openstack.exporters.docs import OpenStackDocsExporter

    trace_id = "0af7651916cd43dd8448eb211c80319c"
    announced = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": "GET", "kind": 3,
        "attributes": [{"key": "openstack.http.response.traceresponse",
                        "value": {"stringValue": f"00-{trace_id}-b7ad6b7169203331-01"}}]}]}]}]}
    values = ("nan", "inf", "1e300")
    done = {value: threading.Event() for value in values}
    for value in values:  # side by side: each may take the default 5 s
        settings = load({"OTEL_OPENSTACK_WAIT_SECONDS": value}, spool_dir=str(tmp_path / value))
        exporter = OpenStackDocsExporter(settings)
        threading.Thread(target=lambda e=exporter, v=value: (e.collect(trace_id, [announced]), done[v].set()),
                         daemon=True).start()
    deadline = time.monotonic() + 12
    for value in values:
        assert done[value].wait(max(0.0, deadline - time.monotonic())), f"collect() never gave up with {value}"
