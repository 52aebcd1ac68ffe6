"""The paste ini files that glance, nova, cinder, neutron and swift ship, as test inputs.

glance's is the one the installed glance package put in the venv; the others
are read straight out of the PyPI packages that ``make wheels-ini`` (part of
``make venv``) downloads into ``.cache/wheels/``, at the versions pinned in
``tests/paste/wheels.txt``: the wheels' data files for nova, cinder and
neutron, swift's sdist for ``etc/proxy-server.conf-sample`` (its wheel has
none).  Missing downloads skip these tests with the reason, except under CI,
where they fail.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WHEELS_DIR = ROOT / ".cache" / "wheels"
WHEELS_LIST = Path(__file__).with_name("wheels.txt")

#: service name -> (package, the ini's path in the package's data or sdist, file name to give the copy)
SHIPPED = {
    "glance-api": ("glance", "etc/glance/glance-api-paste.ini", "glance-api-paste.ini"),
    "nova-api": ("nova", "etc/nova/api-paste.ini", "api-paste.ini"),
    "cinder-api": ("cinder", "etc/cinder/api-paste.ini", "api-paste.ini"),
    "neutron-server": ("neutron", "etc/neutron/api-paste.ini", "api-paste.ini"),
    "swift-proxy-server": ("swift", "etc/proxy-server.conf-sample", "proxy-server.conf"),
}
SERVICES = list(SHIPPED)


@dataclass(frozen=True)
class ShippedIni:
    service: str
    data: bytes
    source: str
    filename: str

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(reason: str) -> None:
    """Skip (fail under CI) because a downloaded package is not there."""
    message = f"{reason}: run `make wheels-ini` (downloads {WHEELS_LIST.name}'s packages into .cache/wheels/)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def pinned() -> dict[str, str]:
    versions = {}
    for line in WHEELS_LIST.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            versions[name.strip()] = version.strip()
    return versions


def _installed_glance() -> ShippedIni:
    dist = importlib.metadata.distribution("glance")
    for file in dist.files or []:
        if file.name == "glance-api-paste.ini":
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_file():
                return ShippedIni("glance-api", path.read_bytes(), f"glance {dist.version} ({path})",
                                  "glance-api-paste.ini")
    pytest.fail("the installed glance package has no glance-api-paste.ini")


@functools.lru_cache(maxsize=None)
def load_shipped(service: str) -> ShippedIni:
    package, member, filename = SHIPPED[service]
    if package == "glance":
        return _installed_glance()
    version = pinned()[package]
    if package == "swift":
        archive = WHEELS_DIR / f"swift-{version}.tar.gz"
        if not archive.is_file():
            missing(f"{archive.relative_to(ROOT)} is missing")
        with tarfile.open(archive) as tar:
            data = tar.extractfile(f"swift-{version}/{member}").read()  # type: ignore[union-attr]
        return ShippedIni(service, data, f"{archive.name}:{member}", filename)
    wheel = WHEELS_DIR / f"{package}-{version}-py3-none-any.whl"
    if not wheel.is_file():
        missing(f"{wheel.relative_to(ROOT)} is missing")
    with zipfile.ZipFile(wheel) as whl:
        name = f"{package}-{version}.data/data/{member}"
        return ShippedIni(service, whl.read(name), f"{wheel.name}:{name}", filename)


@pytest.fixture(params=SERVICES)
def shipped(request: pytest.FixtureRequest) -> ShippedIni:
    return load_shipped(request.param)


@pytest.fixture
def shipped_copy(tmp_path: Path, shipped: ShippedIni) -> Path:
    path = tmp_path / shipped.filename
    path.write_bytes(shipped.data)
    return path


@pytest.fixture
def shipped_by_name():
    """``shipped_by_name("glance-api")``: one shipped file, for tests about one service."""
    return load_shipped
