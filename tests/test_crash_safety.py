"""A training script killed at a random point: the store opens cleanly, nothing flushed is
lost, and the run's status says what happened."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import autolog

TRAINING = textwrap.dedent(
    """
    import sys, time
    import autolog
    autolog.set_tracking_uri(sys.argv[1])
    crash_at = int(sys.argv[2])
    run = autolog.start_run(run_name="victim")
    print(run.info.run_id, flush=True)
    for epoch in range(10_000):
        autolog.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
        if epoch % 100 == 99:
            autolog.flush()
            print(f"flushed {epoch + 1}", flush=True)
        if epoch == crash_at:
            raise RuntimeError("diverged")
        time.sleep(0.0005)
    """
)


def _start(store: str, crash_at: int = -1) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", TRAINING, store, str(crash_at)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def _flushed_so_far(proc: subprocess.Popen, at_least: int) -> int:
    flushed = 0
    while flushed < at_least:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        flushed = int(line.split()[1])
    return flushed


def _check_store(store: str, run_id: str, status: str, flushed: int) -> None:
    client = autolog.Client(store)  # opens cleanly after the crash
    run = client.get_run(run_id)
    assert run.info.status == status
    history = client.get_metric_history(run_id, "loss")
    steps = [m.step for m in history]
    assert steps[:flushed] == list(range(flushed))  # everything flushed is there, in order
    assert steps == sorted(set(steps))  # and nothing is duplicated or torn


@pytest.mark.slow
@pytest.mark.parametrize("sig,status", [(signal.SIGKILL, "RUNNING"),
                                        (signal.SIGTERM, "KILLED")])
def test_killed_at_a_random_point(tmp_path, sig, status):
    store = str(tmp_path / "store")
    proc, run_id = _start(store)
    flushed = _flushed_so_far(proc, random.choice([100, 200, 300]))
    time.sleep(random.uniform(0, 0.05))
    os.kill(proc.pid, sig)
    assert proc.wait(timeout=30) == -sig
    _check_store(store, run_id, status, flushed)


@pytest.mark.slow
def test_uncaught_exception_at_a_random_point(tmp_path):
    store = str(tmp_path / "store")
    crash_at = random.randint(150, 400)
    proc, run_id = _start(store, crash_at)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "RuntimeError: diverged" in stderr
    _check_store(store, run_id, "FAILED", crash_at + 1)
    # Everything up to the crash was flushed at exit, not only the last checkpoint.
    assert len(autolog.Client(store).get_metric_history(run_id, "loss")) == crash_at + 1


TORCH_TRAINING = textwrap.dedent(
    """
    import sys, time
    import autolog
    autolog.set_tracking_uri(sys.argv[1])
    crash_at = int(sys.argv[2])
    autolog.autolog(log_models=False)
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    torch.manual_seed(0)
    loader = DataLoader(TensorDataset(torch.randn(128, 8), torch.randn(128, 1)), batch_size=32)
    model = torch.nn.Linear(8, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(100_000):
        for xb, yb in loader:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(xb), yb).backward()
            optimizer.step()
        if epoch == 0:
            print(autolog.active_run().info.run_id, flush=True)
        if epoch % 20 == 19:
            autolog.flush()
            print(f"flushed {epoch + 1}", flush=True)
        if epoch == crash_at:
            raise RuntimeError("diverged")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("how,status", [(signal.SIGKILL, "RUNNING"), (signal.SIGTERM, "KILLED"),
                                        ("exception", "FAILED")])
def test_autologged_torch_training_killed_at_a_random_point(tmp_path, how, status):
    pytest.importorskip("torch")
    store = str(tmp_path / "store")
    crash_at = random.randint(45, 70) if how == "exception" else -1
    proc = subprocess.Popen([sys.executable, "-c", TORCH_TRAINING, store, str(crash_at)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read()
    flushed = _flushed_so_far(proc, random.choice([20, 40]))
    if how == "exception":
        proc.communicate(timeout=120)
        assert proc.returncode == 1
    else:
        time.sleep(random.uniform(0, 0.05))
        os.kill(proc.pid, how)
        assert proc.wait(timeout=60) == -how
    client = autolog.Client(store)  # opens cleanly
    run = client.get_run(run_id)
    assert run.info.status == status
    steps = [m.step for m in client.get_metric_history(run_id, "train_loss")]
    assert steps[:flushed] == list(range(flushed)) and steps == sorted(set(steps))
