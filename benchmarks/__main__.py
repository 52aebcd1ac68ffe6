"""``python -m benchmarks [--smoke] [--only PARTS] [--out FILE]``: see benchmarks/README.md."""

from benchmarks.runner import main

raise SystemExit(main())
