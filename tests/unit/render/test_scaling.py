"""The renderer's work grows linearly with the trace: counted operations, never timings.

Each test counts the steps a quadratic implementation would repeat (a scan of
every message per diagram part, a probe of every name taken so far per new
placeholder) on a trace large enough for the difference to be plain.
"""

from __future__ import annotations

import uuid

from otel_openstack.model.types import Exchange, Trace
from otel_openstack.pipeline import render_trace
from otel_openstack.render import mermaid, structure, view
from otel_openstack.render.options import RenderOptions
from otel_openstack.render.placeholders import _Namer, apply_placeholders

EXCHANGES = 600


def image_get(number: int) -> Exchange:
    image_id = str(uuid.UUID(int=number + 1))
    return Exchange(caller="openstack", callee="glance-api", method="GET",
                    url=f"http://h/v2/images/{image_id}", path=f"/v2/images/{image_id}",
                    status_code=200, status_text="OK")


def big_trace() -> Trace:
    return Trace("0af7651916cd43dd8448eb211c80319c", tuple(image_get(n) for n in range(EXCHANGES)))


def test_diagram_parts_do_not_each_rescan_the_whole_trace(monkeypatch) -> None:
    scanned: list[int] = []
    original = mermaid.participant_names

    def counting(msgs):
        scanned.append(len(msgs))
        return original(msgs)

    for module in (mermaid, structure, view):
        monkeypatch.setattr(module, "participant_names", counting, raising=False)
    files = render_trace(big_trace(), RenderOptions(split_size=4))
    assert "diagram-300.md" in files  # 300 parts
    messages = 2 * EXCHANGES
    # Each part names its own participants (its own messages: 2 * messages in all);
    # the whole trace's aliases are computed once, not once per part.
    assert sum(scanned) <= 3 * messages, f"{sum(scanned)} messages scanned for {messages}"


class CountingSet(set):
    probes = 0

    def __contains__(self, item: object) -> bool:
        CountingSet.probes += 1
        return super().__contains__(item)


def test_numbered_placeholder_names_are_found_without_probing_every_taken_name() -> None:
    namer = _Namer(())
    namer.used = CountingSet()
    CountingSet.probes = 0
    names = [namer.name_for(f"value-{n}", "image_id") for n in range(EXCHANGES)]
    assert names[:3] == ["image_id", "image_id_2", "image_id_3"] and names[-1] == f"image_id_{EXCHANGES}"
    assert CountingSet.probes <= 2 * EXCHANGES, f"{CountingSet.probes} probes for {EXCHANGES} names"


def test_numbered_names_skip_names_another_kind_took() -> None:
    namer = _Namer(())
    assert [namer.name_for("a", "x"), namer.name_for("b", "x_3"), namer.name_for("c", "x"),
            namer.name_for("d", "x"), namer.name_for("e", "x")] == ["x", "x_3", "x_2", "x_4", "x_5"]


def test_placeholders_of_a_big_trace_name_every_id() -> None:
    shown, legend = apply_placeholders(big_trace())
    assert len(legend) == EXCHANGES
    assert shown.exchanges[-1].path == f"/v2/images/{{image_id_{EXCHANGES}}}"


def test_each_body_is_rendered_once_for_the_log_and_body_md(monkeypatch) -> None:
    from otel_openstack import pipeline
    from otel_openstack.render import bodies, log, markdown

    calls: list[object] = []
    original = bodies.render_body

    def counting(body):
        calls.append(body)
        return original(body)

    for module in (bodies, log, markdown, pipeline):
        monkeypatch.setattr(module, "render_body", counting, raising=False)
    trace = big_trace()
    files = render_trace(trace, RenderOptions())
    assert files["requests.log"].count("### (openstack) REQ") == EXCHANGES
    assert len(calls) == 2 * EXCHANGES  # one per message: pretty-printed once, used twice


def test_render_pauses_the_cyclic_collector_and_restores_it(monkeypatch) -> None:
    import gc

    from otel_openstack import pipeline

    seen: list[bool] = []
    original = pipeline.render_trace

    def spying(trace, options):
        seen.append(gc.isenabled())
        return original(trace, options)

    monkeypatch.setattr(pipeline, "render_trace", spying)
    assert gc.isenabled()
    pipeline.render([])
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        pipeline.render([])
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()

    def failing(trace, options):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "render_trace", failing)
    try:
        pipeline.render([])
    except RuntimeError:
        pass
    assert gc.isenabled()
