"""Cost of scikit-learn autologging: fixed overhead per fit, large-fit overhead, hot paths.

    .venv/bin/python benchmarks/bench_sklearn.py [--repeats 15] [--quick]

Prints medians of interleaved repeats (bare / autolog variants / mlflow.sklearn.autolog(),
the latter in a separate process so its patches never mix with ours) and ratios.
Targets (issue 5): LogisticRegression on iris, models off <= 5 ms over bare, model logged
<= 25 ms; RandomForest (100 trees, 20k x 20) with training metrics off <= 3 % of fit time;
a wrapped predict/metric call with nothing to log <= 2 us over the original.
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
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

LR_VARIANTS = {
    "autolog, models off, plots off": dict(log_models=False, log_plots=False),
    "autolog, models off (plots on)": dict(log_models=False),
    "autolog, model logged, plots off": dict(log_plots=False),
}


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def lr_fixed_overhead(repeats: int) -> dict[str, float]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import autolog

    X, y = load_iris(return_X_y=True)
    samples: dict[str, list[float]] = {"bare": [], **{k: [] for k in LR_VARIANTS}}

    def once() -> float:
        start = time.perf_counter()
        LogisticRegression(max_iter=500).fit(X, y)
        return time.perf_counter() - start

    for options in [{}, *LR_VARIANTS.values()]:  # first-use imports
        autolog.sklearn.autolog(**options)
        once()
    autolog.sklearn.autolog(disable=True)
    for _ in range(repeats):
        samples["bare"].append(once())
        for name, options in LR_VARIANTS.items():
            autolog.sklearn.autolog(**options)
            samples[name].append(once())
            autolog.sklearn.autolog(disable=True)
    return {k: _median_ms(v) for k, v in samples.items()}


def rf_overhead(repeats: int) -> dict[str, float]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    import autolog

    X, y = make_classification(n_samples=20_000, n_features=20, random_state=0)
    variants = {"autolog, training metrics off": dict(log_models=False, log_plots=False,
                                                      log_training_metrics=False),
                "autolog, training metrics on": dict(log_models=False, log_plots=False)}
    samples: dict[str, list[float]] = {"bare": [], **{k: [] for k in variants}}

    def once() -> float:
        start = time.perf_counter()
        RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
        return time.perf_counter() - start

    for _ in range(repeats):
        autolog.sklearn.autolog(disable=True)
        samples["bare"].append(once())
        for name, options in variants.items():
            autolog.sklearn.autolog(**options)
            samples[name].append(once())
    autolog.sklearn.autolog(disable=True)
    return {k: _median_ms(v) for k, v in samples.items()}


def hot_paths() -> dict[str, float]:
    """ns per call: a user estimator's predict and a metric function, nothing to log."""
    import numpy as np
    import sklearn.metrics
    from sklearn.base import BaseEstimator

    import autolog

    class Tiny(BaseEstimator):
        def fit(self, X, y=None):
            return self

        def predict(self, X):
            return X

    model = Tiny()
    X = np.zeros(3)

    def per_call(fn, number=100_000) -> float:
        return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e9

    autolog.sklearn.autolog(disable=True)
    bare_predict = per_call(lambda: model.predict(X))
    bare_metric = per_call(lambda: sklearn.metrics.max_error(X, X), number=2000)
    autolog.sklearn.autolog(log_models=False, log_plots=False)
    patched_predict = per_call(lambda: model.predict(X))
    patched_metric = per_call(lambda: sklearn.metrics.max_error(X, X), number=2000)
    autolog.sklearn.autolog(disable=True)
    return {
        "predict (model not autologged), bare ns": bare_predict,
        "predict (model not autologged), overhead ns": patched_predict - bare_predict,
        "metric fn (no logged predictions), overhead ns": patched_metric - bare_metric,
    }


MLFLOW_SCRIPT = r"""
import json, statistics, sys, time, warnings, logging
warnings.simplefilter("ignore"); logging.disable(logging.WARNING)
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
repeats = int(sys.argv[2])
def once():
    start = time.perf_counter(); LogisticRegression(max_iter=500).fit(X, y)
    return time.perf_counter() - start
out = {"bare": [], "mlflow, models off": [], "mlflow, model logged": []}
for log_models in (False, True):
    mlflow.sklearn.autolog(log_models=log_models, silent=True); once()
for _ in range(repeats):
    mlflow.sklearn.autolog(disable=True); out["bare"].append(once())
    mlflow.sklearn.autolog(log_models=False, silent=True); out["mlflow, models off"].append(once())
    mlflow.sklearn.autolog(log_models=True, silent=True); out["mlflow, model logged"].append(once())
print(json.dumps({k: statistics.median(v) * 1e3 for k, v in out.items()}))
"""


def mlflow_lr(repeats: int) -> dict[str, float] | None:
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", MPLBACKEND="Agg")
        proc = subprocess.run([sys.executable, "-c", MLFLOW_SCRIPT, uri, str(repeats)],
                              capture_output=True, text=True, env=env, cwd=tmp, timeout=1800)
    if proc.returncode != 0:
        print("mlflow run failed:", proc.stderr[-2000:])
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rf-repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip RandomForest and MLflow")
    args = parser.parse_args()
    import autolog

    store = tempfile.mkdtemp(prefix="autolog-bench-")
    autolog.set_tracking_uri(store)

    lr = lr_fixed_overhead(args.repeats)
    print("\nLogisticRegression on iris: median ms per fit (overhead = minus bare)")
    print(f"{'variant':40} {'fit ms':>9} {'overhead ms':>12}")
    for name, value in lr.items():
        print(f"{name:40} {value:9.2f} {value - lr['bare']:12.2f}")
    ours = {"models off": lr["autolog, models off, plots off"] - lr["bare"],
            "model logged": lr["autolog, model logged, plots off"] - lr["bare"]}
    if not args.quick:
        theirs = mlflow_lr(args.repeats)
        if theirs is not None:
            print(f"{'mlflow (own process) bare':40} {theirs['bare']:9.2f}")
            for key in ("models off", "model logged"):
                overhead = theirs[f"mlflow, {key}"] - theirs["bare"]
                ratio = overhead / ours[key] if ours[key] > 0 else float("inf")
                print(f"{'mlflow.sklearn.autolog(), ' + key:40} {theirs[f'mlflow, {key}']:9.2f} "
                      f"{overhead:12.2f}   ({ratio:.1f}x autolog's overhead)")
        else:
            print("(mlflow not installed: no comparison)")

    if not args.quick:
        rf = rf_overhead(args.rf_repeats)
        print("\nRandomForestClassifier(100 trees) on 20k x 20: median ms per fit")
        for name, value in rf.items():
            share = (value - rf["bare"]) / rf["bare"] * 100
            print(f"{name:40} {value:9.1f}   overhead {share:+.1f} %")

    print("\nHot paths (nothing to log), ns per call")
    for name, value in hot_paths().items():
        print(f"{name:48} {value:9.0f}")


if __name__ == "__main__":
    main()
