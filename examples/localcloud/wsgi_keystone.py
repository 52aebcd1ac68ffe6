"""WSGI entry point for keystone under gunicorn (``...wsgi_keystone:application``).

Why a module of our own:

* keystone 30 has no standalone server; it ships an app factory
  (keystone.server.wsgi.initialize_public_application) that reads its config
  files from OS_KEYSTONE_CONFIG_DIR / OS_KEYSTONE_CONFIG_FILES.
* keystone's oslo.config parses ``sys.argv``; under gunicorn that holds
  gunicorn's own options, which oslo.config rejects. Clear it first.
* our middleware wraps the app here (keystone's pipeline is code, not paste),
  when LOCALCLOUD_MIDDLEWARE=1. Importing it in the worker (gunicorn without
  --preload) means the tracer is set up after the fork.
"""

from __future__ import annotations

import os
import sys

sys.argv = sys.argv[:1]

from keystone.server import wsgi as _keystone_wsgi  # noqa: E402

application = _keystone_wsgi.initialize_public_application()

if os.environ.get("LOCALCLOUD_MIDDLEWARE") == "1":
    from otel_openstack.instrumentation.wsgi import wrap

    application = wrap(application, service_name="keystone")
