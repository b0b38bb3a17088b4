"""What a search's child runs cost the training thread (issue 16).

    .venv/bin/python benchmarks/bench_search_children.py [--reps 15] [--candidates 20]

A ``GridSearchCV`` over ``LogisticRegression`` on iris is fitted once, bare; then, in a
session of its own each time, the integration's child-run step
(``sklearn._log_child_runs``, ``max_tuning_runs`` = every candidate) runs ``--reps`` times
into a fresh embedded store. Reported: the medians of that step's wall and thread CPU
time (what the search's ``fit`` waits for) and of the ``autolog.flush()`` after it (the
background writer finishing the child runs), plus the runs in the store as a check that
every child was written.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--candidates", type=int, default=20, choices=range(2, 41, 2))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    import autolog
    from autolog.core.patching.registry import get_integration
    from autolog.core.tracking.sessions import TrainingSession
    from autolog.integrations import sklearn as integration

    X, y = load_iris(return_X_y=True)
    grid = {"C": [0.01 * 2 ** i for i in range(args.candidates // 2)],
            "fit_intercept": [True, False]}
    search = GridSearchCV(LogisticRegression(max_iter=200), grid, cv=3).fit(X, y)
    autolog.set_tracking_uri(os.path.join(tempfile.mkdtemp(), "store"))
    autolog.autolog(max_tuning_runs=None, log_models=False)
    config = get_integration("sklearn").config
    wall, cpu, flush = [], [], []
    for rep in range(args.reps + 2):  # two warm-up rounds
        session = TrainingSession.open("sklearn", config)
        started, cpu_started = time.perf_counter(), time.thread_time()
        integration._log_child_runs(session, config, search, search.cv_results_)
        took, cpu_took = time.perf_counter() - started, time.thread_time() - cpu_started
        session.close()
        started = time.perf_counter()
        autolog.flush()
        if rep >= 2:
            wall.append(took)
            cpu.append(cpu_took)
            flush.append(time.perf_counter() - started)
    runs = len(autolog.search_runs(experiment_names=["Default"], max_results=10_000))

    def ms(values):
        return round(statistics.median(values) * 1e3, 2)

    print(json.dumps({"candidates": args.candidates, "children_wall_ms": ms(wall),
                      "children_thread_cpu_ms": ms(cpu), "flush_after_ms": ms(flush),
                      "runs_in_store": runs, "load_1min": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
