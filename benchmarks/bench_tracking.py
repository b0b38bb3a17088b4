"""Tracking costs: import time, caller-side log_metric, writer throughput.

    .venv/bin/python benchmarks/bench_tracking.py [--values 200000]

Prints a table; when mlflow is installed the same workloads through MLflow (file and
sqlite stores, synchronous and asynchronous logging) are printed beside ours as ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("numpy", "pandas", "sklearn", "torch", "tensorflow", "xgboost", "lightgbm", "mlflow")


def import_time(module: str, repeats: int = 7) -> float:
    """Median wall seconds of `import module` in a fresh interpreter, minus bare startup."""
    def run(code: str) -> float:
        samples = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-c",
                 f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"],
                capture_output=True, text=True, check=True,
            )
            samples.append(float(out.stdout.strip().splitlines()[-1]))
        return statistics.median(samples)

    return run(f"import {module}")


def heavy_modules_after_import() -> list[str]:
    code = (
        "import sys, autolog; autolog.autolog(); "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        return [f"(failed: {out.stderr.strip().splitlines()[-1]})"]
    return out.stdout.split()


def autolog_log_metric_cost(n: int, store: str) -> tuple[float, float]:
    """(median caller-side seconds per log_metric, writer values per second)."""
    import autolog

    autolog.set_tracking_uri(store)
    with autolog.start_run():
        per_call = []
        chunk = 1000
        for start in range(0, n, chunk):
            t0 = time.perf_counter()
            for i in range(start, start + chunk):
                autolog.log_metric("loss", 0.5, step=i)
            per_call.append((time.perf_counter() - t0) / chunk)
        t0 = time.perf_counter()
        autolog.flush()
    caller = statistics.median(per_call)
    # Writer throughput measured on its own: a backlog of n values written in batches.
    from autolog.backends import get_backend
    from autolog.core.entities import Metric

    backend = get_backend(os.path.join(store, "throughput"))
    run = backend.create_run("0", "t", 0, {}, run_id="throughput")
    metrics = [Metric("loss", 0.5, 1, i) for i in range(n)]
    t0 = time.perf_counter()
    for start in range(0, n, 5000):
        backend.log_batch(run.run_id, metrics=metrics[start:start + 5000])
    throughput = n / (time.perf_counter() - t0)
    return caller, throughput


def mlflow_log_metric_cost(n: int, uri: str, synchronous: bool) -> tuple[float, float]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    per_call = []
    with mlflow.start_run():
        chunk = 100
        t_all = time.perf_counter()
        for start in range(0, n, chunk):
            t0 = time.perf_counter()
            for i in range(start, start + chunk):
                mlflow.log_metric("loss", 0.5, step=i, synchronous=synchronous)
            per_call.append((time.perf_counter() - t0) / chunk)
        mlflow.flush_async_logging() if not synchronous else None
        total = time.perf_counter() - t_all
    return statistics.median(per_call), n / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("--mlflow-values", type=int, default=2_000)
    args = parser.parse_args()

    rows = []
    t_autolog = import_time("autolog")
    rows.append(("import autolog (wall, fresh process)", f"{t_autolog * 1e3:.1f} ms", "< 30 ms"))
    heavy = heavy_modules_after_import()
    rows.append(("heavy modules after import+autolog()", " ".join(heavy) or "none", "none"))
    with tempfile.TemporaryDirectory() as tmp:
        caller, throughput = autolog_log_metric_cost(args.values, os.path.join(tmp, "store"))
    rows.append(("log_metric, caller side (median)", f"{caller * 1e6:.2f} us", "<= 5 us"))
    rows.append(("writer throughput into SQLite", f"{throughput:,.0f} values/s", ">= 100,000/s"))

    try:
        import mlflow  # noqa: F401
    except ImportError:
        mlflow_rows = None
    else:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        t_mlflow = import_time("mlflow", repeats=3)
        rows.append(("import mlflow", f"{t_mlflow * 1e3:.0f} ms",
                     f"autolog is {t_mlflow / t_autolog:.0f}x lighter"))
        mlflow_rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for store, uri in (("file", f"file:{tmp}/mlruns"),
                               ("sqlite", f"sqlite:///{tmp}/mlflow.db")):
                for sync in (True, False):
                    cost, rate = mlflow_log_metric_cost(args.mlflow_values, uri, sync)
                    mlflow_rows.append((store, "sync" if sync else "async", cost, rate))
        for store, mode, cost, rate in mlflow_rows:
            rows.append((f"mlflow.log_metric {store} {mode} (caller)", f"{cost * 1e6:.0f} us",
                         f"{cost / caller:.0f}x autolog"))
            rows.append((f"mlflow {store} {mode} end-to-end", f"{rate:,.0f} values/s",
                         f"autolog writes {throughput / rate:.0f}x faster"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>22}  target / comparison")
    print("-" * (width + 50))
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>22}  {note}")
    if mlflow_rows is None:
        print("\n(mlflow not installed: `.venv/bin/pip install mlflow` to print the comparison)")


if __name__ == "__main__":
    main()
