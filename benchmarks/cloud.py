"""The local cloud for the glance and CLI parts, and extra glance servers beside it.

One ``LocalCloud`` (keystone + glance, our middleware in both: the cloud as
``make demo`` runs it) serves the CLI part.  The glance part needs glance
three times, differing only in the middleware of its paste pipeline, so it
starts three more glance servers of its own next to the cloud's: same
database, same keystone, same gunicorn command, each with a copy of the
cloud's ``glance-api.conf`` pointing at its own paste file (nothing under
examples/localcloud is changed; its helpers are reused).
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

from examples.localcloud import LocalCloud, glance, tracing
from examples.localcloud.identity import IdentityClient
from examples.localcloud.ports import free_port

from benchmarks.common import log
from benchmarks.server import Server, base_env, gunicorn_command, ours_env

PLAIN_FILTER = (
    "[filter:otel_plain]\n"
    "paste.filter_factory = benchmarks.apps:plain_filter_factory\n"
    "service_name = glance-api\n"
)


def start_cloud(state: Path) -> LocalCloud:
    log(f"booting the local cloud (keystone + glance, our middleware) in {state}")
    cloud = LocalCloud(state, middleware=True)
    cloud.start()
    log(f"cloud up in {cloud.boot_seconds:.1f}s")
    return cloud


def admin_token(cloud: LocalCloud) -> str:
    client = IdentityClient(cloud.keystone_url)
    client.login("admin", cloud.admin_password, "admin")
    return client.token


def create_images(cloud: LocalCloud, token: str, count: int) -> None:
    """Image records (no data), so ``GET /v2/images`` answers a realistic list."""
    for number in range(count):
        body = json.dumps({"name": f"bench-{number}", "disk_format": "qcow2", "container_format": "bare",
                           "visibility": "public", "tags": ["bench"]}).encode()
        request = urllib.request.Request(f"{cloud.glance_url}/v2/images", data=body, method="POST",
                                         headers={"Content-Type": "application/json", "X-Auth-Token": token})
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()


def paste_text(variant: str) -> str:
    shipped = glance.shipped_paste_ini().read_text()
    if variant == "bare":
        return shipped
    if variant == "plain":
        return glance.add_filter_to_pipelines(shipped, "otel_plain", PLAIN_FILTER,
                                              before=tracing.PASTE_FILTER_BEFORE)
    if variant == "ours":
        return glance.add_filter_to_pipelines(shipped, "otel_openstack",
                                              tracing.paste_filter_section("glance-api"),
                                              before=tracing.PASTE_FILTER_BEFORE)
    raise ValueError(variant)


def glance_server(cloud: LocalCloud, variant: str, workdir: Path, spool: Path, port: int | None = None) -> Server:
    """A glance-api like the cloud's, with ``variant``'s middleware in its pipelines."""
    folder = workdir / f"glance-{variant}"
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    paste = folder / "glance-api-paste.ini"
    paste.write_text(paste_text(variant))
    conf = (cloud.state_dir / "glance" / "glance-api.conf").read_text()
    conf = re.sub(r"(?m)^config_file = .*$", f"config_file = {paste}", conf)
    conf = re.sub(r"(?m)^(public_endpoint|worker_self_reference_url) = .*$", rf"\1 = {url}", conf)
    (folder / "glance-api.conf").write_text(conf)
    env = base_env({"OS_GLANCE_CONFIG_DIR": str(folder)})
    if variant == "ours":
        env.update(ours_env(spool, "glance-api"))
    return Server(f"glance-{variant}", gunicorn_command(glance.APP, port, f"glance-{variant}"), env, folder,
                  port, ready_path="/healthcheck")
