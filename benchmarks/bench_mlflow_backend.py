"""10,000 metric values into a real MLflow server: autolog vs `mlflow.log_metric`.

For each way of logging: the caller-side time per value (what training pays) and the
time until every value is on the server (read back to check). Starts its own
`mlflow server` (sqlite store) on a free port in a temporary directory.

    python benchmarks/bench_mlflow_backend.py [--values 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(root: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    log = open(os.path.join(root, "server.log"), "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [mlflow_bin if os.path.exists(mlflow_bin) else "mlflow", "server",
         "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
         "--artifacts-destination", f"{root}/artifacts", "--serve-artifacts",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit(f"mlflow server did not start; see {root}/server.log")


def count_on_server(url: str, run_id: str) -> int:
    from mlflow.tracking import MlflowClient

    return len(MlflowClient(tracking_uri=url).get_metric_history(run_id, "loss"))


def bench_autolog(url: str, n: int) -> tuple[float, float]:
    import autolog

    autolog.set_tracking_uri(f"mlflow+{url}")
    autolog.set_experiment("bench-autolog")
    with autolog.start_run() as run:
        started = time.perf_counter()
        for step in range(n):
            autolog.log_metric("loss", 1.0 / (step + 1), step=step)
        caller = time.perf_counter() - started
        autolog.flush()
        total = time.perf_counter() - started
    assert count_on_server(url, run.info.run_id) == n
    return caller, total


def bench_mlflow(url: str, n: int, synchronous: bool) -> tuple[float, float]:
    import mlflow

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench-mlflow-" + ("sync" if synchronous else "async"))
    with mlflow.start_run() as run:
        started = time.perf_counter()
        for step in range(n):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=synchronous)
        caller = time.perf_counter() - started
        if not synchronous:
            mlflow.flush_async_logging()
        total = time.perf_counter() - started
    assert count_on_server(url, run.info.run_id) == n
    return caller, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--sync-values", type=int, default=500,
                        help="values for synchronous mlflow.log_metric (one HTTP request "
                             "each, tens of ms); its totals are scaled to --values")
    args = parser.parse_args()
    n = args.values
    n_sync = min(n, args.sync_values)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    root = tempfile.mkdtemp(prefix="autolog-bench-mlflow-")
    process, url = start_server(root)
    try:
        bench_autolog(url, 100)  # warm up: imports, connections, experiment creation
        results = {
            "autolog (mlflow+http)": bench_autolog(url, n),
            "mlflow.log_metric (async)": bench_mlflow(url, n, synchronous=False),
        }
        caller, total = bench_mlflow(url, n_sync, synchronous=True)
        results["mlflow.log_metric (sync)" + ("*" if n_sync < n else "")] = (
            caller * n / n_sync, total * n / n_sync)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    base_caller, base_total = results["autolog (mlflow+http)"]
    print(f"\n{n} metric values into an MLflow server ({url})\n")
    header = (f"{'':28} {'caller µs/value':>16} {'all on server s':>16} "
              f"{'caller ×autolog':>16} {'on server ×autolog':>19}")
    print(header)
    print("-" * len(header))
    for name, (caller, total) in results.items():
        print(f"{name:28} {caller / n * 1e6:16.1f} {total:16.3f} "
              f"{caller / base_caller:16.1f} {total / base_total:19.1f}")
    if n_sync < n:
        print(f"* measured on {n_sync} values, scaled to {n}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
