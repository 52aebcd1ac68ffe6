"""A real local OpenStack cloud (keystone + glance, optionally swift) for demos and tests.

See examples.localcloud.cloud for the why and the state folder layout.
"""

from .cloud import LocalCloud, clean_environ
from .process import CloudError
from .qcow2 import make_qcow2

__all__ = ["CloudError", "LocalCloud", "clean_environ", "make_qcow2"]
