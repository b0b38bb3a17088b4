"""XGBoost's, LightGBM's and Optuna's own Python tests, run bare, with autologging on, and strict.

    .venv/bin/python compat/fetch_peer_tests.py --help   # first: put their tests in the cache
    .venv/bin/python compat/run_frameworks.py xgboost lightgbm

Their wheels ship no tests: `compat/fetch_peer_tests.py` copies them, at the installed
versions' tags, into ``compat/_work/peer/`` (gitignored; nothing of theirs is committed).
Each selected file set runs three times, one pytest each: bare; with
``compat/autolog_plugin.py`` (``autolog.autolog()``, every integration on); and the same
with ``AUTOLOG_STRICT=1``, where an internal error raises instead of warning. A test that
passes bare but fails under strict is an internal error of ours (or a behaviour change).

The selection (`SELECTION`) keeps each run within about ten minutes on two cores. Left
out, and why, is in `LEFT_OUT`: GPU, Spark and Dask-cluster tests, tests that need
packages not installed here (modin, polars, shap, graphviz), the network tracker and
collective tests (they open sockets between processes), and the slow property-based
(hypothesis) and exhaustive-parameter files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from compat.fetch_peer_tests import PEERS, cache_dir
from compat.run_sklearn import REPO, outcomes

PLUGIN = "compat.autolog_plugin"
#: The last runs' JUnit reports (failure messages included), one per framework and mode.
REPORTS = os.path.join(REPO, "compat", "_work", "peer", "reports")

#: framework -> (test directory inside the cache folder, the test files run): the files
#: that train through the patched entry points (train, cv, the scikit-learn wrappers,
#: callbacks, early stopping, continued training, pickling and saving models).
SELECTION: dict[str, tuple[str, list[str]]] = {
    "xgboost": ("tests/python", [
        "test_basic.py", "test_callback.py", "test_early_stopping.py",
        "test_training_continuation.py", "test_with_sklearn.py", "test_eval_metrics.py",
        "test_model_io.py", "test_pickling.py",
    ]),
    "lightgbm": ("tests/python_package_test", [
        "test_engine.py", "test_callback.py",
    ]),
    # Study.optimize with every storage, n_jobs, catch, callbacks, pruners, constraints
    "optuna": ("tests", [
        "study_tests/test_optimize.py", "study_tests/test_study.py",
        "study_tests/test_multi_objective.py", "study_tests/test_constrained_optimization.py",
        "test_callbacks.py", "pruners_tests",
    ]),
}

#: framework -> a ``-k`` expression deselecting single tests too heavy for a small machine
DESELECT: dict[str, str] = {
    "xgboost": "",
    "lightgbm": "not test_int32_max_sparse_contribs",  # a 3,000,000 x 1,000 matrix: GBs
    "optuna": "not redis",  # fakeredis without lupa has no EVAL: they fail bare too
}

#: What is not run, and why (the selection's complement in each test directory).
LEFT_OUT: dict[str, dict[str, str]] = {
    "xgboost": {
        "test_collective.py, test_tracker.py": "network tracker between processes",
        "test_demos.py": "runs the demo scripts (minutes; some download data)",
        "test_with_modin.py, test_with_polars.py, test_with_shap.py, test_plotting.py":
            "modin, polars, shap, graphviz are not installed",
        "test_updaters.py, test_linear.py, test_multi_target.py, test_quantile_dmatrix.py, "
        "test_data_iterator.py, test_dmatrix.py, test_ranking.py, test_shap.py":
            "hypothesis property tests: slow, through the same xgboost.train",
        "test_basic_models.py, test_config.py, test_predict.py, test_with_pandas.py, "
        "test_with_scipy.py, test_with_arrow.py, test_interaction_constraints.py, "
        "test_monotone_constraints.py, test_survival.py, test_ordinal.py, test_openmp.py, "
        "test_intercept.py, test_tree_regularization.py, test_parse_tree.py, "
        "test_model_compatibility.py":
            "booster internals, data formats and prediction: no training path of their "
            "own; left out to keep a run within ten minutes on two cores",
        "../python-gpu, ../python-sycl, ../test_distributed": "GPU, SYCL, Dask/Spark clusters",
    },
    "lightgbm": {
        "test_dask.py": "Dask clusters (our Dask support has its own tests)",
        "test_dual.py": "GPU",
        "test_plotting.py": "graphviz is not installed",
        "test_arrow.py, test_polars.py, test_pandas.py, test_basic.py, test_consistency.py, "
        "test_utilities.py": "Dataset construction, data formats and the CLI's results: "
                             "no training path of their own; left out for time",
        "test_sklearn.py": "the wrappers' 750 tests (estimator checks and every data type "
                           "crossed with every model) take over 20 minutes a run on two "
                           "shared cores; the wrappers train through lightgbm.train, which "
                           "test_engine.py covers",
    },
    "optuna": {
        "samplers_tests, gp_tests, hypervolume_tests, importance_tests, terminator_tests, "
        "visualization_tests, search_space_tests": "the algorithms inside a trial, not the "
                                                   "optimize loop; left out for time",
        "storages_tests, trial_tests, artifacts_tests, test_cli.py": "storage, ask-and-tell "
            "and CLI internals: no Study.optimize of their own",
        "tests with journal_redis": "fakeredis without lupa has no EVAL (fail bare too)",
    },
}


@dataclass
class Outcome:
    framework: str
    tests: int
    pass_both: int
    pass_only_bare: list[str]
    pass_only_autolog: list[str]
    strict_errors: list[str]
    seconds: dict[str, float]


def missing(framework: str) -> str | None:
    """Why the suite cannot run (its tests are not in the cache), or None."""
    folder = os.path.join(cache_dir(framework), SELECTION[framework][0])
    if os.path.isdir(folder):
        return None
    return (f"{os.path.relpath(folder, REPO)} is missing: fetch the tests first with "
            f"`.venv/bin/python compat/fetch_peer_tests.py {framework}` (git clone of "
            f"{PEERS[framework][1]}, needs network) or `... --git-dir "
            f"{framework}=/path/to/a/clone/.git`")


def run_once(framework: str, mode: str, extra: list[str]) -> tuple[dict[str, str], float]:
    """One pytest over the selected files; ``mode``: bare, autolog or strict."""
    folder = os.path.join(cache_dir(framework), SELECTION[framework][0])
    files = [os.path.join(folder, f) for f in SELECTION[framework][1]
             if os.path.exists(os.path.join(folder, f))]
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "junit.xml")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "--timeout=600", "--junitxml", report, "-o", "junit_family=xunit2",
                   *files, *extra]
        if DESELECT[framework]:
            command += ["-k", DESELECT[framework]]
        if mode != "bare":
            command[3:3] = ["-p", PLUGIN]
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("MPLBACKEND", "Agg")
        # One OpenMP thread: on a shared machine spinning threads cost more than they give.
        env.setdefault("OMP_NUM_THREADS", "1")
        for name in ("AUTOLOG_DISABLE", "AUTOLOG_STRICT", "AUTOLOG_TRACKING_URI"):
            env.pop(name, None)
        if mode == "strict":
            env["AUTOLOG_STRICT"] = "1"
        started = time.perf_counter()
        # Each run in a folder of its own: some tests write files to the working directory,
        # which runs side by side would share.
        proc = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        summary = [line for line in proc.stdout.strip().splitlines()
                   if " passed" in line or " failed" in line or "autolog compat" in line]
        print(f"  {framework} {mode:7} {' | '.join(summary[-2:])} ({seconds:.0f} s)",
              flush=True)
        if not os.path.exists(report):
            print(proc.stdout[-5000:], proc.stderr[-5000:])
            raise SystemExit(f"{framework} ({mode}): pytest wrote no report")
        os.makedirs(REPORTS, exist_ok=True)
        shutil.copy(report, os.path.join(REPORTS, f"{framework}-{mode}.xml"))
        return outcomes(report), seconds


def run(framework: str, extra: list[str], side_by_side: bool = False) -> Outcome:
    """The three runs, one after the other or (``side_by_side``) at once."""
    from concurrent.futures import ThreadPoolExecutor

    modes = ("bare", "autolog", "strict")
    with ThreadPoolExecutor(max_workers=3 if side_by_side else 1) as pool:
        done = dict(zip(modes, pool.map(lambda m: run_once(framework, m, extra), modes)))
    results = {m: done[m][0] for m in modes}
    seconds = {m: done[m][1] for m in modes}
    strict = results["strict"]
    passed = {m: {t for t, s in r.items() if s == "passed"} for m, r in results.items()}
    return Outcome(
        framework=framework,
        tests=len(results["bare"]),
        pass_both=len(passed["bare"] & passed["autolog"]),
        pass_only_bare=sorted(passed["bare"] - passed["autolog"]),
        pass_only_autolog=sorted(passed["autolog"] - passed["bare"]),
        strict_errors=sorted(t for t in passed["bare"] if strict.get(t) == "failed"),
        seconds=seconds,
    )


def table(outcomes_: list[Outcome]) -> list[str]:
    """The comparison as Markdown rows (also printed by run_frameworks.py)."""
    header = ("framework", "tests", "pass both", "pass only bare", "pass only autolog",
              "internal errors (strict)", "duration bare / autolog / strict")
    rows = [header, tuple("---" for _ in header)]
    for o in outcomes_:
        rows.append((o.framework, str(o.tests), str(o.pass_both), str(len(o.pass_only_bare)),
                     str(len(o.pass_only_autolog)), str(len(o.strict_errors)),
                     " / ".join(f"{o.seconds[m]:.0f} s" for m in ("bare", "autolog",
                                                                   "strict"))))
    return ["| " + " | ".join(row) + " |" for row in rows]
