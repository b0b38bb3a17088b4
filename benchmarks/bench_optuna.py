"""Autologging overhead on Optuna studies (a plain script, not a test).

A study of 20 trials (in-memory storage, RandomSampler(seed=0)), in two workloads:

* trivial  the objective is a quadratic of two suggested values (microseconds): the
           figure is autolog's whole fixed cost per trial (its child run: created in
           the store, tags, params, value, ended) and per study
* medium   each trial fits ``LogisticRegression(max_iter=300)`` on the digits data
           (about 0.1 s); scikit-learn's own autologging stays off, so the figure is the
           study's and the trials' runs only

Modes, interleaved repeat by repeat so that machine noise hits all alike:

* bare      autolog off
* autolog   ``autolog.optuna.autolog()``: the study's run, one child run per trial
* callback  ``callbacks=[autolog.optuna.AutologCallback()]`` with no patching, inside a
            user run (the trials become its children)

Timed: ``study.optimize`` itself (wall and process CPU); then ``autolog.flush()`` drains
what was queued (reported apart: the caller does not wait for it until a read or exit).
MLflow has no autologging for Optuna; its counterpart is ``optuna-integration``'s
``MLflowCallback``, which is not installed here, so there is no MLflow row.

Usage: python benchmarks/bench_optuna.py [--repeats 5] [--trials 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def objectives():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    def trivial(trial):
        x = trial.suggest_float("x", -10, 10)
        y_ = trial.suggest_float("y", -10, 10)
        return (x - 2) ** 2 + (y_ + 1) ** 2

    def medium(trial):
        c = trial.suggest_float("C", 1e-3, 10, log=True)
        return LogisticRegression(C=c, max_iter=300).fit(X, y).score(X, y)

    return {"trivial": trivial, "medium": medium}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()

    import optuna

    import autolog

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    autolog.set_tracking_uri(tempfile.mkdtemp(prefix="bench-optuna-"))

    def study_of(objective, callbacks=None):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        started, cpu = time.perf_counter(), time.process_time()
        study.optimize(objective, n_trials=args.trials, callbacks=callbacks)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        autolog.flush()
        return wall, cpu, time.perf_counter() - started

    def bare(objective):
        autolog.optuna.autolog(disable=True)
        return study_of(objective)

    def patched(objective):
        autolog.optuna.autolog(silent=True)
        return study_of(objective)

    def callback(objective):
        autolog.optuna.autolog(disable=True)
        with autolog.start_run(run_name="bench-callback"):
            return study_of(objective, [autolog.optuna.AutologCallback()])

    modes = {"bare": bare, "autolog": patched, "callback": callback}
    print(f"{args.trials} trials per study, median of {args.repeats} interleaved repeats, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
          f"optuna {optuna.__version__}\n")
    header = (f"{'workload':<9} {'mode':<9} {'wall ms':>9} {'vs bare':>8} {'CPU ms':>9} "
              f"{'vs bare':>8} {'per trial':>10} {'drain ms':>9}")
    print(header)
    print("-" * len(header))
    for workload, objective in objectives().items():
        for run in modes.values():  # warm-up: imports, first run creation
            run(objective)
        times = {mode: [] for mode in modes}
        for _ in range(args.repeats):
            for mode, run in modes.items():
                times[mode].append(run(objective))
        bare_wall = statistics.median(t[0] for t in times["bare"])
        bare_cpu = statistics.median(t[1] for t in times["bare"])
        for mode, values in times.items():
            wall = statistics.median(t[0] for t in values)
            cpu = statistics.median(t[1] for t in values)
            drain = statistics.median(t[2] for t in values)
            if mode == "bare":
                print(f"{workload:<9} {mode:<9} {wall * 1e3:>9.1f} {'':>8} {cpu * 1e3:>9.1f} "
                      f"{'':>8} {'':>10} {drain * 1e3:>9.1f}")
                continue
            per_trial = (wall - bare_wall) / args.trials * 1e3
            print(f"{workload:<9} {mode:<9} {wall * 1e3:>9.1f} "
                  f"{(wall / bare_wall - 1) * 100:>+7.1f}% {cpu * 1e3:>9.1f} "
                  f"{(cpu / bare_cpu - 1) * 100:>+7.1f}% {per_trial:>8.2f}ms "
                  f"{drain * 1e3:>9.1f}")
        sys.stdout.flush()
    print("\nmlflow: no Optuna autologging; optuna-integration's MLflowCallback is not "
          "installed here (no row)")
    autolog.optuna.autolog(disable=True)


if __name__ == "__main__":
    main()
