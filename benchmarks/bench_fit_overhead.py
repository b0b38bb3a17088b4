"""Fixed cost per outermost fit of a small model, with autolog's default options (issue 19).

    .venv/bin/python benchmarks/bench_fit_overhead.py [--pairs 30] [--only sklearn ...]
        [--no-mlflow] [--json]

Small fits are what users run most (tutorials, grid searches, cross-validation loops,
studies with thousands of trials), so the cost that does not shrink with the model is
the one they feel. Each framework runs in its own process; in it, bare and autologged
fits alternate (pairs, the order flipped every pair so drift hits both alike):

* ``latency``: the median of paired differences of the fit's wall time -- what the
  caller waits. After each autologged fit, ``autolog.flush()`` runs *outside* the timed
  part, so that one fit's background work (writer, plots, provenance) does not land in
  the next sample; its time is reported as ``background``.
* ``thread CPU``: the same with ``time.thread_time()`` of the calling thread: CPU the
  user's thread spent, much less sensitive to other processes on a loaded machine.
* ``loop``: N autologged fits back to back, then ``autolog.flush()``, minus N bare fits,
  per fit -- the cost in a loop of many fits, background work included.
* ``undrained``: the pairs again with nothing drained (issue 19's protocol): one fit's
  background work may then land in the next sample, bare or autologged.

MLflow (``mlflow.autolog(...)``) runs the same protocol in a process of its own (its
ratio is to that process's bare fits). Models are off unless ``--models`` says on.
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
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

FRAMEWORKS = ("sklearn", "sklearn_cv", "xgboost", "lightgbm", "catboost", "keras")
#: the module a workload needs, where it is not the workload's name
MODULES = {"sklearn_cv": "sklearn"}
#: Frameworks MLflow has no autologging for: no mlflow row (it would time bare fits).
NOT_IN_MLFLOW = ("catboost",)
DESCRIPTION = {
    "sklearn": "LogisticRegression(max_iter=200).fit on iris",
    "sklearn_cv": "cross_val_score(LogisticRegression(max_iter=200), iris, cv=5): one run",
    "xgboost": "xgboost.train, 10 rounds, 500 x 10",
    "lightgbm": "lightgbm.train, 10 rounds, 500 x 10",
    "catboost": "CatBoostClassifier.fit, 100 iterations, 500 x 10",
    "keras": "Keras Dense(8)-Dense(1), 1 epoch on 256 x 10, batch 32",
}


def make_fit(framework: str):
    """A function doing one small training of ``framework`` (all set-up done here)."""
    if framework == "sklearn":
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        X, y = load_iris(return_X_y=True)
        return lambda: LogisticRegression(max_iter=200).fit(X, y)
    if framework == "sklearn_cv":
        import sklearn.model_selection as model_selection
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        X, y = load_iris(return_X_y=True)
        # Looked up at each call: a name bound before autolog() is enabled stays the
        # unpatched function (each fold's fit would then be a run of its own).
        return lambda: model_selection.cross_val_score(LogisticRegression(max_iter=200), X, y,
                                                       cv=5)
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 10))
    y = (X[:, 0] + rng.normal(scale=0.5, size=500) > 0).astype(int)
    if framework == "xgboost":
        import xgboost as xgb

        params = {"objective": "binary:logistic", "nthread": 1, "max_depth": 3}
        return lambda: xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=10)
    if framework == "lightgbm":
        import lightgbm as lgb

        params = {"objective": "binary", "verbose": -1, "num_threads": 1, "num_leaves": 7}
        return lambda: lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=10)
    if framework == "catboost":
        import catboost

        # CatBoost's defaults (depth 6, catboost_info/ written into the working directory)
        # but one thread, as the other rows.
        return lambda: catboost.CatBoostClassifier(
            iterations=100, thread_count=1, verbose=False).fit(X, y)
    if framework == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras

        Xk, yk = X[:256].astype("float32"), y[:256].astype("float32")

        def fit():
            model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(8, activation="relu"),
                                      keras.layers.Dense(1, activation="sigmoid")])
            model.compile(optimizer="adam", loss="binary_crossentropy")
            return model.fit(Xk, yk, epochs=1, batch_size=32, verbose=0)

        return fit
    raise ValueError(framework)


def _tool(tool: str, models: bool, options: dict | None = None):
    """(enable, disable, drain) for autolog or mlflow, into a fresh temporary store;
    ``options``: more autolog options (sklearn's: ``autolog.sklearn.autolog``)."""
    store = tempfile.mkdtemp(prefix=f"bench-{tool}-")
    if tool == "autolog":
        import autolog

        autolog.set_tracking_uri(store)
        if options:
            return (lambda: autolog.sklearn.autolog(log_models=models, **options),
                    lambda: autolog.sklearn.autolog(disable=True), autolog.flush)
        return (lambda: autolog.autolog(log_models=models), lambda: autolog.autolog(disable=True),
                autolog.flush)
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{store}/mlflow.db")
    return (lambda: mlflow.autolog(log_models=models, silent=True),
            lambda: mlflow.autolog(disable=True, silent=True), lambda: None)


def measure(framework: str, tool: str, pairs: int, models: bool,
            options: dict | None = None) -> dict[str, float]:
    """Run in the framework's own process: the protocol of the module docstring."""
    os.chdir(tempfile.mkdtemp(prefix="bench-cwd-"))  # no git work tree, as most users
    enable, disable, drain = _tool(tool, models, options)
    fit = make_fit(framework)

    def timed() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.thread_time()
        fit()
        return time.perf_counter() - wall, time.thread_time() - cpu

    enable()
    for _ in range(3):  # first-use imports and caches (provenance, sklearn's metrics, ...)
        fit()
    drain()
    disable()
    for _ in range(3):
        fit()
    bare_wall, bare_cpu, auto_wall, auto_cpu, background = [], [], [], [], []
    for index in range(pairs):
        for autologged in ((False, True) if index % 2 == 0 else (True, False)):
            if autologged:
                enable()
                wall, cpu = timed()
                disable()
                started = time.perf_counter()
                drain()
                background.append(time.perf_counter() - started)
                auto_wall.append(wall)
                auto_cpu.append(cpu)
            else:
                wall, cpu = timed()
                bare_wall.append(wall)
                bare_cpu.append(cpu)
    # The protocol: the same pairs with nothing drained (one fit's background
    # work may land in the next sample, bare or not).
    plain_bare, plain_auto = [], []
    for index in range(pairs):
        for autologged in ((False, True) if index % 2 == 0 else (True, False)):
            if autologged:
                enable()
            wall, _ = timed()
            (plain_auto if autologged else plain_bare).append(wall)
            disable()
    drain()
    loop_n = max(5, pairs // 2)
    disable()
    started = time.perf_counter()
    for _ in range(loop_n):
        fit()
    loop_bare = time.perf_counter() - started
    enable()
    started = time.perf_counter()
    for _ in range(loop_n):
        fit()
    drain()
    loop_auto = time.perf_counter() - started
    disable()
    median = statistics.median
    return {
        "bare_ms": median(bare_wall) * 1e3,
        "fit_ms": median(auto_wall) * 1e3,
        "latency_ms": median([a - b for a, b in zip(auto_wall, bare_wall)]) * 1e3,
        "bare_cpu_ms": median(bare_cpu) * 1e3,
        "cpu_ms": median([a - b for a, b in zip(auto_cpu, bare_cpu)]) * 1e3,
        "background_ms": median(background) * 1e3,
        "loop_ms": (loop_auto - loop_bare) / loop_n * 1e3,
        "undrained_ms": median([a - b for a, b in zip(plain_auto, plain_bare)]) * 1e3,
        "pairs": pairs,
    }


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def run_child(framework: str, tool: str, pairs: int, models: bool,
              options: dict | None = None) -> dict | None:
    # One BLAS/OpenMP thread: a loaded machine makes BLAS's spinning threads count
    # against the caller's CPU time, bare and autologged alike.
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", MPLBACKEND="Agg",
               PYTHONWARNINGS="ignore", TF_CPP_MIN_LOG_LEVEL="3", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("AUTOLOG_STRICT", None)
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", framework, "--tool", tool,
         "--pairs", str(pairs), "--models", "on" if models else "off",
         "--options", json.dumps(options or {})],
        capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        print(f"{tool} {framework} failed: {proc.stderr[-1500:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def header(title: str) -> str:
    return "\n".join([
        title, f"{'':44} {'bare':>7} {'latency':>8} {'ratio':>6} {'thread':>7} "
               f"{'backgr.':>8} {'loop':>7} {'undrained':>9} {'pairs':>5}",
        f"{'':44} {'ms':>7} {'+ms':>8} {'':>6} {'CPU +ms':>7} {'ms':>8} {'+ms/fit':>7} "
        f"{'+ms':>9}"])


def row(name: str, r: dict | None) -> str:
    if r is None:
        return f"{name:44} (failed)"
    ratio = (r["bare_ms"] + r["latency_ms"]) / r["bare_ms"]
    return (f"{name:44} {r['bare_ms']:7.1f} {r['latency_ms']:8.2f} {ratio:5.2f}x "
            f"{r['cpu_ms']:7.2f} {r['background_ms']:8.1f} {r['loop_ms']:7.1f} "
            f"{r['undrained_ms']:9.2f} {r['pairs']:5d}")


def table(results: dict[str, dict | None], title: str) -> str:
    return "\n".join([header(title), *(row(name, r) for name, r in results.items())])


def mlflow_pairs(pairs: int, models: bool) -> int:
    """MLflow logging a model takes seconds per fit: fewer pairs there."""
    return max(3, pairs // 6) if models else pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--only", nargs="*", choices=FRAMEWORKS)
    parser.add_argument("--models", choices=("off", "on", "both"), default="both")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--tool", default="autolog")
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.tool, args.pairs, args.models == "on",
                                 json.loads(args.options))))
        return
    print(f"{load()} at the start")
    started = time.time()
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.models]
    for framework in args.only or FRAMEWORKS:
        if not _available(MODULES.get(framework, framework)):
            print(f"\n{framework}: not installed, skipped")
            continue
        pairs = args.pairs if framework != "keras" else max(5, args.pairs // 3)
        print()
        print(header(f"{DESCRIPTION[framework]}: medians of interleaved pairs, other "
                     "options at their defaults"), flush=True)
        for models in modes:
            label = f"log_models={models}"
            name = f"autolog.autolog({label})"
            print(row(name, run_child(framework, "autolog", pairs, models)), flush=True)
            if framework in NOT_IN_MLFLOW:
                print(f"{'mlflow.autolog(' + label + ')':44} (MLflow has no {framework} "
                      "autologging)", flush=True)
            elif not args.no_mlflow and _available("mlflow"):
                name = f"mlflow.autolog({label})"
                print(row(name, run_child(framework, "mlflow", mlflow_pairs(pairs, models),
                                          models)), flush=True)
    print(f"\n{load()} at the end; took {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
