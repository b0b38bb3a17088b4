"""XGBoost autologging: a scikit-learn wrapper with early stopping, then native train.

Run it as it is (`python examples/xgboost_example.py`) or unchanged through
`autolog run examples/xgboost_example.py`. Records go to ./autolog-runs (or
$AUTOLOG_TRACKING_URI); see them with `autolog runs list` and `autolog runs show <id>`.
"""

import autolog


def autolog_on() -> None:
    """Call autolog.autolog() unless `autolog run` (or the caller) already did."""
    states = {s.name: s.state for s in autolog.status()}
    if states.get("xgboost") not in ("enabled", "waiting"):
        autolog.autolog()


def show(run_id: str) -> None:
    run = autolog.get_run(run_id)
    artifacts = [f.path for f in autolog.Client().list_artifacts(run_id)]
    print(f"run {run_id} ({run.info.run_name}): {run.info.status}")
    print(f"  {len(run.data.params)} params, e.g. n_estimators="
          f"{run.data.params.get('n_estimators', run.data.params.get('num_boost_round'))}")
    print("  metrics:", ", ".join(sorted(run.data.metrics)))
    print("  artifacts:", ", ".join(artifacts))


def main() -> None:
    autolog_on()
    import xgboost as xgb
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    from autolog.core.tracking.sessions import recorder_for_model

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, random_state=0)

    # 1. The scikit-learn wrapper: one run (its fit calls xgboost.train inside).
    model = xgb.XGBClassifier(n_estimators=300, learning_rate=0.3, max_depth=3,
                              early_stopping_rounds=10, eval_metric=["logloss", "auc"])
    model.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)
    run_id = recorder_for_model(model).run_id
    show(run_id)
    loaded = autolog.xgboost.load_model(f"runs:/{run_id}/model")
    print(f"  reloaded a {type(loaded).__name__}; predict_proba of the first row: "
          f"{[round(float(p), 4) for p in loaded.predict_proba(X_valid.iloc[:1])[0]]}")

    # 2. Native train with two eval sets.
    dtrain, dvalid = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_valid, y_valid)
    booster = xgb.train({"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 3},
                        dtrain, 50, evals=[(dtrain, "train"), (dvalid, "valid")],
                        verbose_eval=False)
    show(recorder_for_model(booster).run_id)


if __name__ == "__main__":
    main()
