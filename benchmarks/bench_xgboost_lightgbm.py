"""Autologging overhead on XGBoost and LightGBM training (a plain script, not a test).

200 boosting rounds on 50,000 x 20 synthetic rows with one eval set, through the
scikit-learn wrappers (whose fit calls the native train inside) and through the native
``train``. Modes, interleaved repeat by repeat so that machine noise hits all alike:

* bare                 autolog off
* autolog, models off  ``autolog.<fw>.autolog(log_models=False)`` (params, per-iteration
                       metrics, importance JSON + PNG, datasets, duration/resources)
* autolog, models on   the same plus the model (UBJSON / LightGBM text) and its signature
* mlflow               ``mlflow.<fw>.autolog()`` in a separate process (its own bare
                       runs interleaved there; the ratio is to that process's bare median)

Usage: python benchmarks/bench_xgboost_lightgbm.py [--repeats 5] [--threads 2]
       [--rows 50000] [--rounds 200] [--no-mlflow] [--only xgboost|lightgbm]
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
sys.path.insert(0, os.path.dirname(HERE))


def make_data(rows: int, features: int = 20, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    logits = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + rng.normal(scale=0.5, size=rows)
    y = (logits > 0).astype(int)
    n_valid = rows // 5
    return X[n_valid:], y[n_valid:], X[:n_valid], y[:n_valid]


def trainers(framework: str, rounds: int, threads: int):
    """name -> function(data) training one model."""
    if framework == "xgboost":
        import xgboost as xgb

        def wrapper(d):
            X, y, Xv, yv = d
            xgb.XGBClassifier(n_estimators=rounds, n_jobs=threads, max_depth=6,
                              tree_method="hist").fit(X, y, eval_set=[(Xv, yv)], verbose=False)

        def native(d):
            X, y, Xv, yv = d
            dtrain, dvalid = xgb.DMatrix(X, y, nthread=threads), xgb.DMatrix(Xv, yv)
            xgb.train({"objective": "binary:logistic", "nthread": threads, "max_depth": 6,
                       "tree_method": "hist"}, dtrain, rounds, evals=[(dvalid, "valid")],
                      verbose_eval=False)

        return {"XGBClassifier.fit": wrapper, "xgboost.train": native}
    import lightgbm as lgb

    def lgb_wrapper(d):
        X, y, Xv, yv = d
        lgb.LGBMClassifier(n_estimators=rounds, n_jobs=threads, verbose=-1).fit(
            X, y, eval_X=Xv, eval_y=yv)

    def lgb_native(d):
        X, y, Xv, yv = d
        train_set = lgb.Dataset(X, y)
        lgb.train({"objective": "binary", "num_threads": threads, "verbose": -1}, train_set,
                  rounds, valid_sets=[lgb.Dataset(Xv, yv, reference=train_set)])

    return {"LGBMClassifier.fit": lgb_wrapper, "lightgbm.train": lgb_native}


def timed(function, data) -> tuple[float, float]:
    """(wall seconds, process CPU seconds): CPU time is additive and far less sensitive
    to other processes on a shared machine than wall time."""
    started, cpu = time.perf_counter(), time.process_time()
    function(data)
    return time.perf_counter() - started, time.process_time() - cpu


def run_autolog(framework: str, args) -> dict[str, dict[str, list[tuple[float, float]]]]:
    import autolog

    autolog.set_tracking_uri(tempfile.mkdtemp(prefix="bench-gbdt-"))
    integration = getattr(autolog, framework)
    data = make_data(args.rows)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    modes = {
        "bare": lambda: integration.autolog(disable=True),
        "autolog, models off": lambda: integration.autolog(log_models=False, silent=True),
        "autolog, models on": lambda: integration.autolog(log_models=True, silent=True),
    }
    for name, train in trainers(framework, args.rounds, args.threads).items():
        times = results.setdefault(name, {mode: [] for mode in modes})
        for switch in modes.values():  # warm-up: imports (matplotlib), first run creation
            switch()
            train(data)
        for _ in range(args.repeats):
            for mode, switch in modes.items():
                switch()
                times[mode].append(timed(train, data))
        integration.autolog(disable=True)
    return results


MLFLOW_CHILD = r"""
import json, os, sys, tempfile, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {here!r})
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
import bench_xgboost_lightgbm as bench
import mlflow
root = tempfile.mkdtemp(prefix="bench-mlflow-")
mlflow.set_tracking_uri("sqlite:///" + os.path.join(root, "mlflow.db"))
framework = {framework!r}
flavor = getattr(mlflow, framework)
args = bench.argparse.Namespace(**{args!r})
data = bench.make_data(args.rows)
out = {{}}
for name, train in bench.trainers(framework, args.rounds, args.threads).items():
    times = out.setdefault(name, {{"bare": [], "mlflow": []}})
    flavor.autolog(disable=True); train(data)
    flavor.autolog(silent=True); train(data)
    for _ in range(args.repeats):
        flavor.autolog(disable=True)
        times["bare"].append(bench.timed(train, data))
        flavor.autolog(silent=True)
        times["mlflow"].append(bench.timed(train, data))
print("RESULT " + json.dumps(out))
"""


def run_mlflow(framework: str, args) -> dict[str, dict[str, list[list[float]]]] | None:
    try:
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            return None
    except (ImportError, ValueError):
        return None
    code = MLFLOW_CHILD.format(here=HERE, framework=framework, args=vars(args))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    print(f"mlflow run failed for {framework}:\n{proc.stderr[-2000:]}", file=sys.stderr)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--only", choices=("xgboost", "lightgbm"))
    args = parser.parse_args()
    frameworks = [args.only] if args.only else ["xgboost", "lightgbm"]
    print(f"{args.rounds} rounds, {args.rows} x 20 (1/5 held out as the eval set), "
          f"{args.threads} threads, median of {args.repeats} interleaved repeats, "
          f"{os.cpu_count()} CPUs\n")
    header = (f"{'entry point':<20} {'mode':<22} {'wall s':>8} {'vs bare':>8} "
              f"{'CPU s':>8} {'vs bare':>8}")
    print(header)
    print("-" * len(header))

    def row(name: str, mode: str, values, bare) -> None:
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        if bare is None:
            print(f"{name:<20} {mode:<22} {wall:>8.3f} {'':>8} {cpu:>8.3f}")
            return
        bare_wall = statistics.median(v[0] for v in bare)
        bare_cpu = statistics.median(v[1] for v in bare)
        print(f"{name:<20} {mode:<22} {wall:>8.3f} {(wall / bare_wall - 1) * 100:>+7.1f}% "
              f"{cpu:>8.3f} {(cpu / bare_cpu - 1) * 100:>+7.1f}%")

    for framework in frameworks:
        ours = run_autolog(framework, args)
        theirs = None if args.no_mlflow else run_mlflow(framework, args)
        for name, times in ours.items():
            for mode, values in times.items():
                row(name, mode, values, None if mode == "bare" else times["bare"])
            if theirs and name in theirs:
                row(name, "mlflow autolog", theirs[name]["mlflow"], theirs[name]["bare"])
            sys.stdout.flush()
        print(flush=True)


if __name__ == "__main__":
    main()
