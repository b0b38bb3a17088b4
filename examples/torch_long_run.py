"""A hand-written PyTorch loop whose run spans the whole script: how it starts and ends.

    python examples/torch_long_run.py                          # one process
    torchrun --nproc-per-node 2 examples/torch_long_run.py     # two ranks (gloo, CPU)
    python examples/torch_long_run.py --stop-after 3 &  kill -TERM $!   # ends KILLED

No run is opened by hand: the first optimizer step opens one (the core's long-lived
session). The script's own ``start_run()`` for the test evaluation opens a child of it.
The DataLoader's workers are forked processes: they never write into the run. The run
ends at exit -- FINISHED, FAILED after an uncaught exception, KILLED on SIGTERM -- and the
last epoch and the model are logged first, whichever way it ends. Under torchrun the job
is one run: rank 0 opens it and logs params, losses and the model; with
``autolog.autolog(log_all_ranks=True)`` every rank adds its losses as ``rank<k>/...``, with
``log_system_metrics=True`` its system metrics as ``system/rank<k>/...``.
"""

from __future__ import annotations

import argparse
import os

import autolog

if not any(s.name == "torch" and s.state in ("enabled", "waiting") for s in autolog.status()):
    autolog.autolog()

import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--stop-after", type=int, default=None,
                        help="sleep after this many epochs (send SIGTERM meanwhile)")
    args = parser.parse_args()
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        torch.distributed.init_process_group("gloo")
    rank = torch.distributed.get_rank() if distributed else 0

    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    train = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=64, shuffle=True,
                       num_workers=2)  # forked workers: they never write into the run
    test = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=256)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    if distributed:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(args.epochs):
        for xb, yb in train:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        print(f"rank {rank} epoch {epoch} done", flush=True)
        if args.stop_after is not None and epoch + 1 == args.stop_after:
            import time

            time.sleep(600)

    if rank == 0:
        run = autolog.active_run()  # the run the first step opened
        with autolog.start_run(run_name="test"):  # the script's own: a child of it
            model.eval()
            with torch.no_grad():
                correct = sum(int((model(xb).argmax(1) == yb).sum()) for xb, yb in test)
            autolog.log_metric("test_accuracy", correct / len(test.dataset))
        print(f"run {run.info.run_id}: ends at exit, with the last epoch and the model")
    if distributed:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
