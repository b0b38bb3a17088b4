"""MLflow 3's entities: the datasets a run used and the models it logged.

    python examples/mlflow3_entities_example.py                      # embedded store
    python examples/mlflow3_entities_example.py --to mlflow+http://127.0.0.1:5000

Trains a gradient-boosted classifier with autologging: the training data becomes the
run's "training" dataset input and the fitted model a LoggedModel with the run's final
metrics linked to it. A held-out set is logged by hand as an "evaluation" input. With
``--to``, the store is then synced to an MLflow server: its UI shows the run's Datasets
tab and the experiment's Models tab filled.
"""

import argparse

import autolog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", metavar="URI", help="sync the store here afterwards "
                        "(e.g. mlflow+http://127.0.0.1:5000)")
    args = parser.parse_args()

    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

    autolog.set_experiment("mlflow3-entities")
    autolog.autolog()
    with autolog.start_run(run_name="hgb") as run:
        model = HistGradientBoostingClassifier(max_iter=50).fit(X_train, y_train)
        autolog.log_input(X_test, context="evaluation", name="holdout", targets=y_test)
        autolog.log_metric("holdout_accuracy", model.score(X_test, y_test))

    recorded = autolog.get_run(run.info.run_id)
    print(f"run {run.info.run_id}: datasets")
    for dataset in recorded.inputs.dataset_inputs:
        print(f"  {dataset.name:8} {dataset.context:10} digest {dataset.digest}")

    from autolog.core.tracking import context

    for logged in context.get_store().search_logged_models(source_run_id=run.info.run_id):
        print(f"logged model {logged.model_id} ({logged.flavor}, {logged.status}): "
              f"{len(logged.params)} params, metrics:")
        for metric in logged.metrics:
            on = f" on {metric.dataset_name}" if metric.dataset_name else ""
            print(f"  {metric.key} = {metric.value:.4g}{on}")
        reloaded = autolog.load_model(logged.model_uri)  # models:/<model_id>
        print(f"reloaded from {logged.model_uri}: accuracy {reloaded.score(X_test, y_test):.3f}")

    if args.to:
        from autolog.sync import sync

        report = sync(autolog.get_tracking_uri(), args.to, experiment="mlflow3-entities",
                      progress=False)
        print(f"synced to {args.to}: {report.summary()}")


if __name__ == "__main__":
    main()
