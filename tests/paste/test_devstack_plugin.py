"""examples/devstack/plugin.sh, sourced in bash with devstack's helpers stubbed.

The plugin's functions edit copies of the shipped paste ini files exactly as
``otel-openstack enable-wsgi`` does (byte for byte, backups included) and
``unstack`` gives every file back as it was; keystone's and placement's uWSGI
ini files are repointed to a wrapper module that really wraps the original
application with our middleware; each unit gets its OTEL_* drop-in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from otel_openstack.commands import wsgi_enable
from otel_openstack.deploy import paste_ini

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "devstack"
PASTE_SERVICES = ["glance-api", "nova-api", "cinder-api", "neutron-server", "swift-proxy-server"]
#: The plugin runs `otel-openstack` from PATH (devstack's venv); here: this venv's console script.
BIN_DIR = Path(sys.executable).parent

#: devstack's helpers, as far as the plugin uses them; iniget/iniset/inidelete edit lines like devstack's.
STUBS = r'''
set -o errexit -o pipefail
function is_service_enabled {
    local s
    for s in "$@"; do [[ " $ENABLED " == *" $s "* ]] && return 0; done
    return 1
}
function enable_service { ENABLED="$ENABLED $*"; }
function die { shift; echo "die: $*" >&2; exit 1; }
function echo_summary { echo "summary: $*"; }
function sudo { "$@"; }
function systemctl {
    echo "systemctl $*" >> "$STUB_LOG"
    if [[ "$1" == "is-active" ]]; then [[ " $ACTIVE " == *" ${!#} "* ]]; fi
}
function setup_develop { echo "setup_develop $*" >> "$STUB_LOG"; }
function pip_install { echo "pip_install $*" >> "$STUB_LOG"; }
function iniget { "$STUB_PY" "$STUB_INI" get "$@"; }
function iniset { "$STUB_PY" "$STUB_INI" set "$@"; }
function inidelete { "$STUB_PY" "$STUB_INI" delete "$@"; }
'''

#: The ini helper behind the iniget/iniset/inidelete stubs (``key = value`` lines, like devstack's sed).
INI_HELPER = r'''
import re, sys
action, path, section, option = sys.argv[1:5]
try:
    lines = open(path).read().splitlines()
except FileNotFoundError:
    lines = []
start = next((i for i, l in enumerate(lines) if l.strip() == f"[{section}]"), None)
end = len(lines) if start is None else next(
    (i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
match = re.compile(rf"^\s*{re.escape(option)}\s*=\s*(.*)$")
found = None if start is None else next((i for i in range(start + 1, end) if match.match(lines[i])), None)
if action == "get":
    print(match.match(lines[found]).group(1) if found is not None else "")
    sys.exit(0)
if action == "delete":
    if found is not None:
        del lines[found]
elif action == "set":
    value = sys.argv[5]
    if start is None:
        lines += ["", f"[{section}]"]
        start = end = len(lines) - 1
        end += 1
    if found is not None:
        lines[found] = f"{option} = {value}"
    else:
        lines.insert(start + 1, f"{option} = {value}")
open(path, "w").write("\n".join(lines) + "\n")
'''

UWSGI_INI = """\
[uwsgi]
{target}
processes = 2
master = true
die-on-term = true
enable-threads = true
plugins = python3
thunder-lock = true
buffer-size = 65535
add-header = Connection: close
lazy-apps = true
chmod-socket = 666
socket = /var/run/uwsgi/{name}.socket
"""


def bash(script: str, env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    helper = tmp / "ini_helper.py"
    helper.write_text(INI_HELPER)
    full_env = {**os.environ, **env, "STUB_PY": sys.executable, "STUB_INI": str(helper),
                "STUB_LOG": str(tmp / "calls.log"), "PATH": f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}"}
    full_env.pop("OTEL_OPENSTACK_CMD", None)
    done = subprocess.run(["bash", "-c", STUBS + script], capture_output=True, text=True, env=full_env,
                          timeout=300)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


def command_result(shipped, tmp: Path, *extra: str) -> tuple[bytes, bytes]:
    """What ``otel-openstack enable-wsgi COPY --service-name NAME`` makes of the file: (file, backup)."""
    where = tmp / "by-command"
    where.mkdir(parents=True, exist_ok=True)
    path = where / shipped.filename
    path.write_bytes(shipped.data)
    assert wsgi_enable.main(["enable-wsgi", str(path), "--service-name", shipped.service, *extra]) == 0
    return path.read_bytes(), paste_ini.backup_path(path).read_bytes()


@pytest.mark.parametrize("after", [None, "versionnegotiation"])
@pytest.mark.parametrize("service", PASTE_SERVICES)
def test_enable_service_edits_a_shipped_copy_exactly_as_the_command(service: str, after: str | None,
                                                                    shipped_by_name, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]):
    shipped = shipped_by_name(service)
    expected, expected_backup = command_result(shipped, tmp_path, *(["--after", after] if after else []))
    capsys.readouterr()
    copy = tmp_path / "by-plugin" / shipped.filename
    copy.parent.mkdir()
    copy.write_bytes(shipped.data)
    env = {"OTEL_OPENSTACK_PASTE_AFTER": after or ""}
    bash(f'source "{PLUGIN}/plugin.sh"\n'
         f'otel_openstack_enable_service {service} "{copy}"\n'
         f'otel_openstack_enable_service {service} "{copy}"\n', env, tmp_path)
    assert copy.read_bytes() == expected
    assert paste_ini.backup_path(copy).read_bytes() == expected_backup == shipped.data
    bash(f'source "{PLUGIN}/plugin.sh"\notel_openstack_disable_service {service} "{copy}"\n', env, tmp_path)
    assert copy.read_bytes() == shipped.data
    assert not paste_ini.backup_path(copy).exists()


def _devstack_tree(tmp: Path, shipped_by_name) -> tuple[dict[str, str], dict[str, Path], dict[str, bytes]]:
    """Copies of every file devstack would have written, and the variables that point at them."""
    etc = tmp / "etc"
    files = {
        "glance-api": etc / "glance" / "glance-api-paste.ini",
        "nova-api": etc / "nova" / "api-paste.ini",
        "cinder-api": etc / "cinder" / "api-paste.ini",
        "neutron-server": etc / "neutron" / "api-paste.ini",
        "swift-proxy-server": etc / "swift" / "proxy-server.conf",
        "keystone": etc / "keystone" / "keystone-uwsgi-public.ini",
        "placement-api": etc / "placement" / "placement-uwsgi.ini",
    }
    originals = {}
    for service, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if service in PASTE_SERVICES:
            originals[service] = shipped_by_name(service).data
        else:
            module = "keystone.wsgi.api" if service == "keystone" else "placement.wsgi.api"
            originals[service] = UWSGI_INI.format(target=f"module = {module}:application", name=service).encode()
        path.write_bytes(originals[service])
    env = {
        "DEST": str(tmp / "opt"), "DATA_DIR": str(tmp / "data"), "SYSTEMD_DIR": str(tmp / "systemd"),
        "GLANCE_API_PASTE_INI": str(files["glance-api"]), "NOVA_CONF_DIR": str(etc / "nova"),
        "CINDER_API_PASTE_INI": str(files["cinder-api"]), "Q_API_PASTE_FILE": str(files["neutron-server"]),
        "SWIFT_CONF_DIR": str(etc / "swift"), "KEYSTONE_CONF_DIR": str(etc / "keystone"),
        "PLACEMENT_UWSGI_CONF": str(files["placement-api"]),
        "ENABLED": "key g-api n-api c-api q-svc s-proxy placement-api",
        "ACTIVE": "devstack@keystone.service",
    }
    return env, files, originals


def test_post_config_then_unstack_as_devstack_runs_them(shipped_by_name, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]):
    env, files, originals = _devstack_tree(tmp_path, shipped_by_name)
    phases = f'source "{PLUGIN}/settings"\nsource "{PLUGIN}/plugin.sh" stack install\n' \
             f'source "{PLUGIN}/plugin.sh" stack post-config\n'
    bash(phases, env, tmp_path)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[0] == f"setup_develop {tmp_path / 'opt' / 'otel-openstack'}"
    assert "systemctl daemon-reload" in calls
    assert [c for c in calls if "restart" in c] == ["systemctl restart devstack@keystone.service"]

    for service in PASTE_SERVICES:
        expected, _ = command_result(shipped_by_name(service), tmp_path / service)
        assert files[service].read_bytes() == expected, service
    units = {"keystone": "keystone", "glance-api": "g-api", "nova-api": "n-api", "cinder-api": "c-api",
             "neutron-server": "q-svc", "swift-proxy-server": "s-proxy", "placement-api": "placement-api"}
    spool = tmp_path / "data" / "otel-openstack" / "spool"
    for service, unit in units.items():
        dropin = tmp_path / "systemd" / f"devstack@{unit}.service.d" / "otel-openstack.conf"
        lines = dropin.read_text().splitlines()
        assert lines[1:] == ["[Service]", f'Environment="OTEL_SERVICE_NAME={service}"',
                             'Environment="OTEL_TRACES_EXPORTER=otel_openstack"',
                             'Environment="OTEL_METRICS_EXPORTER=none"', 'Environment="OTEL_LOGS_EXPORTER=none"',
                             f'Environment="OTEL_OPENSTACK_SPOOL_DIR={spool}"'], service
    assert oct(spool.stat().st_mode & 0o777) == "0o700"
    assert (tmp_path / "data" / "otel-openstack" / "env").read_text() == f"export OTEL_OPENSTACK_SPOOL_DIR={spool}\n"
    for service, module in (("keystone", "otel_openstack_wsgi_keystone"),
                            ("placement-api", "otel_openstack_wsgi_placement_api")):
        text = files[service].read_text()
        assert f"module = {module}:application" in text and f"pythonpath = {files[service].parent}" in text
        wrapper = (files[service].parent / f"{module}.py").read_text()
        assert 'ORIGINAL_MODULE = "' + ("keystone" if service == "keystone" else "placement") in wrapper
        assert f'service_name="{service}"' in wrapper

    snapshot = {s: p.read_bytes() for s, p in files.items()}
    bash(phases, env, tmp_path)  # a second post-config changes nothing
    assert {s: p.read_bytes() for s, p in files.items()} == snapshot

    bash(f'source "{PLUGIN}/settings"\nsource "{PLUGIN}/plugin.sh" unstack\n', env, tmp_path)
    for service, path in files.items():
        assert path.read_bytes() == originals[service], service
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name], service  # no backup, no wrapper
    assert not any((tmp_path / "systemd").iterdir())
    bash(f'source "{PLUGIN}/settings"\nsource "{PLUGIN}/plugin.sh" clean\n', env, tmp_path)
    assert not (tmp_path / "data" / "otel-openstack" / "spool").exists()


def test_otlp_endpoint_and_neutron_under_uwsgi(tmp_path: Path, shipped_by_name):
    env, files, _ = _devstack_tree(tmp_path, shipped_by_name)
    env.update(ENABLED="neutron-api", ACTIVE="", OTEL_OPENSTACK_OTLP_ENDPOINT="http://127.0.0.1:4317")
    bash(f'source "{PLUGIN}/settings"\nsource "{PLUGIN}/plugin.sh" stack post-config\n', env, tmp_path)
    dropins = list((tmp_path / "systemd").glob("*/otel-openstack.conf"))
    assert [p.parent.name for p in dropins] == ["devstack@neutron-api.service.d"]
    text = dropins[0].read_text()
    assert 'Environment="OTEL_TRACES_EXPORTER=otel_openstack,otlp"' in text
    assert 'Environment="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317"' in text
    assert FILTER in files["neutron-server"].read_text() and FILTER not in files["glance-api"].read_text()


FILTER = paste_ini.FILTER_NAME


@pytest.mark.parametrize("form", ["module", "wsgi-file"])
def test_uwsgi_wrapper_really_wraps_the_original_application(tmp_path: Path, form: str):
    """The wrapper written for keystone imports the original app and serves it through our middleware."""
    conf = tmp_path / "etc" / "keystone"
    conf.mkdir(parents=True)
    app_dir = tmp_path / "site"
    app_dir.mkdir()
    original = textwrap.dedent('''\
        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"hello from the original"]
        ''')
    if form == "module":
        (app_dir / "fake_keystone_app.py").write_text(original)
        target = "module = fake_keystone_app:application"
    else:  # devstack before 2025: a pbr-made script, whose app is built unless run as __main__
        script = app_dir / "keystone-wsgi-public"
        script.write_text("if __name__ != '__main__':\n" + textwrap.indent(original, "    "))
        target = f"wsgi-file = {script}"
    ini = conf / "keystone-uwsgi-public.ini"
    ini.write_text(UWSGI_INI.format(target=target, name="keystone"))
    before = ini.read_bytes()
    bash(f'source "{PLUGIN}/plugin.sh"\notel_openstack_enable_service keystone "{ini}"\n', {}, tmp_path)
    text = ini.read_text()
    assert "module = otel_openstack_wsgi_keystone:application" in text and "wsgi-file" not in text

    probe = textwrap.dedent('''\
        import sys, wsgiref.util
        sys.path[:0] = [sys.argv[1], sys.argv[2]]   # uWSGI's pythonpath, and where the original lives
        import otel_openstack_wsgi_keystone as wrapper
        app = wrapper.application
        environ = {}
        wsgiref.util.setup_testing_defaults(environ)
        seen = []
        body = b"".join(app(environ, lambda status, headers, exc=None: seen.append(status)))
        print(type(app).__name__, app.service_name, seen[0], body.decode())
        ''')
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
           "OTEL_LOGS_EXPORTER": "none", "OTEL_OPENSTACK_SPOOL_DIR": str(tmp_path / "spool")}
    done = subprocess.run([sys.executable, "-c", probe, str(conf), str(app_dir)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "OpenStackWSGIMiddleware keystone 200 OK hello from the original"

    bash(f'source "{PLUGIN}/plugin.sh"\notel_openstack_disable_service keystone "{ini}"\n', {}, tmp_path)
    assert ini.read_bytes() == before
    shutil.rmtree(app_dir)
    assert sorted(p.name for p in conf.iterdir()) == [ini.name]


def test_plugin_is_valid_bash_and_sourcing_it_runs_nothing(tmp_path: Path):
    subprocess.run(["bash", "-n", str(PLUGIN / "plugin.sh")], check=True)
    done = bash(f'source "{PLUGIN}/settings"\nsource "{PLUGIN}/plugin.sh"\necho sourced\n',
                {"DEST": "/opt/stack", "DATA_DIR": "/opt/stack/data"}, tmp_path)
    assert done.stdout == "sourced\n"
    assert not (tmp_path / "calls.log").exists()
