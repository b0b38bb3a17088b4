"""Does autologging a PyTorch loop synchronise the GPU per step? (Needs a CUDA device.)

    .venv/bin/python benchmarks/bench_torch_cuda.py [--steps 2000] [--repeats 5]

An MLP trained on GPU-resident synthetic data through a ``DataLoader`` (so no host copy
per step), bare and with ``autolog.autolog()``, interleaved:

1. Synchronising calls inside the training steps, counted with
   ``torch.cuda.set_sync_debug_mode("warn")`` (each synchronising CUDA call warns). The
   mode is on only around the step body (next batch, forward, loss, backward, optimizer
   step); the once-per-epoch conversion of the held losses happens when the next pass
   starts, outside it. Expected: the same count bare and autologged (0 for this loop).
2. Wall time per step (``torch.cuda.synchronize()`` before the clock stops), median of
   interleaved repeats, and the difference.

Without a CUDA device it says so and exits 0 (``run_all.py`` runs every bench).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import autolog  # noqa: E402


def _epoch(torch, steps: int, batch: int) -> tuple[float, int]:
    """Seconds per step, and synchronising calls seen inside the steps."""
    from torch.utils.data import DataLoader, TensorDataset

    device = torch.device("cuda")
    torch.manual_seed(0)
    x = torch.randn(steps * batch, 256, device=device)
    y = torch.randint(0, 10, (steps * batch,), device=device)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch)
    model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 10)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    syncs = 0
    torch.cuda.synchronize()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        iterator = iter(loader)
        while True:
            torch.cuda.set_sync_debug_mode("warn")
            try:
                xb, yb = next(iterator)
            except StopIteration:
                torch.cuda.set_sync_debug_mode("default")
                break
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            torch.cuda.set_sync_debug_mode("default")
        syncs = sum("synchroniz" in str(w.message) for w in caught)
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps, syncs


def _set(on: bool) -> None:
    if on:
        autolog.autolog(log_models=False)
    else:
        autolog.autolog(disable=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(f"torch {torch.__version__}: no CUDA device here, skipped (run it on a GPU "
              "machine to check for per-step synchronisation)")
        return
    os.environ.setdefault("AUTOLOG_STRICT", "1")
    autolog.set_tracking_uri(os.path.join(tempfile.mkdtemp(prefix="bench-cuda-"), "runs"))
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}; MLP 256-512-10, "
          f"batch {args.batch}, {args.steps} steps, {args.repeats} interleaved repeats\n")
    times: dict[bool, list[float]] = {False: [], True: []}
    syncs: dict[bool, list[int]] = {False: [], True: []}
    for on in (False, True):  # warm up CUDA and both paths
        _set(on)
        _epoch(torch, 50, args.batch)
        if autolog.active_run() is not None:
            autolog.end_run()
    for _ in range(args.repeats):
        for on in (False, True):
            _set(on)
            seconds, count = _epoch(torch, args.steps, args.batch)
            if autolog.active_run() is not None:
                autolog.end_run()
            times[on].append(seconds)
            syncs[on].append(count)
    autolog.autolog(disable=True)
    bare, auto = statistics.median(times[False]), statistics.median(times[True])
    print(f"   {'':<12}{'us/step':>10}{'sync calls in steps':>22}")
    print(f"   {'bare':<12}{bare * 1e6:10.1f}{max(syncs[False]):22d}")
    print(f"   {'autolog':<12}{auto * 1e6:10.1f}{max(syncs[True]):22d}")
    print(f"   {'difference':<12}{(auto - bare) * 1e6:10.1f}"
          f"{max(syncs[True]) - max(syncs[False]):22d}   (expected: 0 extra sync calls)")


if __name__ == "__main__":
    main()
