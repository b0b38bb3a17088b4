"""Deferred autologging work: reads and flush wait for it; its errors are reported."""

from __future__ import annotations

import threading
import time

import pytest

import autolog
from autolog.core.tracking import deferred


def test_flush_and_reads_wait_for_deferred_work(tracking_uri, tmp_path):
    with autolog.start_run() as run:
        pass
    release = threading.Event()

    def slow_job():
        release.wait(5)
        path = tmp_path / "late.txt"
        path.write_text("drawn after fit")
        autolog.Client().backend.log_artifact(run.info.run_id, str(path), "")

    deferred.submit("test: slow job", slow_job)
    assert deferred.pending() == 1
    threading.Timer(0.2, release.set).start()
    started = time.perf_counter()
    files = [f.path for f in autolog.Client().list_artifacts(run.info.run_id)]
    assert "late.txt" in files and time.perf_counter() - started >= 0.1
    assert deferred.pending() == 0


def test_a_failing_job_is_reported_at_the_next_wait(monkeypatch):
    def broken():
        raise ValueError("cannot draw")

    deferred.submit("test: broken job", broken)
    with pytest.raises(ValueError, match="cannot draw"):  # strict: raised at the wait
        deferred.wait()
    monkeypatch.delenv("AUTOLOG_STRICT")
    deferred.submit("test: broken job lenient", broken)
    with pytest.warns(autolog.AutologWarning, match="cannot draw"):
        deferred.wait()


LATE_FIGURE_SCRIPT = """
import os, time
import autolog
from autolog.core.tracking import artifacts, deferred

class SlowFigure:  # still drawing when the script has ended and exit is under way
    def savefig(self, path):
        time.sleep(1.0)
        with open(path, "w") as handle:
            handle.write("drawn late")

autolog.set_tracking_uri(os.path.abspath("store"))
run = autolog.start_run()
print(run.info.run_id)
deferred.submit("test: late figure", lambda: artifacts.write_figure(
    run.uri, run.info.run_id, SlowFigure(), "late.png"))
"""


def test_a_figure_drawn_during_exit_keeps_its_scratch_directory(tmp_path):
    """tempfile.TemporaryDirectory's finalizer is an atexit handler: registered after the
    deferred worker's wait, it ran first and removed the folder a plot was being drawn
    in (seen on scikit-learn's plot_digits_classification under `autolog run`)."""
    import os
    import subprocess
    import sys

    script = tmp_path / "late.py"
    script.write_text(LATE_FIGURE_SCRIPT)
    env = {**os.environ, "AUTOLOG_STRICT": "1"}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Error" not in done.stderr, done.stderr
    run_id = done.stdout.split()[0]
    client = autolog.Client(tracking_uri=str(tmp_path / "store"))
    assert [f.path for f in client.list_artifacts(run_id)] == ["late.png"]
