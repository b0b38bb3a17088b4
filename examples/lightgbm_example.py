"""LightGBM autologging: a scikit-learn wrapper with early stopping, native train, cv.

Run it as it is (`python examples/lightgbm_example.py`) or unchanged through
`autolog run examples/lightgbm_example.py`. Records go to ./autolog-runs (or
$AUTOLOG_TRACKING_URI); see them with `autolog runs list` and `autolog runs show <id>`.
"""

import autolog


def autolog_on() -> None:
    """Call autolog.autolog() unless `autolog run` (or the caller) already did."""
    states = {s.name: s.state for s in autolog.status()}
    if states.get("lightgbm") not in ("enabled", "waiting"):
        autolog.autolog()


def show(run_id: str) -> None:
    run = autolog.get_run(run_id)
    artifacts = [f.path for f in autolog.Client().list_artifacts(run_id)]
    print(f"run {run_id} ({run.info.run_name}): {run.info.status}")
    print(f"  {len(run.data.params)} params; metrics: {', '.join(sorted(run.data.metrics))}")
    print("  artifacts:", ", ".join(artifacts) or "-")


def main() -> None:
    autolog_on()
    import lightgbm as lgb
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from autolog.core.tracking.sessions import recorder_for_model

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, random_state=0)

    # 1. The scikit-learn wrapper with LightGBM's own early-stopping callback.
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.1, verbose=-1)
    model.fit(X_train, y_train, eval_X=X_valid, eval_y=y_valid, eval_metric="auc",
              callbacks=[lgb.early_stopping(10, verbose=False)])
    run_id = recorder_for_model(model).run_id
    show(run_id)
    loaded = autolog.lightgbm.load_model(f"runs:/{run_id}/model")
    print(f"  reloaded a {type(loaded).__name__}; predict_proba of the first row: "
          f"{[round(float(p), 4) for p in loaded.predict_proba(X_valid.iloc[:1])[0]]}")

    # 2. Native train with two eval sets.
    train_set = lgb.Dataset(X_train, y_train)
    valid_set = lgb.Dataset(X_valid, y_valid, reference=train_set)
    booster = lgb.train({"objective": "binary", "metric": ["auc", "binary_logloss"],
                         "verbose": -1}, train_set, 50, valid_sets=[train_set, valid_set],
                        valid_names=["train", "valid"])
    show(recorder_for_model(booster).run_id)

    # 3. Cross-validation: mean and std of each metric per iteration, no model.
    lgb.cv({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 30, nfold=3)
    (latest,) = autolog.search_runs(filter_string="params.nfold = '3'",
                                    order_by=["attributes.start_time DESC"], max_results=1)
    show(latest.info.run_id)


if __name__ == "__main__":
    main()
