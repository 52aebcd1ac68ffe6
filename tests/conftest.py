"""Put the repository root on sys.path, so tests can import ``examples``.

``examples`` is not an installed package (only ``otel_openstack`` is);
``python -m pytest`` from the root would find it, plain ``pytest`` would not.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
