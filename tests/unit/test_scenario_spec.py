"""The scenario file format: what a file means, and one line naming the entry for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_openstack.scenario import spec
from otel_openstack.scenario.spec import Reference, ScenarioError, loads

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "image-commands.yaml"
SEED_COMMANDS = [
    "openstack image create", "openstack image list", "openstack image show", "openstack image save",
    "openstack image add project", "openstack image member list", "openstack image remove project",
    "openstack image set", "openstack image unset", "openstack image delete",
]

MINIMAL = """
commands:
  - title: openstack image list
    run: openstack image list
"""


# --- the shipped example ---------------------------------------------------------------------------------

def test_the_example_documents_the_ten_image_commands_of_the_seed_site():
    scenario = spec.load(EXAMPLE)
    assert [c.title for c in scenario.commands] == SEED_COMMANDS
    assert [c.slug for c in scenario.commands] == [t.replace(" ", "-") for t in SEED_COMMANDS]
    assert all(c.run[:3] == tuple(c.title.split())[:3] for c in scenario.commands)
    assert scenario.title == "OpenStack image commands"


def test_the_example_declares_what_each_command_needs():
    scenario = spec.load(EXAMPLE)
    needs = {c.title.removeprefix("openstack image "): c.needs for c in scenario.commands}
    assert needs == {
        "create": (), "list": (), "show": ("image",), "save": ("image",),
        "add project": ("image", "project"), "member list": ("membership", "image"),
        "remove project": ("membership", "image", "project"), "set": ("image",),
        "unset": ("property", "image"), "delete": ("cirros",),
    }
    # the shared image (membership needs visibility shared) and the second project
    image, project = scenario.setup
    assert image.name == "image" and "--shared" in image.run and spec.prints_json(image.run)
    assert project.name == "project" and project.run[:3] == ("openstack", "project", "create")
    # add project: openstack image add project IMAGE PROJECT
    add = scenario.command("membership")
    assert add is not None and add.run[-2:] == ("{image.id}", "{project.id}")
    # files: an image to upload, a name to save to
    assert [(f.name, f.kind, f.filename) for f in scenario.files] == [
        ("cirros", "qcow2", "cirros.qcow2"), ("saved", "output", "saved.qcow2")]
    assert scenario.files[0].qcow2 == 1 << 20
    # cleanup removes what setup made
    assert [s.run[:3] for s in scenario.cleanup] == [("openstack", "image", "delete"),
                                                     ("openstack", "project", "delete")]
    assert [s.needs for s in scenario.cleanup] == [("image",), ("project",)]


def test_the_example_page_descriptions_point_to_the_cli_reference():
    for command in spec.load(EXAMPLE).commands:
        anchor = command.title.removeprefix("openstack ").replace(" ", "-")
        assert f"image-v2.html#{anchor})" in (command.description or ""), command.title


# --- the format ------------------------------------------------------------------------------------------

def test_a_minimal_scenario():
    scenario = loads(MINIMAL, "/some/where/list.yaml")
    assert scenario.title == "list"  # the file's name
    (command,) = scenario.commands
    assert command.run == ("openstack", "image", "list")
    assert command.slug == "openstack-image-list"
    assert command.name is None and command.needs == () and command.description is None
    assert scenario.setup == scenario.cleanup == scenario.files == ()


def test_run_is_split_like_a_shell_line_or_given_as_words():
    scenario = loads("""
commands:
  - title: a
    run: openstack image create --property 'note=two words' --file "{files.f}" x
  - title: b
    run: [openstack, image, set, --property, "k=v w", 42]
files:
  f: {}
""")
    assert scenario.commands[0].run == ("openstack", "image", "create", "--property", "note=two words",
                                        "--file", "{files.f}", "x")
    assert scenario.commands[1].run == ("openstack", "image", "set", "--property", "k=v w", "42")


def test_step_shorthand_names_needs_and_references():
    scenario = loads("""
setup:
  - openstack image list
  - name: base
    run: openstack image create --format json base
  - name: other
    run: openstack image create --format json other-{base.id}
commands:
  - title: t
    run: openstack image show {other.id}
    needs: [base]
cleanup:
  - openstack image delete {other.id} {base.id}
""")
    plain, base, other = scenario.setup
    assert plain.name is None and plain.run == ("openstack", "image", "list")
    assert other.needs == ("base",)
    assert scenario.commands[0].needs == ("base", "other")
    assert scenario.cleanup[0].needs == ("other", "base")
    assert [s.name for s in scenario.setup_closure(["other"])] == ["base", "other"]
    assert scenario.setup_closure(["nothing"]) == []


def test_files():
    scenario = loads("""
files:
  img: {qcow2: 64KiB}
  big: {qcow2: 2 GiB, name: disk.img}
  raw: {qcow2: 1048576}
  mine: {path: ../data/cirros.img}
  home: {path: ~/x.img, name: x}
  out:
commands: [{title: t, run: openstack image list}]
""", "/scenarios/s.yaml")
    files = {f.name: f for f in scenario.files}
    assert (files["img"].qcow2, files["img"].filename) == (64 << 10, "img.qcow2")
    assert (files["big"].qcow2, files["big"].filename) == (2 << 30, "disk.img")
    assert files["raw"].qcow2 == 1 << 20
    assert files["mine"].source == Path("/scenarios/../data/cirros.img")
    assert files["mine"].filename == "cirros.img"
    assert files["home"].source == Path("~/x.img").expanduser() and files["home"].filename == "x"
    assert (files["out"].kind, files["out"].filename) == ("output", "out")


def test_slugs_and_descriptions():
    scenario = loads("""
commands:
  - title: "openstack image create (with --file)"
    run: openstack image create x
    description: |
      Line one.

      !!! tip "x"
          y
  - title: Again
    slug: create-again
    run: openstack image create y
""")
    first, second = scenario.commands
    assert first.slug == "openstack-image-create-with-file"
    assert first.description == 'Line one.\n\n!!! tip "x"\n    y'
    assert second.slug == "create-again"


# --- templates -------------------------------------------------------------------------------------------

def test_references_and_substitution():
    word = "--name=x-{image.id}-{{literal}}-{project.tags.0}-{files.f}"
    assert spec.references(word) == [Reference("image", ("id",)), Reference("project", ("tags", "0")),
                                     Reference("files", ("f",))]
    values = {"image": "IMG", "project": "TAG", "files": "f.qcow2"}
    assert spec.substitute(word, lambda ref: values[ref.name]) == "--name=x-IMG-{literal}-TAG-f.qcow2"
    assert spec.substitute("{a b}", lambda ref: "?") == "{a b}"  # no reference: left alone


def test_lookup():
    value = {"id": "1", "properties": {"os_distro": "cirros"}, "tags": ["a", "b"]}
    assert spec.lookup(value, ("properties", "os_distro")) == "cirros"
    assert spec.lookup(value, ("tags", "1")) == "b"
    assert spec.lookup([{"ID": "x"}], ("0", "ID")) == "x"
    with pytest.raises(KeyError, match=r"no field 'nope' \(it has: id, properties, tags\)"):
        spec.lookup(value, ("nope",))
    with pytest.raises(KeyError, match="no item 'tags.5'"):
        spec.lookup(value, ("tags", "5"))
    with pytest.raises(KeyError, match="not an object or a list"):
        spec.lookup(value, ("id", "x"))


@pytest.mark.parametrize("words, expected", [
    (["openstack", "image", "show", "-f", "json", "x"], True),
    (["openstack", "image", "show", "--format", "json"], True),
    (["openstack", "image", "show", "--format=json"], True),
    (["openstack", "image", "show", "-fjson"], True),
    (["openstack", "image", "show", "-f", "yaml"], False),
    (["openstack", "image", "show", "json"], False),
])
def test_prints_json(words, expected):
    assert spec.prints_json(words) is expected


@pytest.mark.parametrize("text, size", [
    ("1MiB", 1 << 20), ("1M", 1 << 20), ("64 KiB", 64 << 10), ("2GiB", 2 << 30), ("1TB", 1 << 40),
    ("4096", 4096), (4096, 4096), ("1mib", 1 << 20),
])
def test_parse_size(text, size):
    assert spec.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "1.5M", "1 MB x", "-1", True, "1PiB"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError):
        spec.parse_size(text)


# --- mistakes: one line naming the file and the entry ----------------------------------------------------

BAD = [
    ("", "the file is empty"),
    ("- a\n- b\n", "expected a mapping with `commands:` at the top, not a list"),
    ("title: x\n", "no `commands:`"),
    ("commands: []\n", "commands: expected a non-empty list of commands"),
    ("commands: openstack image list\n", "commands: expected a non-empty list of commands, not the text"),
    ("comands: []\n", "the top level: unknown key 'comands'"),
    ("commands:\n  - run: openstack image list\n", "commands[0]: no `title:`"),
    ("commands:\n  - title: t\n", "commands[0] (t): no `run:`"),
    ("commands:\n  - {title: t, run: openstack image list, nedds: [x]}\n", "commands[0] (t): unknown key 'nedds'"),
    ("commands:\n  - {title: t, run: glance image-list}\n", "commands[0] (t).run: must start with `openstack`"),
    ("commands:\n  - {title: t, run: openstack}\n", "`openstack` alone is no command"),
    ("commands:\n  - {title: t, run: ''}\n", "the command line is empty"),
    ("commands:\n  - {title: t, run: \"openstack image 'list\"}\n", "cannot split the command line"),
    ("commands:\n  - {title: t, run: {a: b}}\n", "expected a command line or a list of words, not a mapping"),
    ("commands:\n  - {title: '', run: openstack image list}\n", "commands[0].title: is empty"),
    ("commands:\n  - {title: [a], run: openstack image list}\n", "commands[0].title: expected text, not a list"),
    ("commands:\n  - {title: t, run: 'openstack image show {image.id}'}\n",
     "commands[0] (t): {image.id}: unknown name 'image' (names: files, run)"),
    ("setup:\n  - {name: x, run: openstack image create -f json x}\n"
     "commands:\n  - {title: t, run: 'openstack image show {x}'}\n", "{x}: say which field of x's output, e.g. {x.id}"),
    ("commands:\n  - {title: t, run: 'openstack image show {}'}\n", "{} is no reference"),
    ("commands:\n  - {title: t, run: 'openstack image set --property \"x={a b}\"'}\n",
     "is no reference (references look like {image.id}; write {{ and }} for literal braces)"),
    ("commands:\n  - {title: t, run: 'openstack image show {files.nope}'}\n",
     "{files.nope}: no such file in `files:` (none declared)"),
    ("commands:\n  - {title: t, run: 'openstack image show {files}'}\n", "{files}: say which file"),
    ("commands:\n  - {title: t, run: 'openstack image show {run.name}'}\n", "the only run field is {run.id}"),
    ("setup:\n  - {name: i, run: openstack image create x}\n"
     "commands:\n  - {title: t, run: 'openstack image show {i.id}'}\n",
     "{i.id}: i prints no JSON to take fields from (add --format json to setup[0] (i))"),
    ("commands:\n  - {title: t, run: openstack image list, needs: [ghost]}\n",
     "needs 'ghost', which is no setup step or command name (names: none)"),
    ("commands:\n  - {title: a, run: openstack image list, needs: [b]}\n"
     "  - {title: b, name: b, run: openstack image list}\n",
     "commands[0] (a): needs 'b', a command named later"),
    ("commands:\n  - {title: a, name: a, run: openstack image list, needs: [a]}\n", "(a): needs itself"),
    ("commands:\n  - {title: a, name: a, run: openstack image list}\n"
     "setup:\n  - {name: s, run: openstack image list, needs: [a]}\n",
     "setup[0] (s): needs 'a', but a setup step can only need other setup steps"),
    ("setup:\n  - {name: s, run: 'openstack image create -f json {t.id}'}\n"
     "  - {name: t, run: 'openstack image create -f json {s.id}'}\n"
     "commands:\n  - {title: a, run: openstack image list}\n",
     "setup: the steps need each other in a circle: s -> t -> s"),
    ("setup:\n  - {name: x, run: openstack image list}\n  - {name: x, run: openstack image list}\n"
     "commands:\n  - {title: a, run: openstack image list}\n", "the name 'x' is setup[0] (x)'s too"),
    ("setup:\n  - {name: files, run: openstack image list}\ncommands:\n  - {title: a, run: openstack image list}\n",
     "setup[0].name: 'files' is reserved"),
    ("setup:\n  - {name: 9x, run: openstack image list}\ncommands:\n  - {title: a, run: openstack image list}\n",
     "setup[0].name: '9x' is not a name"),
    ("setup: {a: b}\ncommands:\n  - {title: a, run: openstack image list}\n", "setup: expected a list of commands"),
    ("cleanup:\n  - {name: c, run: openstack image list}\ncommands:\n  - {title: a, run: openstack image list}\n",
     "cleanup[0]: a cleanup step has no `name`"),
    ("commands:\n  - {title: a b, run: openstack image list}\n  - {title: A B, run: openstack image list}\n",
     "commands[1] (A B): its page 'a-b' is also commands[0] (a b)'s; give one of them a `slug:`"),
    ("commands:\n  - {title: Assets, run: openstack image list}\n", "the slug 'assets' is taken by the site itself"),
    ("commands:\n  - {title: t, slug: Not_Ok, run: openstack image list}\n", "the slug 'Not_Ok' must be"),
    ("commands:\n  - {title: '!!!', run: openstack image list}\n", "the slug '' must be"),
    ("files: [a]\ncommands:\n  - {title: a, run: openstack image list}\n", "files: expected a mapping"),
    ("files: {a: 1}\ncommands:\n  - {title: a, run: openstack image list}\n", "files.a: expected a mapping such as"),
    ("files: {a: {qcow2: 1M, path: x}}\ncommands:\n  - {title: a, run: openstack image list}\n",
     "files.a: give `qcow2` (a file to make) or `path` (an existing file), not both"),
    ("files: {a: {qcow2: big}}\ncommands:\n  - {title: a, run: openstack image list}\n",
     "files.a.qcow2: expected a size such as 1MiB"),
    ("files: {a: {qcow2: 8TiB}}\ncommands:\n  - {title: a, run: openstack image list}\n", "files.a.qcow2: at most 4TiB"),
    ("files: {a: {name: ../x}}\ncommands:\n  - {title: a, run: openstack image list}\n",
     "files.a.name: '../x' must be a plain file name"),
    ("files: {a: {name: x}, b: {name: x}}\ncommands:\n  - {title: a, run: openstack image list}\n",
     "files.b: the file name 'x' is files.a's too"),
    ("files: {a: {size: 1}}\ncommands:\n  - {title: a, run: openstack image list}\n", "files.a: unknown key 'size'"),
    ("title: x\ntitle: y\ncommands:\n  - {title: a, run: openstack image list}\n",
     "line 2: the key 'title' is given twice"),
    ("commands:\n  - title: a\n    run: [openstack, image\n", "not valid YAML: line"),
    ("commands:\n\t- a\n", "not valid YAML"),
    ("commands: !!python/object:os.system [x]\n", "not valid YAML"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[message[:50] for _, message in BAD])
def test_mistakes_are_one_line_naming_file_and_entry(text, message):
    with pytest.raises(ScenarioError) as caught:
        loads(text, "s.yaml")
    error = str(caught.value)
    assert error.startswith("s.yaml: "), error
    assert "\n" not in error
    assert message in error


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"nope\.yaml: no such file$"):
        spec.load(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match="is a folder, not a scenario file"):
        spec.load(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(ScenarioError, match="bad.yaml: cannot read it"):
        spec.load(bad)
