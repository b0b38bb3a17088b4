"""scikit-learn autologging: a classifier, a pipeline search and post-training metrics.

    python examples/sklearn_example.py              # enables autologging itself
    autolog run examples/sklearn_example.py         # the same, unchanged, under the launcher

Records go to ./autolog-runs (or $AUTOLOG_TRACKING_URI); then try
``autolog runs list`` and ``autolog runs show <run_id>``.
"""

import autolog


def main() -> None:
    if not any(s.name == "sklearn" and s.state in ("enabled", "waiting")
               for s in autolog.status()):
        autolog.autolog()  # not already on (as under `autolog run`): turn it on

    # Imported after autolog(): a metric function bound before it would not be logged.
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

    # 1. One fit = one run: params, training metrics, confusion matrix/ROC/PR plots, model.
    #    (A run of our own, so that we know its id; without one, the fit opens a run.)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with autolog.start_run(run_name="pipeline") as fit_run:
        model.fit(X_train, y_train)

    # 2. Post-training metrics land in the model's run, named after the data variable.
    y_pred = model.predict(X_test)
    print(f"test accuracy {accuracy_score(y_test, y_pred):.3f}, "
          f"f1 {f1_score(y_test, y_pred):.3f}, score {model.score(X_test, y_test):.3f}")

    # 3. A search: a parent run with the best params and cv_results.csv, child runs for
    #    the best candidates; the clones fitted inside open no runs of their own.
    search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
                          {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]}, cv=3)
    with autolog.start_run(run_name="grid-search") as search_run:
        search.fit(X_train, y_train)

    for title, run in (("pipeline", fit_run), ("grid search", search_run)):
        run = autolog.get_run(run.info.run_id)
        metrics = {k: round(v, 4) for k, v in sorted(run.data.metrics.items())
                   if k.startswith(("training_accuracy", "training_f1", "accuracy_score",
                                    "f1_score", "Pipeline_score", "best_score"))}
        artifacts = [f.path for f in autolog.Client().list_artifacts(run.info.run_id)]
        print(f"\n{title}: run {run.info.run_id} ({run.info.status})")
        print(f"  {len(run.data.params)} params, e.g. "
              f"{dict(list(sorted(run.data.params.items()))[:3])}")
        print(f"  metrics: {metrics}")
        print(f"  artifacts: {artifacts}")
    print(f"\nbest params: {search.best_params_}")

    # 4. The search's child runs (written by the background writer; reads wait for it).
    children = [r for r in autolog.search_runs(experiment_ids=[search_run.info.experiment_id])
                if r.data.tags.get("mlflow.parentRunId") == search_run.info.run_id]
    for child in sorted(children, key=lambda r: r.data.metrics["rank_test_score"]):
        print(f"  child {child.info.run_name}: C={child.data.params['logisticregression__C']}, "
              f"mean_test_score {child.data.metrics['mean_test_score']:.4f} "
              f"({child.info.status})")


if __name__ == "__main__":
    main()
