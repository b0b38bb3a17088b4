"""Cost of scikit-learn autologging: fixed overhead per fit, large-fit overhead, hot paths.

    .venv/bin/python benchmarks/bench_sklearn.py [--pairs 30] [--quick]

1. ``LogisticRegression(max_iter=200).fit`` on iris, with the *default* options first
   (``autolog.autolog(log_models=False)``, then ``autolog.autolog()``), then variants, and
   ``mlflow.autolog()`` in the same invocation (its own process, so that its patches never
   mix with ours). Each in a fresh process, bare and autologged fits in interleaved pairs
   (`bench_fit_overhead.py` has the protocol): ``latency`` is the median of paired
   differences of the fit's wall time with the background drained between pairs (its
   time is ``background``), ``thread CPU`` the same in CPU time of the calling thread
   (steadier on a loaded machine), ``loop`` the cost per fit of N fits in a row plus the
   final flush, background work included. Targets (issue 19): defaults, models off
   <= 5 ms; model logged <= 25 ms.
2. RandomForest (100 trees, 20k x 20) with training metrics off <= 3 % of fit time.
3. A wrapped predict/metric call with nothing to log <= 2 us over the original.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench_fit_overhead import load, mlflow_pairs, run_child, table  # noqa: E402

#: (label, log_models, sklearn options); the first two are the defaults
LR_CASES = (
    ("autolog.autolog(log_models=False)", False, None),
    ("autolog.autolog()", True, None),
    ("  variant: models off, plots off", False, {"log_plots": False}),
    ("  variant: models off, plots and datasets off", False,
     {"log_plots": False, "log_datasets": False}),
    ("  variant: models off, training metrics off", False, {"log_training_metrics": False}),
)


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def lr_fixed_overhead(pairs: int, with_mlflow: bool) -> dict[str, dict | None]:
    results: dict[str, dict | None] = {}
    for label, models, options in LR_CASES:
        results[label] = run_child("sklearn", "autolog", pairs, models, options)
    if with_mlflow:
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            print("(mlflow not installed: no comparison)")
        else:
            for models in (False, True):
                label = "mlflow.autolog(log_models=False)" if not models else "mlflow.autolog()"
                results[label] = run_child("sklearn", "mlflow", mlflow_pairs(pairs, models),
                                           models)
    return results


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--rf-repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip RandomForest and MLflow")
    args = parser.parse_args()
    import autolog

    print(f"{load()} at the start")
    lr = lr_fixed_overhead(args.pairs, with_mlflow=not args.quick)
    print()
    print(table(lr, f"LogisticRegression(max_iter=200).fit on iris: medians of {args.pairs} "
                    "interleaved pairs (latency: wall, background drained between pairs; "
                    "thread CPU: the caller's; loop: N fits in a row + flush, per fit)"))
    ours = lr["autolog.autolog(log_models=False)"]
    theirs = lr.get("mlflow.autolog(log_models=False)")
    if ours and theirs and ours["latency_ms"] > 0:
        print(f"mlflow.autolog(log_models=False) latency: "
              f"{theirs['latency_ms'] / ours['latency_ms']:.1f}x autolog's")

    store = tempfile.mkdtemp(prefix="autolog-bench-")
    autolog.set_tracking_uri(store)
    if not args.quick:
        rf = rf_overhead(args.rf_repeats)
        print("\nRandomForestClassifier(100 trees) on 20k x 20: median ms per fit")
        for name, value in rf.items():
            share = (value - rf["bare"]) / rf["bare"] * 100
            print(f"{name:40} {value:9.1f}   overhead {share:+.1f} %")

    print("\nHot paths (nothing to log), ns per call")
    for name, value in hot_paths().items():
        print(f"{name:48} {value:9.0f}")
    print(f"\n{load()} at the end")


if __name__ == "__main__":
    main()
