"""enable-wsgi / disable-wsgi: the pure edits, the command, and the shipped paste ini files.

The shipped files (glance, nova, cinder, neutron, swift; see conftest.py) are
edited through the command as a user would, then read back by PasteDeploy
itself: its ConfigLoader gives every pipeline (checked against the original's,
with our filter inserted at the right place), and ``loadcontext``/``loadfilter``
resolve our filter to ``otel_openstack.instrumentation.wsgi:filter_factory``
with the right ``service_name``.  glance is installed, so its edited file is
also loaded whole, every deployment flavor, by glance's own ``load_paste_app``
(PasteDeploy's ``loadapp``) in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paste.deploy import loadwsgi

from otel_openstack.commands import wsgi_enable
from otel_openstack.deploy import paste_ini
from otel_openstack.deploy.paste_ini import FILTER_NAME, PasteIniError, disable, enable
from otel_openstack.instrumentation.wsgi import filter_factory

HERE = Path(__file__).resolve().parent

SAMPLE = """\
# a comment first
[composite:main]
use = egg:Paste#urlmap
/: api
/v2: api_v2

[pipeline:api]
# comment inside
pipeline = cors request_id authtoken context apiapp

[composite:api_v2]
use = call:myservice.api.auth:pipeline_factory
noauth = cors request_id noauth apiapp
keystone = cors  request_id\tauthtoken context apiapp

[pipeline:multi]
pipeline =
    cors request_id
    authtoken context
    apiapp

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[app:apiapp]
paste.app_factory = myservice.api:app_factory
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = wsgi_enable.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def paste_pipelines(path: Path) -> dict[str, list[str]]:
    """Every pipeline as PasteDeploy's own ConfigLoader reads the file: label -> filter names."""
    parser = loadwsgi.ConfigLoader(str(path)).parser
    defaults = set(parser.defaults())
    found = {}
    for section in parser.sections():
        if section.startswith("pipeline:"):
            found[f"[{section}] pipeline"] = parser.get(section, "pipeline").split()
        elif section.startswith("composite:"):
            own = [k for k in parser.options(section) if k not in defaults]
            factory = parser.get(section, "use") if "use" in own else parser.get(section, "paste.composite_factory")
            if "pipeline_factory" not in factory:
                continue
            for key in own:
                if key not in ("use", "paste.composite_factory"):
                    found[f"[{section}] {key}"] = parser.get(section, key).split()
    return found


def expected(names: list[str], before: str | None = "authtoken", after: str | None = None) -> list[str]:
    """Where the filter must go: before/after the anchor, first when the pipeline has none."""
    out = list(names)
    if after and after in names[:-1]:
        out.insert(names.index(after) + 1, FILTER_NAME)
    elif not after and before in names:
        out.insert(names.index(before), FILTER_NAME)
    else:
        out.insert(0, FILTER_NAME)
    return out


def assert_filter_resolves(path: Path, service: str) -> None:
    """PasteDeploy finds [filter:otel_openstack], imports our factory, passes service_name."""
    uri = f"config:{path}"
    context = loadwsgi.loadcontext(loadwsgi.FILTER, uri, name=FILTER_NAME)
    assert context.object is filter_factory
    assert context.local_conf == {"service_name": service}
    made = loadwsgi.loadfilter(uri, name=FILTER_NAME)
    assert callable(made) and made.__qualname__ == "filter_factory.<locals>.factory"


# --- the pure edits ------------------------------------------------------------------------------


def test_sample_pipelines_get_the_filter_before_authtoken_or_first():
    edit = enable(SAMPLE, service_name="myservice-api")
    lines = edit.text.splitlines()
    assert "pipeline = cors request_id otel_openstack authtoken context apiapp" in lines
    assert "noauth = otel_openstack cors request_id noauth apiapp" in lines
    assert "keystone = cors  request_id\totel_openstack authtoken context apiapp" in lines
    assert "    otel_openstack authtoken context" in lines
    assert "/: api" in lines and "use = egg:Paste#urlmap" in lines  # urlmap composites are no pipelines
    assert edit.text.endswith(f"\n\n{paste_ini.MARKER}\n[filter:otel_openstack]\n"
                              f"paste.filter_factory = {paste_ini.FACTORY}\nservice_name = myservice-api\n")
    assert edit.notes == ["[composite:api_v2] noauth: no authtoken in it, otel_openstack put first"]
    assert len(edit.pipelines) == 4
    assert disable(edit.text).text == SAMPLE


def test_configparser_reads_the_pipelines_we_meant(tmp_path: Path):
    before = tmp_path / "before.ini"
    before.write_text(SAMPLE)
    after = tmp_path / "after.ini"
    after.write_text(enable(SAMPLE, service_name="x").text)
    old, new = paste_pipelines(before), paste_pipelines(after)
    assert set(old) == set(new) == {"[pipeline:api] pipeline", "[composite:api_v2] noauth",
                                    "[composite:api_v2] keystone", "[pipeline:multi] pipeline"}
    for label, names in old.items():
        assert new[label] == expected(names), label


def test_after_anchor_and_missing_anchor():
    edit = enable(SAMPLE, service_name="x", after="request_id")
    assert "pipeline = cors request_id otel_openstack authtoken context apiapp" in edit.text
    assert "    cors request_id otel_openstack\n    authtoken context" in edit.text  # end of a continuation line
    assert disable(edit.text).text == SAMPLE
    edit = enable(SAMPLE, service_name="x", after="apiapp")  # nothing goes after the app
    assert "pipeline = otel_openstack cors request_id authtoken context apiapp" in edit.text
    assert all("no apiapp in it" in note for note in edit.notes) and len(edit.notes) == 4
    edit = enable(SAMPLE, service_name="x", before="apiapp")
    assert "pipeline = cors request_id authtoken context otel_openstack apiapp" in edit.text


def test_enable_twice_changes_nothing_and_disable_twice_too():
    once = enable(SAMPLE, service_name="x")
    twice = enable(once.text, service_name="x")
    assert not twice.changed and twice.text == once.text and twice.pipelines == []
    assert enable(once.text).text == once.text  # no --service-name: the section's is kept
    back = disable(once.text)
    assert back.changed and back.section_removed
    assert not disable(back.text).changed


def test_new_service_name_updates_our_section_only():
    once = enable(SAMPLE, service_name="old")
    again = enable(once.text, service_name="new")
    assert "service_name = new\n" in again.text and "service_name = old" not in again.text
    assert disable(again.text).text == SAMPLE
    handmade = SAMPLE + "\n[filter:otel_openstack]\npaste.filter_factory = " + paste_ini.FACTORY + "\n"
    edit = enable(handmade, service_name="new")
    assert edit.text.count("[filter:otel_openstack]") == 1 and "service_name" not in edit.text
    assert any("not written by enable-wsgi" in note for note in edit.notes)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("final", [True, False])
def test_line_endings_and_missing_final_newline_round_trip(newline: str, final: bool):
    text = SAMPLE.replace("\n", newline)
    if not final:
        text = text.rstrip(newline)
    edit = enable(text, service_name="x")
    assert edit.text.endswith("service_name = x" + (newline if final else ""))
    body = edit.text.replace(newline, "")
    assert "\n" not in body and "\r" not in body  # only the file's own line ending is used
    assert disable(edit.text).text == text
    assert enable(edit.text, service_name="x").text == edit.text


def test_service_name_is_guessed_from_the_factories():
    assert enable(SAMPLE).service_name == "myservice-api"
    nova = SAMPLE.replace("myservice.api.auth", "nova.api.auth").replace("myservice.api", "nova.api")
    assert enable(nova).service_name == "nova-api"


@pytest.mark.parametrize("text, message", [
    ("hello\n", "not a paste ini (File contains no section headers"),
    ("[DEFAULT]\na = 1\n", "not a paste ini (no [app:...]"),
    ("[app:main]\nuse = egg:x\n", "no pipeline found"),
    ("[app:main]\nuse = egg:x\n[app:main]\nuse = egg:y\n", "not a paste ini (While reading"),
    ("[composite:main]\nuse = egg:Paste#urlmap\n/: x\n[app:x]\nuse = egg:x\n", "no pipeline found"),
])
def test_input_errors(text: str, message: str):
    with pytest.raises(PasteIniError, match=message.replace("[", r"\[").replace("(", r"\(")):
        enable(text, source="f.ini")
    with pytest.raises(PasteIniError):
        disable(text, source="f.ini")


_WORD = st.sampled_from(["cors", "request_id", "authtoken", "context", "faultwrap", "versionnegotiation"])
_GAP = st.sampled_from([" ", "  ", "\t", " \t "])


@st.composite
def _pipeline_option(draw: st.DrawFn, key: str) -> tuple[str, list[str]]:
    words = draw(st.lists(_WORD, min_size=0, max_size=5)) + ["app"]
    delimiter = draw(st.sampled_from([" = ", "=", ": ", " =  "]))
    lines, current = [], []
    for word in words:
        current.append(word)
        if draw(st.booleans()) and word != words[-1]:
            lines.append(current)
            current = []
    lines.append(current)
    text = key + delimiter + draw(_GAP).join(lines[0])
    for extra in lines[1:]:
        text += "\n" + draw(st.sampled_from([" ", "    ", "\t"])) + draw(_GAP).join(extra)
        if draw(st.booleans()):
            text += "\n# a comment between continuation lines"
    return text + draw(st.sampled_from(["", " ", "\t"])), words


@st.composite
def _paste_file(draw: st.DrawFn) -> tuple[str, dict[str, list[str]]]:
    parts, pipelines = ["[app:app]\npaste.app_factory = svc.api:factory\n"], {}
    for index in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            option, words = draw(_pipeline_option("pipeline"))
            parts.append(f"[pipeline:p{index}]\n{option}\n")
            pipelines[f"[pipeline:p{index}] pipeline"] = words
        else:
            body = ["use = call:svc.api.auth:pipeline_factory"]
            for key in draw(st.lists(st.sampled_from(["noauth", "keystone", "keystone+cache"]),
                                     min_size=1, max_size=3, unique=True)):
                option, words = draw(_pipeline_option(key))
                body.append(option)
                pipelines[f"[composite:c{index}] {key}"] = words
            parts.append(f"[composite:c{index}]\n" + "\n".join(body) + "\n")
        if draw(st.booleans()):
            parts.append("# pipeline = commented out authtoken app\n\n")
    text = "\n".join(parts)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = text.replace("\n", newline)
    if draw(st.booleans()):
        text = text.rstrip(newline)
    return text, pipelines


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_paste_file(), anchor=st.sampled_from([("authtoken", None), (None, "request_id"), ("context", None)]))
def test_any_layout_round_trips_and_lands_where_paste_reads_it(case, anchor, tmp_path_factory):
    text, pipelines = case
    before, after = anchor
    edit = enable(text, service_name="svc-api", before=before, after=after)
    assert disable(edit.text).text == text
    assert enable(edit.text, service_name="svc-api", before=before, after=after).text == edit.text
    path = tmp_path_factory.mktemp("ini") / "x.ini"
    path.write_bytes(edit.text.encode())
    read = paste_pipelines(path)
    assert set(read) == set(pipelines)
    for label, words in pipelines.items():
        assert read[label] == expected(words, before=before or "authtoken", after=after), label
    assert_filter_resolves(path, "svc-api")


# --- the command ---------------------------------------------------------------------------------


def test_command_enable_dry_run_idempotence_disable(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "api-paste.ini"
    path.write_text(SAMPLE)
    os.chmod(path, 0o640)
    backup = paste_ini.backup_path(path)

    status, out, err = run(["enable-wsgi", str(path), "--dry-run", "--service-name", "svc"], capsys)
    assert status == 0 and out.startswith(f"--- {path}\n+++ {path}\n@@")
    assert "+[filter:otel_openstack]" in out and "dry run: nothing written" in err
    assert path.read_text() == SAMPLE and not backup.exists()

    status, out2, err = run(["enable-wsgi", str(path), "--service-name", "svc"], capsys)
    assert status == 0 and out2 == out
    assert backup.read_text() == SAMPLE and path.read_text() == enable(SAMPLE, service_name="svc").text
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert "note: [composite:api_v2] noauth: no authtoken in it, otel_openstack put first" in err
    assert f"the original is in {backup}" in err

    enabled = path.read_bytes()
    backup.write_text("an older backup\n")
    status, out, err = run(["enable-wsgi", str(path), "--service-name", "svc"], capsys)
    assert status == 0 and out == "" and "nothing to change" in err
    assert path.read_bytes() == enabled and backup.read_text() == "an older backup\n"

    status, out, err = run(["disable-wsgi", str(path), "--dry-run"], capsys)
    assert status == 0 and "-[filter:otel_openstack]" in out and path.read_bytes() == enabled
    status, out, err = run(["disable-wsgi", str(path)], capsys)
    assert status == 0 and path.read_text() == SAMPLE
    assert "backup" in err and backup.exists()  # it differs from the restored file: kept
    status, out, err = run(["disable-wsgi", str(path)], capsys)
    assert status == 0 and out == "" and "nothing to change" in err


def test_command_removes_a_backup_identical_to_the_restored_file(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "api-paste.ini"
    path.write_text(SAMPLE)
    assert run(["enable-wsgi", str(path)], capsys)[0] == 0
    assert paste_ini.backup_path(path).exists()
    status, _, err = run(["disable-wsgi", str(path)], capsys)
    assert status == 0 and not paste_ini.backup_path(path).exists() and "removed" in err
    assert path.read_text() == SAMPLE


def test_command_follows_a_symlink(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    real = tmp_path / "real.ini"
    real.write_text(SAMPLE)
    link = tmp_path / "link.ini"
    link.symlink_to(real)
    assert run(["enable-wsgi", str(link)], capsys)[0] == 0
    assert link.is_symlink() and "otel_openstack" in real.read_text()


@pytest.mark.parametrize("argv, message", [
    (["enable-wsgi", "{tmp}/missing.ini"], "missing.ini: no such file"),
    (["enable-wsgi", "{tmp}"], "is a folder, not a paste ini"),
    (["enable-wsgi", "{tmp}/text.ini"], "not a paste ini"),
    (["enable-wsgi", "{tmp}/app.ini"], "no pipeline found"),
    (["disable-wsgi", "{tmp}/binary.ini"], "not a paste ini (not UTF-8 text)"),
    (["enable-wsgi"], "the following arguments are required: PASTE_INI"),
    (["enable-wsgi", "{tmp}/app.ini", "--before", "a", "--after", "b"], "not allowed with argument"),
    (["enable-wsgi", "{tmp}/app.ini", "--bogus"], "unrecognized arguments: --bogus"),
    (["enable-wsgi", "{tmp}/app.ini", "--service-name", "glance api"], "expected one word without spaces"),
    (["enable-wsgi", "{tmp}/app.ini", "--before", ""], "expected one word without spaces"),
])
def test_command_input_errors_are_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        argv: list[str], message: str):
    (tmp_path / "text.ini").write_text("just text\n")
    (tmp_path / "app.ini").write_text("[app:main]\nuse = egg:x\n")
    (tmp_path / "binary.ini").write_bytes(b"[app:main]\xff\xfe\n")
    status, out, err = run([a.format(tmp=tmp_path) for a in argv], capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("otel-openstack: ") and message in err
    assert "Traceback" not in err


def test_command_as_a_program_prints_no_traceback(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "otel_openstack.commands.wsgi_enable", "enable-wsgi",
                           str(tmp_path / "nope.ini")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"otel-openstack: {tmp_path / 'nope.ini'}: no such file\n"


def test_otel_openstack_command_has_both_subcommands(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from otel_openstack import cli

    path = tmp_path / "api-paste.ini"
    path.write_text(SAMPLE)
    assert cli.main(["enable-wsgi", str(path), "--service-name", "svc"]) == 0
    assert cli.main(["disable-wsgi", str(path)]) == 0
    assert path.read_text() == SAMPLE
    assert cli.main(["enable-wsgi", str(tmp_path / "nope.ini")]) == 2
    assert capsys.readouterr().err.endswith(f"otel-openstack: {tmp_path / 'nope.ini'}: no such file\n")


def test_register_adds_both_subcommands():
    import argparse

    top = argparse.ArgumentParser(prog="otel-openstack")
    wsgi_enable.register(top.add_subparsers(dest="command"))
    args = top.parse_args(["enable-wsgi", "x.ini", "--after", "versionnegotiation", "--service-name", "g"])
    assert (args.func, args.paste_ini, args.after, args.before, args.service_name, args.dry_run) == (
        wsgi_enable.cmd_enable, "x.ini", "versionnegotiation", None, "g", False)
    assert top.parse_args(["disable-wsgi", "x.ini"]).func is wsgi_enable.cmd_disable


# --- the shipped files ---------------------------------------------------------------------------


def test_shipped_file_enable_is_idempotent_and_disable_restores_it_byte_for_byte(
        shipped, shipped_copy: Path, capsys: pytest.CaptureFixture[str]):
    original = shipped.data
    status, diff, err = run(["enable-wsgi", str(shipped_copy), "--service-name", shipped.service], capsys)
    assert status == 0, err
    enabled = shipped_copy.read_bytes()
    assert paste_ini.backup_path(shipped_copy).read_bytes() == original
    assert diff == paste_ini.unified_diff(shipped.text, enabled.decode(), str(shipped_copy))

    # only pipeline lines changed (by our name alone), plus our block at the end
    old_lines, new_lines = shipped.text.splitlines(), enabled.decode().splitlines()
    block = new_lines[len(old_lines):]
    assert block == ["", paste_ini.MARKER, "[filter:otel_openstack]", f"paste.filter_factory = {paste_ini.FACTORY}",
                     f"service_name = {shipped.service}"]
    for old, new in zip(old_lines, new_lines):
        assert new == old or new.replace(FILTER_NAME + " ", "", 1) == old, new

    assert run(["enable-wsgi", str(shipped_copy), "--service-name", shipped.service], capsys)[:2] == (0, "")
    assert shipped_copy.read_bytes() == enabled
    assert run(["disable-wsgi", str(shipped_copy)], capsys)[0] == 0
    assert shipped_copy.read_bytes() == original
    assert not paste_ini.backup_path(shipped_copy).exists()


@pytest.mark.parametrize("where", [{}, {"after": "versionnegotiation"}])
def test_shipped_file_loads_with_pastedeploy(shipped, shipped_copy: Path, tmp_path: Path, where: dict,
                                             capsys: pytest.CaptureFixture[str]):
    original = tmp_path / "original.ini"
    original.write_bytes(shipped.data)
    argv = ["enable-wsgi", str(shipped_copy)] + (["--after", where["after"]] if where else [])
    status, _, err = run(argv, capsys)  # no --service-name: guessed from the file
    assert status == 0, err
    old, new = paste_pipelines(original), paste_pipelines(shipped_copy)
    assert old and set(old) == set(new)
    for label, names in old.items():
        assert new[label] == expected(names, after=where.get("after")), label
    for label, names in old.items():
        anchor = where.get("after", "authtoken")
        if anchor not in names[:-1 if where else None]:
            assert f"note: {label}: no {anchor} in it, otel_openstack put first" in err
    assert_filter_resolves(shipped_copy, shipped.service)


def test_shipped_swift_keeps_its_commented_keystone_pipeline(shipped_by_name, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "proxy-server.conf"
    path.write_bytes(shipped_by_name("swift-proxy-server").data)
    assert run(["enable-wsgi", str(path)], capsys)[0] == 0
    commented = [line for line in path.read_text().splitlines() if line.startswith("#pipeline =")]
    assert commented and all(FILTER_NAME not in line for line in commented)


@pytest.mark.parametrize("variant", ["crlf", "no-final-newline"])
def test_shipped_file_variants_round_trip(shipped, tmp_path: Path, variant: str,
                                          capsys: pytest.CaptureFixture[str]):
    text = shipped.text.replace("\n", "\r\n") if variant == "crlf" else shipped.text.rstrip("\n")
    path = tmp_path / shipped.filename
    path.write_bytes(text.encode())
    assert run(["enable-wsgi", str(path)], capsys)[0] == 0
    enabled = path.read_bytes().decode()
    if variant == "crlf":
        assert enabled.count("\n") == enabled.count("\r\n") and enabled.endswith("\r\n")
    else:
        assert not enabled.endswith("\n")
    assert_filter_resolves(path, shipped.service)
    assert run(["disable-wsgi", str(path)], capsys)[0] == 0
    assert path.read_bytes() == text.encode()


@pytest.mark.parametrize("where", [[], ["--after", "versionnegotiation"]], ids=["before-authtoken", "after-vn"])
def test_glance_loads_whole_with_loadapp_every_flavor(shipped_by_name, tmp_path: Path, where: list[str],
                                                      capsys: pytest.CaptureFixture[str]):
    glance = shipped_by_name("glance-api")
    path = tmp_path / "glance-api-paste.ini"
    path.write_bytes(glance.data)
    assert run(["enable-wsgi", str(path), "--service-name", "glance-api", *where], capsys)[0] == 0
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
           "OTEL_LOGS_EXPORTER": "none", "OTEL_OPENSTACK_SPOOL_DIR": str(tmp_path / "spool")}
    done = subprocess.run([sys.executable, str(HERE / "glance_loadapp.py"), str(path), str(tmp_path / "work")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    chains = json.loads(done.stdout)
    pipelines = paste_pipelines(path)
    assert set(chains) == {"default", "caching", "cachemanagement", "keystone", "keystone+caching",
                           "keystone+cachemanagement"}
    for flavor, chain in chains.items():
        names = pipelines[f"[composite:api] {flavor}"]
        # one WSGI object per pipeline word (filters, then rootapp's URL map), in the same order
        assert len(chain) == len(names), (flavor, chain)
        ours = [i for i, entry in enumerate(chain) if entry["class"].endswith(".OpenStackWSGIMiddleware")]
        assert ours == [names.index(FILTER_NAME)], (flavor, chain)
        assert chain[ours[0]]["service_name"] == "glance-api"
        assert chain[ours[0]]["class"] == "otel_openstack.instrumentation.wsgi.OpenStackWSGIMiddleware"
        if "authtoken" in names and not where:
            assert chain[ours[0] + 1]["class"] == "keystonemiddleware.auth_token.AuthProtocol"
        if where:
            assert chain[ours[0] - 1]["class"].endswith("VersionNegotiationFilter")
