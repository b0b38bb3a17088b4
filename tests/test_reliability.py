"""Several writers on one store, and a process killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import autolog

WRITER = textwrap.dedent(
    """
    import sys, threading, autolog
    autolog.set_tracking_uri(sys.argv[1])
    proc = sys.argv[2]

    def work(thread):
        with autolog.start_run(run_name=f"p{proc}-t{thread}") as run:
            for i in range(5000):
                autolog.log_metric("value", i, step=i)
            autolog.log_param("writer", f"{proc}-{thread}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    """
)


@pytest.mark.slow
def test_four_processes_two_threads_lose_nothing(tmp_path):
    store = str(tmp_path / "store")
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, store, str(p)]) for p in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    client = autolog.Client(store)
    runs = client.search_runs(["0"], max_results=100)
    assert len(runs) == 8
    for run in runs:
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "value")
        assert [m.step for m in history] == list(range(5000))
        assert run.data.metrics["value"] == 4999


KILLED = textwrap.dedent(
    """
    import sys, time, autolog
    autolog.set_tracking_uri(sys.argv[1])
    run = autolog.start_run(run_name="doomed")
    for i in range(300):
        autolog.log_metric("flushed", i, step=i)
    autolog.flush()
    print(run.info.run_id, flush=True)
    while True:
        autolog.log_metric("after", 1.0)
        time.sleep(0.001)
    """
)


@pytest.mark.slow
def test_sigkill_keeps_flushed_data_and_leaves_run_running(tmp_path):
    store = str(tmp_path / "store")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, store], stdout=subprocess.PIPE, text=True
    )
    run_id = proc.stdout.readline().strip()
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    client = autolog.Client(store)
    run = client.get_run(run_id)
    assert run.info.status == "RUNNING"
    assert len(client.get_metric_history(run_id, "flushed")) == 300
    # The store opens cleanly and takes new writes.
    autolog.set_tracking_uri(store)
    try:
        with autolog.start_run() as fresh:
            autolog.log_metric("ok", 1)
        assert autolog.get_run(fresh.info.run_id).data.metrics == {"ok": 1.0}
    finally:
        autolog.set_tracking_uri(None)


def test_runs_left_open_end_at_exit(tmp_path):
    store = str(tmp_path / "store")
    script = (
        "import autolog, sys; autolog.set_tracking_uri(sys.argv[1]); "
        "r = autolog.start_run(); autolog.log_metric('m', 1); print(r.info.run_id)"
    )
    out = subprocess.run([sys.executable, "-c", script, store], capture_output=True, text=True,
                         check=True)
    run = autolog.Client(store).get_run(out.stdout.strip())
    assert run.info.status == "FINISHED" and run.data.metrics == {"m": 1.0}

    failing = script + "; raise SystemExit(None) if False else 1/0"
    out = subprocess.run([sys.executable, "-c", failing, store], capture_output=True, text=True)
    assert out.returncode == 1 and "ZeroDivisionError" in out.stderr
    run = autolog.Client(store).get_run(out.stdout.strip())
    assert run.info.status == "FAILED"
