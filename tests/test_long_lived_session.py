"""The core's long-lived session (step-hook frameworks): how its run starts and ends
(end_run, `end`, exit, SIGTERM), fork, and which distributed rank records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import autolog
from autolog.core.config import AutologConfig
from autolog.core.tracking import ranks
from autolog.core.tracking.longlived import LongLivedSession

REPO = Path(__file__).resolve().parent.parent
RANK_VARIABLES = (ranks.RANK_VARIABLES + ranks.LOCAL_RANK_VARIABLES + ranks.NODE_RANK_VARIABLES
                  + ranks.WORLD_SIZE_VARIABLES + ranks.LOCAL_WORLD_SIZE_VARIABLES
                  + ranks.JOB_ID_VARIABLES)


@dataclass
class StepConfig(AutologConfig):
    log_all_ranks: bool = False


def config(**options) -> StepConfig:
    return StepConfig(log_environment=False, **options)


@pytest.fixture(autouse=True)
def single_process(monkeypatch, tracking_uri):
    """No launcher's variables from the environment the tests run in."""
    for name in RANK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def start(**options) -> LongLivedSession:
    session = LongLivedSession.start("steps", config(**options), "1.0",
                                     tags={"autolog.steps.loop": "vanilla"})
    assert session is not None
    return session


def run_of(session):
    autolog.flush()
    run_id = session.run_id if hasattr(session, "run_id") else session.info.run_id
    return autolog.get_run(run_id)


# -- the run's start and end ------------------------------------------------------------------


def test_a_managed_run_ends_with_end_run_after_the_last_records():
    session = start()
    ended = []
    session.on_end(lambda status: (ended.append(status), session.log_metric("last", 1.0)))
    session.log_metric("loss", 0.5, step=0)
    assert session.owns_run and session.alive and autolog.active_run().ambient
    assert autolog.active_run().info.run_id == session.run_id
    autolog.end_run()
    assert ended == ["FINISHED"] and not session.alive
    run = run_of(session)
    assert run.info.status == "FINISHED"
    assert {"loss", "last", "training_duration_seconds"} <= set(run.data.metrics)
    assert run.data.tags["autolog.steps.loop"] == "vanilla"
    assert run.data.tags["mlflow.autologging"] == "steps"
    assert "autolog.rank" not in run.data.tags
    session.end()  # already over: nothing
    assert ended == ["FINISHED"]


def test_a_scripts_start_run_inside_is_a_child():
    session = start()
    with autolog.start_run() as child:
        autolog.log_metric("test_acc", 0.9)
    assert run_of(child).data.tags["mlflow.parentRunId"] == session.run_id
    autolog.end_run()


def test_in_the_users_run_end_leaves_the_run_open():
    with autolog.start_run() as user_run:
        session = start()
        assert not session.owns_run and session.run_id == user_run.info.run_id
        ended = []
        session.on_end(ended.append)
        session.end()
        assert ended == ["FINISHED"]
        assert autolog.active_run().info.run_id == user_run.info.run_id
    assert ended == ["FINISHED"]  # the user's end_run calls nothing twice
    assert "training_duration_seconds" in run_of(session).data.metrics


def test_end_with_an_error_fails_the_managed_run():
    session = start()
    session.end(ValueError("boom"))
    assert autolog.active_run() is None
    assert run_of(session).info.status == "FAILED"


@pytest.mark.usefixtures("lenient")
def test_a_failing_last_record_costs_itself_only():
    import warnings

    session = start()
    session.on_end(lambda status: 1 / 0)
    session.on_end(lambda status: session.log_metric("after", 2.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        autolog.end_run()
    assert any("ZeroDivisionError" in str(w.message) for w in caught)
    run = run_of(session)
    assert run.info.status == "FINISHED" and "after" in run.data.metrics


SCRIPT = """
import os, sys, time, autolog
from autolog.core.config import AutologConfig
from autolog.core.tracking.longlived import LongLivedSession
session = LongLivedSession.start("steps", AutologConfig(log_environment=False))
session.on_end(lambda status: session.log_metric("last_epoch", 3.0))
session.log_metric("loss", 0.5, step=0)
print(session.run_id, flush=True)
"""


def script(code: str, tmp_path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in RANK_VARIABLES}
    env.update(PYTHONPATH=str(REPO), AUTOLOG_TRACKING_URI=str(tmp_path / "sub"))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(tmp_path, run_id):
    return autolog.Client(str(tmp_path / "sub")).get_run(run_id)


def test_at_exit_finished_or_failed(tmp_path):
    done = script(SCRIPT, tmp_path)
    failing = script(SCRIPT + "raise ValueError('boom')\n", tmp_path)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    run = finished(tmp_path, out.split()[0])
    assert run.info.status == "FINISHED" and run.data.metrics["last_epoch"] == 3.0
    out, err = failing.communicate(timeout=120)
    assert failing.returncode == 1 and "ValueError: boom" in err
    run = finished(tmp_path, out.split()[0])
    assert run.info.status == "FAILED" and run.data.metrics["last_epoch"] == 3.0


def test_on_sigterm_killed_after_the_last_records(tmp_path):
    waiting = script(SCRIPT + "time.sleep(60)\n", tmp_path)
    run_id = waiting.stdout.readline().split()[0]
    time.sleep(0.2)
    waiting.send_signal(signal.SIGTERM)
    waiting.communicate(timeout=60)
    assert waiting.returncode == -signal.SIGTERM
    run = finished(tmp_path, run_id)
    assert run.info.status == "KILLED" and run.data.metrics["last_epoch"] == 3.0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_writes_into_the_run():
    session = start()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its records are dropped, the run is not its to end
        code = 0
        try:
            session.log_metric("from_child", 1.0)
            session.end()
            code = 3 if session.alive else 0
        except BaseException:  # noqa: BLE001 - report through the exit code
            code = 2
        os.write(write, b"x")
        os._exit(code)
    os.close(write)
    os.read(read, 1)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert session.alive
    session.log_metric("from_parent", 1.0)
    autolog.end_run()
    run = run_of(session)
    assert run.info.status == "FINISHED"
    assert "from_parent" in run.data.metrics and "from_child" not in run.data.metrics


# -- distributed ranks --------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "rank", "zero"), [
    ({}, None, True),
    ({"RANK": "0", "WORLD_SIZE": "2"}, 0, True),
    ({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}, 1, False),
    ({"SLURM_PROCID": "3", "SLURM_NTASKS": "4"}, 3, False),
    ({"OMPI_COMM_WORLD_RANK": "2"}, 2, False),
    ({"LOCAL_RANK": "1", "NODE_RANK": "0"}, 1, False),  # Lightning's own launcher
    ({"LOCAL_RANK": "0", "NODE_RANK": "1", "LOCAL_WORLD_SIZE": "2"}, 2, False),
    ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, None, False),  # node 1: not the first process
])
def test_placement_from_the_launchers_variables(monkeypatch, env, rank, zero):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    where = ranks.placement()
    assert (where.rank, where.is_zero) == (rank, zero)
    assert ranks.records() is zero and ranks.records(log_all_ranks=True)


def test_the_frameworks_rank_wins_and_its_errors_count_as_none(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    assert ranks.placement(lambda: 1).rank == 1
    assert ranks.placement(lambda: None).rank == 0
    assert ranks.placement(lambda: 1 / 0).rank == 0


def test_other_ranks_get_no_session_unless_log_all_ranks(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job-7")
    assert LongLivedSession.start("steps", config()) is None
    assert autolog.active_run() is None
    session = LongLivedSession.start("steps", config(log_all_ranks=True))
    autolog.end_run()
    run = run_of(session)
    assert run.info.run_name == "steps-rank1"
    assert {k: run.data.tags[k] for k in ("autolog.rank", "autolog.world_size",
                                           "autolog.job_id")} == \
        {"autolog.rank": "1", "autolog.world_size": "2", "autolog.job_id": "job-7"}


def test_rank_zero_is_tagged(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    session = LongLivedSession.start("steps", config(), rank_source=lambda: None)
    autolog.end_run()
    tags = run_of(session).data.tags
    assert tags["autolog.rank"] == "0" and tags["autolog.world_size"] == "2"


# -- one run per job ----------------------------------------------------------------------------


class Share:
    """A job's channel within one process (the test plays both ranks)."""

    def __init__(self) -> None:
        self.run_id = None

    def publish(self, key, run_id):
        self.run_id = run_id

    def receive(self, key):
        return self.run_id


def test_rank_0_shares_its_run_and_rank_1_adds_only_its_metrics(monkeypatch):
    share = Share()
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    first = LongLivedSession.start("steps", config(), job=share)
    assert share.run_id == first.run_id and first.owns_run
    monkeypatch.setenv("RANK", "1")
    assert LongLivedSession.start("steps", config(), job=share) is None  # nothing to add
    rank1 = LongLivedSession.start("steps", config(log_all_ranks=True), job=share)
    assert rank1.run_id == first.run_id and not rank1.owns_run
    assert autolog.active_run().info.run_id == first.run_id  # rank 1 makes nothing active
    ended = []
    rank1.on_end(lambda status: (ended.append(status), rank1.log_metric("last", 2.0)))
    rank1.log_metric("train_loss", 0.5, step=0)
    rank1.log_metrics({"val_loss": 0.7}, step=0)
    rank1.log_params({"lr": 0.1})  # rank 0's to log
    rank1.end()
    assert ended == ["FINISHED"] and not rank1.alive
    assert autolog.active_run().info.run_id == first.run_id  # rank 0's run goes on
    autolog.end_run()
    run = run_of(first)
    assert run.info.status == "FINISHED"
    assert {"rank1/train_loss", "rank1/val_loss", "rank1/last",
            "rank1/training_duration_seconds", "training_duration_seconds"} <= \
        set(run.data.metrics)
    assert "lr" not in run.data.params and "train_loss" not in run.data.metrics
    assert run.data.tags["autolog.rank1.node"] == run.data.tags["autolog.rank0.node"]


def test_a_rank_that_gets_no_run_id_records_nothing(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert LongLivedSession.start("steps", config(log_all_ranks=True), job=Share()) is None
    assert autolog.active_run() is None


def test_without_log_all_ranks_a_rank_adds_only_its_system_metrics(monkeypatch):
    monkeypatch.setenv("AUTOLOG_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.05")
    share = Share()
    monkeypatch.setenv("RANK", "0")
    first = LongLivedSession.start("steps", config(), job=share)
    monkeypatch.setenv("RANK", "1")
    rank1 = LongLivedSession.start("steps", config(log_system_metrics=True), job=share)
    rank1.log_metric("train_loss", 0.5)  # not this rank's to log
    deadline = time.monotonic() + 10
    while rank1.run.monitor._step < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    rank1.end()
    assert rank1.run.monitor is None  # sampling stopped
    autolog.end_run()
    metrics = run_of(first).data.metrics
    assert any(k.startswith("system/rank1/") for k in metrics), sorted(metrics)
    assert not any(k.startswith("rank1/") for k in metrics)


RANK_1 = """
import sys, time, autolog
from dataclasses import dataclass
from autolog.core.config import AutologConfig
from autolog.core.tracking.longlived import LongLivedSession

@dataclass
class StepConfig(AutologConfig):
    log_all_ranks: bool = True

class Share:
    def publish(self, key, run_id): pass
    def receive(self, key): return sys.argv[1]

session = LongLivedSession.start("steps", StepConfig(log_environment=False), job=Share())
session.on_end(lambda status: session.log_metric("last_" + status.lower(), 1.0))
session.log_metric("train_loss", 0.5)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_rank_on_sigterm_writes_its_last_records(tmp_path):
    autolog.set_tracking_uri(tmp_path / "sub")
    with autolog.start_run() as rank0:
        env = {k: v for k, v in os.environ.items() if k not in RANK_VARIABLES}
        env.update(PYTHONPATH=str(REPO), AUTOLOG_TRACKING_URI=str(tmp_path / "sub"),
                   RANK="1", WORLD_SIZE="2")
        proc = subprocess.Popen([sys.executable, "-c", RANK_1, rank0.info.run_id], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGTERM, err
    run = run_of(rank0)
    assert run.info.status == "FINISHED"  # rank 0's to end
    assert {"rank1/train_loss", "rank1/last_killed"} <= set(run.data.metrics)
