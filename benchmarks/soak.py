"""Soak: log metrics as fast as possible for a while; memory stays bounded, nothing is lost.

    .venv/bin/python benchmarks/soak.py --seconds 600            # the documented 10 minutes
    .venv/bin/python benchmarks/soak.py --seconds 10 --threads 2  # what CI runs (tests/)

Prints a line per interval (values logged, RSS) and a final verdict; exits 1 when a value
is missing or when RSS grew by more than --max-growth-mb after the warm-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time

import psutil

import autolog


def soak(seconds: float, threads: int, store: str, max_growth_mb: float,
         report_every: float = 10.0) -> bool:
    autolog.set_tracking_uri(store)
    process = psutil.Process()
    stop = threading.Event()
    counts = [0] * threads
    run_ids: list[str] = [""] * threads

    def work(index: int) -> None:
        with autolog.start_run(run_name=f"soak-{index}") as run:
            run_ids[index] = run.info.run_id
            step = 0
            while not stop.is_set():
                for _ in range(1000):
                    autolog.log_metric("value", step, step=step)
                    step += 1
                counts[index] = step

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    warm_rss = None
    peak_after_warmup = 0.0
    next_report = started + min(report_every, seconds / 4)
    while time.monotonic() - started < seconds:
        time.sleep(0.2)
        rss_mb = process.memory_info().rss / 2**20
        elapsed = time.monotonic() - started
        if warm_rss is None and elapsed > min(5.0, seconds / 4):
            warm_rss = rss_mb
        if warm_rss is not None:
            peak_after_warmup = max(peak_after_warmup, rss_mb)
        if time.monotonic() >= next_report:
            print(f"{elapsed:7.1f} s  {sum(counts):>12,} values  rss {rss_mb:8.1f} MB", flush=True)
            next_report += report_every
    stop.set()
    for worker in workers:
        worker.join()
    autolog.flush()
    client = autolog.Client(store)
    stored = [len(client.get_metric_history(run_id, "value")) for run_id in run_ids]
    total = sum(counts)
    growth = peak_after_warmup - (warm_rss or peak_after_warmup)
    rate = total / seconds
    print(f"logged {total:,} values ({rate:,.0f}/s), stored {sum(stored):,}; "
          f"RSS growth after warm-up {growth:.1f} MB (limit {max_growth_mb} MB)")
    ok = stored == counts and growth <= max_growth_mb
    print("OK" if ok else "FAILED")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--store", default=None)
    parser.add_argument("--max-growth-mb", type=float, default=150.0)
    args = parser.parse_args()
    store = args.store or os.path.join(tempfile.mkdtemp(prefix="autolog-soak-"), "store")
    ok = soak(args.seconds, args.threads, store, args.max_growth_mb)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
