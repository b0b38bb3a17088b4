"""Deferred autologging work: reads and flush wait for it; its errors are reported."""

from __future__ import annotations

import threading
import time

import pytest

import autolog
from autolog.core import deferred


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
