"""What autologging a hand-written PyTorch loop costs.

    .venv/bin/python benchmarks/bench_torch.py [--repeats 7]

1. Per-step CPU cost of all hooks together (the DataLoader pass, the loss module,
   ``backward``, ``GradScaler``-free ``Optimizer.step`` post hook, ``model.parameters()``
   is not called per step here): a loop over a tiny model, so that the hooks are a
   visible share of the step, timed bare and with ``autolog.autolog()``. The budget
   (<= 20 us) is for the steady state: this thread's CPU time after the first steps
   (the first optimizer step opens the run, a one-off cost), as the median of paired
   differences of interleaved repeats. The whole process's CPU time over the whole
   epoch (run start and background threads included) is printed beside it. This is a
   first epoch, the dearest: until a pass ends as an epoch its losses are also held per
   window of steps (the loop might turn out to be a loop of steps); later epochs are not.
2. Hooks one at a time: the same loop calling only the hooked function; and a loop with
   no DataLoader (a loop of steps): ``train_loss`` per window of 10 steps by default, and
   with ``log_every_n_steps=1`` for every step (a metric per step). The
   "backward" row includes the step hook's work for the loss it holds. These rows do not
   add up to section 1: the cost of the same Python code depends on the code around it
   (CPU caches), so the budget is judged on the whole loop.
3. A small MLP fitted on sklearn's digits (10 epochs, train and val loaders): bare,
   autolog with ``log_models=False``, autolog with models on (the end-of-run model
   logging included). Medians of interleaved repeats, ratios to bare.

Bare and autologged variants run in the same process, interleaved, autologging switched
on and off with ``autolog.autolog()`` / ``autolog.autolog(disable=True)`` (the disable
reverts every patch, so the bare timings are of the untouched functions). Not a test:
it prints a table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import autolog  # noqa: E402

WARMUP_STEPS = 50


def _tiny_loop(torch, steps: int) -> tuple[float, float]:
    """One epoch of ``steps`` training steps on a 4->1 linear model (batches of 1).

    Returns (CPU seconds of this thread per step after the first `WARMUP_STEPS` -- the
    steady state, after the run opened at the first step --, CPU seconds of the whole
    process for the whole epoch, background threads and the run's opening included).
    """
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    x = torch.randn(steps, 4)
    y = torch.randn(steps, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=1)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.MSELoss()
    start_process = time.process_time()
    start_thread = 0.0
    for index, (xb, yb) in enumerate(loader):
        if index == WARMUP_STEPS:
            start_thread = time.thread_time()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    steady = (time.thread_time() - start_thread) / (steps - WARMUP_STEPS)
    return steady, (time.process_time() - start_process) / steps


def _mlp_fit(torch, data, epochs: int = 10) -> float:
    from torch.utils.data import DataLoader, TensorDataset

    x_train, y_train, x_val, y_val = data
    torch.manual_seed(0)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
    val = DataLoader(TensorDataset(x_val, y_val), batch_size=256)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _epoch in range(epochs):
        model.train()
        for xb, yb in train:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for xb, yb in val:
                loss_fn(model(xb), yb)
    if autolog.active_run() is not None:
        autolog.end_run()  # the run's end: model logging counts
    return time.perf_counter() - start


def _one_hook(torch, which: str, n: int) -> float:
    """CPU seconds (this thread) of n calls of one hooked function alone, steady state.

    `WARMUP_STEPS` calls run first, untimed: the first optimizer step opens the run.
    "DataLoader next" times a whole pass, ``iter(loader)`` included (the pass's hook).
    """
    from torch.utils.data import DataLoader, TensorDataset

    if which == "DataLoader next":
        loader = DataLoader(TensorDataset(torch.zeros(n, 1)), batch_size=1)
        start = time.thread_time()
        for _ in loader:
            pass
        return time.thread_time() - start
    if which == "loss module":
        loss_fn = torch.nn.MSELoss()
        a, b = torch.zeros(1), torch.ones(1)
        for _ in range(WARMUP_STEPS):
            loss_fn(a, b)
        start = time.thread_time()
        for _ in range(n):
            loss_fn(a, b)
        return time.thread_time() - start
    w = torch.nn.Parameter(torch.zeros(1))
    w.grad = torch.zeros(1)
    optimizer = torch.optim.SGD([w], lr=0.1)
    if which == "optimizer.step":
        for _ in range(WARMUP_STEPS):
            optimizer.step()
        start = time.thread_time()
        for _ in range(n):
            optimizer.step()
        return time.thread_time() - start
    if which in ("backward + step in a pass", "no DataLoader: backward + step",
                 "no DataLoader, every step"):
        # backward alone would pile up losses that only an optimizer step takes in, so the
        # row "backward" is (backward + step in a pass) minus the two rows above it.
        batches = DataLoader(TensorDataset(torch.zeros(n + WARMUP_STEPS, 1)), batch_size=1) \
            if which.endswith("pass") else range(n + WARMUP_STEPS)
        start = 0.0
        for index, _ in enumerate(batches):
            if index == WARMUP_STEPS:
                start = time.thread_time()
            (w * 2).sum().backward()
            optimizer.step()
        return time.thread_time() - start
    raise ValueError(which)


def _set(on: bool, **options) -> None:
    if on:
        autolog.autolog(**options)
    else:
        autolog.autolog(disable=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    os.environ.setdefault("AUTOLOG_STRICT", "1")
    tmp = tempfile.mkdtemp(prefix="bench-torch-")
    autolog.set_tracking_uri(os.path.join(tmp, "runs"))
    import torch

    torch.set_num_threads(1)
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    data = (x[:1400], y[:1400], x[1400:], y[1400:])

    # warm up both paths
    for on in (False, True):
        _set(on)
        _tiny_loop(torch, 200)
        if autolog.active_run() is not None:
            autolog.end_run()

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, 1 torch thread; no GPU used "
          "(CPU timings only)\n")

    bare, auto, pairs, whole = [], [], [], []
    for _ in range(args.repeats):
        runs = []
        for on in (False, True):
            _set(on, log_models=False)
            runs.append(_tiny_loop(torch, args.steps))
            if autolog.active_run() is not None:
                autolog.end_run()
        (b_steady, b_whole), (a_steady, a_whole) = runs
        bare.append(b_steady)
        auto.append(a_steady)
        pairs.append(a_steady - b_steady)
        whole.append(a_whole - b_whole)
    # Paired differences of interleaved repeats: slow drift of the machine cancels out.
    print("1. per training step (tiny model, batch 1), CPU time, "
          f"{args.repeats} interleaved pairs of {args.steps} steps")
    print(f"   {'bare loop':<28}{statistics.median(bare) * 1e6:10.1f} us/step")
    print(f"   {'autolog':<28}{statistics.median(auto) * 1e6:10.1f} us/step")
    print(f"   {'all hooks together':<28}{statistics.median(pairs) * 1e6:10.1f} us/step   "
          "(median of paired differences, steady state; target <= 20 us)")
    print(f"   {'  with run start, threads':<28}{statistics.median(whole) * 1e6:10.1f} us/step   "
          f"(whole process, the run opened at step 1 spread over {args.steps} steps)\n")

    print("2. one hooked function alone, CPU time per call (autolog - bare)")
    n = 5000
    deltas = {}
    for which in ("DataLoader next", "loss module", "optimizer.step",
                  "backward + step in a pass", "no DataLoader: backward + step",
                  "no DataLoader, every step"):
        every = 1 if which.endswith("every step") else None
        pairs_t = []
        for _ in range(args.repeats):
            timed = []
            for on in (False, True):
                _set(on, log_models=False, log_every_n_steps=every)
                timed.append(_one_hook(torch, which, n) / n)
                if autolog.active_run() is not None:
                    autolog.end_run()
            pairs_t.append(timed[1] - timed[0])
        deltas[which] = statistics.median(pairs_t)
    no_loader = deltas.pop("no DataLoader: backward + step")
    every_step = deltas.pop("no DataLoader, every step")
    deltas["backward"] = (deltas.pop("backward + step in a pass") - deltas["DataLoader next"]
                          - deltas["optimizer.step"])
    for which, delta in deltas.items():
        print(f"   {which:<28}{delta * 1e6:10.1f} us/call")
    print(f"   {'no DataLoader, per step':<28}{no_loader * 1e6:10.1f} us/step   (backward + "
          "step, train_loss per window of 10 steps)")
    print(f"   {'  log_every_n_steps=1':<28}{every_step * 1e6:10.1f} us/step   (backward + "
          "step, train_loss logged for every step)")
    print()

    times: dict[str, list[float]] = {"bare": [], "autolog, models off": [],
                                      "autolog, models on": []}
    for _ in range(max(3, args.repeats // 2)):
        for label in times:
            if label == "bare":
                _set(False)
            else:
                _set(True, log_models=label.endswith("on"))
            times[label].append(_mlp_fit(torch, data))
    _set(False)
    base = statistics.median(times["bare"])
    print("3. MLP 64-128-10 on digits, 10 epochs, Adam, batch 32, wall time, median of "
          f"{len(times['bare'])} interleaved repeats")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"   {label:<28}{median * 1e3:10.1f} ms   x{median / base:.3f}")


if __name__ == "__main__":
    main()
