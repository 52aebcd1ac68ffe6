"""``python -m tests.reliability.faultrun PROGRAM ARGS...``: ``opentelemetry-instrument PROGRAM``, with faults.

Does what ``opentelemetry-instrument`` does (its sitecustomize calls
``initialize()`` before the program starts), after installing the faults
named in ``RELIABILITY_FAULTS`` (see ``tests.reliability.apps.FAULTS``): the
only way to make our code fail inside a real ``openstack`` process.
"""

from __future__ import annotations

import os
import runpy
import sys


def main() -> None:
    program, *args = sys.argv[1:]
    from tests.reliability.apps import install_faults

    install_faults(os.environ.get("RELIABILITY_FAULTS"))
    sys.argv = [program, *args]
    from opentelemetry.instrumentation.auto_instrumentation import initialize

    initialize()
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
