"""``otel-openstack render`` / ``traces``: the command line, its errors and exit statuses.

Usage and input errors are exactly one line on stderr and status 2, with
nothing written; damaged input is rendered only with ``--partial``.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from otel_openstack import cli

SOURCES = Path(__file__).parent / "sources"
sys.path.insert(0, str(SOURCES))

from tracebuilder import TRACE, document, server, sid, span  # noqa: E402
from tracebuilder import client as ours  # noqa: E402

OTHER = "0af7651916cd43dd8448eb211c80319c"


def _trace(trace_id: str = TRACE, command: str | None = "openstack image list", start: int = 0) -> dict:
    spans = [span("c1", "a0" if command else None, "client", "GET", start + 10, start + 20,
                  ours("GET", "http://h/image/v2/images", 200, "openstack"), trace=trace_id)]
    if command:
        spans.insert(0, span("a0", None, "internal", command, start, start + 30,
                             {"openstack.cli.command": command}, trace=trace_id))
    glance = [span("b1", "c1", "server", "GET /v2/images", start + 11, start + 19,
                   server("GET", "http://h/image/v2/images", 200, "glance-api"), trace=trace_id)]
    return document(({"service.name": "openstack"}, spans), ({"service.name": "glance-api"}, glance))


def _jsonl(*documents: dict) -> str:
    return "".join(json.dumps(d) + "\n" for d in documents)


@pytest.fixture
def cmd(tmp_path, capsys):
    """``cmd(*argv)`` -> (status, stdout, stderr lines)."""
    def run(*argv: str) -> tuple[int, str, list[str]]:
        try:
            status = cli.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse
            status = exc.code
        out, err = capsys.readouterr()
        return status, out, err.splitlines()
    return run


def _file(tmp_path: Path, content: str | bytes, name: str = "trace.json") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


# --- success ------------------------------------------------------------------------

def test_render_writes_the_folder_and_prints_it(cmd, tmp_path):
    source = _file(tmp_path, json.dumps(_trace()))
    status, out, err = cmd("render", source, "-o", tmp_path / "out")
    assert (status, out, err) == (0, f"{tmp_path / 'out'}\n", [])
    assert {"requests.log", "diagram.md", "body.md", "trace.json"} <= {p.name for p in (tmp_path / "out").iterdir()}


def test_rendering_a_rendered_folder_again_gives_the_same_bytes(cmd, tmp_path):
    """trace.json included: ``schemaUrl`` stays after ``spans``, where the SDK's encoder put it.

    ``first`` is written as the CLI's exporter writes its folder (the spooled
    OTLP JSON documents as they are), ``again`` by ``otel-openstack render``.
    """
    from otel_openstack import pipeline

    document = json.loads((SOURCES / "data" / "image-create.otlp.json").read_text())
    pipeline.write_folder(tmp_path / "first", pipeline.render_documents([document]).files)
    assert cmd("render", tmp_path / "first", "-o", tmp_path / "again")[0] == 0
    first = {p.name: p.read_bytes() for p in (tmp_path / "first").iterdir()}
    again = {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()}
    assert b'"schemaUrl"' in first["trace.json"]
    assert sorted(again) == sorted(first)
    assert [name for name in first if again[name] != first[name]] == []


def test_render_picks_a_trace_by_id_any_case(cmd, tmp_path):
    source = _file(tmp_path, _jsonl(_trace(TRACE), _trace(OTHER, "openstack server list", 100)))
    status, _, err = cmd("render", source, "-o", tmp_path / "out", "--trace", OTHER.upper())
    assert (status, err) == (0, [])
    written = json.loads((tmp_path / "out" / "trace.json").read_text())
    assert {s["traceId"] for rs in written["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]} == {OTHER}


def test_several_traces_one_cli_command_renders_it_with_a_note(cmd, tmp_path):
    noise = _trace(OTHER, None, 500)  # a service's background call, no CLI command
    source = _file(tmp_path, _jsonl(_trace(TRACE), noise))
    status, _, err = cmd("render", source, "-o", tmp_path / "out")
    assert status == 0
    assert err == [f"otel-openstack: warning: {source} holds 2 traces; rendering {TRACE} (openstack image list); "
                   f"choose another with --trace"]


def test_traces_lists_id_start_span_count_and_root(cmd, tmp_path):
    source = _file(tmp_path, _jsonl(_trace(TRACE), _trace(OTHER, None, 500)))
    status, out, err = cmd("traces", source)
    assert (status, err) == (0, [])
    assert out.splitlines() == [
        f"{TRACE}  2023-11-14T22:13:20Z      3 spans  openstack image list",
        f"{OTHER}  2023-11-14T22:13:20Z      2 spans  (openstack: GET)",
    ]


def test_traces_of_an_output_folder(cmd, tmp_path):
    source = _file(tmp_path, json.dumps(_trace()))
    assert cmd("render", source, "-o", tmp_path / "out")[0] == 0
    status, out, _ = cmd("traces", tmp_path / "out")
    assert (status, out) == (0, f"{TRACE}  2023-11-14T22:13:20Z      3 spans  openstack image list\n")


def test_installed_command_exit_status_and_one_line(tmp_path):
    """The real entry point, as users run it."""
    done = subprocess.run([str(Path(sys.executable).parent / "otel-openstack"), "render", str(tmp_path / "none.json"),
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", f"otel-openstack: {tmp_path / 'none.json'}: no such file\n")


# --- input errors: one line, status 2, nothing written ---------------------------------

@pytest.mark.parametrize("content, message", [
    ("", "{path}: the file is empty"),
    ("   \n\n", "{path}: the file is empty"),
    ("hello", "{path}: not JSON; expected OTLP JSON (resourceSpans), Jaeger JSON (data[].spans or "
              "result.resourceSpans) or Tempo JSON (batches)"),
    ('{"foo": 1, "bar": []}', "{path}: not a trace format otel-openstack knows (expected OTLP JSON (resourceSpans), "
                              "Jaeger JSON (data[].spans or result.resourceSpans) or Tempo JSON (batches); "
                              "top-level keys: bar, foo)"),
    ('{"resourceSpans": []}', "{path}: no spans in it, nothing to render"),
    ('{"data": [], "total": 0, "limit": 0, "offset": 0, "errors": null}', "{path}: no spans in it, nothing to render"),
    ('{"data": null, "total": 0, "limit": 0, "offset": 0, "errors": [{"code": 404, "msg": "trace not found"}]}',
     "{path}: Jaeger reported: trace not found"),
    ('{"error": {"httpCode": 404, "message": "trace not found"}}',
     "{path}: the trace store answered with an error: trace not found"),
    ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x"}]}]}]}', "{path}: a span has no traceId or spanId"),
    ('{"resourceSpans": {"a": 1}}', "{path}: resourceSpans is not a list"),
    ('{"data": [{"traceID": "zz", "spans": [{"spanID": "1"}], "processes": {}}]}',
     "{path}: traceID is not a hex id of at most 16 bytes: 'zz'"),
    ('{"resourceSpans": [\n  {"resource": {}, \n', "{path}: the JSON ends early at line 2, column 19 "
                                                   "(Expecting property name enclosed in double quotes): "
                                                   "the file looks truncated"),
    ('{"resourceSpans": [] ]', "{path}: not valid JSON at line 1, column 22 (Expecting ',' delimiter)"),
])
def test_unreadable_input_is_one_line_and_status_2(cmd, tmp_path, content, message):
    path = _file(tmp_path, content)
    status, out, err = cmd("render", path, "-o", tmp_path / "out")
    assert (status, out, err) == (2, "", ["otel-openstack: " + message.format(path=path)])
    assert not (tmp_path / "out").exists()


def test_missing_file_and_folder_without_trace(cmd, tmp_path):
    assert cmd("render", tmp_path / "none.json", "-o", tmp_path / "out") == (
        2, "", [f"otel-openstack: {tmp_path / 'none.json'}: no such file"])
    (tmp_path / "folder").mkdir()
    assert cmd("render", tmp_path / "folder", "-o", tmp_path / "out") == (
        2, "", [f"otel-openstack: {tmp_path / 'folder'} has no trace.json: not an otel-openstack output folder"])


def test_binary_and_compressed_files(cmd, tmp_path):
    binary = _file(tmp_path, b"\x0a\x8f\xff\xfe\x00", "spans.pb")
    assert cmd("render", binary, "-o", tmp_path / "out")[2] == [
        f"otel-openstack: {binary}: not a text file (protobuf? export traces as JSON)"]
    zstd = _file(tmp_path, b"\x28\xb5\x2f\xfd\x00\x00", "spans.zst")
    assert cmd("render", zstd, "-o", tmp_path / "out")[2] == [
        f"otel-openstack: {zstd}: zstd-compressed; decompress it first (zstd -d)"]
    broken = _file(tmp_path, gzip.compress(b'{"resourceSpans": []}')[:-6], "spans.gz")
    status, _, err = cmd("render", broken, "-o", tmp_path / "out")
    assert status == 2 and len(err) == 1 and err[0].startswith(f"otel-openstack: {broken}: a damaged gzip file (")


def test_unknown_trace_id_names_the_ones_there(cmd, tmp_path):
    source = _file(tmp_path, _jsonl(_trace(TRACE), _trace(OTHER, "openstack server list", 100)))
    wanted = "ffffffffffffffffffffffffffffffff"
    assert cmd("render", source, "-o", tmp_path / "out", "--trace", wanted) == (
        2, "", [f"otel-openstack: {source}: no trace {wanted} (it holds 2: {TRACE}, {OTHER})"])
    assert cmd("render", source, "-o", tmp_path / "out", "--trace", "not-hex") == (
        2, "", ["otel-openstack: not a trace id: 'not-hex' (expected 1 to 32 hex digits; "
                "shorter ones are zero-padded, as Jaeger pads 64-bit ids)"])


def test_several_cli_commands_need_trace(cmd, tmp_path):
    source = _file(tmp_path, _jsonl(_trace(TRACE), _trace(OTHER, "openstack server list", 100)))
    assert cmd("render", source, "-o", tmp_path / "out") == (
        2, "", [f"otel-openstack: {source} holds 2 traces: choose one with --trace "
                f"(`otel-openstack traces {source}` lists them)"])


# --- damaged input: refused, or rendered with --partial -------------------------------------

def test_truncated_last_line_refused_then_rendered_with_partial(cmd, tmp_path):
    lines = _jsonl(_trace(TRACE), _trace(OTHER, "openstack server list", 100)).splitlines(keepends=True)
    source = _file(tmp_path, lines[0] + lines[1][: len(lines[1]) // 2])  # a writer killed mid-line
    assert cmd("render", source, "-o", tmp_path / "out") == (
        2, "", [f"otel-openstack: {source}: line 2, the last, is cut short (Unterminated string starting at): "
                f"the writer stopped mid-line; --partial renders the lines before it"])
    assert not (tmp_path / "out").exists()
    status, out, err = cmd("render", source, "-o", tmp_path / "out", "--partial")
    assert (status, out) == (0, f"{tmp_path / 'out'}\n")
    assert err == [f"otel-openstack: warning: {source}: line 2, the last, is cut short "
                   f"(Unterminated string starting at): the writer stopped mid-line; skipped"]
    assert "GET /image/v2/images" in (tmp_path / "out" / "diagram.md").read_text()


def test_bad_middle_line_and_bad_span_skipped_only_with_partial(cmd, tmp_path):
    bad_span = _trace()
    bad_span["resourceSpans"][1]["scopeSpans"][0]["spans"].append({"traceId": TRACE, "spanId": "xyz"})
    source = _file(tmp_path, _jsonl(bad_span) + "{oops\n" + _jsonl(_trace(OTHER, None, 500)))
    assert cmd("render", source, "-o", tmp_path / "out") == (
        2, "", [f"otel-openstack: {source}: line 2 is not valid JSON (Expecting property name enclosed in double "
                f"quotes); --partial skips it"])
    source.write_text(_jsonl(bad_span))
    assert cmd("render", source, "-o", tmp_path / "out") == (
        2, "", [f"otel-openstack: {source}: span id is neither hex nor base64: 'xyz'"])
    source.write_text(_jsonl(bad_span) + "{oops\n" + _jsonl(_trace(OTHER, None, 500)))
    status, _, err = cmd("render", source, "-o", tmp_path / "out", "--partial")
    assert status == 0
    assert err == [
        f"otel-openstack: warning: {source}: line 2 is not valid JSON (Expecting property name enclosed in double "
        f"quotes); skipped",
        f"otel-openstack: warning: {source}: line 1: span 4 skipped: span id is neither hex nor base64: 'xyz'",
        f"otel-openstack: warning: {source} holds 2 traces; rendering {TRACE} (openstack image list); "
        f"choose another with --trace",
    ]
    written = json.loads((tmp_path / "out" / "trace.json").read_text())  # what was read, as OTLP JSON
    assert sorted(s["spanId"] for rs in written["resourceSpans"] for ss in rs["scopeSpans"]
                  for s in ss["spans"]) == sorted([sid("a0"), sid("b1"), sid("c1")])


# --- usage errors ------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["render", "-o", "out"], "otel-openstack: give either a trace file or folder, or --jaeger URL"),
    (["render", "x.json", "--jaeger", "http://127.0.0.1:16686", "-o", "out"],
     "otel-openstack: give either a trace file or folder, or --jaeger URL"),
    (["render", "--jaeger", "http://127.0.0.1:16686", "-o", "out"],
     "otel-openstack: --jaeger needs --trace ID (otel-openstack traces --jaeger URL lists them)"),
    (["render", "--jaeger", "127.0.0.1:16686", "--trace", TRACE, "-o", "out"],
     "otel-openstack: --jaeger needs an http(s) URL such as http://127.0.0.1:16686, not '127.0.0.1:16686'"),
    (["render", "x.json"], "otel-openstack: the following arguments are required: -o/--output "
                           "(see otel-openstack render --help)"),
    (["render", "x.json", "-o", "out", "--timeout", "0"],
     "otel-openstack: argument --timeout: expected a number of seconds above 0, not '0' "
     "(see otel-openstack render --help)"),
    (["traces", "--jaeger", "http://h:16686", "--lookback", "soon"],
     "otel-openstack: argument --lookback: expected a duration such as 30m, 24h or 7d, not 'soon' "
     "(see otel-openstack traces --help)"),
])
def test_usage_errors_are_one_line_and_status_2(cmd, argv, message):
    status, out, err = cmd(*argv)
    assert (status, out) == (2, "")
    assert err == [message]


def test_unknown_command_is_one_line(cmd):
    status, out, err = cmd("frobnicate")
    assert (status, out, len(err)) == (2, "", 1)
    # argparse quotes the choices differently across Python versions
    assert err[0].startswith("otel-openstack: argument command: invalid choice: 'frobnicate' (choose from ")
    assert err[0].endswith(" (see otel-openstack --help)")


def test_output_path_that_is_a_file_is_one_line(cmd, tmp_path):
    source = _file(tmp_path, json.dumps(_trace()))
    blocker = _file(tmp_path, "not a folder", "out")
    status, out, err = cmd("render", source, "-o", blocker)
    assert (status, out, len(err)) == (2, "", 1)
    assert err[0].startswith("otel-openstack: ") and str(blocker) in err[0]


def test_rendering_options_reach_the_renderers_and_bad_rule_files_are_one_line(cmd, tmp_path):
    source = _file(tmp_path, json.dumps(_trace()))
    status, _, err = cmd("render", source, "-o", tmp_path / "out", "--filters", tmp_path / "none.json")
    assert (status, len(err)) == (2, 1)
    assert err[0].startswith("otel-openstack: ") and "none.json" in err[0]
    assert not (tmp_path / "out").exists()
    assert cmd("render", source, "-o", tmp_path / "out", "--show-propagation-headers", "--no-activations")[0] == 0
