"""One run per distributed job: torchrun, two ranks on the CPU (gloo), a DDP loop."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import autolog  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

DDP_LOOP = """
import time
import autolog, torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

autolog.autolog(log_system_metrics=True, log_all_ranks=%(all_ranks)s)
dist.init_process_group("gloo")
torch.manual_seed(0)
data = TensorDataset(torch.randn(256, 8), torch.randn(256, 1))
sampler = DistributedSampler(data)
loader = DataLoader(data, batch_size=32, sampler=sampler)
model = nn.parallel.DistributedDataParallel(nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    sampler.set_epoch(epoch)
    for xb, yb in loader:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        optimizer.step()
    time.sleep(0.4)  # time for a system metrics sample or two
dist.barrier()
dist.destroy_process_group()
"""


def torchrun(tmp_path, all_ranks: bool):
    script = tmp_path / "ddp.py"
    script.write_text(textwrap.dedent(DDP_LOOP % {"all_ranks": all_ranks}))
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "AUTOLOG_STRICT")}
    env.update(PYTHONPATH=str(REPO), AUTOLOG_TRACKING_URI=str(tmp_path / "runs"),
               AUTOLOG_SYSTEM_METRICS_SAMPLING_INTERVAL="0.2", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", str(script)],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "AutologWarning" not in done.stderr, done.stderr[-3000:]
    autolog.set_tracking_uri(tmp_path / "runs")
    try:
        (run,) = autolog.search_runs()
    finally:
        autolog.set_tracking_uri(None)
    return run


@pytest.mark.slow
def test_two_ranks_write_into_one_run(tmp_path):
    run = torchrun(tmp_path, all_ranks=True)
    assert run.info.status == "FINISHED"
    data = run.data
    assert data.params["optimizer_name"] == "SGD" and "model_num_params" in data.params
    assert data.tags["autolog.rank"] == "0" and data.tags["autolog.world_size"] == "2"
    assert data.tags["autolog.rank0.node"] == data.tags["autolog.rank1.node"]
    assert "train_loss" in data.metrics and "rank1/train_loss" in data.metrics
    assert "rank1/training_duration_seconds" in data.metrics
    assert any(k.startswith("system/rank1/") for k in data.metrics), sorted(data.metrics)
    assert any(k.startswith("system/") and not k.startswith("system/rank")
               for k in data.metrics), sorted(data.metrics)
    assert not any(k.startswith("rank1/") and k.endswith("_num_params") for k in data.params)
    autolog.set_tracking_uri(tmp_path / "runs")
    try:
        history = autolog.get_metric_history(run.info.run_id, "rank1/train_loss")
        assert [m.step for m in history] == [0, 1, 2]
        files = [f.path for f in autolog.Client().list_artifacts(run.info.run_id)]
        assert "model" in files
    finally:
        autolog.set_tracking_uri(None)

