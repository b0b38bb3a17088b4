"""Cross-validation, zero change: each ``cross_validate`` / ``cross_val_score`` /
``cross_val_predict`` call is one run -- the estimator's params, the splitter, each fold's
score as a stepped metric, their mean and std -- and the folds' own fits open no run.

    python examples/sklearn_cross_validation.py
    autolog run examples/sklearn_cross_validation.py     # the same, unchanged

Records go to ./autolog-runs (or $AUTOLOG_TRACKING_URI).
"""

import autolog


def main() -> None:
    if not any(s.name == "sklearn" and s.state in ("enabled", "waiting")
               for s in autolog.status()):
        autolog.autolog()  # not already on (as under `autolog run`): turn it on

    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = load_wine(return_X_y=True)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)

    scores = cross_val_score(make_pipeline(StandardScaler(), SVC(C=1.0)), X, y, cv=cv)
    print(f"SVC accuracy {scores.mean():.3f} +/- {scores.std():.3f}")

    results = cross_validate(RandomForestClassifier(n_estimators=50, random_state=0), X, y,
                             cv=cv, scoring=("accuracy", "f1_macro"))
    print(f"forest f1_macro {results['test_f1_macro'].mean():.3f}")

    run = autolog.last_active_run()
    if run is not None:
        print(f"last run {run.info.run_id}: "
              + ", ".join(f"{k}={v:.3f}" for k, v in sorted(run.data.metrics.items())
                          if k.endswith(("_mean", "_std"))))
    autolog.flush()


if __name__ == "__main__":
    main()
