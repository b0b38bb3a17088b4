"""Re-make the UI screenshots in this folder (shown in the README's `autolog ui` section).

    .venv/bin/python docs/screenshots/make_screenshots.py

Fills a temporary store (a real autologged scikit-learn grid search, three hand-logged
training curves with validation, a registered model), serves it with ``autolog ui`` in a
thread and photographs the main pages in Debian's Chromium through Playwright.
"""

from __future__ import annotations

import math
import os
import random
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]


def fill(uri: str) -> dict[str, str]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import GridSearchCV

    import autolog

    ids: dict[str, str] = {}
    autolog.set_tracking_uri(uri)
    X, y = load_breast_cancer(return_X_y=True)
    autolog.set_experiment("cancer-search")
    autolog.autolog(log_models=False, max_tuning_runs=None)
    GridSearchCV(GradientBoostingClassifier(n_estimators=20, random_state=0),
                 {"learning_rate": [0.01, 0.03, 0.1, 0.3], "max_depth": [1, 2, 3]},
                 cv=3).fit(X, y)
    autolog.autolog(disable=True)
    autolog.flush()
    client = autolog.Client(uri)
    exp = client.get_experiment_by_name("cancer-search").experiment_id
    ids["search_exp"] = exp
    ids["parent"] = next(r.info.run_id for r in client.search_runs([exp])
                         if "mlflow.parentRunId" not in r.data.tags)

    from sklearn.linear_model import LogisticRegression

    sk_flavor = autolog.sklearn

    autolog.set_experiment("cancer-models")
    for C in (0.1, 1.0):
        with autolog.start_run(run_name=f"logreg-C{C}") as run:
            model = LogisticRegression(C=C, max_iter=5000).fit(X, y)
            autolog.log_params({"C": C})
            autolog.log_metric("train_accuracy", model.score(X, y))
            sk_flavor.log_model(model, name="model", input_example=X[:3])
        autolog.register_model(f"runs:/{run.info.run_id}/model", "cancer-classifier",
                               tracking_uri=uri)
    client.backend.update_model_version("cancer-classifier", "2", stage="Production")
    client.backend.set_registered_model_alias("cancer-classifier", "champion", "2")

    autolog.set_experiment("char-lm")
    rng = random.Random(3)
    for name, lr, width in (("adam-lr3e-4", 3e-4, 256), ("adam-lr1e-3", 1e-3, 256),
                            ("adam-lr1e-3-wide", 1e-3, 512)):
        with autolog.start_run(run_name=name) as run:
            autolog.log_params({"lr": lr, "hidden": width, "optimizer": "adam", "epochs": 300})
            speed = lr * 3000 * (1.2 if width == 512 else 1.0)
            for step in range(300):
                train = 2.2 * math.exp(-speed * step / 100) + 0.35 + rng.gauss(0, 0.03)
                val = train + 0.05 + max(0, step - 150) * 0.0008 * (width / 256)
                autolog.log_metrics({"loss": train, "val_loss": val + rng.gauss(0, 0.02),
                                     "accuracy": 1 - train / 3, "val_accuracy": 1 - val / 3},
                                    step=step)
            autolog.log_text("epoch,loss,val_loss\n0,2.5,2.6\n1,1.9,2.0\n", "history.csv")
            ids[name] = run.info.run_id
    autolog.flush()
    autolog.set_tracking_uri(None)
    return ids


def main() -> None:
    from playwright.sync_api import sync_playwright

    from autolog.ui.server import make_server

    with tempfile.TemporaryDirectory() as tmp:
        uri = os.path.join(tmp, "store")
        ids = fill(uri)
        server = make_server(uri, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = server.url
        shots = [
            ("ui-runs-tree.png", f"/experiments/{ids['search_exp']}?open={ids['parent']}"
                                 "&params=learning_rate,max_depth&metrics=mean_test_score,"
                                 "std_test_score,rank_test_score,mean_fit_time", None),
            ("ui-run-charts.png", f"/runs/{ids['adam-lr1e-3']}", ".chart-section"),
            ("ui-metric-overlay.png", f"/runs/{ids['adam-lr1e-3']}/metrics/loss?runs="
                                      f"{ids['adam-lr3e-4']},{ids['adam-lr1e-3-wide']}", None),
            ("ui-sweep.png", f"/sweep?parent={ids['parent']}", "main"),
            ("ui-model-version.png", "/models/cancer-classifier/versions/2", None),
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            for name, path, element in shots:
                page.goto(base + path)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.lchart')].every(el =>"
                    " ['ready', 'empty'].includes(el.dataset.state))")
                if name == "ui-run-charts.png":  # smoothed, the raw curves faint behind
                    page.locator("#chart-smooth").fill("0.8")
                time.sleep(0.3)
                target = os.path.join(HERE, name)
                if element:
                    page.locator(element).screenshot(path=target)
                else:
                    page.screenshot(path=target)
                print(f"{name}: {os.path.getsize(target) // 1000} KB")
            browser.close()
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
