"""The scenario runner and ``otel-openstack scenario``, with a fake ``openstack`` and ``opentelemetry-instrument``.

The fakes log every call (words, folder, environment) and behave like the
real ones where the runner cares: JSON on stdout for ``--format json``,
exit status 1 and a message on stderr for a missing image, an output folder
in ``OTEL_OPENSTACK_OUTPUT_DIR`` for an instrumented run.  The real thing
runs in tests/e2e/test_scenario_image_commands.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from otel_openstack import cli
from otel_openstack.scenario import runner as scenario_runner
from otel_openstack.scenario.runner import Runner, RunnerError
from otel_openstack.scenario.spec import loads

FAKE_OPENSTACK = r'''
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "cwd": os.getcwd(), "instrumented": "FAKE_INSTRUMENTED" in os.environ,
                          "env": {k: v for k, v in os.environ.items() if k.startswith(("OTEL_", "OS_"))}}) + "\n")
words = [a for a in args if not a.startswith("-")]
if "missing" in args:
    print("No Image found for missing; password " + os.environ.get("OS_PASSWORD", ""), file=sys.stderr)
    sys.exit(1)
if args[:2] == ["image", "create"] or args[:2] == ["project", "create"]:
    name = args[-1]
    print(json.dumps({"id": f"{args[0]}-{name}", "name": name, "tags": ["t1"], "nothing": None}))
elif args[:2] == ["image", "show"] and "json" in args:
    print(json.dumps({"id": args[-1], "size": 262144}))
elif args[:2] == ["image", "list"]:
    print("+----+\n| ID |\n+----+")
'''

FAKE_INSTRUMENT = r'''
import os, sys
out = os.environ["OTEL_OPENSTACK_OUTPUT_DIR"]
folder = os.path.join(out, "openstack-" + "-".join(sys.argv[2:4]) + "-20260101-000000-0123abcd")
os.makedirs(folder)
sections = "".join(f"\n### ({n}) GET /\n" for n in range(1, 5))
for name, text in {"index.md": "# openstack x\n\n## Command\n\nx\n", "body.md": sections,
                   "diagram.md": "openstack->>+glance-api: GET /\n", "requests.log": "log\n"}.items():
    with open(os.path.join(folder, name), "w") as f:
        f.write(text)
os.environ["FAKE_INSTRUMENTED"] = "1"
os.execv(sys.argv[1], sys.argv[1:])
'''

SCENARIO = """
title: Fake
files:
  img: {qcow2: 1MiB}
  saved: {name: saved.qcow2}
setup:
  - openstack image list --long          # no name, needed by nobody: before the first command
  - name: image
    run: openstack image create --file {files.img} --format json base-{run.id}
  - name: project
    run: openstack project create --format json member
  - name: broken
    run: openstack image show --format json missing
commands:
  - title: openstack image create
    name: cirros
    run: openstack image create --file {files.img} --format json cirros
  - title: openstack image show
    run: openstack image show --format json {image.id}
  - title: openstack image save
    run: openstack image save --file {files.saved} {image.id}
  - title: openstack image add project
    name: membership
    run: openstack image add project {image.id} {project.id}
  - title: openstack image show missing
    name: gone
    run: openstack image show missing
  - title: needs a failed setup step
    run: openstack image show {broken.id}
  - title: needs a failed command
    run: openstack image list
    needs: [gone]
  - title: a field that is not there
    run: openstack image show {cirros.nope}
  - title: openstack image delete
    run: openstack image delete {cirros.id} "{cirros.tags}"
cleanup:
  - openstack image delete {image.id}
  - openstack image delete {broken.id}
  - openstack project delete {project.id}
"""


def _make_fakes(root: Path) -> Path:
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name, code in (("openstack", FAKE_OPENSTACK), ("opentelemetry-instrument", FAKE_INSTRUMENT)):
        program = bin_dir / name
        program.write_text(f"#!{sys.executable}\n{code}")
        program.chmod(0o755)
    return bin_dir


@pytest.fixture
def fakes(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.jsonl"))
    return _make_fakes(tmp_path)


def _calls(tmp_path: Path) -> list[dict]:
    log = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """SCENARIO, run once for the module's tests."""
    tmp_path = tmp_path_factory.mktemp("runner")
    fakes = _make_fakes(tmp_path)
    scenario = loads(SCENARIO, tmp_path / "fake.yaml")
    said: list[str] = []
    env = {"OS_AUTH_URL": "http://127.0.0.1:5000", "OS_PASSWORD": "s3cret-pw", "PATH": "/usr/bin:/bin",
           "FAKE_LOG": str(tmp_path / "calls.jsonl")}
    work = tmp_path / "work"
    runner = Runner(scenario, env, work, bin_dir=fakes, timeout=60, say=said.append)
    results = runner.run()
    return runner, results, said, _calls(tmp_path), work


def test_setup_runs_before_the_first_command_that_needs_it(ran):
    runner, _, _, calls, _ = ran
    order = [" ".join(c["args"][:2]) + (" *" if c["instrumented"] else "") for c in calls]
    assert order == [
        "image list",  # the unnamed step nobody needs: first
        "image create *",  # documented, needs nothing
        "image create",  # setup image: just before `image show`
        "image show *",
        "image save *",
        "project create",  # setup project: just before `add project`
        "image add *",
        "image show *",  # `image show missing`
        "image show",  # setup broken: fails
        "image delete *",
        "image delete",  # cleanup: image; broken never made: skipped
        "project delete",
    ]


def test_references_are_replaced_and_files_made_in_the_work_folder(ran):
    runner, results, _, calls, work = ran
    base = f"base-{runner.run_id}"
    assert calls[2]["args"] == ["image", "create", "--file", "img.qcow2", "--format", "json", base]
    assert calls[3]["args"] == ["image", "show", "--format", "json", f"image-{base}"]
    assert calls[6]["args"] == ["image", "add", "project", f"image-{base}", "project-member"]
    assert calls[9]["args"] == ["image", "delete", "image-cirros", '["t1"]']  # JSON for non-text values
    assert {c["cwd"] for c in calls} == {str(work)}
    assert (work / "img.qcow2").read_bytes()[:4] == b"QFI\xfb"
    assert not (work / "saved.qcow2").exists()  # only a name: the (fake) command writes nothing
    assert runner.values["cirros"] == {"id": "image-cirros", "name": "cirros", "tags": ["t1"], "nothing": None}


def test_documented_commands_are_instrumented_with_their_own_output_folder(ran):
    _, results, _, calls, work = ran
    documented = [c for c in calls if c["instrumented"]]
    assert len(documented) == 6  # 5 succeed, `image show missing` fails
    for call in documented:
        env = call["env"]
        assert env["OTEL_TRACES_EXPORTER"] == "otel_openstack"
        assert env["OTEL_METRICS_EXPORTER"] == env["OTEL_LOGS_EXPORTER"] == "none"
        assert env["OTEL_OPENSTACK_OUTPUT_DIR"].startswith(str(work / "out") + "/")
    assert len({c["env"]["OTEL_OPENSTACK_OUTPUT_DIR"] for c in documented}) == 6
    plain = [c for c in calls if not c["instrumented"]]
    assert all("OTEL_TRACES_EXPORTER" not in c["env"] for c in plain)
    ok = [r for r in results if r.ok]
    assert [r.command.title for r in ok] == ["openstack image create", "openstack image show",
                                             "openstack image save", "openstack image add project",
                                             "openstack image delete"]
    for result in ok:
        assert result.folder is not None and (result.folder / "index.md").is_file()
        assert result.messages == 4


def test_failures_and_what_depends_on_them(ran):
    _, results, said, _, _ = ran
    by_title = {r.command.title: r for r in results}
    failed = by_title["openstack image show missing"]
    assert failed.failure.summary == "exit status 1" and failed.failure.ran
    assert failed.failure.stderr == "No Image found for missing; password ***\n"  # OS_PASSWORD scrubbed
    assert failed.folder is not None  # its page shows the exchanges up to the failure
    assert by_title["needs a failed setup step"].failure.result == \
        "not run: it needs broken, which failed (exit status 1)"
    assert by_title["needs a failed command"].failure.result == \
        "not run: it needs gone (openstack image show missing), which failed"
    assert by_title["a field that is not there"].failure.result == \
        "not run: {cirros.nope}: no field 'nope' (it has: id, name, nothing, tags) in the output of cirros"
    assert "[5/9] openstack image show missing: FAILED, exit status 1 (" in "\n".join(said)
    assert not any("s3cret-pw" in line for line in said)
    assert [line for line in said if line.startswith("cleanup")] == [
        f"cleanup: openstack image delete image-base-{ran[0].run_id}: ok",
        "cleanup: openstack project delete project-member: ok"]


def test_pages_show_the_command_as_run(ran):
    runner, results, _, _, _ = ran
    pages = scenario_runner.pages(runner, results)
    assert [p.slug for p in pages][:3] == ["openstack-image-create", "openstack-image-show", "openstack-image-save"]
    assert pages[2].command_line == f"openstack image save --file saved.qcow2 image-base-{runner.run_id}"
    assert pages[5].command_line == "openstack image show '{broken.id}'"  # never run: as written


def test_a_null_field_and_output_that_is_not_json(fakes, tmp_path):
    scenario = loads("""
commands:
  - {title: a, name: a, run: openstack image create --format json x}
  - {title: b, run: 'openstack image show {a.nothing}'}
  - {title: c, name: c, run: openstack image list --format json}
  - {title: d, run: 'openstack image show {c.id}'}
""")
    said: list[str] = []
    results = Runner(scenario, {"FAKE_LOG": str(tmp_path / "calls.jsonl")}, tmp_path / "w", bin_dir=fakes,
                     say=said.append).run()
    assert [r.failure.result if r.failure else "ok" for r in results] == [
        "ok", "not run: {a.nothing}: is null in the output of a", "ok",
        "not run: it needs c (c), whose output is not JSON"]
    assert results[2].notes == ["c: its output is not JSON, so {c.FIELD} has no value"]


def test_a_setup_step_no_command_needs_runs_first_after_what_it_needs(fakes, tmp_path):
    scenario = loads("""
setup:
  - {name: late, run: 'openstack image create --format json late-{early.id}'}
  - {name: early, run: openstack image create --format json early}
commands:
  - {title: a, run: openstack image list}
cleanup:
  - 'openstack image delete {late.id}'
""")
    Runner(scenario, {"FAKE_LOG": str(tmp_path / "calls.jsonl")}, tmp_path / "w", bin_dir=fakes,
           say=lambda message: None).run()
    assert [c["args"][-1] for c in _calls(tmp_path)] == ["early", "late-image-early", "list", "image-late-image-early"]


def test_a_missing_input_file_stops_the_run_before_anything_runs(fakes, tmp_path):
    scenario = loads("files: {x: {path: nope.img}}\ncommands: [{title: a, run: openstack image list}]",
                     tmp_path / "s.yaml")
    with pytest.raises(RunnerError, match=r"files.x: .*nope.img: no such file"):
        Runner(scenario, {}, tmp_path / "w", bin_dir=fakes).run()
    assert _calls(tmp_path) == []


# --- environments ------------------------------------------------------------------------------------------

def test_environments(tmp_path):
    env = {"OS_PASSWORD": "x", "OTEL_SERVICE_NAME": "y", "OTEL_OPENSTACK_REDACT": "false",
           "OTEL_OPENSTACK_SPOOL_DIR": "/s", "HOME": "/h"}
    assert scenario_runner.scrubbed_environ(env) == {"OTEL_OPENSTACK_REDACT": "false", "HOME": "/h"}
    traced = scenario_runner.tracing_env({"OTEL_TRACES_EXPORTER": "otlp, otel_openstack",
                                          "OTEL_LOGS_EXPORTER": "otlp"}, tmp_path)
    assert traced == {"OTEL_TRACES_EXPORTER": "otlp, otel_openstack", "OTEL_LOGS_EXPORTER": "otlp",
                      "OTEL_METRICS_EXPORTER": "none", "OTEL_OPENSTACK_OUTPUT_DIR": str(tmp_path),
                      "OTEL_OPENSTACK_WRITE_OUTPUTS": "true"}
    assert scenario_runner.tracing_env({"OTEL_TRACES_EXPORTER": "otlp"}, tmp_path)["OTEL_TRACES_EXPORTER"] == \
        "otel_openstack"
    with pytest.raises(RunnerError, match="no cloud: set OS_AUTH_URL"):
        scenario_runner.user_cloud_env({"HOME": "/h"}, tmp_path)
    (tmp_path / "clouds.yaml").write_text("clouds: {}\n")
    assert scenario_runner.user_cloud_env({"OS_CLOUD": "devstack"}, tmp_path)["OS_CLIENT_CONFIG_FILE"] == \
        str(tmp_path / "clouds.yaml")


def test_openrc(tmp_path):
    openrc = tmp_path / "openrc"
    openrc.write_text("# a comment\nexport OS_AUTH_URL=http://127.0.0.1:5000\n"
                      "export OS_PASSWORD='a b$c'\nOS_REGION_NAME=RegionOne\n")
    assert scenario_runner.openrc_env(openrc) == {"OS_AUTH_URL": "http://127.0.0.1:5000",
                                                  "OS_PASSWORD": "a b$c", "OS_REGION_NAME": "RegionOne"}
    openrc.write_text("echo hello\n")
    with pytest.raises(RunnerError, match="line 1: expected `export NAME=value`"):
        scenario_runner.openrc_env(openrc)
    openrc.write_text("export A=b\n")
    with pytest.raises(RunnerError, match="no OS_AUTH_URL or OS_CLOUD in it"):
        scenario_runner.openrc_env(openrc)
    with pytest.raises(RunnerError, match="no such file"):
        scenario_runner.openrc_env(tmp_path / "nope")


# --- the command line ----------------------------------------------------------------------------------------

def _main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = cli.main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("argv, message", [
    (["scenario", "run", "MISSING", "-o", "SITE"], "MISSING: no such file"),
    (["scenario", "run", "BAD", "-o", "SITE"], "BAD: commands[0]: no `title:`"),
    (["scenario", "run", "GOOD", "-o", "SITE", "--swift"], "--swift goes with --local-cloud"),
    (["scenario", "run", "GOOD", "-o", "FULL"], "FULL: the folder is not empty"),
    (["scenario", "run", "GOOD", "-o", "SITE"], "no cloud: set OS_AUTH_URL"),
    (["scenario", "run", "GOOD", "-o", "SITE", "--cloud-state", "MISSING"], "--cloud-state MISSING: no such folder"),
    (["scenario", "run", "GOOD", "-o", "SITE", "--cloud-state", "."], "openrc: no such file"),
    (["scenario", "run", "GOOD"], "the following arguments are required: -o/--output"),
    (["scenario", "run", "GOOD", "-o", "SITE", "--timeout", "0"], "expected a number of seconds above 0"),
    (["scenario", "run", "GOOD", "-o", "SITE", "--local-cloud", "--cloud-state", "."], "not allowed with"),
    (["scenario", "check", "BAD"], "BAD: commands[0]: no `title:`"),
])
def test_input_errors_are_one_line_and_status_2(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for key in ("OS_AUTH_URL", "OS_CLOUD"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "BAD").write_text("commands:\n  - run: openstack image list\n")
    (tmp_path / "GOOD").write_text("commands:\n  - {title: a, run: openstack image list}\n")
    (tmp_path / "FULL").mkdir()
    (tmp_path / "FULL" / "mine.txt").write_text("x")
    status, out, err = _main(capsys, *argv)
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("otel-openstack: ") and message in err, err
    assert not (tmp_path / "SITE").exists()


def test_local_cloud_outside_a_checkout_is_one_line(tmp_path, monkeypatch, capsys):
    import importlib

    from otel_openstack.commands import scenario as command

    real = importlib.import_module

    def no_examples(name, *args, **kwargs):
        if name == "examples" or name.startswith("examples."):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", no_examples)
    monkeypatch.setattr(command, "_checkouts", lambda *roots: iter([tmp_path]))
    (tmp_path / "s.yaml").write_text("commands:\n  - {title: a, run: openstack image list}\n")
    status, out, err = _main(capsys, "scenario", "run", str(tmp_path / "s.yaml"), "--local-cloud",
                             "-o", str(tmp_path / "site"))
    assert (status, out) == (2, "")
    assert err == ("otel-openstack: --local-cloud needs the otel-openstack repository checkout "
                   "(examples/localcloud/): run it from the checkout's folder\n")


def test_scenario_check_lists_the_pages(capsys):
    status, out, err = _main(capsys, "scenario", "check", str(Path(__file__).parents[2] / "examples" /
                                                              "image-commands.yaml"))
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "OpenStack image commands: 10 commands, 2 setup steps, 2 cleanup steps"
    assert lines[5] == "  5. openstack-image-add-project/  openstack image add project  (needs image, project)"


def test_scenario_run_writes_the_site_and_fails_at_the_end(fakes, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(scenario_runner, "find_program", lambda name, bin_dir=None: str(fakes / name))
    monkeypatch.setenv("OS_AUTH_URL", "http://127.0.0.1:5000")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    status, out, err = _main(capsys, "scenario", "run", str(scenario), "-o", str(tmp_path / "site"))
    assert status == 1
    assert out == f"{tmp_path / 'site'}\n"
    summary = err.splitlines()[-1]
    assert summary.startswith(f"otel-openstack: 5 of 9 commands documented in {tmp_path / 'site'}; 4 failed: "
                              "openstack image show missing (failed: exit status 1); needs a failed setup step "
                              "(not run: it needs broken, which failed (exit status 1)); ")
    assert summary.endswith(f"; build it with: cd {tmp_path / 'site'} && mkdocs build --strict")
    docs = tmp_path / "site" / "docs"
    assert len([p for p in docs.iterdir() if p.is_dir()]) == 9
    assert (docs / "openstack-image-show-missing" / "requests.log").is_file()
    # Again, into the same folder: replaced; all fine now, status 0.
    scenario.write_text("commands:\n  - {title: only, run: openstack image list}\n")
    status, _, err = _main(capsys, "scenario", "run", str(scenario), "-o", str(tmp_path / "site"))
    assert status == 0, err
    assert sorted(p.name for p in docs.iterdir()) == ["index.md", "only"]
    assert err.splitlines()[-1].startswith(f"otel-openstack: 1 of 1 commands documented in {tmp_path / 'site'}; build")
