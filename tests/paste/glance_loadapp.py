"""Load every flavor of an edited glance-api-paste.ini with glance's own loader; print JSON.

Run as a script in a subprocess (``python glance_loadapp.py PASTE_INI WORKDIR``):
glance's oslo.config and OpenTelemetry's providers are process-global, so the
test process stays clean.  For each deployment flavor (one option of
``[composite:api]``, set as ``[paste_deploy] flavor``) glance's
``load_paste_app('glance-api')`` builds the whole app through PasteDeploy's
``loadapp`` (section ``glance-api-<flavor>``); the chain of WSGI objects
from the URL map's ``/`` app down to the router is printed by class, with the
``service_name`` of each of our middlewares.
"""

import configparser
import json
import os
import sys
from pathlib import Path


def chain(app, limit=40):
    """The filters from ``app`` inwards: each one's ``application``/``app`` attribute."""
    out = []
    for _ in range(limit):
        out.append(app)
        inner = None
        for attr in ("application", "app", "_app"):
            candidate = getattr(app, attr, None)
            if candidate is not None and callable(candidate) and candidate is not app:
                inner = candidate
                break
        if inner is None:
            break
        app = inner
    return out


def describe(app):
    cls = type(app)
    entry = {"class": f"{cls.__module__}.{cls.__qualname__}"}
    if cls.__name__ == "OpenStackWSGIMiddleware":
        entry["service_name"] = app.service_name
    return entry


def main(paste_ini, workdir):
    work = Path(workdir)
    for sub in ("images", "staging", "locks", "cache"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    conf = work / "glance-api.conf"
    conf.write_text(f"""[DEFAULT]
node_staging_uri = file://{work / 'staging'}
image_cache_dir = {work / 'cache'}
[database]
connection = sqlite:///{work / 'glance.db'}
[paste_deploy]
config_file = {paste_ini}
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:9/identity
auth_url = http://127.0.0.1:9/identity
auth_type = password
username = glance
password = secret
project_name = service
user_domain_name = Default
project_domain_name = Default
[glance_store]
stores = file
default_store = file
filesystem_store_datadir = {work / 'images'}
[oslo_concurrency]
lock_path = {work / 'locks'}
""")
    # the modules whose import registers options must come before parsing (as in glance's wsgi_app)
    import glance.common.wsgi_app  # noqa: F401
    from glance.common import config

    config.parse_args(args=["--config-file", str(conf)])
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(paste_ini)
    # every deployment flavor: one option of [composite:api], one [composite:glance-api-<flavor>]
    flavors = [k for k in parser.options("composite:api") if k != "paste.composite_factory"]
    result = {}
    for flavor in flavors:
        # glance-api-<flavor> is the section; "default" is the flavor when none is set
        config.CONF.set_override("flavor", None if flavor == "default" else flavor, group="paste_deploy")
        app = config.load_paste_app("glance-api")
        root = dict((url, sub) for (_domain, url), sub in app.applications)[""]  # urlmap keeps "/" as ""
        result[flavor] = [describe(a) for a in chain(root)]
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.flush()
    os._exit(0)  # the cache filters may have started worker threads: do not wait for them


if __name__ == "__main__":
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
    main(sys.argv[1], sys.argv[2])
