"""What autologging a Keras ``Model.fit`` costs.

    .venv/bin/python benchmarks/bench_keras.py [--repeats 5] [--epochs 5]

A small MLP (20 -> 64 -> 64 -> 1, Adam, batch 32) fitted for 5 epochs on 20,000 x 20
synthetic rows with a 10% validation split, a fresh model per fit (so each fit includes
Keras's own tracing, as a user's does). Wall time of ``fit``, median of interleaved
repeats:

* bare                  autologging off (every patch reverted)
* autolog, models off   ``autolog.autolog(log_models=False)``      target: <= 3% over bare
* autolog, models on    ``autolog.autolog()`` (the ``.keras`` model saved and logged)
* mlflow.tensorflow     ``mlflow.tensorflow.autolog()`` with models off and on, in a
                        separate process (with its own interleaved bare fits), when MLflow
                        is installed

Not a test: it prints a table. CPU only (``CUDA_VISIBLE_DEVICES=""``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

ROWS, FEATURES = 20_000, 20


def make_data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, FEATURES)).astype("float32")
    w = rng.normal(size=(FEATURES,)).astype("float32")
    y = (x @ w + 0.1 * rng.normal(size=ROWS) > 0).astype("float32")
    return x, y


def fit_once(x, y, epochs: int) -> tuple[float, float]:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.1, verbose=0)
    return time.perf_counter() - start, time.process_time() - cpu


def run_autolog(repeats: int, epochs: int) -> dict[str, list[tuple[float, float]]]:
    import autolog

    tmp = tempfile.mkdtemp(prefix="bench-keras-")
    autolog.set_tracking_uri(os.path.join(tmp, "runs"))
    x, y = make_data()
    variants = {
        "bare": lambda: autolog.autolog(disable=True),
        "autolog, models off": lambda: autolog.autolog(log_models=False),
        "autolog, models on": lambda: autolog.autolog(log_models=True),
    }
    for switch in variants.values():  # warm up every path once
        switch()
        fit_once(x[:2000], y[:2000], 1)
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
    for _ in range(repeats):
        for label, switch in variants.items():
            switch()
            times[label].append(fit_once(x, y, epochs))
    autolog.autolog(disable=True)
    return times


def run_mlflow(repeats: int, epochs: int) -> dict[str, list[tuple[float, float]]]:
    """In its own process: mlflow.tensorflow.autolog() against bare fits there."""
    import warnings

    import mlflow

    warnings.filterwarnings("ignore")
    tmp = tempfile.mkdtemp(prefix="bench-keras-mlflow-")
    mlflow.set_tracking_uri(f"sqlite:///{os.path.join(tmp, 'mlflow.db')}")
    x, y = make_data()

    def on(models: bool):
        return lambda: mlflow.tensorflow.autolog(log_models=models, silent=True)

    variants = {
        "bare": lambda: mlflow.tensorflow.autolog(disable=True, silent=True),
        "mlflow.tensorflow, models off": on(False),
        "mlflow.tensorflow, models on": on(True),
    }
    for switch in variants.values():
        switch()
        fit_once(x[:2000], y[:2000], 1)
        if mlflow.active_run() is not None:
            mlflow.end_run()
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in variants}
    for _ in range(repeats):
        for label, switch in variants.items():
            switch()
            times[label].append(fit_once(x, y, epochs))
            if mlflow.active_run() is not None:
                mlflow.end_run()
    return times


def table(title: str, times: dict[str, list]) -> None:
    print(title)
    print(f"   {'':<32}{'wall':>10}{'ratio':>9}{'CPU':>12}{'ratio':>9}")
    wall_base = statistics.median(t[0] for t in times["bare"])
    cpu_base = statistics.median(t[1] for t in times["bare"])
    for label, values in times.items():
        wall = statistics.median(t[0] for t in values)
        cpu = statistics.median(t[1] for t in values)
        print(f"   {label:<32}{wall * 1e3:8.0f}ms{wall / wall_base:>8.3f}x"
              f"{cpu * 1e3:10.0f}ms{cpu / cpu_base:>8.3f}x")
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--mlflow-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    if args.mlflow_child:
        print(json.dumps(run_mlflow(args.repeats, args.epochs)))
        return

    import keras

    print(f"keras {keras.__version__} ({keras.backend.backend()} backend), "
          f"{os.cpu_count()} CPUs, CPU only\n")
    times = run_autolog(args.repeats, args.epochs)
    table(f"MLP 20-64-64-1, {args.epochs} epochs on {ROWS:,} x {FEATURES}, batch 32, "
          f"validation_split 0.1; time of fit, median of {args.repeats} interleaved repeats "
          "(target: models off <= 1.030x)", times)

    if args.no_mlflow:
        return
    try:
        import importlib.util

        have_mlflow = importlib.util.find_spec("mlflow") is not None
    except ImportError:
        have_mlflow = False
    if not have_mlflow:
        print("mlflow is not installed: no comparison.")
        return
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--mlflow-child", "--repeats",
         str(args.repeats), "--epochs", str(args.epochs)],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        print("mlflow comparison failed:\n" + out.stderr[-2000:])
        return
    mlflow_times = json.loads(out.stdout.strip().splitlines()[-1])
    table("The same with mlflow.tensorflow.autolog(), in a separate process (ratios to "
          "that process's bare fits)", mlflow_times)


if __name__ == "__main__":
    main()
