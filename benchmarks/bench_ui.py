"""`autolog ui` speed: the runs page of a 5,000-run store with nested searches, a sweep
page, and chart data of a 100,000-point history.

    .venv/bin/python benchmarks/bench_ui.py [--searches 250 --children 19] [--no-browser]

The store: ``searches`` parent runs, each with ``children`` nested child runs (params,
metrics, autolog-like tags), as a hyper-parameter search leaves them. Times are the best
of 5: the server building the page (``UIApp.dispatch``, no socket), then, when Playwright
and Debian's Chromium are there, a real browser loading it over HTTP until the ``load``
event (the page's script has run and the table is laid out).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]


def build_store(path: str, searches: int, children: int) -> tuple[str, str, str]:
    """(experiment id, one parent run id, the long-history run id)."""
    from autolog.backends.sqlite import SQLiteBackend
    from autolog.core.entities import Metric, Param, RunTag

    backend = SQLiteBackend(path)
    exp = backend.create_experiment("sweeps")
    now = int(time.time() * 1000)
    rng = random.Random(0)
    n = 0
    parent_id = ""
    common = [RunTag("mlflow.user", "me"), RunTag("mlflow.source.name", "train.py"),
              RunTag("mlflow.autologging", "sklearn"), RunTag("mlflow.source.type", "LOCAL")]
    for s in range(searches):
        parent_id = f"{n:032x}"
        n += 1
        backend.create_run(exp, f"search-{s}", now + n, run_id=parent_id)
        backend.log_batch(parent_id, metrics=[Metric("best_cv_score", rng.random(), now, 0)],
                          params=[Param("estimator", "RandomForestClassifier"),
                                  Param("cv", "5")], tags=common)
        for c in range(children):
            run_id = f"{n:032x}"
            n += 1
            backend.create_run(exp, f"search-{s}-{c}", now + n, run_id=run_id)
            lr = 10 ** rng.uniform(-4, -1)
            depth = rng.randint(2, 12)
            score = 0.9 - abs(rng.gauss(0, 0.05)) - 0.01 * abs(depth - 7)
            backend.log_batch(
                run_id,
                metrics=[Metric("mean_test_score", score, now, 0),
                         Metric("std_test_score", rng.random() / 20, now, 0),
                         Metric("mean_fit_time", rng.random(), now, 0)],
                params=[Param("learning_rate", repr(lr)), Param("max_depth", str(depth)),
                        Param("criterion", rng.choice(["gini", "entropy"])),
                        Param("seed", str(c))],
                tags=[*common, RunTag("mlflow.parentRunId", parent_id)],
            )
            backend.update_run_info(run_id, "FINISHED", now + n + 1000)
        backend.update_run_info(parent_id, "FINISHED", now + n + 2000)
    long_id = f"{n:032x}"
    backend.create_run(exp, "long-curve", now + n + 1, run_id=long_id)
    backend.log_batch(long_id, metrics=[Metric("loss", 1.0 / (1 + i / 500), now + i, i)
                                        for i in range(100_000)])
    backend.update_run_info(long_id, "FINISHED", now + n + 100_000)
    backend.close()
    return exp, parent_id, long_id


def best_of(fn, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=250)
    parser.add_argument("--children", type=int, default=19)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()

    from autolog.ui.server import UIApp, UIServer

    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "store")
        started = time.perf_counter()
        exp, parent, long_id = build_store(store, args.searches, args.children)
        total = args.searches * (1 + args.children)
        print(f"store: {total} runs ({args.searches} searches x {args.children} children) "
              f"+ a 100,000-point history, built in {time.perf_counter() - started:.1f} s")
        app = UIApp(store)
        targets = [
            ("runs page (top-level, children folded)", f"/experiments/{exp}"),
            ("runs page, all children open", f"/experiments/{exp}?open=all&per_page=25"),
            ("runs page sorted by a metric", f"/experiments/{exp}?order_by=metrics."
                                             "best_cv_score+DESC"),
            ("runs page filtered", f"/experiments/{exp}?filter=metrics.mean_test_score+%3E+0.85"),
            ("sweep page of one search", f"/sweep?parent={parent}"),
            ("run page of a search's parent", f"/runs/{parent}"),
            ("metric page with its overlay picker", f"/runs/{long_id}/metrics/loss"),
            ("chart data, 100k points -> 1000", f"/api/runs/{long_id}/metrics/loss"),
            ("chart data, zoomed (exact)", f"/api/runs/{long_id}/metrics/loss?min=500&max=900"),
        ]
        print(f"\n{'server (UIApp.dispatch), best of 5':<48}{'seconds':>10}{'KB':>8}")
        for label, target in targets:
            response = app.dispatch(target)
            assert response.status == 200, (target, response.body[:300])
            seconds = best_of(lambda t=target: app.dispatch(t))
            print(f"{label:<48}{seconds:>10.3f}{len(response.body) / 1000:>8.0f}")
        if args.no_browser:
            return
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            print("\n(playwright not installed: no browser timings)")
            return
        if not os.path.exists(CHROMIUM):
            print("\n(Debian's chromium not installed: no browser timings)")
            return
        server = UIServer(("127.0.0.1", 0), app)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                print(f"\n{'Chromium, navigation to load event, best of 5':<48}{'seconds':>10}")
                for label, target in targets[:2] + targets[4:7]:
                    url = server.url + target
                    page.goto(url)
                    seconds = best_of(lambda u=url: page.goto(u, wait_until="load"))
                    print(f"{label:<48}{seconds:>10.3f}")
                browser.close()
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
