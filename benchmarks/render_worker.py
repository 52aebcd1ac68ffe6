"""``python -m benchmarks.render_worker FILE EXCHANGES REPS [--trace-json]``: one size, in a fresh process.

Times, per repetition and side by side, ``json.loads`` of the file's text
(the floor: what any renderer of this file must pay) and the rendering from
that same text to the output texts through ``otel_openstack.pipeline``:
``json.loads`` + ``spans_from_document`` + ``pipeline.render`` (requests.log,
diagram.md, body.md and whatever else ``render`` makes).  ``--trace-json``
times ``pipeline.render_documents`` instead, which also re-serialises the
trace as ``trace.json``, as the CLI and ``otel-openstack render`` do.

Memory: the peak RSS of this process (VmHWM, reset after the imports)
above the RSS after the imports, during the first repetition.  Prints one
JSON object.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def _limit_memory(fraction: float = 0.6) -> None:
    """Keep a runaway size from taking the machine down: MemoryError past ``fraction`` of RAM."""
    import resource

    total = _meminfo("MemTotal")
    if total:
        limit = int(total * fraction)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _meminfo(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str]) -> int:
    path, exchanges, reps = Path(argv[0]), int(argv[1]), int(argv[2])
    trace_json = "--trace-json" in argv
    _limit_memory()
    try:
        return _measure(path, exchanges, reps, trace_json)
    except MemoryError:
        print(json.dumps({"error": "MemoryError (address space limited to 60% of RAM)"}))
        return 0


def _measure(path: Path, exchanges: int, reps: int, trace_json: bool) -> int:
    from otel_openstack import pipeline
    from otel_openstack.sources.otlp_json import spans_from_document

    text = path.read_text(encoding="utf-8")
    gc.collect()
    base = _status("VmRSS")
    peak_reset = _reset_peak()
    parse: list[float] = []
    total: list[float] = []
    peak = 0
    found = None
    for rep in range(reps):
        started = time.perf_counter()
        documents = [json.loads(text)]
        parse.append(time.perf_counter() - started)
        del documents
        gc.collect()
        started = time.perf_counter()
        documents = [json.loads(text)]
        if trace_json:
            rendered = pipeline.render_documents(documents)
        else:
            spans = [span for document in documents for span in spans_from_document(document)]
            rendered = pipeline.render(spans)
        total.append(time.perf_counter() - started)
        if rep == 0:
            peak = _status("VmHWM") - base
            found = sum(1 for _ in rendered.trace.walk())
            out_bytes = sum(len(t) for t in rendered.files.values())
        del documents, rendered
        if not trace_json:
            del spans
        gc.collect()
    print(json.dumps({"exchanges": exchanges, "found": found, "file_bytes": len(text), "parse": parse,
                      "total": total, "peak_bytes": peak if peak_reset else None, "output_bytes": out_bytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
