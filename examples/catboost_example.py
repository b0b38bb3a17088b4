"""CatBoost autologging: a classifier with categorical features and early stopping, a
regressor with two eval sets, and the explicit callback without patching.

Run it as it is (`python examples/catboost_example.py`) or unchanged through
`autolog run examples/catboost_example.py`. Records go to ./autolog-runs (or
$AUTOLOG_TRACKING_URI); see them with `autolog runs list` and `autolog runs show <id>`.
CatBoost writes its own training log to ./catboost_info unless told otherwise; this
example turns that off (`allow_writing_files=False`).
"""

import autolog


def autolog_on() -> None:
    """Call autolog.autolog() unless `autolog run` (or the caller) already did."""
    states = {s.name: s.state for s in autolog.status()}
    if states.get("catboost") not in ("enabled", "waiting"):
        autolog.autolog()


def show(run_id: str) -> None:
    run = autolog.get_run(run_id)
    artifacts = [f.path for f in autolog.Client().list_artifacts(run_id)]
    print(f"run {run_id} ({run.info.run_name}): {run.info.status}")
    metrics = run.data.metrics
    print(f"  {len(run.data.params)} params; metrics: {', '.join(sorted(metrics))}")
    if "best_iteration" in metrics:
        print(f"  best_iteration {metrics['best_iteration']:.0f}"
              + (f", stopped after {metrics['stopped_iteration']:.0f} iterations"
                 if "stopped_iteration" in metrics else ""))
    print("  artifacts:", ", ".join(artifacts) or "-")


def latest(filter_string: str) -> str:
    """The newest run matching ``filter_string`` (under `autolog run`, the first fit logs
    into the script's run and the next ones into child runs of it)."""
    (run,) = autolog.search_runs(filter_string=filter_string,
                                 order_by=["attributes.start_time DESC"], max_results=1)
    return run.info.run_id


def main() -> None:
    autolog_on()
    import numpy as np
    import pandas as pd
    from catboost import CatBoostClassifier, CatBoostRegressor
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    quiet = {"verbose": False, "allow_writing_files": False}

    # 1. A classifier on a frame with a categorical column, stopped early.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"amount": rng.gamma(2.0, 50.0, size=2000),
                          "hour": rng.integers(0, 24, size=2000),
                          "channel": rng.choice(["web", "store", "phone"], size=2000)})
    y = ((frame["amount"] > 120) & (frame["channel"] != "store")
         | (rng.random(2000) < 0.05)).astype(int)
    X_train, X_valid, y_train, y_valid = train_test_split(frame, y, random_state=0)
    model = CatBoostClassifier(iterations=500, learning_rate=0.2, eval_metric="AUC",
                               cat_features=["channel"], **quiet)
    model.fit(X_train, y_train, eval_set=(X_valid, y_valid), early_stopping_rounds=20)
    run_id = latest("params.early_stopping_rounds = '20'")
    show(run_id)
    loaded = autolog.catboost.load_model(f"runs:/{run_id}/model")
    print(f"  reloaded a {type(loaded).__name__}; predict_proba of the first row: "
          f"{[round(float(p), 4) for p in loaded.predict_proba(X_valid.iloc[:1])[0]]}")

    # 2. A regressor with two eval sets; metrics computed every 10th iteration.
    X, y = load_diabetes(return_X_y=True)
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.4, random_state=0)
    reg = CatBoostRegressor(iterations=200, depth=4, metric_period=10, **quiet)
    reg.fit(X_train, y_train, eval_set=[(X_rest[:80], y_rest[:80]), (X_rest[80:], y_rest[80:])])
    run_id = latest("params.metric_period = '10'")
    show(run_id)
    steps = [m.step for m in autolog.get_metric_history(run_id, "validation_0-RMSE")]
    print(f"  validation_0-RMSE logged at steps {steps[:4]} ... {steps[-2:]}")

    # 3. No patching: the explicit callback inside a run of your own.
    autolog.catboost.autolog(disable=True)
    with autolog.start_run(run_name="explicit-callback") as run:
        CatBoostRegressor(iterations=50, depth=4, **quiet).fit(
            X_train, y_train, eval_set=(X_rest, y_rest),
            callbacks=[autolog.catboost.AutologCallback()])
    show(run.info.run_id)


if __name__ == "__main__":
    main()
