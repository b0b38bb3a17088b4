"""Cost of recording provenance on a managed run: TrainingSession open + close.

    .venv/bin/python benchmarks/bench_provenance.py

Budget (issue 12): a managed TrainingSession open+close with models off takes <= 3 ms
median with provenance on (embedded store, inside a git work tree). Printed: the median
with provenance off (record() a no-op), on, and the first run of the process (which
waits for git and the package list, computed once per process).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

import autolog  # noqa: E402
from autolog.core.config import AutologConfig  # noqa: E402
from autolog.core.tracking import provenance  # noqa: E402
from autolog.core.tracking.sessions import TrainingSession  # noqa: E402


def _open_close_ms(n: int) -> list[float]:
    config = AutologConfig(log_models=False)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        session = TrainingSession.open("bench", config)
        session.close()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    os.chdir(REPO)  # a git work tree
    with tempfile.TemporaryDirectory() as tmp:
        autolog.set_tracking_uri(os.path.join(tmp, "runs"))
        first = _open_close_ms(1)[0]  # git + package list, once per process
        on = _open_close_ms(200)
        start = time.perf_counter()
        provenance.wait()  # the artifact copies queued behind the runs
        drain = (time.perf_counter() - start) * 1e3
        record = provenance.record
        provenance.record = lambda run, managed: None
        try:
            off = _open_close_ms(200)
        finally:
            provenance.record = record
        autolog.flush()
    print(json.dumps({
        "first_run_ms": round(first, 2),
        "median_off_ms": round(statistics.median(off), 3),
        "median_on_ms": round(statistics.median(on), 3),
        "added_median_ms": round(statistics.median(on) - statistics.median(off), 3),
        "artifact_backlog_after_200_runs_ms": round(drain, 1),
    }))


if __name__ == "__main__":
    main()
