"""Where the fixed cost of one autologged fit goes: a profile per stage (issue 19).

    .venv/bin/python benchmarks/bench_fit_stages.py [--fits 30] [--models]

``LogisticRegression(max_iter=200).fit`` on iris with ``autolog.autolog(log_models=False)``
(``--models``: ``autolog.autolog()``), every other option at its default. Each stage's
function is wrapped with a timer (wall and CPU time of the calling thread) for ``--fits``
fits; ``autolog.flush()`` after each fit, outside the fit, is the background work the fit
left (writer, plots, provenance artifacts). Nested stages are indented and included in
the stage above them. The wrappers add ~2 us per stage.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

_totals: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])


def _timed(name: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            total = _totals[name]
            total[0] += time.perf_counter() - wall
            total[1] += time.thread_time() - cpu

    return wrapper


def _wrap(owner, attribute: str, name: str) -> None:
    setattr(owner, attribute, _timed(name, getattr(owner, attribute)))


def instrument() -> None:
    import autolog.core.patching as patching
    import autolog.core.tracking.deferred as deferred
    import autolog.core.tracking.runs as runs
    import autolog.core.tracking.sessions as sessions
    import autolog.integrations.sklearn as sk
    import autolog.models as models
    import autolog.models.logged as logged

    session = sessions.TrainingSession
    _wrap(session, "open", "session open (run choice, session tags)")
    _wrap(sessions, "start_run", "  run creation (SQLite insert, caller's thread)")
    _wrap(runs, "_call_start_callbacks", "    provenance (cached tags; artifacts queued)")
    _wrap(sk, "estimator_params", "params: get_params(deep=True) walk")
    _wrap(sk, "dataset_tags", "dataset description + digest")
    _wrap(patching.Call, "proceed", "(the user's fit itself)")
    _wrap(sk, "training_metrics", "training metrics (one predict/predict_proba pass)")
    _wrap(sk, "_log_curves", "curves, n_iter")
    _wrap(sk, "_log_classifier_plots", "plots: confusion matrix numbers, PNGs queued")
    _wrap(deferred, "submit", "  queue a PNG for the worker")
    _wrap(sk, "_log_model", "model: signature, save, copy into the store")
    _wrap(models, "infer_model_signature", "  signature inference")
    _wrap(logged, "save_model", "  save (pickle, MLmodel, environment files)")
    _wrap(logged, "_record_history", "  log-model history tag")
    _wrap(session, "close", "session close")
    _wrap(session, "record_resources", "  duration, CPU, RSS metrics")
    _wrap(runs, "_call_end_callbacks", "  run-end callbacks (provenance)")
    _wrap(runs, "_finish", "  run end (queued for the writer)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fits", type=int, default=30)
    parser.add_argument("--models", action="store_true")
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp(prefix="bench-cwd-"))
    import autolog

    autolog.set_tracking_uri(tempfile.mkdtemp(prefix="bench-stages-"))
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    autolog.autolog(log_models=args.models)
    for _ in range(3):  # first-use imports and caches
        LogisticRegression(max_iter=200).fit(X, y)
    autolog.flush()
    instrument()
    fit_wall, fit_cpu, background = [], [], []
    for _ in range(args.fits):
        wall, cpu = time.perf_counter(), time.thread_time()
        LogisticRegression(max_iter=200).fit(X, y)
        fit_wall.append(time.perf_counter() - wall)
        fit_cpu.append(time.thread_time() - cpu)
        started = time.perf_counter()
        autolog.flush()
        background.append(time.perf_counter() - started)
    n = args.fits
    one, five, _ = os.getloadavg()
    mode = "autolog.autolog()" if args.models else "autolog.autolog(log_models=False)"
    print(f"{mode}, LogisticRegression(max_iter=200).fit on iris, {n} fits; load average "
          f"{one:.1f} (1 min) {five:.1f} (5 min) on {os.cpu_count()} CPUs")
    print(f"{'stage (caller thread unless said)':58} {'wall ms':>8} {'CPU ms':>7}")
    for name, (wall, cpu) in _totals.items():
        print(f"{name:58} {wall / n * 1e3:8.3f} {cpu / n * 1e3:7.3f}")
    user_wall, user_cpu = _totals["(the user's fit itself)"]
    print(f"{'whole autologged fit (median)':58} {statistics.median(fit_wall) * 1e3:8.3f} "
          f"{statistics.median(fit_cpu) * 1e3:7.3f}")
    print(f"{'  of which autolog (mean, fit minus the user fit)':58} "
          f"{(sum(fit_wall) - user_wall) / n * 1e3:8.3f} "
          f"{(sum(fit_cpu) - user_cpu) / n * 1e3:7.3f}")
    print(f"{'background, at autolog.flush() after the fit (median)':58} "
          f"{statistics.median(background) * 1e3:8.3f} {'-':>7}")


if __name__ == "__main__":
    main()
