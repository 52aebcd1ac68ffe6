"""One real trace, converted into every input format by independent code: the same outputs.

The trace is a real ``openstack image create`` on the local cloud (the CLI,
glance-api and keystone; 19 spans), as its ``trace.json``.  The converters in
``converters.py`` follow each format's documentation and share no code with
the readers.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import converters
from otel_openstack import cli
from otel_openstack.sources import detect, encode
from otel_openstack.sources.otlp_json import spans_from_document

DATA = Path(__file__).parent / "data"
TRACE_ID = "e26e3b16a9bbc36ace675cfbf790d5bc"
OUTPUTS = ("requests.log", "diagram.md", "body.md")


@pytest.fixture(scope="module")
def original() -> dict:
    return json.loads((DATA / "image-create.otlp.json").read_text())


@pytest.fixture(scope="module")
def reference(original, tmp_path_factory) -> dict[str, str]:
    """The outputs rendered from the OTLP JSON the CLI wrote."""
    folder = tmp_path_factory.mktemp("reference")
    source = folder / "trace.json"
    source.write_text(json.dumps(original))
    assert cli.main(["render", str(source), "-o", str(folder / "out")]) == 0
    return {name: (folder / "out" / name).read_text() for name in (*OUTPUTS, "trace.json")}


def _write(path: Path, content: object) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1))
    return path


FORMATS = {
    "otlp-json": (lambda d: d, "otlp"),
    "otlp-jsonl": (converters.to_otlp_jsonl, "otlp jsonl"),
    "otlp-protobuf-json": (converters.to_protobuf_json, "otlp"),
    "tempo": (converters.to_tempo, "tempo"),
    "tempo-1.x": (lambda d: converters.to_tempo(d, legacy=True), "tempo"),
    "jaeger-v1": (converters.to_jaeger_v1, "jaeger-v1"),
    "jaeger-v1-short-ids": (lambda d: converters.to_jaeger_v1(d, drop_leading_zeros=True), "jaeger-v1"),
    "jaeger-v1-ui-trace": (lambda d: converters.to_jaeger_v1(d)["data"][0], "jaeger-v1"),
    "jaeger-v3": (converters.to_jaeger_v3, "jaeger-v3"),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_renders_byte_identical_outputs(name, original, reference, tmp_path, capsys):
    convert, expected_format = FORMATS[name]
    source = _write(tmp_path / f"trace.{name}", convert(original))
    assert detect.load(source).format == expected_format
    assert cli.main(["render", str(source), "-o", str(tmp_path / "out")]) == 0
    for output in OUTPUTS:
        assert (tmp_path / "out" / output).read_text() == reference[output], output
    assert capsys.readouterr().err == ""  # no warning: nothing was lost on the way


@pytest.mark.parametrize("name", FORMATS)
def test_trace_json_is_always_otlp_json_and_renders_the_same_again(name, original, reference, tmp_path):
    convert, _ = FORMATS[name]
    source = _write(tmp_path / f"trace.{name}", convert(original))
    assert cli.main(["render", str(source), "-o", str(tmp_path / "once")]) == 0
    written = json.loads((tmp_path / "once" / "trace.json").read_text())
    assert set(written) == {"resourceSpans"}
    spans = list(spans_from_document(written))
    assert len(spans) == 19 and {s.trace_id for s in spans} == {TRACE_ID}
    assert all(len(s.span_id) == 16 for s in spans)
    assert cli.main(["render", str(tmp_path / "once"), "-o", str(tmp_path / "twice")]) == 0
    for output in OUTPUTS:
        assert (tmp_path / "twice" / output).read_text() == reference[output], output


def test_otlp_input_is_kept_whole_in_trace_json(original, reference):
    """Scope names, flags: whatever the input had survives (ids normalised to hex)."""
    assert json.loads(reference["trace.json"]) == encode.select([original], TRACE_ID)
    kept = json.loads(reference["trace.json"])
    scopes = {ss["scope"]["name"] for rs in kept["resourceSpans"] for ss in rs["scopeSpans"]}
    assert scopes == {"otel_openstack.instrumentation.cli", "otel_openstack.instrumentation.keystoneauth",
                      "opentelemetry.instrumentation.wsgi"}


def test_tempo_base64_trace_json_gets_hex_ids(original, tmp_path):
    source = _write(tmp_path / "tempo.json", converters.to_tempo(original))
    assert cli.main(["render", str(source), "-o", str(tmp_path / "out")]) == 0
    written = json.loads((tmp_path / "out" / "trace.json").read_text())
    ids = [s["traceId"] for rs in written["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert set(ids) == {TRACE_ID}


def test_jaeger_spans_equal_the_otlp_spans_but_for_microseconds(original):
    from_otlp = sorted(spans_from_document(original), key=lambda s: s.span_id)
    from_jaeger = sorted(detect.load_text(json.dumps(converters.to_jaeger_v1(original))).spans,
                         key=lambda s: s.span_id)
    assert len(from_jaeger) == len(from_otlp) == 19
    for a, b in zip(from_otlp, from_jaeger):
        assert (a.trace_id, a.span_id, a.parent_id, a.name, a.kind, a.status_code, a.status_message) == \
            (b.trace_id, b.span_id, b.parent_id, b.name, b.kind, b.status_code, b.status_message)
        assert dict(a.attributes) == dict(b.attributes)  # arrays (headers) un-flattened
        assert dict(a.resource) == dict(b.resource)
        assert b.start_ns == a.start_ns // 1000 * 1000


def test_gzip_compressed_file_is_read(original, reference, tmp_path):
    source = tmp_path / "spans.jsonl.gz"
    source.write_bytes(gzip.compress(converters.to_otlp_jsonl(original).encode()))
    assert cli.main(["render", str(source), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "diagram.md").read_text() == reference["diagram.md"]


def test_encode_is_the_inverse_of_the_otlp_reader(original):
    spans = sorted(spans_from_document(original), key=lambda s: s.span_id)
    again = sorted(spans_from_document(encode.document(spans)), key=lambda s: s.span_id)
    assert again == spans  # every field, every attribute type
    # one resourceSpans entry per process: the keystone and glance batches are merged
    assert len(encode.document(spans)["resourceSpans"]) == 3
